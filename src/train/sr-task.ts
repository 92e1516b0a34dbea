/**
 * Single-image super-resolution as a training task (Johnson et al. §4.2): the network f_W maps
 * the degraded low-resolution crop x to ŷ = f_W(x) at ×f the size, and is trained to minimise
 * ℓfeat(ŷ, y) at relu2_2 of the loss network (the paper's "perceptual" models) or the per-pixel
 * ℓpixel(ŷ, y) (its baseline), optionally plus λ_TV·ℓTV(ŷ), against the HR crop y.
 *
 * Both objectives go through {@link PerceptualLoss}: ℓfeat is its content term at relu2_2 and
 * ℓpixel its pixel term, so the SR and style trainers measure losses with the same code. With
 * ℓpixel the loss network is never run (no content layer has a non-zero weight).
 *
 * Validation uses a few fixed HR crops and their LR inputs, made once: the losses, and the
 * PSNR of the network's (8-bit) output on the benchmark protocol (Y channel, `factor` px
 * border), beside the PSNR of bicubic upscaling of the same inputs — the number a useful SR
 * network has to beat.
 */
import path from 'node:path';
import { noGrad, tidy, type Tensor, type MemoryFormat } from '../engine/index.js';
import type { TransformerNet } from '../models/transformer-net.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import type { SrDataset } from '../data/sr-dataset.js';
import { toBytes, saveImage, type RgbImage } from '../data/image.js';
import { chwToHwc, hwcToChw } from '../data/tensor-layout.js';
import { imresizeBicubic } from '../data/resize-matlab.js';
import { psnr } from '../metrics/metrics.js';
import type { TrainingTask } from './trainer.js';
import { inputTensor } from './input-tensor.js';

export interface SrBatchTensors {
  /** `[B, 3, crop/f, crop/f]`: the network input. */
  lr: Tensor;
  /** `[B, 3, crop, crop]`: the target. */
  hr: Tensor;
}

/** A fixed validation crop: the HR image and the LR input made from it. */
export interface SrValidationPair {
  name: string;
  hr: RgbImage;
  lr: RgbImage;
}

/** What the task needs of its data: {@link SrDataset}, or any source of batches with the same shape (tests). */
export type SrBatchSource = Pick<SrDataset, 'batchSize' | 'factor' | 'next' | 'position' | 'stats' | 'close'>;

export interface SrTaskOptions {
  model: TransformerNet;
  /** ℓfeat (content term at relu2_2) or ℓpixel (pixel term), plus TV. */
  loss: PerceptualLoss;
  dataset: SrBatchSource;
  validation?: readonly SrValidationPair[];
  /** Validation pairs saved as sample images (the first K; default 4). */
  sampleCount?: number;
  memoryFormat?: MemoryFormat;
  /** Device of the model: inputs are moved there (default 'cpu'). */
  device?: string;
}

/** The loss terms an SR objective can have, by the names they are logged under. */
type SrPart = 'feat' | 'pixel' | 'tv';

/**
 * MATLAB bicubic ×f on the 8-bit LR image: the baseline beside the network in the samples and
 * in the validation PSNR (same resizer as the benchmark's "Bicubic" row).
 */
function bicubic(lr: RgbImage, factor: number): RgbImage {
  return imresizeBicubic(lr, { scale: factor, roundEachPass: true });
}

export class SrTask implements TrainingTask<SrBatchTensors> {
  readonly name = 'train-sr';
  readonly model: TransformerNet;
  readonly batchSize: number;
  readonly factor: number;
  private readonly memoryFormat: MemoryFormat;
  private readonly parts: readonly SrPart[];
  /** Bicubic PSNR of each validation pair (fixed inputs: computed once). */
  private readonly bicubicPsnr: number[];

  constructor(private readonly o: SrTaskOptions) {
    this.model = o.model;
    this.batchSize = o.dataset.batchSize;
    this.factor = o.dataset.factor;
    this.memoryFormat = o.memoryFormat ?? 'contiguous';
    if (o.model.scale !== this.factor) throw new Error(`SrTask: the network upscales ×${o.model.scale}, the data is made for ×${this.factor}`);
    const cfg = o.loss.config;
    const parts: SrPart[] = [];
    if (o.loss.contentWeights.some((w) => w > 0)) parts.push('feat');
    if (cfg.pixelWeight > 0) parts.push('pixel');
    if (cfg.tvWeight > 0) parts.push('tv');
    // A style term has no target in SR, and no loss at all would train nothing.
    if (o.loss.needsStyle) throw new Error('SrTask: the loss has style weights; super-resolution uses ℓfeat or ℓpixel (plus TV) only');
    if (!parts.includes('feat') && !parts.includes('pixel')) throw new Error('SrTask: the loss has neither a feature nor a pixel term (both weights are 0)');
    this.parts = parts;
    for (const p of o.validation ?? []) {
      if (p.lr.width * this.factor !== p.hr.width || p.lr.height * this.factor !== p.hr.height) {
        throw new Error(`SrTask: validation pair ${p.name}: LR ${p.lr.width}×${p.lr.height} is not HR ${p.hr.width}×${p.hr.height} / ${this.factor}`);
      }
    }
    this.bicubicPsnr = (o.validation ?? []).map((p) => this.psnr(p.hr, bicubic(p.lr, this.factor)));
  }

