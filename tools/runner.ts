/**
 * Headless notebook runs: every notebooks/*.ipynb in name order, executed by nbclient on the
 * tslab kernel (scripts/run_notebooks.py, in the project's .venv), with parameters injected
 * from a profile and the command line, written as executed .ipynb plus standalone HTML.
 *
 * This side plans (profiles, parameter checks, injection) and reports; the Python side only
 * executes and exports. The HTML pages are offline (no CDN scripts; see
 * scripts/nbconvert/offline/): interactive charts get vega and vega-lite inlined from the files
 * named here, OFFLINE_SCRIPTS, resolved in this project's node_modules. They talk over a pipe:
 * the plan as JSON on stdin, one JSON event line per notebook on file descriptor 3.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readNotebook, sourceText } from './ipynb';
import {
  injectParameters,
  NotebookParameterError,
  parseSetArgument,
  declaredParameters,
  findParametersCell,
  type ParameterOverride,
} from './parameters';
import { loadProfiles } from './profiles';
import { editionOf, englishName, type Edition } from './edition';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const KERNEL_NAME = 'tslab';

/**
 * What an exported page with an interactive chart carries inline (UMD builds: they define
 * globals vega and vegaLite).
 */
export const OFFLINE_SCRIPTS = ['vega/build/vega.min.js', 'vega-lite/build/vega-lite.min.js'];

/** The installed files of OFFLINE_SCRIPTS; throws naming the one that is missing. */
export function offlineScriptPaths(): string[] {
  return OFFLINE_SCRIPTS.map((script) => {
    try {
      return require.resolve(script, { paths: [REPO_ROOT] });
    } catch {
      throw new Error(
        `${script} is not installed in ${path.join(REPO_ROOT, 'node_modules')}; ` +
          'exported pages need it for interactive charts. Run `npm run setup`.',
      );
    }
  });
}

export interface RunOptions {
  /** Folder of the notebooks; the kernel runs there, so `import ... from '../lib'` works. Default: notebooks/. */
  notebooksDir?: string;
  /** Profile name from the profiles file. Default: "full" (the notebooks' own settings). */
  profile?: string;
  /** Profiles file. Default: profiles.json in notebooksDir. */
  profilesFile?: string;
  /**
   * Run only these notebooks (file names, with or without .ipynb). An English name also picks its
   * Korean edition unless `edition` says otherwise. Default: all.
   */
  only?: string[];
  /**
   * Which edition: 'en' (NAME.ipynb), 'ko' (the Korean NAME.ko.ipynb) or 'both' (default). With
   * both, a Korean notebook that declares reuseTrained loads the models its English edition has
   * just trained and saved, instead of training them again (its pictures are still its own).
   */
  edition?: Edition | 'both';
  /** Overrides `name=value` or `notebook.ipynb:name=value`; they win over the profile. Default: none. */
  set?: string[];
  /** Per-cell time limit in seconds, 0 for none. Default: the profile's cellTimeoutSeconds. */
  cellTimeoutSeconds?: number;
  /** Kernel start-up time limit in seconds. Default: 60. */
  startupTimeoutSeconds?: number;
  /** Where executed notebooks, HTML and summary.json go. Default: build/notebooks/. */
  outDir?: string;
  /** Python with nbclient and nbconvert. Default: .venv/bin/python. */
  python?: string;
  /**
   * Where the notebooks save and look for trained models (saveTrainedModels): passed to the
   * kernels as GAN_NOTEBOOKS_MODELS_DIR. Default: build/models-<profile> for every profile but
   * "full", so a smoke run never replaces the models of a full run; the library's own default,
   * build/models, for "full".
   */
  modelsDir?: string;
  /** Receives progress lines (what was injected, start, finish). Default: none, nothing printed. */
  log?: (line: string) => void;
  /** Receives what the kernels and the executor write to stdout/stderr. Default: kept for errors only. */
  echo?: (chunk: string) => void;
}

