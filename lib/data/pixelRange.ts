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

/** Each range by its lowest value and its bytes per unit of value: value = (byte + low * scale) / scale. */
const RANGES: Record<PixelRange, { low: number; scale: number }> = {
  tanh: { low: -1, scale: 127.5 },
  unit: { low: 0, scale: 255 },
  byte: { low: 0, scale: 1 },
};

/** Throws an error naming the caller and the three ranges unless `range` is one of them. */
export function checkPixelRange(range: unknown, caller: string): asserts range is PixelRange {
  if (typeof range === 'string' && Object.hasOwn(RANGES, range)) return;
  const ranges = "'tanh' ([-1, 1]), 'unit' ([0, 1]) or 'byte' ([0, 255])";
  throw new Error(`${caller}: options.range must be ${ranges}; got ${JSON.stringify(range)}.`);
}

/** The lowest and highest value of a range. */
export function pixelRangeBounds(range: PixelRange): [number, number] {
  const { low, scale } = RANGES[range];
  return [low, low + 255 / scale];
}

/** How a byte 0..255 maps to a value in `range`: (byte - 127.5) / 127.5 for 'tanh', byte / 255 for 'unit'. */
export function valueFromByte(range: PixelRange): (byte: number) => number {
  const { low, scale } = RANGES[range];
  return (byte) => (byte + low * scale) / scale;
}

/** How a value in `range` maps back to 0..255 (not rounded or clamped): (value + 1) * 127.5 for 'tanh'. */
export function byteFromValue(range: PixelRange): (value: number) => number {
  const { low, scale } = RANGES[range];
  return (value) => (value - low) * scale;
}
