/**
 * Issue 27's quality check: does training in mixed_bfloat16 keep the results of float32?
 *
 *   npx tsx bench/bf16-quality.ts [--part gan|ae|all] [--iterations 2001] [--epochs 100]
 *       [--gan-seeds 2024,2025] [--ae-seeds 2024] [--samples 1000] [--out FILE]
 *
 * GAN: 01-dcgan's own parameters, model and loop cells (bench/notebook-loop.ts) on the images 01
 * trains on (loadMnist's training split scaled to [-1, 1]), `iterations` iterations, batch 32,
 * for each seed once in float32 and once in mixed_bfloat16; then `samples` images from the
 * trained generator (the same noise for every run, predicted by tfjs in float32, as 01's final
 * sheet is) scored by scoreDigits (lib/quality): recognised share and inception score. Two seeds
 * per precision show the run-to-run spread the bfloat16 difference is measured against.
 *
 * Autoencoder: 04-latent-space's settings on lib's buildConvAutoencoder2d (zDim 2, Adam 0.00005,
 * batch 32, seed 2024), `fit` on loadMnist's training split with the test split as validation
 * data, `epochs` epochs, in float32 and in mixed_bfloat16: the final training loss of each.
 *
 * Every run is a fresh child process (this file with --child), one after another. Results are
 * merged into --out (default build/bf16-quality/results.json) by run name, so the parts can run
 * separately; the table printed at the end holds every run in that file.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bfloat16Instructions, type Precision } from '../lib/graph/precision';
import { formatBfloat16Support } from './stats';

const ROOT = path.resolve(__dirname, '..');
const NOISE_DIM = 100;
/** Seed of the noise the trained generators are scored on: the same vectors for every run. */
const SCORE_NOISE_SEED = 27027;

interface GanRun {
  kind: 'gan';
  name: string;
  precision: Precision;
  seed: number;
  iterations: number;
  /** What the loop's compiled steps ran in (D, combined, G). */
  ranIn: Precision[];
  seconds: number;
  msPerIteration: number;
  finalDLoss: number;
  finalGLoss: number;
  /** Means over the last 100 iterations (single iterations are noisy). */
  meanDLossLast100: number;
  meanGLossLast100: number;
  samples: number;
  recognisedShare: number;
  distinctDigits: number;
  inceptionScore: number;
}

interface AeRun {
  kind: 'ae';
  name: string;
  precision: Precision;
  seed: number;
  epochs: number;
  ranIn: Precision;
  seconds: number;
  secondsPerEpoch: number;
  loss: number[];
  valLoss: number[];
}

type Run = GanRun | AeRun;

interface Options {
  part: 'gan' | 'ae' | 'all';
  iterations: number;
  epochs: number;
  ganSeeds: number[];
  aeSeeds: number[];
  samples: number;
  out: string;
}

function readOptions(flags: Record<string, string | undefined>): Options {
  const whole = (name: string, fallback: number): number => {
    const value = flags[name] === undefined ? fallback : Number(flags[name]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`bf16-quality: --${name} must be a whole number >= 1.`);
    return value;
  };
  const seeds = (name: string, fallback: string): number[] =>
    (flags[name] ?? fallback).split(',').map((text) => {
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0) throw new Error(`bf16-quality: --${name} takes seeds like 2024,2025.`);
      return value;
    });
  const part = (flags.part ?? 'all') as Options['part'];
  if (!['gan', 'ae', 'all'].includes(part)) throw new Error('bf16-quality: --part is gan, ae or all.');
  return {
    part,
    iterations: whole('iterations', 2001),
    epochs: whole('epochs', 100),
    ganSeeds: seeds('gan-seeds', '2024,2025'),
    aeSeeds: seeds('ae-seeds', '2024'),
    samples: whole('samples', 1000),
    out: path.resolve(flags.out ?? path.join(ROOT, 'build', 'bf16-quality', 'results.json')),
  };
}

/** One GAN run: 01's cells, then the score of `samples` generated digits. */
async function ganChild(precision: Precision, seed: number, iterations: number, samples: number): Promise<GanRun> {
  const { tf, loadMnist, toImageTensor, scoreDigits } = await import('../lib');
  const { runNotebookLoop } = await import('./notebook-loop');
  const mnist = loadMnist({ quiet: true });
  const realImages = toImageTensor(mnist.train, { range: 'tanh' });
  const dLosses: number[] = [];
  const gLosses: number[] = [];
  const start = performance.now();
  const loop = await runNotebookLoop(realImages, {
    iterations,
    batchSize: 32,
    seed,
    precision,
    onIteration: (_iteration, dLoss, gLoss) => {
      dLosses.push(dLoss);
      gLosses.push(gLoss);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  realImages.dispose();
  const noise = tf.randomNormal([samples, NOISE_DIM], 0, 1, 'float32', SCORE_NOISE_SEED);
  const images = loop.generator.predict(noise) as import('@tensorflow/tfjs-node').Tensor;
  const score = await scoreDigits(images, { range: 'tanh' });
  tf.dispose([noise, images]);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    kind: 'gan',
    name: `gan ${precision} seed ${seed}`,
    precision,
    seed,
    iterations: dLosses.length,
    ranIn: loop.precisions,
    seconds,
    msPerIteration: (1000 * seconds) / dLosses.length,
    finalDLoss: dLosses[dLosses.length - 1],
    finalGLoss: gLosses[gLosses.length - 1],
    meanDLossLast100: mean(dLosses.slice(-100)),
    meanGLossLast100: mean(gLosses.slice(-100)),
    samples,
    recognisedShare: score.recognisedShare,
    distinctDigits: score.distinctDigits,
    inceptionScore: score.inceptionScore,
  };
}

/** One autoencoder run with 04's settings. */
async function aeChild(precision: Precision, seed: number, epochs: number): Promise<AeRun> {
  const { loadMnist, toImageTensor, buildConvAutoencoder2d, fit } = await import('../lib');
  const { compiled } = await import('../lib/train/engine');
  const mnist = loadMnist({ quiet: true });
  const xTrain = toImageTensor(mnist.train, { range: 'unit' });
  const xTest = toImageTensor(mnist.test, { range: 'unit' });
  const { model } = buildConvAutoencoder2d({ zDim: 2, learningRate: 0.00005, seed });
  const start = performance.now();
  const history = await fit(model, xTrain, {
    epochs,
    batchSize: 32,
    seed,
    validationData: xTest,
    precision,
    progress: false,
    onEpoch: ({ epoch, loss }) => {
      process.stderr.write(`[bf16-quality] ae ${precision} seed ${seed}: epoch ${epoch + 1} loss ${loss.toFixed(5)}\n`);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const ranIn = compiled(model, { precision }).precision;
  xTrain.dispose();
  xTest.dispose();
  return {
    kind: 'ae',
    name: `ae ${precision} seed ${seed}`,
    precision,
    seed,
    epochs: history.loss.length,
    ranIn,
    seconds,
    secondsPerEpoch: seconds / history.loss.length,
    loss: history.loss,
    valLoss: history.valLoss,
  };
}

function runChild(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', ...args], {
      cwd: ROOT,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`bf16-quality: child ${args.join(' ')} exited ${code}`));
      else resolve(JSON.parse(line) as Run);
    });
  });
}

