/**
 * A feed-forward image network (style transfer or super-resolution) around an injected
 * {@link RunNetwork}: everything between "an RgbImage" and "a tensor the session runs" —
 * layout, automatic tiling, strength, preserve-colour — so Node and the browser share it.
 */
import * as color from '../../data/color.js';
import type { RgbImage } from '../../data/image.js';
import { roundToBytes } from '../../data/tensor-layout.js';
import { checkPixelLimit } from '../../data/pixel-limit.js';
import { runImage, checkTiling, MIN_TILE_SIZE, type ImageSink, type TilingOptions } from './run-image.js';
import { blendStrength, checkStrength } from './strength.js';
import { shiftAveraged, DEFAULT_SHIFTS } from './shift-average.js';
import { edgePadded, DEFAULT_EDGE_PAD } from './edge-pad.js';
import type { ProgressCallback, RunNetwork } from './types.js';

/** Above this many output pixels an image is tiled unless the caller says otherwise. */
export const DEFAULT_MAX_UNTILED_PIXELS = 1536 * 1536;
/**
 * Output-pixel side of the tiles chosen by automatic tiling. Why 768: a tile's activations are
 * most of tiled work's memory (the paper-sized style net on the engine: +370 MB at 768², +580 MB
 * at 1024²), and with overlap 64 it computes only ~5 % more pixels than 1024 — this keeps an 8000×6000
 * photo under 1.5 GB (`bench/tiled-memory.ts`).
 */
export const DEFAULT_AUTO_TILE = 768;
/**
 * The factor assumed by automatic tiling while a super-resolution model's factor is unknown
 * (its first output tells the real one): ×4, the paper's smaller factor, so an ×8 model's
 * tiles are at most twice the intended size rather than the other way round.
 */
const ASSUMED_SR_FACTOR = 4;

export interface StyleModelCoreOptions {
  /** The model's upscaling factor (its card's `scale`); found from the first output when omitted. */
  scale?: number;
  /**
   * Images whose output has more pixels than this are tiled when no `tileSize` is given.
   * Why a limit at all: activations of the paper's network at 1536² are ~300 MB per layer,
   * near what a 32-bit WebAssembly heap can hold.
   */
  maxUntiledPixels?: number;
  /** Output-pixel tile side for automatic tiling (default {@link DEFAULT_AUTO_TILE}). */
  autoTileSize?: number;
}

/** The pixels stylize/upscale return: float32 (0–255, unrounded) or bytes (rounded as `toBytes`). */
export type OutputType = 'float32' | 'uint8';
export const DEFAULT_OUTPUT_TYPE: OutputType = 'float32';

export interface RunOptions {
  /** Input tile size: `0` never tiles, a number (≥ {@link MIN_TILE_SIZE}) tiles images larger than it, omitted tiles large images automatically. */
  tileSize?: number;
  /** Overlap of neighbouring tiles, input pixels (default min(64, ⌊tile/4⌋); at most half the tile). */
  overlap?: number;
  /**
   * 'uint8' returns bytes, rounded as they are saved; tiled work then holds the input, the
   * byte output and one row of tiles — no float copy of the whole image (what the CLI uses
   * for large photos). Default {@link DEFAULT_OUTPUT_TYPE}.
   */
  outputType?: OutputType;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface StylizeOptions extends RunOptions {
  /** 0–1: `s·stylised + (1 − s)·input` (default 1). */
  strength?: number;
  /** Keep the photo's colours: the stylised luminance with the original chroma (BT.601). */
  preserveColor?: boolean;
  /**
   * Average the network over this many sub-stride shifts of the image (1, 2, 4, 8, 16; default
   * `DEFAULT_SHIFTS`, 1): removes the grid its stride-4 layers print, at one network run per shift
   * and some of the texture (`./shift-average.ts`).
   */
  shifts?: number;
  /**
   * Mirror the image outward by this many pixels before the network and crop them off after
   * (default `DEFAULT_EDGE_PAD`, 8; 0: off): the frame a zero-padded network paints at its border
   * lands outside the picture (`./edge-pad.ts`).
   */
  edgePad?: number;
}

export interface UpscaleOptions extends RunOptions {
  /** The factor the model must have (checked against its output); default the model's own. */
  factor?: number;
  /**
   * Refuse outputs with more pixels than this: checked before any run when the factor is
   * known, else as soon as the first tile tells it (default: no limit).
   */
  maxOutputPixels?: number;
}

export class StyleModelCore {
  private readonly maxUntiledPixels: number;
  private readonly autoTileSize: number;
  /** The model's factor once known (given, or seen in an output). */
  private knownScale: number | undefined;

