/**
 * Training a variational autoencoder (VAE, 변분 오토인코더) on a compiled graph:
 *
 *     const vae = compiledVae({ encoder, decoder, optimizer: tf.train.adam(0.0005), reconstructionWeight: 1000 });
 *     const { loss, reconstruction, kl } = await vae.trainOnBatch(images);
 *
 * `encoder` maps an image to [mean, logVar] (a chain of layers, then two Dense heads on its
 * output); `decoder` maps a code z back to an image. Each step samples z with the
 * reparameterisation trick and minimises weight * MSE + KL (see `vaeLossTerms`, the same loss in
 * tfjs ops). On the graph engine (lib/graph/vae.ts) forward, backward and the optimizer update
 * run as one TensorFlow graph; 'eager' (or 'auto' where the graph engine cannot take the models,
 * with a warning) runs tfjs's `optimizer.minimize` on `vaeLossTerms` instead.
 *
 * Weights stay in sync with tfjs as with `compiled(model)`: any tfjs read of a weight (predict,
 * getWeights, save) copies the session's newer values back first, and tfjs writes reach the
 * session before the next step.
 */
import type { LayersModel, Optimizer, Scalar, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { GraphProgram, UnsupportedModelError } from '../graph/program';
import { addVaeGraph, vaeParts, type VaeGraphHandle, type VaeParts } from '../graph/vae';
import {
  addVariableListener,
  layerVariables,
  tfjsVersionMismatch,
  type LayerVariableLike,
} from '../graph/tfjsInternals';
import { deriveSeed, randomSeed, SEED_STREAMS } from '../random';
import { setDropoutSeeds } from './dropout';
import type { TrainingEngine } from './engine';
import { afterStep, beforeStep } from './interrupt';
import { SessionSync, type SessionRelease } from './sessionSync';

/** The loss of one batch and its two parts (loss = reconstruction + kl), averaged over the batch. */
// A type alias, not an interface, so it passes where a Record<string, number> is expected (a monitor).
export type VaeLosses = {
  loss: number;
  /** reconstructionWeight * mean squared error per image. */
  reconstruction: number;
  /** KL divergence of N(mean, exp(logVar)) from N(0, 1), per image. */
  kl: number;
};

export interface VaeLossTensors {
  loss: Scalar;
  reconstruction: Scalar;
  kl: Scalar;
}

export interface CompiledVaeOptions {
  /** image -> [mean, logVar]: a chain of layers, then two Dense heads on its output. */
  encoder: LayersModel;
  /** z -> image, of the encoder's input shape. */
  decoder: LayersModel;
  /** Trains every trainable weight of both models; Adam or Adadelta on the graph engine. */
  optimizer: Optimizer;
  /** The reconstruction term's weight against KL. Default 1000 (the "Generative Deep Learning" book's). */
  reconstructionWeight?: number;
  /** 'auto' (default): the graph engine, or eager with a warning saying why; 'graph' or 'eager' to insist. */
  engine?: TrainingEngine;
  /** Base seed of the steps' noise eps (and Dropout masks). Default: a random one. */
  seed?: number;
}

export interface VaeStepOptions {
  /** eps for this step, [batch, zDim]; default: drawn from the step's seed. */
  noise?: Tensor;
  /** Seed of this step's eps; default derived from the base seed and the step count. */
  seed?: number;
}

export interface CompiledVae {
  readonly encoder: LayersModel;
  readonly decoder: LayersModel;
  readonly engine: 'graph' | 'eager';
  /** Why the eager engine runs the steps (empty on the graph engine). */
  readonly reason: string;
  readonly reconstructionWeight: number;
  /** One training step on a batch of images; returns its losses (before the update). */
  trainOnBatch(x: Tensor, options?: VaeStepOptions): Promise<VaeLosses>;
  /** The losses on x without training (inference mode), in batches of `batchSize` (default 500). */
  evaluate(x: Tensor, options?: VaeStepOptions & { batchSize?: number }): Promise<VaeLosses>;
  /** Copies the newest weights back and frees the compiled graph (the next step compiles again). */
  release(): void;
}

/**
 * The VAE's loss in tfjs ops, as a notebook writes it: z = mean + exp(logVar / 2) * noise;
 * reconstruction = weight * mean over pixels of (x - decoder(z))^2; KL = -0.5 * sum over z of
 * (1 + logVar - mean^2 - exp(logVar)); each averaged over the batch. Scalars the caller disposes.
 */
export function vaeLossTerms(
  encoder: LayersModel,
  decoder: LayersModel,
  x: Tensor,
  noise: Tensor,
  reconstructionWeight: number,
  training = false,
): VaeLossTensors {
  return tf.tidy(() => {
    const [mean, logVar] = encoder.apply(x, { training }) as Tensor[];
    const z = mean.add(logVar.mul(0.5).exp().mul(noise));
    const rebuilt = decoder.apply(z, { training }) as Tensor;
    const pixelAxes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    const reconstruction = tf.squaredDifference(x, rebuilt).mean(pixelAxes).mul(reconstructionWeight).mean() as Scalar;
    const kl = tf.scalar(1).add(logVar).sub(mean.square()).sub(logVar.exp()).sum(1).mul(-0.5).mean() as Scalar;
    return { loss: reconstruction.add(kl) as Scalar, reconstruction, kl };
  });
}

/** The graph side of one encoder/decoder pair: a session, and its sync with the tfjs weights. */
class VaeWorkspace extends SessionSync {
  step: VaeGraphHandle | undefined;
  evaluation: VaeGraphHandle | undefined;
  /** Set when a newer compiledVae on the same encoder took over; this one must not train again. */
  closed = false;
  private readonly removeListeners: Array<() => void> = [];

  constructor(
    readonly parts: VaeParts,
    readonly encoder: LayersModel,
    readonly decoder: LayersModel,
    readonly optimizer: Optimizer,
    readonly weight: number,
  ) {
    super();
    const variables = new Set([...layerVariables(encoder), ...layerVariables(decoder)]);
    for (const variable of variables) {
      this.removeListeners.push(
        addVariableListener(variable, {
          before: () => this.beforeTfjsAccess(),
          afterWrite: () => this.afterTfjsWrite(),
          // encoder.dispose() or decoder.dispose(): the session goes with the weights.
          beforeDispose: () => this.release('dispose'),
        }),
      );
    }
  }

  /** Builds the graph (checking it compiles) without starting a session. */
  static check(parts: VaeParts, optimizer: Optimizer, weight: number): void {
    const program = new GraphProgram();
    const graphOptimizer = program.optimizerFor(optimizer, parts.variables, 'compiledVae');
    addVaeGraph(program, parts, graphOptimizer, weight, 'vae_train', true);
    addVaeGraph(program, parts, graphOptimizer, weight, 'vae_evaluate', false);
  }

  ready(): GraphProgram {
    if (this.closed) {
      throw new Error(
        `compiledVae: this handle was replaced by a newer compiledVae on encoder "${this.encoder.name}"; ` +
          'train with the newer one (a graph keeps its weights in step with tfjs only for the latest handle).',
      );
    }
    if (this.program) {
      if (this.tfjsNewer) this.push();
      return this.program;
    }
    const program = new GraphProgram();
    const graphOptimizer = program.optimizerFor(this.optimizer, this.parts.variables, 'compiledVae');
    this.step = addVaeGraph(program, this.parts, graphOptimizer, this.weight, 'vae_train', true);
    this.evaluation = addVaeGraph(program, this.parts, graphOptimizer, this.weight, 'vae_evaluate', false);
    program.start();
    this.adopt(program);
    return program;
  }

  release(how: SessionRelease = 'release'): void {
    this.releaseSession(how);
    this.step = undefined;
    this.evaluation = undefined;
  }

  /** Releases the session and stops listening to the weights. */
  close(): void {
    this.release();
    this.closed = true;
    this.removeListeners.splice(0).forEach((remove) => remove());
  }
}

/** The live workspace of each encoder: a new compiledVae on the same models replaces the old one. */
const workspaces = new WeakMap<LayersModel, VaeWorkspace>();

function checkImages(caller: string, encoder: LayersModel, x: Tensor): void {
  const expected = encoder.inputs[0].shape.slice(1);
  const ok =
    x.rank === expected.length + 1 && expected.every((d, i) => d === null || d === x.shape[i + 1]) && x.shape[0] > 0;
  if (!ok)
    throw new Error(
      `${caller}: x has shape [${x.shape.join(', ')}]; ` +
        `encoder "${encoder.name}" takes [batch, ${expected.join(', ')}] with batch >= 1.`,
    );
}

function checkNoise(caller: string, noise: Tensor | undefined, batch: number, zDim: number): void {
  if (noise && (noise.rank !== 2 || noise.shape[0] !== batch || noise.shape[1] !== zDim)) {
    throw new Error(
      `${caller}: options.noise has shape [${noise.shape.join(', ')}]; ` +
        `it must be [${batch}, ${zDim}], one eps per image.`,
    );
  }
}

/** Compiles the VAE's training step; see the file comment. */
export function compiledVae(options: CompiledVaeOptions): CompiledVae {
  const { encoder, decoder, optimizer } = options;
  const weight = options.reconstructionWeight ?? 1000;
  if (!(Number.isFinite(weight) && weight > 0))
    throw new Error(`compiledVae: reconstructionWeight must be a positive number; got ${weight}.`);
  if (!optimizer || typeof optimizer.minimize !== 'function')
    throw new Error('compiledVae: options.optimizer must be a tfjs optimizer, e.g. tf.train.adam(0.0005).');
  const requested = options.engine ?? 'auto';
  if (requested !== 'auto' && requested !== 'graph' && requested !== 'eager') {
    throw new Error(
      `compiledVae: options.engine must be 'auto', 'graph' or 'eager'; got ${JSON.stringify(requested)}.`,
    );
  }
  // Structural errors (wrong outputs, sizes that do not fit) hold for every engine.
  let parts: VaeParts | undefined;
  let structureProblem = '';
  try {
    parts = vaeParts(encoder, decoder);
  } catch (error) {
    if (!(error instanceof UnsupportedModelError)) throw error;
    structureProblem = error.message;
  }
  const zDim = (encoder.outputs[0].shape[1] ?? 0) as number;

  let engine: 'graph' | 'eager' = 'graph';
  let reason = '';
  const fallBack = (why: string) => {
    if (requested === 'graph') throw new Error(`compiledVae: the graph engine cannot train these models: ${why}`);
    engine = 'eager';
    reason = why;
    if (requested === 'auto')
      console.warn(`compiledVae: ${why}; training with tfjs's eager optimizer.minimize instead (slower).`);
  };
  if (requested === 'eager') {
    engine = 'eager';
    reason = 'requested';
  } else if (tf.getBackend() !== 'tensorflow') {
    fallBack(`the graph engine needs the native backend; the active backend is "${tf.getBackend()}"`);
  } else if (tfjsVersionMismatch()) {
    fallBack(tfjsVersionMismatch() as string);
  } else if (!parts) {
    fallBack(structureProblem);
  } else {
    try {
      VaeWorkspace.check(parts, optimizer, weight);
    } catch (error) {
      if (!(error instanceof UnsupportedModelError)) throw error;
      fallBack(error.message);
    }
  }

  workspaces.get(encoder)?.close();
  const workspace =
    engine === 'graph' && parts ? new VaeWorkspace(parts, encoder, decoder, optimizer, weight) : undefined;
  if (workspace) workspaces.set(encoder, workspace);
  else workspaces.delete(encoder);

  const baseSeed = options.seed ?? randomSeed();
  let steps = 0;
  const trainedVariables =
    parts?.variables ?? ([...encoder.trainableWeights, ...decoder.trainableWeights] as unknown as LayerVariableLike[]);
  const eagerVariables = () => trainedVariables.map((v) => v.read());

  const run = async (
    caller: string,
    x: Tensor,
    noiseOption: Tensor | undefined,
    seed: number,
    train: boolean,
  ): Promise<VaeLosses> => {
    checkImages(caller, encoder, x);
    checkNoise(caller, noiseOption, x.shape[0], zDim);
    const asFloat = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    let results: Tensor[];
    try {
      if (workspace) {
        const program = workspace.ready();
        const handle = (train ? workspace.step : workspace.evaluation) as VaeGraphHandle;
        const seedTensor = tf.tensor1d([seed | 0, 0x5eed], 'int32');
        const feeds: Array<[typeof handle.input, Tensor]> = [
          [handle.input, asFloat],
          [handle.seed, seedTensor],
        ];
        if (noiseOption) feeds.push([handle.noise, noiseOption]);
        try {
          results = program.runStep(handle.optimizer, feeds, [handle.loss, handle.reconstruction, handle.kl], train);
        } finally {
          seedTensor.dispose();
        }
        if (train) workspace.sessionNewer = true;
      } else {
        const noise = noiseOption ?? tf.randomNormal([x.shape[0], zDim], 0, 1, 'float32', seed);
        try {
          if (train) {
            let kept: VaeLossTensors | undefined;
            setDropoutSeeds(encoder, seed);
            setDropoutSeeds(decoder, deriveSeed(seed, SEED_STREAMS.vae.decoderDropout));
            try {
              const cost = optimizer.minimize(
                () => {
                  const terms = vaeLossTerms(encoder, decoder, asFloat, noise, weight, true);
                  // minimize keeps only the returned loss; the two parts are kept for the report.
                  kept = { loss: terms.loss, reconstruction: tf.keep(terms.reconstruction), kl: tf.keep(terms.kl) };
                  return terms.loss;
                },
                true,
                eagerVariables(),
              ) as Scalar;
              results = [cost, (kept as VaeLossTensors).reconstruction, (kept as VaeLossTensors).kl];
            } finally {
              setDropoutSeeds(encoder, undefined);
              setDropoutSeeds(decoder, undefined);
            }
          } else {
            const terms = vaeLossTerms(encoder, decoder, asFloat, noise, weight, false);
            results = [terms.loss, terms.reconstruction, terms.kl];
          }
        } finally {
          if (noise !== noiseOption) noise.dispose();
        }
      }
    } finally {
      if (asFloat !== x) asFloat.dispose();
    }
    try {
      const [loss, reconstruction, kl] = await Promise.all(results.map(async (t) => (await t.data())[0]));
      return { loss, reconstruction, kl };
    } finally {
      tf.dispose(results);
    }
  };

  return {
    encoder,
    decoder,
    engine,
    reason,
    reconstructionWeight: weight,
    async trainOnBatch(x, stepOptions = {}) {
      await beforeStep(
        () =>
          `Training interrupted: the VAE's encoder "${encoder.name}" and decoder "${decoder.name}" ` +
          'keep the weights of their last finished step. Rerun the cell to carry on from there.',
      );
      const step = steps;
      steps += 1;
      try {
        const seed = stepOptions.seed ?? deriveSeed(baseSeed, SEED_STREAMS.vae.train, step);
        return await run('compiledVae.trainOnBatch', x, stepOptions.noise, seed, true);
      } finally {
        afterStep();
      }
    },
    async evaluate(x, evaluateOptions = {}) {
      const batchSize = evaluateOptions.batchSize ?? 500;
      if (!Number.isInteger(batchSize) || batchSize < 1)
        throw new Error(`compiledVae.evaluate: options.batchSize must be a whole number >= 1; got ${batchSize}.`);
      checkImages('compiledVae.evaluate', encoder, x);
      checkNoise('compiledVae.evaluate', evaluateOptions.noise, x.shape[0], zDim);
      const count = x.shape[0];
      const sums = { loss: 0, reconstruction: 0, kl: 0 };
      for (let start = 0; start < count; start += batchSize) {
        const size = Math.min(batchSize, count - start);
        const xb = x.slice(start, size);
        const noise = evaluateOptions.noise?.slice(start, size);
        try {
          const evaluationSeed = evaluateOptions.seed ?? deriveSeed(baseSeed, SEED_STREAMS.vae.evaluate);
          const losses = await run('compiledVae.evaluate', xb, noise, deriveSeed(evaluationSeed, start), false);
          for (const key of ['loss', 'reconstruction', 'kl'] as const) sums[key] += losses[key] * size;
        } finally {
          tf.dispose([xb, ...(noise ? [noise] : [])]);
        }
      }
      return { loss: sums.loss / count, reconstruction: sums.reconstruction / count, kl: sums.kl / count };
    },
    release() {
      workspace?.release();
    },
  };
}
