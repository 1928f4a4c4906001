/**
 * The project side of the benchmark: one workload, timed, in this (fresh) process, using the
 * library's own builders and training loops (lib/models, lib/train), so the numbers measure the
 * code the notebooks run.
 *
 * Run by bench/run.ts as `tsx bench/ts-workloads.ts --workload gan ...`; prints ONE JSON line on
 * stdout. Threads: tfjs-node creates its TensorFlow context with default options, so the only
 * way to set the thread pools is the environment (TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS,
 * read by the TensorFlow C library when the context starts); the harness sets them, and this
 * process reports how many OS threads it ended with as evidence.
 */
import * as fs from 'fs';
import * as os from 'os';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf, backendInfo, createDcgan, trainGan, buildConvAutoencoder2d, fit } from '../lib';
import { loadEmbeddedTestSet } from '../lib/data';
import { buildConvAutoencoder } from '../lib/models';
import { bfloat16Instructions, type Precision } from '../lib/graph/precision';
import { nativeKernelsInstalled, uninstallNativeKernels } from '../lib/nativeKernels';
import { compiled } from '../lib/train/engine';
import { parseFlags } from '../scripts/flags';
import { runNotebookLoop } from './notebook-loop';

export type WorkloadName = 'gan' | 'gan_fast' | 'gan_bf16' | 'conv_ae' | 'ae2d' | 'ae2d_bf16';
const WORKLOADS: readonly WorkloadName[] = ['gan', 'gan_fast', 'gan_bf16', 'conv_ae', 'ae2d', 'ae2d_bf16'];

interface WorkloadResult {
  unit: string;
  times: number[];
  lastLosses: number[] | null;
  samples?: number;
  /** What the training steps computed in (mixed_bfloat16 falls back to float32 on a CPU without bfloat16). */
  precision?: Precision | Precision[];
}

/**
 * Runs a GAN loop on the images scaled to [-1, 1] like the book ((x - 127.5) / 127.5), timing
 * each iteration after the warm-up; `loop` calls `onIteration` once per iteration.
 */
async function timeGanIterations(
  images: Uint8Array,
  count: number,
  flags: Flags,
  loop: (x: Tensor4D, onIteration: (iteration: number, dLoss: number, gLoss: number) => void) => Promise<void>,
): Promise<WorkloadResult> {
  const x = tf.tidy(() => tf.tensor4d(images, [count, 28, 28, 1], 'int32').toFloat().sub(127.5).div(127.5)) as Tensor4D;
  const times: number[] = [];
  let lastLosses: number[] | null = null;
  let previous = performance.now();
  await loop(x, (iteration, dLoss, gLoss) => {
    const now = performance.now();
    if (iteration >= flags.warmup) {
      times.push((now - previous) / 1000);
      lastLosses = [dLoss, gLoss];
    }
    previous = now;
  });
  x.dispose();
  return { unit: 's/iteration', times, lastLosses };
}

/** The library's trainGan on createDcgan's models. */
function runGan(images: Uint8Array, count: number, flags: Flags): Promise<WorkloadResult> {
  return timeGanIterations(images, count, flags, async (x, onIteration) => {
    await trainGan(createDcgan({ seed: flags.seed }), x, {
      iterations: flags.warmup + flags.iterations,
      batchSize: flags.batchSize,
      seed: flags.seed,
      progress: false,
      onIteration: ({ iteration, dLoss, gLoss }) => onIteration(iteration, dLoss, gLoss),
    });
  });
}

/**
 * 01-dcgan's own loop cell (bench/notebook-loop.ts), timed per iteration like trainGan; with
 * `precision` set as 01's parameter. (gan_bf16 runs this loop, not trainGan: trainGan has no
 * precision option.)
 */
async function runNotebookGan(
  images: Uint8Array,
  count: number,
  flags: Flags,
  precision: Precision,
): Promise<WorkloadResult> {
  let precisions: Precision[] = [];
  const result = await timeGanIterations(images, count, flags, async (x, onIteration) => {
    const loop = await runNotebookLoop(x, {
      iterations: flags.warmup + flags.iterations,
      batchSize: flags.batchSize,
      seed: flags.seed,
      precision,
      onIteration,
    });
    precisions = loop.precisions;
  });
  return { ...result, precision: precisions };
}

