/**
 * Opens one executed notebook in JupyterLab (npm run lab's server) in headless Chromium, waits
 * until its outputs are drawn, and saves screenshots: the top of the notebook and its first chart.
 *
 *   tsx scripts/lab-screenshot.ts [--from build/notebooks] [--notebook 02-conv-autoencoder.ipynb]
 *                                 [--out build/screenshots]
 */
import * as fs from 'fs';
import * as path from 'path';
import { openHeadlessChromium, REPO_ROOT, startLab, type HeadlessBrowser, type LabServer } from '../tools';
import { parseKnownFlags } from './flags';

interface Options {
  from: string;
  notebook: string;
  out: string;
}

function parseArguments(argv: string[]): Options {
  const flags = parseKnownFlags(
    argv,
    ['from', 'notebook', 'out'],
    'usage: lab-screenshot [--from DIR] [--notebook NAME.ipynb] [--out DIR]',
  );
  const notebook = flags.notebook ?? '02-conv-autoencoder.ipynb';
  const options: Options = {
    from: path.resolve(flags.from ?? path.join(REPO_ROOT, 'build', 'notebooks')),
    notebook: notebook.endsWith('.ipynb') ? notebook : `${notebook}.ipynb`,
    out: path.resolve(flags.out ?? path.join(REPO_ROOT, 'build', 'screenshots')),
  };
  if (!fs.existsSync(path.join(options.from, options.notebook))) {
    throw new Error(
      `lab-screenshot: ${path.join(options.from, options.notebook)} does not exist; ` +
        'run the notebooks first (npm run notebooks).',
    );
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  fs.mkdirSync(options.out, { recursive: true });
  let lab: LabServer | undefined;
  let browser: HeadlessBrowser | undefined;
  try {
    lab = await startLab({ rootDir: options.from });
    browser = await openHeadlessChromium({ width: 1400, height: 1000 });
    const { page } = browser;
    await page.goto(`${lab.base}/lab/tree/${encodeURIComponent(options.notebook)}?token=${lab.token}`, {
      waitUntil: 'load',
    });
    // The notebook is open once its outputs hold images; charts are drawn by the vega extension.
    await page.waitForSelector('.jp-OutputArea-output img', { timeout: 120_000 });
    await page.waitForTimeout(3_000);
    // JupyterLab asks once whether to fetch news (it cannot here); answer so the toast goes away.
    const noNews = page.getByRole('button', { name: 'No', exact: true });
    if (await noNews.count()) {
      await noNews.first().click();
      await page.waitForTimeout(1_000);
    }
    const stem = path.basename(options.notebook, '.ipynb');
    const top = path.join(options.out, `lab-${stem}-top.png`);
    await page.screenshot({ path: top });
    const chart = page.locator('.jp-OutputArea-output .vega-embed, .jp-OutputArea-output svg').first();
    const chartShot = path.join(options.out, `lab-${stem}-chart.png`);
    if (await chart.count()) {
      await chart.scrollIntoViewIfNeeded();
      await page.waitForTimeout(1_000);
      await page.screenshot({ path: chartShot });
    }
    const counts = await page.evaluate(() => {
      // DOM types are not in this project's lib; only querySelectorAll(...).length is read.
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
      return {
        images: doc.querySelectorAll('.jp-OutputArea-output img').length,
        vegaCharts: doc.querySelectorAll('.jp-OutputArea-output .vega-embed').length,
        svgs: doc.querySelectorAll('.jp-OutputArea-output svg').length,
      };
    });
    console.log(
      `${options.notebook} in JupyterLab: ${counts.images} img, ${counts.vegaCharts} vega-embed chart(s), ` +
        `${counts.svgs} svg in the outputs; ` +
        `blocked ${browser.blocked.length} outside request(s)`,
    );
    const shots = [top, ...(fs.existsSync(chartShot) ? [chartShot] : [])];
    console.log(`screenshots: ${shots.map((shot) => path.relative(REPO_ROOT, shot)).join(', ')}`);
  } finally {
    await browser?.close();
    await lab?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
