/**
 * A digit-quality score for any batch of 28x28 images, read off the digit classifier's
 * probabilities p(y|x):
 * - recognisedShare: the share of images it labels with confidence >= 0.9 ("is it a digit?");
 * - distinctDigits: how many different digits those recognised images show (10 for a varied
 *   batch; a generator that collapsed onto one mode shows 1 or 2);
 * - inceptionScore: exp(E_x[KL(p(y|x) || p(y))]), p(y) the batch's mean prediction. It is 1 when
 *   every image gets the same prediction (noise, or one digit repeated) and 10 at best: each image
 *   one confident digit, all ten digits equally often.
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { checkPixelRange, pixelRangeBounds, type PixelRange } from '../data/pixelRange';
import { digitClassifier, type DigitClassifier } from './classifier';

export interface DigitScore {
  /** Images scored. */
  count: number;
  /** Share recognised with confidence >= 0.9. */
  recognisedShare: number;
  /** Distinct digits among the recognised images. */
  distinctDigits: number;
  /** How many recognised images show each digit 0..9. */
  recognisedPerDigit: number[];
  /** exp(E[KL(p(y|x) || p(y))]): from 1 (useless) to 10 (confident and balanced). */
  inceptionScore: number;
}

export interface ScoreDigitsOptions {
  /** The classifier; default `await digitClassifier()` (loaded or trained once, cached). */
  classifier?: DigitClassifier;
  /** Pixel range of the images: 'unit' [0, 1] (autoencoders), 'tanh' [-1, 1] (the GAN) or 'byte'. Default 'unit'. */
  range?: PixelRange;
}

/** Probability at which an image counts as recognised. */
const CONFIDENCE = 0.9;

/** Images as [n, 28, 28, 1] in [0, 1]; a clear error for other shapes or ranges. */
function asClassifierInput(images: Tensor, range: PixelRange): Tensor {
  const ok =
    (images.rank === 4 && images.shape[1] === 28 && images.shape[2] === 28 && images.shape[3] === 1) ||
    (images.rank === 3 && images.shape[1] === 28 && images.shape[2] === 28) ||
    (images.rank === 2 && images.shape[1] === 784);
  if (!ok)
    throw new Error(
      `scoreDigits: images has shape [${images.shape.join(', ')}]; expected [n, 28, 28, 1], [n, 28, 28] or [n, 784].`,
    );
  if (images.shape[0] === 0) throw new Error('scoreDigits: images is empty; pass at least one image.');
  const [low, high] = tf.tidy(() => [images.min().dataSync()[0], images.max().dataSync()[0]]);
  const [lowest, highest] = pixelRangeBounds(range);
  const slack = 1e-3;
  if (!(low >= lowest - slack && high <= highest + slack)) {
    const hint =
      range === 'unit' && low >= -1 - slack ? " (images in [-1, 1], like the GAN's, need range: 'tanh')" : '';
    throw new Error(
      `scoreDigits: pixel values run from ${low} to ${high}; range '${range}' expects [${lowest}, ${highest}]${hint}.`,
    );
  }
  return tf.tidy(() => {
    const shaped = images.reshape([images.shape[0], 28, 28, 1]).toFloat();
    // The classifier reads [0, 1], as the digits it learned from.
    return range === 'unit' ? shaped : range === 'tanh' ? shaped.add(1).div(2) : shaped.div(255);
  });
}

/** The score of a table of probabilities (n rows of 10), computed in plain numbers. */
export function scoreProbabilities(probabilities: ArrayLike<number>): DigitScore {
  if (probabilities.length % 10 !== 0 || probabilities.length === 0) {
    throw new Error(`scoreProbabilities: expected n rows of 10 probabilities; got ${probabilities.length} values.`);
  }
  const n = probabilities.length / 10;
  const marginal = new Array<number>(10).fill(0);
  const recognisedPerDigit = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 0; k < 10; k++) {
      marginal[k] += probabilities[10 * i + k] / n;
      if (probabilities[10 * i + k] > probabilities[10 * i + best]) best = k;
    }
    if (probabilities[10 * i + best] >= CONFIDENCE) recognisedPerDigit[best]++;
  }
  // KL(p(y|x) || p(y)) per image; terms with p(y|x) = 0 contribute nothing.
  let klSum = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 10; k++) {
      const p = probabilities[10 * i + k];
      if (p > 0) klSum += p * (Math.log(p) - Math.log(marginal[k]));
    }
  }
  const recognised = recognisedPerDigit.reduce((a, b) => a + b, 0);
  return {
    count: n,
    recognisedShare: recognised / n,
    distinctDigits: recognisedPerDigit.filter((c) => c > 0).length,
    recognisedPerDigit,
    inceptionScore: Math.exp(Math.max(0, klSum / n)),
  };
}

/**
 * Scores a batch of digit images (see the file comment). The images stay the caller's; no
 * tensor is left behind.
 */
export async function scoreDigits(images: Tensor, options: ScoreDigitsOptions = {}): Promise<DigitScore> {
  const range = options.range ?? 'unit';
  checkPixelRange(range, 'scoreDigits');
  const input = asClassifierInput(images, range);
  try {
    const { model } = options.classifier ?? (await digitClassifier());
    const probabilities = tf.tidy(() => (model.predict(input, { batchSize: 500 }) as Tensor).dataSync());
    return scoreProbabilities(probabilities);
  } finally {
    input.dispose();
  }
}

/** One line for a notebook: "recognised 93.1%, 10 distinct digits, inception score 8.72 (1,000 images)". */
export function formatDigitScore(score: DigitScore): string {
  return (
    `recognised ${(100 * score.recognisedShare).toFixed(1)}%, ` +
    `${score.distinctDigits} distinct digit${score.distinctDigits === 1 ? '' : 's'}, ` +
    `inception score ${score.inceptionScore.toFixed(2)} (${score.count.toLocaleString('en-US')} images)`
  );
}
