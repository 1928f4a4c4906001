/**
 * `npm run soak`: runs the soak workload (bench/soak/child.ts) in fresh processes, one after
 * another, and counts the processes that die by a signal: the heap corruption of issue 28 shows
 * as SIGSEGV, SIGABRT (`free(): invalid pointer`) or SIGTRAP, in no fixed place. Not part of
 * `npm test`: a count needs many minutes.
 *
 *   npm run soak                              # 20 runs of 150 iterations
 *   npm run soak -- --runs 40 --iterations 300
 *   npm run soak -- --engine eager            # tfjs's own trainOnBatch, for comparison
 *   npm run soak -- --inter-op-threads 2      # TensorFlow's default on this 2-core machine
 *   npm run soak -- --parallel 1              # one process at a time (default 2)
 *
 * TensorFlow runs a session's ops on its inter-op threads, 32 here by default (TensorFlow's own
 * default is one per core), and two processes run at once: more threads than cores makes their
 * work interleave more often, which turns a rare race into a countable one (README, "Native
 * TensorFlow": the counts before and after the binding patch).
 *
 * Any other environment (TF_ENABLE_ONEDNN_OPTS, ONEDNN_MAX_CPU_ISA, MALLOC_CHECK_ with
 * LD_PRELOAD=libc_malloc_debug.so.0) passes through to the children, for A/B
 * runs. The last line is the count, with the CPU model and the binding it ran on.
 * Exits 1 when any run crashed or failed.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    iterations: { type: 'string', default: '150' },
    engine: { type: 'string', default: 'graph' },
    'inter-op-threads': { type: 'string', default: '32' },
    parallel: { type: 'string', default: '2' },
  },
});

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`soak: --${name} must be a positive integer; got ${JSON.stringify(text)}.`);
    process.exit(2);
  }
  return value;
}

const runs = positiveInteger('runs', options.runs);
const iterations = positiveInteger('iterations', options.iterations);
const interOpThreads = positiveInteger('inter-op-threads', options['inter-op-threads']);
const parallel = positiveInteger('parallel', options.parallel);
if (options.engine !== 'graph' && options.engine !== 'eager') {
  console.error(`soak: --engine must be graph or eager; got ${JSON.stringify(options.engine)}.`);
  process.exit(2);
}

const child = path.join(__dirname, 'child.ts');
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const started = Date.now();
let crashes = 0;
let failures = 0;
let bindingLine = '';

interface RunResult {
  signal: NodeJS.Signals | null;
  status: number | null;
  stdout: string;
  stderr: string;
}

function runChild(): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', child], {
      env: {
        ...process.env,
        SOAK_ITERATIONS: String(iterations),
        SOAK_ENGINE: options.engine,
        TF_NUM_INTEROP_THREADS: String(interOpThreads),
        TF_CPP_MIN_LOG_LEVEL: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function report(run: number, result: RunResult, seconds: string): void {
  bindingLine = /^binding: .*/m.exec(result.stdout)?.[0] ?? bindingLine;
  let outcome: string;
  if (result.signal) {
    crashes++;
    // The C library's last words (e.g. "free(): invalid pointer") name the kind of corruption.
    const lastWords =
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => !/^\((node:\d+|Use `node)/.test(line))
        .slice(-1)[0] ?? '';
    outcome = `CRASHED by ${result.signal}${lastWords ? ` (${lastWords.slice(0, 160)})` : ''}`;
  } else if (result.status !== 0) {
    failures++;
    const lastLines = result.stderr.trim().split('\n').slice(-3).join(' | ');
    outcome = `FAILED with exit code ${result.status}: ${lastLines}`;
  } else {
    outcome = 'ok';
  }
  console.log(`[soak] run ${run}/${runs}: ${outcome} (${seconds} s)`);
}

async function main(): Promise<void> {
  let next = 1;
  // `parallel` workers take the next run number until all are done.
  const worker = async () => {
    while (next <= runs) {
      const run = next++;
      const t0 = Date.now();
      const result = await runChild();
      report(run, result, ((Date.now() - t0) / 1000).toFixed(1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, runs) }, worker));
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  console.log(
    `[soak] ${crashes} crash(es) in ${runs} runs of ${iterations} iterations (${options.engine} engine, ` +
      `${interOpThreads} inter-op threads, ${parallel} at a time), ${failures} other failure(s), ${minutes} min; ` +
      `${cpu}; ${bindingLine || 'binding: unknown'}`,
  );
  process.exit(crashes + failures > 0 ? 1 : 0);
}

void main();
