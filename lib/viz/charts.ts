/**
 * Vega-Lite (v5) specs for training curves and z-codes, built by typed functions with readable
 * defaults: a title, named axes, a legend and tooltips. Each returns a plain JSON spec: show it
 * with showChart, save it with saveChart, or draw it with renderSvg.
 */
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
}

/**
 * Throws a readable error unless every named series has as many values as `reference`; `owner`
 * is how the caller's argument spells them ('history.' for a history object).
 */
export function checkSeriesLengths(
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

/** A number for JSON: NaN and infinities (a diverged loss) become null, a gap in the line. */
function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Every `step`-th index so that at most `limit` remain, always keeping the last one. */
function evenlySpacedIndices(count: number, limit: number): number[] {
  if (count === 0) return [];
  const step = Math.max(1, Math.ceil(count / Math.max(1, limit)));
  const indices: number[] = [];
  for (let i = 0; i < count; i += step) indices.push(i);
  if (indices[indices.length - 1] !== count - 1) indices.push(count - 1);
  return indices;
}

export interface GanHistoryLike {
  iteration: number[];
  dLoss: number[];
  gLoss: number[];
}

export interface GanLossChartOptions extends ChartOptions {
  /**
   * At most this many evenly spaced iterations answer a hover with a tooltip (a vertical rule
   * and both losses). Default 400: every hover target is an element in the static SVG too.
   */
  tooltipPoints?: number;
}

/** d_loss and g_loss against iteration, one line each. */
export function ganLossChart(history: GanHistoryLike, options: GanLossChartOptions = {}): ChartSpec {
  checkSeriesLengths('ganLossChart', 'iteration', history.iteration, { dLoss: history.dLoss, gLoss: history.gLoss });
  const rows = history.iteration.map((iteration, i) => ({
    iteration,
    d_loss: finiteOrNull(history.dLoss[i]),
    g_loss: finiteOrNull(history.gLoss[i]),
  }));
  const hoverRows = evenlySpacedIndices(rows.length, options.tooltipPoints ?? 400).map((i) => rows[i]);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title ?? 'GAN losses: discriminator (d_loss) and generator (g_loss)',
    width: options.width ?? 480,
    height: options.height ?? 260,
    data: { values: rows },
    layer: [
      {
        name: 'lines',
        transform: [{ fold: ['d_loss', 'g_loss'], as: ['series', 'loss'] }],
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
          y: { field: 'loss', type: 'quantitative', title: 'loss (binary cross-entropy)' },
          color: {
            field: 'series',
            type: 'nominal',
            title: 'loss',
            scale: { domain: ['d_loss', 'g_loss'], range: ['#1f77b4', '#d62728'] },
          },
        },
      },
      hoverRuleLayer(hoverRows, 'iteration', [
        { field: 'iteration', type: 'quantitative', title: 'iteration' },
        { field: 'd_loss', type: 'quantitative', title: 'd_loss', format: '.4f' },
        { field: 'g_loss', type: 'quantitative', title: 'g_loss', format: '.4f' },
      ]),
    ],
  } as ChartSpec;
}

/** A vertical rule that appears at the x value nearest the pointer, with a tooltip. */
function hoverRuleLayer(rows: object[], xField: string, tooltip: object[]): object {
  return {
    name: 'hover',
    data: { values: rows },
    mark: { type: 'rule', color: 'gray', aria: false },
    params: [
      {
        name: 'hover',
        select: { type: 'point', fields: [xField], nearest: true, on: 'pointerover', clear: 'pointerout' },
      },
    ],
    encoding: {
      x: { field: xField, type: 'quantitative' },
      opacity: { condition: { param: 'hover', empty: false, value: 0.6 }, value: 0 },
      tooltip,
    },
  };
}

/** One metric per epoch, training and validation: what `metricChart` draws. */
export interface MetricSeries {
  /** What the values measure ('loss', 'accuracy', ...): the y axis, the title and the tooltip. */
  metric: string;
  /**
   * Epoch indices counted from 0, as `fit` records them (`history.epoch`). The chart numbers
   * epochs from 1, like the printed lines and the progress bar: index 0 is drawn as epoch 1.
   */
  epoch: number[];
  /** Training values, one per epoch (e.g. `history.accuracy`, undefined when not recorded). */
  train: number[] | undefined;
  /** Validation values, one per epoch (e.g. `history.valAccuracy`); omitted or empty without validation. */
  validation?: number[];
}

