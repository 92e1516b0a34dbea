/**
 * Temporally smoothed instance normalisation for onnxruntime (Node and the browser): a rewrite of
 * any exported style model (`model.onnx`) in which every `InstanceNormalization` node normalises
 * with a running average of the statistics over the frames of a video instead of the frame's own.
 *
 * For each instance-norm layer ℓ with C channels, frame t, per channel:
 *
 *   μ̄_t = α·μ̄_{t−1} + (1 − α)·μ_t        σ̄²_t = α·σ̄²_{t−1} + (1 − α)·σ²_t
 *   y = γ·(x − μ̄_t)/√(σ̄²_t + ε) + β
 *
 * where μ_t, σ²_t are the layer input's own mean and (biased) variance over H×W in this pass.
 * α = 0 is the original network exactly. The graph gets two more inputs and one more output:
 *
 * | name | shape | |
 * |---|---|---|
 * | `stats` (in) | `[S]` | μ̄_{t−1}, σ̄²_{t−1} of every layer in graph order, `[μ̄ (C), σ̄² (C)]` per layer |
 * | `momentum` (in) | `[1]` | α |
 * | `stats_out` (out) | `[N, S]` | μ̄_t, σ̄²_t per frame of the batch (same layout) |
 *
 * In a batch every frame blends with the same `stats`; feed one frame at a time for the exact
 * running average ({@link TemporalStats} keeps the state).
 *
 * Why rewrite the ONNX instead of exporting a second model: it works on every model.onnx
 * already shipped or exported, needs no libtorch, and costs nothing at build time.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const TEMPORAL_INPUTS = { stats: 'stats', momentum: 'momentum' } as const;
export const TEMPORAL_OUTPUT = 'stats_out';

export interface TemporalOnnx {
  bytes: Uint8Array;
  /** Channels of each instance-norm layer, in graph order. */
  channels: number[];
  /** Length of the stats vector: 2·Σ channels. */
  statsLength: number;
}

type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

function floatValues(t: TensorProto): Float32Array {
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(t.floatData ?? []);
}

