/**
 * Generates the Korean edition (tools/edition.ts): notebooks/NAME.ko.ipynb from notebooks/NAME.ipynb
 * and i18n/ko/NAME.md.
 *
 *   tsx scripts/korean-edition.ts             write every Korean notebook (refuses while a translation
 *                                             is missing, stale or unused, and says which)
 *   tsx scripts/korean-edition.ts --check     write nothing; exit 1 when a Korean notebook is not what
 *                                             its English notebook and translation give
 *   tsx scripts/korean-edition.ts --skeleton NAME
 *                                             (re)write i18n/ko/NAME.md with every cell's marker, keeping
 *                                             the sections already translated: the start of a translation
 *                                             and the way to pick up an English change
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  buildKorean,
  englishName,
  editionOf,
  koreanName,
  notebookText,
  readNotebook,
  readTranslation,
  translationFile,
  translationSkeleton,
} from '../tools';
import { writeFileAtomic } from '../lib/persist';

const REPO_ROOT = path.resolve(__dirname, '..');
const NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');

function englishNotebooks(): string[] {
  return fs
    .readdirSync(NOTEBOOKS)
    .filter((name) => name.endsWith('.ipynb') && editionOf(name) === 'en')
    .sort();
}

async function main(argv: string[]): Promise<number> {
  process.chdir(REPO_ROOT); // translation paths in messages are relative to the repository
  if (argv[0] === '--skeleton') {
    const name = argv[1] ? englishName(argv[1].endsWith('.ipynb') ? argv[1] : `${argv[1]}.ipynb`) : undefined;
    if (!name || !englishNotebooks().includes(name)) {
      console.error(`[edition] --skeleton needs an English notebook's name: one of ${englishNotebooks().join(', ')}.`);
      return 2;
    }
    const file = translationFile(REPO_ROOT, name);
    const previous = fs.existsSync(file) ? readTranslation(file) : undefined;
    await writeFileAtomic(file, translationSkeleton(readNotebook(path.join(NOTEBOOKS, name)), previous));
    console.log(`[edition] wrote ${path.relative(REPO_ROOT, file)}`);
    return 0;
  }
  const check = argv[0] === '--check';
  if (argv.length > (check ? 1 : 0)) {
    console.error('[edition] usage: korean-edition [--check | --skeleton NAME]');
    return 2;
  }
  let failed = false;
  for (const name of englishNotebooks()) {
    const target = path.join(NOTEBOOKS, koreanName(name));
    let built;
    try {
      built = buildKorean(
        readNotebook(path.join(NOTEBOOKS, name)),
        name,
        readTranslation(path.relative(REPO_ROOT, translationFile(REPO_ROOT, name))),
      );
    } catch (error) {
      console.error(`[edition] ${(error as Error).message}`);
      failed = true;
      continue;
    }
    for (const problem of built.problems) console.error(`[edition] ${problem}`);
    if (built.problems.length > 0) {
      failed = true;
      continue;
    }
    const text = notebookText(built.notebook);
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
    if (check) {
      if (current !== text) {
        console.error(`[edition] notebooks/${koreanName(name)} is not up to date: run npm run edition.`);
        failed = true;
      }
    } else if (current !== text) {
      await writeFileAtomic(target, text);
      console.log(`[edition] wrote notebooks/${koreanName(name)}`);
    }
  }
  return failed ? 1 : 0;
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
