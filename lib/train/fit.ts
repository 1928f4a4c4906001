/**
 * `fit`: epoch training of any compiled x -> y model, named after Keras's `model.fit`, whose
 * options it mirrors (epochs, batch size, validation data, shuffle). Shuffled mini-batches go
 * through the compiled `trainOnBatch` (so the shuffle is seeded, unlike tfjs's model.fit), with
 * validation after each epoch, per-epoch history as plain arrays, divergence checks and
 * progress. The target defaults to the input (an autoencoder's x -> x); `target` gives y.
 */
import type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { epochBatchIndices } from '../data/batches';
import { createRng, deriveSeed, randomSeed, SEED_STREAMS } from '../random';
import { assertFinite } from './divergence';
import { compiled, syncWeights, type CompiledOptions, type TrainingEngine } from './engine';
import { TrainingMonitor, type MonitorView } from './monitor';

/** Per-epoch history; accuracy arrays are present only when the model reports accuracy. */
export interface FitHistory {
  epoch: number[];
  /** Mean training loss over the epoch's batches (weighted by batch size, like Keras). */
  loss: number[];
  /** Loss on the validation data after each epoch (empty without validation data). */
  valLoss: number[];
  accuracy?: number[];
  valAccuracy?: number[];
}

export interface EpochResult {
  epoch: number;
  loss: number;
  valLoss?: number;
  accuracy?: number;
  valAccuracy?: number;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /**
   * Data to evaluate after each epoch, as Keras's `validation_data` / tfjs's `validationData`:
   * `[xTest, yTest]`, or one tensor for an autoencoder (its own target).
   */
  validationData?: Tensor | [Tensor, Tensor];
  /** Training targets. Default: `x` itself (an autoencoder reconstructs its input). */
  target?: Tensor;
  /** Shuffle the samples each epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Base seed for shuffles and dropout. Default: a random one. */
  seed?: number;
  /** 'mixed_bfloat16' computes in bfloat16 where the CPU has it (see compiled). Default 'float32'. */
  precision?: CompiledOptions['precision'];
  /** Where progress shows (see TrainingMonitor): a view, true (default) for the default bar, false for none. */
  progress?: MonitorView | boolean;
  /** Called after each epoch. */
  onEpoch?: (result: EpochResult) => void | Promise<void>;
  /** Called after each batch with its loss (e.g. to watch memory in tests). */
  onBatch?: (info: { epoch: number; batch: number; loss: number }) => void | Promise<void>;
  /**
   * 'auto' (default): a compiled TensorFlow graph when the model allows it, else tfjs's eager
   * trainOnBatch; 'graph' or 'eager' to insist (see train/engine.ts). With the graph engine the
   * model's weights are brought up to date after each epoch, before validation and `onEpoch`,
   * and weights `onEpoch` changes are taken up; inside `onBatch` the model holds the weights of
   * the last epoch. A learning rate changed anywhere takes effect at the next batch.
   */
  engine?: TrainingEngine;
}

/** The seed streams an epoch draws from (deriveSeed's second argument). */
const STREAMS = SEED_STREAMS.fit;

function accuracyIndex(model: LayersModel): number {
  return model.metricsNames.findIndex((name) => name === 'acc' || name === 'accuracy' || name.endsWith('_acc'));
}

async function readScalars(result: Scalar | Scalar[]): Promise<number[]> {
  const list = Array.isArray(result) ? result : [result];
  const values = await Promise.all(list.map(async (s) => (await s.data())[0]));
  tf.dispose(list);
  return values;
}

/**
 * Trains `model` for `options.epochs` epochs on `x`, towards `options.target` (default `x`);
 * returns the per-epoch history.
 */