export type NotebookStatus = 'ok' | 'error' | 'timeout' | 'dead-kernel' | 'kernel-start';

/** What the Python executor reports about a failure (see scripts/run_notebooks.py). */
export interface ExecutorFailure {
  cellIndex: number | null;
  cellStart: string;
  message?: string;
  ename?: string;
  evalue?: string;
  traceback?: string;
  text: string;
  /** Exit status of a dead kernel: negative for the signal that killed it, as Python reports it. */
  exitCode?: number | null;
  /** Seconds from the failing cell's start until the executor noticed the failure. */
  cellSeconds?: number;
}

export interface NotebookResult {
  name: string;
  status: NotebookStatus;
  seconds: number;
  /** The overrides that were injected, with where each came from. */
  injected: Record<string, ParameterOverride>;
  executedPath: string;
  htmlPath: string;
  /** 1-based cell number in the executed notebook where it stopped (absent when ok). */
  cell?: number;
  /** The same cell's number in the committed notebook (absent for the injected cell). */
  sourceCell?: number;
  /** The one line that says what went wrong, e.g. "RangeError: bad value". */
  headline?: string;
  /** A paragraph naming notebook, cell and error text (absent when ok). */
  report?: string;
  failure?: ExecutorFailure;
  /** Warnings about the exported page, e.g. TeX math it cannot typeset offline (absent when none). */
  notes?: string[];
}

export interface RunSummary {
  profile: string;
  cellTimeoutSeconds: number;
  totalSeconds: number;
  ok: boolean;
  notebooks: NotebookResult[];
}

interface PlannedNotebook {
  name: string;
  sourcePath: string;
  injected: Record<string, ParameterOverride>;
  injectedIndex?: number;
  notebookJson: string;
  executedPath: string;
  htmlPath: string;
}

/** The notebooks in a folder, in name order. */
export function listNotebooks(notebooksDir: string): string[] {
  if (!fs.existsSync(notebooksDir)) return [];
  return fs
    .readdirSync(notebooksDir)
    .filter((name) => name.endsWith('.ipynb'))
    .sort();
}

function relativeToRepo(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith('..') ? file : relative;
}

/**
 * Resolves profile and command-line overrides per notebook, validates them against each
 * parameters cell and injects them. Throws (before anything runs) on any bad name or value.
 */
