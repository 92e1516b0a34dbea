/**
 * Live webcam stylisation: grab a frame at the chosen size, stylise it in the worker, draw it,
 * repeat — one frame in flight at a time, so the rate is what the backend sustains (the
 * frames-per-second readout) rather than a queue that grows behind the camera.
 */
import { draw, grabFrame } from './canvas-image.js';
import { FpsMeter } from './fps-meter.js';
import type { InferenceClient } from './inference-client.js';
import { DEFAULT_STATS_MOMENTUM } from '../../src/video/temporal-onnx.js';
import { TemporalDenoiser } from '../../src/video/temporal-denoise.js';

export interface FrameSettings {
  model: string;
  /** Longer side of the stylised frame, pixels. */
  size: number;
  strength: number;
  preserveColor: boolean;
  /** Weight of the past in the running instance-norm statistics (0: each frame by itself). */
  statsMomentum?: number;
  /** Temporal denoising strength before the network (src/video/temporal-denoise.ts; 0 or absent: off). */
  denoise?: number;
}

export class WebcamLoop {
  readonly meter = new FpsMeter();
  private stream: MediaStream | undefined;
  private active = false;
  private readonly scratch = new OffscreenCanvas(1, 1);
  /** The next frame starts the running statistics afresh (camera (re)started). */
  private freshStats = true;
  /** The camera's frames before the network, against noise flicker (replaced when the strength changes). */
  private denoiser: TemporalDenoiser | undefined;

  constructor(
    private readonly client: InferenceClient,
    private readonly video: HTMLVideoElement,
    private readonly output: HTMLCanvasElement,
    private readonly settings: () => FrameSettings,
    private readonly onFrame: (fps: number, width: number, height: number, ms: number) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  get running(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.active) return;
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access (getUserMedia); the page must be served from https or localhost');
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    this.video.srcObject = this.stream;
    await this.video.play();
    await waitFor(() => this.video.videoWidth > 0, 10_000, 'the camera produced no frame within 10 s');
    this.active = true;
    this.freshStats = true;
    this.denoiser?.reset();
    this.meter.reset();
    void this.loop();
  }

  stop(): void {
    this.active = false;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = undefined;
    this.video.srcObject = null;
  }

  private async loop(): Promise<void> {
    while (this.active) {
      try {
        const s = this.settings();
        let frame = grabFrame(this.video, s.size, this.scratch);
        if (s.denoise) {
          if (this.denoiser?.strength !== s.denoise) this.denoiser = new TemporalDenoiser(s.denoise);
          frame = { ...frame, data: this.denoiser.apply(frame.data, frame.width, frame.height, 4) };
        } else this.denoiser = undefined; // switched off: no stale past when it comes back
        // Statistics averaged over frames, as for video files: the normalisation does not jump with noise.
        const momentum = s.statsMomentum ?? DEFAULT_STATS_MOMENTUM;
        const temporal = momentum > 0 ? { momentum, reset: this.freshStats } : undefined;
        this.freshStats = false;
        const { image, ms } = await this.client.run({ type: 'stylize', model: s.model, image: frame, strength: s.strength, preserveColor: s.preserveColor, tileSize: 0, temporal }).result;
        if (!this.active) break;
        draw(this.output, image);
        this.meter.tick();
        this.onFrame(this.meter.fps, image.width, image.height, ms);
      } catch (e) {
        this.stop();
        this.onError(e as Error);
        break;
      }
      // Let the page paint between frames.
      await nextFrame();
    }
  }
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    // requestAnimationFrame pauses in hidden tabs; the timeout keeps the loop (and its readout) honest.
    const t = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function waitFor(ok: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error(message);
    await new Promise((r) => setTimeout(r, 50));
  }
}
