/**
 * How tfjs layers become TensorFlow graph ops, forward and backward: one entry per tfjs layer
 * class in LAYER_LOWERINGS, its forward ops and its gradient side by side.
 *
 * Each layer becomes the same native ops tfjs-node runs eagerly (Conv2D, BiasAdd, LeakyRelu,
 * FusedBatchNormV3, ...), and its gradient the ops TensorFlow's own gradients use
 * (Conv2DBackpropFilter, LeakyReluGrad, FusedBatchNormGradV3, ...). A lowering returns the layer's
 * output and its `backward`: given d loss / d output, it records the gradients of the layer's
 * weights and returns d loss / d input. Models built from other layers, or with settings not
 * handled here, raise UnsupportedModelError; the training loops then use tfjs's eager engine.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { DataType, FLOAT_OP, type AttrValue, type GraphBuilder, type Output } from './builder';
import { UnsupportedModelError } from './errors';
import { asNestedModel, containerNodeCount, layerWeightField, type LayerVariableLike } from './tfjsInternals';
import type { StepReads } from './variables';

export type LayerLike = LayersModel['layers'][number];

/** A tensor's shape as tfjs reports it: batch first, null where not known until run time. */
type Shape = Array<number | null>;

/** Where a chain of layers is lowered. */
export interface ForwardContext {
  graph: GraphBuilder;
  /** The step's reads of the variables (weights). */
  reads: StepReads;
  /** Training mode: Dropout drops, BatchNormalization uses the batch's statistics. */
  training: boolean;
  /** int32 [2] seed for the step's dropout masks (needed when training with Dropout). */
  seed?: Output;
}

/** The gradients of the loss with respect to the weights, by variable name. */
export type WeightGradients = Map<string, Output>;

/**
 * Backpropagates d loss / d output through one layer: adds the gradients of its weights to
 * `weightGradients` and returns d loss / d input when `needInputGrad`.
 */
export type Backward = (
  outputGrad: Output,
  weightGradients: WeightGradients,
  needInputGrad: boolean,
) => Output | undefined;

export interface LoweredLayer {
  output: Output;
  /** Absent where there is nothing to train through (inference mode). */
  backward?: Backward;
}

/** One application of a layer, as its lowering sees it. */
interface LayerCall extends ForwardContext {
  layer: LayerLike;
  /** The layer's settings (`layer.getConfig()`). */
  config: Record<string, unknown>;
  input: Output;
  inputShape: Shape;
  /** The layer's number among the chain's Dropout layers (1, 2, ...): offsets its mask's seed. */
  dropoutIndex: number;
}

type LayerLowering = (call: LayerCall) => LoweredLayer;

/** Expands nested models into their layers (InputLayers dropped), checking the model is a chain. */
export function chainLayers(model: LayersModel): LayerLike[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedModelError(
      `model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs; ` +
        'the graph engine handles one of each.',
    );
  }
  // A layer applied twice (tied weights) would need its gradients summed over both uses; the
  // engine handles chains where each layer runs once. tfjs records one container node per layer
  // application (a Sequential also counts its input layer, which its `layers` leaves out).
  const applications = containerNodeCount(model);
  const expected = model.layers.length + (model.getClassName() === 'Sequential' ? 1 : 0);
  if (applications !== expected) {
    throw new UnsupportedModelError(
      `model "${model.name}": a layer is applied more than once (shared weights); ` +
        'the graph engine handles chains of layers used once.',
    );
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

/** Lowers one layer applied to `input`, of shape `inputShape` (batch first, as tfjs reports it). */
export function lowerLayer(
  context: ForwardContext,
  layer: LayerLike,
  input: Output,
  inputShape: Shape,
  dropoutIndex: number,
): LoweredLayer {
  const config = layer.getConfig() as Record<string, unknown>;
  const className = layer.getClassName();
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
    throw new UnsupportedModelError(`${layer.name}: only channelsLast is supported.`);
  }
  // Regularizers add loss terms and constraints clip weights; the graph has neither.
  const extra = Object.keys(config).find((key) => /(Regularizer|Constraint)$/.test(key) && config[key] != null);
  if (extra) throw new UnsupportedModelError(`${layer.name}: ${extra} is not supported by the graph engine.`);
  const lowering = Object.hasOwn(LAYER_LOWERINGS, className) ? LAYER_LOWERINGS[className] : undefined;
  if (!lowering) {
    throw new UnsupportedModelError(`${layer.name}: layer type ${className} is not supported by the graph engine.`);
  }
  return lowering({ ...context, layer, config, input, inputShape, dropoutIndex });
}

