/**
 * Training checkpoints: model weights, Adam state, iteration, data-loader position and the run
 * configuration in one safetensors file, written atomically (temp file + rename), so a crash
 * or a full disk mid-write never destroys the previous checkpoint, and --resume continues
 * exactly (same weights, same optimizer moments, same next batch).
 */
import { tensor, type Tensor, type Adam, type AdamParamState } from '../engine/index.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type NamedTensor, type NamedTensors } from '../nn/safetensors.js';
import { checkFiniteWeights } from '../models/model-folder.js';
import { FileFieldError, expectInteger, expectNumber, expectObject, parseJsonFile } from '../util/errors.js';
import { toNamedTensor as toNamed } from '../nn/module.js';
import type { LoaderPosition } from '../data/batch-loader.js';

export const CHECKPOINT_FORMAT = 'perceptual-checkpoint-1';

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
    format: CHECKPOINT_FORMAT,
    state: JSON.stringify({ ...state, optimizer: { lr: optimizer.lr, steps } }),
  });
}

export interface LoadedCheckpoint extends CheckpointState {
  model: Map<string, Tensor>;
  optimizer: { lr: number; state: Array<AdamParamState | null> };
}

/** The JSON state of a checkpoint, with the optimizer's lr and step counts. */
export type CheckpointStateWithOptimizer = CheckpointState & { optimizer: { lr: number; steps: number[] } };

/** Check the `state` metadata of a checkpoint: every field the trainer relies on, named in the error. */
export function parseCheckpointState(file: string, metadata: Record<string, string>): CheckpointStateWithOptimizer {
  if (metadata.format !== CHECKPOINT_FORMAT || metadata.state === undefined) {
    throw new FileFieldError(file, 'metadata.format', `not a perceptual training checkpoint (expected ${CHECKPOINT_FORMAT}); to fine-tune from a model's weights, pass them as option 'init', not 'resume'`);
  }
  const raw = parseJsonFile(`${file} (metadata.state)`, metadata.state, 'the checkpoint state (a JSON object)');
  const st = expectObject(file, 'metadata.state', raw);
  const field = (f: string) => `metadata.state.${f}`;
  const iteration = expectInteger(file, field('iteration'), st.iteration, 0);
  const pos = expectObject(file, field('position'), st.position);
  const position = { ...pos, epoch: expectInteger(file, field('position.epoch'), pos.epoch, 0), index: expectInteger(file, field('position.index'), pos.index, 0) } as LoaderPosition;
  const elapsed = expectNumber(file, field('elapsed'), st.elapsed, 0);
  const config = expectObject(file, field('config'), st.config);
  const opt = expectObject(file, field('optimizer'), st.optimizer);
  const lr = expectNumber(file, field('optimizer.lr'), opt.lr, 0);
  if (lr === 0) throw new FileFieldError(file, field('optimizer.lr'), 'expected a learning rate > 0, got 0');
  if (!Array.isArray(opt.steps)) throw new FileFieldError(file, field('optimizer.steps'), `expected an array of step counts, got ${JSON.stringify(opt.steps)}`);
  const steps = opt.steps.map((n, i) => expectInteger(file, field(`optimizer.steps[${i}]`), n, 0));
  const extra = st.extra === undefined ? undefined : expectObject(file, field('extra'), st.extra);
  return { iteration, position, elapsed, config, ...(extra ? { extra } : {}), optimizer: { lr, steps } };
}

/** The state of a checkpoint without loading its tensors (what a resume checks before building anything). */
export async function readCheckpointState(file: string): Promise<CheckpointStateWithOptimizer> {
  return parseCheckpointState(file, (await readSafetensorsHeader(file)).metadata);
}

export async function loadCheckpoint(file: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(file);
  const state = parseCheckpointState(file, metadata);
  checkFiniteWeights(file, tensors);
  const model = new Map<string, Tensor>();
  for (const [k, v] of tensors) if (k.startsWith('model.')) model.set(k.slice(6), fromNamed(v));
  const optimState = state.optimizer.steps.map((step, i) => {
    const a = tensors.get(`optim.${i}.exp_avg`), b = tensors.get(`optim.${i}.exp_avg_sq`);
    if (!a || !b) return null;
    return { step, expAvg: fromNamed(a), expAvgSq: fromNamed(b) };
  });
  return { ...state, model, optimizer: { lr: state.optimizer.lr, state: optimState } };
}
