/**
 * Training checkpoints: model weights, Adam state, iteration, data-loader position and the run
 * configuration in one safetensors file, written atomically (temp file + rename), so a crash
 * or a full disk mid-write never destroys the previous checkpoint, and --resume continues
 * exactly (same weights, same optimizer moments, same next batch).
 */
import { tensor, type Tensor, type Adam, type AdamParamState } from '../engine/index.js';
import { readSafetensors, writeSafetensors, type NamedTensor, type NamedTensors } from '../nn/safetensors.js';
import { toNamedTensor as toNamed } from '../nn/module.js';
import type { LoaderPosition } from '../data/batch-loader.js';

export interface CheckpointState {
  iteration: number;
  position: LoaderPosition;
  /** Seconds of training so far (summed over resumed runs). */
  elapsed: number;
  config: Record<string, unknown>;
  /** Best/last validation figures etc. */
  extra?: Record<string, unknown>;
}

export interface StatefulModel {
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>, options?: { strict?: boolean }): void;
}

function fromNamed(n: NamedTensor): Tensor {
  const data = n.data instanceof Float32Array ? n.data : Float32Array.from(n.data as ArrayLike<number>, Number);
  return tensor(data, n.shape);
}

export async function saveCheckpoint(file: string, model: StatefulModel, optimizer: Adam, state: CheckpointState): Promise<void> {
  const tensors: NamedTensors = new Map();
  for (const [k, v] of model.stateDict()) tensors.set(`model.${k}`, toNamed(v));
  const steps: number[] = [];
  optimizer.getState().forEach((s, i) => {
    steps.push(s?.step ?? 0);
    if (!s) return;
    tensors.set(`optim.${i}.exp_avg`, toNamed(s.expAvg));
    tensors.set(`optim.${i}.exp_avg_sq`, toNamed(s.expAvgSq));
    s.expAvg.dispose();
    s.expAvgSq.dispose();
  });
  await writeSafetensors(file, tensors, {
    format: 'perceptual-checkpoint-1',
    state: JSON.stringify({ ...state, optimizer: { lr: optimizer.lr, steps } }),
  });
}

export interface LoadedCheckpoint extends CheckpointState {
  model: Map<string, Tensor>;
  optimizer: { lr: number; state: Array<AdamParamState | null> };
}

export async function loadCheckpoint(file: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format !== 'perceptual-checkpoint-1' || !metadata.state) {
    throw new Error(`${file} is not a perceptual training checkpoint (no checkpoint metadata); to start from trained weights use --init instead of --resume`);
  }
  const state = JSON.parse(metadata.state) as CheckpointState & { optimizer: { lr: number; steps: number[] } };
  const model = new Map<string, Tensor>();
  for (const [k, v] of tensors) if (k.startsWith('model.')) model.set(k.slice(6), fromNamed(v));
  const optimState = state.optimizer.steps.map((step, i) => {
    const a = tensors.get(`optim.${i}.exp_avg`), b = tensors.get(`optim.${i}.exp_avg_sq`);
    if (!a || !b) return null;
    return { step, expAvg: fromNamed(a), expAvgSq: fromNamed(b) };
  });
  return { ...state, model, optimizer: { lr: state.optimizer.lr, state: optimState } };
}
