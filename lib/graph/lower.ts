/**
 * Lowers a chain of tfjs layers to TensorFlow graph ops, forward and backward.
 *
 * Each supported layer becomes the same native ops tfjs-node runs eagerly (Conv2D, BiasAdd,
 * LeakyRelu, FusedBatchNormV3, ...), and its gradient the ops TensorFlow's own gradients use
 * (Conv2DBackpropFilter, LeakyReluGrad, FusedBatchNormGradV3, ...). Models built from other
 * layers, or with settings not handled here, raise UnsupportedModelError; the training loops
 * then use tfjs's eager engine.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { DT, FLOAT as F, type GraphBuilder, type Output } from './builder';
import { asNestedModel, containerNodeCount, layerWeightField, type LayerVariableLike } from './tfjsInternals';

export type LayerLike = LayersModel['layers'][number];

export type { LayerVariableLike };

export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
}

type Shape = Array<number | null>;

/** Resource variables of the graph, one per tfjs variable or optimizer slot, by name. */
export class VariableStore {
  readonly handles = new Map<string, { handle: Output; shape: number[] }>();
  constructor(private readonly g: GraphBuilder) {}

  handle(name: string, shape: number[]): Output {
    let entry = this.handles.get(name);
    if (!entry) {
      const handle = this.g.op1('VarHandleOp', [], {
        dtype: { type: DT.float }, shape: { shape }, shared_name: { s: `v${this.handles.size}` }, container: { s: '' },
      }, { name: `var/${name}` });
      entry = { handle, shape };
      this.handles.set(name, entry);
    }
    return entry.handle;
  }
}

/** One step's view of the variables: each is read once, so every use sees the same snapshot. */
export class StepReads {
  private readonly reads = new Map<string, Output>();
  readonly assigns: Output[] = [];
  constructor(private readonly g: GraphBuilder, private readonly store: VariableStore) {}

  read(name: string, shape: number[]): Output {
    let value = this.reads.get(name);
    if (!value) {
      value = this.g.op1('ReadVariableOp', [this.store.handle(name, shape)], { dtype: { type: DT.float } }, { name: `read/${name}` });
      this.reads.set(name, value);
    }
    return value;
  }

  assign(name: string, shape: number[], value: Output): void {
    this.update(this.g.op1('AssignVariableOp', [this.store.handle(name, shape), value], { dtype: { type: DT.float } }, { name: `assign/${name}` }));
  }

  /** The variable's resource handle, for ops that update it in place. */
  handle(name: string, shape: number[]): Output {
    return this.store.handle(name, shape);
  }

  /** Records a node that changes variables; the step's result waits for it. */
  update(node: Output): void {
    this.assigns.push(node);
  }
}


export interface ForwardContext {
  g: GraphBuilder;
  reads: StepReads;
  training: boolean;
  /** int32 [2] seed for the step's dropout masks (needed when training with Dropout). */
  seed?: Output;
}

interface LoweredLayer {
  output: Output;
  /** Backpropagates dy; adds weight gradients to `grads`; returns dx when `needInput`. */
  backward?: (dy: Output, grads: Map<string, Output>, needInput: boolean) => Output | undefined;
}

/** Expands nested models into their layers (InputLayers dropped), checking the model is a chain. */
export function chainLayers(model: LayersModel): LayerLike[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedModelError(`model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the graph engine handles one of each.`);
  }
  // A layer applied twice (tied weights) would need its gradients summed over both uses; the
  // engine handles chains where each layer runs once. tfjs records one container node per layer
  // application (a Sequential also counts its input layer, which its `layers` leaves out).
  const applications = containerNodeCount(model);
  const expected = model.layers.length + (model.getClassName() === 'Sequential' ? 1 : 0);
  if (applications !== expected) {
    throw new UnsupportedModelError(`model "${model.name}": a layer is applied more than once (shared weights); the graph engine handles chains of layers used once.`);
  }
  const layers: LayerLike[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nested = asNestedModel(layer);
    if (nested) layers.push(...chainLayers(nested));
    else layers.push(layer);
  }
  return layers;
}

function pair(value: unknown, what: string, layer: LayerLike): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((n) => typeof n === 'number')) throw new UnsupportedModelError(`${layer.name}: ${what} ${JSON.stringify(value)} is not a pair of numbers.`);
  return v as [number, number];
}

function lv(layer: LayerLike, field: string): LayerVariableLike {
  const variable = layerWeightField(layer, field);
  if (!variable) throw new UnsupportedModelError(`${layer.name}: has no ${field} (is the model built?).`);
  return variable;
}

