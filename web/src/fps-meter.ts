/**
 * Frames per second over a sliding window: steadier than 1/(last frame time) and still
 * reacting within a couple of seconds when the size or the model changes.
 */
export class FpsMeter {
  private readonly times: number[] = [];
  frames = 0;

  constructor(private readonly windowMs = 2000) {}

  /** Record a finished frame at `now` (ms). */
  tick(now = performance.now()): void {
    this.frames++;
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0]! > this.windowMs) this.times.shift();
  }

  /** Frames per second over the window (0 until two frames). */
  get fps(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    return ((n - 1) * 1000) / (this.times[n - 1]! - this.times[0]!);
  }

  reset(): void {
    this.times.length = 0;
    this.frames = 0;
  }
}
