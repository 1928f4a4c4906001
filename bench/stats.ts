/**
 * Statistics and tables of the benchmark: pure functions (no timing, no processes), so the unit
 * test can check them on hand-made samples.
 */

export type Side = 'keras' | 'ts';

/** What one child process reports for one workload (the JSON line it prints, trimmed). */
export interface RepetitionResult {
  workload: string;
  side: Side;
  /** "s/iteration" or "s/epoch". */
  unit: string;
  /** The timed iterations or epochs of this repetition, in seconds. */
  times: number[];
  /** Peak resident set size of the child, in KiB. */
  maxRssKiB: number;
}

export interface Summary {
  min: number;
  median: number;
  max: number;
  count: number;
}

/** min / median / max of a non-empty list (median of an even count: mean of the middle two). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values to summarize (did every repetition fail?).');
  if (values.some((v) => !Number.isFinite(v)))
    throw new Error(`summarize: values must be finite numbers; got [${values.join(', ')}].`);
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1], count: sorted.length };
}

/** The value one repetition contributes: the mean of its timed iterations/epochs. */
export function repetitionValue(result: RepetitionResult): number {
  if (result.times.length === 0)
    throw new Error(`${result.side} ${result.workload}: the repetition reported no timings.`);
  return result.times.reduce((sum, t) => sum + t, 0) / result.times.length;
}

export interface TableRow {
  workload: string;
  side: Side;
  unit: string;
  /** Over repetitions, of each repetition's mean time, in seconds. */
  time: Summary;
  /** project median / Keras median for this workload; undefined on Keras rows or without a Keras row. */
  ratio?: number;
  /** Largest peak RSS over the repetitions, in MiB. */
  peakRssMiB: number;
  /** project peak RSS / Keras peak RSS. */
  rssRatio?: number;
}

/** One row per workload and side (Keras first), in the order the workloads first appear. */
export function buildRows(results: readonly RepetitionResult[]): TableRow[] {
  const workloads: string[] = [];
  for (const r of results) if (!workloads.includes(r.workload)) workloads.push(r.workload);
  const rows: TableRow[] = [];
  for (const workload of workloads) {
    const bySide = new Map<Side, TableRow>();
    for (const side of ['keras', 'ts'] as const) {
      const reps = results.filter((r) => r.workload === workload && r.side === side);
      if (reps.length === 0) continue;
      bySide.set(side, {
        workload,
        side,
        unit: reps[0].unit,
        time: summarize(reps.map(repetitionValue)),
        peakRssMiB: Math.max(...reps.map((r) => r.maxRssKiB)) / 1024,
      });
    }
    const keras = bySide.get('keras');
    const ts = bySide.get('ts');
    if (keras && ts) {
      ts.ratio = ts.time.median / keras.time.median;
      ts.rssRatio = ts.peakRssMiB / keras.peakRssMiB;
    }
    if (keras) rows.push(keras);
    if (ts) rows.push(ts);
  }
  return rows;
}

export const WORKLOAD_LABELS: Readonly<Record<string, string>> = {
  gan: 'GAN iteration (batch 32)',
  gan_fast: 'GAN iteration, notebook loop vs Keras written for speed (batch 32)',
  conv_ae: 'Conv autoencoder epoch (batch 128)',
  ae2d: '2-D conv autoencoder epoch (batch 32)',
  gan_bf16: 'GAN iteration in mixed_bfloat16, notebook loop vs Keras written for speed (batch 32)',
  ae2d_bf16: '2-D conv autoencoder epoch in mixed_bfloat16 (batch 32)',
};

/** The bfloat16 instructions mixed precision needs, said of a CPU: "avx512_bf16: yes, amx_bf16: no". */
export function formatBfloat16Support(instructions: readonly string[]): string {
  return ['avx512_bf16', 'amx_bf16'].map((flag) => `${flag}: ${instructions.includes(flag) ? 'yes' : 'no'}`).join(', ');
}

const SIDE_LABELS: Readonly<Record<Side, string>> = { keras: 'Keras (Python)', ts: 'project (tfjs-node)' };

/** Seconds as ms below one second, else seconds: "95.3 ms", "2.41 s". */
export function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`;
}

function cells(row: TableRow): string[] {
  return [
    WORKLOAD_LABELS[row.workload] ?? row.workload,
    SIDE_LABELS[row.side],
    formatSeconds(row.time.min),
    formatSeconds(row.time.median),
    formatSeconds(row.time.max),
    row.ratio === undefined ? '' : row.ratio.toFixed(2),
    `${row.peakRssMiB.toFixed(0)} MiB`,
    row.rssRatio === undefined ? '' : row.rssRatio.toFixed(2),
  ];
}

export const TABLE_HEADER = ['workload', 'side', 'min', 'median', 'max', 'ratio (median)', 'peak RSS', 'RSS ratio'];

/** A plain-text table with aligned columns (numbers right-aligned). */
export function formatTextTable(rows: readonly TableRow[]): string {
  const body = rows.map(cells);
  const widths = TABLE_HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(TABLE_HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in GitHub markdown. */
export function formatMarkdownTable(rows: readonly TableRow[]): string {
  const header = `| ${TABLE_HEADER.join(' | ')} |`;
  const align = `|${TABLE_HEADER.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [header, align, ...rows.map((r) => `| ${cells(r).join(' | ')} |`)].join('\n');
}

/**
 * Replaces the text between `<!-- start -->` and `<!-- end -->` markers in a document (the
 * generated part of RESULTS.md), keeping everything else; appends the block when missing.
 */
export function replaceBetweenMarkers(document: string, marker: string, content: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const block = `${start}\n${content}\n${end}`;
  const i = document.indexOf(start);
  const j = document.indexOf(end);
  if (i >= 0 && j > i) return document.slice(0, i) + block + document.slice(j + end.length);
  return `${document.replace(/\s*$/, '')}${document.trim() ? '\n\n' : ''}${block}\n`;
}