/**
 * Backpropagates `outputGrad` through `lowered` (the chain's layers, last first), adding the
 * weights' gradients to `weightGradients`; returns d loss / d input of the first layer when
 * `needInputGrad` (else undefined: nothing before it needs it).
 */
export function backpropagate(
  lowered: LoweredLayer[],
  layers: LayerLike[],
  outputGrad: Output,
  weightGradients: WeightGradients,
  needInputGrad: boolean,
): Output | undefined {
  let grad: Output | undefined = outputGrad;
  for (let i = lowered.length - 1; i >= 0 && grad; i--) {
    const backward = lowered[i].backward;
    if (!backward) throw new UnsupportedModelError(`${layers[i].name}: no gradient in inference mode.`);
    grad = backward(grad, weightGradients, i > 0 || needInputGrad);
  }
  return grad;
}

/**
 * The layers the graph engine lowers, by tfjs class name. Each entry writes the forward ops,
 * then `backward`, the ops of its gradient. "bias, activation" is withBiasAndActivation below:
 * BiasAdd and the activation's op forward, the activation's *Grad op and BiasAddGrad backward.
 */
const LAYER_LOWERINGS: Readonly<Record<string, LayerLowering>> = {
  /** Forward: MatMul(input, kernel), bias, activation. Gradient: MatMuls by the transposes. */
  Dense: (call) => {
    const { graph, reads, layer, input, inputShape } = call;
    if (inputShape.length !== 2) {
      throw new UnsupportedModelError(`${layer.name}: Dense on rank-${inputShape.length} input is not supported.`);
    }
    const kernel = layerVariable(layer, 'kernel');
    const kernelValue = reads.read(kernel.name, kernel.shape);
    const product = graph.op1('MatMul', [input, kernelValue], FLOAT_OP);
    return withBiasAndActivation(call, product, (productGrad, weightGradients, needInputGrad) => {
      // d kernel = input^T . d product; d input = d product . kernel^T
      const kernelGrad = graph.op1('MatMul', [input, productGrad], { ...FLOAT_OP, transpose_a: { b: true } });
      weightGradients.set(kernel.name, kernelGrad);
      return needInputGrad
        ? graph.op1('MatMul', [productGrad, kernelValue], { ...FLOAT_OP, transpose_b: { b: true } })
        : undefined;
    });
  },

  /** Forward: Conv2D, bias, activation. Gradient: Conv2DBackpropFilter and Conv2DBackpropInput. */
  Conv2D: (call) => {
    const { graph, reads, layer, config, input } = call;
    const dilation = pair(config.dilationRate ?? 1, 'dilationRate', layer);
    if (dilation[0] !== 1 || dilation[1] !== 1) {
      throw new UnsupportedModelError(`${layer.name}: dilated convolutions are not supported.`);
    }
    const kernel = layerVariable(layer, 'kernel');
    const kernelValue = reads.read(kernel.name, kernel.shape);
    const attrs = convAttrs(pair(config.strides ?? 1, 'strides', layer), paddingOf(layer, config.padding));
    const convolved = graph.op1('Conv2D', [input, kernelValue], attrs);
    return withBiasAndActivation(call, convolved, (convolvedGrad, weightGradients, needInputGrad) => {
      const kernelGrad = graph.op1('Conv2DBackpropFilter', [input, graph.constInt(kernel.shape), convolvedGrad], attrs);
      weightGradients.set(kernel.name, kernelGrad);
      return needInputGrad
        ? graph.op1('Conv2DBackpropInput', [graph.shape(input), kernelValue, convolvedGrad], attrs)
        : undefined;
    });
  },

  /**
   * Forward: Conv2DBackpropInput (a transposed convolution is the gradient of a convolution),
   * bias, activation. Gradient: Conv2DBackpropFilter with input and output swapped, and Conv2D.
   */
  Conv2DTranspose: (call) => {
    const { graph, reads, layer, config, input, inputShape } = call;
    const kernel = layerVariable(layer, 'kernel');
    const kernelValue = reads.read(kernel.name, kernel.shape);
    const attrs = convAttrs(pair(config.strides ?? 1, 'strides', layer), paddingOf(layer, config.padding));
    const outputDims = staticDims(layer.computeOutputShape(inputShape) as Shape, layer);
    // The output size, batch taken from the input at run time: [batch, height, width, filters].
    const sliceAttrs = {
      T: { type: DataType.int32 },
      Index: { type: DataType.int32 },
      begin_mask: { i: 0 },
      end_mask: { i: 0 },
      ellipsis_mask: { i: 0 },
      new_axis_mask: { i: 0 },
      shrink_axis_mask: { i: 0 },
    };
    const batch = graph.op1(
      'StridedSlice',
      [graph.shape(input), graph.constInt([0]), graph.constInt([1]), graph.constInt([1])],
      sliceAttrs,
    );
    const outputSize = graph.op1('ConcatV2', [batch, graph.constInt(outputDims), graph.constInt(0)], {
      T: { type: DataType.int32 },
      N: { i: 2 },
      Tidx: { type: DataType.int32 },
    });
    const convolved = graph.op1('Conv2DBackpropInput', [outputSize, kernelValue, input], attrs);
    return withBiasAndActivation(call, convolved, (convolvedGrad, weightGradients, needInputGrad) => {
      const kernelGrad = graph.op1('Conv2DBackpropFilter', [convolvedGrad, graph.constInt(kernel.shape), input], attrs);
      weightGradients.set(kernel.name, kernelGrad);
      return needInputGrad ? graph.op1('Conv2D', [convolvedGrad, kernelValue], attrs) : undefined;
    });
  },

  /** Forward: MaxPool. Gradient: MaxPoolGrad (routes each gradient to its window's maximum). */
  MaxPooling2D: ({ graph, layer, config, input }) => {
    const pool = pair(config.poolSize, 'poolSize', layer);
    const strides = config.strides == null ? pool : pair(config.strides, 'strides', layer);
    const attrs = {
      ...FLOAT_OP,
      ksize: { ints: [1, pool[0], pool[1], 1] },
      strides: { ints: [1, strides[0], strides[1], 1] },
      padding: { s: paddingOf(layer, config.padding) },
      data_format: { s: 'NHWC' },
    };
    const output = graph.op1('MaxPool', [input], attrs);
    return { output, backward: (outputGrad) => graph.op1('MaxPoolGrad', [input, output, outputGrad], attrs) };
  },

  /** Forward: ResizeNearestNeighbor. Gradient: ResizeNearestNeighborGrad (sums each block). */
  UpSampling2D: ({ graph, layer, config, input, inputShape }) => {
    if (config.interpolation !== undefined && config.interpolation !== 'nearest') {
      throw new UnsupportedModelError(`${layer.name}: only nearest-neighbour upsampling is supported.`);
    }
    const [height, width] = staticDims(inputShape, layer);
    const size = pair(config.size, 'size', layer);
    const attrs = { ...FLOAT_OP, align_corners: { b: false }, half_pixel_centers: { b: false } };
    const outputSize = graph.constInt([height * size[0], width * size[1]]);
    const output = graph.op1('ResizeNearestNeighbor', [input, outputSize], attrs);
    return {
      output,
      backward: (outputGrad) => {
        const inputSize = graph.constInt([height, width]);
        return graph.op1('ResizeNearestNeighborGrad', [outputGrad, inputSize], attrs);
      },
    };
  },

  /** Forward: Reshape to the output shape. Gradient: Reshape back to the input's. */
  Reshape: lowerReshape,
  Flatten: lowerReshape,

  /** Forward: Relu. Gradient: ReluGrad. */
  ReLU: ({ graph, layer, config, input }) => {
    if (config.maxValue != null) throw new UnsupportedModelError(`${layer.name}: ReLU with maxValue is not supported.`);
    const { output, backward } = activation(graph, 'relu', input, layer);
    return { output, backward: (outputGrad) => (backward ? backward(outputGrad) : outputGrad) };
  },

  /** Forward: LeakyRelu. Gradient: LeakyReluGrad. */
  LeakyReLU: ({ graph, config, input }) => {
    const alpha = Number(config.alpha ?? 0.3);
    const attrs = { ...FLOAT_OP, alpha: { f: alpha } };
    const output = graph.op1('LeakyRelu', [input], attrs);
    // For alpha >= 0 the output has the input's sign, so the gradient can test the output instead
    // of the input. That leaves the output the only consumer of a preceding BiasAdd, which lets
    // Grappler fuse Conv2D + BiasAdd + LeakyRelu (with the input it gives up and logs "remapper
    // failed").
    const features = alpha >= 0 ? output : input;
    return {
      output,
      backward: (outputGrad) => graph.op1('LeakyReluGrad', [outputGrad, features], attrs),
    };
  },

  /** Forward: the activation's op (Relu, Sigmoid, Tanh; none for linear). Gradient: its *Grad op. */
  Activation: ({ graph, layer, config, input }) => {
    const { output, backward } = activation(graph, String(config.activation), input, layer);
    return { output, backward: (outputGrad) => (backward ? backward(outputGrad) : outputGrad) };
  },

  /**
   * Training: FusedBatchNormV3 on the batch's statistics, and the moving averages updated.
   * Gradient: FusedBatchNormGradV3. Inference: FusedBatchNormV3 on the moving statistics.
   */
  BatchNormalization: ({ graph, reads, training, layer, config, input, inputShape }) => {
    const axis = Number(config.axis ?? -1);
    if ((axis !== -1 && axis !== inputShape.length - 1) || config.center === false || config.scale === false) {
      throw new UnsupportedModelError(
        `${layer.name}: BatchNormalization is supported on the last axis with center and scale.`,
      );
    }
    if (inputShape.length !== 2 && inputShape.length !== 4) {
      throw new UnsupportedModelError(
        `${layer.name}: BatchNormalization on rank-${inputShape.length} input is not supported.`,
      );
    }
    const epsilon = Number(config.epsilon ?? 1e-3);
    const momentum = Number(config.momentum ?? 0.99);
    const [gamma, beta, movingMean, movingVariance] = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((field) =>
      layerVariable(layer, field),
    );
    const channels = gamma.shape[0];
    // FusedBatchNorm works on NHWC; a [batch, channels] input becomes [batch, 1, 1, channels].
    const flat = inputShape.length === 2;
    const to4d = (tensor: Output) => (flat ? graph.reshape(tensor, [-1, 1, 1, channels]) : tensor);
    const unflatten = (tensor: Output) => (flat ? graph.reshape(tensor, [-1, channels]) : tensor);
    const input4d = to4d(input);
    const attrs = { ...FLOAT_OP, U: { type: DataType.float }, epsilon: { f: epsilon }, data_format: { s: 'NHWC' } };
    const gammaValue = reads.read(gamma.name, gamma.shape);
    const betaValue = reads.read(beta.name, beta.shape);
    if (!training) {
      const movingStatistics = [movingMean, movingVariance].map((variable) =>
        reads.read(variable.name, variable.shape),
      );
      const [output] = graph.op(
        'FusedBatchNormV3',
        [input4d, gammaValue, betaValue, ...movingStatistics],
        { ...attrs, is_training: { b: false } },
        { outputs: 6 },
      );
      return { output: unflatten(output) };
    }
    const empty = graph.constFloat([], [0]);
    const [output, batchMean, , reserve1, reserve2, reserve3] = graph.op(
      'FusedBatchNormV3',
      [input4d, gammaValue, betaValue, empty, empty],
      { ...attrs, is_training: { b: true } },
      { outputs: 6 },
    );
    // Moving averages as tfjs updates them: moving -= (moving - batch) * (1 - momentum), with the
    // biased batch variance (tfjs's moments), computed here rather than taken from the op, whose
    // variance output is Bessel-corrected.
    const meanOverBatch = (tensor: Output) =>
      graph.op1('Mean', [tensor, graph.constInt([0, 1, 2])], {
        ...FLOAT_OP,
        Tidx: { type: DataType.int32 },
        keep_dims: { b: false },
      });
    const batchVariance = meanOverBatch(
      graph.op1('SquaredDifference', [input4d, graph.op1('StopGradient', [batchMean], FLOAT_OP)], FLOAT_OP),
    );
    const decay = graph.constFloat(1 - momentum);
    for (const [variable, batchValue] of [
      [movingMean, batchMean],
      [movingVariance, batchVariance],
    ] as const) {
      const current = reads.read(variable.name, variable.shape);
      const correction = graph.op1('Mul', [graph.op1('Sub', [current, batchValue], FLOAT_OP), decay], FLOAT_OP);
      reads.assign(variable.name, variable.shape, graph.op1('Sub', [current, correction], FLOAT_OP));
    }
    return {
      output: unflatten(output),
      backward: (outputGrad, weightGradients) => {
        const [inputGrad, gammaGrad, betaGrad] = graph.op(
          'FusedBatchNormGradV3',
          [to4d(outputGrad), input4d, gammaValue, reserve1, reserve2, reserve3],
          { ...attrs, is_training: { b: true } },
          { outputs: 5 },
        );
        weightGradients.set(gamma.name, gammaGrad);
        weightGradients.set(beta.name, betaGrad);
        return unflatten(inputGrad);
      },
    };
  },

  /**
   * Training: Mul by a mask from StatelessRandomUniform (a fresh one per step). Gradient: Mul by
   * the same mask. Inference, or a rate that drops nothing: the input as it is.
   */
  Dropout: ({ graph, training, seed, layer, config, input, dropoutIndex }) => {
    const rate = Number(config.rate);
    if (config.noiseShape != null) {
      throw new UnsupportedModelError(`${layer.name}: Dropout with noiseShape is not supported.`);
    }
    // tfjs drops only for 0 < rate < 1 and passes everything through otherwise.
    if (!training || !(rate > 0 && rate < 1)) return { output: input, backward: (outputGrad) => outputGrad };
    if (!seed) throw new Error(`${layer.name}: a training step with Dropout needs a seed input.`);
    // A fresh mask per step from the fed seed, offset per layer: keep with probability
    // 1 - rate and scale by 1 / (1 - rate), as tfjs's dropout does.
    const layerSeed = graph.op1('Add', [seed, graph.constInt([0, dropoutIndex])], { T: { type: DataType.int32 } });
    const uniform = graph.op1('StatelessRandomUniform', [graph.shape(input), layerSeed], {
      dtype: { type: DataType.float },
      T: { type: DataType.int32 },
      Tseed: { type: DataType.int32 },
    });
    const keep = graph.toFloat(graph.op1('GreaterEqual', [uniform, graph.constFloat(rate)], FLOAT_OP), DataType.bool);
    const mask = graph.op1('Mul', [keep, graph.constFloat(1 / (1 - rate))], FLOAT_OP);
    const output = graph.op1('Mul', [input, mask], FLOAT_OP);
    return { output, backward: (outputGrad) => graph.op1('Mul', [outputGrad, mask], FLOAT_OP) };
  },
};

