/**
 * Checks of a built reading site (tools/site.ts) in headless Chromium, opened from disk:
 * walkSite follows every link from the index; checkLatentMap drags over 04's map and compares what
 * the page drew with the saved decoder run here in Node (tfjs-node); checkLatentPad does the same
 * with 05's pad and its two decoders; checkGanSheet presses 01's
 * "new digits" and compares the page's sheets with the saved generator on the page's own noise,
 * and scores both with scoreDigits. They measure and return; the tests (test/notebooks/) assert
 * on what they return, and `npm run site -- --check` prints it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../lib/tf';
import { scoreDigits, type DigitScore } from '../lib/quality';
import type { HeadlessBrowser } from './browser';
import { greyLevels } from './siteWeights';

// The page functions below are strings: tsx would wrap functions written here in helpers the page lacks.

export interface SiteWalk {
  /** The pages opened, relative to the site folder, in the order reached. */
  pages: string[];
  /** Links and references followed or checked (href and src attributes), and fragments checked. */
  references: number;
  /** References to a file that is missing, or to an id the target page lacks. */
  broken: string[];
  /** References and requests that leave the site folder (another folder, or the network). */
  outside: string[];
  /** Every URL the pages requested. */
  requests: string[];
  /** Uncaught errors in the pages. */
  errors: string[];
}

/** Opens index.html from disk and every page its links reach, checking each reference. */
export async function walkSite(browser: HeadlessBrowser, siteDir: string): Promise<SiteWalk> {
  const root = path.resolve(siteDir);
  const inside = (file: string) => file === root || file.startsWith(root + path.sep);
  const { page } = browser;
  const walk: SiteWalk = { pages: [], references: 0, broken: [], outside: [], requests: [], errors: [] };
  const onRequest = (request: { url(): string }) => void walk.requests.push(request.url());
  const onError = (error: Error) => void walk.errors.push(`${page.url()}: ${error.message}`);
  page.on('request', onRequest);
  page.on('pageerror', onError);
  const ids = new Map<string, Set<string>>();
  const fragments: Array<{ from: string; file: string; id: string }> = [];
  const queue = [path.join(root, 'index.html')];
  const seen = new Set(queue);
  try {
    while (queue.length > 0) {
      const file = queue.shift()!;
      const name = path.relative(root, file);
      walk.pages.push(name);
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      ids.set(
        file,
        new Set(await page.evaluate<string[]>(`Array.from(document.querySelectorAll('[id]'), (e) => e.id)`)),
      );
      const references = await page.evaluate<string[]>(
        `Array.from(document.querySelectorAll('a[href], link[href], script[src], img[src], iframe[src], source[src]'),
          (e) => e.getAttribute('href') ?? e.getAttribute('src'))`,
      );
      for (const reference of references) {
        if (/^(data|blob):/.test(reference)) continue;
        walk.references += 1;
        const url = new URL(reference, pathToFileURL(file));
        if (url.protocol !== 'file:') {
          walk.outside.push(`${name}: ${reference}`);
          continue;
        }
        const target = fileURLToPath(new URL(url.pathname, url));
        if (!inside(target)) walk.outside.push(`${name}: ${reference}`);
        else if (!fs.existsSync(target)) walk.broken.push(`${name}: ${reference} (no such file)`);
        else {
          if (url.hash) fragments.push({ from: name, file: target, id: url.hash.slice(1) });
          if (target.endsWith('.html') && !seen.has(target)) {
            seen.add(target);
            queue.push(target);
          }
        }
      }
    }
  } finally {
    page.off('request', onRequest);
    page.off('pageerror', onError);
  }
  // A browser scrolls to the element whose id is the fragment as written or percent-decoded (nbconvert writes
  // the headings' ids percent-encoded).
  for (const { from, file, id } of fragments) {
    walk.references += 1;
    const known = ids.get(file);
    if (!known?.has(id) && !known?.has(decodeURIComponent(id))) {
      walk.broken.push(`${from}: #${id} is no id in ${path.relative(root, file)}`);
    }
  }
  for (const url of walk.requests) {
    if (/^(data|blob):/.test(url)) continue;
    if (!url.startsWith('file:') || !inside(fileURLToPath(new URL(new URL(url).pathname, url)))) {
      walk.outside.push(`request: ${url}`);
    }
  }
  return walk;
}

