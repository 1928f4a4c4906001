/**
 * Exported pages are offline, and the interactive latent map works in them, in headless
 * Chromium: the fixture notebooks images.ipynb (PNG, SVG) and latent-map.ipynb (latentMapChart
 * on synthetic data) are run and exported; opening either page sends no request off the
 * machine; hovering the map shows the image decoded at the hovered grid point and the test
 * image nearest to it; with JavaScript off the static SVG is what shows.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CHROMIUM,
  openHeadlessChromium,
  REPO_ROOT,
  runNotebooks,
  type HeadlessBrowser,
  type NotebookResult,
} from '../../tools';
import {
  gridCellCentres,
  hoverAndCheck,
  mapRows,
  remoteReferences,
  useRenderer,
  type LiveView,
  type PageElement,
} from './latentMapPage';

declare const document: { querySelector(selector: string): PageElement | null };
declare function getComputedStyle(element: unknown): { display: string };

const OUT = path.join(REPO_ROOT, 'build', 'test', 'notebooks-offline');
const SCREENSHOT = path.join(REPO_ROOT, 'build', 'screenshots', 'latent-map-fixture.png');

describe(
  'offline exported pages in headless Chromium',
  { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (npm test's set-up installs it)` },
  () => {
    let pages: Record<string, NotebookResult>;
    let browser: HeadlessBrowser | undefined;

    before(async () => {
      const summary = await runNotebooks({
        notebooksDir: path.join(REPO_ROOT, 'test', 'fixtures', 'notebooks'),
        profile: 'smoke',
        only: ['images', 'latent-map'],
        outDir: OUT,
      });
      pages = Object.fromEntries(summary.notebooks.map((result) => [result.name.replace(/\.ipynb$/, ''), result]));
      for (const result of summary.notebooks) assert.equal(result.status, 'ok', result.report);
      browser = await openHeadlessChromium({ width: 1000, height: 900 });
    });

    after(async () => {
      await browser?.close();
    });

    it('names no address off the machine and carries no require.js, MathJax or mermaid', () => {
      for (const name of ['images', 'latent-map']) {
        const html = fs.readFileSync(pages[name].htmlPath, 'utf8');
        assert.deepEqual(remoteReferences(html), [], `${name}.html`);
        assert.doesNotMatch(html, /require(\.min)?\.js|MathJax|mermaid\.esm/i, `${name}.html`);
        assert.equal(pages[name].notes, undefined, `${name}: no export notes`);
      }
      // vega and vega-lite (their UMD builds) are inlined only where a chart needs them.
      const inlinedVega = /<script>!function\(\w,\w\)\{"object"==typeof exports[^]*?\.vega=\{\}/;
      const inlinedVegaLite = /<script>!function\(\w,\w\)\{"object"==typeof exports[^]*?\.vegaLite=\{\}/;
      assert.doesNotMatch(fs.readFileSync(pages.images.htmlPath, 'utf8'), inlinedVega);
      assert.match(fs.readFileSync(pages['latent-map'].htmlPath, 'utf8'), inlinedVega);
      assert.match(fs.readFileSync(pages['latent-map'].htmlPath, 'utf8'), inlinedVegaLite);
    });

    it('opening either page sends no request off the machine', async () => {
      const { page, blocked } = browser as HeadlessBrowser;
      const requested: string[] = [];
      const listener = (request: { url(): string }) => {
        requested.push(request.url());
      };
      page.on('request', listener);
      for (const name of ['images', 'latent-map']) {
        await page.goto(`file://${pages[name].htmlPath}`, { waitUntil: 'load' });
        await page.waitForTimeout(300);
      }
      page.off('request', listener);
      console.log(`requests: ${requested.map((url) => url.slice(0, 60)).join(', ')}; blocked: ${blocked.length}`);
      assert.deepEqual(blocked, [], 'no request was refused, because none went off the machine');
      assert.ok(
        requested.every((url) => /^(file|data|blob):/.test(url)),
        `only local requests: ${requested.filter((url) => !/^(file|data|blob):/.test(url)).join(', ')}`,
      );
    });

    const hoverTitle =
      'hovering the latent map shows the image decoded at the hovered grid point and the nearest test image';
    it(hoverTitle, async () => {
      const { page, blocked } = browser as HeadlessBrowser;
      await page.goto(`file://${pages['latent-map'].htmlPath}`, { waitUntil: 'load' });
      await page.waitForSelector('.gan-live-chart[data-live="ready"]', { timeout: 10_000 });
      const chart = (await page.$('.gan-live-chart'))!;
      await chart.scrollIntoViewIfNeeded();
      assert.equal(
        await page.$eval('.gan-live-chart-static', (element) => getComputedStyle(element).display),
        'none',
        'the live chart replaced the static one',
      );

      // The map draws on a canvas; the svg renderer draws the Voronoi cells as elements to find.
      await useRenderer(page, 'svg');
      const { gridRows, testRows } = await mapRows(page);
      const steps = Math.round(Math.sqrt(gridRows.length));
      assert.equal(steps * steps, gridRows.length);
      assert.equal(steps, 10, 'the fixture decodes a 10 x 10 grid');
      const centres = await gridCellCentres(page);
      assert.equal(centres.size, gridRows.length, 'one Voronoi cell per grid point');

      // Two interior grid points far apart (top left, bottom right), whose decoded images differ.
      const targets = [steps + 1, gridRows.length - steps - 2];
      assert.notEqual(gridRows[targets[0]].u, gridRows[targets[1]].u);
      for (const i of targets) await hoverAndCheck(page, gridRows, testRows, centres, i);
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await chart.screenshot({ path: SCREENSHOT });

      // The canvas renderer (the default for 10,000 points) selects the same grid point at the same place.
      await page.evaluate(async () => {
        await (document.querySelector('.gan-live-chart') as unknown as { vegaView: LiveView }).vegaView
          .renderer('canvas')
          .runAsync();
      });
      assert.equal(await page.$$eval('.gan-live-chart-view canvas', (elements) => elements.length), 1);
      const centre = centres.get(targets[0])!;
      await page.mouse.move(centre.x, centre.y);
      const hoveredNow = () =>
        (document.querySelector('.gan-live-chart') as unknown as { vegaView: LiveView }).vegaView
          .data('hovered_store')
          .map((entry) => entry.values[0]);
      await page
        .waitForFunction(
          (wanted) => {
            const store = (
              document.querySelector('.gan-live-chart') as unknown as { vegaView: LiveView }
            ).vegaView.data('hovered_store');
            return store.length === 1 && store[0].values[0] === wanted;
          },
          targets[0],
          { timeout: 5_000 },
        )
        .catch(() => undefined);
      const picked = await page.evaluate(hoveredNow);
      assert.deepEqual(picked, [targets[0]]);
      assert.deepEqual(blocked, []);
    });

    it('with JavaScript off, the static SVG of the map shows', async () => {
      const noScripts = await openHeadlessChromium({ width: 1000, height: 900 }, { javaScriptEnabled: false });
      try {
        await noScripts.page.goto(`file://${pages['latent-map'].htmlPath}`, { waitUntil: 'load' });
        const image = await noScripts.page.$eval('.gan-live-chart-static', (element) => {
          const picture = element as unknown as { naturalWidth: number; naturalHeight: number; src: string };
          return {
            width: picture.naturalWidth,
            height: picture.naturalHeight,
            svg: picture.src.startsWith('data:image/svg+xml;base64,'),
            display: getComputedStyle(element).display,
          };
        });
        assert.ok(
          image.svg && image.width > 400 && image.height > 300 && image.display !== 'none',
          JSON.stringify(image),
        );
        assert.equal(await noScripts.page.$eval('.gan-live-chart-view', (element) => element.childElementCount), 0);
        assert.deepEqual(noScripts.blocked, []);
      } finally {
        await noScripts.close();
      }
    });
  },
);
