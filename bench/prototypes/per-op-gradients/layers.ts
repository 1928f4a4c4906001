/**
 * Layers lower to ops (design (a) prototype): a walk over a tfjs model's graph of layers (nested
 * models included) that emits, per layer, the TensorFlow ops tfjs would run, reading the weights as
 * the step's resource variables. Only the layers of the DCGAN and of 05's VAE.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { DataType } from '../../../lib/graph/builder';
import type { Sym } from './autodiff';
import type { StepBuilder, WeightLike } from './program';

/** How a step runs the layers: Dropout and BatchNormalization behave differently in training. */
export interface LowerContext {
  step: StepBuilder;
  training: boolean;
}

type Layer = LayersModel['layers'][number];

/** The tfjs-layers fields the lowerings read (private in tfjs's types). */
interface LayerFields {
  kernel?: WeightLike;
  bias?: WeightLike;
  useBias?: boolean;
  activation?: { getClassName(): string };
  strides?: number[];
  padding?: 'same' | 'valid';
  dataFormat?: string;
  filters?: number;
  kernelSize?: number[];
  alpha?: number;
  targetShape?: number[];
  size?: number[];
  rate?: number;
  axis?: number;
  epsilon?: number;
  momentum?: number;
  gamma?: WeightLike;
  beta?: WeightLike;
  movingMean?: WeightLike;
  movingVariance?: WeightLike;
}

interface SymbolicLike {
  id: number;
}
interface NodeLike {
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}

/** The model's outputs for `inputs`: every layer, in tfjs's topological order, lowered to ops. */
export function lowerModel(ctx: LowerContext, model: LayersModel, inputs: Sym[]): Sym[] {
  const values = new Map<number, Sym>();
  (model.inputs as unknown as SymbolicLike[]).forEach((input, i) => values.set(input.id, inputs[i]));
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    // The call of this layer inside this model: the inbound node whose inputs are all computed.
    const nodes = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes;
    const node = nodes.find((n) => n.inputTensors.every((t) => values.has(t.id)));
    if (!node) throw new Error(`lowerModel: layer ${layer.name} is not reached from ${model.name}'s inputs`);
    const outputs = lowerLayer(
      ctx,
      layer,
      node.inputTensors.map((t) => values.get(t.id)!),
    );
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
  return (model.outputs as unknown as SymbolicLike[]).map((output) => values.get(output.id)!);
}

