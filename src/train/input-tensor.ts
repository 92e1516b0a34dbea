/** A batch or image as the network's input tensor: on the run's device, in its memory format. */
import { tensor, type MemoryFormat, type Tensor } from '../engine/index.js';

export interface InputPlacement {
  memoryFormat?: MemoryFormat;
  /** 'cpu' (default), 'cuda', 'cuda:N'. */
  device?: string;
}

export function inputTensor(data: Float32Array, shape: readonly number[], placement: InputPlacement = {}): Tensor {
  let t = tensor(data, [...shape]);
  if (placement.device && placement.device !== 'cpu') {
    const moved = t.toDevice(placement.device);
    t.dispose();
    t = moved;
  }
  if ((placement.memoryFormat ?? 'contiguous') !== 'channels_last') return t;
  const cl = t.contiguous('channels_last');
  t.dispose();
  return cl;
}