/** Reshape and Flatten: a Reshape to the output's shape, and back for the gradient. */
function lowerReshape({ graph, layer, input, inputShape }: LayerCall): LoweredLayer {
  const outputDims = staticDims(layer.computeOutputShape(inputShape) as Shape, layer);
  const inputDims = staticDims(inputShape, layer);
  return {
    output: graph.reshape(input, [-1, ...outputDims]),
    backward: (outputGrad) => graph.reshape(outputGrad, [-1, ...inputDims]),
  };
}

/**
 * The end of Dense, Conv2D and Conv2DTranspose: BiasAdd (unless useBias is false) and the
 * activation; backward, the activation's gradient and BiasAddGrad, then `linearBackward`, the
 * layer's own gradient, on d loss / d linearOutput.
 */
function withBiasAndActivation(call: LayerCall, linearOutput: Output, linearBackward: Backward): LoweredLayer {
  const { graph, reads, layer, config } = call;
  let preActivation = linearOutput;
  let biasName: string | undefined;
  if (config.useBias !== false) {
    const bias = layerVariable(layer, 'bias');
    biasName = bias.name;
    const biasValue = reads.read(bias.name, bias.shape);
    preActivation = graph.op1('BiasAdd', [linearOutput, biasValue], { ...FLOAT_OP, data_format: { s: 'NHWC' } });
  }
  const activated = activation(graph, String(config.activation ?? 'linear'), preActivation, layer);
  return {
    output: activated.output,
    backward: (outputGrad, weightGradients, needInputGrad) => {
      const preActivationGrad = activated.backward ? activated.backward(outputGrad) : outputGrad;
      if (biasName) {
        const biasGrad = graph.op1('BiasAddGrad', [preActivationGrad], { ...FLOAT_OP, data_format: { s: 'NHWC' } });
        weightGradients.set(biasName, biasGrad);
      }
      return linearBackward(preActivationGrad, weightGradients, needInputGrad);
    },
  };
}

