/**
 * An interactive latent map: the 2-D latent scatter, and beside it the image decoded where the
 * pointer is and the test digit nearest to that place. Hovering needs no kernel: a grid of
 * points over the plane is decoded once, here, and every decoded image (and each nearest test
 * digit) travels inside the vega-lite spec as a PNG data URL. The spec's hover selection
 * ("hovered", nearest grid point) filters the two image panels.
 *
 * Where it is interactive: in JupyterLab (its vega-lite renderer, showChart) and in the
 * exported HTML, whose template draws charts marked `usermeta.htmlExport = 'interactive'` with
 * vega inlined from node_modules (scripts/nbconvert/offline/). Everywhere else, and with
 * JavaScript off, the static SVG shows the map with the panels of the first selected point.
 */
import { decodeLatentPoints, imageGrid, latentGridPoints, type GridImages, type LatentDecoder } from './grid';
import {
  digitCentroids,
  LATENT_AXES,
  latentBox,
  latentLayers,
  OUTLINED,
  roundingFor,
  type LatentBox,
  type LatentPoint,
  type LatentPoints,
  type LatentScatterData,
} from './latent';
import { pixelValues } from './pixels';
import type { ChartSpec } from './render';
import { localize, localizeChart } from './locale';
import { VEGA_LITE_SCHEMA, type ChartOptions } from './charts';

/** 28x28 images in [0, 1] decoded over a regular grid of latent points (what the map shows on hover). */
export interface DecodedLatentGrid {
  box: LatentBox;
  /** Points per side. */
  steps: number;
  /** steps*steps points x0, y0, x1, y1, ... in reading order (latentGridPoints). */
  points: Float32Array;
  /** steps*steps decoded images of 784 values each, in the same order. */
  images: Float32Array;
}

/** Decodes a steps x steps grid over `box` once, for latentMapChart (default 25: 625 PNGs, about 0.4 MB of spec). */
export async function decodeLatentGrid(
  decode: LatentDecoder,
  options: { box: LatentBox; steps?: number },
): Promise<DecodedLatentGrid> {
  const steps = options.steps ?? 25;
  const points = latentGridPoints(options.box, steps);
  const images = await decodeLatentPoints(decode, points, 'decodeLatentGrid');
  return { box: { ...options.box }, steps, points, images };
}

export interface LatentMapData extends LatentScatterData {
  /** The test images the points encode, in [0, 1], in the same order (n * 784 values; a Tensor is read, not kept). */
  testImages: GridImages;
  /** The decoded grid (decodeLatentGrid). */
  grid: DecodedLatentGrid;
}

/** Each pixel of the two images beside the map becomes an IMAGE_SCALE x IMAGE_SCALE block (112 px images). */
const IMAGE_SCALE = 4;

/** A PNG data URL of one 28x28 image, each pixel an IMAGE_SCALE block (crisp when the page shows it at its size). */
function pngDataUrl(values: Float32Array): string {
  const png = imageGrid(values, { rows: 1, cols: 1, range: 'unit', scale: IMAGE_SCALE, gap: 0 });
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Index of the point (x, y pairs) nearest to (x, y). */
function nearestIndex(points: LatentPoints, n: number, x: number, y: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let i = 0; i < n; i++) {
    const distance = (points[2 * i] - x) ** 2 + (points[2 * i + 1] - y) ** 2;
    if (distance < bestDistance) {
      bestDistance = distance;
      best = i;
    }
  }
  return best;
}

/** Keeps the rows of the hovered grid point. */
const HOVERED = { filter: { param: 'hovered', empty: false } };