export async function fit(model: LayersModel, x: Tensor, options: FitOptions): Promise<FitHistory> {
  if (!model.optimizer)
    throw new Error('fit: the model is not compiled; call model.compile({ optimizer, loss }) first.');
  if (!Number.isInteger(options.epochs) || options.epochs < 0)
    throw new Error(`fit: options.epochs must be a whole number >= 0; got ${options.epochs}.`);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new Error(`fit: options.batchSize must be a whole number >= 1; got ${options.batchSize}.`);
  const count = x.shape[0];
  const target = options.target ?? x;
  if (target.shape[0] !== count)
    throw new Error(`fit: options.target has ${target.shape[0]} samples but x has ${count}.`);
  const validation = options.validationData;
  const [validationX, validationY] = Array.isArray(validation) ? validation : [validation, validation];
  const accIndex = accuracyIndex(model);
  const withAccuracy = accIndex >= 0;
  const seed = options.seed ?? randomSeed();
  const history: FitHistory = {
    epoch: [],
    loss: [],
    valLoss: [],
    ...(withAccuracy ? { accuracy: [], valAccuracy: [] } : {}),
  };

  const step = compiled(model, { engine: options.engine, precision: options.precision });
  const monitor = new TrainingMonitor({ epochs: options.epochs, label: model.name, view: options.progress ?? true });
  let epoch = 0;
  try {
    for (; epoch < options.epochs; epoch++) {
      // Seeded shuffles (model.fit's are not), cut into batches; the last one may be smaller.
      const shuffle = (options.shuffle ?? true) ? createRng(deriveSeed(seed, STREAMS.shuffle, epoch)) : undefined;
      const epochBatches = epochBatchIndices(count, options.batchSize, shuffle);
      let lossSum = 0;
      let accSum = 0;
      const batches = epochBatches.length;
      for (let batch = 0; batch < batches; batch++) {
        const indexTensor = tf.tensor1d(epochBatches[batch], 'int32');
        const xb = tf.gather(x, indexTensor);
        const yb = target === x ? xb : tf.gather(target, indexTensor);
        const size = indexTensor.shape[0];
        indexTensor.dispose();
        let values: number[];
        try {
          values = await step.trainOnBatchWithMetrics(xb, yb, {
            dropoutSeed: deriveSeed(seed, STREAMS.dropout, epoch, batch),
          });
        } finally {
          tf.dispose(yb === xb ? [xb] : [xb, yb]);
        }
        assertFinite(`epoch ${epoch}, batch ${batch}`, { loss: values[0] });
        lossSum += values[0] * size;
        if (withAccuracy) accSum += values[accIndex] * size;
        if (options.onBatch) await options.onBatch({ epoch, batch, loss: values[0] });
        const done = epoch + (batch + 1) / batches;
        if (!(await monitor.progress(done, { loss: lossSum / (batch * options.batchSize + size) }))) break;
      }
      if (monitor.stopped) break;
      const result: EpochResult = { epoch, loss: lossSum / count };
      if (withAccuracy) result.accuracy = accSum / count;
      if (validationX && validationY) {
        const valValues = await readScalars(
          model.evaluate(validationX, validationY, { batchSize: Math.max(options.batchSize, 256) }),
        );
        result.valLoss = valValues[0];
        if (withAccuracy) result.valAccuracy = valValues[accIndex];
        assertFinite(`epoch ${epoch} (validation)`, { val_loss: valValues[0] });
      }
      history.epoch.push(epoch);
      history.loss.push(result.loss);
      if (result.valLoss !== undefined) history.valLoss.push(result.valLoss);
      if (result.accuracy !== undefined) history.accuracy?.push(result.accuracy);
      if (result.valAccuracy !== undefined) history.valAccuracy?.push(result.valAccuracy);
      const goOn = await monitor.update(epoch, {
        loss: result.loss,
        ...(result.valLoss !== undefined ? { val_loss: result.valLoss } : {}),
      });
      // onEpoch may read or change the model: reads see the trained weights, changes are taken up.
      if (options.onEpoch) await options.onEpoch(result);
      if (!goOn) break;
    }
  } finally {
    syncWeights(model);
  }
  await monitor.finish(
    `fit: training interrupted in epoch ${epoch + 1} of ${options.epochs}; ` +
      `"${model.name}" keeps the weights of the last finished batch, ` +
      `and the history holds ${history.epoch.length} finished epochs. ` +
      'Rerun the cell to carry on from these weights.',
  );
  return history;
}
