/**
 * The value range of image pixels, one idea shared by the data (how MNIST bytes are scaled),
 * the pictures (how values become gray levels) and the digit score (what it expects).
 */

/** Which values image pixels hold, named after what produces them. */
export type PixelRange =
  /** [-1, 1]: (byte - 127.5) / 127.5, the scale of a tanh generator's output (the GAN). */
  | 'tanh'
  /** [0, 1]: byte / 255, the scale of a sigmoid decoder's output (the autoencoders). */
  | 'unit'
  /** [0, 255]: raw MNIST bytes. */
  | 'byte';

const BOUNDS: Record<PixelRange, [number, number]> = { tanh: [-1, 1], unit: [0, 1], byte: [0, 255] };

/** Throws an error naming the caller and the three ranges unless `range` is one of them. */
export function checkPixelRange(range: unknown, caller: string, option = 'options.range'): asserts range is PixelRange {
  if (typeof range === 'string' && Object.hasOwn(BOUNDS, range)) return;
  const ranges = "'tanh' ([-1, 1]), 'unit' ([0, 1]) or 'byte' ([0, 255])";
  throw new Error(`${caller}: ${option} must be ${ranges}; got ${JSON.stringify(range)}.`);
}

/** The lowest and highest value of a range. */
export function pixelRangeBounds(range: PixelRange): [number, number] {
  return BOUNDS[range];
}

/** How a byte 0..255 maps to a value in `range`. */
export function valueFromByte(range: PixelRange): (byte: number) => number {
  switch (range) {
    case 'tanh':
      return (byte) => (byte - 127.5) / 127.5;
    case 'unit':
      return (byte) => byte / 255;
    case 'byte':
      return (byte) => byte;
  }
}

/** How a value in `range` maps back to 0..255 (not rounded or clamped). */
export function byteFromValue(range: PixelRange): (value: number) => number {
  switch (range) {
    case 'tanh':
      return (value) => (value + 1) * 127.5;
    case 'unit':
      return (value) => value * 255;
    case 'byte':
      return (value) => value;
  }
}
