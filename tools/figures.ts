/**
 * The README's pictures come from the notebooks themselves: in each chapter notebook one code
 * cell is tagged `readme-figure`, and after a full-profile run its image outputs are copied out
 * of the executed notebook. Several PNG outputs (e.g. a row of originals and a row of
 * reconstructions) are stacked into one picture; a cell with only a chart gives its SVG.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createCanvas, loadImage } from 'canvas';
import { writeFileAtomic } from '../lib/persist';
import { cellTags, readNotebook, type NotebookCell } from './ipynb';

export const FIGURE_TAG = 'readme-figure';

export interface ExtractedFigure {
  /** The executed notebook it came from. */
  notebook: string;
  /** The picture written. */
  file: string;
  kind: 'png' | 'svg';
  /** How many outputs went into it (stacked PNGs). */
  parts: number;
}

interface DisplayOutput {
  output_type: string;
  data?: Record<string, unknown>;
}

function imageOutputs(cell: NotebookCell): { png: Buffer[]; svg: string[] } {
  const png: Buffer[] = [];
  const svg: string[] = [];
  for (const output of (cell.outputs ?? []) as DisplayOutput[]) {
    if (output.output_type !== 'display_data' && output.output_type !== 'execute_result') continue;
    const data = output.data ?? {};
    const pngData = data['image/png'];
    const svgData = data['image/svg+xml'];
    if (typeof pngData === 'string') png.push(Buffer.from(pngData, 'base64'));
    else if (typeof svgData === 'string' || Array.isArray(svgData))
      svg.push(Array.isArray(svgData) ? svgData.join('') : svgData);
  }
  return { png, svg };
}

/** PNGs one above the other on white, centred, with `gap` pixels between them. */
export async function stackPngs(parts: Buffer[], gap = 8): Promise<Buffer> {
  const images = await Promise.all(parts.map((part) => loadImage(part)));
  const width = Math.max(...images.map((image) => image.width));
  const height = images.reduce((sum, image) => sum + image.height, 0) + gap * (images.length - 1);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = 'white';
  context.fillRect(0, 0, width, height);
  let y = 0;
  for (const image of images) {
    context.drawImage(image, Math.floor((width - image.width) / 2), y);
    y += image.height + gap;
  }
  return canvas.toBuffer('image/png');
}

/**
 * Writes the figure of one executed notebook to `<outDir>/<notebook name>.png` (or .svg).
 * Returns undefined when no cell carries the tag; throws, naming the notebook and the cell,
 * when the tagged cell has no picture (the notebook was not executed, or the cell failed).
 */
export async function extractFigure(executedPath: string, outDir: string): Promise<ExtractedFigure | undefined> {
  const notebook = readNotebook(executedPath);
  const index = notebook.cells.findIndex((cell) => cellTags(cell).includes(FIGURE_TAG));
  if (index < 0) return undefined;
  const { png, svg } = imageOutputs(notebook.cells[index]);
  const base = path.join(outDir, path.basename(executedPath, '.ipynb'));
  if (png.length > 0) {
    const file = `${base}.png`;
    await writeFileAtomic(file, png.length === 1 ? png[0] : await stackPngs(png));
    return { notebook: executedPath, file, kind: 'png', parts: png.length };
  }
  if (svg.length > 0) {
    const file = `${base}.svg`;
    await writeFileAtomic(file, svg[0]);
    return { notebook: executedPath, file, kind: 'svg', parts: 1 };
  }
  throw new Error(
    `${executedPath}: cell ${index + 1} is tagged "${FIGURE_TAG}" but has no image/png or image/svg+xml output; ` +
      'run the notebooks first (npm run notebooks) and point at the executed copies.',
  );
}

/** Every executed notebook in `executedDir` that has a tagged cell, in name order. */
export async function extractFigures(executedDir: string, outDir: string): Promise<ExtractedFigure[]> {
  if (!fs.existsSync(executedDir)) {
    throw new Error(
      `${executedDir} does not exist: run the notebooks first (npm run notebooks -- --out ${executedDir}).`,
    );
  }
  fs.mkdirSync(outDir, { recursive: true });
  const names = fs
    .readdirSync(executedDir)
    .filter((name) => name.endsWith('.ipynb'))
    .sort();
  const figures: ExtractedFigure[] = [];
  for (const name of names) {
    const figure = await extractFigure(path.join(executedDir, name), outDir);
    if (figure) figures.push(figure);
  }
  return figures;
}
