/**
 * The test command's test step (scripts/test.sh): runs the given test files in one node test
 * runner, one file at a time, with a time limit per file and one for the whole run, then says
 * which files crashed or timed out (tools/testReport.ts reads the runner's TAP report for that).
 * Exits 0 only when every test passed; a file killed by a signal fails the run, nothing is rerun.
 *
 *   tsx scripts/run-tests.ts [--timeout-minutes 40] [--file-timeout-minutes 20]
 *                            [--report build/test-results.tap] -- <test files>
 *
 * (`--timeout-seconds` and `--file-timeout-seconds` are the same limits in seconds, for the tests.)
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judgeTestRun } from '../tools/testReport';
import { parseKnownFlags } from './flags';

const USAGE =
  'usage: tsx scripts/run-tests.ts [--timeout-minutes N] [--file-timeout-minutes N] [--report file.tap] -- <files>';
// A full run takes about 7 minutes; on a busy 2-core machine 12, its longest file (the notebook smoke runs)
// 5 of them. CI allows 90. The per-file limit names a hung file; the overall one stops anything else.
const DEFAULT_RUN_MINUTES = 40;
const DEFAULT_FILE_MINUTES = 20;
// After the overall limit: SIGTERM lets the runner stop its child and write what it has; then SIGKILL.
const KILL_GRACE_MS = 15_000;

function limitSeconds(flags: Record<string, string | undefined>, name: string, defaultMinutes: number): number {
  const seconds = flags[`${name}-seconds`];
  const minutes = flags[`${name}-minutes`];
  const value =
    seconds !== undefined ? Number(seconds) : minutes !== undefined ? Number(minutes) * 60 : defaultMinutes * 60;
  if (!(value > 0)) throw new Error(`--${name}-minutes (or -seconds) must be a positive number.\n${USAGE}`);
  return value;
}

async function main(): Promise<number> {
  const separator = process.argv.indexOf('--', 2);
  if (separator < 0 || separator === process.argv.length - 1) {
    console.error(USAGE);
    return 2;
  }
  const flags = parseKnownFlags(
    process.argv.slice(2, separator),
    ['timeout-minutes', 'timeout-seconds', 'file-timeout-minutes', 'file-timeout-seconds', 'report'],
    USAGE,
  );
  const files = process.argv.slice(separator + 1);
  const runSeconds = limitSeconds(flags, 'timeout', DEFAULT_RUN_MINUTES);
  const fileSeconds = limitSeconds(flags, 'file-timeout', DEFAULT_FILE_MINUTES);
  const report = path.resolve(flags.report ?? path.join('build', 'test-results.tap'));
  fs.mkdirSync(path.dirname(report), { recursive: true });
  fs.rmSync(report, { force: true });

  // One runner invocation, so its closing summary counts every test. Files run one at a time: the
  // machine has two cores and each file trains on native TensorFlow. The spec report goes to the
  // terminal, a TAP copy to `report` for the verdict below.
  const runner = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      `--test-timeout=${Math.round(fileSeconds * 1000)}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${report}`,
      ...files,
    ],
    // Its own process group, so the overall limit (and a Ctrl-C here) stops the test files it started too.
    { stdio: 'inherit', detached: true },
  );
  const stopGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(runner.pid as number), signal);
    } catch {
      // The group has already gone.
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopGroup(signal));
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  let running: string[] = [];
  const runTimer = setTimeout(() => {
    timedOut = true;
    running = filesRunning(runner.pid as number, files);
    console.error(`[test] still running after ${runSeconds} s: stopping the test run`);
    stopGroup('SIGTERM');
    killTimer = setTimeout(() => stopGroup('SIGKILL'), KILL_GRACE_MS);
  }, runSeconds * 1000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    runner.on('error', reject);
    runner.on('exit', (code, sig) => resolve([code, sig]));
  });
  clearTimeout(runTimer);
  clearTimeout(killTimer);
  // Whatever the runner left behind in its group (a test file's process it could not stop).
  stopGroup('SIGKILL');

  const verdict = judgeTestRun({
    exitCode,
    signal,
    tap: fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '',
    ...(timedOut ? { runTimedOutAfterSeconds: runSeconds, filesRunning: running } : {}),
  });
  for (const line of verdict.lines) console.error(line);
  if (!verdict.ok) console.error(`[test] the test run failed (TAP report: ${path.relative(process.cwd(), report)})`);
  return verdict.ok ? 0 : 1;
}

/** The test files the runner's child processes are running (their command lines name them); [] if ps cannot say. */
function filesRunning(runnerPid: number, files: string[]): string[] {
  const ps = spawnSync('ps', ['-o', 'args=', '--ppid', String(runnerPid)], { encoding: 'utf8' });
  if (ps.status !== 0) return [];
  const args = ps.stdout.split(/\s+/);
  return files.filter((file) => args.includes(file) || args.includes(path.resolve(file)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
