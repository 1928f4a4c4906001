/**
 * The committed notebooks in notebooks/: clean (no outputs, no execution counts), valid
 * nbformat 4 with one parameters cell, and every one runs without error under the smoke profile,
 * with the network cut off (test/notebooks/offline-python.sh, where a network namespace can be
 * made). 01-04 save their trained models; 01 and 04 run again with reuseTrained = true and load
 * them (01 redraws only its saved loss chart; 04 shows the same pictures), and 04's exported page
 * is opened offline in headless Chromium, where hovering the latent map shows the decoded image.
 * Last, the reading site is built from the run's pages and models and checked (site.ts).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  CHROMIUM,
  cellTags,
  FIGURE_TAG,
  findParametersCell,
  INJECTED_TAG,
  KERNEL_NAME,
  listNotebooks,
  openHeadlessChromium,
  readNotebook,
  REPO_ROOT,
  runNotebooks,
  englishName,
  koreanName,
  type RunSummary,
} from '../../tools';
import {
  gridCellCentres,
  hoverAndCheck,
  mapRows,
  remoteReferences,
  scenePanelImages,
  useRenderer,
} from './latentMapPage';
import { describeSmokeSite } from './site';

const NOTEBOOKS_DIR = path.join(REPO_ROOT, 'notebooks');
// The smoke runs below save and load trained models here, apart from any other run's.
const MODELS_DIR = path.join(REPO_ROOT, 'build', 'test', 'models-smoke');
const MAP_SCREENSHOT = path.join(REPO_ROOT, 'build', 'screenshots', '04-latent-map.png');
const notebookNames = listNotebooks(NOTEBOOKS_DIR);

/** The network as seen from inside offline-python.sh: its interfaces, and what reaching out gives. */
interface OfflineProbe {
  interfaces: string[];
  connect: string;
  dns: string;
  loopback: string;
}
const OFFLINE_PROBE = [
  'import errno, json, socket',
  "out = {'interfaces': [name for _, name in socket.if_nameindex()]}",
  'try:',
  "    socket.create_connection(('1.1.1.1', 443), timeout=5); out['connect'] = 'connected'",
  'except OSError as e:',
  "    out['connect'] = errno.errorcode.get(e.errno, str(e))",
  'try:',
  "    socket.getaddrinfo('pypi.org', 443); out['dns'] = 'resolved'",
  'except OSError as e:',
  "    out['dns'] = type(e).__name__",
  "server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()",
  "socket.create_connection(server.getsockname(), timeout=5); out['loopback'] = 'ok'",
  'print(json.dumps(out))',
].join('\n');

/**
 * The notebooks run through offline-python.sh (a network namespace with only loopback) when it
 * works here; otherwise online, and the offline test says why it was skipped.
 */
