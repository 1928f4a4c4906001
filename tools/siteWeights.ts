/**
 * The trained models of the reading site (tools/site.ts): a saved model (lib/persist.ts's format,
 * `<model>/model.json` + `weights.bin`, float32) re-encoded in fewer bytes with TensorFlow.js's
 * own weight quantization (a `quantization` entry per weight in the weights manifest, which
 * `tf.io.decodeWeights` undoes in the page as in Node), and bundled as a script that sets a
 * global, so a page opened from disk (file://, where fetch() of a local file is refused) gets it
 * with a plain <script src>.
 *
 * Which encoding: the smallest of uint8, uint16 and float16 whose output differs from the
 * float32 model's by at most `tolerance` (in grey levels of 0-255) on every pixel of a probe
 * batch, measured here with tfjs-node; float32 when none does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../lib/tf';

export type WeightFormat = 'uint8' | 'uint16' | 'float16' | 'float32';
/** Tried in this order: fewest bytes first. */
export const WEIGHT_FORMATS: WeightFormat[] = ['uint8', 'uint16', 'float16', 'float32'];

type WeightSpec = tf.io.WeightsManifestEntry;

/** A saved model as its files hold it: the topology, the weight list and the float32 weights. */
export interface SavedModelFiles {
  dir: string;
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
}

/** A model's weights in one encoding: the weight list (with its quantization entries) and the bytes. */
export interface EncodedModel {
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: Uint8Array;
}

