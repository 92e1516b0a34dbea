/**
 * Hostile inputs to `stylize` / `upscale` and to the inference library, each run as a user
 * would (a real `perceptual` child process, real signals) and each asserting the exact
 * outcome: exit status, the message, and that no output (or temp file) is left behind.
 *
 *  - corrupt, truncated and fake images; decompression bombs and absurd dimensions, refused
 *    from the header before anything is decoded or loaded;
 *  - option values that cannot work (`--tile 1`, `--quality 1000`, …), refused before any
 *    work: the model named is one that does not exist, so any work would fail differently;
 *  - SIGINT / SIGTERM during tiled work (engine and onnxruntime): exit 130 / 143 within about a
 *    tile's time, no output; and an AbortSignal stopping engine work from the library;
 *  - temp files that `kill -9` leaves, removed by the next run when their process is dead.
 *
 * The CLI runs from the TypeScript sources (`node --import tsx src/cli/main.ts`), so a stale
 * `dist/` cannot hide a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { engineAvailable } from '../../src/engine/index.js';
import { EngineStyleModel } from '../../src/infer/engine-model.js';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { writeTinySrModel, testImage } from '../helpers/sr-fixtures.js';
import { packageRoot } from '../../src/util/paths.js';

const root = packageRoot;
const STYLE = path.join(root, 'models', 'starry-night');
const noEngine = !engineAvailable() && 'needs the libtorch engine';
const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-hostile-images-'));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cli(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: root });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** The files in a folder (temp files included), or [] when it does not exist. */
const filesIn = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);

/** CRC-32 (PNG chunks). */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/**
 * A valid-looking PNG that declares `width × height` (`bitDepth`, colour type 2 = RGB, 6 = RGBA)
 * but carries only a few rows of zeros: kilobytes on disk, gigabytes if decoded.
 */
function pngBomb(width: number, height: number, bitDepth = 8, colourType = 2): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  const rowBytes = 1 + Math.ceil((width * (colourType === 6 ? 4 : 3) * bitDepth) / 8);
  const idat = deflateSync(Buffer.alloc(rowBytes * 4), { level: 9 });
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

const photo = path.join(dir, 'photo.png');
await sharp(Buffer.from(testImage(96, 64).data), { raw: { width: 96, height: 64, channels: 3 } }).png().toFile(photo);