export interface MetricChartOptions extends ChartOptions {
  /** Y axis title. Default: the metric's name. */
  yTitle?: string;
  /** Legend names of the two curves. Default 'training' and 'validation'. */
  trainingName?: string;
  validationName?: string;
  /** A dot at every epoch (with a tooltip). Default: true up to 200 epochs. */
  points?: boolean;
}

/**
 * A metric's training (and validation) values against epoch (counted from 1), one line each:
 * `metricChart({ metric: 'accuracy', epoch: history.epoch, train: history.accuracy,
 * validation: history.valAccuracy })`.
 */
export function metricChart(series: MetricSeries, options: MetricChartOptions = {}): ChartSpec {
  const { metric, epoch: epochs, train } = series;
  if (train === undefined) {
    throw new Error(
      `metricChart: no training values for ${metric} (train is undefined). fit records accuracy only for a model ` +
        "compiled with metrics: ['accuracy'].",
    );
  }
  const validation = series.validation && series.validation.length > 0 ? series.validation : undefined;
  checkSeriesLengths('metricChart', 'epoch', epochs, { train, validation }, '');
  const trainingName = options.trainingName ?? 'training';
  const validationName = options.validationName ?? 'validation';
  if (trainingName === validationName) {
    throw new Error(
      `metricChart: options.trainingName and options.validationName must differ, both are "${trainingName}".`,
    );
  }
  const curves: Record<string, number[]> = { [trainingName]: train };
  if (validation) curves[validationName] = validation;
  return epochLinesChart(epochs, curves, {
    title: options.title ?? (validation ? `Training and validation ${metric}` : `Training ${metric}`),
    width: options.width,
    height: options.height,
    yTitle: options.yTitle ?? metric,
    valueTitle: metric,
    points: options.points ?? epochs.length <= 200,
  });
}

/** How epochLinesChart draws its curves. */
export interface EpochLinesOptions {
  title: string;
  width?: number;
  height?: number;
  yTitle: string;
  /** The value's name in the tooltip. */
  valueTitle: string;
  /** A dot with a tooltip at every epoch. */
  points: boolean;
  /** 'log' for series of different sizes together. Default 'linear' (not starting at zero). */
  yScale?: 'linear' | 'log';
}

const EPOCH_PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/**
 * Named per-epoch series as lines against the epoch counted from 1: what metricChart (and so
 * lossChart) and epochSeriesChart draw. The caller has checked the series' lengths.
 */
export function epochLinesChart(
  epochs: readonly number[],
  series: Readonly<Record<string, readonly number[]>>,
  options: EpochLinesOptions,
): ChartSpec {
  const names = Object.keys(series);
  const rows = epochs.map((epoch, i) => {
    const row: Record<string, number | null> = { epoch: epoch + 1 };
    // NaN or infinity (a diverged loss) becomes a gap in the line.
    for (const name of names) row[name] = finiteOrNull(series[name][i]);
    return row;
  });
  // Whole epochs only: with fewer ticks than epochs, d3's nice tick steps stay integers.
  const epochTickCount = Math.max(1, Math.min(rows.length - 1, 10));
  // The axis spans exactly the epochs drawn (vega-lite would otherwise stretch it down to 0);
  // a single epoch still gets a span of one, so the scale is not empty.
  const firstEpoch = rows.length > 0 ? Math.min(...epochs) + 1 : 1;
  const lastEpoch = Math.max(firstEpoch + 1, ...epochs.map((epoch) => epoch + 1));
  const logScale = options.yScale === 'log';
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title,
    width: options.width ?? 480,
    height: options.height ?? 260,
    data: { values: rows },
    transform: [{ fold: names, as: ['series', 'value'] }],
    mark: {
      type: 'line',
      strokeWidth: 2,
      point: options.points ? { size: 30, filled: true } : false,
      tooltip: options.points,
    },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [firstEpoch, lastEpoch] },
        axis: { tickCount: epochTickCount },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: logScale ? `${options.yTitle} (log scale)` : options.yTitle,
        scale: logScale ? { type: 'log' } : { zero: false },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: names, range: EPOCH_PALETTE.slice(0, names.length) },
      },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'curve' },
        { field: 'epoch', type: 'quantitative', title: 'epoch' },
        { field: 'value', type: 'quantitative', title: options.valueTitle, format: '.4f' },
      ],
    },
  } as ChartSpec;
}

/** The part of `fit`'s history a loss chart reads. */
export interface LossHistoryLike {
  /** Epoch indices counted from 0, as `fit` records them; drawn from 1. */
  epoch: number[];
  /** Training loss, one per epoch. */
  loss: number[];
  /** Validation loss, one per epoch; omitted or empty when there was no validation. */
  valLoss?: number[];
}

