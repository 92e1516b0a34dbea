/**
 * Running a fully convolutional network on an image too large for one pass, tile by tile.
 *
 * Geometry. Along each axis the input is covered by equal tiles of `tile` pixels whose input
 * rectangles overlap by at least `overlap` pixels (the overlap is spread evenly, so the last
 * tile ends exactly at the border instead of hanging over it: every tile then has the same
 * input size, which suits engines that compile per shape). Near an edge of a tile that is not
 * an image border the network sees zero padding instead of the real neighbours, so the outer
 * `margin` pixels of every interior edge are treated as context only (weight 0). Inside the
 * rest of each overlap the two tiles are cross-faded with linear ("feathered") weights that
 * sum to 1, so no seam can appear even for networks whose output is not purely local (instance
 * normalisation in the style-transfer nets makes every tile's colours slightly different; a
 * hard cut would show that as a line, a ramp hides it).
 *
 * With `margin` ≥ the network's receptive-field radius (in input pixels) every contributing
 * output pixel equals the untiled result, and since blending equal values gives that value
 * back bit for bit (see {@link TileBlender}), the tiled output is then exactly the untiled one.
 *
 * Coordinates: `input` rects are in input pixels; everything else is in output pixels
 * (input × `scale`, e.g. 4 for ×4 super-resolution). Tiles are planar CHW float32 (what the
 * network consumes and produces). {@link TileBlender} keeps the whole output (planar);
 * {@link StreamingTileBlender} keeps one row of tiles' output (interleaved) and hands finished
 * rows on, which is how large images are run (`core/run-image.ts`), with tiles cut straight from
 * the interleaved 8-bit image ({@link extractTileHwc}).
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Tile {
  /** Position in `plan.tiles` (row-major). */
  index: number;
  col: number;
  row: number;
  /** Input pixels to feed the network (context included). */
  input: Rect;
  /** Where the network's whole output for this tile lies in the full output (`input` × scale). */
  output: Rect;
  /** The output pixels this tile "owns": the cores of all tiles partition the output exactly. */
  core: Rect;
  /** The output pixels where this tile's blend weight is > 0 (its core plus the feathered bands; never the margins). */
  support: Rect;
}

export interface PlanTilesOptions {
  width: number;
  height: number;
  /** Input tile size (square; clipped to the image when the image is smaller). */
  tile: number;
  /** Minimum overlap of neighbouring tiles' input rects, in input pixels (default 32). */
  overlap?: number;
  /** Context pixels discarded at each interior tile edge, in input pixels (default ⌊overlap/4⌋; at most overlap/2). */
  margin?: number;
  /** Output pixels per input pixel (1 for style transfer, the factor for super-resolution). */
  scale?: number;
}

/** One axis of a plan; exported for {@link tileWeight} and {@link TileBlender}. */
export interface AxisPlan {
  /** Input start of each tile. */
  starts: number[];
  /** Input length of every tile on this axis. */
  length: number;
  /** Core boundaries in output pixels: core k = [cuts[k], cuts[k+1]); cuts[0] = 0, cuts[n] = output size. */
  cuts: number[];
  /** Feather band between tile k and k+1 in output pixels, [start, end) (empty = a hard cut at cuts[k+1]). */
  bands: Array<[number, number]>;
}

export interface TilePlan {
  width: number;
  height: number;
  scale: number;
  tile: number;
  overlap: number;
  margin: number;
  outWidth: number;
  outHeight: number;
  cols: number;
  rows: number;
  x: AxisPlan;
  y: AxisPlan;
  /** Row-major. */
  tiles: Tile[];
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
}