export interface PageTiming {
  /** When the live model first drew, in ms after navigation started. */
  firstDrawMs: number;
  /**
   * The same, after the page was parsed (DOMContentLoaded: the HTML read, its deferred scripts, tf.min.js
   * and the weights, run). The load event is no measure here: the model's first drawing runs before it ends.
   */
  afterParsedMs: number;
  /** When the page was parsed, when its load event ended and when the model was built, after navigation started. */
  parsedMs: number;
  loadMs: number;
  modelReadyMs: number;
}

/** Opens a live page and waits for its model's first drawing (throws with the page's reason if it fails). */
async function openLive(page: Page, file: string): Promise<PageTiming> {
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForFunction(`self.ganSite && self.ganSite.state !== 'loading'`, undefined, { timeout: 20_000 });
  const state = await page.evaluate<{
    state: string;
    error: string | null;
    firstDrawAt: number;
    modelReadyAt: number;
    parsed: number;
    load: number;
  }>(
    `(() => {
      const navigation = performance.getEntriesByType('navigation')[0];
      return { state: ganSite.state, error: ganSite.error, firstDrawAt: ganSite.firstDrawAt,
        modelReadyAt: ganSite.modelReadyAt, parsed: navigation.domContentLoadedEventEnd,
        load: navigation.loadEventEnd };
    })()`,
  );
  if (state.state !== 'ready') throw new Error(`${path.basename(file)}: the live model failed: ${state.error}`);
  return {
    firstDrawMs: state.firstDrawAt,
    afterParsedMs: state.firstDrawAt - state.parsed,
    parsedMs: state.parsed,
    loadMs: state.load,
    modelReadyMs: state.modelReadyAt,
  };
}

/** Largest difference, in grey levels, between the page's levels (0-255 integers) and the model's. */
function largestDifference(page: ArrayLike<number>, model: ArrayLike<number>): number {
  if (page.length !== model.length) throw new Error(`${page.length} page pixels against ${model.length} model pixels`);
  let largest = 0;
  for (let i = 0; i < page.length; i++) largest = Math.max(largest, Math.abs(page[i] - model[i]));
  return largest;
}

async function loadSaved(dir: string): Promise<LayersModel> {
  // tfjs-node (loaded by lib/tf) reads file:// URLs.
  return tf.loadLayersModel(pathToFileURL(path.join(dir, 'model.json')).href);
}

/** Grey levels of images drawn on a canvas as scale x scale blocks, read at each block's centre. */
function readImages(selector: string, origins: Array<{ x: number; y: number }>, scale: number): string {
  return `(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const out = [];
    for (const origin of ${JSON.stringify(origins)}) {
      for (let p = 0; p < 784; p++) {
        const x = origin.x + (p % 28) * ${scale} + ${Math.floor(scale / 2)};
        const y = origin.y + Math.floor(p / 28) * ${scale} + ${Math.floor(scale / 2)};
        out.push(data[(y * canvas.width + x) * 4]);
      }
    }
    return out;
  })()`;
}

export interface MapPointCheck {
  /** The grid point (of the map's decoded-in-advance grid) whose place the pointer went to. */
  grid: number;
  gridPoint: [number, number];
  /** The point the page decoded there, and how far it is from the grid point on screen (pixels). */
  decoded: [number, number];
  offsetPixels: number;
  /** Largest difference between the page's drawing and the saved decoder's output there (grey levels). */
  maxGreyDifference: number;
}

export interface MapCheck {
  timing: PageTiming;
  points: MapPointCheck[];
}

