/**
 * Messages between the page and the inference worker (`inference-worker.ts`). Pixels travel
 * as RGBA bytes — what ImageData holds — with their buffers transferred, not copied.
 */

/** RGBA pixels, `width·height·4` bytes (the shape of ImageData, which is not transferable itself). */
export interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

export type BackendPreference = 'auto' | 'wasm' | 'webgpu';

export interface InitRequest {
  type: 'init';
  /** Absolute URL of the folder holding onnxruntime-web's `.mjs`/`.wasm` (served locally). */
  ortBase: string;
  backend: BackendPreference;
  /** WebAssembly threads (only when the page is cross-origin isolated); default half the cores, at most 4. */
  threads?: number;
}

export interface RunRequest {
  type: 'stylize' | 'upscale';
  /** The model's URL (sessions are cached by it). */
  model: string;
  /** The model's factor for upscale, from its card. */
  scale?: number;
  image: Pixels;
  strength?: number;
  preserveColor?: boolean;
  /** 0: never tile; omitted: tile large images automatically (as in Node). */
  tileSize?: number;
  /**
   * A frame of a live video (stylize only): normalise with instance-norm statistics averaged
   * over the frames (weight `momentum` on the past; `reset` starts afresh), as `perceptual
   * stylize clip.mp4` does (src/video/temporal-onnx.ts).
   */
  temporal?: { momentum: number; reset?: boolean };
}

/** Create (and cache) the model's session ahead of the first run. */
export interface LoadRequest {
  type: 'load';
  model: string;
  task: 'style' | 'sr';
  scale?: number;
}

export type Request = InitRequest | LoadRequest | RunRequest;

export interface InitResult {
  /** What runs, for the page to show: "WebGPU" or "WASM · SIMD · 2 threads". */
  backend: string;
  crossOriginIsolated: boolean;
}

export interface LoadResult {
  ms: number;
  /** The backend that actually took the model (WebGPU can fall back to WASM). */
  backend: string;
}

export interface RunResult {
  image: Pixels;
  /** Milliseconds in the worker: layout, network runs, blending (not the transfer). */
  ms: number;
}

export type ToWorker = { id: number; request: Request } | { id: number; cancel: true };

export type FromWorker =
  | { id: number; ok: true; result: InitResult | LoadResult | RunResult }
  | { id: number; ok: false; error: string }
  | { id: number; progress: { done: number; total: number } };
