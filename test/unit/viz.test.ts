/**
 * Chart specs: they compile with vega-lite without warnings, vega draws them to well-formed SVG
 * in Node, and the SVG holds one mark per point or line. Latent-space geometry helpers.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  ChartWarningError,
  compactSvgCoordinates,
  compileChart,
  digitCentroids,
  digitHulls,
  historyChart,
  lossChart,
  metricChart,
  latentBox,
  latentScatterChart,
  pickDigitMembers,
  pickHullPoints,
  randomPointsInBox,
  renderSvg,
  sideBySide,
  type ChartSpec,
} from '../../lib/viz';
import { createRng } from '../../lib/random';

/** Throws unless the SVG text is one well-nested element tree rooted at <svg>. */
function assertWellFormedSvg(svg: string): void {
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const stack: string[] = [];
  let roots = 0;
  for (const [tag] of svg.matchAll(/<[^>]+>/g)) {
    if (tag.startsWith('<?') || tag.startsWith('<!')) continue;
    const name = /^<\/?([\w:-]+)/.exec(tag)?.[1];
    assert.ok(name, `unreadable tag ${tag.slice(0, 60)}`);
    if (tag.startsWith('</')) {
      assert.equal(stack.pop(), name, `closing </${name}> does not match its opening tag`);
    } else if (!tag.endsWith('/>')) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) {
      roots++;
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
  // Text content may hold only escaped ampersands.
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, ''), /&/);
}

interface MarkItems {
  /** The item elements of each mark group with this name (series and facets repeat the name). */
  groups: string[][];
  /** All item elements together. */
  items: string[];
}

/** The items vega drew for the mark named `markName` (a layer named 'points' -> 'points_marks'). */
function markItems(svg: string, markName: string): MarkItems {
  const groups: string[][] = [];
  const groupPattern = /<g class="mark-(\w+) role-mark ([^"]+)"[^>]*>([\s\S]*?)<\/g>/g;
  for (const match of svg.matchAll(groupPattern)) {
    if (match[2] !== markName) continue;
    const type = match[1];
    const element = type === 'rule' ? 'line' : type === 'text' ? 'text' : 'path';
    groups.push(match[3].match(new RegExp(`<${element}[ >][^>]*>`, 'g')) ?? []);
  }
  return { groups, items: groups.flat() };
}

function attribute(element: string, name: string): string | undefined {
  return new RegExp(` ${name}="([^"]*)"`).exec(element)?.[1];
}

async function renderChecked(spec: ChartSpec): Promise<string> {
  assert.deepEqual(compileChart(spec).warnings, [], 'vega-lite compiles the spec without warnings');
  const svg = await renderSvg(spec); // throws on any warning from vega-lite or vega
  assertWellFormedSvg(svg);
  return svg;
}

/** n points around 10 well-separated centres, labels 0..9 in turn. */
function clusteredPoints(n: number, seed: number): { points: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const points = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const digit = i % 10;
    const angle = (digit / 10) * 2 * Math.PI;
    labels[i] = digit;
    points[2 * i] = 4 * Math.cos(angle) + (rng() - 0.5);
    points[2 * i + 1] = 4 * Math.sin(angle) + (rng() - 0.5);
  }
  return { points, labels };
}