function offlinePython(): { python?: string; probe?: OfflineProbe; skip?: string } {
  const python = path.join(__dirname, 'offline-python.sh');
  const run = spawnSync(python, ['-c', OFFLINE_PROBE], { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) {
    return { skip: `no network namespace here (${python}: ${(run.stderr || String(run.error)).trim()})` };
  }
  return { python, probe: JSON.parse(run.stdout) as OfflineProbe };
}
const offline = offlinePython();

describe('committed notebooks', () => {
  it('exist: the set-up check and the chapters (SPEC A-E), each in English and in Korean', () => {
    const english = [
      '00-setup-check.ipynb',
      '01-dcgan.ipynb',
      '02-conv-autoencoder.ipynb',
      '03-dense-autoencoder.ipynb',
      '04-latent-space.ipynb',
      '05-vae.ipynb',
    ];
    assert.deepEqual(
      notebookNames,
      english.flatMap((name) => [name, koreanName(name)]),
    );
  });

  it('validate as nbformat 4 (nbformat.validate)', () => {
    const check = spawnSync(
      path.join(REPO_ROOT, '.venv', 'bin', 'python'),
      [
        '-c',
        'import sys, nbformat\n' +
          'bad = []\n' +
          'for f in sys.argv[1:]:\n' +
          '    try:\n' +
          '        nb = nbformat.read(f, as_version=nbformat.NO_CONVERT)\n' +
          '        assert nb.nbformat == 4, f"nbformat {nb.nbformat}"\n' +
          '        nbformat.validate(nb)\n' +
          '    except Exception as e:\n' +
          '        bad.append(f"{f}: {type(e).__name__}: {str(e).splitlines()[0]}")\n' +
          'print("\\n".join(bad)); sys.exit(1 if bad else 0)',
        ...notebookNames.map((name) => path.join(NOTEBOOKS_DIR, name)),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 0, `invalid notebooks:\n${check.stdout}${check.stderr}`);
  });

  it('each has smoke settings in notebooks/profiles.json, and each chapter one readme-figure cell', () => {
    const profiles = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS_DIR, 'profiles.json'), 'utf8')) as {
      smoke: { notebooks: Record<string, Record<string, unknown>> };
    };
    // A Korean notebook runs with its English notebook's settings.
    const withoutSmoke = notebookNames.filter((name) => !(englishName(name) in profiles.smoke.notebooks));
    assert.deepEqual(withoutSmoke, [], 'give these notebooks small settings under smoke.notebooks');
    for (const name of notebookNames.filter((n) => !n.startsWith('00-'))) {
      const tagged = readNotebook(path.join(NOTEBOOKS_DIR, name)).cells.filter((cell) =>
        cellTags(cell).includes(FIGURE_TAG),
      );
      assert.equal(
        tagged.length,
        1,
        `${name}: expected one cell tagged "${FIGURE_TAG}" (its README picture), found ${tagged.length}`,
      );
    }
  });

  for (const name of notebookNames) {
    it(`${name} carries no outputs or execution counts, one parameters cell, and the tslab kernel`, () => {
      const notebook = readNotebook(path.join(NOTEBOOKS_DIR, name));
      const dirty = notebook.cells
        .map((cell, index) => ({ cell, number: index + 1 }))
        .filter(
          ({ cell }) => cell.cell_type === 'code' && ((cell.outputs ?? []).length > 0 || cell.execution_count != null),
        )
        .map(({ number }) => number);
      assert.deepEqual(
        dirty,
        [],
        `${name}: cells ${dirty.join(', ')} have outputs or execution counts; ` +
          'clear them before committing (JupyterLab: Edit > Clear Outputs of All Cells).',
      );
      assert.equal(
        notebook.cells.some((cell) => cellTags(cell).includes(INJECTED_TAG)),
        false,
        `${name} holds an injected-parameters cell: commit the notebook, not the runner's executed copy.`,
      );
      findParametersCell(notebook, name);
      const kernelspec = notebook.metadata.kernelspec as { name?: string } | undefined;
      assert.equal(kernelspec?.name, KERNEL_NAME, `${name}: metadata.kernelspec.name should be "${KERNEL_NAME}"`);
    });
  }
});

/**
 * What the exported page shows without JavaScript: PNG pictures, static SVG charts, and
 * interactive charts (each over its static SVG).
 */
function pageOutputs(htmlPath: string): { png: number; svg: number; live: number } {
  const html = fs.readFileSync(htmlPath, 'utf8');
  const png =
    html.match(/class="jp-RenderedImage jp-OutputArea-output"[^>]*>\s*<img[^>]*src="data:image\/png;base64,/g) ?? [];
  const svg = html.match(/data-mime-type="image\/svg\+xml"/g) ?? [];
  const live = html.match(/class="[^"]*\bgan-live-chart"/g) ?? [];
  return { png: png.length, svg: svg.length, live: live.length };
}

/** The PNG pictures of an executed notebook, in order (base64). */
function pngOutputs(executedPath: string): string[] {
  type DataOutput = { data?: Record<string, unknown> };
  return readNotebook(executedPath).cells.flatMap((cell) =>
    ((cell.outputs ?? []) as DataOutput[]).flatMap((output) =>
      typeof output.data?.['image/png'] === 'string' ? [output.data['image/png'] as string] : [],
    ),
  );
}

/** A path as the library prints it: relative to the repository. */
function repoPath(file: string): string {
  return path.relative(REPO_ROOT, file);
}

/** The vega-lite charts of an executed notebook, in order. */
function chartSpecs(executedPath: string): Array<{ data?: { values?: unknown[] } }> {
  type DataOutput = { data?: Record<string, unknown> };
  return readNotebook(executedPath).cells.flatMap((cell) =>
    ((cell.outputs ?? []) as DataOutput[]).flatMap((output) => {
      const spec = output.data?.['application/vnd.vegalite.v5+json'];
      return spec === undefined ? [] : [spec as { data?: { values?: unknown[] } }];
    }),
  );
}

/** Every title (chart, axis, legend, tooltip) of the vega-lite charts an executed notebook shows. */
function chartLabels(executedPath: string): string[] {
  type DataOutput = { data?: Record<string, unknown> };
  const labels = new Set<string>();
  const visit = (value: unknown, key?: string): void => {
    if (typeof value === 'string' && (key === 'title' || key === 'text')) labels.add(value);
    else if (Array.isArray(value)) value.forEach((item) => visit(item, key));
    else if (value && typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) if (name !== 'values' && name !== 'datasets') visit(item, name);
    }
  };
  for (const cell of readNotebook(executedPath).cells) {
    for (const output of (cell.outputs ?? []) as DataOutput[]) visit(output.data?.['application/vnd.vegalite.v5+json']);
  }
  return [...labels];
}

