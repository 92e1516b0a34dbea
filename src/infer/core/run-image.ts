/**
 * Running a network over one image: in one pass, or tile by tile with the plan and blending of
 * `../tiling.ts`, checking the output shape and finding the scale factor.
 *
 * Streaming. The input is the interleaved image as decoded (bytes, usually): each tile is cut
 * from it and converted to planar float32 on its own, and the output leaves in finished rows
 * (interleaved float32) through a {@link ImageSink}, so tiled work holds one tile and one row of
 * tiles' output at a time besides the caller's input and output — never a float copy of the
 * whole image (an 8000×6000 photo is 144 MB as bytes, 576 MB as one float plane set).
 *
 * Stopping. Between network runs the loop gives the event loop a turn (a zero-delay timer),
 * so a network that runs synchronously on the main thread (the libtorch engine) still lets
 * SIGINT handlers and `AbortSignal`s fire: an abort stops the work within one tile.
 *
 * Output sizes. A style network keeps the size; a super-resolution network multiplies it by
 * its factor. Networks that go down and up by stride 4 produce a slightly larger output when
 * the input is not a multiple of 4 (e.g. 5 → 3 → 2 → 4 → 8): the top-left `H·s × W·s` is the
 * image (exports that crop in the graph, `cropToSizeOf`, keep the same pixels), so an output
 * up to {@link MAX_ROUNDING_SLACK} pixels larger is cropped; anything else is an error (a
 * super-resolution model given to `stylize` must not be silently cropped).
 */
import { planTiles, StreamingTileBlender, extractTileHwc, type TilePlan } from '../tiling.js';
import { chwToHwc, hwcToChw } from '../../data/tensor-layout.js';
import type { RgbImage } from '../../data/image.js';
import type { ProgressCallback, RunNetwork, TensorData } from './types.js';

/** How much larger than `H·s × W·s` (per axis, in input pixels) an output may be: the rounding of a total stride ≤ 8. */
export const MAX_ROUNDING_SLACK = 8;

/**
 * The smallest tile accepted, in input pixels. Why a floor: the networks' receptive fields
 * span tens of pixels (the paper's style network sees ±~50 px; its downsampling leaves a
 * 32-px tile 8×8 positions in the residual blocks), so below this a tile is mostly the padded
 * border, the result mostly seams, and the run count explodes (`--tile 1` on 64×64 was 4096 runs).
 */
export const MIN_TILE_SIZE = 32;

/** Default overlap of neighbouring tiles for a tile size, input pixels. */
export const defaultOverlap = (tileSize: number): number => Math.min(64, Math.floor(tileSize / 4));

export interface TilingOptions {
  /** Input tile size in pixels (≥ {@link MIN_TILE_SIZE}); the image is run in one pass when it fits in one tile. */
  tileSize: number;
  /** Minimum overlap of neighbouring tiles, input pixels (default {@link defaultOverlap}; at most half the tile). */
  overlap?: number;
  /** Context discarded at interior tile edges, input pixels (default ⌊overlap/4⌋). */
  margin?: number;
}

/**
 * Check a tile size and overlap (throws a RangeError saying what is accepted). The overlap is
 * at most half the tile: beyond that every pixel is computed more than twice and the tile count
 * grows without bound as the overlap nears the tile size.
 */
export function checkTiling(tileSize: number, overlap?: number): void {
  if (!Number.isInteger(tileSize) || tileSize < MIN_TILE_SIZE) {
    throw new RangeError(
      `tile size ${tileSize} is too small: tiles must be at least ${MIN_TILE_SIZE} input pixels (the network's receptive field spans tens of pixels, so smaller tiles are mostly padded border and multiply the runs); use ${MIN_TILE_SIZE} or more, or 0 for no tiling`,
    );
  }
  if (overlap !== undefined && !(Number.isInteger(overlap) && overlap >= 0 && overlap <= tileSize / 2)) {
    throw new RangeError(`overlap ${overlap} must be an integer from 0 to half the tile size (${Math.floor(tileSize / 2)} for tiles of ${tileSize})`);
  }
}

/**
 * Receives the output: `begin` once its size is known (before any rows), then `rows` with
 * finished full-width rows, top to bottom, each exactly once: `count` rows starting at output
 * row `y`, interleaved HWC float32 (`count × width × 3`, 0–255 scale, not clamped). `rows` is
 * the runner's own buffer: use or copy it before returning.
 */
export interface ImageSink {
  begin(width: number, height: number, scale: number): void;
  rows(data: Float32Array, y: number, count: number): void;
}

