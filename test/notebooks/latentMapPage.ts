/**
 * Helpers for the browser tests of an exported page with an interactive latent map
 * (latentMapChart drawn live by scripts/nbconvert/offline/live-charts.js): where the page's HTML
 * points off the machine, the rows of the embedded spec, where to hover for a grid point, and
 * which images the two panels show. Used by offline.test.ts (a fixture notebook) and
 * notebooks.test.ts (04-latent-space from the smoke run).
 */
import { strict as assert } from 'node:assert';
import type { Page } from 'playwright-core';

// The DOM, as far as the page functions below use it: they run in Chromium, and this project's
// tsconfig has no "dom" lib.
export interface PageElement {
  getAttribute(name: string): string | null;
}
/** A node of vega's scenegraph: a mark (with a name) or an item (an image item has a url). */
interface SceneNode {
  name?: string;
  marktype?: string;
  url?: string;
  items?: SceneNode[];
}
/** The vega View that live-charts.js keeps on each chart element. */
export interface LiveView {
  renderer(name: string): { runAsync(): Promise<unknown> };
  data(name: string): Array<{ values: number[] }>;
  scenegraph(): { root: SceneNode };
}
declare const document: { querySelector(selector: string): PageElement | null };

/** The rows of the spec embedded in the page, as latentMapChart wrote them. */
export interface GridRow {
  i: number;
  x: number;
  y: number;
  u: string;
  n: number;
  c: string;
}
export interface TestRow {
  n: number;
  t: string;
  d: number;
  c: string;
}

/** Network addresses the page's HTML itself names in src/href attributes (scripts, styles, images, fonts). */
export function remoteReferences(html: string): string[] {
  return [
    ...html.matchAll(
      /<(?:script|link|img|iframe|source|video|audio)\b[^>]*\b(?:src|href)\s*=\s*["']?((?:https?:)?\/\/[^"' >]+)/gi,
    ),
  ].map((match) => match[1]);
}

/** The decoded grid and the nearest test images, read from the spec embedded in the page. */
export async function mapRows(page: Page): Promise<{ gridRows: GridRow[]; testRows: Map<number, TestRow> }> {
  const spec = await page.$eval('script.gan-live-chart-spec', (element) => JSON.parse(element.textContent ?? '{}'));
  const gridRows = spec.datasets.latentGrid as GridRow[];
  const testRows = new Map((spec.datasets.nearestTests as TestRow[]).map((row) => [row.n, row]));
  return { gridRows, testRows };
}

/** Where to hover for each grid point: the centre of its Voronoi cell (a rectangle for a regular grid). */
export async function gridCellCentres(page: Page): Promise<Map<number, { x: number; y: number }>> {
  const cells = await page.$$eval('.gan-live-chart-view g.gridHover_voronoi path', (paths) =>
    paths.map((element) => {
      const box = element.getBoundingClientRect();
      // vega keeps each SVG element's scene item on it; a Voronoi cell's item points at the grid point's item.
      const item = (element as unknown as { __data__: { datum: { datum: { i: number } } } }).__data__;
      return { i: item.datum.datum.i, x: box.x + box.width / 2, y: box.y + box.height / 2 };
    }),
  );
  return new Map(cells.map((cell) => [cell.i, { x: cell.x, y: cell.y }]));
}

/** The data URL the panel's image shows, or null when it shows none. */
export async function panelImage(page: Page, panel: 'decoded' | 'nearest'): Promise<string | null> {
  return page
    .$eval(`.gan-live-chart-view g.${panel}Image_marks image`, (element) => element.getAttribute('href'))
    .catch(() => null);
}

/**
 * Switches the page's live chart to another vega renderer ('svg' draws elements the tests can
 * find; 'canvas' is the map's default).
 */
export async function useRenderer(page: Page, renderer: 'svg' | 'canvas'): Promise<void> {
  await page.evaluate(async (name) => {
    await (document.querySelector('.gan-live-chart') as unknown as { vegaView: LiveView }).vegaView
      .renderer(name)
      .runAsync();
  }, renderer);
}

/**
 * The images the two panels show, read from vega's scenegraph (what either renderer draws, so
 * it works for the canvas renderer too): the url of the first item of each image mark.
 */
export async function scenePanelImages(page: Page): Promise<{ decoded: string | null; nearest: string | null }> {
  return page.evaluate(() => {
    const view = (document.querySelector('.gan-live-chart') as unknown as { vegaView: LiveView }).vegaView;
    const found: Record<string, string | null> = {};
    // A loop, not a named helper: tsx wraps named functions in a __name() call the page lacks.
    const nodes: SceneNode[] = [view.scenegraph().root];
    for (let node = nodes.pop(); node; node = nodes.pop()) {
      if (node.marktype && node.name) found[node.name] = node.items?.[0]?.url ?? null;
      nodes.push(...(node.items ?? []));
    }
    return { decoded: found.decodedImage_marks ?? null, nearest: found.nearestImage_marks ?? null };
  });
}

/**
 * Hovers the centre of grid point i's cell and checks what the panels show: the image decoded
 * there, the test image nearest to it, and both captions.
 */
export async function hoverAndCheck(
  page: Page,
  gridRows: GridRow[],
  testRows: Map<number, TestRow>,
  centres: Map<number, { x: number; y: number }>,
  i: number,
): Promise<void> {
  const centre = centres.get(i);
  assert.ok(centre, `grid point ${i} has a cell to hover`);
  await page.mouse.move(centre.x, centre.y);
  await page.waitForFunction(
    (url) => document.querySelector('.gan-live-chart-view g.decodedImage_marks image')?.getAttribute('href') === url,
    gridRows[i].u,
    { timeout: 5_000 },
  );
  assert.equal(await panelImage(page, 'decoded'), gridRows[i].u, `decoded image of grid point ${i}`);
  const nearest = testRows.get(gridRows[i].n);
  assert.ok(nearest, `the spec holds test image ${gridRows[i].n}, nearest to grid point ${i}`);
  assert.equal(await panelImage(page, 'nearest'), nearest.t, `nearest test image of grid point ${i}`);
  const captions = await page.$$eval('.gan-live-chart-view g[class*="Caption_marks"] text', (elements) =>
    elements.map((element) => element.textContent),
  );
  assert.deepEqual(captions, [gridRows[i].c, nearest.c]);
  // The caption names the test image and its digit.
  assert.match(nearest.c, new RegExp(`^test image ${gridRows[i].n}: a ${nearest.d}$`));
}
