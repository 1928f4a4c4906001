/**
 * Where the project side spends its time (`tsx bench/profile.ts [--section name]`): the numbers
 * behind the findings in bench/RESULTS.md. Sections:
 *   dispatch  per-op overhead of tfjs-node (tiny ops, JS -> N-API -> TFE_Execute)
 *   ae        the two autoencoders: kernels per step, top kernels, and per-batch time of
 *             the library's fit (eager and graph engines) vs bare trainOnBatch vs model.fit vs an
 *             optimizer.minimize step vs the graph engine's compiled step
 *   gan       the GAN iteration split into its (eager) phases, then trainGan on both engines
 * --stock-kernels puts tfjs's stock Step kernel and LeakyReLU gradient back first, to measure
 * what lib/nativeKernels.ts gains (the library installs its cheaper ones on import).
 * Threads: set TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS as the harness does.
 * Prints plain text; not part of `npm run bench`.
 */
import type { LayersModel, Tensor, Tensor4D, Scalar } from '@tensorflow/tfjs-node';
import { tf, createDcgan, buildConvAutoencoder2d, fit, trainGan } from '../lib';
import { loadEmbeddedTestSet } from '../lib/data';
import { buildConvAutoencoder } from '../lib/models';
import { compiled } from '../lib/train';
import { uninstallNativeKernels } from '../lib/nativeKernels';
import { parseFlags } from '../scripts/flags';

const ms = (t: number) => `${t.toFixed(2)} ms`;

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function dispatch(): void {
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  for (let i = 0; i < 2000; i++) tf.add(a, b).dispose();
  const n = 20000;
  const [, elapsed] = time(() => {
    for (let i = 0; i < n; i++) tf.add(a, b).dispose();
  });
  const microsPerOp = ((elapsed * 1000) / n).toFixed(1);
  console.log(`dispatch: tf.add on scalars ${microsPerOp} us/op (JS -> N-API -> TFE_Execute, incl. dispose)`);
  const big = tf.ones([32, 28, 28, 64]);
  const [, bigElapsed] = time(() => {
    for (let i = 0; i < 200; i++) tf.add(big, big).dispose();
  });
  console.log(`dispatch: tf.add on [32,28,28,64] ${((bigElapsed * 1000) / 200).toFixed(1)} us/op`);
  const [, readElapsed] = time(() => {
    for (let i = 0; i < 2000; i++) a.dataSync();
  });
  console.log(`dispatch: scalar dataSync ${((readElapsed * 1000) / 2000).toFixed(1)} us`);
  tf.dispose([a, b, big]);
}

async function profileStep(label: string, model: LayersModel, xb: Tensor, yb: Tensor = xb): Promise<void> {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(xb, yb);
  });
  const byKernel = new Map<string, { count: number; ms: number }>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { count: 0, ms: 0 };
    entry.count += 1;
    entry.ms += k.kernelTimeMs as number;
    kernelMs += k.kernelTimeMs as number;
    byKernel.set(k.name, entry);
  }
  const top = [...byKernel.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, 10);
  console.log(
    `${label}: one trainOnBatch runs ${info.kernels.length} kernels, ${ms(kernelMs)} inside kernels; top: ` +
      top.map(([name, e]) => `${name} x${e.count} ${e.ms.toFixed(1)}`).join(', '),
  );
}

/** One Adam step through optimizer.minimize on the layers' forward pass; the loss stays on the device. */
function minimizeStep(model: LayersModel, lossFn: (y: Tensor, p: Tensor) => Tensor, xb: Tensor): Scalar {
  const optimizer = model.optimizer;
  return optimizer.minimize(() => {
    const prediction = model.apply(xb, { training: true }) as Tensor;
    return tf.mean(lossFn(xb, prediction)) as Scalar;
  }, true) as Scalar;
}

async function autoencoder(name: 'conv_ae' | 'ae2d', x: Tensor4D, batchSize: number, batches: number): Promise<void> {
  const build = () =>
    name === 'conv_ae' ? buildConvAutoencoder({ seed: 1 }) : buildConvAutoencoder2d({ seed: 1 }).model;
  const lossFn =
    name === 'conv_ae'
      ? (y: Tensor, p: Tensor) => tf.metrics.binaryCrossentropy(y, p)
      : (y: Tensor, p: Tensor) => tf.losses.meanSquaredError(y, p, undefined, tf.Reduction.NONE);
  const count = batchSize * batches;
  const data = x.slice(0, count);
  const batchList = Array.from({ length: batches }, (_, i) => data.slice(i * batchSize, batchSize));
  const label = `${name} (batch ${batchSize})`;

  const model = build();
  await model.trainOnBatch(batchList[0], batchList[0]);
  await profileStep(label, model, batchList[0]);

  // Forward pass only (predict: inference mode), per batch.
  const forward: number[] = [];
  for (const xb of batchList) {
    const [out, t] = time(() => model.predict(xb) as Tensor);
    await out.data();
    out.dispose();
    forward.push(t);
  }
  // Bare trainOnBatch on ready batches (no gather, no dropout seeding, loss read by tfjs).
  const bare: number[] = [];
  for (const xb of batchList) bare.push((await timeAsync(() => model.trainOnBatch(xb, xb)))[1]);
  // optimizer.minimize, loss kept on the device and read once at the end.
  const minimize: number[] = [];
  const losses: Scalar[] = [];
  for (const xb of batchList) {
    const [loss, t] = time(() => minimizeStep(model, lossFn, xb));
    losses.push(loss);
    minimize.push(t);
  }
  await tf.stack(losses).data();
  tf.dispose(losses);
  // The same train step compiled into one TensorFlow graph, as the library runs it (the first three
  // calls, eager while it is traced, are left out).
  const step = compiled(model, { engine: 'graph' });
  for (const xb of batchList.slice(0, 3)) await step.trainOnBatch(xb, xb);
  const graph: number[] = [];
  for (const xb of batchList) graph.push((await timeAsync(() => step.trainOnBatch(xb, xb)))[1]);
  // The library's loop (gather per batch, dropout seeding, loss read per batch), on each engine.
  const [, libraryMs] = await timeAsync(() =>
    fit(model, data, { epochs: 1, batchSize, seed: 3, progress: false, engine: 'eager' }),
  );
  const [, libraryGraphMs] = await timeAsync(() =>
    fit(model, data, { epochs: 1, batchSize, seed: 3, progress: false, engine: 'graph' }),
  );
  // model.fit with shuffle (its own batching via slicing/gather).
  const [, fitMs] = await timeAsync(() => model.fit(data, data, { epochs: 1, batchSize, shuffle: true, verbose: 0 }));
  console.log(
    `${label}, per batch (median of ${batches}): forward (predict) ${ms(median(forward))}; ` +
      `trainOnBatch ${ms(median(bare))}; optimizer.minimize ${ms(median(minimize))}; ` +
      `library fit ${ms(libraryMs / batches)} (mean); model.fit ${ms(fitMs / batches)} (mean)`,
  );
  console.log(
    `${label}, graph engine per batch: train step ${ms(median(graph))} (median of ${batches}); ` +
      `library fit ${ms(libraryGraphMs / batches)} (mean, first call: includes building and optimising the graph)`,
  );
  tf.dispose([data, ...batchList]);
  model.dispose();
}