export function planTiles(options: PlanTilesOptions): TilePlan {
  const { width, height, tile } = options;
  const overlap = options.overlap ?? 32;
  const margin = options.margin ?? Math.floor(overlap / 4);
  const scale = options.scale ?? 1;
  checkInt('width', width, 1);
  checkInt('height', height, 1);
  checkInt('tile', tile, 1);
  checkInt('overlap', overlap, 0);
  checkInt('margin', margin, 0);
  checkInt('scale', scale, 1);
  if (overlap >= tile) throw new RangeError(`overlap (${overlap}) must be smaller than the tile (${tile})`);
  // Both neighbours drop `margin` px of the overlap; what is left is where they can blend.
  if (2 * margin > overlap) throw new RangeError(`margin (${margin}) must be at most half the overlap (${overlap})`);

  const x = planAxis(width, tile, overlap, margin, scale);
  const y = planAxis(height, tile, overlap, margin, scale);
  const outWidth = width * scale;
  const outHeight = height * scale;
  const tiles: Tile[] = [];
  for (let row = 0; row < y.starts.length; row++) {
    for (let col = 0; col < x.starts.length; col++) {
      const input = { x: x.starts[col]!, y: y.starts[row]!, width: x.length, height: y.length };
      const [sx0, sx1] = axisSupport(x, col);
      const [sy0, sy1] = axisSupport(y, row);
      tiles.push({
        index: tiles.length,
        col,
        row,
        input,
        output: { x: input.x * scale, y: input.y * scale, width: input.width * scale, height: input.height * scale },
        core: { x: x.cuts[col]!, y: y.cuts[row]!, width: x.cuts[col + 1]! - x.cuts[col]!, height: y.cuts[row + 1]! - y.cuts[row]! },
        support: { x: sx0, y: sy0, width: sx1 - sx0, height: sy1 - sy0 },
      });
    }
  }
  return { width, height, scale, tile, overlap, margin, outWidth, outHeight, cols: x.starts.length, rows: y.starts.length, x, y, tiles };
}

function planAxis(size: number, tile: number, overlap: number, margin: number, scale: number): AxisPlan {
  const outSize = size * scale;
  if (tile >= size) return { starts: [0], length: size, cuts: [0, outSize], bands: [] };
  // Fewest tiles whose overlaps are all ≥ `overlap`; their starts spread evenly over [0, size − tile].
  // (With integer steps ≤ tile − overlap, rounding the starts keeps every overlap ≥ `overlap` and the starts strictly increasing.)
  const n = Math.ceil((size - overlap) / (tile - overlap));
  const starts = Array.from({ length: n }, (_, k) => Math.round((k * (size - tile)) / (n - 1)));
  // Per boundary: the output span valid in both neighbours, and the cut in its middle.
  const valid: Array<[number, number]> = [];
  const cuts = [0];
  for (let k = 0; k + 1 < n; k++) {
    const lo = (starts[k + 1]! + margin) * scale;
    const hi = (starts[k]! + tile - margin) * scale;
    valid.push([lo, hi]);
    cuts.push(Math.floor((lo + hi) / 2));
  }
  cuts.push(outSize);
  // A band may not reach past the midpoint between its cut and the neighbouring cuts: when the
  // overlaps are wide compared with the step, bands of consecutive boundaries would otherwise
  // overlap, three tiles would share a pixel, and the weights would stop being a partition of 1.
  const bands: Array<[number, number]> = valid.map(([lo, hi], k) => {
    const left = k === 0 ? 0 : Math.floor((cuts[k]! + cuts[k + 1]!) / 2);
    const right = k + 2 === cuts.length - 1 ? outSize : Math.floor((cuts[k + 1]! + cuts[k + 2]!) / 2);
    return [Math.max(lo, left), Math.min(hi, right)];
  });
  return { starts, length: tile, cuts, bands };
}

function axisSupport(axis: AxisPlan, k: number): [number, number] {
  const n = axis.starts.length;
  return [k === 0 ? 0 : axis.bands[k - 1]![0], k === n - 1 ? axis.cuts[n]! : axis.bands[k]![1]];
}

/**
 * The 1-D weight of tile `k` at output coordinate `p`: 1 inside its core away from the bands,
 * a linear ramp across each band (sampled at pixel centres, so the two neighbours' weights
 * are t and 1 − t), 0 outside its support.
 */
export function axisWeight(axis: AxisPlan, k: number, p: number): number {
  const n = axis.starts.length;
  if (k > 0) {
    const [a, b] = axis.bands[k - 1]!;
    if (p < a) return 0;
    if (p < b) return (p - a + 0.5) / (b - a);
  }
  if (k < n - 1) {
    const [a, b] = axis.bands[k]!;
    if (p >= b) return 0;
    if (p >= a) return 1 - (p - a + 0.5) / (b - a);
  }
  return p >= 0 && p < axis.cuts[n]! ? 1 : 0;
}

