/**
 * The shape of `window.__perceptual` (installed by `test-hook.ts`), in a file with no imports
 * and no DOM-iteration types so that Node-side code — the browser test and the benchmark,
 * type-checked by the root tsconfig — can name it without pulling the app into that program.
 */

export interface StylizeForTestOptions {
  /** Model name (default: the first style model). */
  model?: string;
  strength?: number;
  preserveColor?: boolean;
  tileSize?: number;
}

export interface PerceptualHook {
  backend: string;
  models: { name: string; task: string; url: string }[];
  /** Decode `url`, show it, stylise (or upscale, for an SR model) it; RGB bytes of the result. */
  stylizeForTest(url: string, options?: StylizeForTestOptions): Promise<{ width: number; height: number; rgb: number[]; ms: number }>;
  startWebcam(): Promise<void>;
  stopWebcam(): void;
  webcamStats(): { running: boolean; frames: number; fps: number };
  /** `runs` stylisations of a synthetic `size`² image; milliseconds each (the first includes warm-up). */
  benchmark(options: { size: number; runs: number; model?: string }): Promise<number[]>;
}

/** `window` as seen from `page.evaluate` callbacks. */
export type HookWindow = Window & { __perceptual: PerceptualHook; __perceptualError?: string };
