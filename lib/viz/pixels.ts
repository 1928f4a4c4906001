/**
 * Shared by the pictures (grid.ts, codes.ts, latent.ts): checking sizes, reading image values and
 * painting one image as enlarged gray blocks into an RGBA buffer. Not re-exported by lib/viz: plumbing only.
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import type { CanvasRenderingContext2D } from 'canvas';
import { byteFromValue, checkPixelRange, type PixelRange } from '../data/pixelRange';

/** n images of 28x28 values, row by row: a typed array, an array or a tf Tensor. */
export type GridImages = Float32Array | Uint8Array | number[] | Tensor;

export function isTensor(values: unknown): values is Tensor {
  return typeof (values as Tensor).dataSync === 'function' && Array.isArray((values as Tensor).shape);
}

/** The values as a flat array; a Tensor is read (not disposed: it stays the caller's). */
export function pixelValues(images: GridImages): ArrayLike<number> {
  return isTensor(images) ? images.dataSync() : images;
}

/**
 * Maps a stored value in `range` to a gray level 0-255, black to white (values outside the
 * range are clamped); `caller` names the function in the error.
 */
export function toGray(range: PixelRange, caller: string): (value: number) => number {
  checkPixelRange(range, caller);
  const toByte = byteFromValue(range);
  return (value) => {
    const level = toByte(value);
    return level <= 0 ? 0 : level >= 255 ? 255 : Math.round(level);
  };
}

/** Where one image goes: the RGBA buffer of a picture `width` pixels wide, and the top-left corner. */
export interface PaintTarget {
  rgba: Uint8ClampedArray;
  width: number;
  x: number;
  y: number;
}

/**
 * Paints image `k` of `values` (28x28 each) at the target, every source pixel as a scale x scale
 * block: nearest neighbour by construction, with no smoothing setting to depend on.
 */
export function paintImage(
  values: ArrayLike<number>,
  k: number,
  target: PaintTarget,
  scale: number,
  gray: (value: number) => number,
): void {
  for (let row = 0; row < 28; row++) {
    for (let col = 0; col < 28; col++) {
      const level = gray(values[k * 784 + row * 28 + col]);
      for (let dy = 0; dy < scale; dy++) {
        let offset = ((target.y + row * scale + dy) * target.width + target.x + col * scale) * 4;
        for (let dx = 0; dx < scale; dx++, offset += 4) {
          target.rgba[offset] = level;
          target.rgba[offset + 1] = level;
          target.rgba[offset + 2] = level;
          target.rgba[offset + 3] = 255;
        }
      }
    }
  }
}

/** The values of `images` (see pixelValues) and how many 28x28 images they hold; throws unless a whole number. */
export function readImages(caller: string, name: string, images: GridImages) {
  const values = pixelValues(images);
  if (values.length % 784 !== 0) {
    const shape = isTensor(images) ? ` (tensor shape [${images.shape.join(', ')}])` : '';
    throw new Error(
      `${caller}: ${name} holds ${values.length} values${shape}, not a whole number of 28x28 images ` +
        '(784 values each). Pass n*784 values.',
    );
  }
  return { values, count: values.length / 784 };
}

/** Throws unless every value is a whole number at least its minimum; `name` is how the caller's argument spells it. */
export function checkWholeNumbers(caller: string, checks: ReadonlyArray<readonly [string, number, number]>): void {
  for (const [name, value, min] of checks) {
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${caller}: ${name} must be a whole number >= ${min}, got ${value}.`);
  }
}

/** Draws `text` centred at (x, y), shrinking the font from `fontSize` (down to 7) until it fits `maxWidth`. */
export function fitText(
  ctx: CanvasRenderingContext2D,
  text: string,
  x: number,
  y: number,
  maxWidth: number,
  fontSize: number,
): void {
  let size = fontSize;
  ctx.font = `${size}px sans-serif`;
  while (size > 7 && ctx.measureText(text).width > maxWidth) {
    size -= 1;
    ctx.font = `${size}px sans-serif`;
  }
  ctx.fillText(text, x, y, maxWidth);
}