/** Reads `<dir>/model.json` and `<dir>/weights.bin` (what lib/persist.ts's writeModel writes). */
export function readSavedModel(dir: string): SavedModelFiles {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: no saved model there.`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    modelTopology?: object;
    weightsManifest?: Array<{ paths: string[]; weights: WeightSpec[] }>;
  };
  const group = json.weightsManifest?.[0];
  if (!json.modelTopology || !group || json.weightsManifest?.length !== 1) {
    throw new Error(`${file} is not a saved layers model (one topology, one weights group).`);
  }
  const bytes = fs.readFileSync(path.join(dir, group.paths[0]));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const expected = group.weights.reduce((sum, spec) => sum + 4 * spec.shape.reduce((a, b) => a * b, 1), 0);
  if (group.weights.some((spec) => spec.dtype !== 'float32' || spec.quantization) || expected !== bytes.byteLength) {
    throw new Error(`${dir}: expected ${expected} bytes of plain float32 weights, found ${bytes.byteLength}.`);
  }
  return { dir, modelTopology: json.modelTopology, weightSpecs: group.weights, weightData };
}

const float32Scratch = new Float32Array(1);
const bitsScratch = new Uint32Array(float32Scratch.buffer);

/** IEEE half-precision bits of a number, rounded to nearest, ties to even (what tfjs's float16 decoder reads). */
export function float16Bits(value: number): number {
  float32Scratch[0] = value;
  const bits = bitsScratch[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // infinity, NaN
  if (exponent >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (exponent <= 0) {
    // A subnormal half (or zero): the implicit 1 joins the mantissa, shifted right.
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (half + (rest > halfway || (rest === halfway && half & 1) ? 1 : 0));
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa steps the exponent up, which is the right rounding too.
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/**
 * Affine quantization of one weight to `levels` steps, as tfjs-converter does it: scale and min
 * chosen so that 0 is exactly representable (zero biases stay zero).
 */
function affine(values: Float32Array, levels: number): { quantized: number[]; scale: number; min: number } {
  let [low, high] = [0, 0];
  for (const value of values) [low, high] = [Math.min(low, value), Math.max(high, value)];
  const scale = high > low ? (high - low) / levels : 1;
  const zeroPoint = Math.round(-low / scale);
  const min = -zeroPoint * scale;
  const quantized = Array.from(values, (value) => Math.min(levels, Math.max(0, Math.round((value - min) / scale))));
  return { quantized, scale, min };
}

/** The model's weights in `format`: each weight quantized on its own, with its entry in the weight list. */
export function encodeWeights(model: SavedModelFiles, format: WeightFormat): EncodedModel {
  const chunks: Uint8Array[] = [];
  const weightSpecs: WeightSpec[] = [];
  let offset = 0;
  for (const spec of model.weightSpecs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(model.weightData, offset, size);
    offset += 4 * size;
    const plain = { name: spec.name, shape: spec.shape, dtype: spec.dtype };
    if (format === 'float32') {
      chunks.push(new Uint8Array(values.slice().buffer));
      weightSpecs.push(plain);
    } else if (format === 'float16') {
      chunks.push(new Uint8Array(Uint16Array.from(values, float16Bits).buffer));
      weightSpecs.push({ ...plain, quantization: { dtype: 'float16' } });
    } else {
      const { quantized, scale, min } = affine(values, format === 'uint8' ? 255 : 65535);
      const array = format === 'uint8' ? Uint8Array.from(quantized) : Uint16Array.from(quantized);
      chunks.push(new Uint8Array(array.buffer));
      weightSpecs.push({ ...plain, quantization: { dtype: format, scale, min } });
    }
  }
  const weightData = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  chunks.reduce((at, chunk) => (weightData.set(chunk, at), at + chunk.byteLength), 0);
  return { modelTopology: model.modelTopology, weightSpecs, weightData };
}

/** Builds the model from an encoding, in Node (tfjs-node), as the page builds it (dispose it). */
export async function loadEncoded(encoded: EncodedModel): Promise<LayersModel> {
  const { weightData } = encoded;
  const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: encoded.modelTopology, weightSpecs: encoded.weightSpecs, weightData: buffer }),
  );
}

/** A model's output as grey levels 0-255 ('tanh': [-1, 1] like the generator's; 'unit': [0, 1] like a decoder's). */
export function greyLevels(output: Tensor, range: 'tanh' | 'unit'): Float32Array {
  return tf.tidy(() => {
    const unit = range === 'tanh' ? output.add(1).div(2) : output;
    return unit.clipByValue(0, 1).mul(255).dataSync() as Float32Array;
  });
}

export interface WeightChoice {
  format: WeightFormat;
  /** Bytes of the chosen weights, and of the float32 ones. */
  bytes: number;
  float32Bytes: number;
  /** Largest difference from the float32 model on any pixel of the probe batch, in grey levels (0-255). */
  maxGreyDifference: number;
  /** Every format tried, in order, with its bytes and largest difference. */
  tried: Array<{ format: WeightFormat; bytes: number; maxGreyDifference: number }>;
  encoded: EncodedModel;
}

/**
 * The smallest encoding whose output on `probe` stays within `tolerance` grey levels of the
 * float32 model's on every pixel (float32 itself when none does).
 */
export async function chooseWeightFormat(
  model: SavedModelFiles,
  probe: Tensor,
  range: 'tanh' | 'unit',
  tolerance: number,
): Promise<WeightChoice> {
  const outputOf = async (encoded: EncodedModel) => {
    const built = await loadEncoded(encoded);
    try {
      const output = built.predict(probe) as Tensor;
      const grey = greyLevels(output, range);
      output.dispose();
      return grey;
    } finally {
      built.dispose();
    }
  };
  const reference = await outputOf(encodeWeights(model, 'float32'));
  const tried: WeightChoice['tried'] = [];
  for (const format of WEIGHT_FORMATS) {
    const encoded = encodeWeights(model, format);
    const grey = format === 'float32' ? reference : await outputOf(encoded);
    let maxGreyDifference = 0;
    for (let i = 0; i < grey.length; i++)
      maxGreyDifference = Math.max(maxGreyDifference, Math.abs(grey[i] - reference[i]));
    tried.push({ format, bytes: encoded.weightData.byteLength, maxGreyDifference });
    if (maxGreyDifference <= tolerance) {
      return {
        format,
        bytes: encoded.weightData.byteLength,
        float32Bytes: model.weightData.byteLength,
        maxGreyDifference,
        tried,
        encoded,
      };
    }
  }
  throw new Error('unreachable: float32 equals itself'); // float32 always passes
}

/**
 * The script that carries a chapter's models: `ganSiteModels['<notebook>'] = { <model>: { modelTopology,
 * weightSpecs, weights: '<base64>' } }`, for the page's live.js to build with tf.loadLayersModel.
 */
export function weightsScript(notebook: string, models: Record<string, EncodedModel>): string {
  const entries = Object.fromEntries(
    Object.entries(models).map(([name, { modelTopology, weightSpecs, weightData }]) => [
      name,
      { modelTopology, weightSpecs, weights: Buffer.from(weightData).toString('base64') },
    ]),
  );
  const json = JSON.stringify(entries).replace(/</g, '\\u003c');
  return (
    `// The trained models of ${notebook}, for the reading site's live pictures (tools/site.ts).\n` +
    `(self.ganSiteModels = self.ganSiteModels || {})[${JSON.stringify(notebook)}] = ${json};\n`
  );
}