function planRun(options: RunOptions): { planned: PlannedNotebook[]; profile: string; cellTimeoutSeconds: number } {
  const notebooksDir = path.resolve(options.notebooksDir ?? path.join(REPO_ROOT, 'notebooks'));
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'build', 'notebooks'));
  const profilesFile = options.profilesFile ?? path.join(notebooksDir, 'profiles.json');
  const profileName = options.profile ?? 'full';
  const profiles = loadProfiles(profilesFile);
  const profile = profiles[profileName];
  if (!profile) {
    throw new NotebookParameterError(
      `Unknown profile "${profileName}": ` +
        `${relativeToRepo(profilesFile)} defines ${Object.keys(profiles).join(', ') || 'none'}.`,
    );
  }
  const edition = options.edition ?? 'both';
  const all = listNotebooks(notebooksDir);
  const available = all.filter((name) => edition === 'both' || editionOf(name) === edition);
  for (const name of Object.keys(profile.notebooks)) {
    if (!all.includes(name)) {
      throw new NotebookParameterError(
        `${relativeToRepo(profilesFile)}: profile "${profileName}" has settings for ${name}, ` +
          `but ${relativeToRepo(notebooksDir)} has no such notebook (it has ${available.join(', ') || 'none'}).`,
      );
    }
  }
  let selected = available;
  if (options.only?.length) {
    const wanted = options.only.map((name) => (name.endsWith('.ipynb') ? name : `${name}.ipynb`));
    for (const name of wanted) {
      if (!available.some((candidate) => candidate === name || englishName(candidate) === name)) {
        throw new NotebookParameterError(
          `--only ${name}: ${relativeToRepo(notebooksDir)} has no such notebook ` +
            `(it has ${available.join(', ') || 'none'}).`,
        );
      }
    }
    selected = available.filter((name) => wanted.includes(name) || wanted.includes(englishName(name)));
  }

  const notebooks = selected.map((name) => {
    const sourcePath = path.join(notebooksDir, name);
    const notebook = readNotebook(sourcePath);
    const parametersIndex = findParametersCell(notebook, relativeToRepo(sourcePath));
    const declared = new Set(declaredParameters(sourceText(notebook.cells[parametersIndex].source)).map((p) => p.name));
    return { name, sourcePath, notebook, declared };
  });

  // --set: a notebook-qualified override is checked against that notebook; a plain one goes
  // to every selected notebook that declares the name, and at least one must.
  const commandLine = (options.set ?? []).map(parseSetArgument);
  for (const { notebook, name } of commandLine) {
    if (notebook) {
      if (!selected.includes(notebook)) {
        throw new NotebookParameterError(
          `--set ${notebook}:${name}=...: ${notebook} is not among the notebooks to run ` +
            `(${selected.join(', ') || 'none'}).`,
        );
      }
    } else if (!notebooks.some((entry) => entry.declared.has(name))) {
      throw new NotebookParameterError(
        `--set ${name}=...: unknown parameter "${name}"; no notebook to run declares it in its parameters cell ` +
          `(${notebooks.map((entry) => `${entry.name}: ${[...entry.declared].join(', ') || 'none'}`).join('; ')}).`,
      );
    }
  }

  const planned = notebooks.map(({ name, sourcePath, notebook, declared }) => {
    const overrides: Record<string, ParameterOverride> = {};
    // The Korean edition runs the same code, so it takes its English notebook's profile settings.
    for (const [parameter, value] of Object.entries(
      profile.notebooks[name] ?? profile.notebooks[englishName(name)] ?? {},
    )) {
      overrides[parameter] = { value, origin: `profile ${profileName}` };
    }
    if (editionOf(name) === 'ko' && declared.has('reuseTrained') && selected.includes(englishName(name))) {
      overrides.reuseTrained = { value: true, origin: `the run of ${englishName(name)} just before` };
    }
    for (const entry of commandLine) {
      if (entry.notebook === name || (!entry.notebook && declared.has(entry.name))) {
        overrides[entry.name] = { value: entry.value, origin: '--set' };
      }
    }
    const injection = injectParameters(notebook, overrides, relativeToRepo(sourcePath));
    const stem = name.replace(/\.ipynb$/, '');
    return {
      name,
      sourcePath,
      injected: overrides,
      injectedIndex: injection.injectedIndex,
      notebookJson: JSON.stringify(injection.notebook),
      executedPath: path.join(outDir, `${stem}.ipynb`),
      htmlPath: path.join(outDir, `${stem}.html`),
    };
  });
  const cellTimeoutSeconds = options.cellTimeoutSeconds ?? profile.cellTimeoutSeconds;
  return { planned, profile: profileName, cellTimeoutSeconds };
}

/** Stack frames inside node:vm and tslab itself say nothing about the notebook's code. */
function withoutKernelFrames(text: string): string {
  return text
    .split('\n')
    .filter(
      (line) => !/^\s*at .*(node:vm:|node_modules\/tslab\/|sigintHandlersWrap|JupyterHandlerImpl|ZmqServer)/.test(line),
    )
    .join('\n');
}

/** The first line that names the error: a JS error line, a TypeScript diagnostic, else the first line. */
function headlineOf(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    lines.find((line) => /^[\w$.]*(Error|Exception)\b/.test(line)) ??
    lines.find((line) => /^\d+:\d+ - /.test(line)) ??
    lines[0] ??
    ''
  );
}

