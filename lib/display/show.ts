/**
 * Showing charts and pictures in a tslab notebook.
 *
 * A chart is one bundle of several representations (kernel.ts), and each front end picks its own:
 * JupyterLab the richest it can render (its vega5 extension, rank 57, beats image/svg+xml, rank 80),
 * so the chart is interactive there; nbconvert's HTML exporter the first type of its
 * display_data_priority it finds (application/javascript, text/html, ..., image/svg+xml, ...,
 * text/plain), ignoring vega-lite, so the exported page shows the static SVG. The bundle therefore
 * holds no text/html, which would win over the SVG there. (The project's export template,
 * scripts/nbconvert/offline/, draws charts whose spec says usermeta.htmlExport = 'interactive' live
 * over that SVG, with vega inlined.) Outside a kernel the show* functions and LiveChart draw nothing.
 */
import { inKernel, LiveOutput, publishBundle, type MimeBundle } from './kernel';
import { renderSvg, type ChartSpec } from '../viz/render';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

/** A short text stand-in for front ends that show nothing richer. */
function chartText(spec: ChartSpec): string {
  const title = (spec as { title?: string | { text?: string } }).title;
  return `<vega-lite chart: ${(typeof title === 'string' ? title : title?.text) ?? 'untitled'}>`;
}

/** Display metadata: JupyterLab's vega extension reads embed_options (e.g. the canvas renderer). */
function chartMetadata(spec: ChartSpec): Record<string, unknown> {
  const usermeta = (spec as { usermeta?: { embedOptions?: unknown } }).usermeta;
  return usermeta?.embedOptions ? { [VEGA_LITE_MIME]: { embed_options: usermeta.embedOptions } } : {};
}

/** The bundle showChart publishes: the spec (interactive), its SVG (static) and a text line. */
export async function chartBundle(spec: ChartSpec): Promise<MimeBundle> {
  return {
    [VEGA_LITE_MIME]: spec,
    'image/svg+xml': await renderSvg(spec),
    'text/plain': chartText(spec),
  };
}

/**
 * Shows a vega-lite chart as one cell output: interactive in JupyterLab, static SVG in the HTML
 * export. `await` it, so the output lands in the cell that called it. Draws nothing outside a
 * kernel. Returns nothing, so a cell that ends with it prints no stray value.
 */
export async function showChart(spec: ChartSpec): Promise<void> {
  if (!inKernel()) return;
  publishBundle(await chartBundle(spec), chartMetadata(spec));
}

/** Width and height of a PNG, read from its header; throws on bytes that are not a PNG. */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = '89504e470d0a1a0a';
  if (
    png.length < 24 ||
    png.subarray(0, 8).toString('hex') !== signature ||
    png.subarray(12, 16).toString('latin1') !== 'IHDR'
  ) {
    throw new Error('Expected PNG bytes (such as imageGrid returns), but the data does not start with a PNG header.');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Shows PNG bytes (an image grid) as image/png; shows nothing outside a kernel (but still checks the bytes). */
export function showImage(png: Buffer): void {
  const { width, height } = pngSize(png);
  if (inKernel())
    publishBundle({ 'image/png': png.toString('base64'), 'text/plain': `<PNG image ${width}x${height}>` });
}

export interface LiveChartOptions {
  /** Minimum milliseconds between redraws; updates in between are skipped. Default 1000. */
  minIntervalMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/**
 * One chart output redrawn in place (update_display_data), e.g. loss curves during training:
 * call `update(spec)` as the history grows and `finish(spec)` at the end. Updates carry the
 * vega-lite spec only (JupyterLab renders it); `finish` adds the static SVG the HTML export
 * shows. Outside a kernel both return false and render nothing.
 */
export class LiveChart {
  private readonly output = new LiveOutput();
  private lastDrawnAt = -Infinity;
  private latestRequest = 0;

  constructor(private readonly options: LiveChartOptions = {}) {}

  /**
   * Redraws with `spec` unless the last redraw was under minIntervalMs ago (or `force`). True if
   * drawn. Pass a function to build the spec only when it will be drawn: called every training
   * step, most updates are skipped, and building the spec from the whole history costs time.
   */
  async update(spec: ChartSpec | (() => ChartSpec), force = false): Promise<boolean> {
    if (!inKernel()) return false;
    const startedAt = (this.options.now ?? Date.now)();
    if (!force && startedAt - this.lastDrawnAt < (this.options.minIntervalMs ?? 1000)) return false;
    this.lastDrawnAt = startedAt;
    if (typeof spec === 'function') spec = spec();
    const request = ++this.latestRequest;
    // While training, JupyterLab draws the spec itself; rendering the static SVG (for the HTML
    // export) costs tens of milliseconds per redraw, so only the final drawing carries it.
    const bundle = force ? await chartBundle(spec) : { [VEGA_LITE_MIME]: spec, 'text/plain': chartText(spec) };
    // An update not awaited by the caller may finish after a newer one: never draw stale data.
    if (request !== this.latestRequest) return false;
    return this.output.show(bundle, chartMetadata(spec));
  }

  /** Draws the final state, whatever the throttle. */
  finish(spec: ChartSpec | (() => ChartSpec)): Promise<boolean> {
    return this.update(spec, true);
  }
}
