/**
 * Executes the notebooks headless and exports them (the main job; see README).
 *
 *   tsx scripts/run-notebooks.ts [--profile smoke|full] [--edition en|ko|both] [--only NAME]... [--set name=value]...
 *                                [--timeout SECONDS] [--out build/notebooks] [--notebooks DIR]
 *
 * When every notebook ran, the course's own notebooks (no --notebooks) also become the reading
 * site (tools/site.ts, README "The reading site"): build/site/ for the default --out, <out>/site
 * for another.
 *
 * Exit code 0 when every notebook ran (and the site was written within its budget), 1 when one
 * failed, 2 for bad options or parameters.
 */
import * as path from 'node:path';
import { formatSummaryTable, REPO_ROOT, runNotebooks, type RunOptions } from '../tools';
import { buildSite, describeSite } from '../tools/site';

const USAGE =
  'usage: run-notebooks [--profile smoke|full] [--edition en|ko|both] [--only NAME]... ' +
  '[--set name=value | notebook.ipynb:name=value]... ' +
  '[--timeout SECONDS] [--out DIR] [--notebooks DIR]';

class UsageError extends Error {}

function parseArguments(argv: string[]): RunOptions {
  const options: RunOptions = { only: [], set: [] };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const [flag, inline] =
      argument.startsWith('--') && argument.includes('=') && !argument.startsWith('--set=')
        ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)]
        : argument.startsWith('--set=')
          ? ['--set', argument.slice('--set='.length)]
          : [argument, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value.\n${USAGE}`);
      return next;
    };
    switch (flag) {
      case '--profile':
        options.profile = value();
        break;
      case '--edition': {
        const edition = value();
        if (edition !== 'en' && edition !== 'ko' && edition !== 'both')
          throw new UsageError(`--edition expects en, ko or both, found "${edition}".`);
        options.edition = edition;
        break;
      }
      case '--only':
        options.only!.push(value());
        break;
      case '--set':
        options.set!.push(value());
        break;
      case '--out':
        options.outDir = value();
        break;
      case '--notebooks':
        options.notebooksDir = value();
        break;
      case '--timeout': {
        const text = value();
        const seconds = Number(text);
        if (!Number.isFinite(seconds) || seconds < 0)
          throw new UsageError(`--timeout expects seconds (a number >= 0, 0 for none), found "${text}".`);
        options.cellTimeoutSeconds = seconds;
        break;
      }
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
      default:
        throw new UsageError(`unknown option "${argument}".\n${USAGE}`);
    }
  }
  return options;
}

async function main(): Promise<number> {
  let options: RunOptions;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`[notebooks] ${(error as Error).message}`);
    return 2;
  }
  options.log = (line) => console.log(`[notebooks] ${line}`);
  options.echo = (chunk) => process.stderr.write(chunk);
  let summary;
  try {
    summary = await runNotebooks(options);
  } catch (error) {
    // Bad profiles, parameters or a missing .venv: sentences that say what to fix.
    console.error(`[notebooks] ${(error as Error).message}`);
    return 2;
  }
  console.log(`\n${formatSummaryTable(summary)}\n`);
  console.log(`[notebooks] executed notebooks, HTML and summary.json are in ${options.outDir ?? 'build/notebooks'}/`);
  if (!summary.ok) {
    console.error('[notebooks] FAILED:');
    for (const result of summary.notebooks.filter((entry) => entry.status !== 'ok')) console.error(result.report);
    console.error('[notebooks] the reading site was not rebuilt (it is built when every notebook ran)');
    return 1;
  }
  return options.notebooksDir === undefined ? readingSite(options.outDir) : 0;
}

/** The reading site of the pages just written (and every other page in the folder), with the models they saved. */
async function readingSite(outDir: string | undefined): Promise<number> {
  const from = path.resolve(outDir ?? path.join(REPO_ROOT, 'build', 'notebooks'));
  const out = outDir === undefined ? path.join(REPO_ROOT, 'build', 'site') : path.join(from, 'site');
  try {
    const report = await buildSite({ from, out, log: (line) => console.log(`[site] ${line}`) });
    for (const line of describeSite(report)) console.log(`[site] ${line}`);
    return report.overBudget.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`[site] the reading site was not built: ${(error as Error).message}`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
