/**
 * The 2-D latent space (SPEC D): the scatter of encoded digits with each digit's label at its
 * centroid and its convex hull, plus markers for chosen points; and the pure helpers that pick
 * those points (a random member or one hull vertex per digit, uniform points in the bounding box).
 *
 * Hulls come from d3-polygon's polygonHull. d3-polygon 3 is an ES-module-only package; the
 * sources run as CommonJS (tsx for tests and scripts, tslab for notebooks), and Node >= 20.19
 * loads it through require(esm) without a flag or warning (checked under tsx and the kernel).
 */
import { polygonHull } from 'd3-polygon';
import type { ChartSpec } from './render';
import { localizeChart } from './locale';
import { checkWholeNumbers } from './pixels';
import { VEGA_LITE_SCHEMA, type ChartOptions } from './charts';

/** A point of the 2-D latent plane. */
export interface LatentPoint {
  x: number;
  y: number;
}

/** A labelled marker drawn over the scatter, e.g. a digit's member or a random point. */
export interface LatentMarker extends LatentPoint {
  label: string;
}

/** The axis-aligned bounding box of a cloud of points. */
export interface LatentBox {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export interface DigitCentroid extends LatentPoint {
  digit: number;
  /** How many points carry this digit. */
  count: number;
}

/** A real encoded point: its position and its index in the input. */
export interface HullVertex extends LatentPoint {
  index: number;
}

/** A real encoded point chosen for a digit (a hull corner, a member of its cloud), with that digit. */
export interface DigitPoint extends HullVertex {
  digit: number;
}

export interface DigitHull {
  digit: number;
  /** The hull's vertices in order around it (d3's order); fewer than 3 when the digit has fewer distinct points. */
  vertices: HullVertex[];
}

/** Encoded points as x0, y0, x1, y1, ... (an n x 2 tensor's data). */
export type LatentPoints = ArrayLike<number>;

function pointCount(caller: string, points: LatentPoints): number {
  if (points.length % 2 !== 0) {
    throw new Error(
      `${caller}: points must hold x, y pairs (length n*2), but its length is ${points.length}, an odd number.`,
    );
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) {
      throw new Error(
        `${caller}: points[${i}] (point ${i >> 1}, ${i % 2 === 0 ? 'x' : 'y'}) is ${points[i]}; ` +
          'every coordinate must be a finite number.',
      );
    }
  }
  return points.length / 2;
}

function checkLabels(caller: string, points: LatentPoints, labels: ArrayLike<number>): number {
  const n = pointCount(caller, points);
  if (labels.length !== n) {
    throw new Error(
      `${caller}: labels has ${labels.length} entries but points holds ${n} points; give one digit label per point.`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(labels[i])) {
      throw new Error(`${caller}: labels[${i}] is ${labels[i]}; labels must be whole numbers (the digit 0-9).`);
    }
  }
  return n;
}

/** Point indices grouped by label, labels in increasing order. */
function indicesByDigit(labels: ArrayLike<number>, n: number): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const group = groups.get(labels[i]);
    if (group) group.push(i);
    else groups.set(labels[i], [i]);
  }
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/** The bounding box of the points. */
export function latentBox(points: LatentPoints): LatentBox {
  const n = pointCount('latentBox', points);
  if (n === 0) throw new Error('latentBox: points is empty; a bounding box needs at least one point.');
  const box = { xMin: Infinity, xMax: -Infinity, yMin: Infinity, yMax: -Infinity };
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    if (x < box.xMin) box.xMin = x;
    if (x > box.xMax) box.xMax = x;
    if (y < box.yMin) box.yMin = y;
    if (y > box.yMax) box.yMax = y;
  }
  return box;
}

/** Mean position of each digit's points, digits in increasing order. */
export function digitCentroids(points: LatentPoints, labels: ArrayLike<number>): DigitCentroid[] {
  const n = checkLabels('digitCentroids', points, labels);
  return [...indicesByDigit(labels, n)].map(([digit, indices]) => {
    const mean = (offset: number) => indices.reduce((sum, i) => sum + points[2 * i + offset], 0) / indices.length;
    return { digit, x: mean(0), y: mean(1), count: indices.length };
  });
}

