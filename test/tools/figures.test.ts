/**
 * README figures: the outputs of the cell tagged `readme-figure` in an executed notebook,
 * several PNGs stacked into one, an SVG chart as it is, clear errors for unexecuted notebooks.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createCanvas, loadImage } from 'canvas';
import { extractFigure, extractFigures, FIGURE_TAG } from '../../tools';
import { pngSize } from '../../lib/display';

/** A solid PNG of the given size and grey level. */
function solidPng(width: number, height: number, grey: number): Buffer {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = `rgb(${grey},${grey},${grey})`;
  context.fillRect(0, 0, width, height);
  return canvas.toBuffer('image/png');
}

function executedNotebook(dir: string, name: string, cells: Array<{ tags?: string[]; outputs: unknown[] }>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: cells.map((cell, i) => ({
        cell_type: 'code',
        id: `c${i}`,
        source: '',
        execution_count: i + 1,
        metadata: cell.tags ? { tags: cell.tags } : {},
        outputs: cell.outputs,
      })),
    }),
  );
  return file;
}

const pngOutput = (png: Buffer) => ({
  output_type: 'display_data',
  metadata: {},
  data: { 'image/png': png.toString('base64'), 'text/plain': '<PNG>' },
});
const svgText = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';

describe('README figures from executed notebooks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'figures-'));
  const out = path.join(dir, 'figures');

  it("stacks the tagged cell's PNG outputs top to bottom, centred, on white", async () => {
    const file = executedNotebook(dir, '02-pictures.ipynb', [
      { outputs: [pngOutput(solidPng(5, 5, 0))] },
      {
        tags: [FIGURE_TAG],
        outputs: [
          { output_type: 'stream', name: 'stdout', text: 'hi' },
          pngOutput(solidPng(40, 10, 0)),
          pngOutput(solidPng(20, 6, 100)),
        ],
      },
    ]);
    fs.mkdirSync(out, { recursive: true });
    const figure = await extractFigure(file, out);
    assert.ok(figure);
    assert.equal(figure.kind, 'png');
    assert.equal(figure.parts, 2);
    assert.equal(figure.file, path.join(out, '02-pictures.png'));
    const png = fs.readFileSync(figure.file);
    assert.deepEqual(pngSize(png), { width: 40, height: 10 + 8 + 6 });
    const image = await loadImage(png);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const at = (x: number, y: number) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
    assert.deepEqual(at(0, 0), [0, 0, 0], 'first picture at the top');
    assert.deepEqual(at(20, 13), [255, 255, 255], 'white gap');
    assert.deepEqual(at(20, 20), [100, 100, 100], 'second picture, centred (x 10..29)');
    assert.deepEqual(at(5, 20), [255, 255, 255], 'left of the centred second picture');
  });

  it('writes an SVG chart as it is, and skips notebooks without the tag', async () => {
    const svgDir = path.join(dir, 'svg');
    fs.mkdirSync(svgDir);
    executedNotebook(svgDir, '04-chart.ipynb', [
      {
        tags: [FIGURE_TAG],
        outputs: [
          { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': svgText, 'text/plain': 'chart' } },
        ],
      },
    ]);
    executedNotebook(svgDir, '00-untagged.ipynb', [{ outputs: [pngOutput(solidPng(5, 5, 0))] }]);
    const figures = await extractFigures(svgDir, path.join(svgDir, 'out'));
    assert.deepEqual(
      figures.map((f) => [path.basename(f.file), f.kind]),
      [['04-chart.svg', 'svg']],
    );
    assert.equal(fs.readFileSync(figures[0].file, 'utf8'), svgText);
  });

  it('names the notebook and the cell when the tagged cell has no picture', async () => {
    const file = executedNotebook(dir, '03-unexecuted.ipynb', [{ outputs: [] }, { tags: [FIGURE_TAG], outputs: [] }]);
    await assert.rejects(
      extractFigure(file, out),
      /03-unexecuted\.ipynb: cell 2 is tagged "readme-figure" but has no image/,
    );
    assert.equal(fs.existsSync(path.join(out, '03-unexecuted.png')), false);
    await assert.rejects(
      extractFigures(path.join(dir, 'missing'), out),
      /missing does not exist: run the notebooks first/,
    );
  });
});
