/**
 * The losses and the metric the graph engine computes, as tfjs computes them: each loss with
 * its forward ops and its gradient side by side (LOSS_LOWERINGS), and binary accuracy
 * (METRIC_LOWERINGS). Which loss and metrics a compiled tfjs model trains with is read by
 * graphLossOf and graphMetricsOf.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DataType, FLOAT_OP, type GraphBuilder, type Output } from './builder';
import { UnsupportedModelError } from './errors';
import { compiledLoss } from './tfjsInternals';

export type GraphLoss = 'binaryCrossentropy' | 'meanSquaredError';

export type GraphMetric = 'binaryAccuracy';

/** The names tfjs's compile accepts for each loss. */
const LOSS_NAMES: Record<string, GraphLoss> = {
  binaryCrossentropy: 'binaryCrossentropy',
  binary_crossentropy: 'binaryCrossentropy',
  meanSquaredError: 'meanSquaredError',
  mean_squared_error: 'meanSquaredError',
  mse: 'meanSquaredError',
  MSE: 'meanSquaredError',
};

/** The loss a compiled model trains with, if the graph engine handles it. */
export function graphLossOf(model: LayersModel): GraphLoss {
  const loss = compiledLoss(model);
  const name = typeof loss === 'string' && Object.hasOwn(LOSS_NAMES, loss) ? LOSS_NAMES[loss] : undefined;
  if (!name) {
    throw new UnsupportedModelError(
      `model "${model.name}": loss ${typeof loss === 'string' ? `"${loss}"` : 'function'} ` +
        'is not supported by the graph engine (binaryCrossentropy, meanSquaredError).',
    );
  }
  return name;
}

/** The metrics trainOnBatch reports after the loss, if the graph engine computes them. */
export function graphMetricsOf(model: LayersModel): GraphMetric[] {
  const loss = graphLossOf(model);
  return model.metricsNames.slice(1).map((metric) => {
    // tfjs resolves 'accuracy' (reported as "acc") to binaryAccuracy for a binary cross-entropy loss.
    if ((metric === 'acc' || metric === 'accuracy') && loss === 'binaryCrossentropy') return 'binaryAccuracy';
    throw new UnsupportedModelError(
      `model "${model.name}": metric "${metric}" is not supported by the graph engine ` +
        '(accuracy with binaryCrossentropy is).',
    );
  });
}

/** What a loss is computed on: the model's output and the target, of the same shape. */
interface LossCall {
  graph: GraphBuilder;
  prediction: Output;
  target: Output;
  /** The number of elements of `prediction`, as a float32 scalar. */
  elementCount: Output;
}

export interface LoweredLoss {
  /** The mean over every element, as tfjs's per-sample mean followed by the batch mean. */
  loss: Output;
  /** d loss / d prediction, the start of the backward pass. */
  predictionGrad: Output;
}

const LOSS_LOWERINGS: Readonly<Record<GraphLoss, (call: LossCall) => LoweredLoss>> = {
  /** Forward: mean((prediction - target)^2). Gradient: 2 (prediction - target) / elements. */
  meanSquaredError: ({ graph, prediction, target, elementCount }) => ({
    loss: meanOfAll(graph, graph.op1('SquaredDifference', [prediction, target], FLOAT_OP)),
    predictionGrad: graph.op1(
      'Mul',
      [
        graph.op1('Sub', [prediction, target], FLOAT_OP),
        graph.op1('RealDiv', [graph.constFloat(2), elementCount], FLOAT_OP),
      ],
      FLOAT_OP,
    ),
  }),

  /**
   * tfjs's binary cross-entropy on probabilities. Forward: clip to [eps, 1 - eps], turn into
   * logits, then the stable sigmoid cross-entropy max(l, 0) - l y + log(1 + exp(-|l|)).
   * Gradient: (p - y) / (p (1 - p)) / elements inside the clip range, 0 outside.
   */
  binaryCrossentropy: ({ graph, prediction, target, elementCount }) => {
    const op = (type: string, ...inputs: Output[]) => graph.op1(type, inputs, FLOAT_OP);
    const epsilon = tf.backend().epsilon();
    const clipped = op('ClipByValue', prediction, graph.constFloat(epsilon), graph.constFloat(1 - epsilon));
    const oneMinusClipped = op('Sub', graph.constFloat(1), clipped);
    const logits = op('Log', op('RealDiv', clipped, oneMinusClipped));
    const perElement = op(
      'Add',
      op('Sub', op('Relu', logits), op('Mul', logits, target)),
      op('Log1p', op('Exp', op('Neg', op('Abs', logits)))),
    );
    const loss = meanOfAll(graph, perElement);
    const inRange = graph.toFloat(
      graph.op1('LogicalAnd', [
        op('GreaterEqual', prediction, graph.constFloat(epsilon)),
        op('LessEqual', prediction, graph.constFloat(1 - epsilon)),
      ]),
      DataType.bool,
    );
    const slope = op('RealDiv', op('Sub', clipped, target), op('Mul', clipped, oneMinusClipped));
    return { loss, predictionGrad: op('RealDiv', op('Mul', slope, inRange), elementCount) };
  },
};

type MetricLowering = (graph: GraphBuilder, prediction: Output, target: Output) => Output;

const METRIC_LOWERINGS: Readonly<Record<GraphMetric, MetricLowering>> = {
  /** The share of elements where (prediction > 0.5) equals the target, as tfjs's binaryAccuracy. */
  binaryAccuracy: (graph, prediction, target) => {
    const above = graph.op1('Greater', [prediction, graph.constFloat(0.5)], FLOAT_OP);
    const predicted = graph.toFloat(above, DataType.bool);
    const equal = graph.op1('Equal', [target, predicted], { ...FLOAT_OP, incompatible_shape_error: { b: true } });
    return meanOfAll(graph, graph.toFloat(equal, DataType.bool));
  },
};

/** Adds `loss` on `prediction` and `target`: the loss, and its gradient with respect to the prediction. */
export function lowerLoss(graph: GraphBuilder, loss: GraphLoss, prediction: Output, target: Output): LoweredLoss {
  const size = graph.op1('Size', [prediction], { ...FLOAT_OP, out_type: { type: DataType.int32 } });
  const elementCount = graph.toFloat(size, DataType.int32);
  return LOSS_LOWERINGS[loss]({ graph, prediction, target, elementCount });
}

/** Adds `metric` on `prediction` and `target` (a float32 scalar). */
export function lowerMetric(graph: GraphBuilder, metric: GraphMetric, prediction: Output, target: Output): Output {
  return METRIC_LOWERINGS[metric](graph, prediction, target);
}

/** The mean of every element of `tensor`. */
function meanOfAll(graph: GraphBuilder, tensor: Output): Output {
  return graph.op1('Mean', [graph.reshape(tensor, [-1]), graph.constInt([0])], {
    ...FLOAT_OP,
    Tidx: { type: DataType.int32 },
    keep_dims: { b: false },
  });
}
