/**
 * Vega-Lite (v5) specs for training curves and sample scores, built by typed functions with
 * readable defaults: a title, named axes, a legend and tooltips. Each returns a plain JSON spec:
 * show it with showChart, or draw it with renderSvg.
 */
import { localize, localizeChart, type Locale } from './locale';
import type { ChartSpec } from './render';

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Size and title shared by every chart builder. */
export interface ChartOptions {
  /** Title above the chart. Default: a description of the chart. */
  title?: string;
  /** Width of the plotting area in pixels. Default 480. */
  width?: number;
  /** Height of the plotting area in pixels. Default 260. */
  height?: number;
  /** Language of the titles, axes and legends. Default: the notebook's edition (lib/viz/locale.ts). */
  locale?: Locale;
}

/**
 * Throws a readable error unless every named series has as many values as `reference`; `owner`
 * is how the caller's argument spells them ('history.' for a history object).
 */
function checkSeriesLengths(
  chart: string,
  referenceName: string,
  reference: ArrayLike<number>,
  series: Record<string, ArrayLike<number> | undefined>,
  owner = 'history.',
): void {
  for (const [name, values] of Object.entries(series)) {
    if (values === undefined) continue;
    if (values.length !== reference.length) {
      throw new Error(
        `${chart}: ${owner}${name} has ${values.length} values but ${owner}${referenceName} has ${reference.length}; ` +
          `they must have one value per ${referenceName}.`,
      );
    }
  }
}