  constructor(private readonly run: RunNetwork, options: StyleModelCoreOptions = {}) {
    this.knownScale = options.scale;
    this.maxUntiledPixels = options.maxUntiledPixels ?? DEFAULT_MAX_UNTILED_PIXELS;
    this.autoTileSize = options.autoTileSize ?? DEFAULT_AUTO_TILE;
    if (options.scale !== undefined && !(Number.isInteger(options.scale) && options.scale >= 1)) {
      throw new RangeError(`scale must be a positive integer, got ${options.scale}`);
    }
    for (const [name, v] of [['maxUntiledPixels', this.maxUntiledPixels], ['autoTileSize', this.autoTileSize]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
  }

  /** The model's upscaling factor, when known. */
  get scale(): number | undefined {
    return this.knownScale;
  }

  /** Stylise an image (same size; float32 0–255 unless `outputType: 'uint8'`). */
  async stylize(image: RgbImage, options: StylizeOptions = {}): Promise<RgbImage> {
    checkImage(image);
    const strength = options.strength ?? 1;
    checkStrength(strength);
    const outputType = checkOutputType(options.outputType);
    // Shifts inside, the edge padding around them (edgePadded checks the pad).
    const run = edgePadded(shiftAveraged(this.run, options.shifts ?? DEFAULT_SHIFTS), options.edgePad ?? DEFAULT_EDGE_PAD);
    const tiling = this.tiling(image, 1, options);
    // s = 0 is the photo itself, whatever the colour option: no need to run the network.
    if (strength === 0) {
      options.signal?.throwIfAborted();
      return { data: outputType === 'uint8' ? Uint8Array.from(image.data) : Float32Array.from(image.data), width: image.width, height: image.height, channels: 3 };
    }
    const { width } = image;
    const sink = new OutputSink(outputType, (rows, y, count) => {
      // Colour and strength are per pixel, so finishing each strip gives the whole image's values.
      let strip: RgbImage = { data: rows, width, height: count, channels: 3 };
      const original: RgbImage = { data: image.data.subarray(y * width * 3, (y + count) * width * 3), width, height: count, channels: 3 };
      if (options.preserveColor) strip = color.preserveColor(strip, original);
      if (strength < 1) strip = blendStrength(strip, original, strength);
      return strip.data as Float32Array;
    });
    await runImage(run, image, sink, { scale: 1, tiling, signal: options.signal, onProgress: options.onProgress });
    return sink.image();
  }

  /** Upscale an image by the model's factor (float32 0–255 unless `outputType: 'uint8'`). */
  async upscale(image: RgbImage, options: UpscaleOptions = {}): Promise<RgbImage> {
    checkImage(image);
    const factor = options.factor ?? this.knownScale;
    if (factor !== undefined && !(Number.isInteger(factor) && factor >= 1)) throw new RangeError(`factor must be a positive integer, got ${factor}`);
    if (options.factor !== undefined && this.knownScale !== undefined && options.factor !== this.knownScale) {
      throw new Error(`this model upscales ×${this.knownScale}, not ×${options.factor}`);
    }
    const limit = options.maxOutputPixels;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`maxOutputPixels must be a positive integer, got ${limit}`);
    const checkOutput = (f: number) => limit !== undefined && checkPixelLimit(`the ×${f} output`, image.width * f, image.height * f, limit);
    if (factor !== undefined) checkOutput(factor);
    const sink = new OutputSink(checkOutputType(options.outputType), undefined, (_w, _h, scale) => checkOutput(scale));
    const out = await runImage(this.run, image, sink, {
      scale: factor,
      tiling: this.tiling(image, factor ?? ASSUMED_SR_FACTOR, options),
      signal: options.signal,
      onProgress: options.onProgress,
    });
    this.knownScale = out.scale;
    return sink.image();
  }

  /** The tiling for an image: the caller's tile size, or automatic by output pixels. */
  private tiling(image: RgbImage, scale: number, options: RunOptions): TilingOptions | undefined {
    const { tileSize, overlap } = options;
    if (tileSize === 0) return undefined;
    if (tileSize !== undefined) {
      if (!Number.isInteger(tileSize) || tileSize < 0) throw new RangeError(`tileSize must be a positive integer (or 0 for no tiling), got ${tileSize}`);
      checkTiling(tileSize, overlap);
      return { tileSize, overlap };
    }
    if (image.width * image.height * scale * scale <= this.maxUntiledPixels) return undefined;
    const auto = Math.max(MIN_TILE_SIZE, Math.floor(this.autoTileSize / scale));
    checkTiling(auto, overlap);
    return { tileSize: auto, overlap };
  }
}

function checkOutputType(t: OutputType | undefined): OutputType {
  const v = t ?? DEFAULT_OUTPUT_TYPE;
  if (v !== 'float32' && v !== 'uint8') throw new RangeError(`outputType must be 'float32' or 'uint8', got ${JSON.stringify(t)}`);
  return v;
}

/** Collects the rows {@link runImage} hands over into one interleaved image of the requested type. */
class OutputSink implements ImageSink {
  private data: Float32Array | Uint8Array | undefined;
  private width = 0;
  private height = 0;

  constructor(
    private readonly type: OutputType,
    private readonly finish: (rows: Float32Array, y: number, count: number) => Float32Array = (rows) => rows,
    private readonly check?: (width: number, height: number, scale: number) => void,
  ) {}

  begin(width: number, height: number, scale: number): void {
    this.check?.(width, height, scale);
    this.width = width;
    this.height = height;
    this.data = this.type === 'uint8' ? new Uint8Array(width * height * 3) : new Float32Array(width * height * 3);
  }

  rows(rows: Float32Array, y: number, count: number): void {
    const done = this.finish(rows, y, count);
    const at = y * this.width * 3;
    if (this.data instanceof Uint8Array) roundToBytes(done, this.data, at);
    else this.data!.set(done, at);
  }

  image(): RgbImage {
    if (!this.data) throw new Error('the network produced no output');
    return { data: this.data, width: this.width, height: this.height, channels: 3 };
  }
}

function checkImage(image: RgbImage): void {
  const { width, height } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (image.channels !== 3 || image.data.length !== width * height * 3) {
    throw new RangeError(`image data has ${image.data.length} values, expected ${width}×${height}×3`);
  }
}
