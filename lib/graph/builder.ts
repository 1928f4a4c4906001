/**
 * Builds a TensorFlow GraphDef node by node and wraps it in a SavedModel (saved_model.pb) that
 * tfjs-node's native session loader can open. Only what the training graphs need: typed
 * attributes, small constants, control dependencies.
 */
import { ProtoWriter } from './proto';

/** TensorFlow DataType enum values (tensorflow/core/framework/types.proto). */
export const DT = { float: 1, int32: 3, bool: 10, int64: 9, resource: 20 } as const;
export type DataType = (typeof DT)[keyof typeof DT];

/** The `T` attribute of an op on float32 tensors, the only kind the training graphs compute on. */
export const FLOAT = { T: { type: DT.float } } as const;

/** One output of a node, as GraphDef names it ("node" for output 0, "node:1" otherwise). */
export class Output {
  constructor(readonly node: string, readonly index = 0) {}
  toString(): string {
    return this.index === 0 ? this.node : `${this.node}:${this.index}`;
  }
  /** The name a session feeds or fetches ("node:0"). */
  get tensorName(): string {
    return `${this.node}:${this.index}`;
  }
}

export type AttrValue =
  | { type: DataType }
  | { i: number }
  | { f: number }
  | { b: boolean }
  | { s: string }
  | { ints: number[] }
  | { shape: number[] | null }
  | { tensor: ConstTensor };

export interface ConstTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  values: ArrayLike<number>;
}

interface NodeDef {
  name: string;
  op: string;
  inputs: string[];
  attrs: Record<string, AttrValue>;
}

function writeShape(w: ProtoWriter, shape: number[] | null): void {
  if (shape === null) {
    w.int(3, true); // unknown_rank
    return;
  }
  for (const size of shape) w.message(2, (dim) => dim.int(1, size));
}

function writeTensor(w: ProtoWriter, tensor: ConstTensor): void {
  w.int(1, tensor.dtype === 'float32' ? DT.float : DT.int32);
  w.message(2, (s) => writeShape(s, tensor.shape));
  const content = tensor.dtype === 'float32' ? Float32Array.from(tensor.values) : Int32Array.from(tensor.values);
  // tensor_content: the values as raw little-endian bytes
  w.bytes(4, new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
}

function writeAttr(w: ProtoWriter, value: AttrValue): void {
  if ('type' in value) w.int(6, value.type);
  else if ('i' in value) w.int(3, value.i);
  else if ('f' in value) w.float(4, value.f);
  else if ('b' in value) w.int(5, value.b);
  else if ('s' in value) w.string(2, value.s);
  else if ('ints' in value) w.message(1, (list) => list.packedInts(3, value.ints));
  else if ('shape' in value) w.message(7, (s) => writeShape(s, value.shape));
  else w.message(8, (t) => writeTensor(t, value.tensor));
}

export class GraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly names = new Set<string>();

  /** A fresh node name from `base` ("conv", "conv_1", ...). */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, '_').replace(/^[^A-Za-z0-9.]/, 'n');
    let name = clean;
    for (let i = 1; this.names.has(name); i++) name = `${clean}_${i}`;
    this.names.add(name);
    return name;
  }

  /**
   * Adds a node; returns its outputs 0..outputs-1. `control` lists nodes that must run first.
   */
  op(op: string, inputs: Output[], attrs: Record<string, AttrValue> = {}, options: { name?: string; outputs?: number; control?: Array<Output | string> } = {}): Output[] {
    const name = this.uniqueName(options.name ?? op);
    const controlInputs = (options.control ?? []).map((c) => `^${typeof c === 'string' ? c : c.node}`);
    this.nodes.push({ name, op, inputs: [...inputs.map(String), ...controlInputs], attrs });
    return Array.from({ length: options.outputs ?? 1 }, (_, i) => new Output(name, i));
  }

  /** Adds a single-output node. */
  op1(op: string, inputs: Output[], attrs: Record<string, AttrValue> = {}, options: { name?: string; control?: Array<Output | string> } = {}): Output {
    return this.op(op, inputs, attrs, { ...options, outputs: 1 })[0];
  }

  constFloat(values: number | number[], shape?: number[], name = 'const'): Output {
    return this.constant('float32', values, shape, name);
  }

  constInt(values: number | number[], shape?: number[], name = 'const'): Output {
    return this.constant('int32', values, shape, name);
  }

  private constant(dtype: ConstTensor['dtype'], values: number | number[], shape: number[] | undefined, name: string): Output {
    const list = typeof values === 'number' ? [values] : values;
    const tensor = { dtype, shape: shape ?? (typeof values === 'number' ? [] : [list.length]), values: list };
    return this.op1('Const', [], { dtype: { type: dtype === 'float32' ? DT.float : DT.int32 }, value: { tensor } }, { name });
  }

  /** x reshaped to `dims` (one of them may be -1). */
  reshape(x: Output, dims: number[]): Output {
    return this.op1('Reshape', [x, this.constInt(dims)], { ...FLOAT, Tshape: { type: DT.int32 } });
  }

  /** The int32 shape of float x, at run time. */
  shape(x: Output): Output {
    return this.op1('Shape', [x], { ...FLOAT, out_type: { type: DT.int32 } });
  }

  /** x (bool or int32) as float32: 1 for true. */
  toFloat(x: Output, from: DataType): Output {
    return this.op1('Cast', [x], { SrcT: { type: from }, DstT: { type: DT.float }, Truncate: { b: false } });
  }

  placeholder(name: string, dtype: DataType, shape: number[] | null): Output {
    return this.op1('Placeholder', [], { dtype: { type: dtype }, shape: { shape } }, { name });
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The serialized GraphDef. */
  graphDef(): Uint8Array {
    const w = new ProtoWriter();
    for (const node of this.nodes) {
      w.message(1, (n) => {
        n.string(1, node.name);
        n.string(2, node.op);
        for (const input of node.inputs) n.string(3, input);
        for (const [key, value] of Object.entries(node.attrs)) {
          n.message(5, (entry) => {
            entry.string(1, key);
            entry.message(2, (v) => writeAttr(v, value));
          });
        }
      });
    }
    // VersionDef.producer: an older graph version than the library's, so a TensorFlow C
    // library as old as tfjs-node's own download (2.9) accepts it too.
    w.message(4, (versions) => versions.int(1, 1000));
    return w.finish();
  }

  /** A SavedModel with one MetaGraphDef tagged "serve" holding this graph (no variables file). */
  savedModel(): Uint8Array {
    const graph = this.graphDef();
    const w = new ProtoWriter();
    w.int(1, 1); // saved_model_schema_version
    w.message(2, (meta) => {
      meta.message(1, (info) => info.string(4, 'serve')); // meta_info_def.tags
      meta.bytes(2, graph);
    });
    return w.finish();
  }
}