/**
 * On 04's page: the mouse goes down on one grid point's place and drags to three others (found
 * from vega's own Voronoi cells, drawn as SVG); at each, the page's decoded point must be that
 * grid point and its drawing the saved decoder's output there.
 */
export async function checkLatentMap(page: Page, file: string, decoderDir: string): Promise<MapCheck> {
  const timing = await openLive(page, file);
  await page.evaluate(`document.querySelector('.gan-live-chart').scrollIntoView()`);
  await page.evaluate(`document.querySelector('.gan-live-chart').vegaView.renderer('svg').runAsync().then(() => true)`);
  const grid = await page.evaluate<Array<{ i: number; x: number; y: number; cx: number; cy: number }>>(`(() => {
    const spec = JSON.parse(document.querySelector('script.gan-live-chart-spec').textContent);
    const rows = new Map(spec.datasets.latentGrid.map((row) => [row.i, row]));
    return Array.from(document.querySelectorAll('.gan-live-chart-view g.gridHover_voronoi path'), (cell) => {
      const box = cell.getBoundingClientRect();
      const row = rows.get(cell.__data__.datum.datum.i);
      return { i: row.i, x: row.x, y: row.y, cx: box.x + box.width / 2, cy: box.y + box.height / 2 };
    });
  })()`);
  const steps = Math.round(Math.sqrt(grid.length));
  const scales = await page.evaluate<{ x: number; y: number }>(`(() => {
    const view = document.querySelector('.gan-live-chart').vegaView;
    const perUnit = (name) => {
      const [d0, d1] = view.scale(name).domain();
      const [r0, r1] = view.scale(name).range();
      return Math.abs((r1 - r0) / (d1 - d0));
    };
    return { x: perUnit('concat_0_x'), y: perUnit('concat_0_y') };
  })()`);
  // Interior points (their Voronoi cells are rectangles centred on them): near one corner, the middle, the other.
  const at = (row: number, col: number) => grid.find((cell) => cell.i === row * steps + col)!;
  const middle = Math.floor(steps / 2);
  const start = at(1, steps - 2);
  const targets = [at(1, 1), at(middle, middle), at(steps - 2, steps - 2)];
  await page.mouse.move(start.cx, start.cy);
  await page.mouse.down();
  const drawn: Array<{ cell: (typeof grid)[number]; z: [number, number]; grey: number[] }> = [];
  for (const cell of targets) {
    const before = await page.evaluate<number>('ganSite.map.draws');
    await page.mouse.move(cell.cx, cell.cy, { steps: 6 });
    await page.waitForFunction(`ganSite.map.draws > ${before} && !ganSite.map.busy`, undefined, { timeout: 5_000 });
    const z = await page.evaluate<[number, number]>('ganSite.map.z');
    const scale = await page.$eval('.gan-site-decoded', (canvas) =>
      Math.round((canvas as { width: number }).width / 28),
    );
    const grey = await page.evaluate<number[]>(readImages('.gan-site-decoded', [{ x: 0, y: 0 }], scale));
    drawn.push({ cell, z, grey });
  }
  await page.mouse.up();
  await page.evaluate(
    `document.querySelector('.gan-live-chart').vegaView.renderer('canvas').runAsync().then(() => true)`,
  );

  const decoder = await loadSaved(decoderDir);
  const output = decoder.predict(
    tf.tensor2d(
      drawn.flatMap(({ z }) => z),
      [drawn.length, 2],
    ),
  ) as Tensor;
  const expected = greyLevels(output, 'unit');
  tf.dispose([output]);
  decoder.dispose();
  const points = drawn.map(({ cell, z, grey }, k) => ({
    grid: cell.i,
    gridPoint: [cell.x, cell.y] as [number, number],
    decoded: z,
    offsetPixels: Math.hypot((z[0] - cell.x) * scales.x, (z[1] - cell.y) * scales.y),
    maxGreyDifference: largestDifference(grey, expected.subarray(k * 784, (k + 1) * 784)),
  }));
  return { timing, points };
}

