/**
 * Correctness of the design (a) prototype against eager tfjs: three copies of the same models (same
 * seeded weights), the same batches, then step by step the losses of eager tfjs, of design (a), and of
 * design (b) (lib's compiled(); its first calls run eagerly: up to commit 6d7be1c the first 3, since 4451294 the first)
 * as a reference for what running in a graph changes. Dropout is switched off for the comparison (the
 * designs draw their masks from different random streams); a longer run with Dropout on shows the
 * prototype's losses going down.
 */
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../../../lib/tf';
import { createDcgan } from '../../../lib/models/dcgan';
import { compiled } from '../designB';
import { batchOf, buildVae, mnistImages, vaeLoss } from '../models';
import { adamSettings, dcganPrototype, vaePrototype } from './steps';
import type { Program } from './program';

const read = (tensors: Tensor[]): number[] => {
  const values = tensors.map((t) => t.dataSync()[0]);
  tf.dispose(tensors);
  return values;
};

function setDropoutRate(model: LayersModel, rate: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { rate: number }).rate = rate;
  }
}

/** The largest absolute difference between the session's weights (of `inSession`'s models) and `eager`'s. */
function weightDifference(program: Program, inSession: LayersModel[], eager: LayersModel[]): number {
  const values = program.values();
  let largest = 0;
  inSession.forEach((model, m) => {
    model.weights.forEach((weight, w) => {
      const sessionValue = values.get(weight);
      if (!sessionValue) throw new Error(`weight ${weight.name} is not in the session`);
      const eagerValue = eager[m].weights[w].read().dataSync();
      for (let i = 0; i < eagerValue.length; i++) {
        largest = Math.max(largest, Math.abs(eagerValue[i] - sessionValue[i]));
      }
    });
  });
  return largest;
}

/** One step's losses: name -> [eager, design (a), design (b)]. */
export type StepLosses = Record<string, [number, number, number]>;

export interface Comparison {
  steps: StepLosses[];
  /** The prototype's weights against eager tfjs's, largest difference: after the first step, after all. */
  firstWeightDifference: number;
  weightDifference: number;
  /** Window means of the prototype's losses over a longer run. */
  trend: Array<Record<string, number>>;
}

function windows(values: Array<Record<string, number>>, count: number): Array<Record<string, number>> {
  const size = Math.floor(values.length / count);
  return Array.from({ length: count }, (_, w) => {
    const slice = values.slice(w * size, (w + 1) * size);
    return Object.fromEntries(Object.keys(slice[0]).map((k) => [k, slice.reduce((s, v) => s + v[k], 0) / size]));
  });
}

export async function checkDcgan(options: { seed?: number; batch?: number; steps?: number; trendSteps?: number } = {}) {
  const { seed = 1, batch = 32, steps = 5, trendSteps = 100 } = options;
  const images = mnistImages('tanh');
  const [valid, fake] = [tf.ones([batch, 1]), tf.zeros([batch, 1])];
  const [eager, a, b] = [createDcgan({ seed }), createDcgan({ seed }), createDcgan({ seed })];
  for (const gan of [eager, a, b]) setDropoutRate(gan.discriminator, 0);
  const proto = dcganPrototype(a, { batch });
  const [bD, bCombined, bG] = [compiled(b.discriminator), compiled(b.combined), compiled(b.generator)];
  const comparison: StepLosses[] = [];
  let first = NaN;
  for (let i = 0; i < steps; i++) {
    const real = batchOf(images, batch, i);
    const noise = tf.randomNormal([batch, 100], 0, 1, 'float32', seed + i);
    const eagerImages = eager.generator.predict(noise) as Tensor;
    const eagerLosses = [
      (await eager.discriminator.trainOnBatch(real, valid)) as number,
      (await eager.discriminator.trainOnBatch(eagerImages, fake)) as number,
      (await eager.combined.trainOnBatch(noise, valid)) as number,
    ];
    const [protoReal] = read(proto.trainD.run([real, valid]));
    const [protoImages] = proto.predictG.run([noise]);
    const [protoFake] = read(proto.trainD.run([protoImages, fake]));
    const [protoG] = read(proto.trainCombined.run([noise, valid]));
    const bImages = bG.predict(noise);
    const bLosses = [
      await bD.trainOnBatch(real, valid),
      await bD.trainOnBatch(bImages, fake),
      await bCombined.trainOnBatch(noise, valid),
    ];
    comparison.push({
      dReal: [eagerLosses[0], protoReal, bLosses[0]],
      dFake: [eagerLosses[1], protoFake, bLosses[1]],
      g: [eagerLosses[2], protoG, bLosses[2]],
    });
    tf.dispose([real, noise, eagerImages, protoImages, bImages]);
    if (i === 0)
      first = weightDifference(proto.program, [a.generator, a.discriminator], [eager.generator, eager.discriminator]);
  }
  const weights = weightDifference(
    proto.program,
    [a.generator, a.discriminator],
    [eager.generator, eager.discriminator],
  );
  proto.program.dispose();

  // Dropout on (the model's own rate), a longer run of the prototype alone.
  const trained = createDcgan({ seed: seed + 1 });
  const run = dcganPrototype(trained, { batch });
  const history: Array<Record<string, number>> = [];
  for (let i = 0; i < trendSteps; i++) {
    const real = batchOf(images, batch, i);
    const noise = tf.randomNormal([batch, 100], 0, 1, 'float32', 1000 + i);
    const [dReal] = read(run.trainD.run([real, valid], 3 * i));
    const [generated] = run.predictG.run([noise]);
    const [dFake] = read(run.trainD.run([generated, fake], 3 * i + 1));
    const [g] = read(run.trainCombined.run([noise, valid], 3 * i + 2));
    history.push({ dReal, dFake, g });
    tf.dispose([real, noise, generated]);
  }
  run.program.dispose();
  for (const gan of [eager, a, b, trained]) {
    gan.generator.dispose();
    gan.discriminator.dispose();
  }
  tf.dispose([images, valid, fake]);
  return {
    steps: comparison,
    firstWeightDifference: first,
    weightDifference: weights,
    trend: windows(history, 5),
  } satisfies Comparison;
}

