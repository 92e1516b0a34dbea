/**
 * A transformation network run by the libtorch engine behind the platform-free
 * {@link StyleModelCore} (same pre/post-processing and tiling as the ONNX path). It adds what
 * only the engine can do: instance-norm statistics shared across tiles — recorded once on the
 * whole image (downscaled when large) — so tiles normalise identically and no seams appear.
 */
import { tensor, tidy, noGrad, autocast, defaultPrecision, resolveDevice, type Precision } from '../engine/index.js';
import { InstanceNorm2d, InstanceNormStats, withInstanceNormStats } from '../nn/layers/instance-norm2d.js';
import { loadNetwork } from '../models/model-folder.js';
import type { TransformerNet } from '../models/transformer-net.js';
import { hwcToChw } from '../data/tensor-layout.js';
import { resizeLongerSide } from '../data/tensor-image.js';
import type { RgbImage } from '../data/image.js';
import { StyleModelCore, DEFAULT_MAX_UNTILED_PIXELS, type StyleModelCoreOptions, type StylizeOptions, type UpscaleOptions } from './core/index.js';
import type { TensorData } from './core/types.js';

export interface EngineModelOptions extends StyleModelCoreOptions {
  precision?: Precision;
  device?: string;
  /** Longer side of the whole-image pass that records instance-norm statistics for tiling (default 1024). */
  statsSide?: number;
}

export class EngineStyleModel extends StyleModelCore {
  readonly runtime = 'engine';
  readonly precision: Precision;
  private readonly norms: InstanceNorm2d[];
  private readonly statsSide: number;
  private readonly maxUntiled: number;
  private readonly coreOptions: StyleModelCoreOptions;

  constructor(readonly net: TransformerNet, options: EngineModelOptions = {}) {
    const device = resolveDevice(options.device);
    const precision = options.precision ?? defaultPrecision(device);
    const channelsLast = precision === 'bf16';
    const coreOptions = { scale: net.scale, ...options };
    super((input, dims) => Promise.resolve(runNet(net, input, dims, precision, channelsLast)), coreOptions);
    this.coreOptions = coreOptions;
    this.precision = precision;
    net.eval();
    if (device !== 'cpu') net.toDevice(device);
    if (channelsLast) net.toMemoryFormat('channels_last');
    this.norms = net.namedModules().map(([, m]) => m).filter((m): m is InstanceNorm2d => m instanceof InstanceNorm2d);
    this.statsSide = options.statsSide ?? 1024;
    this.maxUntiled = options.maxUntiledPixels ?? DEFAULT_MAX_UNTILED_PIXELS;
  }

  /** Load `weights.safetensors` whose metadata holds the network config (as the training driver writes it); non-finite weights are refused. */
  static async load(file: string, options: EngineModelOptions = {}): Promise<EngineStyleModel> {
    return new EngineStyleModel(await loadNetwork(file), options);
  }

  override async stylize(image: RgbImage, options: StylizeOptions = {}): Promise<RgbImage> {
    return this.withSharedStats(image, options.tileSize, (core) => (core ? core.stylize(image, options) : super.stylize(image, options)));
  }

  override async upscale(image: RgbImage, options: UpscaleOptions = {}): Promise<RgbImage> {
    return this.withSharedStats(image, options.tileSize, (core) => (core ? core.upscale(image, options) : super.upscale(image, options)));
  }

  private willTile(image: RgbImage, tileSize: number | undefined): boolean {
    if (tileSize === 0) return false;
    if (tileSize !== undefined) return image.width > tileSize || image.height > tileSize;
    const s = this.net.scale;
    return image.width * image.height * s * s > this.maxUntiled;
  }

  /**
   * Run `fn` with a core whose network runs see this call's own instance-norm statistics (or
   * with none when the image is not tiled or the network has no instance norm),
   * recorded once on the whole image: nothing is stored on the network, so concurrent calls on
   * one model do not interfere (each forward pass is synchronous; the statistics are passed in).
   */
  private async withSharedStats<T>(image: RgbImage, tileSize: number | undefined, fn: (core: StyleModelCore | undefined) => Promise<T>): Promise<T> {
    if (this.norms.length === 0 || !this.willTile(image, tileSize)) return fn(undefined);
    const small = Math.max(image.width, image.height) > this.statsSide ? await resizeLongerSide(image, this.statsSide) : image;
    const stats = new InstanceNormStats();
    try {
      withInstanceNormStats('record', stats, () => runNet(this.net, hwcToChw(small), [1, 3, small.height, small.width], this.precision, this.precision === 'bf16'));
      const core = new StyleModelCore(
        (input, dims) => Promise.resolve(withInstanceNormStats('shared', stats, () => runNet(this.net, input, dims, this.precision, this.precision === 'bf16'))),
        this.coreOptions,
      );
      return await fn(core);
    } finally {
      stats.dispose();
    }
  }

  dispose(): void {
    this.net.dispose();
  }
}

function runNet(net: TransformerNet, input: Float32Array, dims: readonly number[], precision: Precision, channelsLast: boolean): TensorData {
  return noGrad(() =>
    tidy(() => {
      let x = tensor(input, [...dims]);
      if (channelsLast) x = x.contiguous('channels_last');
      const y = autocast(precision, () => net.forward(x)).to('float32');
      return { data: y.toFloat32Array(), dims: y.shape };
    }),
  );
}