/** Training (and validation) loss against epoch: `metricChart` for a `fit` history's loss. */
export function lossChart(history: LossHistoryLike, options: MetricChartOptions = {}): ChartSpec {
  const validation = history.valLoss && history.valLoss.length > 0 ? history.valLoss : undefined;
  checkSeriesLengths('lossChart', 'epoch', history.epoch, { loss: history.loss, valLoss: validation });
  return metricChart({ metric: 'loss', epoch: history.epoch, train: history.loss, validation: validation }, options);
}

export interface StemChartOptions {
  /** Title above the small multiples. Default 'z-codes: one stem per code value'. */
  title?: string;
  /** One label per row of values (e.g. the digit). Default '0', '1', ... */
  labels?: string[];
  /** Small multiples per row. Default 5 (10 codes: 2 rows of 5); values.length gives one row. */
  columns?: number;
  /** Size of each small multiple in pixels. Default 200 x 90. */
  cellWidth?: number;
  cellHeight?: number;
  /** Axis titles. Default 'code index' and 'value'. */
  xTitle?: string;
  yTitle?: string;
}

/** A stem (lollipop) plot per code: a rule from 0 to each value and a dot at its end. */
export function stemChart(values: number[][], options: StemChartOptions = {}): ChartSpec {
  if (values.length === 0) throw new Error('stemChart: values is empty; pass one array of code values per row.');
  const labels = options.labels ?? values.map((_, i) => String(i));
  if (labels.length !== values.length) {
    throw new Error(
      `stemChart: options.labels has ${labels.length} labels but values has ${values.length} rows; ` +
        'give one label per row.',
    );
  }
  if (new Set(labels).size !== labels.length) {
    throw new Error(
      `stemChart: options.labels must be distinct (each names one small multiple), got ${labels.join(', ')}.`,
    );
  }
  const rows: { r: string; k: number; v: number }[] = [];
  values.forEach((code, row) => {
    code.forEach((value, k) => {
      if (!Number.isFinite(value)) {
        throw new Error(`stemChart: values[${row}][${k}] is ${value}; every code value must be a finite number.`);
      }
      rows.push({ r: labels[row], k, v: value });
    });
  });
  const xTitle = options.xTitle ?? 'code index';
  const yTitle = options.yTitle ?? 'value';
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title ?? 'z-codes: one stem per code value',
    data: { values: rows },
    columns: options.columns ?? 5,
    facet: {
      field: 'r',
      type: 'nominal',
      title: null,
      sort: labels,
      header: { labelFontSize: 13, labelFontWeight: 'bold' },
    },
    spec: {
      width: options.cellWidth ?? 200,
      height: options.cellHeight ?? 90,
      layer: [
        {
          name: 'stems',
          mark: { type: 'rule', color: '#4c78a8', aria: false },
          encoding: {
            x: { field: 'k', type: 'quantitative', title: xTitle },
            y: { field: 'v', type: 'quantitative', title: yTitle },
            y2: { datum: 0 },
          },
        },
        {
          name: 'dots',
          mark: { type: 'point', filled: true, size: 20, color: '#4c78a8', opacity: 1 },
          encoding: {
            x: { field: 'k', type: 'quantitative', title: xTitle },
            y: { field: 'v', type: 'quantitative', title: yTitle },
            tooltip: [
              { field: 'r', type: 'nominal', title: 'code of' },
              { field: 'k', type: 'quantitative', title: xTitle },
              { field: 'v', type: 'quantitative', title: yTitle, format: '.3f' },
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as ChartSpec;
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
  const rows = scores.map((s) => ({
    iteration: s.iteration,
    recognised: s.recognisedShare,
    inception: s.inceptionScore,
  }));
  const x = { field: 'iteration', type: 'quantitative', title: 'iteration' };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title ?? 'Sample quality: recognised share, inception score',
    width: options.width ?? 360,
    height: options.height ?? 260,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'line', point: true, color: '#2ca02c' },
        encoding: {
          x,
          y: {
            field: 'recognised',
            type: 'quantitative',
            title: 'share recognised (confidence >= 0.9)',
            scale: { domain: [0, 1] },
            axis: { titleColor: '#2ca02c' },
          },
        },
      },
      {
        mark: { type: 'line', point: true, color: '#9467bd', strokeDash: [4, 2] },
        encoding: {
          x,
          y: {
            field: 'inception',
            type: 'quantitative',
            title: 'inception score (1-10)',
            scale: { domain: [1, 10] },
            axis: { titleColor: '#9467bd', orient: 'right' },
          },
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  } as ChartSpec;
}
