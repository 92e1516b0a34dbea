/**
 * A small writer of ONNX models (ModelProto bytes), enough for the feed-forward
 * transformation networks this project exports: float32 graphs with a few
 * initializers, symbolic batch/height/width, and the standard ai.onnx operators.
 *
 * Why not a general ONNX library: there is none for JavaScript that writes models, and the
 * networks are small enough that a builder which checks its own wiring (see
 * {@link OnnxGraphBuilder.toBytes}) is easier to trust than a port.
 *
 * Layer-level helpers (conv + weights, reflect pad, centre crop, …) live in `layers.ts`;
 * this file only knows values, initializers, nodes and attributes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Opset 17: Pad with `pads` as an input (≥ 11), Resize/Slice/Clip with tensor inputs (≥ 13), Shape with start/end (≥ 15). */
export const ONNX_OPSET = 17;
/** IR version 8 is what opset 17 was released with; onnxruntime ≥ 1.12 and onnxruntime-web read it. */
export const ONNX_IR_VERSION = 8;

/** A dimension: a fixed size, or a symbolic name (`'N'`, `'H'`, …) that stays dynamic. */
export type Dim = number | string;

/** A value flowing through the graph, referred to by its unique name. */
export type Value = string;

/**
 * An attribute whose ONNX type is spelled out. Plain JS values are usually enough (see
 * {@link AttrValue}); use these where a float attribute happens to hold an integer
 * (`Attr.float(1)`) or an ints attribute is empty.
 */
export type TypedAttr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string };

export const Attr = {
  int: (value: number): TypedAttr => ({ type: 'int', value }),
  ints: (value: readonly number[]): TypedAttr => ({ type: 'ints', value }),
  float: (value: number): TypedAttr => ({ type: 'float', value }),
  floats: (value: readonly number[]): TypedAttr => ({ type: 'floats', value }),
  string: (value: string): TypedAttr => ({ type: 'string', value }),
};

/**
 * Plain attribute values: a string is STRING, a number or number[] is INT/INTS unless the
 * attribute's name is one of the float attributes of the standard operators
 * ({@link FLOAT_ATTRIBUTES}) or a value is not an integer. ONNX checks attribute types
 * strictly (an `epsilon` stored as INT is rejected), hence the name table rather than a
 * guess from the number alone.
 */
export type AttrValue = number | readonly number[] | string | TypedAttr;

/** Float-typed attributes of the ai.onnx operators this project uses. */
export const FLOAT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'epsilon', 'momentum', 'alpha', 'beta', 'gamma', 'bias', 'lambd', 'extrapolation_value', 'cubic_coeff_a', 'value_float', 'value_floats',
]);

interface NodeRecord {
  opType: string;
  inputs: Value[];
  outputs: Value[];
  attributes: Record<string, AttrValue>;
  name: string;
}

interface InitializerRecord {
  name: string;
  dims: number[];
  dataType: 'float32' | 'int64';
  raw: Uint8Array;
}

interface IoRecord {
  name: string;
  dims: Dim[];
}