/** The blend weight of `tile` at output pixel (x, y); over all tiles these sum to 1 at every pixel. */
export function tileWeight(plan: TilePlan, tile: Tile, x: number, y: number): number {
  return axisWeight(plan.x, tile.col, x) * axisWeight(plan.y, tile.row, y);
}

/** The neighbour (k ± 1) that shares output coordinate p with tile k on this axis, or −1. */
function axisNeighbour(axis: AxisPlan, k: number, p: number): number {
  if (k > 0) {
    const [a, b] = axis.bands[k - 1]!;
    if (p >= a && p < b) return k - 1;
  }
  if (k < axis.starts.length - 1) {
    const [a, b] = axis.bands[k]!;
    if (p >= a && p < b) return k + 1;
  }
  return -1;
}

/**
 * Accumulates tile outputs into the full output (planar CHW float32, `channels` × outHeight ×
 * outWidth). Memory: the output plus O(tile width + height) of weights; the caller holds one
 * tile's output at a time.
 *
 * Blending is a running weighted mean, `out += w / (W_prev + w) · (tile − out)`, where W_prev
 * is the weight of the neighbours already added (known from the plan, so no weight buffer is
 * kept). The final value is Σ wᵢ·tileᵢ (the weights sum to 1), and unlike accumulating
 * `out += w·tile` directly, tiles that agree reproduce their common value exactly, whatever
 * the weights — which is what makes tiling an identity-like network lossless.
 * Tiles may be added in any order, each exactly once.
 */
export class TileBlender {
  readonly data: Float32Array;
  private readonly added: Uint8Array;
  private count = 0;

  constructor(readonly plan: TilePlan, readonly channels = 3) {
    checkInt('channels', channels, 1);
    this.data = new Float32Array(channels * plan.outWidth * plan.outHeight);
    this.added = new Uint8Array(plan.tiles.length);
  }

  /** How many tiles have been added. */
  get progress(): number {
    return this.count;
  }

  get complete(): boolean {
    return this.count === this.plan.tiles.length;
  }

  /** Blend `tileOutput` (planar CHW, channels × output.height × output.width of `tile`) into the output. */
  add(tile: Tile | number, tileOutput: Float32Array): void {
    const { plan, channels, data, added } = this;
    blendTile(plan, channels, added, planTile(plan, tile), tileOutput, data, { y0: 0, channelStride: plan.outWidth * plan.outHeight, pixelStride: 1 });
    this.count++;
  }

  /** The blended output; throws if a tile is missing (its pixels would be black). */
  result(): Float32Array {
    if (!this.complete) throw missingTiles(this.plan, this.added);
    return this.data;
  }
}

/**
 * Receives finished output rows from a {@link StreamingTileBlender}, top to bottom:
 * `rows` full-width rows starting at output row `y`, interleaved HWC (`rows × outWidth ×
 * channels` values). The array is the blender's own buffer: read (or copy) it before returning.
 */
export type RowSink = (rows: Float32Array, y: number, count: number) => void;

/**
 * The same blending as {@link TileBlender} (bit for bit), but holding only the output rows that
 * the current row of tiles touches — at most one tile's output height × the output width —
 * and handing every row to `sink` as soon as no later tile can change it. Tiles must be added
 * one row of tiles at a time, top to bottom (in any order within a row); {@link finish} hands
 * over the last rows. Memory: `channels × tile·scale × outWidth` floats, whatever the image height.
 */
export class StreamingTileBlender {
  private readonly added: Uint8Array;
  private readonly buffer: Float32Array;
  private count = 0;
  /** Row of tiles being blended, and the output rows [y0, y1) its tiles' supports cover. */
  private row = -1;
  private y0 = 0;
  private y1 = 0;

  constructor(readonly plan: TilePlan, private readonly sink: RowSink, readonly channels = 3) {
    checkInt('channels', channels, 1);
    this.added = new Uint8Array(plan.tiles.length);
    let rows = 0;
    for (let r = 0; r < plan.rows; r++) rows = Math.max(rows, plan.tiles[r * plan.cols]!.support.height);
    this.buffer = new Float32Array(rows * plan.outWidth * channels);
  }

  get progress(): number {
    return this.count;
  }

  get complete(): boolean {
    return this.count === this.plan.tiles.length;
  }

