/** Layers applied in order; children are named '0', '1', … as in PyTorch's `nn.Sequential`. */
import { isGradEnabled, type Tensor } from '../../engine/index.js';
import { Module, type Layer } from '../module.js';

export class Sequential extends Module {
  readonly #layers: Layer[] = [];

  constructor(...layers: Layer[]) {
    super();
    for (const l of layers) this.append(l);
  }

  append<L extends Layer>(layer: L): L {
    this.registerModule(String(this.#layers.length), layer);
    this.#layers.push(layer);
    return layer;
  }

  get length(): number {
    return this.#layers.length;
  }

  at(i: number): Layer {
    const l = this.#layers[i];
    if (!l) throw new RangeError(`Sequential: no layer ${i} (${this.#layers.length} layers)`);
    return l;
  }

  [Symbol.iterator](): Iterator<Layer> {
    return this.#layers[Symbol.iterator]();
  }

  /** Intermediates belong to the caller's tidy scope, like any other op's results. */
  forward(x: Tensor): Tensor {
    // Without autograd nothing needs an intermediate once the next layer has it: free each as
    // we go, so inference holds ~2 activations instead of all of them (1024² paper net:
    // 2.9 GB → well under 1 GB). With autograd the graph keeps them alive anyway.
    const freeAsWeGo = !isGradEnabled();
    let y = x;
    for (const l of this.#layers) {
      const next = l.forward(y);
      if (freeAsWeGo && y !== x && next !== y) y.dispose();
      y = next;
    }
    return y;
  }
}
