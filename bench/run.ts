/**
 * `npm run bench`: the project (tfjs-node) against the Python Keras originals, same workloads,
 * same data, same batch sizes, same thread settings, alternating sides, each repetition of each
 * side and workload in a fresh child process. Prints one table; writes bench/results.json and the
 * generated table in bench/RESULTS.md.
 *
 * Flags:
 *   --reps N          repetitions (default 3)
 *   --quick           a fast sanity run: 1 repetition, 10 GAN iterations, epochs on 2,560 images;
 *                     writes its files to the temp folder unless --out is given
 *   --workloads a,b   subset of gan,gan_fast,gan_bf16,conv_ae,ae2d,ae2d_bf16 (default all);
 *                     gan_fast: 01's own loop against Keras written for speed (predict_on_batch);
 *                     gan_bf16 / ae2d_bf16: gan_fast / ae2d in mixed_bfloat16 on both sides (01's
 *                     precision setting and fit's; Keras's mixed_bfloat16 policy)
 *   --intra N --inter N  TensorFlow intra-/inter-op threads on both sides (default: CPU count)
 *   --out DIR         where results.json and RESULTS.md go (default bench/)
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseFlags } from '../scripts/flags';
import { bfloat16Instructions } from '../lib/graph/precision';
import {
  buildRows,
  formatBfloat16Support,
  formatMarkdownTable,
  formatTextTable,
  replaceBetweenMarkers,
  type RepetitionResult,
  type Side,
} from './stats';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const ALL_WORKLOADS = ['gan', 'gan_fast', 'gan_bf16', 'conv_ae', 'ae2d', 'ae2d_bf16'] as const;
type Workload = (typeof ALL_WORKLOADS)[number];
const BATCH_SIZES: Record<Workload, number> = {
  gan: 32,
  gan_fast: 32,
  gan_bf16: 32,
  conv_ae: 128,
  ae2d: 32,
  ae2d_bf16: 32,
};

interface Settings {
  reps: number;
  quick: boolean;
  workloads: Workload[];
  intra: number;
  inter: number;
  outDir: string;
  ganWarmup: number;
  ganIterations: number;
  warmupBatches: number;
  /** Images per epoch; 0 = all 10,000. */
  limit: number;
}

/** The full JSON line a child prints: timings plus what it reports about itself. */
interface ChildReport extends RepetitionResult {
  /** Version strings; keys differ per side (python/tensorflow/keras/numpy, node/tfjs/tensorflowCLibrary/...). */
  versions?: Record<string, string | undefined>;
  threads?: { intraOp: number; interOp: number; osThreadsAtEnd: number | null };
  repetition?: number;
  /** What the steps computed in: the project's compiled() precision(s), Keras's policy and dtypes. */
  precision?: unknown;
}

function readSettings(argv: string[]): Settings {
  const flags = parseFlags(argv);
  const known = ['reps', 'quick', 'workloads', 'intra', 'inter', 'out'];
  for (const name of Object.keys(flags)) {
    if (!known.includes(name))
      throw new Error(`bench: unknown flag --${name}; known: ${known.map((k) => `--${k}`).join(', ')}.`);
  }
  const quick = flags.quick === 'true';
  const positive = (name: string, fallback: number): number => {
    const value = flags[name] === undefined ? fallback : Number(flags[name]);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`bench: --${name} must be a whole number >= 1; got "${flags[name]}".`);
    return value;
  };
  const workloads = (flags.workloads ?? ALL_WORKLOADS.join(',')).split(',').map((w) => w.trim()) as Workload[];
  for (const w of workloads) {
    if (!ALL_WORKLOADS.includes(w))
      throw new Error(`bench: --workloads takes a comma list of ${ALL_WORKLOADS.join(', ')}; got "${w}".`);
  }
  const cpus = os.cpus().length;
  return {
    reps: positive('reps', quick ? 1 : 3),
    quick,
    workloads,
    intra: positive('intra', cpus),
    inter: positive('inter', cpus),
    outDir: path.resolve(flags.out ?? (quick ? path.join(os.tmpdir(), 'gan-notebooks-bench') : __dirname)),
    ganWarmup: quick ? 2 : 5,
    ganIterations: quick ? 10 : 50,
    warmupBatches: quick ? 2 : 5,
    limit: quick ? 2560 : 0,
  };
}

