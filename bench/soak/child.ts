/**
 * One soak process (bench/soak/run.ts starts many): the workload under which native TensorFlow
 * corrupted the heap (issue 28). A DCGAN trains on compiled steps, and between steps the weights
 * are read and set again from JS, the path that fed JS-owned memory into session variables;
 * every few steps the garbage collector runs, so that freed handles are swept while TensorFlow's
 * threads work. Exits 0 after printing `ok <iterations>`; a crash is a signal.
 *
 * Settings from the environment: SOAK_ITERATIONS (default 150), SOAK_ENGINE ('graph' or 'eager').
 * Prints which binding it runs on (`binding: ...`, see lib/backend.ts's bindingCopiesJsData).
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { tf } from '../../lib/tf';
import { bindingCopiesJsData } from '../../lib/backend';
import { createDcgan } from '../../lib/models';
import { compiled } from '../../lib/train';

const iterations = Number(process.env.SOAK_ITERATIONS ?? '150');
const engine = process.env.SOAK_ENGINE === 'eager' ? 'eager' : 'graph';
const batch = 16;
const gc = (globalThis as { gc?: () => void }).gc;

/** Sets the model's weights and its optimizer's state to copies made from JS arrays. */
async function setStateFromJs(model: LayersModel): Promise<void> {
  const weights = model.getWeights().map((w) => tf.tensor(w.dataSync().slice(), w.shape));
  model.setWeights(weights);
  tf.dispose(weights);
  const slots = await model.optimizer.getWeights();
  const copies = slots.map(({ name, tensor }) => ({
    name,
    tensor: tf.tensor(tensor.dataSync().slice(), tensor.shape),
  }));
  await model.optimizer.setWeights(copies);
  tf.dispose(copies.map(({ tensor }) => tensor));
}

async function main(): Promise<void> {
  const copies = bindingCopiesJsData(tf);
  process.stdout.write(`binding: ${copies ? 'copies JS data (patched)' : 'shares JS data (stock tfjs-node)'}\n`);
  const images = tf.randomUniform([128, 28, 28, 1], -1, 1, 'float32', 7);
  const real = tf.ones([batch, 1]);
  const fake = tf.zeros([batch, 1]);
  let gan = createDcgan({ seed: 3 });
  for (let i = 0; i < iterations; i++) {
    const d = compiled(gan.discriminator, { engine });
    const g = compiled(gan.generator, { engine });
    const combined = compiled(gan.combined, { engine });
    const noise = tf.randomNormal([batch, 100]);
    const start = (i * batch) % 112;
    const batchImages = images.slice([start, 0, 0, 0], [batch, 28, 28, 1]);
    const fakes = g.predict(noise);
    await d.trainOnBatch(batchImages, real);
    await d.trainOnBatch(fakes, fake);
    await combined.trainOnBatch(noise, real);
    // Weights and optimizer state set from JS arrays between steps, as a loaded checkpoint sets them:
    // the next step feeds that JS-made data into the session's variables. Set twice around a step
    // of D alone, so that G's variables still hold the first arrays when JS lets go of them.
    await setStateFromJs(gan.combined);
    await setStateFromJs(gan.discriminator);
    await d.trainOnBatch(batchImages, real);
    await setStateFromJs(gan.combined);
    tf.dispose([noise, batchImages, fakes]);
    if (i % 5 === 0) gc?.();
    // Now and then a rebuild, as a learner rerunning the model cell does: the old models are
    // dropped without a release, as the cell drops them.
    if (i % 50 === 49) gan = createDcgan({ seed: 3 + i });
  }
  // The last models stay, sessions and all, as in a kernel shut down after training: native
  // teardown at exit frees them (where some of the crashes came).
  tf.dispose([images, real, fake]);
  process.stdout.write(`ok ${iterations}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