  add(tile: Tile | number, tileOutput: Float32Array): void {
    const { plan, channels } = this;
    const t = planTile(plan, tile);
    if (t.row < this.row) throw new Error(`tile ${t.index} (row ${t.row}) comes after row ${this.row} was started: add the tiles row by row, top to bottom`);
    while (this.row < t.row) this.nextRow();
    blendTile(plan, channels, this.added, t, tileOutput, this.buffer, { y0: this.y0, channelStride: 1, pixelStride: channels });
    this.count++;
  }

  /** Hand the remaining rows to the sink; throws if a tile is missing. */
  finish(): void {
    if (!this.complete) throw missingTiles(this.plan, this.added);
    const rowLength = this.plan.outWidth * this.channels;
    if (this.y1 > this.y0) this.sink(this.buffer.subarray(0, (this.y1 - this.y0) * rowLength), this.y0, this.y1 - this.y0);
    this.y0 = this.y1;
  }

  /** Finish the current row of tiles: emit the rows the next row cannot reach, keep the shared band. */
  private nextRow(): void {
    const { plan, channels, buffer } = this;
    if (this.row >= 0) {
      const first = this.row * plan.cols;
      for (let k = first; k < first + plan.cols; k++) {
        if (!this.added[k]) throw new Error(`row ${this.row + 1} of tiles was started before tile ${k} (row ${this.row}) was added: add the tiles row by row`);
      }
    }
    this.row++;
    const support = plan.tiles[this.row * plan.cols]!.support;
    const rowLength = plan.outWidth * channels;
    const done = support.y - this.y0; // rows above the new row's reach: final
    if (done > 0) this.sink(buffer.subarray(0, done * rowLength), this.y0, done);
    const kept = this.y1 - support.y; // the band shared with the new row of tiles
    if (kept > 0) buffer.copyWithin(0, done * rowLength, (done + kept) * rowLength);
    buffer.fill(0, Math.max(0, kept) * rowLength, support.height * rowLength);
    this.y0 = support.y;
    this.y1 = support.y + support.height;
  }
}

function missingTiles(plan: TilePlan, added: Uint8Array): Error {
  const missing = plan.tiles.filter((t) => !added[t.index]).map((t) => t.index);
  return new Error(`tiled output is incomplete: ${missing.length} of ${plan.tiles.length} tiles missing (${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''})`);
}

/** Where a blender keeps output rows: value (c, y, x) is at c·channelStride + ((y − y0)·outWidth + x)·pixelStride. */
interface BlendTarget {
  y0: number;
  channelStride: number;
  pixelStride: number;
}

/** The plan's tile for `tile` (a Tile or an index), checked to belong to the plan. */
function planTile(plan: TilePlan, tile: Tile | number): Tile {
  const t = typeof tile === 'number' ? plan.tiles[tile] : plan.tiles[tile.index];
  if (!t || (typeof tile !== 'number' && t !== tile && (t.col !== tile.col || t.row !== tile.row))) {
    throw new RangeError(`tile ${typeof tile === 'number' ? tile : tile.index} is not part of this plan`);
  }
  return t;
}

/**
 * Blend one tile's output into `data` and mark it added: the one blending loop of both
 * blenders, so they give the same values bit for bit.
 */
