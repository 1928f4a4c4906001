/**
 * Reads the TAP report of node's test runner (`--test-reporter=tap`) for the test command
 * (scripts/test.sh): which test files' processes were killed by a signal, and how many failures
 * there were in all.
 *
 * Why: the native TensorFlow library under tfjs-node now and then corrupts memory in a process
 * (SIGSEGV, SIGABRT or SIGTRAP, in V8's garbage collector or at exit), about once in two or three
 * full runs of the tests, at commits before and after the layout round alike. The test command
 * reruns such a file once and says so; any other failure fails the run.
 */

/** A test file whose process died by a signal rather than by a failed assertion. */
export interface CrashedFile {
  file: string;
  signal: string;
}

export interface TestReport {
  /** Files whose process ended by a signal (each counts as one failure in `failures`). */
  crashed: CrashedFile[];
  /** The runner's own count of failed tests (`# fail N`). */
  failures: number;
}

/** Parses a TAP report; throws when it has no `# fail` count (a run that did not finish). */
export function readTestReport(tap: string): TestReport {
  const failLine = /^# fail (\d+)$/m.exec(tap);
  if (!failLine) throw new Error('The TAP report has no "# fail" line: the test run did not finish.');
  const crashed: CrashedFile[] = [];
  // A file-level entry: "not ok N - /path/to/x.test.ts" at the top level, its YAML block naming the signal.
  const fileEntry = /^not ok \d+ - (\S+\.test\.ts)\n {2}---\n((?: {2}.*\n)*?) {2}\.\.\./gm;
  for (const match of tap.matchAll(fileEntry)) {
    const signal = /^ {2}signal: '(SIG[A-Z]+)'$/m.exec(match[2]);
    if (signal) crashed.push({ file: match[1], signal: signal[1] });
  }
  return { crashed, failures: Number(failLine[1]) };
}
