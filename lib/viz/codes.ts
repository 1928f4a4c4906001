/**
 * The three-row code figure of SPEC C: for each image one column, the image on top, its code
 * drawn as stems (a lollipop plot) in the middle and the reconstruction at the bottom, all in
 * one PNG so that the columns line up by construction (separate outputs would each be laid out
 * on their own). The stems of every column share one vertical scale, so heights compare.
 */
import { createCanvas } from 'canvas';
import type { Tensor } from '@tensorflow/tfjs-node';
import { checkWholeNumbers, fitText, isTensor, paintImage, readImages, toGray, type GridImages } from './pixels';
import { localize } from './locale';

/** One code per image: rows of numbers, or a 2-D tensor (read, not disposed). */
export type CodeRows = readonly ArrayLike<number>[] | Tensor;

export interface CodeFigureOptions {
  /** One caption above each column, e.g. the digit. Default none. */
  captions?: string[];
  /** Titles left of the three rows. Default 'image', 'z-code', 'rebuilt'. */
  rowTitles?: [string, string, string];
  /** Each image pixel becomes a scale x scale block. Default 3 (28 * 3 = 84-pixel columns). */
  scale?: number;
}

const GAP = 4;
const TITLE_WIDTH = 64;
const CAPTION_HEIGHT = 18;
/** Space left free above and below the stems inside their panel. */
const STEM_PADDING = 4;

/**
 * Where things land in a code figure, in output pixels: the side of one enlarged image (cellSize,
 * also the width and height of a stem panel), the left edge of column k in all three rows
 * (columnX), the tops of the image, stem and reconstruction rows, and the x of stem j in column k.
 */
export function codeFigureLayout(count: number, codeLength: number, options: CodeFigureOptions = {}) {
  const scale = options.scale ?? 3;
  const cellSize = 28 * scale;
  const stemHeight = cellSize;
  checkWholeNumbers('codeFigure', [
    ['count', count, 1],
    ['codeLength', codeLength, 1],
    ['scale', scale, 1],
  ]);
  const captionHeight = options.captions?.length ? CAPTION_HEIGHT : 0;
  const columnX = (k: number) => TITLE_WIDTH + GAP + k * (cellSize + GAP);
  const imageY = GAP + captionHeight;
  const stemY = imageY + cellSize + GAP;
  const rebuiltY = stemY + stemHeight + GAP;
  return {
    width: columnX(count),
    height: rebuiltY + cellSize + GAP,
    cellSize,
    columnX,
    imageY,
    stemY,
    rebuiltY,
    stemHeight,
    stemX: (k: number, j: number) => columnX(k) + Math.floor(((j + 0.5) * cellSize) / codeLength),
  };
}

function codeRows(codes: CodeRows): ArrayLike<number>[] {
  if (!isTensor(codes)) return [...codes];
  if (codes.rank !== 2)
    throw new Error(
      `codeFigure: codes must be a 2-D tensor [images, code length], got shape [${codes.shape.join(', ')}].`,
    );
  return codes.arraySync() as number[][];
}

/**
 * Draws images (top), their codes as stems (middle) and their reconstructions (bottom), one
 * column per image, and returns PNG bytes.
 */
