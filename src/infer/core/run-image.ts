/**
 * Running a network over one planar image: in one pass, or tile by tile with the plan and
 * blending of `../tiling.ts`, checking the output shape and finding the scale factor.
 *
 * Output sizes. A style network keeps the size; a super-resolution network multiplies it by
 * its factor. Networks that go down and up by stride 4 produce a slightly larger output when
 * the input is not a multiple of 4 (e.g. 5 → 3 → 2 → 4 → 8): the top-left `H·s × W·s` is the
 * image (exports that crop in the graph, `cropToSizeOf`, keep the same pixels), so an output
 * up to {@link MAX_ROUNDING_SLACK} pixels larger is cropped; anything else is an error (a
 * super-resolution model given to `stylize` must not be silently cropped).
 */
import { planTiles, TileBlender, extractTile, type TilePlan } from '../tiling.js';
import type { ProgressCallback, RunNetwork } from './types.js';

/** How much larger than `H·s × W·s` (per axis, in input pixels) an output may be: the rounding of a total stride ≤ 8. */
export const MAX_ROUNDING_SLACK = 8;

export interface TilingOptions {
  /** Input tile size in pixels; the image is run in one pass when it fits in one tile. */
  tileSize: number;
  /** Minimum overlap of neighbouring tiles, input pixels (default min(64, ⌊tile/4⌋)). */
  overlap?: number;
  /** Context discarded at interior tile edges, input pixels (default ⌊overlap/4⌋). */
  margin?: number;
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
  /** Planar CHW, 3 × height × width. */
  data: Float32Array;
  width: number;
  height: number;
  scale: number;
  /** Network runs it took (1 when untiled). */
  runs: number;
}

/** Run `run` on a planar `3 × height × width` image (0–255) and return the planar output. */
export async function runImage(run: RunNetwork, chw: Float32Array, width: number, height: number, options: RunImageOptions = {}): Promise<RunImageResult> {
  if (chw.length !== 3 * width * height) throw new RangeError(`image has ${chw.length} values, expected 3×${height}×${width}`);
  if (options.scale !== undefined && !(Number.isInteger(options.scale) && options.scale >= 1)) {
    throw new RangeError(`scale must be a positive integer, got ${options.scale}`);
  }
  const { signal, onProgress } = options;
  const tiling = options.tiling;
  if (!tiling || (width <= tiling.tileSize && height <= tiling.tileSize)) {
    signal?.throwIfAborted();
    const out = await runOnce(run, chw, width, height, options.scale);
    onProgress?.(1, 1);
    return { data: out.data, width: width * out.scale, height: height * out.scale, scale: out.scale, runs: 1 };
  }

  const overlap = tiling.overlap ?? Math.min(64, Math.floor(tiling.tileSize / 4));
  const planFor = (scale: number): TilePlan => planTiles({ width, height, tile: tiling.tileSize, overlap, margin: tiling.margin, scale });
  // The tiles' input rectangles do not depend on the scale, so an unknown scale can be found
  // by running the first tile and then planning the outputs.
  let plan = planFor(options.scale ?? 1);
  const total = plan.tiles.length;
  let first: { data: Float32Array; scale: number } | undefined;
  if (options.scale === undefined) {
    signal?.throwIfAborted();
    const t0 = plan.tiles[0]!;
    first = await runOnce(run, extractTile(chw, plan, t0), t0.input.width, t0.input.height, undefined);
    plan = planFor(first.scale);
  }
  const blender = new TileBlender(plan, 3);
  for (const tile of plan.tiles) {
    let out: Float32Array;
    if (tile.index === 0 && first) out = first.data;
    else {
      signal?.throwIfAborted();
      out = (await runOnce(run, extractTile(chw, plan, tile), tile.input.width, tile.input.height, plan.scale)).data;
    }
    blender.add(tile, out);
    onProgress?.(blender.progress, total);
  }
  return { data: blender.result(), width: plan.outWidth, height: plan.outHeight, scale: plan.scale, runs: total };
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
