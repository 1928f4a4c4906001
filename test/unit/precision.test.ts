/**
 * Mixed precision (compiled(..., { precision: 'mixed_bfloat16' }), lib/graph/precision.ts): the
 * bfloat16 step agrees with the float32 one within bfloat16's tolerance, the weights and the
 * optimizer's state stay float32, and a CPU without bfloat16 instructions gets one clear line and
 * float32. Which branch the first tests take depends on this host's CPU; the last test pretends
 * a CPU without the instructions, so it runs everywhere.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf, compiled } from '../../lib';
import { buildConvAutoencoder } from '../../lib/models';
import { bfloat16Instructions } from '../../lib/graph/precision';

const hostHasBfloat16 = bfloat16Instructions().length > 0;

/** Three seeded steps of 02's convolutional autoencoder in `precision`: the losses and the weights after. */
async function threeSteps(precision: 'float32' | 'mixed_bfloat16') {
  const model = buildConvAutoencoder({ seed: 7 });
  const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 3);
  const step = compiled(model, { seed: 5, precision });
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) losses.push(await step.trainOnBatch(x, x));
  x.dispose();
  return { model, step, losses, weights: model.getWeights().map((w) => w.clone()) };
}

function largestDifference(a: Tensor[], b: Tensor[]): number {
  return Math.max(...a.map((t, i) => tf.tidy(() => t.sub(b[i]).abs().max().dataSync()[0])));
}

describe("compiled(model, { precision: 'mixed_bfloat16' })", () => {
  it(
    hostHasBfloat16
      ? `trains in bfloat16 on this CPU (${bfloat16Instructions().join(', ')}): the losses and weights of ` +
          'three steps match float32 within bfloat16 tolerance, and differ from them (the rewrite ran)'
      : 'trains in float32 on this CPU (no bfloat16 instructions): the same numbers as float32',
    async () => {
      const single = await threeSteps('float32');
      const mixed = await threeSteps('mixed_bfloat16');
      assert.equal(single.step.engine, 'graph');
      assert.equal(mixed.step.engine, 'graph', mixed.step.reason);
      assert.equal(mixed.step.precision, hostHasBfloat16 ? 'mixed_bfloat16' : 'float32');
      const lossGap = Math.max(...single.losses.map((loss, i) => Math.abs(loss - mixed.losses[i]) / loss));
      const weightGap = largestDifference(single.weights, mixed.weights);
      if (hostHasBfloat16) {
        // bfloat16 keeps 8 bits of mantissa: products carry relative errors near 2^-8 = 0.4%.
        assert.ok(lossGap < 0.02, `losses within 2%: float32 ${single.losses} vs bfloat16 ${mixed.losses}`);
        assert.ok(weightGap < 5e-3, `weights within 5e-3 after three steps; largest difference ${weightGap}`);
        assert.ok(lossGap > 0 || weightGap > 0, 'bfloat16 changed something: the rewrite ran');
      } else {
        assert.ok(lossGap < 1e-6 && weightGap < 1e-6, `float32 both times: ${lossGap}, ${weightGap}`);
      }
      for (const run of [single, mixed]) {
        tf.dispose(run.weights);
        (run.model as LayersModel).dispose();
      }
    },
  );

  it('keeps the master weights and the optimizer state float32, and so do predict and the saved weights', async () => {
    const { model, step, weights } = await threeSteps('mixed_bfloat16');
    assert.deepEqual([...new Set(weights.map((w) => w.dtype))], ['float32']);
    const slots = model.optimizer.getWeights ? await model.optimizer.getWeights() : [];
    assert.ok(slots.length > 0, "Adam's slots exist after training");
    // Adam's moments; its step counter is an integer in any precision.
    const moments = slots.filter((slot) => !slot.name.endsWith('iter'));
    assert.ok(moments.length > 0, slots.map((slot) => slot.name).join(', '));
    assert.deepEqual([...new Set(moments.map((slot) => slot.tensor.dtype))], ['float32']);
    const x = tf.zeros([2, 28, 28, 1]);
    const predicted = [step.predict(x), model.predict(x) as Tensor];
    assert.deepEqual(
      predicted.map((t) => t.dtype),
      ['float32', 'float32'],
    );
    const artifacts = await new Promise<tf.io.ModelArtifacts>((resolve) =>
      model.save(
        tf.io.withSaveHandler(
          async (saved) => (
            resolve(saved),
            { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
          ),
        ),
      ),
    );
    assert.deepEqual([...new Set(artifacts.weightSpecs?.map((spec) => spec.dtype))], ['float32']);
    tf.dispose([x, ...predicted, ...weights]);
    model.dispose();
  });

  it('on a CPU without bfloat16 instructions: says so in one line and trains in float32', async () => {
    const saved = process.env.GAN_NOTEBOOKS_CPU_FLAGS;
    const warnings: string[] = [];
    const warn = console.warn;
    process.env.GAN_NOTEBOOKS_CPU_FLAGS = 'fpu sse2 avx2 avx512f';
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
    try {
      const model = buildConvAutoencoder({ seed: 7 });
      const step = compiled(model, { precision: 'mixed_bfloat16' });
      assert.equal(step.precision, 'float32');
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /no bfloat16 instructions \(avx512_bf16 or amx_bf16\).*training in float32\.$/);
      assert.doesNotMatch(warnings[0], /\n/);
      model.dispose();
    } finally {
      console.warn = warn;
      if (saved === undefined) delete process.env.GAN_NOTEBOOKS_CPU_FLAGS;
      else process.env.GAN_NOTEBOOKS_CPU_FLAGS = saved;
    }
    const model = buildConvAutoencoder({ seed: 7 });
    assert.throws(
      () => compiled(model, { precision: 'bfloat16' as 'mixed_bfloat16' }),
      /options\.precision must be 'float32' or 'mixed_bfloat16'; got "bfloat16"/,
    );
    model.dispose();
  });
});
