/**
 * Style transfer as a training task (Johnson et al. §3.1/§4.1): the transformation network
 * f_W maps a content photo x to ŷ = f_W(x); the loss is λ_c·ℓfeat(ŷ, x) + λ_s·ℓstyle(ŷ, y_s)
 * + λ_TV·ℓTV(ŷ), with the style targets (Grams of the style image) computed once.
 */
import path from 'node:path';
import { noGrad, rand, tidy, type Tensor, type MemoryFormat } from '../engine/index.js';
import { drawPerturbation, perturbInput, stabilityLoss } from '../losses/stability-loss.js';
import { gridLoss } from '../losses/grid-loss.js';
import { reflectPad } from '../nn/layers/index.js';
import type { TransformerNet } from '../models/transformer-net.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import type { StyleDataset, ValidationSet } from '../data/style-dataset.js';
import { chwToHwc, hwcToChw } from '../data/tensor-layout.js';
import { saveImage } from '../data/image.js';
import type { TrainingTask } from './trainer.js';
import { inputTensor } from './input-tensor.js';

export interface StyleBatchTensors {
  x: Tensor;
}

export interface StyleTaskOptions {
  model: TransformerNet;
  loss: PerceptualLoss;
  dataset: StyleDataset;
  validation?: ValidationSet;
  /** Validation images saved as samples (the first K). */
  sampleCount?: number;
  memoryFormat?: MemoryFormat;
  /** Device of the model: inputs are moved there (default 'cpu'). */
  device?: string;
  /** Video stability term (src/losses/stability-loss.ts): λ, noise σ, largest shift in px; off when weight is 0 or absent. */
  stability?: { weight: number; noise: number; shift: number };
  /** Grid penalty (src/losses/grid-loss.ts): λ and the window, px; off when the weight is 0 or absent. */
  grid?: { weight: number; window: number };
  /**
   * Mirror every input outward by this many px and crop the output back (0 or absent: off), as
   * stylize runs the network (src/infer/core/edge-pad.ts). Why in training: a network whose zero-padded
   * border is the picture's learns to paint a frame there that lowers its style loss — measured on
   * starry-night's output of a validation photo, a 6-px frame took the style term from 4.9e5 to 1.6e5.
   */
  edgePad?: number;
}

export class StyleTask implements TrainingTask<StyleBatchTensors> {
  readonly name = 'train-style';
  readonly model: TransformerNet;
  readonly batchSize: number;
  private readonly memoryFormat: MemoryFormat;

  constructor(private readonly o: StyleTaskOptions) {
    this.model = o.model;
    this.batchSize = o.dataset.batchSize;
    this.memoryFormat = o.memoryFormat ?? 'contiguous';
  }

  /** The network as it is run everywhere: on the input mirrored by `edgePad` px, its output cropped back. */
  private forward(x: Tensor): Tensor {
    const p = this.o.edgePad ?? 0;
    if (p === 0) return this.model.forward(x);
    const [h, w] = x.shape.slice(2) as [number, number];
    return this.model.forward(reflectPad(x, p)).narrow(2, p, h).narrow(3, p, w);
  }

  private toInput(data: Float32Array, shape: readonly number[]): Tensor {
    return inputTensor(data, shape, { memoryFormat: this.memoryFormat, device: this.o.device });
  }

  async nextBatch(signal?: AbortSignal): Promise<StyleBatchTensors> {
    const b = await this.o.dataset.next({ signal });
    return { x: this.toInput(b.data, b.shape) };
  }

  dataPosition() {
    return this.o.dataset.position;
  }

  losses(batch: StyleBatchTensors): { total: Tensor; parts: Record<string, Tensor> } {
    const y = this.forward(batch.x);
    const terms = this.o.loss.forward(y, batch.x);
    let total = terms.total;
    const parts: Record<string, Tensor> = { content: terms.content, style: terms.style, tv: terms.tv };
    const st = this.o.stability;
    if (st && st.weight !== 0) {
      // Gupta et al.'s stability term: the network once more on a shifted, noisy copy of the batch.
      const p = drawPerturbation(() => rand([1]).item(), st.noise, st.shift);
      parts.stability = stabilityLoss(y, this.forward(perturbInput(batch.x, p)), p).mul(st.weight); // weighted, like the other parts
      total = total.add(parts.stability);
    }
    const g = this.o.grid;
    if (g && g.weight !== 0) {
      parts.grid = gridLoss(y, { window: g.window }).mul(g.weight);
      total = total.add(parts.grid);
    }
    return { total, parts };
  }

  releaseBatch(batch: StyleBatchTensors): void {
    batch.x.dispose();
  }

  async validate(): Promise<Record<string, number>> {
    const v = this.o.validation;
    if (!v) return {};
    const sums: Record<string, number> = {};
    let n = 0;
    for (const b of v.batches(this.batchSize)) {
      const values = noGrad(() =>
        tidy(() => {
          const x = this.toInput(b.data, b.shape);
          const t = this.o.loss.forward(this.forward(x), x);
          return { total: t.total.item(), content: t.content.item(), style: t.style.item(), tv: t.tv.item() };
        }),
      );
      const k = b.shape[0];
      for (const [key, val] of Object.entries(values)) sums[key] = (sums[key] ?? 0) + val * k;
      n += k;
      await new Promise((r) => setImmediate(r)); // let Ctrl-C through
    }
    return Object.fromEntries(Object.entries(sums).map(([k, s]) => [k, s / n]));
  }

  async saveSamples(dir: string, iteration: number): Promise<void> {
    const v = this.o.validation;
    if (!v) return;
    const count = Math.min(this.o.sampleCount ?? 4, v.length);
    const images = v.images.slice(0, count);
    for (let i = 0; i < images.length; i++) {
      const out = noGrad(() =>
        tidy(() => {
          const img = images[i]!;
          const x = this.toInput(hwcToChw(img), [1, 3, img.height, img.width]);
          return this.forward(x).toFloat32Array();
        }),
      );
      await saveImage(chwToHwc(out, images[i]!.height, images[i]!.width), path.join(dir, `iter-${String(iteration).padStart(6, '0')}-${i}.jpg`));
    }
  }

  dataWaitMs(): number {
    return this.o.dataset.stats().waitMs;
  }

  close(): void {
    this.o.dataset.close();
  }
}
