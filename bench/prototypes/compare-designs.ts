/**
 * Issue 24, "compiled() compiles the notebook's own code": the two designs measured side by side, in
 * one process on one machine, on the DCGAN iteration and on 05's VAE step.
 *
 *   npx tsx bench/prototypes/compare-designs.ts [--rounds 30] [--warmup 5] [--vae-batch 32] [--no-check]
 *     [--b-lib DIR]   (design (b) from another copy of lib/: see designB.ts)
 *
 * - eager: tfjs as is (the DCGAN's model.trainOnBatch / predict; the VAE's optimizer.minimize on 05's vaeLoss);
 * - (b) traced: lib's compiled() (lib/graph/trace.ts + traced.ts): one eager step recorded into a GraphDef;
 * - (a) per-op: the prototype in per-op-gradients/: layers and losses lowered to ops, gradients from a
 *   per-op table, Adam as ResourceApplyAdam.
 * Each design trains its own copy of the same seeded models on the same batches. After a warm-up (design
 * (b) runs its first calls eagerly: 3 up to commit 6d7be1c, 1 since 4451294), the designs take turns,
 * one iteration each per round, the order rotating each round, so that the machine's load falls on all
 * alike.
 * First the correctness checks of (a) against eager tfjs (per-op-gradients/check.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../../lib/tf';
import { createDcgan } from '../../lib/models/dcgan';
import { compiled, designBLib, traceStep, trainFunctionOf } from './designB';
import { batchOf, buildVae, mnistImages, vaeLoss } from './models';
import { checkDcgan, checkGradients, checkVae, type GradientError, type StepLosses } from './per-op-gradients/check';
import { adamSettings, dcganPrototype, vaePrototype } from './per-op-gradients/steps';

const DESIGNS = ['eager', '(b) traced', '(a) per-op'] as const;
type Design = (typeof DESIGNS)[number];
/** One timed iteration: the inputs of round `round`, returns when its losses are read back. */
type Iteration = (round: number) => Promise<void>;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const rounds = flag('rounds', 30);
const warmup = flag('warmup', 5);
const ganBatch = 32;
const vaeBatch = flag('vae-batch', 32);
const seed = 1;

