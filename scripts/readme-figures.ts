/**
 * Copies each notebook's `readme-figure` output out of the executed notebooks (README index).
 *
 *   tsx scripts/readme-figures.ts [--from build/notebooks] [--to docs/figures]
 *
 * Run it after a full-profile run: `npm run notebooks` writes build/notebooks/.
 */
import * as path from 'path';
import { extractFigures, REPO_ROOT } from '../lib/notebook';

async function main(argv: string[]): Promise<void> {
  let from = path.join(REPO_ROOT, 'build', 'notebooks');
  let to = path.join(REPO_ROOT, 'docs', 'figures');
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if ((argv[i] === '--from' || argv[i] === '--to') && next !== undefined) {
      if (argv[i] === '--from') from = path.resolve(next);
      else to = path.resolve(next);
      i++;
    } else {
      console.error(`readme-figures: unknown option "${argv[i]}".\nusage: readme-figures [--from DIR] [--to DIR]`);
      process.exit(2);
    }
  }
  const figures = await extractFigures(from, to);
  for (const figure of figures) {
    console.log(`${path.relative(REPO_ROOT, figure.file)}  <- ${path.basename(figure.notebook)} (${figure.parts} output(s))`);
  }
  if (figures.length === 0) console.log(`no cell tagged readme-figure in the notebooks of ${from}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