function activationOp(ctx: ForwardContext, name: string, x: Output, layer: LayerLike): { y: Output; grad?: (dy: Output) => Output } {
  const { g } = ctx;
  switch (name) {
    case 'linear':
      return { y: x };
    case 'relu': {
      const y = g.op1('Relu', [x], F);
      return { y, grad: (dy) => g.op1('ReluGrad', [dy, y], F) };
    }
    case 'sigmoid': {
      const y = g.op1('Sigmoid', [x], F);
      return { y, grad: (dy) => g.op1('SigmoidGrad', [y, dy], F) };
    }
    case 'tanh': {
      const y = g.op1('Tanh', [x], F);
      return { y, grad: (dy) => g.op1('TanhGrad', [y, dy], F) };
    }
    default:
      throw new UnsupportedModelError(`${layer.name}: activation "${name}" is not supported by the graph engine.`);
  }
}

function paddingOf(layer: LayerLike, padding: unknown): string {
  if (padding !== 'same' && padding !== 'valid') throw new UnsupportedModelError(`${layer.name}: padding "${String(padding)}" is not supported by the graph engine (same, valid).`);
  return padding.toUpperCase();
}

function convAttrs(strides: [number, number], padding: string) {
  return { ...F, strides: { ints: [1, strides[0], strides[1], 1] }, padding: { s: padding }, data_format: { s: 'NHWC' }, dilations: { ints: [1, 1, 1, 1] } };
}

function staticDims(shape: Shape, layer: LayerLike): number[] {
  const rest = shape.slice(1);
  if (rest.some((d) => d === null)) throw new UnsupportedModelError(`${layer.name}: input shape [${shape}] must be known apart from the batch.`);
  return rest as number[];
}

