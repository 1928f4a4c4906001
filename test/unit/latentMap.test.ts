/**
 * The interactive latent map's spec (latentMapChart, decodeLatentGrid) and the lines drawn on
 * the latent scatter: what the hover panels can show is decided here, in Node, so the data
 * must be right before any browser sees it (test/notebooks/offline.test.ts hovers the result).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { centroidOf, decodeLatentGrid, latentMapChart, latentScatterChart } from '../../lib';
import { latentGridPoints, renderSvg, type DecodedLatentGrid } from '../../lib/viz';
import { pngSize } from '../../lib/display';
import type { GridRow, TestRow } from '../notebooks/latentMapPage';

const PIXELS = 784;
// Six codes in two clouds; test image k is filled with the value k / 10.
const points = new Float32Array([0, 0, 0.5, 0.2, 0.2, 0.6, 3, 3, 3.4, 2.6, 2.8, 3.3]);
const labels = [1, 1, 1, 7, 7, 7];
const testImages = new Float32Array(6 * PIXELS).map((_, p) => Math.floor(p / PIXELS) / 10);
const box = { xMin: 0, xMax: 3.4, yMin: 0, yMax: 3.3 };

/** A decoder whose image k is filled with z's x / 4: each grid column decodes differently. */
function fillDecoder(calls: number[]) {
  return (z: Float32Array) => {
    calls.push(z.length / 2);
    const images = new Float32Array((z.length / 2) * PIXELS);
    for (let k = 0; k < z.length / 2; k++) images.fill(z[2 * k] / 4, k * PIXELS, (k + 1) * PIXELS);
    return images;
  };
}

function pngOf(url: string): Buffer {
  assert.match(url, /^data:image\/png;base64,/);
  return Buffer.from(url.slice('data:image/png;base64,'.length), 'base64');
}

function nearestTest(x: number, y: number): number {
  let best = 0;
  for (let i = 1; i < 6; i++) {
    if (
      (points[2 * i] - x) ** 2 + (points[2 * i + 1] - y) ** 2 <
      (points[2 * best] - x) ** 2 + (points[2 * best + 1] - y) ** 2
    )
      best = i;
  }
  return best;
}

describe('decodeLatentGrid', () => {
  it('decodes the latentGridPoints grid in one call and keeps the images in grid order', async () => {
    const calls: number[] = [];
    const grid = await decodeLatentGrid(fillDecoder(calls), { box, steps: 4 });
    assert.deepEqual(calls, [16]);
    assert.deepEqual(Array.from(grid.points), Array.from(latentGridPoints(box, 4)));
    assert.equal(grid.images.length, 16 * PIXELS);
    for (const k of [0, 7, 15])
      assert.ok(Math.abs(grid.images[k * PIXELS + 100] - grid.points[2 * k] / 4) < 1e-6, `image ${k}`);
  });

  it('names a decoder that returns the wrong number of values', async () => {
    await assert.rejects(
      decodeLatentGrid(() => new Float32Array(10), { box, steps: 2 }),
      /decode returned 10 values for 4 points; expected 3136/,
    );
  });
});