/** Each digit's convex hull (d3-polygon's polygonHull), digits in increasing order. */
export function digitHulls(points: LatentPoints, labels: ArrayLike<number>): DigitHull[] {
  const n = checkLabels('digitHulls', points, labels);
  return [...indicesByDigit(labels, n)].map(([digit, indices]) => {
    const pairs = indices.map((i): [number, number] => [points[2 * i], points[2 * i + 1]]);
    // polygonHull returns the very pair objects it was given, so each vertex maps back to its index.
    const indexOfPair = new Map(pairs.map((pair, k) => [pair, indices[k]]));
    const hull = polygonHull(pairs);
    // Under 3 points there is no polygon (polygonHull gives null): the points themselves, a repeated one once.
    const vertices = hull
      ? hull.map((pair) => ({ x: pair[0], y: pair[1], index: indexOfPair.get(pair) as number }))
      : pairs
          .map(([x, y], k) => ({ x, y, index: indices[k] }))
          .filter((v, k, all) => k === 0 || v.x !== all[0].x || v.y !== all[0].y);
    return { digit, vertices };
  });
}

/**
 * The vertex of each digit's hull farthest from the digit's centroid (04's "try next"). Each is a real
 * encoded image, but an extreme one: where the corner lies among other digits' clouds it can decode as
 * another digit. For a typical member, as the companion blog decodes, see pickDigitMembers.
 */
export function pickHullPoints(points: LatentPoints, labels: ArrayLike<number>): DigitPoint[] {
  const centroids = digitCentroids(points, labels);
  return digitHulls(points, labels).map(({ digit, vertices }, i) => {
    const distance = (v: HullVertex) => (v.x - centroids[i].x) ** 2 + (v.y - centroids[i].y) ** 2;
    return { digit, ...vertices.reduce((best, v) => (distance(v) > distance(best) ? v : best)) };
  });
}

/**
 * One code from each digit's own cloud, drawn with `rng` from among that digit's first `among`
 * points (in input order), digits in increasing order: a typical member, as the companion blog
 * picks them. (The blog writes `ConvexHull(points).points[randint(0, 100)]`; a SciPy hull's
 * `.points` is the whole input cloud, not the hull's corners.) Each is a real encoded image.
 */
export function pickDigitMembers(
  points: LatentPoints,
  labels: ArrayLike<number>,
  rng: () => number,
  among = 100,
): DigitPoint[] {
  checkWholeNumbers('pickDigitMembers', [['among', among, 1]]);
  const n = checkLabels('pickDigitMembers', points, labels);
  return [...indicesByDigit(labels, n)].map(([digit, indices]) => {
    const pool = Math.min(among, indices.length);
    const index = indices[Math.min(pool - 1, Math.floor(rng() * pool))];
    return { digit, index, x: points[2 * index], y: points[2 * index + 1] };
  });
}

/** `n` points drawn uniformly in the bounding box of `points` (many land where no digit is). */
export function randomPointsInBox(points: LatentPoints, n: number, rng: () => number): LatentPoint[] {
  checkWholeNumbers('randomPointsInBox', [['n', n, 0]]);
  const box = latentBox(points);
  return Array.from({ length: n }, () => ({
    x: box.xMin + rng() * (box.xMax - box.xMin),
    y: box.yMin + rng() * (box.yMax - box.yMin),
  }));
}

/** Packs latent points as x0, y0, x1, y1, ... for a decoder (an m x 2 tensor's data). */
export function latentPointsToArray(points: readonly LatentPoint[]): Float32Array {
  return Float32Array.from(points.flatMap((p) => [p.x, p.y]));
}

/** A path drawn over the scatter, e.g. the line between two centroids and the points decoded along it. */
export interface LatentLine {
  /** The points in order (at least 2); each gets a small dot, so decoded points can be told apart. */
  points: readonly LatentPoint[];
  /** Written beside the first point, e.g. '3 → 8'. Default none. */
  label?: string;
}

export interface LatentScatterData {
  /** Encoded points as x0, y0, x1, y1, ... */
  points: LatentPoints;
  /** The digit of each point. */
  labels: ArrayLike<number>;
  /** Labelled points drawn on top (digit members, random points). Default none. */
  markers?: LatentMarker[];
  /** Paths drawn on top, in black over a white halo (e.g. an interpolation line). Default none. */
  lines?: LatentLine[];
}

