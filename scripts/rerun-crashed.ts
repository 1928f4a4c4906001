/**
 * The test command's second step (scripts/test.sh): reads the first run's TAP report and reruns,
 * once, each test file whose process was killed by a signal (see tools/testReport.ts for why).
 * Exits 0 when the only failures were such crashes and every rerun passes; 1 otherwise.
 *
 *   tsx scripts/rerun-crashed.ts build/test-results.tap
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { readTestReport } from '../tools/testReport';

const reportPath = process.argv[2];
if (!reportPath) {
  console.error('usage: tsx scripts/rerun-crashed.ts <tap report>');
  process.exit(2);
}
const report = readTestReport(fs.readFileSync(reportPath, 'utf8'));
if (report.failures === 0) process.exit(0);
if (report.crashed.length === 0 || report.failures > report.crashed.length) {
  console.error(`[test] ${report.failures} failure(s) in the run (not only crashed processes): see above.`);
  process.exit(1);
}
let allPassed = true;
for (const { file, signal } of report.crashed) {
  console.error(
    `[test] ${file}: its process died by ${signal} (a native crash, not a failed assertion); rerunning it once`,
  );
  const rerun = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', file],
    { stdio: 'inherit' },
  );
  const passed = rerun.status === 0;
  console.error(`[test] rerun of ${file}: ${passed ? 'passed' : `failed (${rerun.signal ?? `exit ${rerun.status}`})`}`);
  allPassed &&= passed;
}
process.exit(allPassed ? 0 : 1);
