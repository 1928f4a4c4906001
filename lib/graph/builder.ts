/**
 * Builds a TensorFlow GraphDef node by node and wraps it in a SavedModel (saved_model.pb) that
 * tfjs-node's native session loader can open. Only what the training graphs need: typed
 * attributes, small constants, control dependencies.
 */
import { ProtoWriter } from './proto';

/** TensorFlow DataType enum values (tensorflow/core/framework/types.proto). */
export const DataType = { float: 1, int32: 3, bool: 10, int64: 9, resource: 20 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/**
 * The attributes of an op on float32 tensors (`T` = float), the only kind the training graphs
 * compute on: `graph.op1('Relu', [input], FLOAT_OP)`, or spread with the op's own attributes.
 */
export const FLOAT_OP = { T: { type: DataType.float } } as const;

/** One output of a node, as GraphDef names it ("node" for output 0, "node:1" otherwise). */
export class Output {
  constructor(
    readonly node: string,
    readonly index = 0,
  ) {}
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
  | { types: DataType[] }
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

function writeShape(writer: ProtoWriter, shape: number[] | null): void {
  if (shape === null) {
    writer.int(3, true); // unknown_rank
    return;
  }
  for (const size of shape) writer.message(2, (dim) => dim.int(1, size));
}

function writeTensor(writer: ProtoWriter, tensor: ConstTensor): void {
  writer.int(1, tensor.dtype === 'float32' ? DataType.float : DataType.int32);
  writer.message(2, (shapeWriter) => writeShape(shapeWriter, tensor.shape));
  const content = tensor.dtype === 'float32' ? Float32Array.from(tensor.values) : Int32Array.from(tensor.values);
  if (content.length > 1 && content.every((value) => Object.is(value, content[0]))) {
    // One value everywhere (a gradient's full-size fill): TensorFlow repeats a single float_val or
    // int_val over the shape, so the graph holds 4 bytes instead of the whole array.
    if (tensor.dtype === 'float32') writer.float(5, content[0]);
    else writer.int(7, content[0]);
    return;
  }
  // tensor_content: the values as raw little-endian bytes
  writer.bytes(4, new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
}

function writeAttr(writer: ProtoWriter, value: AttrValue): void {
  if ('type' in value) writer.int(6, value.type);
  else if ('i' in value) writer.int(3, value.i);
  else if ('f' in value) writer.float(4, value.f);
  else if ('b' in value) writer.int(5, value.b);
  else if ('s' in value) writer.string(2, value.s);
  else if ('ints' in value) writer.message(1, (list) => list.packedInts(3, value.ints));
  else if ('types' in value) writer.message(1, (list) => list.packedInts(6, value.types));
  else if ('shape' in value) writer.message(7, (shapeWriter) => writeShape(shapeWriter, value.shape));
  else writer.message(8, (tensorWriter) => writeTensor(tensorWriter, value.tensor));
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
  op(
    op: string,
    inputs: Output[],
    attrs: Record<string, AttrValue> = {},
    options: { name?: string; outputs?: number; control?: Array<Output | string> } = {},
  ): Output[] {
    const name = this.uniqueName(options.name ?? op);
    const controlInputs = (options.control ?? []).map((first) => `^${typeof first === 'string' ? first : first.node}`);
    this.nodes.push({ name, op, inputs: [...inputs.map(String), ...controlInputs], attrs });
    return Array.from({ length: options.outputs ?? 1 }, (_, i) => new Output(name, i));
  }

  /** Adds a single-output node. */
  op1(
    op: string,
    inputs: Output[],
    attrs: Record<string, AttrValue> = {},
    options: { name?: string; control?: Array<Output | string> } = {},
  ): Output {
    return this.op(op, inputs, attrs, { ...options, outputs: 1 })[0];
  }

  constFloat(values: number | number[], shape?: number[], name = 'const'): Output {
    return this.constant('float32', values, shape, name);
  }

  constInt(values: number | number[], shape?: number[], name = 'const'): Output {
    return this.constant('int32', values, shape, name);
  }

  private constant(
    dtype: ConstTensor['dtype'],
    values: number | number[],
    shape: number[] | undefined,
    name: string,
  ): Output {
    const list = typeof values === 'number' ? [values] : values;
    return this.constTensor(
      { dtype, shape: shape ?? (typeof values === 'number' ? [] : [list.length]), values: list },
      name,
    );
  }

  constTensor(tensor: ConstTensor, name = 'const'): Output {
    const type = tensor.dtype === 'float32' ? DataType.float : DataType.int32;
    return this.op1('Const', [], { dtype: { type }, value: { tensor } }, { name });
  }

  placeholder(name: string, dtype: DataType, shape: number[] | null): Output {
    return this.op1('Placeholder', [], { dtype: { type: dtype }, shape: { shape } }, { name });
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The serialized GraphDef. */
  graphDef(): Uint8Array {
    const writer = new ProtoWriter();
    for (const node of this.nodes) {
      writer.message(1, (nodeWriter) => {
        nodeWriter.string(1, node.name);
        nodeWriter.string(2, node.op);
        for (const input of node.inputs) nodeWriter.string(3, input);
        for (const [key, value] of Object.entries(node.attrs)) {
          nodeWriter.message(5, (entry) => {
            entry.string(1, key);
            entry.message(2, (valueWriter) => writeAttr(valueWriter, value));
          });
        }
      });
    }
    // VersionDef.producer: an older graph version than the library's, so a TensorFlow C
    // library as old as tfjs-node's own download (2.9) accepts it too.
    writer.message(4, (versions) => versions.int(1, 1000));
    return writer.finish();
  }

  /** A SavedModel with one MetaGraphDef tagged "serve" holding this graph (no variables file). */
  savedModel(): Uint8Array {
    const graph = this.graphDef();
    const writer = new ProtoWriter();
    writer.int(1, 1); // saved_model_schema_version
    writer.message(2, (meta) => {
      meta.message(1, (info) => info.string(4, 'serve')); // meta_info_def.tags
      meta.bytes(2, graph);
    });
    return writer.finish();
  }
}
