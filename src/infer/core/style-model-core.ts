/**
 * A feed-forward image network (style transfer or super-resolution) around an injected
 * {@link RunNetwork}: everything between "an RgbImage" and "a tensor the session runs" —
 * layout, automatic tiling, strength, preserve-colour — so Node and the browser share it.
 */
import * as color from '../../data/color.js';
import type { RgbImage } from '../../data/image.js';
import { chwToHwc, hwcToChw } from '../../data/tensor-layout.js';
import { runImage, type TilingOptions } from './run-image.js';
import { blendStrength, checkStrength } from './strength.js';
import type { ProgressCallback, RunNetwork } from './types.js';

/** Above this many output pixels an image is tiled unless the caller says otherwise. */
export const DEFAULT_MAX_UNTILED_PIXELS = 1536 * 1536;
/** Output-pixel side of the tiles chosen by automatic tiling. */
export const DEFAULT_AUTO_TILE = 1024;
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

export interface RunOptions {
  /** Input tile size: `0` never tiles, a number tiles images larger than it, omitted tiles large images automatically. */
  tileSize?: number;
  /** Overlap of neighbouring tiles, input pixels (default min(64, ⌊tile/4⌋)). */
  overlap?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface StylizeOptions extends RunOptions {
  /** 0–1: `s·stylised + (1 − s)·input` (default 1). */
  strength?: number;
  /** Keep the photo's colours: the stylised luminance with the original chroma (BT.601). */
  preserveColor?: boolean;
}

export interface UpscaleOptions extends RunOptions {
  /** The factor the model must have (checked against its output); default the model's own. */
  factor?: number;
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

  /** Stylise an image (float output, 0–255, same size). */
  async stylize(image: RgbImage, options: StylizeOptions = {}): Promise<RgbImage> {
    checkImage(image);
    const strength = options.strength ?? 1;
    checkStrength(strength);
    // s = 0 is the photo itself, whatever the colour option: no need to run the network.
    if (strength === 0) return { data: Float32Array.from(image.data), width: image.width, height: image.height, channels: 3 };
    const out = await runImage(this.run, hwcToChw(image), image.width, image.height, {
      scale: 1,
      tiling: this.tiling(image, 1, options),
      signal: options.signal,
      onProgress: options.onProgress,
    });
    let result = chwToHwc(out.data, out.height, out.width);
    if (options.preserveColor) result = color.preserveColor(result, image);
    if (strength < 1) result = blendStrength(result, image, strength);
    return result;
  }

  /** Upscale an image by the model's factor (float output, 0–255). */
  async upscale(image: RgbImage, options: UpscaleOptions = {}): Promise<RgbImage> {
    checkImage(image);
    const factor = options.factor ?? this.knownScale;
    if (factor !== undefined && !(Number.isInteger(factor) && factor >= 1)) throw new RangeError(`factor must be a positive integer, got ${factor}`);
    if (options.factor !== undefined && this.knownScale !== undefined && options.factor !== this.knownScale) {
      throw new Error(`this model upscales ×${this.knownScale}, not ×${options.factor}`);
    }
    const out = await runImage(this.run, hwcToChw(image), image.width, image.height, {
      scale: factor,
      tiling: this.tiling(image, factor ?? ASSUMED_SR_FACTOR, options),
      signal: options.signal,
      onProgress: options.onProgress,
    });
    this.knownScale = out.scale;
    return chwToHwc(out.data, out.height, out.width);
  }

  /** The tiling for an image: the caller's tile size, or automatic by output pixels. */
  private tiling(image: RgbImage, scale: number, options: RunOptions): TilingOptions | undefined {
    const { tileSize, overlap } = options;
    if (tileSize === 0) return undefined;
    if (tileSize !== undefined) {
      if (!(Number.isInteger(tileSize) && tileSize >= 1)) throw new RangeError(`tileSize must be a positive integer (or 0 for no tiling), got ${tileSize}`);
      return { tileSize, overlap };
    }
    if (image.width * image.height * scale * scale <= this.maxUntiledPixels) return undefined;
    return { tileSize: Math.max(16, Math.floor(this.autoTileSize / scale)), overlap };
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