/** An activation function's op and its gradient (none for linear, which passes it through). */
function activation(
  graph: GraphBuilder,
  name: string,
  input: Output,
  layer: LayerLike,
): { output: Output; backward?: (outputGrad: Output) => Output } {
  switch (name) {
    case 'linear':
      return { output: input };
    case 'relu': {
      const output = graph.op1('Relu', [input], FLOAT_OP);
      return { output, backward: (outputGrad) => graph.op1('ReluGrad', [outputGrad, output], FLOAT_OP) };
    }
    case 'sigmoid': {
      const output = graph.op1('Sigmoid', [input], FLOAT_OP);
      return { output, backward: (outputGrad) => graph.op1('SigmoidGrad', [output, outputGrad], FLOAT_OP) };
    }
    case 'tanh': {
      const output = graph.op1('Tanh', [input], FLOAT_OP);
      return { output, backward: (outputGrad) => graph.op1('TanhGrad', [output, outputGrad], FLOAT_OP) };
    }
    default:
      throw new UnsupportedModelError(`${layer.name}: activation "${name}" is not supported by the graph engine.`);
  }
}

/** A layer's weight (`kernel`, `bias`, `gamma`, ...), which must exist. */
function layerVariable(layer: LayerLike, field: string): LayerVariableLike {
  const variable = layerWeightField(layer, field);
  if (!variable) throw new UnsupportedModelError(`${layer.name}: has no ${field} (is the model built?).`);
  return variable;
}