function describeFailure(
  planned: PlannedNotebook,
  status: NotebookStatus,
  failure: ExecutorFailure,
  cellTimeoutSeconds: number,
): Partial<NotebookResult> {
  const notebookPath = relativeToRepo(planned.sourcePath);
  const index = failure.cellIndex;
  let where = 'before the first cell';
  let cell: number | undefined;
  let sourceCell: number | undefined;
  if (index !== null) {
    cell = index + 1;
    const injectedIndex = planned.injectedIndex;
    if (injectedIndex === undefined || index < injectedIndex) sourceCell = index + 1;
    else if (index > injectedIndex) sourceCell = index;
    where =
      `cell ${cell}` +
      (sourceCell === undefined
        ? ' (the injected parameters cell)'
        : sourceCell !== cell
          ? ` (cell ${sourceCell} in ${notebookPath})`
          : '') +
      (failure.cellStart ? `, which starts \`${failure.cellStart}\`` : '');
  }
  const details = withoutKernelFrames(failure.text || failure.traceback || '').trim();
  let headline: string;
  let what: string;
  switch (status) {
    case 'dead-kernel':
      headline = failure.message ?? 'the kernel died';
      what =
        `${planned.name}: ${failure.message ?? 'the kernel died'} while running ${where}. ` +
        'A cell that calls process.exit, crashes native code or runs out of memory does this.';
      break;
    case 'timeout':
      headline = `timed out after ${cellTimeoutSeconds} s`;
      what =
        `${planned.name}: ${where} timed out: it did not finish within the per-cell limit of ${cellTimeoutSeconds} s ` +
        '(raise it with --timeout SECONDS, or lower the settings in the smoke profile).';
      break;
    case 'kernel-start':
      headline = `the tslab kernel did not start: ${failure.message ?? ''}`;
      what =
        `${planned.name}: the tslab kernel did not start (${failure.message ?? 'no reason given'}). ` +
        'Run `npm run setup`: it installs the tslab kernelspec into .venv.';
      break;
    default: {
      const named =
        failure.ename && failure.ename !== '<Error>' ? `${failure.ename}: ${failure.evalue ?? ''}`.trim() : '';
      headline = named || headlineOf(details) || 'the cell failed';
      what = `${planned.name}: ${where} failed: ${headline}`;
    }
  }
  const shown =
    details &&
    details
      .split('\n')
      .slice(0, 30)
      .map((line) => `    ${line}`)
      .join('\n');
  return { cell, sourceCell, headline, report: shown ? `${what}\n${shown}` : what, failure };
}

function formatInjected(injected: Record<string, ParameterOverride>): string {
  return Object.entries(injected)
    .map(([name, { value, origin }]) => `${name} = ${JSON.stringify(value)} (${origin})`)
    .join(', ');
}