const pct = (share: number) => `${(100 * share).toFixed(1)}%`;

/** The table of every run in the results file. */
function formatTable(runs: Run[]): string {
  const lines: string[] = [];
  const gans = runs.filter((r): r is GanRun => r.kind === 'gan');
  if (gans.length > 0) {
    lines.push(
      '| GAN run | ran in | iterations | ms/iteration | recognised | distinct digits | inception score | ' +
        'd_loss / g_loss (mean of last 100) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...gans.map(
        (r) =>
          `| ${r.precision}, seed ${r.seed} | ${[...new Set(r.ranIn)].join(', ')} | ${r.iterations} | ` +
          `${r.msPerIteration.toFixed(1)} | ${pct(r.recognisedShare)} | ${r.distinctDigits} | ` +
          `${r.inceptionScore.toFixed(2)} | ${r.meanDLossLast100.toFixed(3)} / ${r.meanGLossLast100.toFixed(3)} |`,
      ),
    );
  }
  const aes = runs.filter((r): r is AeRun => r.kind === 'ae');
  if (aes.length > 0) {
    const reference = (seed: number) => aes.find((r) => r.precision === 'float32' && r.seed === seed);
    if (lines.length > 0) lines.push('');
    lines.push(
      '| 2-D autoencoder run | ran in | epochs | s/epoch | final loss | vs float32 (same seed) | final val_loss |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      ...aes.map((r) => {
        const last = r.loss[r.loss.length - 1];
        const ref = reference(r.seed);
        const against =
          ref && ref !== r && ref.epochs === r.epochs
            ? `${(100 * (last / ref.loss[ref.loss.length - 1] - 1)).toFixed(2)}%`
            : '';
        return (
          `| ${r.precision}, seed ${r.seed} | ${r.ranIn} | ${r.epochs} | ${r.secondsPerEpoch.toFixed(2)} | ` +
          `${last.toFixed(5)} | ${against} | ${r.valLoss.length ? r.valLoss[r.valLoss.length - 1].toFixed(5) : ''} |`
        );
      }),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { parseFlags } = await import('../scripts/flags');
  const flags = parseFlags(process.argv.slice(2));
  if (flags.child === 'true') {
    const precision = flags.precision as Precision;
    const seed = Number(flags.seed);
    const run =
      flags.kind === 'gan'
        ? await ganChild(precision, seed, Number(flags.iterations), Number(flags.samples))
        : await aeChild(precision, seed, Number(flags.epochs));
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return;
  }
  const options = readOptions(flags);
  const host = `${os.cpus()[0]?.model ?? 'unknown CPU'}; ${formatBfloat16Support(bfloat16Instructions())}`;
  process.stderr.write(`[bf16-quality] ${host}\n`);
  const plan: string[][] = [];
  const child = (kind: string, precision: Precision, seed: number, more: Record<string, number>) =>
    plan.push(
      ['--kind', kind, '--precision', precision, '--seed', String(seed)].concat(
        Object.entries(more).flatMap(([name, value]) => [`--${name}`, String(value)]),
      ),
    );
  const precisions: Precision[] = ['float32', 'mixed_bfloat16'];
  if (options.part !== 'ae') {
    for (const seed of options.ganSeeds)
      for (const precision of precisions)
        child('gan', precision, seed, { iterations: options.iterations, samples: options.samples });
  }
  if (options.part !== 'gan') {
    for (const seed of options.aeSeeds)
      for (const precision of precisions) child('ae', precision, seed, { epochs: options.epochs });
  }
  const saved: { host?: string; runs: Run[] } = fs.existsSync(options.out)
    ? JSON.parse(fs.readFileSync(options.out, 'utf8'))
    : { runs: [] };
  for (const args of plan) {
    const t0 = Date.now();
    const run = await runChild(args);
    process.stderr.write(`[bf16-quality] ${run.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    saved.runs = [...saved.runs.filter((r) => r.name !== run.name), run];
    saved.host = host;
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, `${JSON.stringify({ ...saved, updatedAt: new Date().toISOString() }, null, 2)}\n`);
  }
  process.stdout.write(`Host: ${host}\n\n${formatTable(saved.runs)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
