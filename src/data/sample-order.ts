/**
 * The order in which a training run visits its files: a fresh seeded shuffle each epoch
 * (epoch e shuffles with seed + e), walked as one endless stream.
 *
 * A position `{epoch, index}` names the next element of that stream, and everything about a
 * sample is a pure function of it (which file, and via {@link SampleOrder.sampleSeed} any
 * per-sample randomness), so a plain JSON object is all a checkpoint needs to resume exactly.
 * Batches may straddle an epoch boundary: dropping the ragged tail instead would silently
 * never show some images in small folders, and the paper counts iterations, not epochs.
 */
import { Rng } from './rng.js';

export interface LoaderPosition {
  epoch: number;
  /** Index into the epoch's permutation of the next sample (0 ≤ index < dataset size). */
  index: number;
}

export class SampleOrder {
  /** The permutations of the (at most two) epochs in use: the consumer's and the prefetcher's. */
  private readonly cache = new Map<number, Uint32Array>();

  constructor(readonly size: number, readonly seed: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`dataset size must be a positive integer, got ${size}`);
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  }

  /** Check a (deserialised) position; `index === size` is the same place as the next epoch's start. */
  normalize(position: LoaderPosition): LoaderPosition {
    const { epoch, index } = position ?? ({} as LoaderPosition);
    if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(index) || index < 0 || index > this.size) {
      throw new RangeError(
        `invalid data position ${JSON.stringify(position)}: expected {epoch ≥ 0, index in 0..${this.size}} for a dataset of ${this.size} images ` +
          `(resuming with a different image folder cannot be exact)`,
      );
    }
    return index === this.size ? { epoch: epoch + 1, index: 0 } : { epoch, index };
  }

  next(position: LoaderPosition): LoaderPosition {
    return position.index + 1 >= this.size ? { epoch: position.epoch + 1, index: 0 } : { epoch: position.epoch, index: position.index + 1 };
  }

  /** The position `n` elements further along the stream (n ≥ 0; epochs roll over). */
  advance(position: LoaderPosition, n: number): LoaderPosition {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`advance: n must be a non-negative integer, got ${n}`);
    const index = position.index + n;
    return { epoch: position.epoch + Math.floor(index / this.size), index: index % this.size };
  }

  /** Index (into the sorted file list) of the sample at `position`. */
  fileIndex(position: LoaderPosition): number {
    return this.permutation(position.epoch)[position.index]!;
  }

  /** The visiting order of one epoch: a permutation of 0..size−1. */
  permutation(epoch: number): Uint32Array {
    let perm = this.cache.get(epoch);
    if (!perm) {
      perm = Uint32Array.from(new Rng(this.seed + epoch).permutation(this.size));
      this.cache.set(epoch, perm);
      for (const e of this.cache.keys()) if (e < epoch - 1 || e > epoch + 1) this.cache.delete(e);
    }
    return perm;
  }

  /**
   * A 32-bit seed for the sample at `position` (e.g. for its crop position). Hashing
   * (seed, epoch, index) rather than drawing from one running generator is what makes it
   * independent of how far the prefetcher ran ahead and of where the run was resumed.
   */
  sampleSeed(position: LoaderPosition): number {
    let h = mix32(this.seed >>> 0);
    h = mix32(h ^ (position.epoch >>> 0));
    h = mix32(h ^ (Math.floor(position.epoch / 2 ** 32) >>> 0));
    return mix32(h ^ (position.index >>> 0));
  }
}

/** MurmurHash3's 32-bit finaliser (plus a constant so 0 does not map to 0): a cheap bijective mixer. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