describe('historyChart', () => {
  const n = 1000;
  const iteration = Array.from({ length: n }, (_, i) => i);
  const d_loss = iteration.map((i) => 0.7 + 0.1 * Math.sin(i / 10));
  const g_loss = iteration.map((i) => 0.9 + 0.2 * Math.cos(i / 7));

  it('draws one line per value through every iteration, with at most 400 hover targets for tooltips', async () => {
    const svg = await renderChecked(historyChart({ iteration, d_loss, g_loss }));
    const lines = markItems(svg, 'lines_marks');
    assert.deepEqual(
      lines.groups.map((g) => g.length),
      [1, 1],
      'one line mark per series (d_loss, g_loss)',
    );
    for (const path of lines.items) {
      const vertices = (attribute(path, 'd') ?? '').split(/[ML]/).filter(Boolean);
      assert.equal(vertices.length, n, 'each line passes through every iteration');
    }
    assert.equal(new Set(lines.items.map((p) => attribute(p, 'stroke'))).size, 2, 'two colours');
    const hover = markItems(svg, 'hover_marks').items;
    assert.ok(hover.length <= 401 && hover.length >= 300, `hover rules: ${hover.length}`);
    assert.match(svg, />d_loss and g_loss per iteration</);
  });

  it('draws an epoch history from epoch 1 with a dot per epoch, on a log scale when asked', async () => {
    const history = { epoch: [0, 1, 2], loss: [50, 45, 44], reconstruction: [47, 41, 39.5], kl: [3, 4, 4.5] };
    const spec = historyChart(history, { yScale: 'log', yTitle: 'per image' });
    const rows = (spec as unknown as { data: { values: Record<string, number>[] } }).data.values;
    assert.deepEqual(rows[0], { epoch: 1, loss: 50, reconstruction: 47, kl: 3 });
    const svg = await renderChecked(spec);
    for (const name of ['loss', 'reconstruction', 'kl']) assert.match(svg, new RegExp(`>${name}<`));
    assert.match(svg, /per image \(log scale\)/);
    assert.equal(markItems(svg, 'hover_marks').items.length, 0, 'few points: tooltips on the dots');
  });

  it('turns diverged (non-finite) values into gaps and rejects columns of unequal length', () => {
    const spec = historyChart({ iteration: [1, 2, 3], d_loss: [0.5, NaN, 0.4], g_loss: [1, 2, Infinity] });
    const rows = (spec as unknown as { data: { values: Record<string, number | null>[] } }).data.values;
    assert.deepEqual(
      rows.map((r) => [r.d_loss, r.g_loss]),
      [
        [0.5, 1],
        [null, 2],
        [0.4, null],
      ],
    );
    assert.throws(
      () => historyChart({ iteration: [1, 2, 3], d_loss: [1, 2] }),
      /historyChart: history\.d_loss has 2 values but history\.iteration has 3/,
    );
    assert.throws(() => historyChart({ loss: [1] }), /needs an iteration or epoch column/);
  });
});

/** The tick labels of each axis in a rendered chart, in the order vega draws the axes. */
function axisLabels(svg: string): string[][] {
  return [...svg.matchAll(/<g class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/g)].map(([, body]) =>
    [...body.matchAll(/>([^<]+)<\/text>/g)].map((match) => match[1]),
  );
}