export interface RunImageOptions {
  /** Output pixels per input pixel; leave undefined to take it from the network's first output. */
  scale?: number;
  /** Tile the image (omit for one pass). */
  tiling?: TilingOptions;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface RunImageResult {
  width: number;
  height: number;
  scale: number;
  /** Network runs it took (1 when untiled). */
  runs: number;
}

/** Give the event loop a turn (timers, I/O, signal handlers) — platform-free: no setImmediate in browsers. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Run `run` on an interleaved RGB image (0–255, bytes or floats) and hand its output to `sink`. */
export async function runImage(run: RunNetwork, image: RgbImage, sink: ImageSink, options: RunImageOptions = {}): Promise<RunImageResult> {
  const { width, height } = image;
  if (image.data.length !== 3 * width * height) throw new RangeError(`image has ${image.data.length} values, expected ${height}×${width}×3`);
  if (options.scale !== undefined && !(Number.isInteger(options.scale) && options.scale >= 1)) {
    throw new RangeError(`scale must be a positive integer, got ${options.scale}`);
  }
  const { signal, onProgress } = options;
  const tiling = options.tiling;
  if (tiling) checkTiling(tiling.tileSize, tiling.overlap);
  signal?.throwIfAborted();
  if (!tiling || (width <= tiling.tileSize && height <= tiling.tileSize)) {
    const out = await runOnce(run, hwcToChw(image), width, height, options.scale);
    signal?.throwIfAborted();
    const ow = width * out.scale, oh = height * out.scale;
    sink.begin(ow, oh, out.scale);
    sink.rows(chwToHwc(out.data, oh, ow).data as Float32Array, 0, oh);
    onProgress?.(1, 1);
    return { width: ow, height: oh, scale: out.scale, runs: 1 };
  }
  const overlap = tiling.overlap ?? defaultOverlap(tiling.tileSize);
  const planFor = (scale: number): TilePlan => planTiles({ width, height, tile: tiling.tileSize, overlap, margin: tiling.margin, scale });
  // The tiles' input rectangles do not depend on the scale, so an unknown scale can be found
  // by running the first tile and then planning the outputs.
  let plan = planFor(options.scale ?? 1);
  const total = plan.tiles.length;
  let first: { data: Float32Array; scale: number } | undefined;
  if (options.scale === undefined) {
    const t0 = plan.tiles[0]!;
    first = await runOnce(run, extractTileHwc(image.data, plan, t0), t0.input.width, t0.input.height, undefined);
    plan = planFor(first.scale);
  }
  sink.begin(plan.outWidth, plan.outHeight, plan.scale);
  const blender = new StreamingTileBlender(plan, (rows, y, count) => sink.rows(rows, y, count), 3);
  for (const tile of plan.tiles) {
    let out: Float32Array;
    if (tile.index === 0 && first) out = first.data;
    else {
      if (tile.index > 0) await yieldToEventLoop();
      signal?.throwIfAborted();
      out = (await runOnce(run, extractTileHwc(image.data, plan, tile), tile.input.width, tile.input.height, plan.scale)).data;
    }
    blender.add(tile, out);
    onProgress?.(blender.progress, total);
  }
  await yieldToEventLoop();
  signal?.throwIfAborted();
  blender.finish();
  return { width: plan.outWidth, height: plan.outHeight, scale: plan.scale, runs: total };
}

/**
 * The check of a wrapper that runs a size-keeping (style) network on a reshaped input and crops the
 * output back (shift averaging, edge padding): the output must have the input's size, up to
 * {@link MAX_ROUNDING_SLACK} more rows/columns at the bottom/right, and as many values as its shape says.
 */
export function checkSizeKeeping(what: string, out: TensorData, dims: readonly number[]): void {
  const [b, c, h, w] = dims as [number, number, number, number];
  const [rb, rc, rh, rw] = out.dims as [number, number, number, number];
  const values = out.dims.reduce((a, n) => a * n, 1);
  if (out.dims.length !== 4 || rb !== b || rc !== c || rh < h || rw < w || rh >= h + MAX_ROUNDING_SLACK || rw >= w + MAX_ROUNDING_SLACK || out.data.length !== values) {
    throw new Error(`${what}: the network's output for input [${dims.join(', ')}] has shape [${out.dims.join(', ')}]${out.data.length !== values ? ` and ${out.data.length} values` : ''}; it needs a network that keeps the size (a style network)`);
  }
}

/** One network run on a `3 × h × w` input; the output is checked, cropped to `h·s × w·s`, and its scale returned. */
async function runOnce(run: RunNetwork, input: Float32Array, w: number, h: number, scale: number | undefined): Promise<{ data: Float32Array; scale: number }> {
  const dims = [1, 3, h, w] as const;
  const out = await run(input, dims);
  const shape = `[${out.dims.join(', ')}]`;
  if (out.dims.length !== 4 || out.dims[0] !== 1 || out.dims[1] !== 3) {
    throw new Error(`the network's output for input [1, 3, ${h}, ${w}] has shape ${shape}, expected [1, 3, H, W]`);
  }
  const oh = out.dims[2]!;
  const ow = out.dims[3]!;
  if (out.data.length !== 3 * oh * ow) throw new Error(`the network's output has ${out.data.length} values but its shape is ${shape}`);
  // The longer side decides the factor: on a 1-pixel-high input a stride-4 network's rounding
  // up (1 → 4) would otherwise read as a factor of 4.
  const s = scale ?? (w >= h ? Math.floor(ow / w) : Math.floor(oh / h));
  const slack = MAX_ROUNDING_SLACK * s;
  if (s < 1 || oh < h * s || ow < w * s || oh >= h * s + slack || ow >= w * s + slack) {
    const want = scale === undefined ? 'an integer multiple of the input size' : `${h * s}×${w * s} (×${s})`;
    throw new Error(`the network's output for input [1, 3, ${h}, ${w}] has shape ${shape}: expected ${want}`);
  }
  return { data: oh === h * s && ow === w * s ? out.data : cropTopLeft(out.data, oh, ow, h * s, w * s), scale: s };
}

function cropTopLeft(data: Float32Array, h: number, w: number, ch: number, cw: number): Float32Array {
  const out = new Float32Array(3 * ch * cw);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < ch; y++) {
      const src = c * h * w + y * w;
      out.set(data.subarray(src, src + cw), c * ch * cw + y * cw);
    }
  }
  return out;
}
