/**
 * The reading site (tools/site.ts, README "The reading site"), built from the smoke run's pages
 * and models and opened from disk in headless Chromium; notebooks.test.ts runs these after its
 * smoke run (they take its pages and the models it saved). The checks measure with
 * tools/siteCheck.ts, which `npm run site -- --check` prints for a full run.
 *
 * Thresholds. The site stores weights in the fewest bytes that keep every output pixel within
 * WEIGHT_TOLERANCE_GREY_LEVELS (1 of 255) of the float32 model on its probe batch; the page rounds
 * each pixel to a whole grey level (0.5 more); and the browser's CPU backend and TensorFlow add
 * float32 rounding, far below a grey level. So a pixel the page draws may differ from the saved
 * float32 model run in Node by up to 1.5 levels on the probe; 2 leaves room for inputs the probe
 * did not hold. A decoded point is where the pointer is within 1.5 screen pixels (integer mouse
 * positions, and the map's grid coordinates rounded as the spec stores them); 05's pad holds to
 * the same two thresholds for each of its decoders.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CHROMIUM, openHeadlessChromium, REPO_ROOT, type HeadlessBrowser, type RunSummary } from '../../tools';
import { buildSite, describeSite, LIVE_CHAPTERS, PAGE_BUDGET_BYTES, type SiteReport } from '../../tools/site';
import { checkGanSheet, checkLatentMap, checkLatentPad, walkSite } from '../../tools/siteCheck';

const SITE_DIR = path.join(REPO_ROOT, 'build', 'test', 'site-smoke');
const MAX_GREY_DIFFERENCE = 2;
const MAX_OFFSET_PIXELS = 1.5;
/** The first live drawing, after the page was parsed (DOMContentLoaded): "within a second of the page loading". */
const FIRST_DRAW_MS = 1000;

/** The site checks, as a suite inside the smoke run's (`run` gives that run once it has finished). */
/** What 04's map and 05's pad share: a first drawing within FIRST_DRAW_MS, and three different points drawn. */
function assertFirstDrawAndThreePoints(check: {
  timing: { afterParsedMs: number };
  points: Array<{ decoded: number[] }>;
}): void {
  assert.ok(
    check.timing.afterParsedMs < FIRST_DRAW_MS,
    `first drawing ${check.timing.afterParsedMs} ms after the page was parsed`,
  );
  assert.equal(check.points.length, 3);
  assert.equal(new Set(check.points.map((point) => point.decoded.join())).size, 3, 'three different points');
}

