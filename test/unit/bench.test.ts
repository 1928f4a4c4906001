/**
 * The benchmark harness's statistics and tables (bench/stats.ts), on hand-made samples: no
 * timing, no child processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRows,
  formatBfloat16Support,
  formatMarkdownTable,
  formatSeconds,
  formatTextTable,
  repetitionValue,
  replaceBetweenMarkers,
  summarize,
  WORKLOAD_LABELS,
  type RepetitionResult,
} from '../../bench/stats';
import { parseFlags, parseKnownFlags } from '../../scripts/flags';

function rep(workload: string, side: 'keras' | 'ts', times: number[], maxRssKiB: number): RepetitionResult {
  return { workload, side, unit: 's/iteration', times, maxRssKiB };
}

test('summarize gives min, median and max for odd and even counts, whatever the order', () => {
  assert.deepEqual(summarize([3, 1, 2]), { min: 1, median: 2, max: 3, count: 3 });
  assert.deepEqual(summarize([4, 1, 3, 2]), { min: 1, median: 2.5, max: 4, count: 4 });
  assert.deepEqual(summarize([0.5]), { min: 0.5, median: 0.5, max: 0.5, count: 1 });
});

test('summarize refuses empty and non-finite input with a readable error', () => {
  assert.throws(() => summarize([]), /no values/);
  assert.throws(() => summarize([1, Number.NaN]), /finite/);
});

test('a repetition contributes the mean of its timed iterations', () => {
  assert.equal(repetitionValue(rep('gan', 'ts', [0.1, 0.2, 0.3, 0.4], 1)), 0.25);
  assert.throws(() => repetitionValue(rep('gan', 'ts', [], 1)), /no timings/);
});

test('rows pair the sides per workload: Keras first, ratio = project median / Keras median, peak RSS = largest', () => {
  const results = [
    rep('gan', 'ts', [0.2, 0.2], 2048),
    rep('gan', 'keras', [0.1], 1024),
    rep('gan', 'keras', [0.3], 4096),
    rep('gan', 'keras', [0.2], 1024),
    rep('gan', 'ts', [0.1, 0.3], 1024),
    rep('gan', 'ts', [0.5], 1024),
    rep('ae2d', 'ts', [2], 1024),
  ];
  const rows = buildRows(results);
  assert.deepEqual(
    rows.map((r) => `${r.workload}/${r.side}`),
    ['gan/keras', 'gan/ts', 'ae2d/ts'],
  );
  const [keras, ts, lonely] = rows;
  assert.deepEqual(keras.time, { min: 0.1, median: 0.2, max: 0.3, count: 3 });
  assert.equal(keras.peakRssMiB, 4);
  assert.equal(keras.ratio, undefined);
  assert.deepEqual(ts.time, { min: 0.2, median: 0.2, max: 0.5, count: 3 });
  assert.equal(ts.ratio, 1);
  assert.equal(ts.peakRssMiB, 2);
  assert.equal(ts.rssRatio, 0.5);
  // Without a Keras row there is nothing to compare with.
  assert.equal(lonely.ratio, undefined);
});

test('the text and markdown tables show every row with its numbers', () => {
  const rows = buildRows([rep('gan', 'keras', [0.1], 1024 * 600), rep('gan', 'ts', [0.15], 1024 * 450)]);
  const text = formatTextTable(rows);
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^workload\s+side\s+min\s+median\s+max\s+ratio \(median\)\s+peak RSS\s+RSS ratio$/);
  assert.match(lines[3], /project \(tfjs-node\)\s+150\.0 ms\s+150\.0 ms\s+150\.0 ms\s+1\.50\s+450 MiB\s+0\.75$/);
  // Aligned: every line has the same length.
  assert.equal(new Set(lines.map((l) => l.length)).size, 1);
  const md = formatMarkdownTable(rows).split('\n');
  assert.equal(md.length, 4);
  assert.equal(md[1], '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  assert.equal(md[2], '| GAN iteration (batch 32) | Keras (Python) | 100.0 ms | 100.0 ms | 100.0 ms |  | 600 MiB |  |');
});

test('the mixed_bfloat16 rows have labels that say so; the host line names its bfloat16 instructions', () => {
  for (const workload of ['gan_bf16', 'ae2d_bf16']) assert.match(WORKLOAD_LABELS[workload], /mixed_bfloat16/);
  assert.equal(formatBfloat16Support(['avx512_bf16']), 'avx512_bf16: yes, amx_bf16: no');
  assert.equal(formatBfloat16Support([]), 'avx512_bf16: no, amx_bf16: no');
  assert.equal(formatBfloat16Support(['amx_bf16', 'avx512_bf16']), 'avx512_bf16: yes, amx_bf16: yes');
});

test('formatSeconds switches from ms to s at one second', () => {
  assert.equal(formatSeconds(0.0953), '95.3 ms');
  assert.equal(formatSeconds(2.414), '2.41 s');
});

test('replaceBetweenMarkers keeps hand-written text and replaces only the generated block', () => {
  const first = replaceBetweenMarkers('# Title\n\nNotes.\n', 'bench:table', 'table v1');
  assert.equal(first, '# Title\n\nNotes.\n\n<!-- bench:table:start -->\ntable v1\n<!-- bench:table:end -->\n');
  const withFindings = `${first}\n## Findings\nkept\n`;
  const second = replaceBetweenMarkers(withFindings, 'bench:table', 'table v2');
  assert.equal(second, withFindings.replace('table v1', 'table v2'));
});

test('parseFlags reads --name value, --name=value and bare switches, and rejects stray words', () => {
  assert.deepEqual(parseFlags(['--reps', '5', '--quick', '--workloads=gan,ae2d']), {
    reps: '5',
    quick: 'true',
    workloads: 'gan,ae2d',
  });
  assert.throws(() => parseFlags(['reps']), /Unexpected argument "reps"/);
});

test('parseKnownFlags passes known flags and names unknown ones with the usage line', () => {
  assert.deepEqual(parseKnownFlags(['--from', 'a', '--to=b'], ['from', 'to'], 'usage: x'), { from: 'a', to: 'b' });
  assert.throws(
    () => parseKnownFlags(['--form', 'a'], ['from', 'to'], 'usage: x [--from DIR]'),
    /unknown option --form\.\nusage: x \[--from DIR\]/,
  );
});