async function gan(x: Tensor4D, iterations: number): Promise<void> {
  const dcgan = createDcgan({ seed: 1 });
  const { generator, discriminator, combined } = dcgan;
  const batchSize = 32;
  const real1 = tf.ones([batchSize, 1]);
  const fake0 = tf.zeros([batchSize, 1]);
  const phases: Record<string, number[]> = {
    gather: [],
    dReal: [],
    noiseAndPredict: [],
    dFake: [],
    combined: [],
  };
  for (let i = 0; i < iterations + 3; i++) {
    const record = (name: string, t: number) => {
      if (i >= 3) phases[name].push(t);
    };
    const [real, tg] = time(() => tf.tidy(() => tf.gather(x, tf.randomUniform([batchSize], 0, x.shape[0], 'int32'))));
    record('gather', tg);
    record('dReal', (await timeAsync(() => discriminator.trainOnBatch(real, real1)))[1]);
    const [[noise, fake], tp] = time(() => {
      const z = tf.randomNormal([batchSize, 100]);
      return [z, generator.predict(z) as Tensor] as const;
    });
    record('noiseAndPredict', tp);
    record('dFake', (await timeAsync(() => discriminator.trainOnBatch(fake, fake0)))[1]);
    record('combined', (await timeAsync(() => combined.trainOnBatch(noise, real1)))[1]);
    tf.dispose([real, noise, fake]);
  }
  console.log(
    `gan phases (median of ${iterations}): ` +
      Object.entries(phases)
        .map(([k, v]) => `${k} ${ms(median(v))}`)
        .join('; '),
  );
  const noise = tf.randomNormal([batchSize, 100]);
  await profileStep('gan combined', combined, noise, real1);
  const real = tf.slice(x, 0, batchSize);
  await profileStep('gan D step', discriminator, real, real1);
  real.dispose();
  tf.dispose([real1, fake0, noise]);
  // Whole iterations of trainGan on each engine (the graph's first call builds it: warm up).
  for (const engine of ['eager', 'graph'] as const) {
    await trainGan(dcgan, x, { iterations: 4, batchSize, seed: 1, progress: false, engine });
    const [, elapsed] = await timeAsync(() =>
      trainGan(dcgan, x, { iterations, batchSize, seed: 2, progress: false, engine }),
    );
    console.log(
      `gan: trainGan on the ${engine} engine ${ms(elapsed / iterations)} per iteration (mean of ${iterations})`,
    );
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const section = flags.section ?? 'all';
  if (flags['stock-kernels'] === 'true') {
    uninstallNativeKernels(tf);
    console.log('activation gradients: tfjs stock kernels (lib/nativeKernels.ts uninstalled)');
  }
  const batches = Number(flags.batches ?? 20);
  const intraOpThreads = process.env.TF_NUM_INTRAOP_THREADS ?? 'unset';
  const interOpThreads = process.env.TF_NUM_INTEROP_THREADS ?? 'unset';
  console.log(`threads: TF_NUM_INTRAOP_THREADS=${intraOpThreads} TF_NUM_INTEROP_THREADS=${interOpThreads}`);
  if (section === 'all' || section === 'dispatch') dispatch();
  const { images, count } = loadEmbeddedTestSet();
  if (section === 'all' || section === 'ae') {
    const x = tf.tidy(() => tf.tensor4d(images, [count, 28, 28, 1], 'int32').toFloat().div(255)) as Tensor4D;
    await autoencoder('conv_ae', x, 128, batches);
    await autoencoder('ae2d', x, 32, batches * 2);
    x.dispose();
  }
  if (section === 'all' || section === 'gan') {
    const x = tf.tidy(() =>
      tf.tensor4d(images, [count, 28, 28, 1], 'int32').toFloat().sub(127.5).div(127.5),
    ) as Tensor4D;
    await gan(x, Number(flags.iterations ?? 20));
    x.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