export async function checkVae(options: { seed?: number; batch?: number; steps?: number; trendSteps?: number } = {}) {
  const { seed = 2024, batch = 32, steps = 5, trendSteps = 100 } = options;
  const reconstructionWeight = 1000;
  const images = mnistImages('unit');
  const [eager, a, b] = [buildVae(2, seed), buildVae(2, seed), buildVae(2, seed)];
  const optimizers = [tf.train.adam(0.0005), tf.train.adam(0.0005)];
  const eagerLoss = vaeLoss(eager.encoder, eager.decoder, reconstructionWeight);
  const weights = [...eager.encoder.trainableWeights, ...eager.decoder.trainableWeights].map(
    (w) => w.read() as Variable,
  );
  const proto = vaePrototype(a.encoder, a.decoder, adamSettings(optimizers[0]), reconstructionWeight, { batch });
  const bStep = compiled<[Tensor, Tensor]>([b.encoder, b.decoder], {
    loss: vaeLoss(b.encoder, b.decoder, reconstructionWeight),
    optimizer: optimizers[1],
  });
  const comparison: StepLosses[] = [];
  let first = NaN;
  for (let i = 0; i < steps; i++) {
    const x = batchOf(images, batch, i);
    const eps = tf.randomNormal([batch, 2], 0, 1, 'float32', seed + i);
    const terms = eagerLoss(x, eps);
    const [, eagerReconstruction, eagerKl] = read([terms.loss, terms.reconstruction, terms.kl]);
    const [eagerTotal] = read([optimizers[0].minimize(() => eagerLoss(x, eps).loss as tf.Scalar, true, weights)!]);
    const [protoLoss, protoReconstruction, protoKl] = read(proto.train.run([x, eps]));
    const bTerms = await bStep.trainOnBatch(x, eps);
    comparison.push({
      loss: [eagerTotal, protoLoss, bTerms.loss],
      reconstruction: [eagerReconstruction, protoReconstruction, bTerms.reconstruction],
      kl: [eagerKl, protoKl, bTerms.kl],
    });
    tf.dispose([x, eps]);
    if (i === 0) first = weightDifference(proto.program, [a.encoder, a.decoder], [eager.encoder, eager.decoder]);
  }
  const weightDiff = weightDifference(proto.program, [a.encoder, a.decoder], [eager.encoder, eager.decoder]);
  // The longer run: the prototype goes on from where it is.
  const history: Array<Record<string, number>> = [];
  for (let i = 0; i < trendSteps; i++) {
    const x = batchOf(images, batch, steps + i);
    const eps = tf.randomNormal([batch, 2], 0, 1, 'float32', 5000 + i);
    const [loss, reconstruction, kl] = read(proto.train.run([x, eps]));
    history.push({ loss, reconstruction, kl });
    tf.dispose([x, eps]);
  }
  proto.program.dispose();
  optimizers.forEach((optimizer) => optimizer.dispose());
  for (const models of [eager, a, b]) {
    models.encoder.dispose();
    models.decoder.dispose();
  }
  images.dispose();
  return {
    steps: comparison,
    firstWeightDifference: first,
    weightDifference: weightDiff,
    trend: windows(history, 5),
  } satisfies Comparison;
}

export interface GradientError {
  weight: string;
  /** Largest |gradient of (a) - tfjs's gradient|. */
  error: number;
  /** Largest |tfjs's gradient| of this weight. */
  scale: number;
}