/** Executes the selected notebooks in name order; resolves with the summary (also written as summary.json). */
export async function runNotebooks(options: RunOptions = {}): Promise<RunSummary> {
  const log = options.log ?? (() => undefined);
  const { planned, profile, cellTimeoutSeconds } = planRun(options);
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'build', 'notebooks'));
  fs.mkdirSync(outDir, { recursive: true });
  const notebooksDir = path.resolve(options.notebooksDir ?? path.join(REPO_ROOT, 'notebooks'));
  const timeoutText = cellTimeoutSeconds ? `${cellTimeoutSeconds} s` : 'none';
  log(
    `profile ${profile}; per-cell timeout ${timeoutText}; ` +
      `${planned.length} notebook(s) -> ${relativeToRepo(outDir)}/`,
  );
  for (const entry of planned) {
    if (entry.injectedIndex !== undefined) {
      log(`${entry.name}: injected after cell ${entry.injectedIndex}: ${formatInjected(entry.injected)}`);
    }
  }

  const python = options.python ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) {
    throw new Error(
      `${python} is missing: the notebooks run through nbclient in the project's .venv. Run \`npm run setup\`.`,
    );
  }
  const plan = {
    kernelName: KERNEL_NAME,
    offlineScripts: offlineScriptPaths(),
    cellTimeoutSeconds,
    startupTimeoutSeconds: options.startupTimeoutSeconds ?? 60,
    notebooks: planned.map((entry) => ({
      name: entry.name,
      notebook: entry.notebookJson,
      cwd: notebooksDir,
      executedPath: entry.executedPath,
      htmlPath: entry.htmlPath,
    })),
  };

  const started = Date.now();
  const results: NotebookResult[] = [];
  const byName = new Map(planned.map((entry) => [entry.name, entry]));
  const modelsDir =
    options.modelsDir ?? (profile === 'full' ? undefined : path.join(REPO_ROOT, 'build', `models-${profile}`));
  const child = spawn(python, [path.join(REPO_ROOT, 'scripts', 'run_notebooks.py')], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      JUPYTER_PREFER_ENV_PATH: '1',
      PYTHONUNBUFFERED: '1',
      ...(modelsDir ? { GAN_NOTEBOOKS_MODELS_DIR: path.resolve(modelsDir) } : {}),
    },
  });
  let outputTail = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    outputTail = (outputTail + text).slice(-6000);
    options.echo?.(text);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const events = child.stdio[3] as NodeJS.ReadableStream;
  let pending = '';
  events.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as {
        event: string;
        name: string;
        seconds?: number;
        status?: NotebookStatus;
        failure?: ExecutorFailure | null;
        notes?: string[];
      };
      const entry = byName.get(event.name);
      if (!entry) continue;
      if (event.event === 'start') {
        log(`${entry.name}: running`);
        continue;
      }
      const status = event.status ?? 'error';
      const result: NotebookResult = {
        name: entry.name,
        status,
        seconds: event.seconds ?? 0,
        injected: entry.injected,
        executedPath: entry.executedPath,
        htmlPath: entry.htmlPath,
        ...(event.failure ? describeFailure(entry, status, event.failure, cellTimeoutSeconds) : {}),
        ...(event.notes?.length ? { notes: event.notes } : {}),
      };
      results.push(result);
      log(
        `${entry.name}: ${status === 'ok' ? 'ok' : status} in ${result.seconds.toFixed(1)} s` +
          (result.report ? `\n${result.report}` : ''),
      );
      for (const note of result.notes ?? []) log(`${entry.name}: note: ${note}`);
    }
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
    child.stdin?.end(JSON.stringify(plan));
  });
  if (exitCode !== 0 || results.length !== planned.length) {
    throw new Error(
      `The notebook executor (scripts/run_notebooks.py) stopped with exit code ${exitCode} after ` +
        `${results.length} of ${planned.length} notebook(s). Its last output:\n${outputTail.trim()}`,
    );
  }
  const summary: RunSummary = {
    profile,
    cellTimeoutSeconds,
    totalSeconds: (Date.now() - started) / 1000,
    ok: results.every((result) => result.status === 'ok'),
    notebooks: results,
  };
  const summaryPath = path.join(outDir, 'summary.json');
  const temporary = `${summaryPath}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(summary, null, 2)}\n`);
  fs.renameSync(temporary, summaryPath);
  return summary;
}

/** The closing table: notebook, seconds, status (and the failing cell). */
export function formatSummaryTable(summary: RunSummary): string {
  const rows = summary.notebooks.map((result) => [
    result.name,
    result.seconds.toFixed(1),
    result.status === 'ok'
      ? 'ok'
      : `${result.status}${result.cell ? ` at cell ${result.cell}` : ''}: ${result.headline ?? ''}`,
  ]);
  const executed = summary.notebooks.reduce((total, result) => total + result.seconds, 0);
  rows.push([
    `total (${summary.notebooks.length} notebooks, profile ${summary.profile})`,
    executed.toFixed(1),
    summary.ok ? 'ok' : 'FAILED',
  ]);
  const header = ['notebook', 'seconds', 'status'];
  const width = [0, 1].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
  const line = (row: string[]) => `${row[0].padEnd(width[0])}  ${row[1].padStart(width[1])}  ${row[2]}`;
  return [line(header), line(width.map((w) => '-'.repeat(w)).concat('------')), ...rows.map(line)].join('\n');
}
