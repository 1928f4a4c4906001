/**
 * A bad setting stops a chapter before anything is built, as a learner would meet it: a chapter
 * runs headless under the smoke profile with one nonsensical `--set` (values issue 23 tried) and
 * must stop in its check cell, the second code cell after the parameters cell, with one line that
 * names the setting, the value and what is allowed. The kernels only start, import the library
 * and stop.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { readNotebook, REPO_ROOT, runNotebooks, sourceText, type RunSummary } from '../../tools';

const NOTEBOOKS_DIR = path.join(REPO_ROOT, 'notebooks');

/**
 * The bad values issue 23 tried, one per notebook run. Three chapters, to keep the kernels' start-up
 * (several seconds each) small; test/unit/settings.test.ts runs every chapter's check cell, with
 * every setting at -1 and with each value of the issue's list, without a kernel.
 */
const BAD: Record<string, { set: string; line: RegExp }> = {
  '01-dcgan.ipynb': { set: 'batchSize=0', line: /^batchSize = 0 is not allowed: it must be a whole number from 1 / },
  '03-dense-autoencoder.ipynb': {
    set: 'zDim=-3',
    line: /^zDim = -3 is not allowed: it must be a whole number of at least 1\. /,
  },
  '04-latent-space.ipynb': {
    set: 'zDim=0',
    line: /^zDim = 0 is not allowed: it must be a whole number of at least 1\. /,
  },
};

/** The committed notebook's 1-based number of the cell that calls checkSettings. */
function checkCellNumber(name: string): number {
  const cells = readNotebook(path.join(NOTEBOOKS_DIR, name)).cells;
  return cells.findIndex((cell) => cell.cell_type === 'code' && /\bcheckSettings\(/.test(sourceText(cell.source))) + 1;
}

describe('a bad setting stops each chapter in its check cell, with one line', () => {
  let summary: RunSummary;
  before(async () => {
    const outDir = path.join(REPO_ROOT, 'build', 'test', 'notebooks-bad-settings');
    fs.rmSync(outDir, { recursive: true, force: true });
    summary = await runNotebooks({
      profile: 'smoke',
      only: Object.keys(BAD),
      set: Object.entries(BAD).map(([name, { set }]) => `${name}:${set}`),
      outDir: outDir,
      modelsDir: path.join(REPO_ROOT, 'build', 'test', 'models-bad-settings'),
    });
  });

  for (const [name, { set, line }] of Object.entries(BAD)) {
    it(`${name} with --set ${set}`, () => {
      const result = summary.notebooks.find((entry) => entry.name === name);
      assert.ok(result, `${name} did not run`);
      assert.equal(result.status, 'error', `${name} ran with ${set}: ${result.report ?? 'ok'}`);
      assert.equal(result.sourceCell, checkCellNumber(name), `${name} stopped elsewhere: ${result.report}`);
      const printed = (result.failure?.text ?? '').trim();
      assert.match(printed, line);
      assert.match(printed, / Change it in the parameters cell\.$/);
      assert.equal(printed.split('\n').length, 1, `more than one line: ${printed}`);
      assert.equal(result.headline, printed);
    });
  }
});