function childCommand(side: Side, workload: Workload, s: Settings): { command: string; args: string[] } {
  const common = [
    '--workload',
    workload,
    '--batch-size',
    String(BATCH_SIZES[workload]),
    '--warmup',
    String(s.ganWarmup),
    '--iterations',
    String(s.ganIterations),
    '--epochs',
    '1',
    '--warmup-batches',
    String(s.warmupBatches),
    '--limit',
    String(s.limit),
    '--seed',
    '1',
  ];
  if (side === 'keras') {
    return {
      command: PYTHON,
      args: [
        path.join(__dirname, 'keras_workloads.py'),
        ...common,
        '--intra',
        String(s.intra),
        '--inter',
        String(s.inter),
      ],
    };
  }
  return { command: process.execPath, args: ['--import', 'tsx', path.join(__dirname, 'ts-workloads.ts'), ...common] };
}

function runChild(side: Side, workload: Workload, s: Settings): Promise<ChildReport> {
  const { command, args } = childCommand(side, workload, s);
  const env = {
    ...process.env,
    TF_CPP_MIN_LOG_LEVEL: '2',
    // Read by the TensorFlow C library on both sides (the same libtensorflow build).
    TF_NUM_INTRAOP_THREADS: String(s.intra),
    TF_NUM_INTEROP_THREADS: String(s.inter),
    OMP_NUM_THREADS: String(s.intra),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) =>
      reject(
        new Error(
          `bench: could not start ${command}: ${error.message}` +
            (side === 'keras' ? ' (the Python side needs .venv with tensorflow-cpu and keras: npm run setup).' : ''),
        ),
      ),
    );
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`bench: the ${side} ${workload} child exited with code ${code}.\nLast stderr:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(line) as ChildReport);
    });
  });
}

function machineInfo(s: Settings) {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    /** "avx512_bf16: yes, amx_bf16: no"; without either, mixed_bfloat16 runs float32 (project) or emulated (Keras). */
    bfloat16: formatBfloat16Support(bfloat16Instructions()),
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    threads: {
      intraOp: s.intra,
      interOp: s.inter,
      how:
        'TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS in both children (read by the TensorFlow C library); ' +
        'Python also calls tf.config.threading.set_intra/inter_op_parallelism_threads',
    },
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

/** Writes a file atomically: a temp file beside it, then rename. */
function writeAtomic(filePath: string, text: string): void {
  fs.mkdirSync(path.dirname(filePath), { recursive: true });
  const temp = `${filePath}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, filePath);
}

function describeSettings(s: Settings): string {
  return (
    `${s.reps} repetition(s), alternating Keras / project, each in a fresh process; ` +
    `GAN: ${s.ganWarmup} warm-up + ${s.ganIterations} timed iterations; ` +
    `autoencoders: ${s.warmupBatches} warm-up batches (+ the partial one), ` +
    `then 1 timed epoch on ${s.limit || 10000} images; threads intra ${s.intra}, inter ${s.inter}` +
    (s.quick ? '; QUICK sanity run, not comparable to full runs' : '')
  );
}

