/**
 * Copies each notebook's `readme-figure` output out of the executed notebooks (README index).
 *
 *   tsx scripts/readme-figures.ts [--from build/notebooks] [--to docs/figures]
 *
 * Run it after a full-profile run: `npm run notebooks` writes build/notebooks/.
 */
import * as path from 'path';
import { extractFigures, REPO_ROOT } from '../tools';
import { parseKnownFlags } from './flags';

async function main(argv: string[]): Promise<void> {
  const flags = parseKnownFlags(argv, ['from', 'to'], 'usage: readme-figures [--from DIR] [--to DIR]');
  const from = path.resolve(flags.from ?? path.join(REPO_ROOT, 'build', 'notebooks'));
  const to = path.resolve(flags.to ?? path.join(REPO_ROOT, 'docs', 'figures'));
  const figures = await extractFigures(from, to);
  for (const figure of figures) {
    console.log(
      `${path.relative(REPO_ROOT, figure.file)}  <- ${path.basename(figure.notebook)} (${figure.parts} output(s))`,
    );
  }
  if (figures.length === 0) console.log(`no cell tagged readme-figure in the notebooks of ${from}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`readme-figures: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
