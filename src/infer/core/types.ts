/**
 * The one thing the inference core needs from a platform: a way to run the network.
 *
 * Why injected: the same pre/post-processing, tiling and blending must give the same pixels in
 * Node (onnxruntime-node) and in the browser (onnxruntime-web), so they live in platform-free
 * code and each platform only supplies this function (UpscalerJS splits its Node and browser
 * builds the same way).
 */

/** An `[N, C, H, W]` float32 tensor as plain data. */
export interface TensorData {
  data: Float32Array;
  dims: readonly number[];
}

/**
 * Run the network once on an `[N, 3, H, W]` float32 batch (RGB, 0–255) and resolve to its
 * `[N, 3, H', W']` output (RGB, 0–255). Must not modify `input`.
 */
export type RunNetwork = (input: Float32Array, dims: readonly number[]) => Promise<TensorData>;

/** Called after each network run of a (possibly tiled) image: `done` of `total` runs finished. */
export type ProgressCallback = (done: number, total: number) => void;