async function runEpochs(
  workload: 'conv_ae' | 'ae2d',
  images: Uint8Array,
  count: number,
  flags: Flags,
  precision: Precision = 'float32',
): Promise<WorkloadResult> {
  const used = flags.limit > 0 ? Math.min(flags.limit, count) : count;
  const x = tf.tidy(() =>
    tf
      .tensor4d(images.subarray(0, used * 784), [used, 28, 28, 1], 'int32')
      .toFloat()
      .div(255),
  ) as Tensor4D;
  const model =
    workload === 'conv_ae'
      ? buildConvAutoencoder({ seed: flags.seed })
      : buildConvAutoencoder2d({ seed: flags.seed }).model;
  // Warm-up as on the Keras side: a few full batches plus the epoch's last partial batch.
  const warmCount = Math.min(used, flags.batchSize * flags.warmupBatches + (used % flags.batchSize));
  const warm = x.slice(0, warmCount);
  await fit(model, warm, { epochs: 1, batchSize: flags.batchSize, seed: flags.seed, progress: false, precision });
  warm.dispose();
  const times: number[] = [];
  let lastLosses: number[] | null = null;
  for (let epoch = 0; epoch < flags.epochs; epoch++) {
    const start = performance.now();
    const history = await fit(model, x, {
      epochs: 1,
      batchSize: flags.batchSize,
      seed: flags.seed + epoch,
      progress: false,
      precision,
    });
    times.push((performance.now() - start) / 1000);
    lastLosses = history.loss.slice(-1);
  }
  x.dispose();
  // fit's handle, from compiled()'s cache: the precision its steps ran in.
  const ranIn = compiled(model, { precision }).precision;
  return { unit: 's/epoch', times, lastLosses, samples: used, precision: ranIn };
}

interface Flags {
  workload: WorkloadName;
  batchSize: number;
  warmup: number;
  iterations: number;
  epochs: number;
  warmupBatches: number;
  limit: number;
  seed: number;
}

async function main(): Promise<void> {
  const raw = parseFlags(process.argv.slice(2));
  const workload = raw.workload as WorkloadName;
  if (!WORKLOADS.includes(workload)) {
    throw new Error(`ts-workloads: --workload must be one of ${WORKLOADS.join(', ')}; got "${raw.workload}".`);
  }
  const num = (name: string, fallback?: number): number => {
    const value = raw[name] === undefined ? fallback : Number(raw[name]);
    if (value === undefined || !Number.isFinite(value))
      throw new Error(`ts-workloads: --${name} must be a number; got "${raw[name]}".`);
    return value;
  };
  const flags: Flags = {
    workload,
    batchSize: num('batch-size'),
    warmup: num('warmup', 5),
    iterations: num('iterations', 50),
    epochs: num('epochs', 1),
    warmupBatches: num('warmup-batches', 5),
    limit: num('limit', 0),
    seed: num('seed', 1),
  };
  // Off in `npm run bench` (which measures the library as shipped); on by hand to measure what
  // lib/nativeKernels.ts gains under the same conditions.
  if (raw['stock-kernels'] === 'true') uninstallNativeKernels(tf);
  // The same file the Keras side reads: data/mnist/t10k-images-idx3-ubyte.gz.
  const { images, count } = loadEmbeddedTestSet();
  const result =
    workload === 'gan'
      ? await runGan(images, count, flags)
      : workload === 'gan_fast' || workload === 'gan_bf16'
        ? await runNotebookGan(images, count, flags, workload === 'gan_bf16' ? 'mixed_bfloat16' : 'float32')
        : workload === 'ae2d_bf16'
          ? await runEpochs('ae2d', images, count, flags, 'mixed_bfloat16')
          : await runEpochs(workload, images, count, flags);
  const info = backendInfo(tf);
  const output = {
    ...result,
    side: 'ts',
    workload,
    batchSize: flags.batchSize,
    // process.resourceUsage().maxRSS is in KiB, like ru_maxrss on Linux.
    maxRssKiB: process.resourceUsage().maxRSS,
    leakedTensors: tf.memory().numTensors,
    threads: {
      intraOp: Number(process.env.TF_NUM_INTRAOP_THREADS ?? 0),
      interOp: Number(process.env.TF_NUM_INTEROP_THREADS ?? 0),
      osThreadsAtEnd: fs.existsSync('/proc/self/task') ? fs.readdirSync('/proc/self/task').length : null,
    },
    versions: {
      node: process.versions.node,
      tfjs: info.tfjsVersion,
      tfjsNode: tf.version.tfjs,
      tensorflowCLibrary: info.tensorflowVersion,
      librarySource: info.librarySource ?? 'tfjs-node download',
      backend: info.backend,
      platform: `${os.platform()} ${os.release()}`,
    },
    // The CPU's bfloat16 instructions, as lib/graph/precision.ts reads them.
    bfloat16Instructions: bfloat16Instructions(),
    // The library's cheaper Step kernel and LeakyReLU gradient (lib/nativeKernels.ts), as shipped.
    nativeKernels: nativeKernelsInstalled(),
  };
  process.stdout.write(JSON.stringify(output) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
