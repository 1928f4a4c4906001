/**
 * The notebooks' code keeps the project's line limit (120 characters, as eslint.config.mjs
 * enforces for lib/ and the tools): a reader of the HTML export or of a narrow JupyterLab pane
 * sees each line whole. Markdown cells are prose and wrap by themselves, so they are not checked.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const NOTEBOOKS_DIR = path.join(__dirname, '..', '..', 'notebooks');
const MAX_LINE = 120;

interface NotebookCell {
  cell_type: string;
  source: string | string[];
}

describe('notebook code style', () => {
  const names = fs.readdirSync(NOTEBOOKS_DIR).filter((name) => name.endsWith('.ipynb'));
  it('finds the notebooks', () => assert.ok(names.length >= 6, `notebooks/ holds ${names.join(', ')}`));
  for (const name of names) {
    it(`${name}: code lines are at most ${MAX_LINE} characters`, () => {
      const cells = (JSON.parse(fs.readFileSync(path.join(NOTEBOOKS_DIR, name), 'utf8')) as { cells: NotebookCell[] })
        .cells;
      const tooLong = cells.flatMap((cell, cellIndex) => {
        if (cell.cell_type !== 'code') return [];
        const lines = (Array.isArray(cell.source) ? cell.source.join('') : cell.source).split('\n');
        return lines.flatMap((line, lineIndex) =>
          line.length > MAX_LINE ? [`cell ${cellIndex + 1}, line ${lineIndex + 1} (${line.length}): ${line}`] : [],
        );
      });
      assert.deepEqual(tooLong, [], `${name} has code lines over ${MAX_LINE} characters`);
    });
  }
});
