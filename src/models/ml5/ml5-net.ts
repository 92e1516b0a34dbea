/**
 * The ml5.js style-transfer network on the libtorch engine: the same computation as the ONNX
 * graph of network.ts (TF 'SAME' padding, transposed convs cropped to 2h, instance norm with
 * ε = 1e-3, 150·tanh + 127.5, clip, crop to the input size), so that an imported ml5 style
 * can run on the fastest path this machine has — bf16 autocast + channels_last, where the CPU
 * has native bf16 — and not only on onnxruntime's float32.
 *
 * Parameters are the importer's canonical tensors (`conv1.weight`, `conv1.norm.weight`, …),
 * so the state dict of this module is exactly `importMl5(folder).tensors`.
 */
import { F, tensor, type Tensor } from '../../engine/index.js';
import { Module } from '../../nn/module.js';
import { ML5_INSTANCE_NORM_EPSILON, ML5_LAYERS, type Ml5Layer, type NamedTensor } from './network.js';

/** TF 'SAME' padding of one axis: [before, after] for size n, kernel k, stride s. */
export function tfSamePad(n: number, k: number, s: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

class Ml5Norm extends Module {
  constructor(weight: NamedTensor, bias: NamedTensor) {
    super();
    this.registerParameter('weight', tensor(weight.data, weight.shape));
    this.registerParameter('bias', tensor(bias.data, bias.shape));
  }
  forward(x: Tensor): Tensor {
    return F.instanceNorm(x, { weight: this.param('weight'), bias: this.param('bias'), eps: ML5_INSTANCE_NORM_EPSILON, useInputStats: true });
  }
}

/** One conv (or 3×3 stride-2 transposed conv) + instance norm [+ ReLU], as ml5 chains them. */
class Ml5ConvLayer extends Module {
  readonly norm: Ml5Norm;
  private readonly kernel: number;

  constructor(
    readonly spec: Ml5Layer,
    tensors: ReadonlyMap<string, NamedTensor>,
  ) {
    super();
    const get = (n: string): NamedTensor => {
      const t = tensors.get(`${spec.name}.${n}`);
      if (!t) throw new Error(`ml5 network: tensor ${spec.name}.${n} is missing`);
      return t;
    };
    const w = get('weight');
    this.kernel = w.shape[2]!;
    this.registerParameter('weight', tensor(w.data, w.shape));
    this.norm = this.registerModule('norm', new Ml5Norm(get('norm.weight'), get('norm.bias')));
  }

  forward(x: Tensor): Tensor {
    const k = this.kernel;
    const s = this.spec.stride;
    let y: Tensor;
    if (this.spec.kind === 'conv') {
      const [h, w] = x.shape.slice(2) as [number, number];
      const [t, b] = tfSamePad(h, k, s);
      const [l, r] = tfSamePad(w, k, s);
      // Symmetric pads go into the convolution itself; TF's asymmetric ones need a Pad first.
      y = t === b && l === r && t === l
        ? F.conv2d(x, this.param('weight'), null, { stride: s, padding: t })
        : F.conv2d(F.pad(x, [l, r, t, b]), this.param('weight'), null, { stride: s });
    } else {
      // conv2d_transpose(…, [2h, 2w], 2, 'same'): the full 2h + 1 output without its last row/column.
      const [h, w] = x.shape.slice(2) as [number, number];
      y = F.convTranspose2d(x, this.param('weight'), null, { stride: s }).narrow(2, 0, 2 * h).narrow(3, 0, 2 * w);
    }
    const n = this.norm.forward(y);
    return this.spec.relu ? n.relu() : n;
  }
}

/** ml5's residual block: conv + IN + ReLU, conv + IN, plus the input (no ReLU after the sum). */
class Ml5Block extends Module {
  constructor(
    readonly conv1: Ml5ConvLayer,
    readonly conv2: Ml5ConvLayer,
  ) {
    super();
    this.registerModule('conv1', conv1);
    this.registerModule('conv2', conv2);
  }
  forward(x: Tensor): Tensor {
    return this.conv2.forward(this.conv1.forward(x)).add(x);
  }
}

export class Ml5Net extends Module {
  private readonly head: Ml5ConvLayer[];
  private readonly blocks: Ml5Block[] = [];
  private readonly tail: Ml5ConvLayer[];

  /** From the importer's canonical tensors (`importMl5(folder).tensors`); state-dict keys are theirs. */
  constructor(tensors: ReadonlyMap<string, NamedTensor>) {
    super();
    const layer = (spec: Ml5Layer) => new Ml5ConvLayer(spec, tensors);
    const byName = new Map(ML5_LAYERS.map((l) => [l.name, l]));
    const top = (name: string) => this.registerModule(name, layer(byName.get(name)!));
    this.head = ['conv1', 'conv2', 'conv3'].map(top);
    for (let b = 1; byName.has(`res${b}.conv1`); b++) {
      this.blocks.push(this.registerModule(`res${b}`, new Ml5Block(layer(byName.get(`res${b}.conv1`)!), layer(byName.get(`res${b}.conv2`)!))));
    }
    this.tail = ['deconv1', 'deconv2', 'conv4'].map(top);
  }

  /** `[N, 3, H, W]` RGB 0–255 → the stylised image, same size, 0–255. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`Ml5Net: expected a [N, 3, H, W] batch, got [${x.shape.join(', ')}]`);
    const [h, w] = x.shape.slice(2) as [number, number];
    let y = x;
    for (const m of [...this.head, ...this.blocks, ...this.tail]) y = m.forward(y);
    y = y.tanh().mul(150).add(255 / 2).clamp(0, 255);
    // Sizes that are not multiples of 4 come out larger (as in ml5); keep the top-left H×W.
    return y.shape[2] === h && y.shape[3] === w ? y : y.narrow(2, 0, h).narrow(3, 0, w);
  }
}