describe('lossChart', () => {
  const epoch = [0, 1, 2, 3, 4, 5]; // indices, as fit records them
  const loss = [0.3, 0.2, 0.15, 0.12, 0.11, 0.1];
  const valLoss = [0.31, 0.22, 0.18, 0.16, 0.16, 0.17];

  it('draws training and validation lines with a dot per epoch', async () => {
    const svg = await renderChecked(lossChart({ epoch, loss, valLoss }));
    const lineGroups = [...svg.matchAll(/<g class="mark-line role-mark [^"]+"[^>]*>([\s\S]*?)<\/g>/g)];
    assert.equal(lineGroups.length, 2);
    for (const [, body] of lineGroups) {
      const paths = body.match(/<path[ >][^>]*>/g) ?? [];
      assert.equal(paths.length, 1);
      assert.equal((attribute(paths[0], 'd') ?? '').split(/[ML]/).filter(Boolean).length, epoch.length);
    }
    const dots = [...svg.matchAll(/<g class="mark-symbol role-mark [^"]+"[^>]*>([\s\S]*?)<\/g>/g)].flatMap(
      ([, body]) => body.match(/<path[ >]/g) ?? [],
    );
    assert.equal(dots.length, 2 * epoch.length);
    assert.match(svg, />Training and validation loss</);
    assert.match(svg, />validation</);
  });

  it('draws one line without validation', async () => {
    const svg = await renderChecked(lossChart({ epoch, loss, valLoss: [] }));
    assert.equal([...svg.matchAll(/<g class="mark-line role-mark /g)].length, 1);
    assert.match(svg, />Training loss</);
    assert.throws(
      () => lossChart({ epoch, loss, valLoss: [1, 2] }),
      /history\.valLoss has 2 values but history\.epoch has 6/,
    );
  });

  it('counts epochs from 1, as the printed lines do: the x axis runs 1 to 6, not from 0', async () => {
    const spec = lossChart({ epoch, loss, valLoss }) as unknown as { data: { values: { epoch: number }[] } };
    assert.deepEqual(
      spec.data.values.map((row) => row.epoch),
      [1, 2, 3, 4, 5, 6],
    );
    const [xLabels] = axisLabels(await renderChecked(lossChart({ epoch, loss, valLoss })));
    assert.deepEqual(xLabels, ['1', '2', '3', '4', '5', '6']);
    // One epoch (the smoke profile) still draws, on an axis from 1.
    const [oneEpoch] = axisLabels(await renderChecked(lossChart({ epoch: [0], loss: [0.3], valLoss: [0.4] })));
    assert.equal(oneEpoch[0], '1');
  });
});

describe('metricChart', () => {
  const epoch = [0, 1, 2, 3];
  const accuracy = [0.5, 0.7, 0.8, 0.85];
  const valAccuracy = [0.48, 0.69, 0.78, 0.8];

  it("draws a metric's training and validation series under the metric's name", async () => {
    const spec = metricChart({ metric: 'accuracy', epoch, train: accuracy, validation: valAccuracy });
    const svg = await renderChecked(spec);
    assert.equal([...svg.matchAll(/<g class="mark-line role-mark /g)].length, 2);
    assert.match(svg, />Training and validation accuracy</);
    assert.match(svg, />accuracy</, 'the y axis names the metric');
    const rows = (spec as unknown as { data: { values: Record<string, number>[] } }).data.values;
    assert.deepEqual(rows[3], { epoch: 4, training: 0.85, validation: 0.8 });
  });

  it('is what lossChart draws for a history', () => {
    const history = { epoch, loss: [0.3, 0.2, 0.15, 0.12], valLoss: [0.31, 0.22, 0.18, 0.16] };
    const expected = metricChart({ metric: 'loss', epoch, train: history.loss, validation: history.valLoss });
    assert.deepEqual(lossChart(history), expected);
  });

  it('says what is missing or does not match', () => {
    assert.throws(
      () => metricChart({ metric: 'accuracy', epoch, train: undefined }),
      new RegExp(
        String.raw`metricChart: no training values for accuracy \(train is undefined\)\. fit records accuracy only ` +
          String.raw`for a model compiled with metrics: \['accuracy'\]`,
      ),
    );
    assert.throws(
      () => metricChart({ metric: 'accuracy', epoch, train: accuracy, validation: [0.5] }),
      /metricChart: validation has 1 values but epoch has 4; they must have one value per epoch/,
    );
  });
});

describe('latent-space geometry', () => {
  it('finds the 4 corners as the hull of a square with points inside, and each digit apart', () => {
    const square = [0, 0, 2, 0, 2, 2, 0, 2, 1, 1, 0.5, 1.5, 1.9, 0.1];
    const other = [10, 10, 11, 10, 10, 11];
    const points = new Float32Array([...square, ...other]);
    const labels = [3, 3, 3, 3, 3, 3, 3, 7, 7, 7];
    const hulls = digitHulls(points, labels);
    assert.deepEqual(
      hulls.map((h) => h.digit),
      [3, 7],
    );
    const corners = hulls[0].vertices.map((v) => `${v.x},${v.y}#${v.index}`).sort();
    assert.deepEqual(corners, ['0,0#0', '0,2#3', '2,0#1', '2,2#2']);
    assert.equal(hulls[1].vertices.length, 3);
  });

  it('computes centroids per digit', () => {
    const points = [0, 0, 2, 0, 2, 2, 0, 2, 5, 5, 7, 9];
    const labels = [1, 1, 1, 1, 4, 4];
    assert.deepEqual(digitCentroids(points, labels), [
      { digit: 1, x: 1, y: 1, count: 4 },
      { digit: 4, x: 6, y: 7, count: 2 },
    ]);
    assert.throws(() => digitCentroids([0, 0, 1], [0]), /points must hold x, y pairs/);
    assert.throws(() => digitCentroids([0, 0, 1, 1], [0]), /labels has 1 entries but points holds 2 points/);
  });

  it('picks the hull vertex of each digit farthest from its centroid', () => {
    const { points, labels } = clusteredPoints(500, 3);
    const hulls = digitHulls(points, labels);
    const centroids = digitCentroids(points, labels);
    const picked = pickHullPoints(points, labels);
    assert.deepEqual(
      picked.map((p) => p.digit),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    picked.forEach((p, digit) => {
      assert.equal(labels[p.index], digit);
      assert.equal(points[2 * p.index], p.x);
      const distance = (v: { x: number; y: number }) => Math.hypot(v.x - centroids[digit].x, v.y - centroids[digit].y);
      assert.ok(
        hulls[digit].vertices.every((v) => distance(v) <= distance(p)),
        'the farthest vertex of its hull',
      );
    });
  });

  it("picks one seeded member of each digit's cloud among its first `among` points, as the blog does", () => {
    const { points, labels } = clusteredPoints(500, 3);
    const firstOfDigit = (digit: number, among: number) =>
      Array.from(labels.keys())
        .filter((i) => labels[i] === digit)
        .slice(0, among);
    const picked = pickDigitMembers(points, labels, createRng(11), 20);
    assert.deepEqual(
      picked.map((p) => p.digit),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    for (const p of picked) {
      assert.ok(
        firstOfDigit(p.digit, 20).includes(p.index),
        `digit ${p.digit}: index ${p.index} is not among its first 20`,
      );
      assert.deepEqual([p.x, p.y], [points[2 * p.index], points[2 * p.index + 1]]);
    }
    assert.deepEqual(
      pickDigitMembers(points, labels, createRng(11), 20),
      picked,
      'the same seed picks the same members',
    );
    // Over many draws every one of the first `among` members comes up, and no later one.
    const seen = new Set<number>();
    const rng = createRng(4);
    for (let draw = 0; draw < 400; draw++) seen.add(pickDigitMembers(points, labels, rng, 5)[0].index);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      firstOfDigit(0, 5),
    );
    assert.throws(() => pickDigitMembers(points, labels, rng, 0), /among must be a whole number >= 1, got 0/);
  });

  it('draws random points uniformly inside the bounding box', () => {
    const { points } = clusteredPoints(300, 4);
    const box = latentBox(points);
    const random = randomPointsInBox(points, 4000, createRng(5));
    assert.equal(random.length, 4000);
    let meanX = 0;
    let meanY = 0;
    for (const p of random) {
      assert.ok(p.x >= box.xMin && p.x <= box.xMax && p.y >= box.yMin && p.y <= box.yMax);
      meanX += p.x / random.length;
      meanY += p.y / random.length;
    }
    const width = box.xMax - box.xMin;
    const height = box.yMax - box.yMin;
    assert.ok(Math.abs(meanX - (box.xMin + width / 2)) < 0.03 * width);
    assert.ok(Math.abs(meanY - (box.yMin + height / 2)) < 0.03 * height);
    const left = random.filter((p) => p.x < box.xMin + width / 4).length / random.length;
    assert.ok(Math.abs(left - 0.25) < 0.03, `a quarter of the width holds a quarter of the points: ${left}`);
  });
});

describe('latentScatterChart', () => {
  it('draws one dot per point coloured by digit, a hull per digit, centroid labels and markers', async () => {
    const { points, labels } = clusteredPoints(200, 1);
    const markers = [
      { x: 0, y: 0, label: 'origin' },
      { x: 4, y: 0, label: 'hull 0' },
    ];
    const svg = await renderChecked(latentScatterChart({ points, labels, markers }));
    const dots = markItems(svg, 'points_marks').items;
    assert.equal(dots.length, 200);
    const fills = dots.map((d) => attribute(d, 'fill'));
    assert.equal(new Set(fills).size, 10);
    for (let i = 0; i < 200; i++) assert.equal(fills[i], fills[labels[i]], `dot ${i} has its digit's colour`);
    const hulls = markItems(svg, 'hulls_marks');
    assert.equal(hulls.items.length, 10, 'one closed outline per digit');
    for (const hull of hulls.items) assert.match(attribute(hull, 'd') ?? '', /Z$/);
    const centroidTexts = markItems(svg, 'centroidLabels_marks').items;
    assert.equal(centroidTexts.length, 10);
    assert.equal(markItems(svg, 'markers_marks').items.length, 2);
    assert.match(svg, />origin</);
    assert.match(svg, />hull 0</);
  });

  it('keeps 10,000 points lean and quick to draw', async () => {
    const { points, labels } = clusteredPoints(10_000, 2);
    const spec = latentScatterChart({ points, labels, markers: [{ x: 1, y: 1, label: 'm' }] });
    const jsonBytes = JSON.stringify(spec).length;
    assert.ok(jsonBytes / 10_000 < 40, `inline JSON per point: ${(jsonBytes / 10_000).toFixed(1)} bytes`);
    assert.equal(
      (spec as { usermeta?: { embedOptions?: { renderer?: string } } }).usermeta?.embedOptions?.renderer,
      'canvas',
    );
    const started = performance.now();
    const svg = await renderChecked(spec);
    const ms = performance.now() - started;
    assert.equal(markItems(svg, 'points_marks').items.length, 10_000);
    console.log(
      `10,000-point latent scatter: JSON ${(jsonBytes / 1024).toFixed(0)} KiB, ` +
        `SVG ${(svg.length / 1024).toFixed(0)} KiB, compile + SVG render ${ms.toFixed(0)} ms`,
    );
    assert.ok(ms < 15_000, `rendering took ${ms.toFixed(0)} ms`);
  });
});

describe('sideBySide', () => {
  it('puts two latent maps in one row, their layers renamed apart, and renders without warnings', async () => {
    const points = new Float32Array([0, 0, 1, 1, 2, 0, 0, 2, 1, 0, 2, 2]);
    const labels = new Uint8Array([0, 0, 0, 1, 1, 1]);
    const left = latentScatterChart({ points, labels, markers: [{ x: 1, y: 1, label: 'R1' }] }, { title: 'AE' });
    const right = latentScatterChart({ points: points.map((v) => v - 1), labels }, { title: 'VAE' });
    const both = sideBySide([left, right]) as unknown as {
      hconcat: Array<{ title: string; layer: Array<{ name: string }>; $schema?: string }>;
      usermeta?: unknown;
    };
    assert.deepEqual(
      both.hconcat.map((chart) => chart.title),
      ['AE', 'VAE'],
    );
    assert.ok(
      both.hconcat.every((chart) => chart.$schema === undefined),
      'only the outer spec carries $schema',
    );
    assert.deepEqual(both.usermeta, (left as unknown as { usermeta: unknown }).usermeta);
    const names = both.hconcat.flatMap((chart) => chart.layer.map((layer) => layer.name));
    assert.equal(new Set(names).size, names.length, `layer names must be unique: ${names.join(', ')}`);
    const svg = await renderChecked(both as unknown as ChartSpec);
    assert.match(svg, />AE</);
    assert.match(svg, />VAE</);
    assert.throws(() => sideBySide([left]), /give two or more charts; got 1/);
  });
});

describe('renderSvg', () => {
  const badSpec = {
    data: { values: [{ a: 1 }] },
    mark: 'bar',
    encoding: { x: { field: 'a', type: 'quantitative', aggregate: 'nosuch' } },
  } as unknown as ChartSpec;

  it('reports vega-lite warnings instead of printing them, and throws on them unless told to ignore', async () => {
    assert.deepEqual(compileChart(badSpec).warnings, ['warning: Invalid aggregation operator "nosuch".']);
    await assert.rejects(renderSvg(badSpec), (err: unknown) => {
      assert.ok(err instanceof ChartWarningError);
      assert.match(err.message, /Invalid aggregation operator "nosuch"/);
      assert.match(err.message, /warnings: "ignore"/);
      return true;
    });
    assertWellFormedSvg(await renderSvg(badSpec, { warnings: 'ignore' }));
  });

  it("leaves the caller's spec untouched (vega tags the data rows it draws)", async () => {
    const spec = lossChart({ epoch: [1, 2], loss: [0.2, 0.1] });
    const before = structuredClone(spec);
    await renderSvg(spec);
    assert.deepEqual(spec, before);
  });

  it('rounds coordinates in geometry attributes only', () => {
    const svg =
      '<svg><path transform="translate(40.89148725504992,92.7)" d="M1.58113,0L-2.0000001,3"/>' +
      '<text x="1.23456">0.123456</text></svg>';
    assert.equal(
      compactSvgCoordinates(svg),
      '<svg><path transform="translate(40.89,92.7)" d="M1.58,0L-2,3"/><text x="1.23">0.123456</text></svg>',
    );
  });
});