/** Lowers one layer; `shape` is its input shape (batch first, as tfjs reports it). */
export function lowerLayer(ctx: ForwardContext, layer: LayerLike, x: Output, shape: Shape, dropoutIndex: number): LoweredLayer {
  const { g, reads } = ctx;
  const config = layer.getConfig() as Record<string, unknown>;
  const className = layer.getClassName();
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
    throw new UnsupportedModelError(`${layer.name}: only channelsLast is supported.`);
  }
  // Regularizers add loss terms and constraints clip weights; the graph has neither.
  const extra = Object.keys(config).find((key) => /(Regularizer|Constraint)$/.test(key) && config[key] != null);
  if (extra) throw new UnsupportedModelError(`${layer.name}: ${extra} is not supported by the graph engine.`);
  const withBiasAndActivation = (z: Output, useBias: boolean, backwardCore: (dz: Output, grads: Map<string, Output>, needInput: boolean) => Output | undefined): LoweredLayer => {
    let pre = z;
    let biasName: string | undefined;
    if (useBias) {
      const bias = lv(layer, 'bias');
      biasName = bias.name;
      pre = g.op1('BiasAdd', [z, reads.read(bias.name, bias.shape)], { ...F, data_format: { s: 'NHWC' } });
    }
    const act = activationOp(ctx, String(config.activation ?? 'linear'), pre, layer);
    return {
      output: act.y,
      backward: (dy, grads, needInput) => {
        const dz = act.grad ? act.grad(dy) : dy;
        if (biasName) grads.set(biasName, g.op1('BiasAddGrad', [dz], { ...F, data_format: { s: 'NHWC' } }));
        return backwardCore(dz, grads, needInput);
      },
    };
  };

  switch (className) {
    case 'Dense': {
      if (shape.length !== 2) throw new UnsupportedModelError(`${layer.name}: Dense on rank-${shape.length} input is not supported.`);
      const kernel = lv(layer, 'kernel');
      const k = reads.read(kernel.name, kernel.shape);
      const z = g.op1('MatMul', [x, k], F);
      return withBiasAndActivation(z, config.useBias !== false, (dz, grads, needInput) => {
        grads.set(kernel.name, g.op1('MatMul', [x, dz], { ...F, transpose_a: { b: true } }));
        return needInput ? g.op1('MatMul', [dz, k], { ...F, transpose_b: { b: true } }) : undefined;
      });
    }
    case 'Conv2D': {
      const dilation = pair(config.dilationRate ?? 1, 'dilationRate', layer);
      if (dilation[0] !== 1 || dilation[1] !== 1) throw new UnsupportedModelError(`${layer.name}: dilated convolutions are not supported.`);
      const kernel = lv(layer, 'kernel');
      const k = reads.read(kernel.name, kernel.shape);
      const attrs = convAttrs(pair(config.strides ?? 1, 'strides', layer), paddingOf(layer, config.padding));
      const z = g.op1('Conv2D', [x, k], attrs);
      return withBiasAndActivation(z, config.useBias !== false, (dz, grads, needInput) => {
        grads.set(kernel.name, g.op1('Conv2DBackpropFilter', [x, g.constInt(kernel.shape), dz], attrs));
        return needInput ? g.op1('Conv2DBackpropInput', [g.shape(x), k, dz], attrs) : undefined;
      });
    }
    case 'Conv2DTranspose': {
      const kernel = lv(layer, 'kernel');
      const k = reads.read(kernel.name, kernel.shape);
      const attrs = convAttrs(pair(config.strides ?? 1, 'strides', layer), paddingOf(layer, config.padding));
      const outShape = staticDims(layer.computeOutputShape(shape) as Shape, layer);
      // The output size, batch taken from x at run time: [batch, h, w, filters].
      const batch = g.op1('StridedSlice', [g.shape(x), g.constInt([0]), g.constInt([1]), g.constInt([1])],
        { T: { type: DT.int32 }, Index: { type: DT.int32 }, begin_mask: { i: 0 }, end_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 }, shrink_axis_mask: { i: 0 } });
      const sizes = g.op1('ConcatV2', [batch, g.constInt(outShape), g.constInt(0)], { T: { type: DT.int32 }, N: { i: 2 }, Tidx: { type: DT.int32 } });
      const z = g.op1('Conv2DBackpropInput', [sizes, k, x], attrs);
      return withBiasAndActivation(z, config.useBias !== false, (dz, grads, needInput) => {
        grads.set(kernel.name, g.op1('Conv2DBackpropFilter', [dz, g.constInt(kernel.shape), x], attrs));
        return needInput ? g.op1('Conv2D', [dz, k], attrs) : undefined;
      });
    }
    case 'Activation': {
      const act = activationOp(ctx, String(config.activation), x, layer);
      return { output: act.y, backward: (dy) => (act.grad ? act.grad(dy) : dy) };
    }
    case 'ReLU': {
      if (config.maxValue != null) throw new UnsupportedModelError(`${layer.name}: ReLU with maxValue is not supported.`);
      const act = activationOp(ctx, 'relu', x, layer);
      return { output: act.y, backward: (dy) => (act.grad ? act.grad(dy) : dy) };
    }
    case 'LeakyReLU': {
      const alpha = Number(config.alpha ?? 0.3);
      const y = g.op1('LeakyRelu', [x], { ...F, alpha: { f: alpha } });
      // For alpha >= 0 the output has the input's sign, so the gradient can test y instead of x.
      // That leaves y the only consumer of a preceding BiasAdd, which lets Grappler fuse
      // Conv2D + BiasAdd + LeakyRelu (with x it gives up and logs "remapper failed").
      const features = alpha >= 0 ? y : x;
      return { output: y, backward: (dy) => g.op1('LeakyReluGrad', [dy, features], { ...F, alpha: { f: alpha } }) };
    }
    case 'MaxPooling2D': {
      const pool = pair(config.poolSize, 'poolSize', layer);
      const strides = config.strides == null ? pool : pair(config.strides, 'strides', layer);
      const attrs = { ...F, ksize: { ints: [1, pool[0], pool[1], 1] }, strides: { ints: [1, strides[0], strides[1], 1] }, padding: { s: paddingOf(layer, config.padding) }, data_format: { s: 'NHWC' } };
      const y = g.op1('MaxPool', [x], attrs);
      return { output: y, backward: (dy) => g.op1('MaxPoolGrad', [x, y, dy], attrs) };
    }
    case 'UpSampling2D': {
      if (config.interpolation !== undefined && config.interpolation !== 'nearest') throw new UnsupportedModelError(`${layer.name}: only nearest-neighbour upsampling is supported.`);
      const [h, w] = staticDims(shape, layer);
      const size = pair(config.size, 'size', layer);
      const attrs = { ...F, align_corners: { b: false }, half_pixel_centers: { b: false } };
      const y = g.op1('ResizeNearestNeighbor', [x, g.constInt([h * size[0], w * size[1]])], attrs);
      return { output: y, backward: (dy) => g.op1('ResizeNearestNeighborGrad', [dy, g.constInt([h, w])], attrs) };
    }
    case 'Reshape':
    case 'Flatten': {
      const outDims = staticDims(layer.computeOutputShape(shape) as Shape, layer);
      const inDims = staticDims(shape, layer);
      return { output: g.reshape(x, [-1, ...outDims]), backward: (dy) => g.reshape(dy, [-1, ...inDims]) };
    }
    case 'Dropout': {
      const rate = Number(config.rate);
      if (config.noiseShape != null) throw new UnsupportedModelError(`${layer.name}: Dropout with noiseShape is not supported.`);
      // tfjs drops only for 0 < rate < 1 and passes everything through otherwise.
      if (!ctx.training || !(rate > 0 && rate < 1)) return { output: x, backward: (dy) => dy };
      if (!ctx.seed) throw new Error(`${layer.name}: a training step with Dropout needs a seed input.`);
      // A fresh mask per step from the fed seed, offset per layer: keep with probability
      // 1 - rate and scale by 1 / (1 - rate), as tfjs's dropout does.
      const layerSeed = g.op1('Add', [ctx.seed, g.constInt([0, dropoutIndex])], { T: { type: DT.int32 } });
      const uniform = g.op1('StatelessRandomUniform', [g.shape(x), layerSeed], { dtype: { type: DT.float }, T: { type: DT.int32 }, Tseed: { type: DT.int32 } });
      const keep = g.toFloat(g.op1('GreaterEqual', [uniform, g.constFloat(rate)], F), DT.bool);
      const scale = g.op1('Mul', [keep, g.constFloat(1 / (1 - rate))], F);
      const y = g.op1('Mul', [x, scale], F);
      return { output: y, backward: (dy) => g.op1('Mul', [dy, scale], F) };
    }
    case 'BatchNormalization':
      return lowerBatchNorm(ctx, layer, config, x, shape);
    default:
      throw new UnsupportedModelError(`${layer.name}: layer type ${className} is not supported by the graph engine.`);
  }
}