/** Rounding to about 4 significant digits of `extent` (compact inline JSON). */
export function roundingFor(extent: number): (value: number) => number {
  const decimals = extent > 0 ? Math.min(8, Math.max(0, 3 - Math.floor(Math.log10(extent)))) : 4;
  return (value) => Number(value.toFixed(decimals));
}

/** The latent plane's axes, as every layer over it encodes them. */
export const LATENT_AXES = {
  x: { field: 'x', type: 'quantitative', title: 'z[0]', scale: { zero: false } },
  y: { field: 'y', type: 'quantitative', title: 'z[1]', scale: { zero: false } },
} as const;

/** Tooltip entries of a position. */
const AT = [LATENT_AXES.x, LATENT_AXES.y].map(({ field, type, title }) => ({ field, type, title }));

/** Throws unless every point (a marker, a point of a line) has finite coordinates; `what` names it. */
function checkFinite(what: (i: number) => string, points: readonly LatentPoint[]): void {
  points.forEach((p, i) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new Error(`latentScatterChart: ${what(i)} has x=${p.x}, y=${p.y}; coordinates must be finite numbers.`);
  });
}

/**
 * Latent scatter (480 x 480 unless options say otherwise): dots coloured by digit (category10), each
 * digit's hull as a closed outline with a faint fill, the digit at its centroid, and labelled markers on top.
 */
export function latentScatterChart(data: LatentScatterData, options: ChartOptions = {}): ChartSpec {
  return localizeChart(
    {
      $schema: VEGA_LITE_SCHEMA,
      title: options.title ?? 'Latent space: each dot is one encoded test image',
      width: options.width ?? 480,
      height: options.height ?? 480,
      // JupyterLab (vega-embed reads usermeta) draws it on a canvas: one bitmap instead of 10,000 DOM
      // nodes keeps panning, hovering and scrolling smooth.
      usermeta: { embedOptions: { renderer: 'canvas' } },
      layer: latentLayers(data),
    } as ChartSpec,
    options.locale,
  );
}

/**
 * The scatter's layers, its data checked first: dots, hulls, centroid labels, lines, markers. Layer
 * names become vega mark names ('points' -> 'points_marks'), found again in the SVG. Coordinates are
 * rounded by `round`, by default to 4 significant digits of the points' extent.
 */
export function latentLayers(data: LatentScatterData, round?: (value: number) => number): object[] {
  const n = checkLabels('latentScatterChart', data.points, data.labels);
  if (n === 0) throw new Error('latentScatterChart: points is empty; encode some images first.');
  const box = latentBox(data.points);
  round ??= roundingFor(Math.max(box.xMax - box.xMin, box.yMax - box.yMin));
  const markers = data.markers ?? [];
  checkFinite((i) => `markers[${i}] ("${markers[i].label}")`, markers);
  const lines = data.lines ?? [];
  lines.forEach((line, l) => {
    if (line.points.length < 2)
      throw new Error(`latentScatterChart: lines[${l}] has ${line.points.length} point(s); a line needs at least 2.`);
    checkFinite((k) => `lines[${l}].points[${k}]`, line.points);
  });
  const digits = [...indicesByDigit(data.labels, n).keys()];
  const color = {
    field: 'd',
    type: 'nominal',
    scale: { domain: digits, scheme: 'category10' },
    legend: { title: 'digit' },
  };
  return [
    pointsLayer(data, n, round, color),
    hullsLayer(data, round, color),
    ...centroidLayers(data, round),
    ...lineLayers(lines, round),
    ...markerLayers(markers, round),
  ];
}

/** One layer over the latent plane; its name becomes vega's mark name (`<name>_marks`), found again in the SVG. */
function layer(name: string, values: object[], mark: object, encoding: object): object {
  return { name, data: { values }, mark, encoding };
}

/** What is drawn over the dots: black marks outlined in white, and bold black labels. */
export const OUTLINED = { color: 'black', stroke: 'white', strokeWidth: 1, opacity: 1 };
const LABEL = { type: 'text', fontSize: 12, fontWeight: 'bold', color: 'black' };

/** One dot per point, short field names (10,000 rows of {x, y, d} inline); hovering shows its digit. */
function pointsLayer(data: LatentScatterData, n: number, round: (v: number) => number, color: object): object {
  const rows = Array.from({ length: n }, (_, i) => ({
    x: round(data.points[2 * i]),
    y: round(data.points[2 * i + 1]),
    d: data.labels[i],
  }));
  const tooltip = [{ field: 'd', type: 'nominal', title: 'digit' }, ...AT];
  const dot = { type: 'circle', size: 10, opacity: 0.5, aria: false };
  return layer('points', rows, dot, { ...LATENT_AXES, color, tooltip });
}