export function codeFigure(
  images: GridImages,
  codes: CodeRows,
  reconstructions: GridImages,
  options: CodeFigureOptions = {},
): Buffer {
  const gray = toGray('unit', 'codeFigure');
  const { values: imageValues, count } = readImages('codeFigure', 'images', images);
  const { values: rebuiltValues, count: rebuiltCount } = readImages('codeFigure', 'reconstructions', reconstructions);
  const rows = codeRows(codes);
  if (rows.length !== count || rebuiltCount !== count) {
    throw new Error(
      'codeFigure: give one code and one reconstruction per image; ' +
        `got ${count} images, ${rows.length} codes and ${rebuiltCount} reconstructions.`,
    );
  }
  const codeLength = rows[0]?.length ?? 0;
  let low = 0;
  let high = 0;
  rows.forEach((code, k) => {
    if (code.length !== codeLength)
      throw new Error(
        'codeFigure: every code must have the same length; ' +
          `codes[0] has ${codeLength} values, codes[${k}] has ${code.length}.`,
      );
    for (let j = 0; j < code.length; j++) {
      if (!Number.isFinite(code[j]))
        throw new Error(`codeFigure: codes[${k}][${j}] is ${code[j]}; every code value must be a finite number.`);
      low = Math.min(low, code[j]);
      high = Math.max(high, code[j]);
    }
  });
  const captions = (options.captions ?? []).map((caption) => localize(caption));
  if (captions.length > count)
    throw new Error(
      `codeFigure: options.captions has ${captions.length} captions for ${count} images; give at most one per image.`,
    );
  const layout = codeFigureLayout(count, codeLength, options);

  const canvas = createCanvas(layout.width, layout.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, layout.width, layout.height);
  const frame = ctx.getImageData(0, 0, layout.width, layout.height);
  const scale = layout.cellSize / 28;
  for (let k = 0; k < count; k++) {
    const x = layout.columnX(k);
    paintImage(imageValues, k, { rgba: frame.data, width: layout.width, x, y: layout.imageY }, scale, gray);
    paintImage(rebuiltValues, k, { rgba: frame.data, width: layout.width, x, y: layout.rebuiltY }, scale, gray);
  }
  ctx.putImageData(frame, 0, 0);

  // Stems: one shared vertical scale from the lowest value (or 0) to the highest (or 0).
  const inner = layout.stemHeight - 2 * STEM_PADDING;
  const span = high - low || 1;
  const yOf = (value: number) => layout.stemY + STEM_PADDING + Math.round(((high - value) / span) * inner);
  const baseline = yOf(0);
  rows.forEach((code, k) => {
    const x = layout.columnX(k);
    ctx.fillStyle = '#f2f4f8';
    ctx.fillRect(x, layout.stemY, layout.cellSize, layout.stemHeight);
    ctx.fillStyle = '#9aa3ad';
    ctx.fillRect(x, baseline, layout.cellSize, 1);
    ctx.fillStyle = '#2f6db0';
    for (let j = 0; j < codeLength; j++) {
      const [stemX, y] = [layout.stemX(k, j), yOf(code[j])];
      ctx.fillRect(stemX, Math.min(baseline, y), 1, Math.abs(y - baseline) + 1);
      if (code[j] !== 0) ctx.fillRect(stemX - 1, y - 1, 3, 3);
    }
  });

  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  captions.forEach((caption, k) => {
    if (caption)
      fitText(ctx, caption, layout.columnX(k) + layout.cellSize / 2, GAP + CAPTION_HEIGHT / 2, layout.cellSize, 13);
  });
  const [imageTitle, codeTitle, rebuiltTitle] = (options.rowTitles ?? ['image', 'z-code', 'rebuilt']).map((title) =>
    localize(title),
  );
  ctx.textAlign = 'right';
  const titleX = TITLE_WIDTH - 2;
  fitText(ctx, imageTitle, titleX, layout.imageY + layout.cellSize / 2, TITLE_WIDTH - 4, 12);
  fitText(ctx, codeTitle, titleX, layout.stemY + layout.stemHeight / 2 - 8, TITLE_WIDTH - 4, 12);
  // The scale's ends, so a stem's height reads as a number.
  ctx.fillStyle = '#666';
  fitText(ctx, formatEnd(high), titleX, layout.stemY + STEM_PADDING + 4, TITLE_WIDTH - 4, 10);
  fitText(ctx, formatEnd(low), titleX, layout.stemY + layout.stemHeight - STEM_PADDING - 4, TITLE_WIDTH - 4, 10);
  ctx.fillStyle = '#222';
  fitText(ctx, rebuiltTitle, titleX, layout.rebuiltY + layout.cellSize / 2, TITLE_WIDTH - 4, 12);
  return canvas.toBuffer('image/png');
}

function formatEnd(value: number): string {
  return value === 0 ? '0' : Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(1);
}
