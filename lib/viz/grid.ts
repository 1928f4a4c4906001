/**
 * Image grids: rows x cols of small grayscale images (28x28 digits) drawn into one PNG with
 * canvas, each pixel enlarged to a `scale` x `scale` block (nearest neighbour: digits stay
 * crisp), with optional captions under the cells. And the latent manifold picture: a regular
 * grid over the 2-D latent box, decoded into one image.
 */
import { createCanvas } from 'canvas';
import type { LatentBox } from './latent';
import type { PixelRange } from '../data/pixelRange';
import { checkWholeNumbers, fitText, paintImage, readImages, toGray, type GridImages } from './pixels';
import { localize } from './locale';

export type { GridImages } from './pixels';

/** Caption font size in pixels; a caption shrinks to fit its cell's width. */
const CAPTION_FONT_SIZE = 12;

export interface ImageGridOptions {
  rows: number;
  cols: number;
  /** What the values mean: 'tanh' [-1, 1], 'unit' [0, 1] or 'byte' [0, 255]. Out-of-range values are clamped. */
  range: PixelRange;
  /** Each source pixel becomes a scale x scale block. Default 3. */
  scale?: number;
  /** One caption under each cell, in reading order (fewer than the cells is fine). Default none. */
  captions?: string[];
  /** Space in output pixels around and between cells. Default 2. */
  gap?: number;
  /** Colour of the gaps and the caption strip (any CSS colour). Default 'white'. */
  background?: string;
}

/**
 * Where things land in a grid picture, in output pixels: its size, the side of one enlarged image (cellSize),
 * the caption strip under each cell (0 without captions) and the top-left corner of each cell's image.
 */
export function gridLayout(options: ImageGridOptions) {
  const { rows, cols } = options;
  const scale = options.scale ?? 3;
  const gap = options.gap ?? 2;
  checkWholeNumbers('imageGrid', [
    ['options.rows', rows, 1],
    ['options.cols', cols, 1],
    ['options.scale', scale, 1],
    ['options.gap', gap, 0],
  ]);
  const cellSize = 28 * scale;
  const captionHeight = options.captions !== undefined && options.captions.length > 0 ? CAPTION_FONT_SIZE * 1.5 : 0;
  return {
    width: cols * cellSize + (cols + 1) * gap,
    height: rows * (cellSize + captionHeight) + (rows + 1) * gap,
    cellSize,
    captionHeight,
    gap,
    cellOrigin: (row: number, col: number) => ({
      x: gap + col * (cellSize + gap),
      y: gap + row * (cellSize + captionHeight + gap),
    }),
  };
}

/** Draws the images into a rows x cols grid and returns it as PNG bytes. */
export function imageGrid(images: GridImages, options: ImageGridOptions): Buffer {
  const layout = gridLayout(options);
  const scale = options.scale ?? 3;
  const gray = toGray(options.range, 'imageGrid');
  const { values, count } = readImages('imageGrid', 'images', images);
  const cells = options.rows * options.cols;
  if (count > cells) {
    throw new Error(
      `imageGrid: ${count} images do not fit ${options.rows} rows x ${options.cols} cols = ${cells} cells; ` +
        'raise rows or cols, or pass fewer images.',
    );
  }
  const captions = (options.captions ?? []).map((caption) => localize(caption));
  if (captions.length > cells) {
    throw new Error(
      `imageGrid: options.captions has ${captions.length} captions for ${cells} cells; give at most one per cell.`,
    );
  }

  const canvas = createCanvas(layout.width, layout.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = options.background ?? 'white';
  ctx.fillRect(0, 0, layout.width, layout.height);
  const frame = ctx.getImageData(0, 0, layout.width, layout.height);
  const origin = (k: number) => layout.cellOrigin(Math.floor(k / options.cols), k % options.cols);
  for (let k = 0; k < count; k++)
    paintImage(values, k, { rgba: frame.data, width: layout.width, ...origin(k) }, scale, gray);
  ctx.putImageData(frame, 0, 0);

  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  captions.forEach((caption, k) => {
    const { x, y } = origin(k);
    const middle = y + layout.cellSize + layout.captionHeight / 2;
    if (caption) fitText(ctx, caption, x + layout.cellSize / 2, middle, layout.cellSize, CAPTION_FONT_SIZE);
  });
  return canvas.toBuffer('image/png');
}

/**
 * The latent points of a steps x steps grid over `box`, as x0, y0, x1, y1, ... in reading
 * order: the first row has y = yMax (top of the picture), the last y = yMin; x runs xMin..xMax.
 */
export function latentGridPoints(box: LatentBox, steps: number): Float32Array {
  checkWholeNumbers('latentManifoldImage', [['options.steps', steps, 2]]);
  for (const key of ['xMin', 'xMax', 'yMin', 'yMax'] as const) {
    if (!Number.isFinite(box[key]))
      throw new Error(`latentManifoldImage: options.box.${key} must be a finite number, got ${box[key]}.`);
  }
  if (!(box.xMax > box.xMin) || !(box.yMax > box.yMin)) {
    throw new Error(
      'latentManifoldImage: options.box must have xMin < xMax and yMin < yMax, ' +
        `got x ${box.xMin}..${box.xMax}, y ${box.yMin}..${box.yMax}.`,
    );
  }
  const z = new Float32Array(steps * steps * 2);
  for (let row = 0; row < steps; row++) {
    const y = box.yMax - (row / (steps - 1)) * (box.yMax - box.yMin);
    for (let col = 0; col < steps; col++) {
      const i = row * steps + col;
      z[2 * i] = box.xMin + (col / (steps - 1)) * (box.xMax - box.xMin);
      z[2 * i + 1] = y;
    }
  }
  return z;
}

export interface LatentManifoldOptions {
  /** The latent region to cover, e.g. latentBox(points) or a hand-picked window. */
  box: LatentBox;
  /** Images per side: 20 decodes a 20 x 20 grid. */
  steps: number;
  /** Enlargement of each decoded pixel. Default 1 (20 x 20 digits = 560 x 560 pixels). */
  scale?: number;
}

/** Maps m latent points (x, y pairs) to m decoded 28x28 images in [0, 1] (m * 784 values). */
export type LatentDecoder = (z: Float32Array) => Float32Array | Promise<Float32Array>;

/** Decodes latent points (x, y pairs), checking for 28x28 values per point; `caller` names the function in errors. */
export async function decodeLatentPoints(decode: LatentDecoder, points: Float32Array, caller: string) {
  const images = await decode(points);
  if (images.length !== (points.length / 2) * 784) {
    throw new Error(
      `${caller}: decode returned ${images.length} values for ${points.length / 2} points; expected ` +
        `${(points.length / 2) * 784} (28x28 values per point).`,
    );
  }
  return images;
}

/** Decodes a regular grid over the latent box into one picture: digits morphing across the plane. */
export async function latentManifoldImage(decode: LatentDecoder, options: LatentManifoldOptions): Promise<Buffer> {
  const points = latentGridPoints(options.box, options.steps);
  return imageGrid(await decodeLatentPoints(decode, points, 'latentManifoldImage'), {
    rows: options.steps,
    cols: options.steps,
    range: 'unit',
    scale: options.scale ?? 1,
    gap: 0,
    background: 'black',
  });
}