/** Builds one ONNX graph; see the module comment. {@link toBytes} may be called at any point, more than once. */
export class OnnxGraphBuilder {
  private readonly inputs: IoRecord[] = [];
  private readonly outputs: IoRecord[] = [];
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers = new Map<string, InitializerRecord>();
  /** Every name in use (inputs, initializers, node outputs): ONNX requires single assignment. */
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string, readonly docString = '') {}

  /** Declare a float32 graph input. */
  input(name: string, dims: readonly Dim[]): Value {
    this.claim(name);
    this.inputs.push({ name, dims: [...dims] });
    return name;
  }

  /** A float32 constant tensor stored in the model (weights, biases, scalars). The data are copied. */
  initializer(name: string, data: Float32Array | readonly number[], dims: readonly number[]): Value {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(name, values.length, dims);
    this.claim(name);
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    // ONNX raw_data is little-endian whatever the host is.
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    this.initializers.set(name, { name, dims: [...dims], dataType: 'float32', raw });
    return name;
  }

  /** An int64 constant (Pad's pads, Slice's starts/ends/axes, …). 1-D unless dims say otherwise. */
  int64Initializer(name: string, data: readonly (number | bigint)[], dims: readonly number[] = [data.length]): Value {
    checkSize(name, data.length, dims);
    this.claim(name);
    const raw = new Uint8Array(data.length * 8);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, BigInt(data[i]!), true);
    this.initializers.set(name, { name, dims: [...dims], dataType: 'int64', raw });
    return name;
  }

  /** A float32 constant with a generated name. */
  constant(data: Float32Array | readonly number[], dims: readonly number[], hint = 'const'): Value {
    return this.initializer(this.fresh(hint), data, dims);
  }

  /** A 0-d float32 constant (broadcasts against anything). */
  scalar(value: number, hint = 'scalar'): Value {
    return this.constant([value], [], hint);
  }

  /** An int64 constant with a generated name. */
  int64Constant(data: readonly (number | bigint)[], dims?: readonly number[], hint = 'const_i64'): Value {
    return this.int64Initializer(this.fresh(hint), data, dims);
  }

  /**
   * Add a node with one output and return that output's fresh name. Use `''` for an
   * omitted optional input (ONNX's convention, e.g. Resize's `roi`).
   */
  node(opType: string, inputs: readonly Value[], attributes: Record<string, AttrValue> = {}): Value {
    return this.nodeMulti(opType, inputs, attributes, 1)[0]!;
  }

  /** Add a node with several outputs (fresh names, in order). */
  nodeMulti(opType: string, inputs: readonly Value[], attributes: Record<string, AttrValue>, outputCount: number): Value[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) throw new Error(`${this.name}: ${opType} input "${input}" is not defined yet (inputs, initializers and earlier node outputs only)`);
    }
    const outputs: Value[] = [];
    for (let i = 0; i < outputCount; i++) outputs.push(this.claim(this.fresh(opType)));
    this.nodes.push({ opType, inputs: [...inputs], outputs, attributes: { ...attributes }, name: `${opType}_${this.nodes.length}` });
    return outputs;
  }

  /**
   * Declare `value` as a graph output named `name`. The producing node's output is renamed
   * (no Identity node), unless `value` is an input or initializer or is already an output.
   */
  output(value: Value, name: string, dims: readonly Dim[]): Value {
    if (!this.names.has(value)) throw new Error(`${this.name}: output value "${value}" is not defined`);
    if (name !== value) {
      const producer = this.nodes.find((n) => n.outputs.includes(value));
      const alreadyOutput = this.outputs.some((o) => o.name === value);
      if (producer && !alreadyOutput) {
        this.claim(name);
        producer.outputs = producer.outputs.map((o) => (o === value ? name : o));
        for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === value ? name : i));
        this.names.delete(value);
      } else {
        this.claim(name);
        this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], attributes: {}, name: `Identity_${this.nodes.length}` });
      }
    }
    this.outputs.push({ name, dims: [...dims] });
    return name;
  }

  /** Raw little-endian float32 data of an initializer (for tests and tools). */
  initializerData(name: string): Float32Array | undefined {
    const init = this.initializers.get(name);
    if (!init || init.dataType !== 'float32') return undefined;
    const view = new DataView(init.raw.buffer, init.raw.byteOffset, init.raw.byteLength);
    const out = new Float32Array(init.raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }

  /** Encode the model. Throws if the graph has no input/output. */
  toBytes(): Uint8Array {
    if (this.inputs.length === 0) throw new Error(`${this.name}: the graph has no input`);
    if (this.outputs.length === 0) throw new Error(`${this.name}: the graph has no output`);
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'perceptual',
      producerVersion: '0.1.0',
      docString: this.docString,
      graph: {
        name: this.name,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
        initializer: [...this.initializers.values()].map((t) => ({
          name: t.name,
          dims: t.dims,
          dataType: t.dataType === 'float32' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
          rawData: t.raw,
        })),
        node: this.nodes.map((n) => ({
          name: n.name,
          opType: n.opType,
          domain: '',
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attributes).map(([k, v]) => attribute(k, v, n.opType)),
        })),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** A name not used yet, `hint_k`. */
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): string {
    if (!name) throw new Error(`${this.name}: empty value name`);
    if (this.names.has(name)) throw new Error(`${this.name}: the name "${name}" is already used`);
    this.names.add(name);
    return name;
  }
}

function checkSize(name: string, length: number, dims: readonly number[]): void {
  for (const d of dims) if (!Number.isInteger(d) || d < 0) throw new Error(`initializer ${name}: bad dimension ${d} in [${dims.join(', ')}]`);
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) throw new Error(`initializer ${name}: ${length} values for shape [${dims.join(', ')}] (${expected} expected)`);
}

function valueInfo(io: IoRecord) {
  return {
    name: io.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: io.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function typed(name: string, value: AttrValue): TypedAttr {
  if (typeof value === 'object' && 'type' in value) return value as TypedAttr;
  if (typeof value === 'string') return { type: 'string', value };
  const isFloat = FLOAT_ATTRIBUTES.has(name);
  if (typeof value === 'number') return isFloat || !Number.isInteger(value) ? { type: 'float', value } : { type: 'int', value };
  const list = value as readonly number[];
  return isFloat || list.some((v) => !Number.isInteger(v)) ? { type: 'floats', value: list } : { type: 'ints', value: list };
}

function attribute(name: string, value: AttrValue, opType: string) {
  const t = typed(name, value);
  const A = onnx.AttributeProto.AttributeType;
  switch (t.type) {
    case 'int':
      return { name, type: A.INT, i: t.value };
    case 'ints':
      return { name, type: A.INTS, ints: [...t.value] };
    case 'float':
      return { name, type: A.FLOAT, f: t.value };
    case 'floats':
      return { name, type: A.FLOATS, floats: [...t.value] };
    case 'string':
      return { name, type: A.STRING, s: new TextEncoder().encode(t.value) };
    default:
      throw new Error(`${opType}: attribute ${name} has an unsupported value`);
  }
}