export interface PadPointCheck {
  /** Where the pointer went, as the z of that place on the pad, and the z the page decoded there. */
  target: [number, number];
  decoded: [number, number];
  /** How far the decoded z is from the pointer's place on screen (pixels). */
  offsetPixels: number;
  /** Largest difference between each drawing and its saved decoder's output at the decoded z (grey levels). */
  aeMaxGreyDifference: number;
  vaeMaxGreyDifference: number;
}

export interface PadCheck {
  timing: PageTiming;
  points: PadPointCheck[];
}

/**
 * On 05's page: the mouse goes down on the pad and drags to three places; at each, the page's z
 * must be the one under the pointer, and its two drawings the saved autoencoder's and VAE's
 * decoders' outputs at that z.
 */
export async function checkLatentPad(page: Page, file: string, aeDir: string, vaeDir: string): Promise<PadCheck> {
  const timing = await openLive(page, file);
  await page.evaluate(`document.querySelector('.gan-site-pad').scrollIntoView()`);
  const { box, range } = await page.evaluate<{
    box: { x: number; y: number; width: number; height: number };
    range: number;
  }>(`(() => {
    const box = document.querySelector('.gan-site-pad-area').getBoundingClientRect();
    return { box: { x: box.x, y: box.y, width: box.width, height: box.height }, range: ganSiteConfig.padRange };
  })()`);
  const zAt = (fx: number, fy: number): [number, number] => [-range + 2 * range * fx, range - 2 * range * fy];
  const places = [
    [0.8, 0.2],
    [0.25, 0.3],
    [0.5, 0.55],
    [0.7, 0.85],
  ];
  const [startX, startY] = places[0];
  await page.mouse.move(box.x + startX * box.width, box.y + startY * box.height);
  await page.mouse.down();
  const drawn: Array<{ target: [number, number]; z: [number, number]; grey: number[] }> = [];
  const scale = 5;
  const origins = [
    { x: 0, y: 0 },
    { x: 28 * scale + 12, y: 0 },
  ];
  for (const [fx, fy] of places.slice(1)) {
    const before = await page.evaluate<number>('ganSite.pad.draws');
    await page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 6 });
    await page.waitForFunction(`ganSite.pad.draws > ${before} && !ganSite.pad.busy`, undefined, { timeout: 5_000 });
    const z = await page.evaluate<[number, number]>('ganSite.pad.z');
    const grey = await page.evaluate<number[]>(readImages('.gan-site-pair', origins, scale));
    drawn.push({ target: zAt(fx, fy), z, grey });
  }
  await page.mouse.up();

  const perUnit = box.width / (2 * range);
  const input = tf.tensor2d(
    drawn.flatMap(({ z }) => z),
    [drawn.length, 2],
  );
  const expected: Float32Array[] = [];
  for (const dir of [aeDir, vaeDir]) {
    const decoder = await loadSaved(dir);
    const output = decoder.predict(input) as Tensor;
    expected.push(greyLevels(output, 'unit'));
    tf.dispose(output);
    decoder.dispose();
  }
  input.dispose();
  const points = drawn.map(({ target, z, grey }, k) => ({
    target,
    decoded: z,
    offsetPixels: Math.hypot((z[0] - target[0]) * perUnit, (z[1] - target[1]) * perUnit),
    aeMaxGreyDifference: largestDifference(grey.slice(0, 784), expected[0].subarray(k * 784, (k + 1) * 784)),
    vaeMaxGreyDifference: largestDifference(grey.slice(784), expected[1].subarray(k * 784, (k + 1) * 784)),
  }));
  return { timing, points };
}

export interface SheetCheck {
  /** Largest difference between the page's sheet and the saved generator on the page's noise (grey levels). */
  maxGreyDifference: number;
  /** scoreDigits of the page's pixels, and of the generator's output for the same noise. */
  pageScore: DigitScore;
  modelScore: DigitScore;
}

