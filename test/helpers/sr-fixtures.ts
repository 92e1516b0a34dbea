/**
 * Fixtures for the super-resolution inference and CLI tests: a tiny ×f network saved as a model
 * folder (weights.safetensors with config metadata + card.json, what train-sr writes), small
 * generated images, and an in-process runner for one CLI command.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Command } from 'commander';
import { manualSeed } from '../../src/engine/index.js';
import { buildSrNet } from '../../src/models/sr-net.js';
import type { RgbImage } from '../../src/data/image.js';

/** A tiny SR network (random, seeded) in `dir` with the given card fields. */
export async function writeTinySrModel(dir: string, card: Record<string, unknown>, factor = 4): Promise<void> {
  mkdirSync(dir, { recursive: true });
  manualSeed(3);
  const ups = Array.from({ length: Math.log2(factor) }, () => 'u8').join(',');
  const net = buildSrNet(factor, { arch: `c3s1-8,R8,${ups},c3s1-3` });
  net.eval();
  await net.saveSafetensors(path.join(dir, 'weights.safetensors'), { config: JSON.stringify(net.config) });
  net.dispose();
  writeFileSync(path.join(dir, 'card.json'), JSON.stringify({ name: path.basename(dir), title: `tiny ${path.basename(dir)}`, task: 'sr', scale: factor, ...card }));
}

/** A deterministic colourful image (gradients and texture). */
export function testImage(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 128 + 100 * Math.sin((x + seed) / 3);
      data[i + 1] = Math.round((200 * y) / Math.max(1, height - 1));
      data[i + 2] = (x * 13 + y * 7 + seed * 29) % 256;
    }
  }
  return { data, width, height, channels: 3 };
}

export async function writeTestImage(file: string, width: number, height: number, seed = 1): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const img = testImage(width, height, seed);
  await sharp(Buffer.from(img.data), { raw: { width, height, channels: 3 } }).toFile(file);
}

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Run one command module in-process (`register(program)` then parse `args`), capturing
 * console output. An error thrown by the command rejects, as it would reach main.ts.
 */
export async function runCommand(mod: { register(p: Command): void }, args: string[]): Promise<CliRun> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  mod.register(program);
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  const before = process.exitCode;
  process.exitCode = 0;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = console.warn = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'perceptual', ...args]);
    return { stdout: out.join('\n'), stderr: err.join('\n'), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    console.log = log;
    console.error = error;
    console.warn = warn;
    process.exitCode = before;
  }
}
