/**
 * An exported HTML page in a real browser (Debian's headless Chromium): the fixture notebook
 * test/fixtures/notebooks/images.ipynb shows one PNG (canvas, tslab display.png) and one SVG
 * bar chart; both must be embedded in the page and render. Saves a screenshot in build/.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { pngSize } from '../../lib/display';
import {
  CHROMIUM,
  openHeadlessChromium,
  REPO_ROOT,
  runNotebooks,
  type HeadlessBrowser,
  type NotebookResult,
} from '../../tools';

const SCREENSHOT = path.join(REPO_ROOT, 'build', 'screenshots', 'images-fixture.png');

describe(
  'exported HTML in headless Chromium',
  { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (npm test's set-up installs it)` },
  () => {
    let exported: NotebookResult;
    let browser: HeadlessBrowser | undefined;
    let page: Page;
    let blocked: string[] = [];

    before(async () => {
      const summary = await runNotebooks({
        notebooksDir: path.join(REPO_ROOT, 'test', 'fixtures', 'notebooks'),
        profile: 'smoke',
        only: ['images'],
        outDir: path.join(REPO_ROOT, 'build', 'test', 'notebooks-browser'),
      });
      exported = summary.notebooks[0];
      assert.equal(exported.status, 'ok', exported.report);
      // Tests never touch the network: the exported page asks for nothing off the machine
      // (test/notebooks/offline.test.ts checks that), and the browser would refuse it; the outputs are embedded.
      browser = await openHeadlessChromium();
      ({ page, blocked } = browser);
      await page.goto(`file://${exported.htmlPath}`, { waitUntil: 'load' });
    });

    after(async () => {
      await browser?.close();
    });

    it('embeds the PNG and the SVG chart in the HTML itself', () => {
      const html = fs.readFileSync(exported.htmlPath, 'utf8');
      assert.match(html, /src="data:image\/png;base64,/);
      // nbconvert 7.17 embeds SVG outputs as data: images (scripts in them cannot run).
      assert.match(html, /src="data:image\/svg\+xml;base64,/);
      assert.doesNotMatch(html, /<img[^>]+src="(?!data:)/);
    });

    it('shows one PNG and one SVG chart in the cell outputs, both decoded at their drawn sizes', async () => {
      const images = await page.$$eval('.jp-OutputArea-output img', (elements) =>
        elements.map((element) => {
          // The DOM type (HTMLImageElement) is not in this project's lib; these are the fields read.
          const image = element as unknown as {
            src: string;
            naturalWidth: number;
            naturalHeight: number;
            complete: boolean;
          };
          return {
            kind: image.src.slice(5, image.src.indexOf(';')),
            width: image.naturalWidth,
            height: image.naturalHeight,
            complete: image.complete,
          };
        }),
      );
      const inlineSvgs = await page.$$eval('.jp-OutputArea-output svg', (elements) => elements.length);
      const imageSizes = images.map((image) => `${image.kind} ${image.width}x${image.height}`).join(', ');
      console.log(
        `outputs: ${images.length} img (${imageSizes}), ${inlineSvgs} inline svg; ` +
          `blocked ${blocked.length} network request(s)`,
      );
      // nbconvert (pinned in requirements.txt) embeds the SVG output as a data: image, not inline.
      // The PNG is 160x160; the SVG is 20 + 30 per bar wide and the smoke profile sets barCount = 7.
      assert.equal(inlineSvgs, 0);
      assert.deepEqual(
        images.map(({ kind, width, height, complete }) => [kind, width, height, complete]),
        [
          ['image/png', 160, 160, true],
          ['image/svg+xml', 230, 120, true],
        ],
      );
    });

    it('saves a screenshot of the page in build/screenshots/', async () => {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const bytes = fs.readFileSync(SCREENSHOT);
      assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG');
      assert.ok(bytes.length > 5_000, `screenshot is only ${bytes.length} bytes`);
      // A full-page screenshot: the viewport's width (1000), and at least as tall as the page's two outputs.
      assert.equal(pngSize(bytes).width, 1000);
      assert.ok(pngSize(bytes).height >= 160 + 120, `screenshot height ${pngSize(bytes).height}`);
    });
  },
);