/** Per weight, (a)'s gradient against tfjs's, worst relative error first. */
function gradientErrors(names: string[], proto: Tensor[], eager: Tensor[]): GradientError[] {
  const errors = proto.map((tensor, i) => {
    const [a, e] = [tensor.dataSync(), eager[i].dataSync()];
    let scale = 0;
    let error = 0;
    for (let k = 0; k < e.length; k++) {
      scale = Math.max(scale, Math.abs(e[k]));
      error = Math.max(error, Math.abs(a[k] - e[k]));
    }
    return { weight: names[i], error, scale };
  });
  return errors.sort((p, q) => q.error / q.scale - p.error / p.scale);
}

/** tfjs's gradients of `loss` for `weights`, in their order. */
function eagerGradients(loss: () => Tensor, weights: Array<{ read(): Tensor }>): Tensor[] {
  const variables = weights.map((w) => w.read() as Variable);
  const { value, grads } = tf.variableGrads(loss as () => tf.Scalar, variables);
  value.dispose();
  return variables.map((v) => grads[v.name]);
}

/**
 * The gradients themselves at the first step, before Adam: (a)'s against tfjs's (tf.variableGrads on a copy of
 * the same models). The combined step (G's gradients through BatchNormalization in training mode) runs before
 * D's, so each starts from the initial weights.
 */
export function checkGradients(seed = 1, batch = 32) {
  // What the train steps train (steps.ts): the weights collected at compile time, or (a Sequential) all trainable.
  const collected = (model: LayersModel) =>
    (model as unknown as { collectedTrainableWeights?: LayersModel['weights'] }).collectedTrainableWeights ??
    model.trainableWeights;
  const bce = (labels: Tensor, predictions: Tensor) => tf.mean(tf.metrics.binaryCrossentropy(labels, predictions));
  const gan = mnistImages('tanh');
  const [reference, a] = [createDcgan({ seed }), createDcgan({ seed })];
  for (const models of [reference, a]) setDropoutRate(models.discriminator, 0);
  const proto = dcganPrototype(a, { batch, withGradients: true });
  const [real, noise, valid] = [
    batchOf(gan, batch, 0),
    tf.randomNormal([batch, 100], 0, 1, 'float32', seed),
    tf.ones([batch, 1]),
  ];
  const combinedWeights = collected(reference.combined);
  const combinedEager = eagerGradients(
    () => bce(valid, reference.combined.apply(noise, { training: true }) as Tensor),
    combinedWeights,
  );
  const [combinedLoss, ...combinedProto] = proto.trainCombined.run([noise, valid]);
  const dWeights = collected(reference.discriminator);
  const dEager = eagerGradients(
    () => bce(valid, reference.discriminator.apply(real, { training: true }) as Tensor),
    dWeights,
  );
  const [dLoss, ...dProto] = proto.trainD.run([real, valid]);
  const dcgan = {
    d: gradientErrors(
      dWeights.map((w) => w.name),
      dProto,
      dEager,
    ),
    combined: gradientErrors(
      combinedWeights.map((w) => w.name),
      combinedProto,
      combinedEager,
    ),
  };
  tf.dispose([combinedLoss, dLoss, ...combinedProto, ...combinedEager, ...dProto, ...dEager, gan, real, noise, valid]);
  proto.program.dispose();
  for (const models of [reference, a]) [models.generator, models.discriminator].forEach((m) => m.dispose());

  const unit = mnistImages('unit');
  const [vaeReference, vaeA] = [buildVae(2, 2024), buildVae(2, 2024)];
  const settings = { learningRate: 0.0005, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const vaeProto = vaePrototype(vaeA.encoder, vaeA.decoder, settings, 1000, { batch, withGradients: true });
  const [x, eps] = [batchOf(unit, batch, 0), tf.randomNormal([batch, 2], 0, 1, 'float32', seed)];
  const vaeWeights = [...vaeReference.encoder.trainableWeights, ...vaeReference.decoder.trainableWeights];
  const loss = vaeLoss(vaeReference.encoder, vaeReference.decoder, 1000);
  const vaeEager = eagerGradients(() => loss(x, eps).loss, vaeWeights);
  const [, , , ...vaeGrads] = vaeProto.train.run([x, eps]);
  const vae = gradientErrors(
    vaeWeights.map((w) => w.name),
    vaeGrads,
    vaeEager,
  );
  tf.dispose([...vaeEager, ...vaeGrads, unit, x, eps]);
  vaeProto.program.dispose();
  for (const models of [vaeReference, vaeA]) [models.encoder, models.decoder].forEach((m) => m.dispose());
  return { dcganD: dcgan.d, dcganCombined: dcgan.combined, vae };
}