  private toInput(data: Float32Array, shape: readonly number[]): Tensor {
    return inputTensor(data, shape, { memoryFormat: this.memoryFormat, device: this.o.device });
  }

  /** The benchmark's PSNR: Y channel, 8-bit, a border of `factor` px removed (see metrics/metrics.ts). */
  private psnr(hr: RgbImage, sr: RgbImage): number {
    return psnr(hr, sr, { border: this.factor, yChannel: true });
  }

  async nextBatch(signal?: AbortSignal): Promise<SrBatchTensors> {
    const b = await this.o.dataset.next({ signal });
    return { lr: this.toInput(b.lr, b.lrShape), hr: this.toInput(b.hr, b.hrShape) };
  }

  dataPosition() {
    return this.o.dataset.position;
  }

  /** Weighted terms by their logged names; `total` is their sum. */
  private terms(output: Tensor, hr: Tensor): { total: Tensor; parts: Record<string, Tensor> } {
    const t = this.o.loss.forward(output, hr);
    const named: Record<SrPart, Tensor> = { feat: t.content, pixel: t.pixel, tv: t.tv };
    return { total: t.total, parts: Object.fromEntries(this.parts.map((p) => [p, named[p]])) };
  }

  losses(batch: SrBatchTensors): { total: Tensor; parts: Record<string, Tensor> } {
    return this.terms(this.model.forward(batch.lr), batch.hr);
  }

  releaseBatch(batch: SrBatchTensors): void {
    batch.lr.dispose();
    batch.hr.dispose();
  }

  /** The network's output for one LR image (float RGB, 0–255), without recording gradients. */
  private run(lr: RgbImage): RgbImage {
    const out = noGrad(() =>
      tidy(() => this.model.forward(this.toInput(hwcToChw(lr), [1, 3, lr.height, lr.width])).contiguous().toFloat32Array()),
    );
    return chwToHwc(out, lr.height * this.factor, lr.width * this.factor);
  }

  async validate(signal?: AbortSignal): Promise<Record<string, number>> {
    const pairs = this.o.validation ?? [];
    if (pairs.length === 0) return {};
    const sums: Record<string, number> = {};
    for (let i = 0; i < pairs.length; i++) {
      signal?.throwIfAborted();
      const p = pairs[i]!;
      // One pair at a time: validation crops may differ in size (photos smaller than the patch).
      const values = noGrad(() =>
        tidy(() => {
          const lr = this.toInput(hwcToChw(p.lr), [1, 3, p.lr.height, p.lr.width]);
          const hr = this.toInput(hwcToChw(p.hr), [1, 3, p.hr.height, p.hr.width]);
          const out = this.model.forward(lr);
          const t = this.terms(out, hr);
          const sr = chwToHwc(out.contiguous().toFloat32Array(), p.hr.height, p.hr.width);
          const v: Record<string, number> = { total: t.total.item(), psnr: this.psnr(p.hr, sr) };
          for (const [k, x] of Object.entries(t.parts)) v[k] = x.item();
          return v;
        }),
      );
      values.psnrBicubic = this.bicubicPsnr[i]!;
      for (const [k, v] of Object.entries(values)) sums[k] = (sums[k] ?? 0) + v;
      await new Promise((r) => setImmediate(r)); // let Ctrl-C through
    }
    return Object.fromEntries(Object.entries(sums).map(([k, s]) => [k, s / pairs.length]));
  }

  /** The trainer's samples: {@link writeSamples} as `iter-NNNNNN-<i>.png`. */
  async saveSamples(dir: string, iteration: number): Promise<void> {
    await this.writeSamples(dir, `iter-${String(iteration).padStart(6, '0')}-`);
  }

  /**
   * Side-by-side samples `bicubic | network | HR` of the first validation pairs, as
   * `<dir>/<prefix><i>.png` — PNG, because JPEG artefacts would hide the very detail being
   * compared. Returns the paths.
   */
  async writeSamples(dir: string, prefix: string): Promise<string[]> {
    const pairs = (this.o.validation ?? []).slice(0, this.o.sampleCount ?? 4);
    const files: string[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i]!;
      const file = path.join(dir, `${prefix}${i}.png`);
      await saveImage(sideBySide([bicubic(p.lr, this.factor), this.run(p.lr), p.hr]), file);
      files.push(file);
    }
    return files;
  }

  dataWaitMs(): number {
    return this.o.dataset.stats().waitMs;
  }

  close(): void {
    this.o.dataset.close();
  }
}

/** Images of equal height next to each other, separated by a white gap of `gap` px. */
export function sideBySide(images: readonly RgbImage[], gap = 4): RgbImage {
  const height = images[0]?.height ?? 0;
  if (images.some((im) => im.height !== height)) throw new Error(`sideBySide: heights differ (${images.map((im) => im.height).join(', ')})`);
  const width = images.reduce((w, im) => w + im.width, 0) + gap * Math.max(0, images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const im of images) {
    const bytes = toBytes(im);
    for (let y = 0; y < height; y++) data.set(bytes.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + x0) * 3);
    x0 += im.width + gap;
  }
  return { data, width, height, channels: 3 };
}