function lowerBatchNorm(ctx: ForwardContext, layer: LayerLike, config: Record<string, unknown>, x: Output, shape: Shape): LoweredLayer {
  const { g, reads } = ctx;
  const axis = Number(config.axis ?? -1);
  if ((axis !== -1 && axis !== shape.length - 1) || config.center === false || config.scale === false) {
    throw new UnsupportedModelError(`${layer.name}: BatchNormalization is supported on the last axis with center and scale.`);
  }
  if (shape.length !== 2 && shape.length !== 4) throw new UnsupportedModelError(`${layer.name}: BatchNormalization on rank-${shape.length} input is not supported.`);
  const epsilon = Number(config.epsilon ?? 1e-3);
  const momentum = Number(config.momentum ?? 0.99);
  const [gamma, beta, movingMean, movingVariance] = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((f) => lv(layer, f));
  const channels = gamma.shape[0];
  // FusedBatchNorm works on NHWC; a [batch, channels] input becomes [batch, 1, 1, channels].
  const flat = shape.length === 2;
  const to4d = (t: Output) => (flat ? g.reshape(t, [-1, 1, 1, channels]) : t);
  const unflatten = (t: Output) => (flat ? g.reshape(t, [-1, channels]) : t);
  const x4 = to4d(x);
  const bnAttrs = { ...F, U: { type: DT.float }, epsilon: { f: epsilon }, data_format: { s: 'NHWC' } };
  const gammaValue = reads.read(gamma.name, gamma.shape);
  const betaValue = reads.read(beta.name, beta.shape);
  if (!ctx.training) {
    const [y] = g.op('FusedBatchNormV3', [x4, gammaValue, betaValue, reads.read(movingMean.name, movingMean.shape), reads.read(movingVariance.name, movingVariance.shape)],
      { ...bnAttrs, is_training: { b: false } }, { outputs: 6 });
    return { output: unflatten(y) };
  }
  const empty = g.constFloat([], [0]);
  const [y, batchMean, , reserve1, reserve2, reserve3] = g.op('FusedBatchNormV3', [x4, gammaValue, betaValue, empty, empty], { ...bnAttrs, is_training: { b: true } }, { outputs: 6 });
  // Moving averages as tfjs updates them: moving -= (moving - batch) * (1 - momentum), with the
  // biased batch variance (tfjs's moments), computed here rather than taken from the op, whose
  // variance output is Bessel-corrected.
  const meanOverBatch = (t: Output) => g.op1('Mean', [t, g.constInt([0, 1, 2])], { ...F, Tidx: { type: DT.int32 }, keep_dims: { b: false } });
  const batchVariance = meanOverBatch(g.op1('SquaredDifference', [x4, g.op1('StopGradient', [batchMean], F)], F));
  const decay = g.constFloat(1 - momentum);
  for (const [variable, batchValue] of [[movingMean, batchMean], [movingVariance, batchVariance]] as const) {
    const current = reads.read(variable.name, variable.shape);
    reads.assign(variable.name, variable.shape, g.op1('Sub', [current, g.op1('Mul', [g.op1('Sub', [current, batchValue], F), decay], F)], F));
  }
  return {
    output: unflatten(y),
    backward: (dy, grads) => {
      const [dx, dGamma, dBeta] = g.op('FusedBatchNormGradV3', [to4d(dy), x4, gammaValue, reserve1, reserve2, reserve3], { ...bnAttrs, is_training: { b: true } }, { outputs: 5 });
      grads.set(gamma.name, dGamma);
      grads.set(beta.name, dBeta);
      return unflatten(dx);
    },
  };
}