/** Rewrite an exported style network (ONNX bytes) into its temporally smoothed form; `source` names it in errors. */
export function temporalOnnx(bytes: Uint8Array, source = '<bytes>'): TemporalOnnx {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new Error(`${source}: the ONNX model has no graph`);
  if ((graph.input ?? []).some((i) => i.name === TEMPORAL_INPUTS.stats)) throw new Error(`${source}: already has a '${TEMPORAL_INPUTS.stats}' input`);
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const used = new Set<string>([...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...inits.keys(), ...(graph.input ?? []).map((i) => i.name ?? '')]);
  let counter = 0;
  const fresh = (hint: string): string => {
    let n: string;
    do n = `temporal_${hint}_${counter++}`;
    while (used.has(n));
    used.add(n);
    return n;
  };
  const newInits: TensorProto[] = [];
  const i64 = (values: number[], hint: string): string => {
    const name = fresh(hint);
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    newInits.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw }));
    return name;
  };
  const f32 = (values: Float32Array | number[], dims: number[], hint: string): string => {
    const name = fresh(hint);
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    newInits.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw }));
    return name;
  };
  const nodes: NodeProto[] = [];
  const node = (opType: string, inputs: string[], attrs: Array<InstanceType<typeof onnx.AttributeProto>> = [], output?: string): string => {
    const out = output ?? fresh(opType.toLowerCase());
    nodes.push(onnx.NodeProto.create({ opType, domain: '', input: inputs, output: [out], attribute: attrs, name: fresh(`${opType}_node`) }));
    return out;
  };
  const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

  const alpha = TEMPORAL_INPUTS.momentum;
  const stats = TEMPORAL_INPUTS.stats;
  used.add(alpha);
  used.add(stats);
  let oneMinusAlpha: string | undefined;
  const channels: number[] = [];
  const perLayerOut: string[] = [];
  let offset = 0;
  const axes0 = i64([0], 'axes0');
  const reduceHW = [ints('axes', [2, 3]), int('keepdims', 1)];
  for (const n of graph.node ?? []) {
    if (n.opType !== 'InstanceNormalization' || (n.domain && n.domain !== 'ai.onnx')) {
      nodes.push(n);
      continue;
    }
    const [x, scaleName, biasName] = n.input ?? [];
    const scaleT = inits.get(scaleName ?? '');
    const biasT = inits.get(biasName ?? '');
    if (!x || !scaleT || !biasT) throw new Error(`${source}: InstanceNormalization ${n.name ?? ''} has no constant scale/bias; cannot smooth it`);
    const gamma = floatValues(scaleT);
    const beta = floatValues(biasT);
    const c = gamma.length;
    const eps = n.attribute?.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
    oneMinusAlpha ??= node('Sub', [f32([1], [1], 'one'), alpha]);
    const shape = i64([1, c, 1, 1], 'shape');
    const prev = (at: number) => node('Reshape', [node('Slice', [stats, i64([at], 'start'), i64([at + c], 'end'), axes0]), shape]);
    const muCur = node('ReduceMean', [x], reduceHW);
    const d = node('Sub', [x, muCur]);
    const varCur = node('ReduceMean', [node('Mul', [d, d])], reduceHW);
    const mu = node('Add', [node('Mul', [alpha, prev(offset)]), node('Mul', [oneMinusAlpha, muCur])]);
    const v = node('Add', [node('Mul', [alpha, prev(offset + c)]), node('Mul', [oneMinusAlpha, varCur])]);
    // y = x·k + (β − μ̄·k), k = γ/√(σ̄² + ε): two passes over the activation instead of four.
    const k = node('Div', [f32(gamma, [c, 1, 1], 'gamma'), node('Sqrt', [node('Add', [v, f32([eps], [1], 'eps')])])]);
    const shift = node('Sub', [f32(beta, [c, 1, 1], 'beta'), node('Mul', [mu, k])]);
    node('Add', [node('Mul', [x, k]), shift], [], n.output![0]!);
    const flat = i64([-1, c], 'flat');
    perLayerOut.push(node('Reshape', [mu, flat]), node('Reshape', [v, flat]));
    channels.push(c);
    offset += 2 * c;
  }
  if (channels.length === 0) throw new Error(`${source}: the model has no InstanceNormalization layer: there are no statistics to smooth`);
  node('Concat', perLayerOut, [int('axis', 1)], TEMPORAL_OUTPUT);
  graph.node = nodes;
  // The norms' own scale/bias now live in the new γ/β constants: drop the originals nothing reads.
  const read = new Set(nodes.flatMap((m) => m.input ?? []));
  graph.initializer = [...(graph.initializer ?? []).filter((t) => read.has(t.name ?? '')), ...newInits];
  const floatInput = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
  graph.input = [...(graph.input ?? []), floatInput(stats, [offset]), floatInput(alpha, [1])];
  const batchDim = graph.input[0]?.type?.tensorType?.shape?.dim?.[0];
  graph.output = [...(graph.output ?? []), floatInput(TEMPORAL_OUTPUT, [batchDim?.dimParam || (batchDim?.dimValue as number | undefined) || 'N', offset])];
  return { bytes: onnx.ModelProto.encode(model).finish(), channels, statsLength: offset };
}

/** Running instance-norm statistics of one video: the state between frames. */
export class TemporalStats {
  private state: Float32Array | undefined;

  /**
   * @param momentum α, the weight of the past (0: per-frame normalisation; → 1: frozen
   *   statistics). See {@link DEFAULT_STATS_MOMENTUM}.
   */
  constructor(readonly statsLength: number, readonly momentum: number = DEFAULT_STATS_MOMENTUM) {
    if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`momentum must be in [0, 1), got ${momentum}`);
  }

  /** What to feed: the previous state (zeros before the first frame) and α (0 for the first frame). */
  feeds(): { stats: Float32Array; momentum: Float32Array } {
    return { stats: this.state ?? new Float32Array(this.statsLength), momentum: Float32Array.of(this.state ? this.momentum : 0) };
  }

  /** Take the new state from a run's `stats_out` (`[N, S]`: the last frame's row). */
  update(statsOut: Float32Array): void {
    if (statsOut.length % this.statsLength !== 0 || statsOut.length === 0) throw new Error(`stats_out has ${statsOut.length} values, expected a multiple of ${this.statsLength}`);
    this.state = statsOut.slice(statsOut.length - this.statsLength);
  }

  reset(): void {
    this.state = undefined;
  }
}

/**
 * α of the running average: the statistics' memory is ≈ 1/(1 − α) frames (10 at 0.9). Chosen on
 * the flicker clips (`bench/flicker.ts`): flicker falls with α while a scene change still
 * settles within a few tenths of a second at 25–30 frames/s.
 */
export const DEFAULT_STATS_MOMENTUM = 0.9;
