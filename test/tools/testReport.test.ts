/**
 * The test command's verdict. tools/testReport.ts on TAP excerpts shaped as node 20's runner
 * writes them (taken from real runs): a file killed by a signal or stopped by the per-file limit
 * is found, a failed assertion or a plain non-zero exit is not taken for a crash, and a report
 * without its closing counts is refused. Then scripts/run-tests.ts (the test step of
 * scripts/test.sh) on fixture test files (test/tools/fixtures/tests/): a file that kills itself
 * with SIGSEGV fails the run, named with its signal; a hung file fails it, by either time limit.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../../tools';
import { judgeTestRun, readTestReport } from '../../tools/testReport';

const passingSuite = [
  '# Subtest: toImageTensor and toFlatTensor',
  '    # Subtest: scales pixels',
  '    ok 1 - scales pixels',
  '      ---',
  '      duration_ms: 2.1',
  '      ...',
  'ok 5 - toImageTensor and toFlatTensor',
  '  ---',
  '  duration_ms: 3.5',
  "  type: 'suite'",
  '  ...',
].join('\n');

function fileEntry(number: number, file: string, ending: string[]): string {
  return [
    `# Subtest: ${file}`,
    `not ok ${number} - ${file}`,
    '  ---',
    '  duration_ms: 2530.84',
    `  location: '${file}:1:1'`,
    "  failureType: 'testCodeFailure'",
    ...ending,
    "  error: 'test failed'",
    "  code: 'ERR_TEST_FAILURE'",
    '  ...',
  ].join('\n');
}

const crashedCompiled = fileEntry(4, '/repo/test/unit/compiled.test.ts', ['  exitCode: ~', "  signal: 'SIGTRAP'"]);
const crashedTrain = fileEntry(20, '/repo/test/unit/train.test.ts', ['  exitCode: ~', "  signal: 'SIGSEGV'"]);
const exitedWithError = fileEntry(7, '/repo/test/unit/data.test.ts', ['  exitCode: 1', '  signal: ~']);
const timedOutNotebooks = [
  '# Subtest: /repo/test/notebooks/notebooks.test.ts',
  'not ok 12 - /repo/test/notebooks/notebooks.test.ts',
  '  ---',
  '  duration_ms: 900005.1',
  "  location: '/repo/test/notebooks/notebooks.test.ts:1:1'",
  "  failureType: 'testTimeoutFailure'",
  "  error: 'test timed out after 900000ms'",
  "  code: 'ERR_TEST_FAILURE'",
  '  ...',
].join('\n');
const failedAssertion = [
  '# Subtest: layering',
  '    # Subtest: each part of lib/ imports only the parts below it',
  '    not ok 6 - each part of lib/ imports only the parts below it',
  '      ---',
  "      failureType: 'testCodeFailure'",
  "      error: 'Expected values to be strictly deep-equal'",
  '      ...',
  'not ok 9 - layering',
  '  ---',
  "  type: 'suite'",
  "  error: '1 subtest failed'",
  '  ...',
].join('\n');

function report(entries: string[], fail: number, cancelled = 0): string {
  return [
    ...entries,
    `# tests ${entries.length + 10}`,
    `# pass ${entries.length + 10 - fail - cancelled}`,
    `# fail ${fail}`,
    `# cancelled ${cancelled}`,
    '',
  ].join('\n');
}

describe('readTestReport', () => {
  it('finds the files whose process died by a signal, with the signal', () => {
    const parsed = readTestReport(report([passingSuite, crashedCompiled, passingSuite, crashedTrain], 2));
    assert.deepEqual(parsed, {
      crashed: [
        { file: '/repo/test/unit/compiled.test.ts', signal: 'SIGTRAP' },
        { file: '/repo/test/unit/train.test.ts', signal: 'SIGSEGV' },
      ],
      timedOut: [],
      failures: 2,
      cancelled: 0,
    });
  });

  it('finds a file stopped by the per-file time limit (the runner counts it as cancelled)', () => {
    const parsed = readTestReport(report([passingSuite, timedOutNotebooks], 0, 1));
    assert.deepEqual(parsed, {
      crashed: [],
      timedOut: [{ file: '/repo/test/notebooks/notebooks.test.ts', error: 'test timed out after 900000ms' }],
      failures: 0,
      cancelled: 1,
    });
  });

  it('does not take a failed assertion or a non-zero exit for a crash', () => {
    const parsed = readTestReport(report([failedAssertion, exitedWithError, crashedTrain], 3));
    assert.deepEqual(parsed.crashed, [{ file: '/repo/test/unit/train.test.ts', signal: 'SIGSEGV' }]);
    assert.equal(parsed.failures, 3, 'more failures than crashes: the test command fails the run');
  });

  it('reads a clean run as no crashes and no failures', () => {
    assert.deepEqual(readTestReport(report([passingSuite], 0)), {
      crashed: [],
      timedOut: [],
      failures: 0,
      cancelled: 0,
    });
  });

  it('refuses a report that never reached its counts', () => {
    assert.throws(() => readTestReport(passingSuite), /no "# fail" line: the test run did not finish/);
  });
});

describe('judgeTestRun', () => {
  it('passes a clean run, and only a clean run', () => {
    assert.deepEqual(judgeTestRun({ exitCode: 0, signal: null, tap: report([passingSuite], 0) }), {
      ok: true,
      lines: [],
    });
    const cancelled = judgeTestRun({ exitCode: 0, signal: null, tap: report([passingSuite], 0, 1) });
    assert.equal(cancelled.ok, false, 'a cancelled test is no pass');
  });

  it('fails a crash, naming the file and the signal and saying its results are incomplete', () => {
    const verdict = judgeTestRun({ exitCode: 1, signal: null, tap: report([passingSuite, crashedTrain], 1) });
    assert.equal(verdict.ok, false);
    assert.equal(verdict.lines.length, 1);
    assert.match(
      verdict.lines[0],
      /^\[test\] FAILED: \/repo\/test\/unit\/train\.test\.ts: its process died by SIGSEGV/,
    );
    assert.match(verdict.lines[0], /Its results are incomplete/);
  });

  it('fails a timed-out file and a run stopped by the overall limit, saying so', () => {
    const file = judgeTestRun({ exitCode: 1, signal: null, tap: report([timedOutNotebooks], 0, 1) });
    assert.equal(file.ok, false);
    assert.deepEqual(file.lines, [
      '[test] FAILED: /repo/test/notebooks/notebooks.test.ts: test timed out after 900000ms (the per-file limit) ' +
        'and was stopped; its results are incomplete.',
    ]);
    const run = judgeTestRun({
      exitCode: null,
      signal: 'SIGTERM',
      tap: passingSuite,
      runTimedOutAfterSeconds: 2400,
      filesRunning: ['test/unit/train.test.ts'],
    });
    assert.equal(run.ok, false);
    assert.deepEqual(run.lines, [
      '[test] FAILED: the test run timed out: still running after 40 minutes, it was stopped; ' +
        'test/unit/train.test.ts and the files after it have incomplete or no results.',
    ]);
  });

  it('fails a failed assertion, and a runner that stopped before its counts', () => {
    const failed = judgeTestRun({ exitCode: 1, signal: null, tap: report([failedAssertion], 1) });
    assert.deepEqual(failed, { ok: false, lines: ['[test] FAILED: 1 failed test(s): see above.'] });
    const died = judgeTestRun({ exitCode: null, signal: 'SIGKILL', tap: passingSuite });
    assert.equal(died.ok, false);
    assert.match(died.lines[0], /the test runner stopped by SIGKILL before its closing counts/);
  });
});

const FIXTURES = path.join('test', 'tools', 'fixtures', 'tests');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'test-command-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface RunResult {
  code: number | null;
  output: string;
}

/** scripts/run-tests.ts on fixture test files, as scripts/test.sh runs it on the real ones. */
function runTests(options: string[], files: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const report = path.join(scratch, `${files.map((file) => path.basename(file, '.ts')).join('-')}.tap`);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join('scripts', 'run-tests.ts'),
        ...options,
        '--report',
        report,
        '--',
        ...files.map((file) => path.join(FIXTURES, file)),
      ],
      // Without the variable by which node's runner tells a test file it runs under a runner (a runner
      // started with it set skips every file, as nested runs would).
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the test command (scripts/run-tests.ts)', () => {
  it('passes a run whose tests pass', async () => {
    const run = await runTests([], ['passes.ts']);
    assert.equal(run.code, 0, run.output);
    assert.doesNotMatch(run.output, /FAILED/);
  });

  it('fails a run in which a file dies by SIGSEGV, naming the file and the signal; nothing is rerun', async () => {
    const run = await runTests([], ['passes.ts', 'crashes.ts']);
    assert.equal(run.code, 1, run.output);
    const crashed = path.join(REPO_ROOT, FIXTURES, 'crashes.ts');
    assert.ok(
      run.output.includes(`[test] FAILED: ${crashed}: its process died by SIGSEGV (a crash, not a failed assertion).`),
      run.output,
    );
    assert.match(run.output, /Its results are incomplete/);
    assert.doesNotMatch(run.output, /rerun/i);
    assert.equal((run.output.match(/✔ adds/g) ?? []).length, 1, 'each file ran once');
  });

  it('fails a run with a hung file, by the per-file limit or by the overall limit, saying it timed out', async () => {
    const byFile = await runTests(['--file-timeout-seconds', '3'], ['hangs.ts', 'passes.ts']);
    assert.equal(byFile.code, 1, byFile.output);
    const hung = path.join(REPO_ROOT, FIXTURES, 'hangs.ts');
    assert.ok(byFile.output.includes(`[test] FAILED: ${hung}: test timed out after 3000ms (the per-file limit)`));
    assert.match(byFile.output, /✔ adds/, 'the files after it still ran');

    const byRun = await runTests(['--timeout-seconds', '4'], ['passes.ts', 'hangs.ts']);
    assert.equal(byRun.code, 1, byRun.output);
    assert.ok(
      byRun.output.includes(
        '[test] FAILED: the test run timed out: still running after 4 s, it was stopped; ' +
          `${path.join(FIXTURES, 'hangs.ts')} and the files after it have incomplete or no results.`,
      ),
      byRun.output,
    );
  });

  it('is what scripts/test.sh runs, with a 40-minute limit and 20 minutes per file', () => {
    const script = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'test.sh'), 'utf8');
    assert.match(
      script,
      /\bnode --import tsx scripts\/run-tests\.ts --timeout-minutes 40 --file-timeout-minutes 20 \\\n/,
    );
    assert.ok(!fs.existsSync(path.join(REPO_ROOT, 'scripts', 'rerun-crashed.ts')), 'no rerun step');
  });
});