/** How lineChart draws its curves. */
export interface LineChartOptions extends ChartOptions {
  /** Y axis title. */
  yTitle?: string;
  /** 'log' shows series of different sizes together (a KL of 4 beside a loss of 50). Default 'linear'. */
  yScale?: 'linear' | 'log';
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/**
 * Named series as lines against `x`, 'iteration' or 'epoch'; epochs, counted from 0 as histories
 * record them, are drawn from 1 like the printed lines and the progress bar. Every chart of
 * training curves is this one. The caller has checked the series' lengths. Up to 200 x values
 * each get a dot with a tooltip; beyond that a vertical rule at the nearest of at most 400 evenly
 * spaced x values shows them on hover.
 */
export function lineChart(
  x: 'iteration' | 'epoch',
  at: readonly number[],
  series: Readonly<Record<string, readonly number[]>>,
  options: LineChartOptions & { title: string; yTitle: string },
): ChartSpec {
  // The legend shows the series' names, so they are the language's too.
  const names = Object.keys(series).map((name) => localize(name, options.locale));
  const values = Object.values(series);
  const shift = x === 'epoch' ? 1 : 0;
  const rows = at.map((value, i) => {
    const row: Record<string, number | null> = { [x]: value + shift };
    // NaN or infinity (a diverged loss) becomes a gap in the line.
    names.forEach((name, s) => (row[name] = Number.isFinite(values[s][i]) ? values[s][i] : null));
    return row;
  });
  const points = rows.length <= 200;
  const logScale = options.yScale === 'log';
  return localizeChart(
    {
      $schema: VEGA_LITE_SCHEMA,
      title: options.title,
      width: options.width ?? 480,
      height: options.height ?? 260,
      data: { values: rows },
      layer: [
        {
          name: 'lines',
          transform: [{ fold: names, as: ['series', 'value'] }],
          mark: { type: 'line', strokeWidth: 2, point: points ? { size: 30, filled: true } : false, tooltip: points },
          encoding: {
            x: { field: x, type: 'quantitative', title: x, ...(x === 'epoch' ? epochAxis(at) : {}) },
            y: {
              field: 'value',
              type: 'quantitative',
              title: logScale ? `${options.yTitle} (log scale)` : options.yTitle,
              scale: logScale ? { type: 'log' } : { zero: false },
            },
            color: { field: 'series', type: 'nominal', title: null, scale: { domain: names, range: PALETTE } },
            tooltip: [
              { field: 'series', type: 'nominal', title: 'curve' },
              { field: x, type: 'quantitative', title: x },
              { field: 'value', type: 'quantitative', title: options.yTitle, format: '.4f' },
            ],
          },
        },
        ...(points ? [] : [hoverRuleLayer(rows, x, names)]),
      ],
    } as ChartSpec,
    options.locale,
  );
}

/** Whole epochs only, on an axis spanning exactly the epochs drawn (a single one still gets a span of one). */
function epochAxis(at: readonly number[]): object {
  const first = at.length > 0 ? Math.min(...at) + 1 : 1;
  const last = Math.max(first + 1, ...at.map((epoch) => epoch + 1));
  // With fewer ticks than epochs, d3's nice tick steps stay integers.
  return { scale: { domain: [first, last] }, axis: { tickCount: Math.max(1, Math.min(at.length - 1, 10)) } };
}

/** A vertical rule that appears at the x value nearest the pointer, with every series' value in a tooltip. */
function hoverRuleLayer(rows: Record<string, number | null>[], x: string, names: string[]): object {
  const step = Math.ceil(rows.length / 400);
  return {
    name: 'hover',
    data: { values: rows.filter((_, i) => i % step === 0 || i === rows.length - 1) },
    mark: { type: 'rule', color: 'gray', aria: false },
    params: [
      { name: 'hover', select: { type: 'point', fields: [x], nearest: true, on: 'pointerover', clear: 'pointerout' } },
    ],
    encoding: {
      x: { field: x, type: 'quantitative' },
      opacity: { condition: { param: 'hover', empty: false, value: 0.6 }, value: 0 },
      tooltip: [x, ...names].map((field) => ({ field, type: 'quantitative', format: field === x ? 'd' : '.4f' })),
    },
  };
}

/**
 * A training history, as a TrainingMonitor records it (an `iteration` or `epoch` column and one
 * column per value), as lines: what the monitor's live chart draws. Default title: the series'
 * names per iteration or epoch; default y title 'value'.
 */
export function historyChart(
  history: Readonly<Record<string, readonly number[]>>,
  options: LineChartOptions = {},
): ChartSpec {
  const x = 'iteration' in history ? 'iteration' : 'epoch';
  const { [x]: at, ...series } = history;
  const names = Object.keys(series);
  if (at === undefined || names.length === 0) {
    throw new Error(
      'historyChart: history needs an iteration or epoch column and at least one column of values; ' +
        `got ${Object.keys(history).join(', ') || 'none'}.`,
    );
  }
  checkSeriesLengths('historyChart', x, at, series);
  return lineChart(x, at, series, {
    ...options,
    title: options.title ?? `${names.join(' and ')} per ${x}`,
    yTitle: options.yTitle ?? 'value',
  });
}

/** One metric per epoch, training and validation: what `metricChart` draws. */
export interface MetricSeries {
  /** What the values measure ('loss', 'accuracy', ...): the y axis, the title and the tooltip. */
  metric: string;
  /** Epoch indices counted from 0, as `fit` records them (`history.epoch`); drawn from 1. */
  epoch: number[];
  /** Training values, one per epoch (e.g. `history.accuracy`, undefined when not recorded). */
  train: number[] | undefined;
  /** Validation values, one per epoch (e.g. `history.valAccuracy`); omitted or empty without validation. */
  validation?: number[];
}

/**
 * A metric's training (and validation) values against epoch (counted from 1), one line each:
 * `metricChart({ metric: 'accuracy', epoch: history.epoch, train: history.accuracy,
 * validation: history.valAccuracy })`.
 */
export function metricChart(series: MetricSeries, options: LineChartOptions = {}): ChartSpec {
  const { metric, epoch, train } = series;
  if (train === undefined) {
    throw new Error(
      `metricChart: no training values for ${metric} (train is undefined). fit records accuracy only for a model ` +
        "compiled with metrics: ['accuracy'].",
    );
  }
  const validation = series.validation && series.validation.length > 0 ? series.validation : undefined;
  checkSeriesLengths('metricChart', 'epoch', epoch, { train, validation }, '');
  return lineChart('epoch', epoch, validation ? { training: train, validation } : { training: train }, {
    ...options,
    title: options.title ?? (validation ? `Training and validation ${metric}` : `Training ${metric}`),
    yTitle: options.yTitle ?? metric,
  });
}

/** Training (and validation) loss against epoch: `metricChart` for a `fit` history's loss. */
export function lossChart(
  history: { epoch: number[]; loss: number[]; valLoss?: number[] },
  options: LineChartOptions = {},
): ChartSpec {
  const validation = history.valLoss && history.valLoss.length > 0 ? history.valLoss : undefined;
  checkSeriesLengths('lossChart', 'epoch', history.epoch, { loss: history.loss, valLoss: validation });
  return metricChart({ metric: 'loss', epoch: history.epoch, train: history.loss, validation }, options);
}

/** One sampling interval's digit score (lib/quality's scoreDigits), by iteration. */
export interface IterationScore {
  iteration: number;
  /** Share of the samples the digit classifier recognises with confidence >= 0.9. */
  recognisedShare: number;
  /** exp(E[KL(p(y|x) || p(y))]), 1 (useless) to 10 (confident and balanced). */
  inceptionScore: number;
}

/**
 * The samples' quality at each sampling interval: the share recognised as digits (left axis,
 * 0..1) and the inception-style score (right axis, 1..10), to set beside the loss chart.
 */
export function ganScoreChart(scores: readonly IterationScore[], options: ChartOptions = {}): ChartSpec {
  if (scores.length === 0)
    throw new Error('ganScoreChart: scores is empty; score the samples of at least one sampling interval.');
  // One line per score, each on its own y axis in its own colour (the second dashed, its axis on the right).
  const line = (field: string, title: string, domain: number[], color: string, right: boolean) => ({
    mark: { type: 'line', point: true, color, ...(right ? { strokeDash: [4, 2] } : {}) },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
      y: {
        field,
        type: 'quantitative',
        title,
        scale: { domain },
        axis: { titleColor: color, ...(right ? { orient: 'right' } : {}) },
      },
    },
  });
  return localizeChart(
    {
      $schema: VEGA_LITE_SCHEMA,
      title: options.title ?? 'Sample quality: recognised share, inception score',
      width: options.width ?? 360,
      height: options.height ?? 260,
      data: { values: scores },
      layer: [
        line('recognisedShare', 'share recognised (confidence >= 0.9)', [0, 1], '#2ca02c', false),
        line('inceptionScore', 'inception score (1-10)', [1, 10], '#9467bd', true),
      ],
      resolve: { scale: { y: 'independent' } },
    } as ChartSpec,
    options.locale,
  );
}
