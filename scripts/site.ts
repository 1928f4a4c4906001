/**
 * Builds the reading site (README "The reading site"): the exported chapter pages as one offline
 * folder in which the trained models run in the page.
 *
 *   tsx scripts/site.ts [--from build/notebooks] [--out build/site] [--models build/models] [--check]
 *
 * --models defaults to the models of the run that wrote --from (its summary.json's profile).
 * --check then opens the site in headless Chromium and prints what tools/siteCheck.ts measures:
 * broken links, requests off the folder, the first drawing's time, the live pictures against the
 * saved models run in Node, and the digit score of 01's sheets; it saves screenshots of the index
 * pages and the live panels in build/screenshots/site-*.png.
 * Exit code 0 when the site is written and every page fits its budget (and, with --check, its
 * links resolve and nothing leaves the folder), 1 otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../tools/runner';
import { openHeadlessChromium } from '../tools/browser';
import { buildSite, describeSite, type SiteReport } from '../tools/site';
import { checkGanSheet, checkLatentMap, checkLatentPad, walkSite } from '../tools/siteCheck';
import { formatDigitScore } from '../lib/quality';
import { parseKnownFlags } from './flags';

const USAGE = 'usage: site [--from build/notebooks] [--out build/site] [--models DIR] [--check]';

async function main(argv: string[]): Promise<number> {
  const flags = parseKnownFlags(argv, ['from', 'out', 'models', 'check'], USAGE);
  const report = await buildSite({
    from: flags.from,
    out: flags.out,
    models: flags.models,
    log: (line) => console.log(`[site] ${line}`),
  });
  for (const line of describeSite(report)) console.log(`[site] ${line}`);
  const checked = flags.check === undefined || (await check(report));
  return report.overBudget.length === 0 && checked ? 0 : 1;
}

const SCREENSHOTS = path.join(REPO_ROOT, 'build', 'screenshots');

/** A screenshot of the page's element, into build/screenshots/. */
async function shoot(page: Page, selector: string, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await (await page.$(selector))?.screenshot({ path: path.join(SCREENSHOTS, name) });
  console.log(`[site] check: screenshot ${path.relative(process.cwd(), path.join(SCREENSHOTS, name))}`);
}

/** --check: the site in headless Chromium, from disk; prints the measurements, false on a broken link or request. */
async function check(report: SiteReport): Promise<boolean> {
  const print = (line: string) => console.log(`[site] check: ${line}`);
  const browser = await openHeadlessChromium({ width: 1200, height: 900 });
  try {
    const walk = await walkSite(browser, report.out);
    for (const index of ['index.html', 'index.ko.html'].filter((file) => fs.existsSync(path.join(report.out, file)))) {
      await browser.page.goto(pathToFileURL(path.join(report.out, index)).href, { waitUntil: 'load' });
      await shoot(browser.page, 'body', `site-${index.replace(/\.html$/, '')}.png`);
    }
    print(
      `${walk.pages.length} pages reached from index.html, ${walk.references} references, ` +
        `${walk.requests.length} requests; broken: ${walk.broken.length}, off the folder: ${walk.outside.length}, ` +
        `page errors: ${walk.errors.length}`,
    );
    for (const line of [...walk.broken, ...walk.outside, ...walk.errors]) print(`  ${line}`);
    const timing = (t: { firstDrawMs: number; afterParsedMs: number; loadMs: number }) =>
      `first drawing ${t.firstDrawMs.toFixed(0)} ms after navigation, ${t.afterParsedMs.toFixed(0)} ms after ` +
      `the page was parsed (load event at ${t.loadMs.toFixed(0)} ms)`;
    for (const model of report.liveModels) {
      const file = path.join(report.out, `${model.notebook}.html`);
      if (model.notebook === '04-latent-space') {
        const map = await checkLatentMap(browser.page, file, model.dir);
        await shoot(browser.page, '.gan-live-chart', 'site-04-map.png');
        print(`04: ${timing(map.timing)}`);
        for (const point of map.points) {
          print(
            `04: grid point ${point.grid} (${point.gridPoint.join(', ')}): decoded (${point.decoded
              .map((v) => v.toFixed(3))
              .join(', ')}), ${point.offsetPixels.toFixed(2)} px off; largest difference from the decoder in Node ` +
              `${point.maxGreyDifference.toFixed(2)} grey levels`,
          );
        }
      } else if (model.notebook === '05-vae' && model.model === 'vaeDecoder') {
        const aeDir = report.liveModels.find(
          (entry) => entry.notebook === '05-vae' && entry.model === 'aeDecoder',
        )!.dir;
        const pad = await checkLatentPad(browser.page, file, aeDir, model.dir);
        await shoot(browser.page, 'section.gan-site-pad', 'site-05-live.png');
        print(`05: ${timing(pad.timing)}`);
        for (const point of pad.points) {
          print(
            `05: pointer at z (${point.target.map((v) => v.toFixed(3)).join(', ')}): decoded ` +
              `(${point.decoded.map((v) => v.toFixed(3)).join(', ')}), ${point.offsetPixels.toFixed(2)} px off; ` +
              `largest difference from the decoders in Node: autoencoder ${point.aeMaxGreyDifference.toFixed(2)}, ` +
              `VAE ${point.vaeMaxGreyDifference.toFixed(2)} grey levels`,
          );
        }
      } else if (model.notebook === '01-dcgan') {
        const gan = await checkGanSheet(browser.page, file, model.dir);
        await shoot(browser.page, 'section.gan-site-gan', 'site-01-live.png');
        print(`01: ${timing(gan.timing)}; "new digits" changed ${(100 * gan.changedShare).toFixed(0)}% of the pixels`);
        gan.sheets.forEach((sheet, k) => {
          print(
            `01: sheet ${k + 1}: largest difference from the generator in Node ${sheet.maxGreyDifference.toFixed(2)} ` +
              `grey levels; page: ${formatDigitScore(sheet.pageScore)}; Node: ${formatDigitScore(sheet.modelScore)}`,
          );
        });
        print(`01: walk: largest difference ${gan.walkMaxGreyDifference.toFixed(2)} grey levels`);
      }
    }
    return walk.broken.length === 0 && walk.outside.length === 0 && walk.errors.length === 0;
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`[site] ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