/** One of the two panels beside the map: the image (`urlField`) of the hovered grid row, and its caption. */
function panel(name: string, title: string, transform: object[], urlField: string, side: number): object {
  // Marks named <name>Image and <name>Caption, found again in the SVG (class <name>Image_marks).
  return {
    name,
    title: { text: title, fontSize: 12, anchor: 'start' },
    width: side,
    height: side + 22,
    data: { name: 'latentGrid' },
    transform: [HOVERED, ...transform],
    view: { stroke: null },
    layer: [
      {
        name: `${name}Image`,
        mark: { type: 'image', width: side, height: side, align: 'left', baseline: 'top', aria: false },
        encoding: { url: { field: urlField, type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
      },
      {
        name: `${name}Caption`,
        mark: { type: 'text', align: 'left', baseline: 'top', fontSize: 11 },
        encoding: { text: { field: 'c', type: 'nominal' }, x: { value: 0 }, y: { value: side + 6 } },
      },
    ],
  };
}

/** The latent scatter (latentScatterChart's layers) with the hover selection and two panels of the file comment. */
export function latentMapChart(data: LatentMapData, options: ChartOptions = {}): ChartSpec {
  const caller = 'latentMapChart';
  const { grid } = data;
  const n = data.points.length / 2;
  const count = grid.steps * grid.steps;
  if (grid.points.length !== 2 * count || grid.images.length !== count * 784) {
    throw new Error(
      `${caller}: grid holds ${grid.points.length / 2} points and ${grid.images.length / 784} images ` +
        `for steps ${grid.steps} (expected ${count} of each); build it with decodeLatentGrid.`,
    );
  }
  const testValues = pixelValues(data.testImages);
  if (testValues.length !== n * 784) {
    throw new Error(
      `${caller}: testImages holds ${testValues.length} values; ` +
        `expected ${n} images of 28x28 (${n * 784} values), one per point.`,
    );
  }
  const box = latentBox(data.points);
  const round = roundingFor(
    Math.max(box.xMax - box.xMin, box.yMax - box.yMin, grid.box.xMax - grid.box.xMin, grid.box.yMax - grid.box.yMin),
  );
  // Also checks points and labels (pairs, finite, one label each) before any work.
  const scatterLayers = latentLayers(data, round);

  // Each grid point: its position, decoded image, and the test point nearest to it (each such test image once).
  const nearest = Array.from({ length: count }, (_, i) =>
    nearestIndex(data.points, n, grid.points[2 * i], grid.points[2 * i + 1]),
  );
  const testRows = [...new Set(nearest)].map((t) => ({
    n: t,
    t: pngDataUrl(Float32Array.from({ length: 784 }, (_, p) => testValues[t * 784 + p])),
    d: data.labels[t],
    c: localize(`test image ${t}: a ${data.labels[t]}`, options.locale),
  }));
  const gridRows = nearest.map((t, i) => {
    const [x, y] = [round(grid.points[2 * i]), round(grid.points[2 * i + 1])];
    return { i, x, y, u: pngDataUrl(grid.images.subarray(i * 784, (i + 1) * 784)), n: t, c: `z = (${x}, ${y})` };
  });
  // The panels start at the grid point nearest the first test point (what the static SVG shows).
  const initialCell = nearestIndex(grid.points, count, data.points[0], data.points[1]);
  const side = 28 * IMAGE_SCALE;
  const nearestLookup = (fields: string[], as?: string[]) => ({
    lookup: 'n',
    from: { data: { name: 'nearestTests' }, key: 'n', fields },
    ...(as ? { as } : {}),
  });

  return localizeChart(
    {
      $schema: VEGA_LITE_SCHEMA,
      title: options.title ?? 'Latent map: point anywhere to decode it',
      usermeta: { embedOptions: { renderer: 'canvas' }, htmlExport: 'interactive' },
      datasets: { latentGrid: gridRows, nearestTests: testRows },
      hconcat: [
        {
          width: options.width ?? 480,
          height: options.height ?? 480,
          layer: [
            ...scatterLayers,
            {
              // Invisible grid points: the pointer selects the nearest one (a Voronoi cell each).
              name: 'gridHover',
              data: { name: 'latentGrid' },
              mark: { type: 'point', opacity: 0, size: 1, aria: false },
              encoding: LATENT_AXES,
              params: [
                {
                  name: 'hovered',
                  value: [{ i: initialCell }],
                  select: { type: 'point', fields: ['i'], on: 'mouseover', nearest: true, clear: false },
                },
              ],
            },
            {
              name: 'gridCursor',
              data: { name: 'latentGrid' },
              transform: [HOVERED],
              mark: { type: 'point', shape: 'cross', size: 160, filled: true, ...OUTLINED },
              encoding: LATENT_AXES,
            },
          ],
        },
        {
          vconcat: [
            panel('decoded', 'decoded at the pointer', [], 'u', side),
            // The caption of this panel names the test image, not the grid point.
            panel('nearest', 'nearest test digit', [nearestLookup(['t', 'd']), nearestLookup(['c'], ['c'])], 't', side),
          ],
        },
      ],
    } as unknown as ChartSpec,
    options.locale,
  ); // A composite spec of plain objects; vega-lite validates it.
}

/** The digit centroids as latent points, by digit: handy ends for an interpolation line. */
export function centroidOf(points: LatentPoints, labels: ArrayLike<number>, digit: number): LatentPoint {
  const found = digitCentroids(points, labels).find((centroid) => centroid.digit === digit);
  if (!found) {
    const labelsPresent = [...new Set(Array.from(labels))].sort((a, b) => a - b).join(', ');
    throw new Error(`centroidOf: no point has label ${digit}; the labels hold ${labelsPresent}.`);
  }
  return { x: found.x, y: found.y };
}
