/**
 * tools/testReport.ts on TAP excerpts shaped as node 20's runner writes them (taken from real
 * runs): a file killed by a signal is found, a failed assertion or a plain non-zero exit is not
 * taken for a crash, and a report without its closing counts is refused.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { readTestReport } from '../../tools/testReport';

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

function report(entries: string[], fail: number): string {
  return [
    ...entries,
    `# tests ${entries.length + 10}`,
    `# pass ${entries.length + 10 - fail}`,
    `# fail ${fail}`,
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
      failures: 2,
    });
  });

  it('does not take a failed assertion or a non-zero exit for a crash', () => {
    const parsed = readTestReport(report([failedAssertion, exitedWithError, crashedTrain], 3));
    assert.deepEqual(parsed.crashed, [{ file: '/repo/test/unit/train.test.ts', signal: 'SIGSEGV' }]);
    assert.equal(parsed.failures, 3, 'more failures than crashes: the test command fails the run');
  });

  it('reads a clean run as no crashes and no failures', () => {
    assert.deepEqual(readTestReport(report([passingSuite], 0)), { crashed: [], failures: 0 });
  });

  it('refuses a report that never reached its counts', () => {
    assert.throws(() => readTestReport(passingSuite), /no "# fail" line: the test run did not finish/);
  });
});