/** Each digit's convex hull: a closed outline with a faint fill. */
function hullsLayer(data: LatentScatterData, round: (v: number) => number, color: object): object {
  const rows = digitHulls(data.points, data.labels).flatMap((hull) =>
    hull.vertices.map((v, o) => ({ d: hull.digit, x: round(v.x), y: round(v.y), o })),
  );
  return layer(
    'hulls',
    rows,
    { type: 'line', interpolate: 'linear-closed', strokeWidth: 1.5, strokeOpacity: 0.8, fillOpacity: 0.06 },
    {
      ...LATENT_AXES,
      order: { field: 'o', type: 'quantitative' },
      color,
      fill: color,
      tooltip: [{ field: 'd', type: 'nominal', title: 'hull of digit' }],
    },
  );
}

/** Each digit written at its centroid, over a white halo that keeps it readable on dense dots. */
function centroidLayers(data: LatentScatterData, round: (v: number) => number): object[] {
  const rows = digitCentroids(data.points, data.labels).map((c) => ({
    d: c.digit,
    x: round(c.x),
    y: round(c.y),
    c: c.count,
  }));
  const text = { type: 'text', fontSize: 18, fontWeight: 'bold' };
  const encoding = { ...LATENT_AXES, text: { field: 'd', type: 'nominal' } };
  const tooltip = [
    { field: 'd', type: 'nominal', title: 'centroid of digit' },
    { field: 'c', type: 'quantitative', title: 'points' },
  ];
  const halo = { ...text, stroke: 'white', strokeWidth: 4, strokeOpacity: 0.9, aria: false };
  return [
    layer('centroidHalos', rows, halo, encoding),
    layer('centroidLabels', rows, { ...text, color: 'black' }, { ...encoding, tooltip }),
  ];
}

/** The lines: black over a white halo, a dot at each point (its step in the tooltip), a label at the start. */
function lineLayers(lines: LatentLine[], round: (v: number) => number): object[] {
  if (lines.length === 0) return [];
  // l: which line, k: order along it.
  const rows = lines.flatMap((line, l) => line.points.map((p, k) => ({ x: round(p.x), y: round(p.y), l, k })));
  const path = { ...LATENT_AXES, detail: { field: 'l', type: 'nominal' }, order: { field: 'k', type: 'quantitative' } };
  const labelRows = lines.flatMap((line, l) =>
    line.label ? [{ x: round(line.points[0].x), y: round(line.points[0].y), t: line.label, l }] : [],
  );
  const label = { ...LABEL, align: 'right', baseline: 'top', dx: -6, dy: 6, stroke: 'white', strokeWidth: 0.4 };
  const step = [{ field: 'k', type: 'quantitative', title: 'step' }, ...AT];
  return [
    layer('lineHalos', rows, { type: 'line', color: 'white', strokeWidth: 5, opacity: 0.9, aria: false }, path),
    layer('lines', rows, { type: 'line', color: 'black', strokeWidth: 2 }, path),
    layer('linePoints', rows, { type: 'circle', size: 28, ...OUTLINED }, { ...LATENT_AXES, tooltip: step }),
    ...(labelRows.length === 0
      ? []
      : [layer('lineLabels', labelRows, label, { ...LATENT_AXES, text: { field: 't', type: 'nominal' } })]),
  ];
}

/** Labelled markers: a black diamond and its label, both with a tooltip. */
function markerLayers(markers: LatentMarker[], round: (v: number) => number): object[] {
  if (markers.length === 0) return [];
  const rows = markers.map((m) => ({ x: round(m.x), y: round(m.y), t: m.label }));
  const tooltip = [{ field: 't', type: 'nominal', title: 'marker' }, ...AT];
  const diamond = { type: 'point', shape: 'diamond', filled: true, size: 110, ...OUTLINED };
  const label = { ...LABEL, align: 'left', baseline: 'bottom', dx: 7, dy: -5 };
  return [
    layer('markers', rows, diamond, { ...LATENT_AXES, tooltip }),
    layer('markerLabels', rows, label, { ...LATENT_AXES, text: { field: 't', type: 'nominal' }, tooltip }),
  ];
}
