/**
 * `perceptual stylize clip --style NAME -o out.mp4` as a user runs it: the video is recognised
 * by probing (its name says nothing), progress goes to stderr, and Ctrl-C sent to the whole
 * process group — as a terminal does, ffmpeg included — stops it with status 130, no output file
 * and no temporary file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

const main = path.join(packageRoot, 'src', 'cli', 'main.ts');
let dir: string;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-cli-video-'));
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=80x60:rate=12', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'matroska', path.join(dir, 'clip.bin')]);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(dir, 'long.mp4')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('stylize one video: H.264 out, a summary line, progress with frames/s', () => {
  const out = path.join(dir, 'out.mp4');
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'clip.bin'), '--style', 'starry-night', '--runtime', 'onnx', '--max-side', '63', '--crf', '23', '-o', out], { encoding: 'utf8', cwd: packageRoot });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /clip\.bin → .*out\.mp4 \(12 frames 62×46/);
  assert.match(r.stderr, /frame 12\/12 · [\d.]+ frames\/s/);
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,pix_fmt,r_frame_rate', '-of', 'compact', out], { encoding: 'utf8' });
  assert.match(probe, /codec_name=h264\|width=62\|height=46\|pix_fmt=yuv420p\|r_frame_rate=12\/1/);
});

test('--denoise: alone it takes the measured strength, a strength out of range is refused before any work', () => {
  const out = path.join(dir, 'denoised.mp4');
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'clip.bin'), '--style', 'starry-night', '--runtime', 'onnx', '--max-side', '63', '--denoise', '-o', out], { encoding: 'utf8', cwd: packageRoot });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /clip\.bin → .*denoised\.mp4 \(12 frames 62×46/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'clip.bin'), '--style', 'starry-night', '--denoise', '99', '-o', path.join(dir, 'bad.mp4')], { encoding: 'utf8', cwd: packageRoot });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--denoise.*'99' is not a strength between 0 \(off\) and 50/);
  assert.equal(existsSync(path.join(dir, 'bad.mp4')), false);
});

test('options that do not apply to video, and several inputs with a video, are refused', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'clip.bin'), '--style', 'starry-night', '--tile', '64', '-o', path.join(dir, 'x.mp4')], { encoding: 'utf8', cwd: packageRoot });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--tile does not apply to video/);
  const two = spawnSync(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'long.mp4'), path.join(dir, 'clip.bin'), '--style', 'starry-night'], { encoding: 'utf8', cwd: packageRoot });
  assert.notEqual(two.status, 0);
  assert.match(two.stderr, /long\.mp4 is a video: stylise videos one at a time/);
});

test('Ctrl-C to the process group: exit 130, no output, no temporary file', async () => {
  const out = path.join(dir, 'long-out.mp4');
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'stylize', path.join(dir, 'long.mp4'), '--style', 'starry-night', '--runtime', 'onnx', '-o', out], { cwd: packageRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const status = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no progress within 120 s: ${stderr}`)), 120_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/frame \d+\/500/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  process.kill(-child.pid!, 'SIGINT'); // the whole group, as a terminal's Ctrl-C
  assert.equal(await status, 130, stderr);
  assert.match(stderr, /interrupted by SIGINT/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});
