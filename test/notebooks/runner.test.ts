/**
 * The notebook runner on small fixture notebooks (test/fixtures/notebooks): parameters from
 * profile and command line, failures reported with notebook, cell and error text, dead
 * kernels and timeouts reported as such.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  declaredParameters,
  formatSummaryTable,
  INJECTED_TAG,
  injectParameters,
  NotebookParameterError,
  parseSetArgument,
  readNotebook,
  REPO_ROOT,
  runNotebooks,
  sourceText,
  type Notebook,
  type RunSummary,
} from '../../lib/notebook';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'notebooks');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function stdoutOf(notebook: Notebook): string {
  return notebook.cells
    .flatMap((cell) => (cell.outputs ?? []) as { output_type: string; name?: string; text?: string | string[] }[])
    .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
    .map((output) => sourceText(output.text ?? ''))
    .join('');
}

describe('parameters cell', () => {
  it('finds the names declared at the top level, with keyword and literal type', () => {
    const declared = declaredParameters("// settings\nlet iterations = 2001, batchSize = 32;\nconst seed = -7;\nlet name = 'mnist';\nlet shape = [28, 28];\nif (true) { let inner = 1; }");
    assert.deepEqual(
      declared.map(({ name, keyword, literalType }) => [name, keyword, literalType]),
      [['iterations', 'let', 'number'], ['batchSize', 'let', 'number'], ['seed', 'const', 'number'], ['name', 'let', 'string'], ['shape', 'let', undefined]],
    );
  });

  it('parses --set values as JSON when they are JSON, else as text', () => {
    assert.deepEqual(parseSetArgument('iterations=50'), { notebook: undefined, name: 'iterations', value: 50 });
    assert.deepEqual(parseSetArgument('01-gan.ipynb:label=fast run'), { notebook: '01-gan.ipynb', name: 'label', value: 'fast run' });
    assert.deepEqual(parseSetArgument('flags=[1,2]').value, [1, 2]);
    assert.throws(() => parseSetArgument('iterations'), /--set expects name=value/);
  });

  it('rejects an unknown parameter, naming the notebook, the parameter and what is declared', () => {
    const notebook = readNotebook(path.join(FIXTURES, 'ok-params.ipynb'));
    assert.throws(
      () => injectParameters(notebook, { cuont: { value: 4, origin: '--set' } }, 'ok-params.ipynb'),
      (error: Error) =>
        error instanceof NotebookParameterError &&
        /ok-params\.ipynb: unknown parameter "cuont" \(from --set\)/.test(error.message) &&
        /declares count, label, fixed/.test(error.message),
    );
  });

  it('rejects overriding a const and a value of the wrong type', () => {
    const notebook = readNotebook(path.join(FIXTURES, 'ok-params.ipynb'));
    assert.throws(() => injectParameters(notebook, { fixed: { value: 1, origin: '--set' } }, 'ok-params.ipynb'), /declared with const.*Declare it with let/);
    assert.throws(() => injectParameters(notebook, { count: { value: 'four', origin: '--set' } }, 'ok-params.ipynb'), /must be a number.*found string "four"/);
  });

  it('refuses, before running anything, a run whose --set names no declared parameter', async () => {
    await assert.rejects(
      runNotebooks({ notebooksDir: FIXTURES, outDir: path.join(scratch, 'never'), only: ['ok-params'], set: ['iterations=5'] }),
      /--set iterations=\.\.\.: unknown parameter "iterations"; .*ok-params\.ipynb: count, label, fixed/,
    );
    assert.equal(fs.existsSync(path.join(scratch, 'never', 'summary.json')), false);
  });

  it('refuses a notebook without exactly one parameters cell', () => {
    const notebook = readNotebook(path.join(FIXTURES, 'ok-params.ipynb'));
    const untagged: Notebook = { ...notebook, cells: notebook.cells.map((cell) => ({ ...cell, metadata: {} })) };
    assert.throws(() => injectParameters(untagged, {}, 'x.ipynb'), /x\.ipynb: expected exactly one code cell tagged "parameters".*found none/);
  });
});

describe('runner on fixture notebooks (smoke profile)', () => {
  let summary: RunSummary;
  const outDir = path.join(scratch, 'smoke');
  const progress: string[] = [];

  before(async () => {
    summary = await runNotebooks({
      notebooksDir: FIXTURES,
      profile: 'smoke',
      only: ['ok-params', 'failing-cell', 'kernel-dies'],
      set: ['label=from-cli'],
      outDir,
      log: (line) => progress.push(line),
    });
  });

  const result = (name: string) => {
    const found = summary.notebooks.find((entry) => entry.name === name);
    assert.ok(found, `${name} missing from the summary`);
    return found;
  };

  it('runs the selected notebooks in name order and writes summary.json with one row each', () => {
    assert.deepEqual(summary.notebooks.map((entry) => entry.name), ['failing-cell.ipynb', 'kernel-dies.ipynb', 'ok-params.ipynb']);
    assert.equal(summary.ok, false);
    const written = JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')) as RunSummary;
    assert.deepEqual(written.notebooks.map((entry) => [entry.name, entry.status]), [
      ['failing-cell.ipynb', 'error'],
      ['kernel-dies.ipynb', 'dead-kernel'],
      ['ok-params.ipynb', 'ok'],
    ]);
    const table = formatSummaryTable(summary);
    assert.match(table, /^notebook\s+seconds\s+status/);
    assert.match(table, /ok-params\.ipynb\s+\d+\.\d\s+ok/);
  });

  it('injects profile and --set overrides as a tagged cell after the parameters cell, which changes the result', () => {
    const executed = readNotebook(result('ok-params.ipynb').executedPath);
    const parametersIndex = executed.cells.findIndex((cell) => cell.metadata.tags?.includes('parameters'));
    const injected = executed.cells[parametersIndex + 1];
    assert.deepEqual(injected.metadata.tags, [INJECTED_TAG]);
    assert.match(sourceText(injected.source), /^\s*count = 4;$/m);
    assert.match(sourceText(injected.source), /^\s*label = "from-cli";$/m);
    // The assignments sit in a block, so tslab prints no stray value under the cell.
    assert.deepEqual(injected.outputs, []);
    // Declared: count = 3, label = 'base'; fixed = 10. The run used the overrides.
    assert.match(stdoutOf(executed), /result=40 label=from-cli/);
    assert.ok(progress.some((line) => /ok-params\.ipynb: injected after cell 2: count = 4 \(profile smoke\), label = "from-cli" \(--set\)/.test(line)), progress.join('\n'));
    // The committed fixture is untouched.
    assert.equal(readNotebook(path.join(FIXTURES, 'ok-params.ipynb')).cells.length, executed.cells.length - 1);
  });

  it('reports a failing cell with the notebook, the cell number and the error text', () => {
    const failed = result('failing-cell.ipynb');
    assert.equal(failed.status, 'error');
    assert.equal(failed.cell, 4);
    assert.equal(failed.headline, 'RangeError: limit 5 is above 3');
    assert.match(failed.report ?? '', /^failing-cell\.ipynb: cell 4, which starts `checkLimit\(limit\);` failed: RangeError: limit 5 is above 3/);
    // The executed copy stops there: the cell after it never ran.
    const executed = readNotebook(failed.executedPath);
    assert.doesNotMatch(stdoutOf(executed), /never reached/);
    assert.ok(fs.existsSync(failed.htmlPath));
  });

  it('reports a kernel that dies as a dead kernel, quickly, with the cell', () => {
    const dead = result('kernel-dies.ipynb');
    assert.equal(dead.status, 'dead-kernel');
    assert.equal(dead.cell, 3);
    assert.match(dead.report ?? '', /kernel-dies\.ipynb: the kernel died \(it was killed by SIGKILL.*\) while running cell 3, which starts `process\.kill/);
    assert.ok(dead.seconds < 15, `noticing the dead kernel took ${dead.seconds} s`);
  });
});

describe('runner limits and defaults', () => {
  let summary: RunSummary;
  before(async () => {
    // full profile: the fixtures' own settings; a per-cell limit of 4 s from the command line.
    summary = await runNotebooks({ notebooksDir: FIXTURES, profile: 'full', only: ['slow-cell', 'ok-params'], cellTimeoutSeconds: 4, outDir: path.join(scratch, 'limits') });
  });

  it('reports a cell over the per-cell limit as a timeout naming the cell', () => {
    const slow = summary.notebooks.find((entry) => entry.name === 'slow-cell.ipynb')!;
    assert.equal(slow.status, 'timeout');
    assert.equal(slow.cell, 2);
    assert.match(slow.report ?? '', /slow-cell\.ipynb: cell 2, which starts `\/\/ Busy-waits.*` timed out: .*per-cell limit of 4 s/);
    assert.ok(slow.seconds < 20, `the timeout took ${slow.seconds} s to report`);
  });

  it('injects nothing without overrides, so the declared values run', () => {
    const plain = summary.notebooks.find((entry) => entry.name === 'ok-params.ipynb')!;
    assert.equal(plain.status, 'ok');
    const executed = readNotebook(plain.executedPath);
    assert.equal(executed.cells.some((cell) => cell.metadata.tags?.includes(INJECTED_TAG)), false);
    assert.match(stdoutOf(executed), /result=30 label=base/);
  });
});

describe('kernel under a burst of display updates', () => {
  it('delivers 5,000 in-place updates without a pause, and the next cell runs', async () => {
    const summary = await runNotebooks({ notebooksDir: FIXTURES, profile: 'full', only: ['display-burst'], outDir: path.join(scratch, 'burst') });
    const burst = summary.notebooks[0];
    assert.equal(burst.status, 'ok', burst.report);
    const executed = readNotebook(burst.executedPath);
    // One display output, updated in place to the last value, and both cells' lines.
    const displays = executed.cells.flatMap((cell) => (cell.outputs ?? []) as Array<{ output_type: string; data?: Record<string, string | string[]> }>)
      .filter((output) => output.output_type === 'display_data');
    assert.equal(displays.length, 1);
    // The last update arrived: none was dropped on the way (IOPub has no send limit).
    assert.match(sourceText(displays[0].data?.['text/plain'] ?? ''), /^update 5000 /);
    assert.match(stdoutOf(executed), /all updates sent[\s\S]*next cell ran/);
  });
});
