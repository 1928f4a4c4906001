/**
 * The notebook runner on small fixture notebooks (test/tools/fixtures/notebooks): parameters from
 * profile and command line, failures reported with notebook, cell and error text, dead
 * kernels and timeouts reported as such, bad options refused before anything runs, and the
 * command line's exit codes (scripts/run-notebooks.ts: 0 all ran, 1 one failed, 2 bad options).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  declaredParameters,
  formatSummaryTable,
  INJECTED_TAG,
  injectParameters,
  loadProfiles,
  NotebookParameterError,
  ProfileFileError,
  parseSetArgument,
  readNotebook,
  REPO_ROOT,
  runNotebooks,
  sourceText,
  type Notebook,
  type RunSummary,
} from '../../tools';

const FIXTURES = path.join(REPO_ROOT, 'test', 'tools', 'fixtures', 'notebooks');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** One regular expression from several, so that a long pattern can be written across lines. */
function joinedPattern(...parts: RegExp[]): RegExp {
  return new RegExp(parts.map((part) => part.source).join(''));
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command line (npm run notebooks without the set-up) and collects its output. */
function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'run-notebooks.ts'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function stdoutOf(notebook: Notebook): string {
  return notebook.cells
    .flatMap((cell) => (cell.outputs ?? []) as { output_type: string; name?: string; text?: string | string[] }[])
    .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
    .map((output) => sourceText(output.text ?? ''))
    .join('');
}

describe('parameters cell', () => {
  it('finds the names declared at the top level, with keyword and literal type', () => {
    const declared = declaredParameters(
      [
        '// settings',
        'let iterations = 2001, batchSize = 32;',
        'const seed = -7;',
        "let name = 'mnist';",
        'let shape = [28, 28];',
        'if (true) { let inner = 1; }',
      ].join('\n'),
    );
    assert.deepEqual(
      declared.map(({ name, keyword, literalType }) => [name, keyword, literalType]),
      [
        ['iterations', 'let', 'number'],
        ['batchSize', 'let', 'number'],
        ['seed', 'const', 'number'],
        ['name', 'let', 'string'],
        ['shape', 'let', undefined],
      ],
    );
  });

  it('parses --set values as JSON when they are JSON, else as text', () => {
    assert.deepEqual(parseSetArgument('iterations=50'), { notebook: undefined, name: 'iterations', value: 50 });
    assert.deepEqual(parseSetArgument('01-gan.ipynb:label=fast run'), {
      notebook: '01-gan.ipynb',
      name: 'label',
      value: 'fast run',
    });
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
    assert.throws(
      () => injectParameters(notebook, { fixed: { value: 1, origin: '--set' } }, 'ok-params.ipynb'),
      /declared with const.*Declare it with let/,
    );
    assert.throws(
      () => injectParameters(notebook, { count: { value: 'four', origin: '--set' } }, 'ok-params.ipynb'),
      /must be a number.*found string "four"/,
    );
  });

  it('refuses, before running anything, a run whose --set names no declared parameter', async () => {
    await assert.rejects(
      runNotebooks({
        notebooksDir: FIXTURES,
        outDir: path.join(scratch, 'never'),
        only: ['failing-cell', 'ok-params'],
        set: ['iterations=5'],
      }),
      joinedPattern(
        /--set iterations=\.\.\.: unknown parameter "iterations"; /,
        /.*failing-cell\.ipynb: limit; ok-params\.ipynb: count, label, fixed/,
      ),
    );
    // Every notebook that runs is written there, failed ones too: no folder, nothing ran.
    assert.equal(fs.existsSync(path.join(scratch, 'never')), false);
  });

  it('refuses a notebook without exactly one parameters cell', () => {
    const notebook = readNotebook(path.join(FIXTURES, 'ok-params.ipynb'));
    const untagged: Notebook = { ...notebook, cells: notebook.cells.map((cell) => ({ ...cell, metadata: {} })) };
    assert.throws(
      () => injectParameters(untagged, {}, 'x.ipynb'),
      /x\.ipynb: expected exactly one code cell tagged "parameters".*found none/,
    );
  });
});

describe('bad options stop the run before any notebook executes, and nothing is written', () => {
  // Three notebooks, and a valid override for the first one (failing-cell.ipynb, limit = 2 makes
  // it pass): a runner that checked each notebook only as it reached it would run that one and
  // write its outputs before finding the bad value in the last (ok-params.ipynb).
  const several = ['failing-cell', 'kernel-dies', 'ok-params'];
  const badSets: Array<[string, string, RegExp]> = [
    [
      'a const',
      'fixed=1',
      /ok-params\.ipynb: parameter "fixed" is declared with const \(`const fixed = 10`\).*Declare it with let/,
    ],
    [
      'a value of the wrong type',
      'count=four',
      joinedPattern(
        /ok-params\.ipynb: parameter "count" \(from --set\) /,
        /must be a number like its declaration `let count = 3`, found string "four"/,
      ),
    ],
    [
      'a notebook-qualified name that notebook does not declare',
      'ok-params.ipynb:limit=2',
      /ok-params\.ipynb: unknown parameter "limit" \(from --set\).*declares count, label, fixed/,
    ],
    [
      'a notebook-qualified name for a notebook not in the run',
      'slow-cell.ipynb:busySeconds=1',
      /--set slow-cell\.ipynb:busySeconds=\.\.\.: slow-cell\.ipynb is not among the notebooks to run/,
    ],
  ];
  badSets.forEach(([what, bad, message], index) => {
    it(`--set with ${what}`, async () => {
      const outDir = path.join(scratch, `bad-set-${index}`);
      await assert.rejects(
        runNotebooks({ notebooksDir: FIXTURES, outDir, only: several, set: ['failing-cell.ipynb:limit=2', bad] }),
        (error: Error) => error instanceof NotebookParameterError && message.test(error.message),
      );
      assert.equal(fs.existsSync(outDir), false, `${outDir} was created`);
    });
  });

  it('an unknown profile, naming the profiles file and the profiles it defines', async () => {
    const outDir = path.join(scratch, 'bad-profile');
    await assert.rejects(
      runNotebooks({ notebooksDir: FIXTURES, outDir, profile: 'quick' }),
      /Unknown profile "quick": test\/tools\/fixtures\/notebooks\/profiles\.json defines smoke, full\./,
    );
    assert.equal(fs.existsSync(outDir), false);
  });

  it('a profile with settings for a notebook that does not exist', async () => {
    const profilesFile = path.join(scratch, 'stale-profiles.json');
    fs.writeFileSync(
      profilesFile,
      JSON.stringify({
        smoke: { cellTimeoutSeconds: 5, notebooks: { 'ok-params.ipynb': { count: 4 }, 'renamed.ipynb': { steps: 1 } } },
      }),
    );
    const outDir = path.join(scratch, 'stale-profile');
    await assert.rejects(
      runNotebooks({ notebooksDir: FIXTURES, outDir, profile: 'smoke', profilesFile, only: ['ok-params'] }),
      joinedPattern(
        /profile "smoke" has settings for renamed\.ipynb, /,
        /but test\/tools\/fixtures\/notebooks has no such notebook /,
        /\(it has display-burst\.ipynb, failing-cell\.ipynb, /,
      ),
    );
    assert.equal(fs.existsSync(outDir), false);
  });

  it('a profiles file that is not the expected shape, naming the file and the field', async () => {
    const write = (name: string, content: string) => {
      const file = path.join(scratch, name);
      fs.writeFileSync(file, content);
      return file;
    };
    const cases: Array<[string, RegExp]> = [
      ['{ "smoke": ', /could not be read as JSON/],
      ['[1, 2]', /expected an object of profiles/],
      [
        '{ "smoke": { "cellTimeoutSeconds": -1, "notebooks": {} } }',
        /"smoke\.cellTimeoutSeconds" must be a number of seconds >= 0, found -1/,
      ],
      [
        '{ "smoke": { "notebooks": { "ok-params": { "count": 4 } } } }',
        /entries must look like "01-name\.ipynb".*found "ok-params"/,
      ],
      ['{ "smoke": { "notebooks": {}, "timeout": 5 } }', /profile "smoke" has unknown field\(s\) timeout/],
    ];
    cases.forEach(([content, message], index) => {
      const file = write(`profiles-${index}.json`, content);
      assert.throws(
        () => loadProfiles(file),
        (error: Error) =>
          error instanceof ProfileFileError && error.message.startsWith(file) && message.test(error.message),
      );
    });
    // The runner reads the file before anything runs.
    const outDir = path.join(scratch, 'bad-profiles-file');
    await assert.rejects(
      runNotebooks({
        notebooksDir: FIXTURES,
        outDir,
        profilesFile: path.join(scratch, 'profiles-2.json'),
        profile: 'smoke',
      }),
      ProfileFileError,
    );
    assert.equal(fs.existsSync(outDir), false);
  });

  it('--only naming a notebook that does not exist, with or without .ipynb', async () => {
    const outDir = path.join(scratch, 'bad-only');
    for (const name of ['ok-param', 'ok-param.ipynb']) {
      await assert.rejects(
        runNotebooks({ notebooksDir: FIXTURES, outDir, only: ['failing-cell', name] }),
        joinedPattern(
          /--only ok-param\.ipynb: test\/tools\/fixtures\/notebooks has no such notebook /,
          /\(it has display-burst\.ipynb, failing-cell\.ipynb, kernel-dies\.ipynb, /,
          /ok-params\.ipynb, slow-cell\.ipynb\)/,
        ),
      );
    }
    assert.equal(fs.existsSync(outDir), false);
  });
});

describe('dead kernels: process.exit, a native crash, the out-of-memory killer', () => {
  // Copies of kernel-dies.ipynb, each dying its own way through its exitCode parameter.
  const notebooksDir = path.join(scratch, 'dead-notebooks');
  const ways = [
    { name: 'kernel-exit.ipynb', exitCode: 3, says: 'it exited with code 3', cell: 3 },
    { name: 'kernel-segv.ipynb', exitCode: -11, says: 'it was killed by SIGSEGV', cell: 4 },
    {
      name: 'kernel-oom.ipynb',
      exitCode: -9,
      says: 'it was killed by SIGKILL (often the out-of-memory killer)',
      cell: 4,
    },
  ];
  // "About a second": nbclient asks whether the kernel lives once a second. The bound leaves
  // room for compiling the cell and for a busy machine, and is far below a per-cell timeout.
  const NOTICED_WITHIN_SECONDS = 2.5;
  let summary: RunSummary;

  before(async () => {
    fs.mkdirSync(notebooksDir, { recursive: true });
    for (const { name } of ways)
      fs.copyFileSync(path.join(FIXTURES, 'kernel-dies.ipynb'), path.join(notebooksDir, name));
    // A per-cell limit, so a death that went unnoticed would end as a timeout, not hang the test.
    fs.writeFileSync(
      path.join(notebooksDir, 'profiles.json'),
      JSON.stringify({ full: { cellTimeoutSeconds: 30, notebooks: {} } }),
    );
    // kernel-exit.ipynb keeps its declared exitCode (3); the others get an injected cell.
    summary = await runNotebooks({
      notebooksDir,
      set: ways.filter((way) => way.cell === 4).map((way) => `${way.name}:exitCode=${way.exitCode}`),
      outDir: path.join(scratch, 'dead'),
    });
  });

  for (const way of ways) {
    it(`${way.name}: reported as a dead kernel (${way.says}) within about a second, naming the cell`, () => {
      const dead = summary.notebooks.find((entry) => entry.name === way.name);
      assert.ok(dead, `${way.name} missing from the run`);
      assert.equal(dead.status, 'dead-kernel', dead.report);
      assert.equal(dead.failure?.exitCode, way.exitCode);
      assert.equal(dead.cell, way.cell);
      assert.equal(dead.sourceCell, 3);
      const where =
        way.cell === 3
          ? 'cell 3'
          : `cell 4 \\(cell 3 in ${path.join(notebooksDir, way.name).replace(/[.()]/g, '\\$&')}\\)`;
      assert.match(
        dead.report ?? '',
        new RegExp(
          `^${way.name.replace('.', '\\.')}: the kernel died \\(${way.says.replace(/[()]/g, '\\$&')}\\) ` +
            `while running ${where}, which starts \`if \\(exitCode >= 0\\)`,
        ),
      );
      const seconds = dead.failure?.cellSeconds;
      assert.ok(
        seconds !== undefined && seconds < NOTICED_WITHIN_SECONDS,
        `the dead kernel was noticed ${seconds} s after its cell started`,
      );
      assert.doesNotMatch(stdoutOf(readNotebook(dead.executedPath)), /never reached/);
    });
  }
});

describe('the command line: exit codes 0 (all ran), 1 (a notebook failed), 2 (bad options)', () => {
  const fixtures = path.relative(REPO_ROOT, FIXTURES);

  describe('exit code 1: fixture notebooks under the smoke profile, with --set and --timeout 4', () => {
    let cli: CliResult;
    let summary: RunSummary;
    const outDir = path.join(scratch, 'smoke');
    before(async () => {
      cli = await runCli([
        '--notebooks',
        fixtures,
        '--profile',
        'smoke',
        '--only',
        'ok-params',
        '--only=failing-cell',
        '--only',
        'slow-cell',
        // The second override injects a cell into failing-cell.ipynb, which shifts its cell numbers.
        '--set',
        'label=from-cli',
        '--set',
        'failing-cell.ipynb:limit=6',
        '--timeout',
        '4',
        '--out',
        outDir,
      ]);
      summary = JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')) as RunSummary;
    });

    const result = (name: string) => {
      const found = summary.notebooks.find((entry) => entry.name === name);
      assert.ok(found, `${name} missing from the summary`);
      return found;
    };

    const runTitle =
      'runs the selected notebooks in name order, writes summary.json with one row each, ' +
      'and exits with 1 naming the failures';
    it(runTitle, () => {
      assert.equal(cli.code, 1, cli.stderr);
      assert.deepEqual(
        summary.notebooks.map((entry) => [entry.name, entry.status]),
        [
          ['failing-cell.ipynb', 'error'],
          ['ok-params.ipynb', 'ok'],
          ['slow-cell.ipynb', 'timeout'],
        ],
      );
      assert.equal(summary.ok, false);
      assert.equal(summary.cellTimeoutSeconds, 4, "--timeout wins over the smoke profile's 30 s");
      assert.match(formatSummaryTable(summary), /^notebook\s+seconds\s+status/);
      assert.match(cli.stdout, /ok-params\.ipynb\s+\d+\.\d\s+ok/);
      assert.match(cli.stdout, /failing-cell\.ipynb\s+\d+\.\d\s+error at cell 5: RangeError: limit 6 is above 3/);
      assert.match(cli.stdout, /slow-cell\.ipynb\s+\d+\.\d\s+timeout at cell 2/);
      assert.match(cli.stderr, /\[notebooks\] FAILED:\nfailing-cell\.ipynb: cell 5 [\s\S]*\nslow-cell\.ipynb: cell 2/);
    });

    const injectTitle =
      'injects profile and --set overrides as a tagged cell after the parameters cell, which changes the result';
    it(injectTitle, () => {
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
      assert.match(
        cli.stdout,
        joinedPattern(
          /\[notebooks\] ok-params\.ipynb: injected after cell 2: /,
          /count = 4 \(profile smoke\), label = "from-cli" \(--set\)/,
        ),
      );
      // The committed fixture is untouched.
      assert.equal(readNotebook(path.join(FIXTURES, 'ok-params.ipynb')).cells.length, executed.cells.length - 1);
    });

    const failingTitle =
      'reports a failing cell with the notebook, its number in the executed copy and in the committed notebook, ' +
      'and the error text';
    it(failingTitle, () => {
      const failed = result('failing-cell.ipynb');
      assert.equal(failed.status, 'error');
      // Committed: markdown, parameters, function, `checkLimit(limit);` (cell 4). The injected
      // cell after the parameters makes it cell 5 of the executed copy.
      assert.equal(failed.cell, 5);
      assert.equal(failed.sourceCell, 4);
      assert.equal(failed.headline, 'RangeError: limit 6 is above 3');
      assert.match(
        failed.report ?? '',
        joinedPattern(
          /^failing-cell\.ipynb: cell 5 \(cell 4 in test\/tools\/fixtures\/notebooks\/failing-cell\.ipynb\), /,
          /which starts `checkLimit\(limit\);` failed: RangeError: limit 6 is above 3/,
        ),
      );
      const executed = readNotebook(failed.executedPath);
      assert.equal(
        sourceText(executed.cells[4].source),
        'checkLimit(limit);',
        'cell 5 of the executed copy is the one named',
      );
      // The executed copy stops there: the cell after it never ran.
      assert.doesNotMatch(stdoutOf(executed), /never reached/);
      assert.ok(fs.existsSync(failed.htmlPath));
    });

    const timeoutTitle =
      'reports a cell over the per-cell limit as a timeout naming the cell; ' +
      'a notebook without overrides gets no injected cell';
    it(timeoutTitle, () => {
      const slow = result('slow-cell.ipynb');
      assert.equal(slow.status, 'timeout');
      assert.equal(slow.cell, 2);
      assert.match(
        slow.report ?? '',
        /slow-cell\.ipynb: cell 2, which starts `\/\/ Busy-waits.*` timed out: .*per-cell limit of 4 s/,
      );
      // The cell busy-waits its declared 60 s; the limit stopped it.
      const seconds = slow.failure?.cellSeconds;
      assert.ok(
        seconds !== undefined && seconds >= 4 && seconds < 20,
        `the timeout came ${seconds} s after the cell started`,
      );
      const executed = readNotebook(slow.executedPath);
      assert.equal(
        executed.cells.some((cell) => cell.metadata.tags?.includes(INJECTED_TAG)),
        false,
      );
    });
  });

  const burstTitle =
    'exit code 0: a kernel under a burst of display updates delivers 5,000 in-place updates without a pause, ' +
    'and the next cell runs';
  it(burstTitle, async () => {
    const outDir = path.join(scratch, 'burst');
    const cli = await runCli(['--notebooks', fixtures, '--only', 'display-burst', '--out', outDir]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /display-burst\.ipynb\s+\d+\.\d\s+ok/);
    const summary = JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')) as RunSummary;
    const burst = summary.notebooks[0];
    assert.equal(burst.status, 'ok', burst.report);
    const executed = readNotebook(burst.executedPath);
    // One display output, updated in place to the last value, and both cells' lines.
    const displays = executed.cells
      .flatMap(
        (cell) => (cell.outputs ?? []) as Array<{ output_type: string; data?: Record<string, string | string[]> }>,
      )
      .filter((output) => output.output_type === 'display_data');
    assert.equal(displays.length, 1);
    // The last update arrived: none was dropped on the way (IOPub has no send limit).
    assert.match(sourceText(displays[0].data?.['text/plain'] ?? ''), /^update 5000 /);
    assert.match(stdoutOf(executed), /all updates sent[\s\S]*next cell ran/);
  });

  const badOptionsTitle =
    'exit code 2: a bad --set in a run of several notebooks, an unknown profile, a bad option value; nothing written';
  it(badOptionsTitle, async () => {
    const outDir = path.join(scratch, 'cli-bad');
    const common = ['--notebooks', fixtures, '--out', outDir];
    // Three short processes that start no kernel; they may run side by side.
    const [badSet, badProfile, badTimeout] = await Promise.all([
      runCli([
        ...common,
        '--only',
        'failing-cell',
        '--only',
        'kernel-dies',
        '--only',
        'ok-params',
        '--set',
        'failing-cell.ipynb:limit=2',
        '--set',
        'fixed=1',
      ]),
      runCli([...common, '--profile', 'quick']),
      runCli([...common, '--timeout', 'soon']),
    ]);
    assert.equal(badSet.code, 2, badSet.stderr);
    assert.match(
      badSet.stderr,
      /\[notebooks\] test\/tools\/fixtures\/notebooks\/ok-params\.ipynb: parameter "fixed" is declared with const/,
    );
    assert.equal(badProfile.code, 2, badProfile.stderr);
    assert.match(badProfile.stderr, /Unknown profile "quick"/);
    assert.equal(badTimeout.code, 2, badTimeout.stderr);
    assert.match(badTimeout.stderr, /--timeout expects seconds .*found "soon"/);
    assert.equal(fs.existsSync(outDir), false, 'nothing was written');
  });
});
