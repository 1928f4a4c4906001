/**
 * Design (a) of issue 24, prototype: reverse-mode autodiff over GraphBuilder ops, micrograd's idea on
 * TensorFlow ops. Every op built through `AutoGraph` is recorded with its inputs and static output
 * shapes; `gradients(loss, wrt)` walks the recorded ops in reverse creation order (a topological order),
 * asks each op's registered rule (gradients.ts) for its inputs' gradients, and sums the gradients that
 * reach one tensor from several uses (AddN).
 *
 * Shapes are static (a compiled step has fixed batch and image sizes), so broadcasting gradients
 * reduce over known axes, and the layer lowerings read the shapes they need.
 */
import { DataType, FLOAT_OP, GraphBuilder, type AttrValue, type Output } from '../../../lib/graph/builder';

/** A tensor of the graph being built: one output of a recorded op, or a leaf (placeholder, variable, constant). */
export class Sym {
  constructor(
    readonly out: Output,
    readonly shape: number[],
    readonly node?: OpNode,
    readonly dtype: DataType = DataType.float,
    /** A constant's values (the axes of a reduction, a shape). */
    readonly values?: number[],
  ) {}
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export interface OpNode {
  readonly id: number;
  readonly op: string;
  readonly inputs: Sym[];
  readonly attrs: Record<string, AttrValue>;
  outputs: Sym[];
}

/** An op's gradient rule: for each input, how to build its gradient from the outputs' gradients (lazily). */
export type GradientRule = (g: AutoGraph, node: OpNode, dys: Array<Sym | undefined>) => Array<(() => Sym) | undefined>;

export const GRADIENTS: Record<string, GradientRule> = {};

/** Registers the gradient rule of `op` (each op once). */
export function registerGradient(op: string, rule: GradientRule): void {
  if (GRADIENTS[op]) throw new Error(`gradient of ${op} registered twice`);
  GRADIENTS[op] = rule;
}

const REDUCE = (keep: boolean) => ({ ...FLOAT_OP, Tidx: { type: DataType.int32 }, keep_dims: { b: keep } });

/** numpy's broadcasting of two static shapes. */
export function broadcastShape(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

export class AutoGraph {
  readonly builder = new GraphBuilder();
  private readonly nodes: OpNode[] = [];

  /** A recorded (differentiable) op with static output shapes. */
  op(
    op: string,
    inputs: Sym[],
    attrs: Record<string, AttrValue>,
    shapes: number[][],
    options: { control?: Array<Output | string>; dtype?: DataType } = {},
  ): Sym[] {
    const outs = this.builder.op(
      op,
      inputs.map((i) => i.out),
      attrs,
      { outputs: shapes.length, control: options.control },
    );
    const node: OpNode = { id: this.nodes.length, op, inputs, attrs, outputs: [] };
    node.outputs = outs.map((out, i) => new Sym(out, shapes[i], node, options.dtype));
    this.nodes.push(node);
    return node.outputs;
  }

  op1(op: string, inputs: Sym[], attrs: Record<string, AttrValue>, shape: number[], dtype?: DataType): Sym {
    return this.op(op, inputs, attrs, [shape], { dtype })[0];
  }

  leaf(out: Output, shape: number[], dtype: DataType = DataType.float, values?: number[]): Sym {
    return new Sym(out, shape, undefined, dtype, values);
  }

  scalar(value: number): Sym {
    return this.leaf(this.builder.constFloat(value), []);
  }
  ints(values: number[]): Sym {
    return this.leaf(this.builder.constInt(values), [values.length], DataType.int32, values);
  }
  fill(value: number, shape: number[]): Sym {
    return this.broadcastTo(this.scalar(value), shape);
  }

  // Elementwise ops.
  unary(op: string, x: Sym, attrs: Record<string, AttrValue> = {}): Sym {
    return this.op1(op, [x], { ...FLOAT_OP, ...attrs }, x.shape);
  }
  binary(op: string, a: Sym, b: Sym): Sym {
    return this.op1(op, [a, b], FLOAT_OP, broadcastShape(a.shape, b.shape));
  }
  add(a: Sym, b: Sym): Sym {
    return this.binary('AddV2', a, b);
  }
  sub(a: Sym, b: Sym): Sym {
    return this.binary('Sub', a, b);
  }
  mul(a: Sym, b: Sym): Sym {
    return this.binary('Mul', a, b);
  }
  div(a: Sym, b: Sym): Sym {
    return this.binary('RealDiv', a, b);
  }
  neg(x: Sym): Sym {
    return this.unary('Neg', x);
  }
  exp(x: Sym): Sym {
    return this.unary('Exp', x);
  }
  log(x: Sym): Sym {
    return this.unary('Log', x);
  }
  square(x: Sym): Sym {
    return this.unary('Square', x);
  }
  addN(xs: Sym[]): Sym {
    if (xs.length === 1) return xs[0];
    return this.op1('AddN', xs, { ...FLOAT_OP, N: { i: xs.length } }, xs[0].shape);
  }
  clipByValue(x: Sym, lo: number, hi: number): Sym {
    return this.op1('ClipByValue', [x, this.scalar(lo), this.scalar(hi)], FLOAT_OP, x.shape);
  }
  /** 1 where `op` (GreaterEqual, Less, ...) holds, else 0, as float32. */
  compare(op: string, a: Sym, b: Sym): Sym {
    const bool = this.op1(op, [a, b], FLOAT_OP, broadcastShape(a.shape, b.shape), DataType.bool);
    const cast = { SrcT: { type: DataType.bool }, DstT: { type: DataType.float }, Truncate: { b: false } };
    return this.op1('Cast', [bool], cast, bool.shape);
  }

  // Shapes and reductions.
  reshape(x: Sym, dims: number[]): Sym {
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = dims.map((d) => (d === -1 ? x.size / known : d));
    return this.op1('Reshape', [x, this.ints(shape)], { ...FLOAT_OP, Tshape: { type: DataType.int32 } }, shape);
  }
  broadcastTo(x: Sym, shape: number[]): Sym {
    return this.op1('BroadcastTo', [x, this.ints(shape)], { ...FLOAT_OP, Tidx: { type: DataType.int32 } }, shape);
  }
  reduce(op: 'Sum' | 'Mean', x: Sym, axes: number[], keepDims = false): Sym {
    const positive = axes.map((a) => (a < 0 ? a + x.shape.length : a));
    const shape = x.shape.flatMap((d, i) => (positive.includes(i) ? (keepDims ? [1] : []) : [d]));
    return this.op1(op, [x, this.ints(positive)], REDUCE(keepDims), shape);
  }
  sum(x: Sym, axes: number[], keepDims = false): Sym {
    return this.reduce('Sum', x, axes, keepDims);
  }
  mean(x: Sym, axes: number[] = x.shape.map((_, i) => i), keepDims = false): Sym {
    return this.reduce('Mean', x, axes, keepDims);
  }
  /** `dy` summed over the axes along which a tensor of `shape` was broadcast to dy's shape. */
  unbroadcast(dy: Sym, shape: number[]): Sym {
    if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
    const lead = dy.shape.length - shape.length;
    const axes = dy.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
    const summed = axes.length > 0 ? this.sum(dy, axes) : dy;
    return this.reshape(summed, shape);
  }

  // Layers' ops.
  matMul(a: Sym, b: Sym, transposeA = false, transposeB = false): Sym {
    const rows = transposeA ? a.shape[1] : a.shape[0];
    const cols = transposeB ? b.shape[0] : b.shape[1];
    const attrs = { ...FLOAT_OP, transpose_a: { b: transposeA }, transpose_b: { b: transposeB } };
    return this.op1('MatMul', [a, b], attrs, [rows, cols]);
  }
  biasAdd(x: Sym, bias: Sym): Sym {
    return this.op1('BiasAdd', [x, bias], { ...FLOAT_OP, data_format: { s: 'NHWC' } }, x.shape);
  }
  conv2d(x: Sym, filter: Sym, strides: number, padding: 'SAME' | 'VALID'): Sym {
    const [batch, h, w] = x.shape;
    const [kh, kw, , out] = filter.shape;
    const size = (n: number, k: number) => Math.ceil((padding === 'SAME' ? n : n - k + 1) / strides);
    return this.op1('Conv2D', [x, filter], convAttrs(strides, padding), [batch, size(h, kh), size(w, kw), out]);
  }
  /** conv2d's input gradient, which is also conv2d transpose (`inputShape` is the result's shape). */
  conv2dBackpropInput(inputShape: number[], filter: Sym, dy: Sym, strides: number, padding: string): Sym {
    return this.op1(
      'Conv2DBackpropInput',
      [this.ints(inputShape), filter, dy],
      convAttrs(strides, padding),
      inputShape,
    );
  }
  conv2dBackpropFilter(x: Sym, filterShape: number[], dy: Sym, strides: number, padding: string): Sym {
    const attrs = convAttrs(strides, padding);
    return this.op1('Conv2DBackpropFilter', [x, this.ints(filterShape), dy], attrs, filterShape);
  }
  resizeNearest(x: Sym, height: number, width: number): Sym {
    const attrs = { ...FLOAT_OP, align_corners: { b: false }, half_pixel_centers: { b: false } };
    return this.op1('ResizeNearestNeighbor', [x, this.ints([height, width])], attrs, [
      x.shape[0],
      height,
      width,
      x.shape[3],
    ]);
  }
  /** The 6 outputs of FusedBatchNormV3 (y, batch mean, batch variance (unbiased), 3 reserve spaces). */
  fusedBatchNorm(x: Sym, scale: Sym, offset: Sym, mean: Sym, variance: Sym, epsilon: number, training: boolean) {
    const channels = [x.shape[3]];
    const attrs = { ...batchNormAttrs(epsilon, training), exponential_avg_factor: { f: 1 } };
    return this.op('FusedBatchNormV3', [x, scale, offset, mean, variance], attrs, [
      x.shape,
      channels,
      channels,
      channels,
      channels,
      [0],
    ]);
  }

  /** The op of every node in the graph so far (GraphBuilder keeps its nodes private; a prototype reads them). */
  nodeOps(): string[] {
    return (this.builder as unknown as { nodes: Array<{ op: string }> }).nodes.map((node) => node.op);
  }

  /**
   * The gradients of scalar `loss` with respect to `wrt`: each recorded op on a path from `wrt` to
   * `loss`, in reverse creation order, passes its outputs' summed gradients to its inputs.
   */
  gradients(loss: Sym, wrt: Sym[]): Sym[] {
    const targets = new Set(wrt);
    const depends = new Set<OpNode>();
    const needs = (s: Sym) => targets.has(s) || (s.node !== undefined && depends.has(s.node));
    for (const node of this.nodes) if (node.inputs.some(needs)) depends.add(node);
    const pending = new Map<Sym, Sym[]>([[loss, [this.fill(1, loss.shape)]]]);
    const total = (s: Sym) => {
      const parts = pending.get(s);
      return parts && this.addN(parts);
    };
    const last = loss.node?.id ?? -1;
    for (let id = last; id >= 0; id--) {
      const node = this.nodes[id];
      if (!depends.has(node)) continue;
      const dys = node.outputs.map(total);
      if (dys.every((dy) => dy === undefined)) continue;
      const rule = GRADIENTS[node.op];
      if (!rule) throw new Error(`no gradient registered for ${node.op}`);
      const inputGrads = rule(this, node, dys);
      node.inputs.forEach((input, i) => {
        const grad = inputGrads[i];
        if (!grad || !needs(input)) return;
        const list = pending.get(input) ?? [];
        list.push(grad());
        pending.set(input, list);
      });
    }
    return wrt.map((w) => total(w) ?? this.fill(0, w.shape));
  }
}

export function convAttrs(strides: number, padding: string): Record<string, AttrValue> {
  return {
    ...FLOAT_OP,
    strides: { ints: [1, strides, strides, 1] },
    padding: { s: padding },
    data_format: { s: 'NHWC' },
    dilations: { ints: [1, 1, 1, 1] },
    use_cudnn_on_gpu: { b: true },
    explicit_paddings: { ints: [] },
  };
}

export function batchNormAttrs(epsilon: number, training: boolean): Record<string, AttrValue> {
  return {
    ...FLOAT_OP,
    U: { type: DataType.float },
    epsilon: { f: epsilon },
    data_format: { s: 'NHWC' },
    is_training: { b: training },
  };
}