async function main(): Promise<void> {
  const s = readSettings(process.argv.slice(2));
  if (!fs.existsSync(PYTHON))
    throw new Error(
      `bench: ${PYTHON} is missing; the Keras side needs the project's virtual environment (npm run setup).`,
    );
  const machine = machineInfo(s);
  process.stderr.write(`[bench] ${describeSettings(s)}\n`);
  const results: ChildReport[] = [];
  const started = Date.now();
  for (let rep = 0; rep < s.reps; rep++) {
    for (const workload of s.workloads) {
      for (const side of ['keras', 'ts'] as const) {
        const t0 = Date.now();
        const report = await runChild(side, workload, s);
        results.push({ ...report, repetition: rep });
        const seconds = ((Date.now() - t0) / 1000).toFixed(1);
        process.stderr.write(`[bench] rep ${rep + 1}/${s.reps} ${workload} ${side}: ${seconds} s in the child\n`);
      }
    }
  }
  const rows = buildRows(results);
  const table = formatTextTable(rows);
  process.stdout.write(`CPU: ${machine.cpuModel}, ${machine.cores} cores; bfloat16: ${machine.bfloat16}\n${table}\n`);

  const firstOf = (side: Side) => results.find((r) => r.side === side);
  const versions = { keras: firstOf('keras')?.versions, project: firstOf('ts')?.versions };
  const threadsSeen = { keras: firstOf('keras')?.threads, project: firstOf('ts')?.threads };
  const finishedAt = new Date().toISOString();
  const summary = {
    finishedAt,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    settings: describeSettings(s),
    quick: s.quick,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))) },
    versions,
    threadsSeen,
    rows,
    repetitions: results,
  };
  writeAtomic(path.join(s.outDir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const { keras: kerasVersions, project: projectVersions } = versions;
  // What the mixed_bfloat16 rows actually ran in (the project falls back to float32 without bfloat16 instructions).
  const ranIn = (workload: string, side: Side) =>
    JSON.stringify(results.find((r) => r.workload === workload && r.side === side)?.precision ?? null);
  const precisionLines = s.workloads
    .filter((w) => w.endsWith('_bf16'))
    .map((w) => `Precision of ${w}: Keras ${ranIn(w, 'keras')}; project ${ranIn(w, 'ts')}.`);
  const markdown = [
    `Measured ${finishedAt} (${summary.durationSeconds} s): ${describeSettings(s)}.`,
    '',
    formatMarkdownTable(rows),
    '',
    `Times: min / median / max over repetitions of each repetition's mean; ` +
      `ratio = project median / Keras median (below 1.0: the project is faster).`,
    '',
    `Machine: ${machine.cpuModel} (bfloat16 instructions: ${machine.bfloat16}), ${machine.cores} cores, ` +
      `${machine.memoryGiB} GiB, ${machine.os}; ` +
      `load average at start ${machine.loadAverageAtStart.join(' ')}, ` +
      `at end ${summary.machine.loadAverageAtEnd.join(' ')}.`,
    `Keras side: Python ${kerasVersions?.python}, TensorFlow ${kerasVersions?.tensorflow}, ` +
      `Keras ${kerasVersions?.keras}, NumPy ${kerasVersions?.numpy}.`,
    `Project side: Node ${projectVersions?.node}, TensorFlow.js ${projectVersions?.tfjs}, ` +
      `TensorFlow C library ${projectVersions?.tensorflowCLibrary} (${projectVersions?.librarySource}).`,
    `Threads: intra-op ${s.intra}, inter-op ${s.inter} on both sides; ` +
      `OS threads at the end of a GAN child: Keras ${threadsSeen.keras?.osThreadsAtEnd ?? '?'}, ` +
      `project ${threadsSeen.project?.osThreadsAtEnd ?? '?'} (Node adds its own V8 and libuv threads).`,
    ...precisionLines,
  ].join('\n');
  const mdPath = path.join(s.outDir, 'RESULTS.md');
  const existing = fs.existsSync(mdPath)
    ? fs.readFileSync(mdPath, 'utf8')
    : '# Benchmark: project (tfjs-node) vs Keras\n';
  writeAtomic(mdPath, replaceBetweenMarkers(existing, 'bench:table', markdown));
  process.stderr.write(`[bench] wrote ${path.join(s.outDir, 'results.json')} and ${mdPath}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
