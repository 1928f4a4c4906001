/**
 * "Seeded" means repeatable: a chapter run twice with the same settings prints the same losses
 * (up to float rounding) and draws the same pictures. One chapter, under the smoke profile, to
 * stay cheap: 02 trains a convolutional model, so its losses depend on the seeded starting
 * weights, the seeded batch order and the native kernels' arithmetic.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadImage, createCanvas } from 'canvas';
import { readNotebook, REPO_ROOT, runNotebooks, sourceText, type NotebookResult } from '../../tools';

const NOTEBOOK = '02-conv-autoencoder.ipynb';

/** Every number printed after "loss" or "val_loss" in the notebook's stdout, in order. */
function printedLosses(executedPath: string): number[] {
  const losses: number[] = [];
  for (const cell of readNotebook(executedPath).cells) {
    for (const output of (cell.outputs ?? []) as { output_type?: string; name?: string; text?: string | string[] }[]) {
      if (output.output_type !== 'stream' || output.name !== 'stdout' || output.text === undefined) continue;
      for (const match of sourceText(output.text).matchAll(/\b(?:val_)?loss:? (\d+\.\d+)/g))
        losses.push(Number(match[1]));
    }
  }
  return losses;
}

/** The gray levels (red channel) of every PNG the notebook shows, decoded. */
async function pictures(executedPath: string): Promise<{ width: number; height: number; levels: Uint8Array }[]> {
  const decoded = [];
  for (const cell of readNotebook(executedPath).cells) {
    for (const output of (cell.outputs ?? []) as { data?: Record<string, unknown> }[]) {
      const png = output.data?.['image/png'];
      if (typeof png !== 'string') continue;
      const image = await loadImage(Buffer.from(png, 'base64'));
      const ctx = createCanvas(image.width, image.height).getContext('2d');
      ctx.drawImage(image, 0, 0);
      const rgba = ctx.getImageData(0, 0, image.width, image.height).data;
      decoded.push({
        width: image.width,
        height: image.height,
        levels: Uint8Array.from({ length: rgba.length / 4 }, (_, i) => rgba[4 * i]),
      });
    }
  }
  return decoded;
}

describe(`${NOTEBOOK} run twice with the same seed (smoke profile)`, () => {
  const runs: NotebookResult[] = [];
  before(async () => {
    for (const name of ['first', 'second']) {
      const summary = await runNotebooks({
        profile: 'smoke',
        only: [NOTEBOOK],
        outDir: path.join(REPO_ROOT, 'build', 'test', `repeatable-${name}`),
      });
      const result = summary.notebooks[0];
      assert.equal(result.status, 'ok', result.report);
      runs.push(result);
    }
  });

  it('prints the same losses, up to the last printed digit', () => {
    const [first, second] = runs.map((run) => printedLosses(run.executedPath));
    assert.ok(first.length >= 2, `expected the printed loss and val_loss, found ${JSON.stringify(first)}`);
    assert.equal(second.length, first.length);
    // Four decimals are printed; float rounding may at most flip the last one.
    first.forEach((loss, i) => assert.ok(Math.abs(loss - second[i]) <= 1e-4, `loss ${i}: ${loss} then ${second[i]}`));
  });

  it('shows the same digits and reconstructions', async () => {
    const [first, second] = await Promise.all(runs.map((run) => pictures(run.executedPath)));
    assert.ok(first.length >= 1, 'the notebook shows its reconstructions as a PNG');
    assert.deepEqual(
      second.map((p) => [p.width, p.height]),
      first.map((p) => [p.width, p.height]),
    );
    first.forEach((picture, k) => {
      let largest = 0;
      picture.levels.forEach((level, i) => {
        largest = Math.max(largest, Math.abs(level - second[k].levels[i]));
      });
      // A float-rounding difference can move a gray level by one; a different model moves many by far more.
      assert.ok(largest <= 2, `picture ${k}: gray levels differ by up to ${largest}`);
    });
  });
});