function blendTile(plan: TilePlan, channels: number, added: Uint8Array, t: Tile, tileOutput: Float32Array, data: Float32Array, target: BlendTarget): void {
  if (added[t.index]) throw new Error(`tile ${t.index} (col ${t.col}, row ${t.row}) was already added`);
  const tw = t.output.width;
  const th = t.output.height;
  if (tileOutput.length !== channels * tw * th) {
    throw new RangeError(`tile ${t.index} output has ${tileOutput.length} values, expected ${channels}×${th}×${tw} = ${channels * tw * th}`);
  }
  const { y0, channelStride, pixelStride } = target;
  const { cols } = plan;
  const W = plan.outWidth;
  const tilePlane = tw * th;
  const { x: sx, y: sy, width: sw, height: sh } = t.support;

  // Per column / row of the support: own weight, the neighbour sharing it (if any) and its weight.
  const wx = new Float64Array(sw), nx = new Int32Array(sw), wxn = new Float64Array(sw);
  for (let i = 0; i < sw; i++) {
    const p = sx + i;
    wx[i] = axisWeight(plan.x, t.col, p);
    nx[i] = axisNeighbour(plan.x, t.col, p);
    wxn[i] = nx[i]! >= 0 ? axisWeight(plan.x, nx[i]!, p) : 0;
  }
  const wy = new Float64Array(sh), ny = new Int32Array(sh), wyn = new Float64Array(sh);
  for (let j = 0; j < sh; j++) {
    const p = sy + j;
    wy[j] = axisWeight(plan.y, t.row, p);
    ny[j] = axisNeighbour(plan.y, t.row, p);
    wyn[j] = ny[j]! >= 0 ? axisWeight(plan.y, ny[j]!, p) : 0;
  }

  for (let j = 0; j < sh; j++) {
    const oy = sy + j;
    const ty = oy - t.output.y;
    const rowN = ny[j]!;
    for (let i = 0; i < sw; i++) {
      const ox = sx + i;
      const colN = nx[i]!;
      const w = wx[i]! * wy[j]!;
      let prev = 0;
      if (colN >= 0 && added[t.row * cols + colN]) prev += wxn[i]! * wy[j]!;
      if (rowN >= 0 && added[rowN * cols + t.col]) prev += wx[i]! * wyn[j]!;
      if (colN >= 0 && rowN >= 0 && added[rowN * cols + colN]) prev += wxn[i]! * wyn[j]!;
      const f = w / (prev + w);
      const o = ((oy - y0) * W + ox) * pixelStride;
      const s = ty * tw + (ox - t.output.x);
      for (let c = 0; c < channels; c++) {
        const at = c * channelStride + o;
        const cur = data[at]!;
        data[at] = cur + f * (tileOutput[c * tilePlane + s]! - cur);
      }
    }
  }
  added[t.index] = 1;
}

/** Copy a tile's input rect out of a planar CHW image of `plan.width` × `plan.height`. */
export function extractTile(image: Float32Array, plan: TilePlan, tile: Tile, channels = 3): Float32Array {
  const { width: W, height: H } = plan;
  if (image.length !== channels * W * H) throw new RangeError(`image has ${image.length} values, expected ${channels}×${H}×${W}`);
  const { x, y, width: w, height: h } = tile.input;
  const out = new Float32Array(channels * w * h);
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < h; j++) {
      const src = c * W * H + (y + j) * W + x;
      out.set(image.subarray(src, src + w), c * w * h + j * w);
    }
  }
  return out;
}

/**
 * A tile's input rect out of an interleaved HWC image (bytes or floats, `channels` per pixel)
 * of `plan.width` × `plan.height`, as the planar CHW float32 the network takes: tiles can be cut
 * straight from the decoded 8-bit image, with no float copy of the whole image.
 */
export function extractTileHwc(image: Uint8Array | Float32Array, plan: TilePlan, tile: Tile, channels = 3): Float32Array {
  const { width: W, height: H } = plan;
  if (image.length !== channels * W * H) throw new RangeError(`image has ${image.length} values, expected ${H}×${W}×${channels}`);
  const { x, y, width: w, height: h } = tile.input;
  const plane = w * h;
  const out = new Float32Array(channels * plane);
  for (let j = 0; j < h; j++) {
    let src = ((y + j) * W + x) * channels;
    const row = j * w;
    for (let i = 0; i < w; i++, src += channels) {
      for (let c = 0; c < channels; c++) out[c * plane + row + i] = image[src + c]!;
    }
  }
  return out;
}

export interface RunTiledOptions {
  channels?: number;
  signal?: AbortSignal;
  /** Called after each tile (e.g. for a progress bar). */
  onTile?: (done: number, total: number) => void;
}

/**
 * Run `network` (planar CHW tile in → planar CHW tile out, `scale`× larger) over every tile
 * of `image` (planar CHW) and blend the results. Only one tile's input and output are alive
 * at a time besides the full input and output.
 */
export async function runTiled(
  image: Float32Array,
  plan: TilePlan,
  network: (input: Float32Array, tile: Tile) => Float32Array | Promise<Float32Array>,
  options: RunTiledOptions = {},
): Promise<Float32Array> {
  const channels = options.channels ?? 3;
  const blender = new TileBlender(plan, channels);
  for (const tile of plan.tiles) {
    options.signal?.throwIfAborted();
    blender.add(tile, await network(extractTile(image, plan, tile, channels), tile));
    options.onTile?.(blender.progress, plan.tiles.length);
  }
  return blender.result();
}