/** The text a notebook printed (stream outputs), cell by cell. */
function printedText(executedPath: string): string[] {
  type StreamOutput = { output_type: string; name?: string; text?: string | string[] };
  return readNotebook(executedPath).cells.map((cell) =>
    ((cell.outputs ?? []) as StreamOutput[])
      .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
      .map((output) => (Array.isArray(output.text) ? output.text.join('') : String(output.text)))
      .join(''),
  );
}

describe('every notebook under the smoke profile', () => {
  let summary: RunSummary;
  before(async () => {
    fs.rmSync(MODELS_DIR, { recursive: true, force: true });
    summary = await runNotebooks({
      profile: 'smoke',
      outDir: path.join(REPO_ROOT, 'build', 'test', 'notebooks-smoke'),
      modelsDir: MODELS_DIR,
      python: offline.python,
    });
    console.log(
      `smoke run of ${summary.notebooks.length} notebook(s): ${summary.totalSeconds.toFixed(1)} s ` +
        `(${summary.notebooks.map((entry) => `${entry.name} ${entry.seconds.toFixed(1)} s`).join(', ')})`,
    );
  });

  // What each chapter's exported page must show without JavaScript under the smoke settings:
  // PNG pictures (image grids), static SVG charts (each vega-lite chart's image/svg+xml), and
  // interactive charts, which the page draws live over their own static SVG.
  const expectedOutputs: Record<string, { png: number; svg: number; live: number }> = {
    // real, untrained, samples at iterations 0 and 2, fixed-noise strip, final sheet, noise walk; live loss chart
    // grids, strip, walk, sheet; the live loss chart and the loss/score pair
    '01-dcgan.ipynb': { png: 7, svg: 2, live: 0 },
    '02-conv-autoencoder.ipynb': { png: 1, svg: 1, live: 0 }, // digits over reconstructions; loss chart
    // one aligned figure: originals, z-code stems, reconstructions; accuracy, loss
    '03-dense-autoencoder.ipynb': { png: 1, svg: 2, live: 0 },
    // labelled training digits, labelled reconstructions, decoded digit members, random points, manifold,
    // centroid walk; loss, latent scatter, scatter with the walk's line; the interactive latent map
    '04-latent-space.ipynb': { png: 6, svg: 3, live: 1 },
    // random points of both boxes decoded, the two manifolds; VAE loss, AE loss, the two maps side by side
    '05-vae.ipynb': { png: 3, svg: 3, live: 0 },
    // The Korean edition shows the same, except 01, which reuses the models its English run saved (below).
    '02-conv-autoencoder.ko.ipynb': { png: 1, svg: 1, live: 0 },
    '03-dense-autoencoder.ko.ipynb': { png: 1, svg: 2, live: 0 },
    '04-latent-space.ko.ipynb': { png: 6, svg: 3, live: 1 },
    '05-vae.ko.ipynb': { png: 3, svg: 3, live: 0 },
  };
  for (const [name, expected] of Object.entries(expectedOutputs)) {
    const title =
      `${name}: the exported HTML shows ${expected.png} pictures, ${expected.svg} static charts ` +
      `and ${expected.live} interactive`;
    it(title, () => {
      const result = summary.notebooks.find((entry) => entry.name === name);
      assert.ok(result?.htmlPath, `${name} was not exported`);
      assert.deepEqual(pageOutputs(result.htmlPath), expected);
    });
  }

  for (const name of notebookNames) {
    // Its wall time is printed above, not asserted: timing goals belong to benchmarks. The profile's
    // per-cell timeout still stops a notebook whose smoke settings run away.
    it(`${name} runs without error`, () => {
      const result = summary.notebooks.find((entry) => entry.name === name);
      assert.ok(result, `${name} missing from the run`);
      assert.equal(result.status, 'ok', result.report);
    });
  }

  it(
    'ran with the network cut off: a network namespace holding only loopback, where nothing off the machine answers',
    { skip: offline.skip },
    () => {
      // "The 10,000-image MNIST test set ships in data/mnist/, so everything runs offline."
      assert.deepEqual(offline.probe, { interfaces: ['lo'], connect: 'ENETUNREACH', dns: 'gaierror', loopback: 'ok' });
      const failed = summary.notebooks.filter((result) => result.status !== 'ok').map((result) => result.name);
      assert.deepEqual(failed, [], 'every notebook ran there');
      assert.equal(summary.notebooks.length, notebookNames.length);
    },
  );

  // "Chapters 01-04 save their trained models when training ends, in build/models/<notebook>/." 05
  // saves its four too, for the reading site. The line each prints: 01's own cell names G and D and
  // the folder as saved; trainOrLoad (02-04) the models by name and the folder relative to the
  // repository, and that reuseTrained loads them; 05's own cell (it has no reuseTrained) the four
  // models and the folder.
  const reuse = '(reuseTrained = true loads them next time)';
  const saves: Record<string, { models: string[]; line: (dir: string) => string }> = {
    '01-dcgan': { models: ['generator', 'discriminator'], line: (dir) => `saved G and D to ${dir} ${reuse}` },
    '02-conv-autoencoder': {
      models: ['autoencoder'],
      line: (dir) => `saved autoencoder to ${repoPath(dir)} ${reuse}`,
    },
    '03-dense-autoencoder': {
      models: ['autoencoder'],
      line: (dir) => `saved autoencoder to ${repoPath(dir)} ${reuse}`,
    },
    '04-latent-space': {
      models: ['encoder', 'decoder'],
      line: (dir) => `saved encoder and decoder to ${repoPath(dir)} ${reuse}`,
    },
    '05-vae': {
      models: ['vaeEncoder', 'vaeDecoder', 'aeEncoder', 'aeDecoder'],
      line: (dir) => `saved the VAE's and the autoencoder's encoders and decoders to ${dir}\n`,
    },
  };
  for (const [notebook, { models, line }] of Object.entries(saves)) {
    it(`${notebook} saves its trained ${models.join(' and ')} with the smoke settings, every weight written`, () => {
      const result = summary.notebooks.find((entry) => entry.name === `${notebook}.ipynb`);
      assert.ok(result && result.status === 'ok', `${notebook} ran in the smoke run`);
      const dir = path.join(MODELS_DIR, notebook);
      const printed = printedText(result.executedPath).join('\n');
      assert.ok(`${printed}\n`.includes(line(dir)), printed);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
        notebook: string;
        settings: Record<string, unknown>;
        models: Record<string, { layers: Array<{ params: number }> }>;
      };
      assert.equal(manifest.notebook, notebook);
      assert.deepEqual(Object.keys(manifest.models).sort(), [...models].sort());
      const smokeSettings = Object.entries(result.injected).filter(([name]) => name in manifest.settings);
      assert.ok(smokeSettings.length > 0, `the manifest records a smoke setting: ${JSON.stringify(manifest.settings)}`);
      for (const [name, { value }] of smokeSettings) assert.equal(manifest.settings[name], value, `setting ${name}`);
      for (const model of models) {
        // float32 weights: 4 bytes for each parameter the manifest counts in the model's layers.
        const params = manifest.models[model].layers.reduce((sum, layer) => sum + layer.params, 0);
        assert.ok(params > 0);
        assert.ok(fs.existsSync(path.join(dir, model, 'model.json')), `${model}/model.json`);
        assert.equal(fs.statSync(path.join(dir, model, 'weights.bin')).size, 4 * params, `${model}/weights.bin`);
      }
    });
  }

  // One more run of 01 beside the one above: "seeded" must mean "repeatable".
  it('01-dcgan run again with the same seed prints the same lines (freeze check and losses)', async () => {
    const first = summary.notebooks.find((entry) => entry.name === '01-dcgan.ipynb');
    assert.ok(first && first.status === 'ok', '01-dcgan ran in the smoke run');
    const again = await runNotebooks({
      profile: 'smoke',
      only: ['01-dcgan'],
      outDir: path.join(REPO_ROOT, 'build', 'test', 'notebooks-repeat'),
      modelsDir: MODELS_DIR,
      python: offline.python,
    });
    assert.equal(again.notebooks[0].status, 'ok', again.notebooks[0].report);
    const [before, after] = [printedText(first.executedPath), printedText(again.notebooks[0].executedPath)];
    assert.ok(
      (before.join('\n').match(/epoch:\d+ d_loss:[\d.]+ g_loss:[\d.]+/g) ?? []).length >= 2,
      `the run printed its loss lines: ${before.join('\n')}`,
    );
    assert.deepEqual(after, before);
  });

  // "01 then redraws the saved loss chart, but its sample grids and strip exist only in a run that trains."
  // The Korean 01 of the same run is that run: it loads the models the English 01 has just saved.
  const reuse01Title =
    '01-dcgan.ko.ipynb, run after 01-dcgan.ipynb with reuseTrained = true, loads G and D and redraws only the ' +
    'saved loss chart, no sample grids or strip';
  it(reuse01Title, () => {
    const trained = summary.notebooks.find((entry) => entry.name === '01-dcgan.ipynb');
    const result = summary.notebooks.find((entry) => entry.name === '01-dcgan.ko.ipynb');
    assert.ok(trained && trained.status === 'ok', '01-dcgan ran in the smoke run');
    assert.ok(result && result.status === 'ok', result?.report ?? '01-dcgan.ko ran in the smoke run');
    assert.equal(result.injected.reuseTrained?.value, true, 'the runner set reuseTrained for the Korean run');
    const printed = printedText(result.executedPath).join('\n');
    assert.ok(printed.includes(`loaded G and D from ${path.join(MODELS_DIR, '01-dcgan')} (trained `), printed);
    assert.match(printed, /No strip: this run loaded the models \(reuseTrained = true\) and took no samples/);
    assert.doesNotMatch(printed, /epoch:\d+ d_loss:/, 'no training loop ran');
    // The trained run: real digits, untrained samples, a grid at iterations 0 and 2, the strip, the final
    // sheet, the walk; the loss chart and the loss/score pair. This one: no grids, no strip, one chart.
    assert.deepEqual(pageOutputs(result.htmlPath), { png: 4, svg: 1, live: 0 });
    const [trainedPictures, reusedPictures] = [pngOutputs(trained.executedPath), pngOutputs(result.executedPath)];
    assert.deepEqual(
      reusedPictures,
      [...trainedPictures.slice(0, 2), ...trainedPictures.slice(-2)],
      'the same real digits and untrained samples, and (the same G) the same final sheet and walk',
    );
    const [trainedLoss, reusedLoss] = [chartSpecs(trained.executedPath)[0], chartSpecs(result.executedPath)[0]];
    assert.ok(trainedLoss?.data?.values?.length, 'the trained run drew its loss chart');
    assert.deepEqual(reusedLoss?.data?.values, trainedLoss.data.values, 'its chart is drawn from the saved history');
  });

  // "Chart titles, axes and legends are in Korean in the Korean edition."
  for (const name of notebookNames.filter((entry) => entry.endsWith('.ko.ipynb') && !entry.startsWith('00-'))) {
    it(`${name}: every chart's titles, axes, legends and tooltips are in Korean`, () => {
      const result = summary.notebooks.find((entry) => entry.name === name);
      assert.ok(result && result.status === 'ok', `${name} ran in the smoke run`);
      const labels = chartLabels(result.executedPath);
      assert.ok(labels.length > 0, `${name} shows charts`);
      // Names the book and the code use as they are (d_loss, z[0], KL, VAE) need no translation.
      const english = labels.filter((label) => !/[\uac00-\ud7a3]/.test(label) && /[a-z]{3,}/.test(label));
      assert.deepEqual(english, [], `untranslated (add them to lib/viz/phrases.ko.json): ${english.join(' | ')}`);
    });
  }

  // The reuse path: what the smoke run of 04 saved, a second run loads instead of training.
  const reuseTitle =
    '04-latent-space run again with reuseTrained = true loads the saved models and shows the same pictures';
  it(reuseTitle, async () => {
    const trained = summary.notebooks.find((entry) => entry.name === '04-latent-space.ipynb');
    assert.ok(trained && trained.status === 'ok', '04-latent-space ran in the smoke run');
    assert.match(printedText(trained.executedPath).join('\n'), /saved encoder and decoder to /);
    const reused = await runNotebooks({
      profile: 'smoke',
      only: ['04-latent-space'],
      set: ['reuseTrained=true'],
      outDir: path.join(REPO_ROOT, 'build', 'test', 'notebooks-reuse'),
      modelsDir: MODELS_DIR,
      python: offline.python,
    });
    const result = reused.notebooks[0];
    console.log(
      `04-latent-space with reuseTrained = true: ${result.seconds.toFixed(1)} s ` +
        `(trained: ${trained.seconds.toFixed(1)} s)`,
    );
    assert.equal(result.status, 'ok', result.report);
    assert.match(printedText(result.executedPath).join('\n'), /loaded encoder and decoder from .* instead of training/);
    assert.deepEqual(pageOutputs(result.htmlPath), expectedOutputs['04-latent-space.ipynb']);
    // The same weights give the same reconstructions, decoded points, manifold and walk, pixel for pixel.
    assert.deepEqual(pngOutputs(result.executedPath), pngOutputs(trained.executedPath));
  });

  it(
    "04-latent-space's exported page, offline in headless Chromium: " +
      'hovering the map shows the decoded image and the nearest test digit',
    { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (npm test's set-up installs it)` },
    async () => {
      const result = summary.notebooks.find((entry) => entry.name === '04-latent-space.ipynb');
      assert.ok(result?.htmlPath, '04-latent-space was exported');
      assert.deepEqual(
        remoteReferences(fs.readFileSync(result.htmlPath, 'utf8')),
        [],
        'the page names no address off the machine',
      );
      const browser = await openHeadlessChromium({ width: 1100, height: 900 });
      try {
        const { page, blocked } = browser;
        const requested: string[] = [];
        page.on('request', (request) => {
          requested.push(request.url());
        });
        await page.goto(`file://${result.htmlPath}`, { waitUntil: 'load' });
        await page.waitForSelector('.gan-live-chart[data-live="ready"]', { timeout: 10_000 });
        const chart = await page.$('.gan-live-chart');
        assert.ok(chart, 'the page holds the interactive map');
        await chart.scrollIntoViewIfNeeded();
        const { gridRows, testRows } = await mapRows(page);
        const steps = Math.round(Math.sqrt(gridRows.length));
        assert.equal(steps * steps, 8 * 8, 'the smoke profile decodes an 8 x 8 grid (mapSteps)');
        // The map draws on a canvas; drawn as SVG (same layout), its Voronoi cells say where each grid point is.
        await useRenderer(page, 'svg');
        const centres = await gridCellCentres(page);
        assert.equal(centres.size, gridRows.length, 'one Voronoi cell per grid point');
        // Two interior grid points far apart, whose decoded images differ: the SVG panels show them ...
        const targets = [steps + 1, gridRows.length - steps - 2];
        assert.notEqual(gridRows[targets[0]].u, gridRows[targets[1]].u);
        for (const i of targets) await hoverAndCheck(page, gridRows, testRows, centres, i);
        // ... and so does the canvas a reader gets, at the same places (starting with the point not hovered last).
        await useRenderer(page, 'canvas');
        for (const i of targets) {
          const centre = centres.get(i)!;
          await page.mouse.move(centre.x, centre.y);
          const wanted = { decoded: gridRows[i].u, nearest: testRows.get(gridRows[i].n)?.t ?? null };
          for (let tries = 0; tries < 50 && (await scenePanelImages(page)).decoded !== wanted.decoded; tries++)
            await page.waitForTimeout(100);
          assert.deepEqual(
            await scenePanelImages(page),
            wanted,
            `the canvas shows grid point ${i}'s decoded image and nearest test digit`,
          );
        }
        fs.mkdirSync(path.dirname(MAP_SCREENSHOT), { recursive: true });
        await chart.screenshot({ path: MAP_SCREENSHOT });
        assert.deepEqual(blocked, [], 'no request was refused, because none went off the machine');
        assert.ok(
          requested.every((url) => /^(file|data|blob):/.test(url)),
          `only local requests: ${requested.filter((url) => !/^(file|data|blob):/.test(url)).join(', ')}`,
        );
      } finally {
        await browser.close();
      }
    },
  );

  // The reading site (npm run site) of this run's pages and models: test/notebooks/site.ts.
  describeSmokeSite(() => ({
    summary,
    outDir: path.join(REPO_ROOT, 'build', 'test', 'notebooks-smoke'),
    modelsDir: MODELS_DIR,
  }));
});
