/**
 * Throughput of the training data pipeline on the shared photo set (not a test: it needs the
 * data under ../shared/data, or $PERCEPTUAL_DATA).
 *
 *   node --import tsx bench/data-pipeline.ts [--batches N] [--size S] [--batch-size B] [--prefetch K] [--step-ms T] [--style-dir D] [--sr]
 *
 * `--style-dir` defaults to photos/train-256 (already 256×256: measures decoding); pass e.g.
 * photos/hr to include the crop + Lanczos resize of larger photos.
 *
 * Two runs per dataset:
 *  - "drain": the consumer only takes batches: the pipeline's own images/s.
 *  - "with step": the consumer blocks the main thread for T ms per batch (a stand-in for a
 *    synchronous libtorch training step) and we report how much of the time it waited on data.
 */
import path from 'node:path';
import { StyleDataset } from '../src/data/style-dataset.js';
import { SrDataset } from '../src/data/sr-dataset.js';
import { sharedDataDir } from '../src/util/paths.js';

const dataRoot = sharedDataDir();
const photos = path.join(dataRoot, 'photos');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const batches = arg('batches', 150);
const size = arg('size', 256);
const batchSize = arg('batch-size', 4);
const prefetch = arg('prefetch', 3);
const stepMs = arg('step-ms', 100);

interface Loader {
  init(): Promise<unknown>;
  next(): Promise<unknown>;
  stats(): { waitMs: number; decodeMs: number; batches: number; samples: number; skipped: number };
  close(): void;
}

async function measure(label: string, make: () => Loader, step: number): Promise<void> {
  const ds = make();
  await ds.init();
  await ds.next(); // warm-up: first batch includes the thread pool's start
  const start = performance.now();
  const base = ds.stats();
  for (let i = 0; i < batches; i++) {
    await ds.next();
    if (step > 0) {
      const until = performance.now() + step;
      while (performance.now() < until); // synchronous "training step"
    }
  }
  const wall = performance.now() - start;
  const s = ds.stats();
  ds.close();
  const images = s.samples - base.samples;
  const wait = s.waitMs - base.waitMs;
  console.log(
    `${label.padEnd(34)} ${(images / (wall / 1000)).toFixed(1).padStart(7)} images/s  ` +
      `(${images} images in ${(wall / 1000).toFixed(2)} s; consumer waited ${wait.toFixed(0)} ms = ${((100 * wait) / wall).toFixed(1)}% of the time; ` +
      `decode busy ${(s.decodeMs - base.decodeMs).toFixed(0)} ms; skipped ${s.skipped})`,
  );
}

const dirArg = process.argv.indexOf('--style-dir');
const styleDir = dirArg >= 0 ? path.resolve(process.argv[dirArg + 1]!) : path.join(photos, 'train-256');
console.log(`node ${process.version}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${batches} batches of ${batchSize}, prefetch ${prefetch}`);
console.log(`StyleDataset on ${styleDir}, ${size}×${size}`);
const style = () => new StyleDataset({ dir: styleDir, size, batchSize, prefetch, seed: 1 });
await measure('  drain', style, 0);
await measure(`  with a ${stepMs} ms step per batch`, style, stepMs);

if (process.argv.includes('--sr')) {
  const hrDir = path.join(photos, 'hr');
  console.log(`SrDataset on ${hrDir}, 288×288 crops, ×4, paper degradation`);
  const sr = () => new SrDataset({ dir: hrDir, factor: 4, crop: 288, batchSize, prefetch, seed: 1 });
  await measure('  drain', sr, 0);
  await measure(`  with a ${stepMs} ms step per batch`, sr, stepMs);
}