export interface GanCheck {
  timing: PageTiming;
  /** The sheet drawn on opening, and the one after "new digits". */
  sheets: SheetCheck[];
  /** Share of the sheet's pixels that changed with "new digits". */
  changedShare: number;
  /** The walk's middle image against the generator at (1 - t) a + t b, after moving the slider. */
  walkMaxGreyDifference: number;
}

/** On 01's page: the first sheet, "new digits", a step of the walk, each against the saved generator. */
export async function checkGanSheet(page: Page, file: string, generatorDir: string): Promise<GanCheck> {
  const timing = await openLive(page, file);
  const side = 5;
  const [scale, gap] = [3, 2];
  const origins = Array.from({ length: side * side }, (_, k) => ({
    x: gap + (k % side) * (28 * scale + gap),
    y: gap + Math.floor(k / side) * (28 * scale + gap),
  }));
  const readSheet = async (count: number) => {
    await page.waitForFunction(`ganSite.gan.sheets >= ${count}`, undefined, { timeout: 20_000 });
    return {
      noise: await page.evaluate<number[]>('ganSite.gan.noise'),
      grey: await page.evaluate<number[]>(readImages('.gan-site-sheet', origins, scale)),
    };
  };
  const first = await readSheet(1);
  await page.click('.gan-site-new');
  const second = await readSheet(2);
  // The walk: the slider to 0.3, then its middle image.
  await page.waitForFunction('ganSite.gan.walk.draws >= 1 && !ganSite.gan.walk.busy', undefined, { timeout: 20_000 });
  const walkDraws = await page.evaluate<number>('ganSite.gan.walk.draws');
  await page.$eval('.gan-site-slider', (slider) => {
    const input = slider as unknown as { value: string; dispatchEvent(event: unknown): void };
    input.value = '30';
    input.dispatchEvent(new (globalThis as unknown as { Event: new (type: string) => unknown }).Event('input'));
  });
  await page.waitForFunction(`ganSite.gan.walk.draws > ${walkDraws} && !ganSite.gan.walk.busy`, undefined, {
    timeout: 20_000,
  });
  const walk = await page.evaluate<{ a: number[]; b: number[]; t: number }>('ganSite.gan.walk');
  const walkGrey = await page.evaluate<number[]>(readImages('.gan-site-walk', [{ x: gap + 28 * 4 + gap, y: gap }], 4));

  const generator = await loadSaved(generatorDir);
  const noiseSize = walk.a.length;
  const sheets: SheetCheck[] = [];
  for (const sheet of [first, second]) {
    const noise = tf.tensor2d(sheet.noise, [side * side, noiseSize]);
    const output = generator.predict(noise) as Tensor;
    const pagePixels = tf.tensor4d(
      Float32Array.from(sheet.grey, (level) => level / 255),
      [side * side, 28, 28, 1],
    );
    sheets.push({
      maxGreyDifference: largestDifference(sheet.grey, greyLevels(output, 'tanh')),
      pageScore: await scoreDigits(pagePixels, { range: 'unit' }),
      modelScore: await scoreDigits(output, { range: 'tanh' }),
    });
    tf.dispose([noise, output, pagePixels]);
  }
  const point = walk.a.map((value, i) => (1 - walk.t) * value + walk.t * walk.b[i]);
  const walkInput = tf.tensor2d(point, [1, noiseSize]);
  const walkOutput = generator.predict(walkInput) as Tensor;
  const walkMaxGreyDifference = largestDifference(walkGrey, greyLevels(walkOutput, 'tanh'));
  tf.dispose([walkInput, walkOutput]);
  generator.dispose();
  const changed = first.grey.filter((level, i) => Math.abs(level - second.grey[i]) > 8).length;
  return { timing, sheets, changedShare: changed / first.grey.length, walkMaxGreyDifference };
}