test('corrupt, truncated and fake images: exit 1, "cannot read image <file>: <why>", no output', async () => {
  const fake = path.join(dir, 'notes.jpg');
  writeFileSync(fake, 'this is not a JPEG');
  const bytes = readFileSync(photo);
  const truncPng = path.join(dir, 'truncated.png');
  writeFileSync(truncPng, bytes.subarray(0, bytes.length - 200));
  const jpeg = await sharp(photo).jpeg().toBuffer();
  const truncJpeg = path.join(dir, 'truncated.jpg');
  writeFileSync(truncJpeg, jpeg.subarray(0, jpeg.length >> 1));
  const empty = path.join(dir, 'empty.png');
  writeFileSync(empty, '');
  const cases: Array<[string, RegExp]> = [
    [fake, /^perceptual: cannot read image .*notes\.jpg: .*unsupported image format/m],
    [truncPng, /^perceptual: cannot read image .*truncated\.png: /m],
    [truncJpeg, /^perceptual: cannot read image .*truncated\.jpg: .*premature end/im],
    [empty, /^perceptual: cannot read image .*empty\.png: /m],
  ];
  for (const [input, message] of cases) {
    const outDir = path.join(dir, `out-${path.basename(input)}`);
    const r = cli(['stylize', input, '-s', STYLE, '-o', path.join(outDir, 'x.png'), '--runtime', 'onnx']);
    assert.equal(r.status, 1, `${input}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.deepEqual(filesIn(outDir), [], `${input}: nothing written, no temp file`);
  }
});

test('decompression bombs and absurd sizes are refused from the header, before decoding or loading the model', () => {
  const bomb = path.join(dir, 'bomb.png');
  writeFileSync(bomb, pngBomb(16000, 16000));
  assert.ok(readFileSync(bomb).length < 4000, 'kilobytes on disk');
  const huge = path.join(dir, 'huge.png');
  writeFileSync(huge, pngBomb(100000, 100000));
  const deep = path.join(dir, 'deep.png'); // 16-bit RGBA: 8 bytes a pixel
  writeFileSync(deep, pngBomb(6000, 6000, 16, 6));
  const out = path.join(dir, 'bomb-out');
  // The model does not exist: reaching it would be a different error, so these are refused first.
  const missing = path.join(dir, 'no-such-model');
  const cases: Array<[string[], RegExp]> = [
    [[bomb], /^perceptual: cannot read image .*bomb\.png: 16000×16000 = 256000000 pixels exceeds the limit of 100000000 pixels \(768 MB as 8-bit RGB\); raise maxPixels \/ --max-pixels to allow it$/m],
    [[huge], /^perceptual: cannot read image .*huge\.png: 100000×100000 = 10000000000 pixels exceeds the limit of 100000000 pixels/m],
    [[deep, '--max-pixels', '50000000'], /^perceptual: cannot read image .*deep\.png: 6000×6000 = 36000000 pixels decode to 288 MB, more than the limit of 50000000 pixels allows \(150 MB as 8-bit RGB\)/m],
  ];
  for (const [args, message] of cases) {
    for (const cmd of [['stylize', '-s', missing], ['upscale', '-m', missing]]) {
      const r = cli([cmd[0]!, ...args, cmd[1]!, cmd[2]!, '-o', path.join(out, 'x.png')]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(filesIn(out), []);
    }
  }
  // Raising the limit lets the header through; the (truncated) pixels then fail to decode, still cleanly.
  const r = cli(['upscale', deep, '--mode', 'bicubic', '-x', '2', '--max-pixels', '300000000', '-o', path.join(out, 'y.png')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^perceptual: /m);
  assert.doesNotMatch(r.stderr, /exceeds the limit|more than the limit/);
  assert.deepEqual(filesIn(out), []);
});

test("upscale: an output over --max-pixels is refused before any work, naming the factor", async () => {
  const sr = path.join(dir, 'tiny-sr');
  await writeTinySrModel(sr, { loss: 'pixel' });
  const out = path.join(dir, 'sr-out');
  // 96×64 = 6144 input pixels pass; ×4 = 98304 output pixels do not.
  const r = cli(['upscale', photo, '-m', sr, '--runtime', 'engine', '--max-pixels', '50000', '-o', path.join(out, 'x.png')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^perceptual: .*photo\.png: the ×4 output 384×256 = 98304 pixels exceeds the limit of 50000 pixels/m);
  const i = cli(['upscale', photo, '--mode', 'lanczos', '-x', '8', '--max-pixels', '100000', '-o', path.join(out, 'y.png')]);
  assert.equal(i.status, 1);
  assert.match(i.stderr, /the ×8 output 768×512 = 393216 pixels exceeds the limit of 100000 pixels/);
  assert.deepEqual(filesIn(out), []);
});

/** Parse `args` with the real command tree in-process; resolves to how it failed (commander's exit code and message, or the action's Error). */
async function parseFailure(args: string[]): Promise<{ exitCode: number; message: string }> {
  const program = buildProgram();
  for (const c of [program, ...program.commands]) c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    await program.parseAsync(['node', 'perceptual', ...args]);
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode, message: e.message };
    return { exitCode: 1, message: `perceptual: ${(e as Error).message}` }; // as main.ts reports an action's error
  }
  throw new Error(`${args.join(' ')} did not fail`);
}

test('option values that cannot work are refused by name before any work (tiny tiles included)', async () => {
  const out = path.join(dir, 'opt-out');
  // The model does not exist: had any work started, the error would be "no model …".
  const missing = path.join(dir, 'no-such-model');
  const base = ['stylize', photo, '-s', missing, '-o', path.join(out, 'x.jpg')];
  const invalid = (opt: string, value: string, why: string) => new RegExp(`^error: option '${opt}' argument '${value}' is invalid\\. ${why}`);
  const cases: Array<[string[], RegExp]> = [
    [['--tile', '1'], invalid('--tile <px>', '1', "tiles of 1 px are too small: the network's receptive field spans tens of pixels, so tiles below 32 px are mostly padded border and multiply the runs \\(use 32 or more, or 0 for no tiling\\)$")],
    [['--tile', '31'], invalid('--tile <px>', '31', 'tiles of 31 px are too small')],
    [['--tile', '-5'], invalid('--tile <px>', '-5', "'-5' is not a non-negative integer$")],
    [['--tile', '64', '--overlap', '40'], /^perceptual: --overlap 40 must be at most half of --tile 64 \(32\)$/],
    [['--overlap', '1.5'], invalid('--overlap <px>', '1.5', "'1.5' is not a non-negative integer$")],
    [['--quality', '1000'], invalid('--quality <q>', '1000', 'the quality must be an integer from 1 to 100, got 1000$')],
    [['--quality', '0'], invalid('--quality <q>', '0', 'the quality must be an integer from 1 to 100, got 0$')],
    [['--quality', 'high'], invalid('--quality <q>', 'high', 'the quality must be an integer from 1 to 100, got NaN$')],
    [['--strength', '2'], invalid('--strength <s>', '2', 'the strength must be a number from 0 to 1$')],
    [['--strength', 'NaN'], invalid('--strength <s>', 'NaN', 'the strength must be a number from 0 to 1$')],
    [['--max-pixels', '0'], invalid('--max-pixels <n>', '0', "'0' is not a positive integer$")],
    [['--max-side', '0'], invalid('--max-side <px>', '0', "'0' is not a positive integer$")],
    [['--runtime', 'tpu'], invalid('--runtime <name>', 'tpu', 'the runtime must be auto, onnx, engine$')],
    [['--device', 'gpu'], invalid('--device <d>', 'gpu', 'the device must be cpu, cuda or cuda:N$')],
    [['--precision', 'fp8'], invalid('--precision <p>', 'fp8', 'precision must be float32 or bf16$')],
  ];
  for (const [extra, message] of cases) {
    for (const cmd of [base, ['upscale', photo, '-m', missing, '-o', path.join(out, 'y.png')]]) {
      if (cmd[0] === 'upscale' && (extra[0] === '--strength' || extra[0] === '--max-side')) continue; // stylize only
      const r = await parseFailure([...cmd, ...extra]);
      assert.equal(r.exitCode, 1, `${cmd[0]} ${extra.join(' ')}`);
      assert.match(r.message, message, `${cmd[0]} ${extra.join(' ')}`);
    }
  }
  const fmt = await parseFailure([...base.slice(0, 4), '-o', out, '--format', 'gif']);
  assert.equal(fmt.message, "perceptual: --format must be jpg, png or webp, got 'gif'");
  // The real process: exit status 1, the message on stderr, quickly, and nothing written.
  for (const [extra, message] of [cases[0]!, cases[3]!, cases[5]!]) {
    const r = cli([...base, ...extra]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr.split('\n')[0]!, message);
  }
  assert.deepEqual(filesIn(out), []);
});

test('an output folder that cannot be written is refused before any work', () => {
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'not a folder');
  const r = cli(['stylize', photo, '-s', path.join(dir, 'no-such-model'), '-o', path.join(file, 'sub', 'x.png')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^perceptual: -o: cannot write into ${path.join(file, 'sub').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*a-file is a file, not a folder$`, 'm'));
});