describe('latentMapChart', () => {
  let grid: DecodedLatentGrid;

  it('carries one row per grid point with its decoded image and its nearest test image', async () => {
    grid = await decodeLatentGrid(fillDecoder([]), { box, steps: 3 });
    const spec = latentMapChart({ points, labels, testImages, grid }) as unknown as {
      usermeta: { htmlExport: string; embedOptions: { renderer: string } };
      datasets: { latentGrid: GridRow[]; nearestTests: TestRow[] };
      hconcat: Array<{
        layer?: Array<{ name?: string; params?: Array<{ name: string; value: Array<{ i: number }> }> }>;
      }>;
    };
    assert.equal(spec.usermeta.htmlExport, 'interactive');
    assert.equal(spec.usermeta.embedOptions.renderer, 'canvas');
    const rows = spec.datasets.latentGrid;
    assert.equal(rows.length, 9);
    const tests = new Map(spec.datasets.nearestTests.map((row) => [row.n, row]));
    rows.forEach((row, i) => {
      assert.equal(row.i, i);
      assert.ok(
        Math.abs(row.x - grid.points[2 * i]) < 1e-3 && Math.abs(row.y - grid.points[2 * i + 1]) < 1e-3,
        `row ${i} position`,
      );
      assert.deepEqual(pngSize(pngOf(row.u)), { width: 112, height: 112 }, 'decoded image, 4 px per pixel');
      assert.equal(row.n, nearestTest(grid.points[2 * i], grid.points[2 * i + 1]), `row ${i}: nearest test point`);
      assert.ok(tests.has(row.n), `row ${i}: its nearest test image is in the tests dataset`);
    });
    // Grid columns decode differently; the same column decodes the same.
    assert.notEqual(rows[0].u, rows[2].u);
    assert.equal(rows[0].u, rows[3].u);
    // Each nearest test image once, with its label; images of different tests differ.
    assert.equal(tests.size, spec.datasets.nearestTests.length);
    for (const [n, row] of tests) {
      assert.equal(row.d, labels[n]);
      assert.equal(row.c, `test image ${n}: a ${labels[n]}`);
    }
    const testImageUrls = new Set([...tests.values()].map((row) => row.t));
    assert.equal(testImageUrls.size, tests.size);

    // The hover starts at the grid point nearest the first test point (0, 0): the bottom-left corner, row 2 column 0.
    const hover = spec.hconcat[0].layer?.find((layer) => layer.name === 'gridHover');
    assert.deepEqual(hover?.params?.[0].value, [{ i: 6 }]);
  });

  it('renders a static SVG (no warnings) whose panels show the first hovered point', async () => {
    // Test point 3, (3, 3), first: the panels start at the grid point nearest it, the top-right one.
    const order = [3, 0, 1, 2, 4, 5];
    const reordered = {
      points: new Float32Array(order.flatMap((k) => [points[2 * k], points[2 * k + 1]])),
      labels: order.map((k) => labels[k]),
      testImages: new Float32Array(order.flatMap((k) => Array.from(testImages.subarray(k * PIXELS, (k + 1) * PIXELS)))),
    };
    const spec = latentMapChart({ ...reordered, grid });
    const rows = (spec as unknown as { datasets: { latentGrid: GridRow[]; nearestTests: TestRow[] } }).datasets;
    const svg = await renderSvg(spec);
    const hrefs = [...svg.matchAll(/<image[^>]*href="([^"]+)"/g)].map((match) => match[1]);
    // Top-right grid point (row 0, column 2) and its nearest test point, (3, 3): test image 0 now, a 7.
    const cell = rows.latentGrid[2];
    assert.equal(cell.n, 0);
    assert.deepEqual(hrefs, [cell.u, rows.nearestTests.find((row) => row.n === 0)?.t]);
    assert.match(svg, /z = \(3\.4, 3\.3\)/);
    assert.match(svg, /test image 0: a 7/);
  });

  it('says what does not fit: test images, the grid, the labels', () => {
    assert.throws(
      () => latentMapChart({ points, labels, testImages: testImages.subarray(PIXELS), grid }),
      /testImages holds 3920 values; expected 6 images of 28x28 \(4704 values\)/,
    );
    assert.throws(
      () => latentMapChart({ points, labels, testImages, grid: { ...grid, steps: 4 } }),
      /grid holds 9 points and 9 images for steps 4 \(expected 16 of each\)/,
    );
    assert.throws(
      () => latentMapChart({ points, labels: [1, 1], testImages, grid }),
      /labels has 2 entries but points holds 6 points/,
    );
  });
});

describe('latentScatterChart lines and centroidOf', () => {
  it('draws each line with its points and label, and refuses a line of one point', async () => {
    const from = centroidOf(points, labels, 1);
    const to = centroidOf(points, labels, 7);
    assert.ok(Math.abs(from.x - 0.7 / 3) < 1e-6 && Math.abs(to.y - 8.9 / 3) < 1e-6);
    const line = { points: [from, { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 }, to], label: '1 → 7' };
    const spec = latentScatterChart({ points, labels, lines: [line] }) as unknown as {
      layer: Array<{ name: string; data: { values: Array<Record<string, number | string>> } }>;
    };
    const byName = new Map(spec.layer.map((layer) => [layer.name, layer]));
    assert.deepEqual(
      byName.get('lines')?.data.values.map((row) => row.k),
      [0, 1, 2],
    );
    assert.equal(byName.get('linePoints')?.data.values.length, 3);
    assert.equal(byName.get('lineLabels')?.data.values[0].t, '1 → 7');
    const svg = await renderSvg(spec as never);
    assert.match(svg, /class="mark-line role-mark lines_marks"/);
    assert.match(svg, /1 → 7/);
    assert.throws(
      () => latentScatterChart({ points, labels, lines: [{ points: [from] }] }),
      /lines\[0\] has 1 point\(s\); a line needs at least 2/,
    );
    assert.throws(() => centroidOf(points, labels, 3), /no point has label 3; the labels hold 1, 7/);
  });
});
