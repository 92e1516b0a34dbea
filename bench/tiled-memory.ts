/**
 * `node --import tsx bench/tiled-memory.ts [--sizes 4000x3000,8000x6000] [--style starry-night]
 *   [--runtime auto] [--tile N] [--photo FILE]`: the peak RSS of `perceptual stylize` on large
 * photos, one process per size (the CLI as a user runs it), to show that tiled work's memory is
 * the tiles plus the 8-bit input and output — not float copies of the whole image.
 * Goal (issue 11): 8000×6000 under 1.5 GB. Not a timed test: it prints, it does not assert.
 *
 * The photo is `--photo` (default: the shared Chicago photo, else a synthetic one) resized to
 * each size; peak RSS is read by /usr/bin/time (GNU time `%M`) when present, else by polling
 * /proc/<pid>/status VmHWM.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { sharedDataDir } from '../src/util/paths.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '4000x3000,8000x6000' },
    style: { type: 'string', default: 'starry-night' },
    runtime: { type: 'string', default: 'auto' },
    tile: { type: 'string' },
    photo: { type: 'string' },
  },
});
const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'perceptual-tiled-memory-'));
const source = values.photo ?? path.join(sharedDataDir(), 'content', 'chicago.jpg');

async function makePhoto(width: number, height: number): Promise<string> {
  const file = path.join(work, `photo-${width}x${height}.jpg`);
  const base = existsSync(source)
    ? sharp(source).resize(width, height, { fit: 'fill' })
    : sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
  await base.jpeg({ quality: 90 }).toFile(file);
  return file;
}

/** Run a command; resolve to its exit code, peak RSS (bytes) and stderr. */
function measure(args: string[]): Promise<{ code: number | null; peak: number; stderr: string; seconds: number }> {
  const gnuTime = existsSync('/usr/bin/time');
  const cmd = gnuTime ? '/usr/bin/time' : process.execPath;
  const full = gnuTime ? ['-f', 'PEAK_RSS_KB %M', process.execPath, ...args] : args;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, full, { cwd: root });
    let stderr = '';
    let polled = 0;
    const poll = gnuTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polled = Math.max(polled, Number(m[1]) * 1024);
          } catch {
            /* exited */
          }
        }, 50);
    child.stdout.on('data', (d: Buffer) => process.stdout.write(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', (code) => {
      if (poll) clearInterval(poll);
      const m = /PEAK_RSS_KB (\d+)/.exec(stderr);
      resolve({ code, peak: m ? Number(m[1]) * 1024 : polled, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const rows: string[] = [];
for (const size of values.sizes!.split(',')) {
  const [width, height] = size.split('x').map(Number) as [number, number];
  const photo = await makePhoto(width, height);
  const out = path.join(work, `out-${size}.jpg`);
  const args = ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), 'stylize', photo, '-s', values.style!, '-o', out, '--runtime', values.runtime!];
  if (values.tile) args.push('--tile', values.tile);
  console.error(`\n== ${size}: perceptual ${args.slice(3).join(' ')}`);
  const r = await measure(args);
  const gb = r.peak / 1e9;
  const line = `${size}: exit ${r.code}, peak RSS ${gb.toFixed(2)} GB (${(r.peak / (width * height)).toFixed(1)} bytes/pixel), ${r.seconds.toFixed(0)} s`;
  rows.push(line);
  console.log(line);
}
console.log(`\nperceptual stylize, --style ${values.style}, --runtime ${values.runtime}${values.tile ? `, --tile ${values.tile}` : ''}; ${os.cpus()[0]?.model ?? 'CPU'} (${os.availableParallelism()} cores), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const r of rows) console.log(`  ${r}`);
rmSync(work, { recursive: true, force: true });