function activation(ctx: LowerContext, fields: LayerFields, x: Sym): Sym {
  const name = fields.activation?.getClassName() ?? 'linear';
  const g = ctx.step.g;
  if (name === 'linear') return x;
  const ops: Record<string, string> = { tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu' };
  if (!ops[name]) throw new Error(`activation ${name} is not lowered`);
  return g.unary(ops[name], x);
}

function withBias(ctx: LowerContext, fields: LayerFields, x: Sym): Sym {
  return fields.useBias === false || !fields.bias ? x : ctx.step.g.biasAdd(x, ctx.step.weight(fields.bias));
}

const LOWERINGS: Record<string, (ctx: LowerContext, fields: LayerFields, x: Sym) => Sym> = {
  Dense: (ctx, f, x) => {
    if (x.shape.length !== 2) throw new Error('Dense: only 2-D inputs are lowered');
    return activation(ctx, f, withBias(ctx, f, ctx.step.g.matMul(x, ctx.step.weight(f.kernel!))));
  },
  Conv2D: (ctx, f, x) => {
    const [stride] = f.strides!;
    const y = ctx.step.g.conv2d(x, ctx.step.weight(f.kernel!), stride, f.padding === 'same' ? 'SAME' : 'VALID');
    return activation(ctx, f, withBias(ctx, f, y));
  },
  Conv2DTranspose: (ctx, f, x) => {
    const [stride] = f.strides!;
    const [k] = f.kernelSize!;
    const grow = (n: number) => (f.padding === 'same' ? n * stride : n * stride + Math.max(k - stride, 0));
    const shape = [x.shape[0], grow(x.shape[1]), grow(x.shape[2]), f.filters!];
    const padding = f.padding === 'same' ? 'SAME' : 'VALID';
    const y = ctx.step.g.conv2dBackpropInput(shape, ctx.step.weight(f.kernel!), x, stride, padding);
    return activation(ctx, f, withBias(ctx, f, y));
  },
  LeakyReLU: (ctx, f, x) => ctx.step.g.unary('LeakyRelu', x, { alpha: { f: f.alpha! } }),
  Activation: (ctx, f, x) => activation(ctx, f, x),
  Reshape: (ctx, f, x) => ctx.step.g.reshape(x, [x.shape[0], ...f.targetShape!]),
  Flatten: (ctx, _f, x) => ctx.step.g.reshape(x, [x.shape[0], -1]),
  UpSampling2D: (ctx, f, x) => ctx.step.g.resizeNearest(x, x.shape[1] * f.size![0], x.shape[2] * f.size![1]),
  Dropout: (ctx, f, x) => {
    const rate = f.rate ?? 0;
    if (!ctx.training || rate <= 0 || rate >= 1) return x;
    // tfjs's formula: x * floor(u + keep) / keep, u uniform in [0, 1), drawn statelessly from the step's seed.
    const { g } = ctx.step;
    const int = { T: { type: DataType.int32 } };
    const seed = g.builder.op1('Add', [ctx.step.randomSeed().out, g.builder.constInt([0, g.builder.nodeCount])], int);
    const uniform = g.leaf(
      g.builder.op1('StatelessRandomUniform', [g.builder.constInt(x.shape), seed], {
        dtype: { type: DataType.float },
        T: { type: DataType.int32 },
        Tseed: { type: DataType.int32 },
      }),
      x.shape,
    );
    const keep = g.scalar(1 - rate);
    const mask = g.leaf(g.unary('Floor', g.add(uniform, keep)).out, x.shape); // a leaf: no gradient through it
    return g.mul(x, g.div(mask, keep));
  },
  BatchNormalization: (ctx, f, x) => {
    if (f.axis !== -1 && f.axis !== x.shape.length - 1) throw new Error('BatchNormalization: only the last axis');
    const { g } = ctx.step;
    const channels = x.shape[x.shape.length - 1];
    // The fused op takes NHWC; a [batch, C] input is normalised as [batch, 1, 1, C].
    const x4 = x.shape.length === 4 ? x : g.reshape(x, [x.shape[0], 1, 1, channels]);
    const [gamma, beta] = [ctx.step.weight(f.gamma!), ctx.step.weight(f.beta!)];
    const [movingMean, movingVariance] = [ctx.step.weight(f.movingMean!), ctx.step.weight(f.movingVariance!)];
    let y: Sym;
    if (ctx.training) {
      const empty = g.leaf(g.builder.constTensor({ dtype: 'float32', shape: [0], values: [] }), [0]);
      const [normed, mean, unbiased] = g.fusedBatchNorm(x4, gamma, beta, empty, empty, f.epsilon!, true);
      // tfjs moves the averages towards the biased variance: x - (x - value) * (1 - momentum).
      const n = x4.size / channels;
      const variance = g.mul(unbiased, g.scalar((n - 1) / n));
      const decay = g.scalar(1 - f.momentum!);
      const move = (average: Sym, value: Sym) => g.sub(average, g.mul(g.sub(average, value), decay));
      ctx.step.assign(ctx.step.program.weight(f.movingMean!), move(movingMean, mean));
      ctx.step.assign(ctx.step.program.weight(f.movingVariance!), move(movingVariance, variance));
      y = normed;
    } else {
      [y] = g.fusedBatchNorm(x4, gamma, beta, movingMean, movingVariance, f.epsilon!, false);
    }
    return x4 === x ? y : g.reshape(y, x.shape);
  },
};

function lowerLayer(ctx: LowerContext, layer: Layer, inputs: Sym[]): Sym[] {
  const nested = layer as unknown as LayersModel;
  if (Array.isArray(nested.layers) && Array.isArray(nested.inputs)) return lowerModel(ctx, nested, inputs);
  const lower = LOWERINGS[layer.getClassName()];
  if (!lower) throw new Error(`layer ${layer.getClassName()} is not lowered`);
  const fields = layer as unknown as LayerFields;
  if (fields.dataFormat !== undefined && fields.dataFormat !== 'channelsLast') throw new Error('channelsLast only');
  return [lower(ctx, fields, inputs[0])];
}