test('temp files of killed runs are removed by the next run into the folder; a live process keeps its own', () => {
  const out = path.join(dir, 'stale');
  mkdirSync(out);
  // A pid that is certainly dead: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  const live = String(process.pid);
  const stale = [`.x.png.${dead}.0a1b2c3d.tmp`, `.checkpoint.safetensors.${dead}.deadbeef.tmp`, `old.jpg.tmp-${dead}`];
  const kept = [`.x.png.${live}.0a1b2c3d.tmp`, 'notes.tmp', `photo.${dead}.jpg`];
  for (const f of [...stale, ...kept]) writeFileSync(path.join(out, f), 'partial');
  const r = cli(['upscale', photo, '--mode', 'bicubic', '-x', '2', '-o', path.join(out, 'x.png')]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(filesIn(out), [...kept, 'x.png'].sort());
});

/** Spawn a tiled stylize, send `sig` once two tiles have been timed, and report how it ended. */
async function interrupt(sig: NodeJS.Signals, runtime: 'engine' | 'onnx'): Promise<{ code: number | null; afterSignalMs: number; tileMs: number; stderr: string; out: string; tiles: number }> {
  const big = path.join(dir, `big-${runtime}.jpg`);
  if (!existsSync(big)) {
    const img = testImage(1024, 512, 5);
    await sharp(Buffer.from(img.data), { raw: { width: 1024, height: 512, channels: 3 } }).jpeg().toFile(big);
  }
  const outDir = path.join(dir, `signal-${sig}-${runtime}`);
  const out = path.join(outDir, 'out.jpg');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), 'stylize', big, '-s', STYLE, '-o', out, '--tile', '128', '--runtime', runtime], { cwd: root });
  let stderr = '';
  let sentAt = 0;
  let tileMs = 0;
  let tiles = 0;
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = /tile (\d+)\/(\d+) \(([\d.]+) s a tile\)/.exec(stderr);
    if (m && !sentAt) {
      tileMs = Number(m[3]) * 1000;
      tiles = Number(m[2]);
      sentAt = performance.now();
      child.kill(sig);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, afterSignalMs: sentAt ? performance.now() - sentAt : Number.NaN, tileMs, stderr, out: outDir, tiles };
}