function host(): string {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return `${model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
}
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))];

async function readAll(tensors: Tensor[]): Promise<void> {
  await Promise.all(tensors.map((t) => t.data()));
  tf.dispose(tensors);
}

/** The three designs' DCGAN iterations (D on real, G predict, D on fake, combined), batch 32. */
function dcganIterations(images: Tensor): { iterations: Record<Design, Iteration>; dispose: () => void } {
  const [valid, fake] = [tf.ones([ganBatch, 1]), tf.zeros([ganBatch, 1])];
  const inputs = (round: number) => ({
    real: batchOf(images, ganBatch, round),
    noise: tf.randomNormal([ganBatch, 100], 0, 1, 'float32', 100 + round),
  });
  const eager = createDcgan({ seed });
  const b = createDcgan({ seed });
  const [bD, bCombined, bG] = [
    compiled(b.discriminator, { seed }),
    compiled(b.combined, { seed }),
    compiled(b.generator),
  ];
  const a = createDcgan({ seed });
  const proto = dcganPrototype(a, { batch: ganBatch });
  const iterations: Record<Design, Iteration> = {
    eager: async (round) => {
      const { real, noise } = inputs(round);
      await eager.discriminator.trainOnBatch(real, valid);
      const generated = eager.generator.predict(noise) as Tensor;
      await eager.discriminator.trainOnBatch(generated, fake);
      await eager.combined.trainOnBatch(noise, valid);
      tf.dispose([real, noise, generated]);
    },
    '(b) traced': async (round) => {
      const { real, noise } = inputs(round);
      await bD.trainOnBatch(real, valid);
      const generated = bG.predict(noise);
      await bD.trainOnBatch(generated, fake);
      await bCombined.trainOnBatch(noise, valid);
      tf.dispose([real, noise, generated]);
    },
    '(a) per-op': async (round) => {
      const { real, noise } = inputs(round);
      await readAll(proto.trainD.run([real, valid], 3 * round));
      const [generated] = proto.predictG.run([noise]);
      await readAll(proto.trainD.run([generated, fake], 3 * round + 1));
      await readAll(proto.trainCombined.run([noise, valid], 3 * round + 2));
      tf.dispose([real, noise, generated]);
    },
  };
  const dispose = () => {
    if (bD.engine !== 'graph') throw new Error(`design (b) ran eagerly: ${bD.reason}`);
    proto.program.dispose();
    for (const gan of [eager, a, b]) [gan.generator, gan.discriminator].forEach((m) => m.dispose());
    tf.dispose([valid, fake]);
  };
  return { iterations, dispose };
}

/** The three designs' VAE steps (05's model and loss, zDim 2, Adam 0.0005, reconstruction weight 1000). */
function vaeIterations(images: Tensor): { iterations: Record<Design, Iteration>; dispose: () => void } {
  const weight = 1000;
  const inputs = (round: number) => ({
    x: batchOf(images, vaeBatch, round),
    eps: tf.randomNormal([vaeBatch, 2], 0, 1, 'float32', 200 + round),
  });
  const eager = buildVae(2, 2024);
  const eagerOptimizer = tf.train.adam(0.0005);
  const eagerLoss = vaeLoss(eager.encoder, eager.decoder, weight);
  const eagerWeights = [...eager.encoder.trainableWeights, ...eager.decoder.trainableWeights].map(
    (w) => w.read() as Variable,
  );
  const b = buildVae(2, 2024);
  const bOptimizer = tf.train.adam(0.0005);
  const bStep = compiled<[Tensor, Tensor]>([b.encoder, b.decoder], {
    loss: vaeLoss(b.encoder, b.decoder, weight),
    optimizer: bOptimizer,
  });
  const a = buildVae(2, 2024);
  const proto = vaePrototype(a.encoder, a.decoder, adamSettings(eagerOptimizer), weight, { batch: vaeBatch });
  const iterations: Record<Design, Iteration> = {
    eager: async (round) => {
      const { x, eps } = inputs(round);
      // As compiled() runs it eagerly: the loss's terms kept, the update on the total.
      let terms: Tensor[] = [];
      const cost = eagerOptimizer.minimize(
        () => {
          const named = eagerLoss(x, eps);
          terms = [tf.keep(named.reconstruction), tf.keep(named.kl)];
          return named.loss as tf.Scalar;
        },
        true,
        eagerWeights,
      )!;
      await readAll([cost, ...terms]);
      tf.dispose([x, eps]);
    },
    '(b) traced': async (round) => {
      const { x, eps } = inputs(round);
      await bStep.trainOnBatch(x, eps);
      tf.dispose([x, eps]);
    },
    '(a) per-op': async (round) => {
      const { x, eps } = inputs(round);
      await readAll(proto.train.run([x, eps]));
      tf.dispose([x, eps]);
    },
  };
  const dispose = () => {
    if (bStep.engine !== 'graph') throw new Error(`design (b) ran eagerly: ${bStep.reason}`);
    proto.program.dispose();
    eagerOptimizer.dispose();
    bOptimizer.dispose();
    for (const models of [eager, a, b]) [models.encoder, models.decoder].forEach((m) => m.dispose());
  };
  return { iterations, dispose };
}

/** Warm-up, then `rounds` rounds of one iteration per design in rotating order; ms per iteration. */
async function time(iterations: Record<Design, Iteration>): Promise<Record<Design, number[]>> {
  for (let i = 0; i < warmup; i++) for (const design of DESIGNS) await iterations[design](i);
  const times = Object.fromEntries(DESIGNS.map((d) => [d, [] as number[]])) as Record<Design, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < DESIGNS.length; k++) {
      const design = DESIGNS[(round + k) % DESIGNS.length];
      const start = performance.now();
      await iterations[design](warmup + round);
      times[design].push(performance.now() - start);
    }
  }
  return times;
}

function timeRow(name: string, times: Record<Design, number[]>): string {
  const cell = (d: Design) =>
    `${median(times[d]).toFixed(1)} (${quantile(times[d], 0.25).toFixed(1)}-${quantile(times[d], 0.75).toFixed(1)})`;
  const ratio = (d: Design) => (median(times[d]) / median(times.eager)).toFixed(2);
  const ab = (median(times['(a) per-op']) / median(times['(b) traced'])).toFixed(2);
  return `| ${name} | ${DESIGNS.map(cell).join(' | ')} | ${ratio('(b) traced')} | ${ratio('(a) per-op')} | ${ab} |`;
}

function lossRows(steps: StepLosses[]): string[] {
  const names = Object.keys(steps[0]);
  const fmt = (v: number) => v.toPrecision(8);
  return steps.flatMap((step, i) =>
    names.map((name) => {
      const [eager, a, b] = step[name];
      const diff = (v: number) => Math.abs(v - eager).toExponential(1);
      return `| ${i + 1} | ${name} | ${fmt(eager)} | ${fmt(a)} (${diff(a)}) | ${fmt(b)} (${diff(b)}) |`;
    }),
  );
}

/** Lines of a file: all, and code (not blank, not only comment). */
function lines(file: string): [number, number] {
  const text = fs.readFileSync(path.resolve(__dirname, '..', '..', file), 'utf8').split('\n');
  if (text[text.length - 1] === '') text.pop();
  const code = text.filter((l) => {
    const t = l.trim();
    return t !== '' && !t.startsWith('//') && !t.startsWith('*') && !t.startsWith('/*');
  });
  return [text.length, code.length];
}

function lineCounts(): string[] {
  const designs: Array<[string, string[]]> = [
    [
      `(b) traced: graph/trace.ts + traced.ts in ${path.relative(process.cwd(), designBLib)}`,
      ['graph/trace.ts', 'graph/traced.ts'].map((f) => path.join(designBLib, f)),
    ],
    [
      '(a) per-op, generic part: autodiff, gradients, layers, program',
      ['autodiff.ts', 'gradients.ts', 'layers.ts', 'program.ts'].map((f) => `bench/prototypes/per-op-gradients/${f}`),
    ],
    ['(a) per-op, the steps (BCE, vaeLoss in ops, the two models)', ['bench/prototypes/per-op-gradients/steps.ts']],
  ];
  return designs.map(([name, files]) => {
    const [all, code] = files.map(lines).reduce(([a, c], [x, y]) => [a + x, c + y], [0, 0]);
    return `| ${name} | ${all} | ${code} |`;
  });
}

/** Nodes that hold, feed or name values rather than compute. */
const BOOKKEEPING = new Set(['Const', 'Placeholder', 'VarHandleOp', 'ReadVariableOp', 'AssignVariableOp', 'Identity']);

function opSummary(ops: string[]): string {
  const compute = ops.filter((op) => !BOOKKEEPING.has(op));
  const counts = new Map<string, number>();
  for (const op of compute) counts.set(op, (counts.get(op) ?? 0) + 1);
  const top = [...counts].sort((p, q) => q[1] - p[1]).slice(0, 5);
  return `${compute.length} (${top.map(([op, n]) => `${op} ${n}`).join(', ')})`;
}

/**
 * The ops each design's graph computes per step, before Grappler: (b)'s trace of one step (after one eager
 * call that creates the optimizer's slots, as compiled() does) and (a)'s nodes, on fresh copies of the models.
 */
function graphSizes(): string[] {
  const images = mnistImages('tanh');
  const [real, noise, valid] = [batchOf(images, ganBatch, 0), tf.randomNormal([ganBatch, 100]), tf.ones([ganBatch, 1])];
  const traced = (run: (inputs: Tensor[]) => Tensor[], inputs: Tensor[]): string[] => {
    tf.dispose(run(inputs));
    const { results, trace } = traceStep(run, inputs, 0);
    tf.dispose(results);
    // Since 1196ec2 the trace keeps Adam's updates apart, as one fused ResourceApplyAdam per weight.
    const fused = (trace?.fused ?? []).map(() => 'ResourceApplyAdam');
    return [...(trace?.ops.map((op) => op.op) ?? []), ...fused];
  };
  const gan = createDcgan({ seed });
  const bD = traced(trainFunctionOf(gan.discriminator), [real, valid]);
  const bG = traced(([z]) => [gan.generator.predict(z) as Tensor], [noise]);
  const bCombined = traced(trainFunctionOf(gan.combined), [noise, valid]);
  const a = createDcgan({ seed });
  const proto = dcganPrototype(a, { batch: ganBatch });

  const unit = mnistImages('unit');
  const [x, eps] = [batchOf(unit, vaeBatch, 0), tf.randomNormal([vaeBatch, 2])];
  const vae = buildVae(2, 2024);
  const optimizer = tf.train.adam(0.0005);
  const loss = vaeLoss(vae.encoder, vae.decoder, 1000);
  const weights = [...vae.encoder.trainableWeights, ...vae.decoder.trainableWeights].map((w) => w.read() as Variable);
  const bVae = traced(([xs, e]) => [optimizer.minimize(() => loss(xs, e).loss as tf.Scalar, true, weights)!], [x, eps]);
  const vaeA = buildVae(2, 2024);
  const protoVae = vaePrototype(vaeA.encoder, vaeA.decoder, adamSettings(optimizer), 1000, { batch: vaeBatch });
  const rows = [
    ['D step', bD, proto.trainD.ops],
    ['G predict', bG, proto.predictG.ops],
    ['combined step', bCombined, proto.trainCombined.ops],
    ['VAE step', bVae, protoVae.train.ops],
  ] as const;
  proto.program.dispose();
  protoVae.program.dispose();
  optimizer.dispose();
  for (const models of [gan, a]) [models.generator, models.discriminator].forEach((m) => m.dispose());
  for (const models of [vae, vaeA]) [models.encoder, models.decoder].forEach((m) => m.dispose());
  tf.dispose([images, unit, real, noise, valid, x, eps]);
  return rows.map(([name, b, aOps]) => `| ${name} | ${opSummary(b)} | ${opSummary(aOps)} |`);
}

async function main(): Promise<void> {
  console.log(`host: ${host()}; Node ${process.version}, tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`);
  console.log(`load average at start: ${load()}`);
  console.log(`design (b) from ${path.relative(process.cwd(), designBLib) || '.'}`);
  if (!process.argv.includes('--no-check')) {
    const gradients = checkGradients();
    console.log(
      "\nCorrectness: first-step gradients of (a) against tf.variableGrads's, per weight |difference| / max|tfjs's|",
    );
    const worst = (errors: GradientError[]) =>
      errors
        .slice(0, 3)
        .map((e) => `${e.weight} ${e.error.toExponential(1)} / ${e.scale.toExponential(1)}`)
        .join('; ');
    console.log(`  D step (real):   ${worst(gradients.dcganD)}`);
    console.log(`  combined step:   ${worst(gradients.dcganCombined)}`);
    console.log(`  VAE step:        ${worst(gradients.vae)}`);
    const vae = await checkVae();
    const gan = await checkDcgan();
    console.log('\nCorrectness: losses per step, eager tfjs vs (a) and (b) (|difference| from eager), Dropout off');
    console.log('| step | loss | eager | (a) per-op | (b) traced |\n| --- | --- | --- | --- | --- |');
    console.log(['VAE (batch 32):', ...lossRows(vae.steps), 'DCGAN (batch 32):', ...lossRows(gan.steps)].join('\n'));
    for (const [name, check] of [
      ['VAE', vae],
      ['DCGAN', gan],
    ] as const) {
      console.log(
        `${name}: (a)'s weights vs eager's, largest difference: ` +
          `after step 1 ${check.firstWeightDifference.toExponential(2)}, ` +
          `after step ${check.steps.length} ${check.weightDifference.toExponential(2)}`,
      );
      const trend = check.trend.map((w) =>
        Object.entries(w)
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(', '),
      );
      console.log(`${name}: (a) over 100 steps (Dropout on), means of 5 windows of 20:\n  ${trend.join('\n  ')}`);
    }
  }
  console.log('\nOps per step before Grappler (not counting constants, placeholders, variable reads and writes)');
  console.log('| step | (b) traced: ops (most frequent) | (a) per-op: ops (most frequent) |\n| --- | --- | --- |');
  console.log(graphSizes().join('\n'));
  const mnistTanh = mnistImages('tanh');
  const mnistUnit = mnistImages('unit');
  const gan = dcganIterations(mnistTanh);
  const ganTimes = await time(gan.iterations);
  gan.dispose();
  const vae = vaeIterations(mnistUnit);
  const vaeTimes = await time(vae.iterations);
  vae.dispose();
  tf.dispose([mnistTanh, mnistUnit]);
  console.log(`\nms per step: median (25th-75th percentile) of ${rounds} rounds after ${warmup} warm-up steps`);
  console.log(`| workload | ${DESIGNS.join(' | ')} | (b)/eager | (a)/eager | (a)/(b) |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(timeRow(`DCGAN iteration (batch ${ganBatch})`, ganTimes));
  console.log(timeRow(`VAE step (batch ${vaeBatch}, zDim 2)`, vaeTimes));
  console.log(`load average at end: ${load()}`);
  console.log('\nLines | all | code (no blank or comment-only lines)\n| design | all | code |\n| --- | ---: | ---: |');
  console.log(lineCounts().join('\n'));
  console.log(`tensors alive at the end: ${tf.memory().numTensors}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
