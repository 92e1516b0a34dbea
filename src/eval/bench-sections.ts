/** The sections of `perceptual bench` (a file of its own so the CLI can validate `--only` without loading the bench). */
export type BenchSection = 'paper' | 'feedforward' | 'ml5' | 'tiling';
export const BENCH_SECTIONS: readonly BenchSection[] = ['feedforward', 'paper', 'ml5', 'tiling'];
