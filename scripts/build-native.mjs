#!/usr/bin/env node
// npm "install" step: builds the libtorch addon in native/ when libtorch is present, and
// otherwise skips with a clear message — npm install never fails for lack of libtorch, since
// ONNX inference (stylize/upscale with a shipped model) does not need it.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const require = createRequire(import.meta.url);
const say = (msg) => console.log(`[perceptual] ${msg}`);

if (process.env.PERCEPTUAL_SKIP_NATIVE === '1') {
  say('PERCEPTUAL_SKIP_NATIVE=1: not building the libtorch engine.');
  process.exit(0);
}

function findLibtorch() {
  const custom = process.env.LIBTORCH;
  if (custom) {
    if (existsSync(path.join(custom, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) return { kind: 'LIBTORCH', dir: custom };
    say(`LIBTORCH=${custom} does not look like a libtorch distribution (no include/torch/csrc/api/include/torch/torch.h).`);
    return null;
  }
  const header = '/usr/include/torch/csrc/api/include/torch/torch.h';
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  const lib = libDirs.find((d) => existsSync(d) && readdirSync(d).some((f) => f.startsWith('libtorch_cpu.so')));
  if (existsSync(header) && lib) return { kind: 'system', dir: '/usr' };
  return null;
}

const torch = findLibtorch();
if (!torch) {
  say('libtorch was not found, so the native engine (training, Gatys optimisation, libtorch inference) is not built.');
  say('Stylising and upscaling with shipped ONNX models still work. To enable the engine:');
  say('  Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-pthread g++ make && npm rebuild perceptual');
  say('  other libtorch (e.g. CUDA):  LIBTORCH=/path/to/libtorch npm rebuild perceptual');
  process.exit(0);
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', `-j`, String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length))];
// Offline machines cannot download Node's headers: use the installed ones when present.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
say(`building the libtorch engine against ${torch.kind === 'system' ? "the system's libtorch (/usr)" : `LIBTORCH=${torch.dir}`} …`);
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: process.env });
if (r.status !== 0) {
  process.stderr.write(r.stdout.split('\n').slice(-40).join('\n') + '\n' + r.stderr.split('\n').slice(-60).join('\n') + '\n');
  say('building the libtorch engine FAILED (see above). Everything that needs it will say so; `perceptual doctor` tells more.');
  process.exit(process.env.PERCEPTUAL_REQUIRE_NATIVE === '1' ? 1 : 0);
}
say(`libtorch engine built in ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