for (const [sig, runtime, code] of [['SIGINT', 'engine', 130], ['SIGTERM', 'onnx', 143]] as const) {
  test(`${sig} during tiled ${runtime} work: exit ${code} within about a tile, no output, no temp file`, { skip: runtime === 'engine' && noEngine }, async (t) => {
    const r = await interrupt(sig, runtime);
    t.diagnostic(`${r.tiles} tiles of ${r.tileMs.toFixed(0)} ms; exited ${r.afterSignalMs.toFixed(0)} ms after ${sig}`);
    assert.ok(r.tiles >= 20, `enough tiles (${r.tiles}) that finishing them all is far beyond the bound`);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, new RegExp(`${sig}: stopping after the current step`));
    assert.match(r.stderr, new RegExp(`^perceptual: interrupted by ${sig}$`, 'm'));
    assert.doesNotMatch(r.stderr, new RegExp(`tile ${r.tiles}/${r.tiles}`), 'the image was not finished');
    // The tile in flight finishes, then the process stops: bound = two tiles plus process exit
    // (releasing the runtime) on a shared 2-core machine.
    assert.ok(r.afterSignalMs < 2 * r.tileMs + 3000, `exited ${r.afterSignalMs.toFixed(0)} ms after the signal (a tile: ${r.tileMs.toFixed(0)} ms)`);
    assert.deepEqual(filesIn(r.out), [], 'no output and no temp file');
  });
}

test('library: an AbortSignal stops tiled engine work within a tile of the abort', { skip: noEngine }, async (t) => {
  const model = await EngineStyleModel.load(path.join(STYLE, 'weights.safetensors'), { precision: 'float32' });
  try {
    const image = testImage(512, 256, 9);
    const controller = new AbortController();
    const stamps: number[] = [];
    let requestedAt = 0;
    const run = model.stylize(image, {
      tileSize: 128,
      signal: controller.signal,
      onProgress: (done) => {
        stamps.push(performance.now());
        // Ask for the abort in the middle of the next tile (an engine tile blocks the thread, so
        // the timer fires only when the tiling loop yields: that delay is what is measured).
        if (done === 2) {
          const half = (stamps[1]! - stamps[0]!) / 2;
          requestedAt = performance.now() + half;
          setTimeout(() => controller.abort(new Error('stopped from the library')), half);
        }
      },
    });
    await assert.rejects(run, /stopped from the library/);
    const stoppedAfter = performance.now() - requestedAt;
    const tileMs = Math.max(...stamps.slice(1).map((s, i) => s - stamps[i]!));
    t.diagnostic(`${stamps.length} of 15 tiles done; stopped ${stoppedAfter.toFixed(0)} ms after the abort (longest tile ${tileMs.toFixed(0)} ms)`);
    // At most the tile running when the abort was asked for finishes; no tile starts after it.
    const finishedAfter = stamps.filter((s) => s > requestedAt).length;
    assert.ok(finishedAfter <= 1, `${finishedAfter} tiles finished after the abort was asked for`);
    assert.ok(stamps.length < 15, `${stamps.length} of 15 tiles ran`);
    assert.ok(stoppedAfter < tileMs + 500, `stopped ${stoppedAfter.toFixed(0)} ms after the abort; a tile takes ${tileMs.toFixed(0)} ms`);
  } finally {
    model.dispose();
  }
});
