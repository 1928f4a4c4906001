/**
 * Showing charts and images in tslab (through a stubbed kernel writer), and which representation
 * nbconvert's HTML export picks from the chart's bundle.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { chartBundle, LiveChart, showChart, showImage, VEGA_LITE_MIME } from '../../lib/display';
import { lossChart, imageGrid, latentScatterChart } from '../../lib/viz';
import type { ChartSpec } from '../../lib/viz/render';

interface Message {
  content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } };
  update: boolean;
}

// tslab's internal writer module (no types): a cell's display channel while it runs. The tests set its writer,
// so they need the very exports object lib/display/kernel.ts reads; an import namespace would be a copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, as said above
const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };

const history = { epoch: [1, 2, 3], loss: [0.3, 0.2, 0.1], valLoss: [0.35, 0.25, 0.2] };
const tinyPng = () =>
  imageGrid(new Float32Array(28 * 28).fill(1), { rows: 1, cols: 1, range: 'unit', scale: 1, gap: 0 });

describe('outside a kernel', () => {
  it('show functions and LiveChart write nothing: no output, nothing on stdout or stderr', async () => {
    assert.equal(jupyter.lastWriteDisplayData, null);
    const written: string[] = [];
    const stdoutWrite = process.stdout.write;
    const stderrWrite = process.stderr.write;
    const record = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = record;
    process.stderr.write = record;
    let updated: boolean;
    let finished: boolean;
    try {
      await showChart(lossChart(history));
      showImage(tinyPng());
      const live = new LiveChart({ minIntervalMs: 0 });
      updated = await live.update(lossChart(history));
      finished = await live.finish(lossChart(history));
    } finally {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
    assert.deepEqual(written, []);
    assert.equal(updated, false);
    assert.equal(finished, false);
    // The bytes are still checked, so a mistake shows up before the notebook runs in a kernel.
    assert.throws(() => showImage(Buffer.from('not a png')), /does not start with a PNG header/);
  });
});

describe('inside a (simulated) kernel', () => {
  let messages: Message[] = [];
  beforeEach(() => {
    messages = [];
    jupyter.lastWriteDisplayData = (content: Message['content'], update: boolean) => messages.push({ content, update });
  });
  afterEach(() => {
    jupyter.lastWriteDisplayData = null;
  });

  it('showChart sends one bundle: the vega-lite spec, its SVG and a text line', async () => {
    const spec = lossChart(history, { title: 'Reconstruction loss' });
    await showChart(spec);
    assert.equal(messages.length, 1);
    const { data } = messages[0].content;
    assert.deepEqual(Object.keys(data).sort(), ['application/vnd.vegalite.v5+json', 'image/svg+xml', 'text/plain']);
    assert.deepEqual(data[VEGA_LITE_MIME], spec, 'the spec travels as a JSON object, not a string');
    assert.match(data['image/svg+xml'] as string, /^<svg[\s\S]*>Reconstruction loss<[\s\S]*<\/svg>$/);
    assert.equal(data['text/plain'], '<vega-lite chart: Reconstruction loss>');
    assert.equal(messages[0].update, false);
  });

  it("passes the latent scatter's canvas renderer hint to JupyterLab in the metadata", async () => {
    await showChart(latentScatterChart({ points: [0, 0, 1, 1, 2, 0], labels: [0, 0, 1] }));
    assert.deepEqual(messages[0].content.metadata, { [VEGA_LITE_MIME]: { embed_options: { renderer: 'canvas' } } });
  });

  it('showImage sends the PNG bytes as image/png', () => {
    const png = tinyPng();
    showImage(png);
    assert.equal(messages.length, 1);
    const { data } = messages[0].content;
    assert.deepEqual(Buffer.from(data['image/png'] as string, 'base64'), png);
    assert.equal(data['text/plain'], '<PNG image 28x28>');
    assert.throws(() => showImage(Buffer.from('not a png')), /does not start with a PNG header/);
  });

  it('LiveChart builds a spec given as a function only when it draws', async () => {
    let now = 0;
    let built = 0;
    const live = new LiveChart({ minIntervalMs: 1000, now: () => now });
    const build = () => {
      built += 1;
      return lossChart({ epoch: [1], loss: [0.3] });
    };
    assert.equal(await live.update(build), true);
    now = 500;
    assert.equal(await live.update(build), false, 'too soon: skipped');
    assert.equal(built, 1, 'a skipped update builds nothing');
    assert.equal(await live.finish(build), true);
    assert.equal(built, 2);
    assert.equal(messages.length, 2);
  });

  it('LiveChart redraws one output in place, at most once per interval', async () => {
    let now = 0;
    const live = new LiveChart({ minIntervalMs: 1000, now: () => now });
    assert.equal(await live.update(lossChart({ epoch: [1], loss: [0.3] })), true);
    now = 500;
    assert.equal(await live.update(lossChart({ epoch: [1, 2], loss: [0.3, 0.2] })), false, 'too soon: skipped');
    now = 1200;
    assert.equal(await live.update(lossChart({ epoch: [1, 2, 3], loss: [0.3, 0.2, 0.1] })), true);
    now = 1300;
    assert.equal(
      await live.finish(lossChart({ epoch: [1, 2, 3, 4], loss: [0.3, 0.2, 0.1, 0.05] })),
      true,
      'finish always draws',
    );
    assert.deepEqual(
      messages.map((m) => m.update),
      [false, true, true],
      'display_data, then update_display_data',
    );
    const ids = new Set(messages.map((m) => m.content.transient.display_id));
    assert.equal(ids.size, 1);
    assert.ok([...ids][0]);
    const last = messages[2].content.data[VEGA_LITE_MIME] as { data: { values: unknown[] } };
    assert.equal(last.data.values.length, 4, 'the last drawing shows the final history');
    assert.deepEqual(
      messages.map((m) => 'image/svg+xml' in m.content.data),
      [false, false, true],
      'only the final drawing renders the static SVG',
    );
  });

  it('LiveChart never draws stale data: an update still rendering when a newer one is drawn is dropped', async () => {
    // The older chart reads its data from a file, so vega finishes rendering it after the newer
    // one (inline data), though it was asked for first: the order of a live chart's updates
    // that the caller does not await.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'live-chart-'));
    try {
      const file = path.join(dir, 'losses.json');
      fs.writeFileSync(
        file,
        JSON.stringify([
          { epoch: 1, loss: 0.3 },
          { epoch: 2, loss: 0.2 },
        ]),
      );
      const olderSpec = {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        data: { url: `file://${file}` },
        mark: 'line',
        encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' } },
      } as ChartSpec;
      const newerSpec = lossChart({ epoch: [1, 2, 3], loss: [0.3, 0.2, 0.1] });
      const live = new LiveChart({ minIntervalMs: 0 });
      const settled: string[] = [];
      // Forced updates render the static SVG (plain updates send only the spec, with no wait).
      const older = live.update(olderSpec, true).then((drawn) => {
        settled.push('older');
        return drawn;
      });
      const newer = live.update(newerSpec, true).then((drawn) => {
        settled.push('newer');
        return drawn;
      });
      assert.deepEqual(
        await Promise.all([older, newer]),
        [false, true],
        'the older update is dropped, the newer one drawn',
      );
      assert.deepEqual(settled, ['newer', 'older'], 'the race happened: the older update finished last');
      assert.equal(messages.length, 1);
      assert.equal(messages[0].content.data[VEGA_LITE_MIME], newerSpec);
      // An update asked for after that draws as usual, in the same output.
      assert.equal(await live.finish(olderSpec), true);
      assert.deepEqual(
        messages.map((m) => m.update),
        [false, true],
      );
      assert.match(messages[1].content.data['image/svg+xml'] as string, /<path[^>]* d="M/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("nbconvert's HTML export of a chart output", () => {
  const python = path.join(__dirname, '..', '..', '.venv', 'bin', 'python');

  it('shows the static SVG, not the vega-lite spec', { skip: !fs.existsSync(python) && 'no .venv' }, async () => {
    const spec = lossChart(history, { title: 'Exported loss chart' });
    const bundle = await chartBundle(spec);
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        {
          cell_type: 'code',
          id: 'chart',
          execution_count: 1,
          metadata: {},
          source: 'await showChart(spec)',
          outputs: [{ output_type: 'display_data', data: bundle, metadata: {} }],
        },
      ],
    };
    const script = [
      'import sys, nbformat',
      'from nbconvert import HTMLExporter',
      'body, _ = HTMLExporter().from_notebook_node(nbformat.reads(sys.stdin.read(), as_version=4))',
      'sys.stdout.write(body)',
    ].join('\n');
    const html = execFileSync(python, ['-c', script], {
      input: JSON.stringify(notebook),
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 64 << 20,
    });
    // The lab template writes the SVG as an <img> with a base64 data URL in the SVG output div.
    const svgOutput =
      /data-mime-type="image\/svg\+xml"[^>]*>\s*<img [^>]*src="data:image\/svg\+xml;base64,([^"]+)"/.exec(html);
    assert.ok(svgOutput, 'the output is rendered from image/svg+xml');
    assert.equal(Buffer.from(svgOutput[1], 'base64').toString('utf8'), bundle['image/svg+xml']);
    assert.doesNotMatch(html, /vega-lite\/v5\.json/, 'the spec itself is not');
    assert.doesNotMatch(html, /&lt;vega-lite chart/, 'nor the text fallback');
  });
});