/** A setting given as one number or two (strides, poolSize, ...), as a pair. */
function pair(value: unknown, setting: string, layer: LayerLike): [number, number] {
  const values = Array.isArray(value) ? value : [value, value];
  if (values.length !== 2 || !values.every((entry) => typeof entry === 'number')) {
    throw new UnsupportedModelError(`${layer.name}: ${setting} ${JSON.stringify(value)} is not a pair of numbers.`);
  }
  return values as [number, number];
}

function paddingOf(layer: LayerLike, padding: unknown): string {
  if (padding !== 'same' && padding !== 'valid') {
    throw new UnsupportedModelError(
      `${layer.name}: padding "${String(padding)}" is not supported by the graph engine (same, valid).`,
    );
  }
  return padding.toUpperCase();
}

/** The attributes of Conv2D and its two gradient ops (NHWC, no dilation). */
function convAttrs(strides: [number, number], padding: string): Record<string, AttrValue> {
  return {
    ...FLOAT_OP,
    strides: { ints: [1, strides[0], strides[1], 1] },
    padding: { s: padding },
    data_format: { s: 'NHWC' },
    dilations: { ints: [1, 1, 1, 1] },
  };
}

/** The shape without the batch, which must be known. */
function staticDims(shape: Shape, layer: LayerLike): number[] {
  const rest = shape.slice(1);
  if (rest.some((dim) => dim === null)) {
    throw new UnsupportedModelError(`${layer.name}: input shape [${shape}] must be known apart from the batch.`);
  }
  return rest as number[];
}
