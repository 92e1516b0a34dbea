/**
 * A tiny seeded pseudo-random generator (mulberry32) for everything that must be reproducible:
 * SR crop positions, style-training shuffles, augmentation. Why not `Math.random`: a training
 * run restarted from a checkpoint, or a test, has to see exactly the same sequence; a fixed
 * seed plus `state` (resumable) gives that. Not for cryptography.
 */
export class Rng {
  private s: number;

  /** `seed`: any finite number (taken modulo 2³²). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.s = Math.trunc(seed) >>> 0;
  }

  /** The generator's internal state; `Rng.fromState(rng.state)` continues the same sequence (for checkpoints). */
  get state(): number {
    return this.s;
  }

  static fromState(state: number): Rng {
    return new Rng(state);
  }

  /** Next 32-bit unsigned integer (mulberry32 step). */
  uint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). `n`: integer, 1 ≤ n ≤ 2³². */
  int(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 4294967296)) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n); // largest multiple of n ≤ 2³²
    let x: number;
    do x = this.uint32();
    while (x >= limit);
    return x % n;
  }

  /** Shuffle `arr` in place (Fisher–Yates) and return it. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
    return arr;
  }

  /** A shuffled copy of 0…n−1 (e.g. an epoch's sample order). */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** An independent generator seeded from this one (e.g. one stream per worker). */
  fork(): Rng {
    return new Rng(this.uint32());
  }
}

/** `new Rng(seed)`. */
export function createRng(seed: number): Rng {
  return new Rng(seed);
}