export function describeSmokeSite(run: () => { summary: RunSummary; outDir: string; modelsDir: string }): void {
  describe(
    'the reading site built from the smoke run, opened from disk',
    { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (npm test's set-up installs it)` },
    () => {
      let report: SiteReport;
      let browser: HeadlessBrowser;
      const chapterNames: string[] = [];

      before(async () => {
        const { summary, outDir, modelsDir } = run();
        const failed = summary.notebooks.filter((result) => result.status !== 'ok').map((result) => result.name);
        assert.deepEqual(failed, [], 'the smoke run exported every page');
        chapterNames.push(...summary.notebooks.map((result) => result.name.replace(/\.ipynb$/, '.html')));
        const started = Date.now();
        report = await buildSite({ from: outDir, out: SITE_DIR, models: modelsDir });
        console.log(
          `site built in ${((Date.now() - started) / 1000).toFixed(1)} s:\n${describeSite(report).join('\n')}`,
        );
        browser = await openHeadlessChromium({ width: 1200, height: 900 });
      });

      after(async () => {
        await browser?.close();
      });

      it('holds every page of the run and an index per edition; 01, 04, 05 run live; each page within budget', () => {
        assert.deepEqual(report.pages.map((page) => page.file).sort(), [...chapterNames].sort());
        for (const index of ['index.html', 'index.ko.html'])
          assert.ok(fs.existsSync(path.join(SITE_DIR, index)), index);
        const live = report.pages.filter((page) => page.live).map((page) => page.file);
        assert.deepEqual(live, [
          '01-dcgan.html',
          '01-dcgan.ko.html',
          '04-latent-space.html',
          '04-latent-space.ko.html',
          '05-vae.html',
          '05-vae.ko.html',
        ]);
        assert.deepEqual(
          report.liveModels.map((model) => `${model.notebook}/${model.model}`),
          Object.entries(LIVE_CHAPTERS).flatMap(([notebook, chapter]) =>
            chapter.models.map((model) => `${notebook}/${model}`),
          ),
        );
        assert.deepEqual(report.missingModels, []);
        for (const model of report.liveModels) {
          assert.ok(model.maxGreyDifference <= report.toleranceGreyLevels, `${model.notebook}: ${model.format}`);
          assert.ok(model.bytes <= model.float32Bytes / 2, `${model.notebook}: at most half the float32 bytes`);
        }
        assert.deepEqual(report.overBudget, []);
        for (const page of report.pages) {
          const onDisk = fs.statSync(path.join(SITE_DIR, page.file)).size;
          const weights = page.live ? fs.statSync(path.join(SITE_DIR, 'models', `${page.notebook}.js`)).size : 0;
          assert.equal(onDisk + weights, page.totalBytes, page.file);
          assert.ok(page.totalBytes <= PAGE_BUDGET_BYTES, `${page.file}: ${page.totalBytes} bytes`);
        }
      });

      it('every link from the index resolves inside the folder, and no request leaves it', async () => {
        const walk = await walkSite(browser, SITE_DIR);
        console.log(
          `walked ${walk.pages.length} pages: ${walk.references} references, ${walk.requests.length} requests`,
        );
        assert.deepEqual(walk.broken, []);
        assert.deepEqual(walk.outside, []);
        assert.deepEqual(walk.errors, []);
        assert.deepEqual(browser.blocked, [], 'no request was refused, because none went off the machine');
        assert.deepEqual([...walk.pages].sort(), [...chapterNames, 'index.html', 'index.ko.html'].sort());
        // Every live page got its model going (the Korean ones too).
        for (const file of ['01-dcgan.ko.html', '04-latent-space.ko.html', '05-vae.ko.html']) {
          await browser.page.goto(pathToFileURL(path.join(SITE_DIR, file)).href, { waitUntil: 'load' });
          await browser.page.waitForFunction(`self.ganSite && self.ganSite.state !== 'loading'`);
          assert.equal(await browser.page.evaluate('ganSite.state + (ganSite.error || "")'), 'ready', file);
        }
      });

      it("04: dragging over the map draws the saved decoder's output at the exact point, within a second", async () => {
        const model = report.liveModels.find((entry) => entry.notebook === '04-latent-space')!;
        const map = await checkLatentMap(browser.page, path.join(SITE_DIR, '04-latent-space.html'), model.dir);
        console.log(
          `04: first drawing ${map.timing.firstDrawMs.toFixed(0)} ms after navigation ` +
            `(${map.timing.afterParsedMs.toFixed(0)} ms after the page was parsed); ` +
            map.points
              .map((point) => `${point.offsetPixels.toFixed(2)} px, ${point.maxGreyDifference.toFixed(2)} levels`)
              .join('; '),
        );
        assertFirstDrawAndThreePoints(map);
        for (const point of map.points) {
          assert.ok(point.offsetPixels <= MAX_OFFSET_PIXELS, `grid point ${point.grid}: ${point.offsetPixels} px off`);
          assert.ok(
            point.maxGreyDifference <= MAX_GREY_DIFFERENCE,
            `grid point ${point.grid}: ${point.maxGreyDifference} grey levels from the decoder in Node`,
          );
        }
      });

      it('05: dragging over the pad draws both saved decoders at the exact point, within a second', async () => {
        const dir = (model: string) =>
          report.liveModels.find((entry) => entry.notebook === '05-vae' && entry.model === model)!.dir;
        const pad = await checkLatentPad(
          browser.page,
          path.join(SITE_DIR, '05-vae.html'),
          dir('aeDecoder'),
          dir('vaeDecoder'),
        );
        console.log(
          `05: first drawing ${pad.timing.firstDrawMs.toFixed(0)} ms after navigation ` +
            `(${pad.timing.afterParsedMs.toFixed(0)} ms after the page was parsed); ` +
            pad.points
              .map(
                (point) =>
                  `z (${point.decoded.map((v) => v.toFixed(2)).join(', ')}): ${point.offsetPixels.toFixed(2)} px, ` +
                  `AE ${point.aeMaxGreyDifference.toFixed(2)}, VAE ${point.vaeMaxGreyDifference.toFixed(2)} levels`,
              )
              .join('; '),
        );
        assertFirstDrawAndThreePoints(pad);
        for (const point of pad.points) {
          const where = `z (${point.target.join(', ')})`;
          assert.ok(point.offsetPixels <= MAX_OFFSET_PIXELS, `${where}: ${point.offsetPixels} px off`);
          assert.ok(point.aeMaxGreyDifference <= MAX_GREY_DIFFERENCE, `${where}: autoencoder`);
          assert.ok(point.vaeMaxGreyDifference <= MAX_GREY_DIFFERENCE, `${where}: VAE`);
        }
      });

      it("01: new digits changes the sheet, and the page's pixels score as the generator's output", async () => {
        const model = report.liveModels.find((entry) => entry.notebook === '01-dcgan')!;
        const gan = await checkGanSheet(browser.page, path.join(SITE_DIR, '01-dcgan.html'), model.dir);
        console.log(
          `01: first drawing ${gan.timing.firstDrawMs.toFixed(0)} ms after navigation ` +
            `(${gan.timing.afterParsedMs.toFixed(0)} ms after the page was parsed); ` +
            `changed ${(100 * gan.changedShare).toFixed(0)}%; ` +
            gan.sheets
              .map(
                (sheet) =>
                  `${sheet.maxGreyDifference.toFixed(2)} levels, recognised ${sheet.pageScore.recognisedShare} ` +
                  `(Node ${sheet.modelScore.recognisedShare})`,
              )
              .join('; '),
        );
        assert.ok(
          gan.timing.afterParsedMs < FIRST_DRAW_MS,
          `first drawing ${gan.timing.afterParsedMs} ms after the page was parsed`,
        );
        assert.ok(gan.changedShare > 0.1, `new digits changed ${gan.changedShare} of the pixels`);
        assert.ok(gan.walkMaxGreyDifference <= MAX_GREY_DIFFERENCE, `walk: ${gan.walkMaxGreyDifference} levels`);
        // The smoke generator is barely trained, so its sheets need not be digits: what must hold is that the
        // page's pixels are the generator's, which the classifier scores the same (two of 25 images may cross
        // its 0.9 confidence line with a grey level's difference).
        for (const sheet of gan.sheets) {
          assert.ok(sheet.maxGreyDifference <= MAX_GREY_DIFFERENCE, `${sheet.maxGreyDifference} grey levels`);
          assert.equal(sheet.pageScore.count, 25);
          assert.ok(Math.abs(sheet.pageScore.recognisedShare - sheet.modelScore.recognisedShare) <= 0.08);
          assert.ok(Math.abs(sheet.pageScore.inceptionScore - sheet.modelScore.inceptionScore) <= 0.2);
        }
      });

      it('with JavaScript off, the pages show their static pictures and their links, and no live panel', async () => {
        const off = await openHeadlessChromium({ width: 1200, height: 900 }, { javaScriptEnabled: false });
        try {
          for (const file of ['01-dcgan.html', '04-latent-space.ko.html']) {
            await off.page.goto(pathToFileURL(path.join(SITE_DIR, file)).href, { waitUntil: 'load' });
            const seen = await off.page.evaluate<{ live: number; nav: number; staticMap: string; figure: number }>(
              `({
                live: document.querySelectorAll('.gan-site-live, .gan-site-decoded').length,
                nav: document.querySelectorAll('nav.gan-site-nav a').length,
                staticMap: String(document.querySelector('.gan-live-chart-static') &&
                  getComputedStyle(document.querySelector('.gan-live-chart-static')).display),
                figure: document.querySelectorAll('.celltag_readme-figure img').length,
              })`,
            );
            assert.equal(seen.live, 0, `${file}: no live panel`);
            assert.ok(seen.nav >= 6, `${file}: the bars of links (${seen.nav} links)`);
            assert.equal(seen.figure, 1, `${file}: the chapter's picture`);
            if (file.startsWith('04')) assert.equal(seen.staticMap, 'inline', `${file}: the static latent map shows`);
          }
        } finally {
          await off.close();
        }
      });
    },
  );
}
