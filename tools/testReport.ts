/**
 * Reads the TAP report of node's test runner (`--test-reporter=tap`) for the test command
 * (scripts/run-tests.ts): which test files' processes were killed by a signal or ran past the
 * per-file time limit, and how many tests failed. `judgeTestRun` turns that, with the runner's
 * exit status, into the run's verdict and the lines printed after it.
 *
 * Why the test command names them itself: a file whose process dies by a signal shows up in the
 * runner's own output as little more than "test failed", and node 20's runner drops the results
 * that file had not reported yet (inside a `describe`, all of them), so a failed assertion before
 * the crash is lost. A crash always fails the run; nothing is rerun.
 */

/** A test file whose process died by a signal rather than by a failed assertion. */
export interface CrashedFile {
  file: string;
  signal: string;
}

/** A test file stopped by the runner's per-file limit (`--test-timeout`). */
export interface TimedOutFile {
  file: string;
  /** The runner's words, e.g. "test timed out after 900000ms". */
  error: string;
}

export interface TestReport {
  /** Files whose process ended by a signal (each counts as one failure in `failures`). */
  crashed: CrashedFile[];
  /** Files stopped by the per-file time limit (counted in `cancelled`, not in `failures`). */
  timedOut: TimedOutFile[];
  /** The runner's own count of failed tests (`# fail N`). */
  failures: number;
  /** The runner's count of cancelled tests (`# cancelled N`): a timed-out file is one. */
  cancelled: number;
}

/** Parses a TAP report; throws when it has no `# fail` count (a run that did not finish). */
export function readTestReport(tap: string): TestReport {
  const failLine = /^# fail (\d+)$/m.exec(tap);
  if (!failLine) throw new Error('The TAP report has no "# fail" line: the test run did not finish.');
  const crashed: CrashedFile[] = [];
  const timedOut: TimedOutFile[] = [];
  // A file-level entry: "not ok N - /path/to/x.test.ts" at the top level, its YAML block saying why.
  const fileEntry = /^not ok \d+ - (.+\.[cm]?[jt]s)\n {2}---\n((?: {2}.*\n)*?) {2}\.\.\./gm;
  for (const match of tap.matchAll(fileEntry)) {
    const signal = /^ {2}signal: '(SIG[A-Z0-9]+)'$/m.exec(match[2]);
    if (signal) crashed.push({ file: match[1], signal: signal[1] });
    if (/^ {2}failureType: 'testTimeoutFailure'$/m.test(match[2])) {
      const error = /^ {2}error: '(.*)'$/m.exec(match[2]);
      timedOut.push({ file: match[1], error: error?.[1] ?? 'timed out' });
    }
  }
  const cancelledLine = /^# cancelled (\d+)$/m.exec(tap);
  return { crashed, timedOut, failures: Number(failLine[1]), cancelled: Number(cancelledLine?.[1] ?? 0) };
}

/** How the runner's process ended, and what it left in its TAP report. */
export interface TestRunOutcome {
  /** The runner's exit code, null when it ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** The TAP report's text ('' when it was never written). */
  tap: string;
  /** Set when the whole run hit the test command's overall limit and was stopped: that limit, in seconds. */
  runTimedOutAfterSeconds?: number;
  /** The test files still running when the overall limit stopped the run, where known. */
  filesRunning?: string[];
}

export interface TestRunVerdict {
  ok: boolean;
  /** What to print after the run, one line each: empty for a clean run. */
  lines: string[];
}

/** Pass or fail for the whole run, with a line for each crashed or timed-out file. */
export function judgeTestRun(outcome: TestRunOutcome): TestRunVerdict {
  const lines: string[] = [];
  let report: TestReport | undefined;
  try {
    report = readTestReport(outcome.tap);
  } catch {
    // No closing counts: the runner was stopped or died; said below.
  }
  for (const { file, signal } of report?.crashed ?? []) {
    lines.push(
      `[test] FAILED: ${file}: its process died by ${signal} (a crash, not a failed assertion). ` +
        "Its results are incomplete: node's runner drops what a dying file had not reported yet, " +
        'so an assertion that failed before the crash may be missing above.',
    );
  }
  for (const { file, error } of report?.timedOut ?? []) {
    lines.push(`[test] FAILED: ${file}: ${error} (the per-file limit) and was stopped; its results are incomplete.`);
  }
  if (outcome.runTimedOutAfterSeconds !== undefined) {
    const running = outcome.filesRunning?.length ? outcome.filesRunning.join(', ') : 'the file then running';
    lines.push(
      `[test] FAILED: the test run timed out: still running after ${formatSeconds(outcome.runTimedOutAfterSeconds)}, ` +
        `it was stopped; ${running} and the files after it have incomplete or no results.`,
    );
  } else if (!report) {
    const how = outcome.signal ? `by ${outcome.signal}` : `with exit code ${outcome.exitCode}`;
    lines.push(`[test] FAILED: the test runner stopped ${how} before its closing counts; the results are incomplete.`);
  } else if (outcome.exitCode !== 0 && lines.length === 0) {
    lines.push(`[test] FAILED: ${report.failures} failed test(s): see above.`);
  }
  const ok =
    outcome.exitCode === 0 &&
    outcome.runTimedOutAfterSeconds === undefined &&
    report !== undefined &&
    report.failures === 0 &&
    report.cancelled === 0 &&
    lines.length === 0;
  if (!ok && lines.length === 0) lines.push('[test] FAILED: the runner reported failures: see above.');
  return { ok, lines };
}

function formatSeconds(seconds: number): string {
  return seconds >= 120 && seconds % 60 === 0 ? `${seconds / 60} minutes` : `${seconds} s`;
}
