/**
 * The digit-quality score: the classifier the library trains (accuracy, cache, retraining a
 * damaged cache) and the score's behaviour on real digits, noise and one repeated digit.
 * The classifier is trained once for the file, in a temporary folder.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf, digitClassifier, formatDigitScore, scoreDigits, toImageTensor } from '../../lib';
import { loadEmbeddedTestSet, splitEmbedded } from '../../lib/data';
import { forgetLoadedDigitClassifiers, scoreProbabilities, type DigitClassifier } from '../../lib/quality';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quality-test-'));
const dir = path.join(root, 'classifier');
let classifier: DigitClassifier;
let testImages: Tensor4D;

before(async () => {
  classifier = await digitClassifier({ dir });
  testImages = toImageTensor(splitEmbedded(loadEmbeddedTestSet()).test, { range: 'unit' });
});

after(() => {
  testImages.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('digitClassifier', () => {
  it('trains on the shipped data to above 97% held-out accuracy, and says so', () => {
    assert.equal(classifier.source, 'trained');
    assert.equal(classifier.heldOutCount, 2000);
    assert.ok(classifier.accuracy > 0.97, `held-out accuracy ${classifier.accuracy}`);
    assert.match(classifier.summary, /held-out accuracy 9[7-9]\.\d\d% on 2,000 test digits \(trained now in [\d.]+ s/);
    assert.match(classifier.retrainReason, /no cached classifier/);
    console.log(`  ${classifier.summary}`);
  });

  it('is loaded from its cache afterwards, with the same accuracy, and shared within the process', async () => {
    assert.equal(await digitClassifier({ dir }), classifier, 'the same call in one process gives the same model');
    forgetLoadedDigitClassifiers();
    const loaded = await digitClassifier({ dir });
    assert.equal(loaded.source, 'cache');
    assert.equal(loaded.accuracy, classifier.accuracy);
    assert.equal(loaded.trainingSeconds, classifier.trainingSeconds);
    assert.match(loaded.summary, /loaded from .*classifier; it trained in/);
    assert.deepEqual(fs.readdirSync(root), ['classifier'], 'no temporary folder is left beside the cache');
    loaded.model.dispose();
  });

  const retrainsTitle =
    'retrains a damaged cache (truncated weights, or weights changed in place) and a cache made with other settings';
  it(retrainsTitle, async () => {
    // A small classifier keeps this quick; its accuracy does not matter here.
    const small = { dir: path.join(root, 'small'), trainCount: 300, epochs: 1 };
    const first = await digitClassifier(small);
    assert.equal(first.source, 'trained');
    const weights = path.join(small.dir, 'classifier', 'weights.bin');
    const bytes = fs.readFileSync(weights);

    fs.writeFileSync(weights, bytes.subarray(0, 100));
    forgetLoadedDigitClassifiers();
    const afterTruncation = await digitClassifier(small);
    assert.equal(afterTruncation.source, 'trained');
    assert.match(afterTruncation.retrainReason, /weights\.bin holds 100 bytes, but .*manifest\.json records \d+ bytes/);

    const changed = Buffer.from(fs.readFileSync(weights));
    new Float32Array(changed.buffer, changed.byteOffset, changed.byteLength / 4).fill(0.5, 0, 416);
    fs.writeFileSync(weights, changed);
    forgetLoadedDigitClassifiers();
    const afterChange = await digitClassifier(small);
    assert.equal(afterChange.source, 'trained');
    assert.match(afterChange.retrainReason, /held-out accuracy .* recorded .* \(the weights changed\)/);

    fs.writeFileSync(path.join(small.dir, 'manifest.json'), '{ not json');
    forgetLoadedDigitClassifiers();
    assert.match((await digitClassifier(small)).retrainReason, /manifest\.json \(the manifest\) is not valid JSON/);

    forgetLoadedDigitClassifiers();
    const otherSettings = await digitClassifier({ ...small, epochs: 2 });
    assert.match(otherSettings.retrainReason, /the settings differ .* epochs: 1 in the save, 2 now$/);
    [first, afterTruncation, afterChange, otherSettings].forEach((c) => c.model.dispose());
  });
});

describe('scoreDigits', () => {
  it('scores real test digits high: most recognised, all ten digits, inception score near 10', async () => {
    const score = await scoreDigits(testImages, { classifier });
    console.log(`  real test digits: ${formatDigitScore(score)}`);
    assert.equal(score.count, 2000);
    assert.ok(score.recognisedShare > 0.9, formatDigitScore(score));
    assert.equal(score.distinctDigits, 10);
    assert.ok(score.inceptionScore > 8.5, formatDigitScore(score));
  });

  it('scores uniform noise near 1, with almost nothing recognised', async () => {
    const noise = tf.randomUniform([500, 28, 28, 1], 0, 1, 'float32', 11);
    const score = await scoreDigits(noise, { classifier });
    console.log(`  uniform noise: ${formatDigitScore(score)}`);
    noise.dispose();
    assert.ok(score.inceptionScore < 1.5, formatDigitScore(score));
    assert.ok(score.recognisedShare < 0.05, formatDigitScore(score));
  });

  it('gives one digit repeated one distinct digit and a score of 1; as tanh or byte images the same', async () => {
    // The first test image the classifier recognises (with confidence >= 0.9; nearly all are).
    const first20 = testImages.slice(0, 20);
    const confidence = tf.tidy(() => (classifier.model.predict(first20) as tf.Tensor).max(-1).dataSync());
    const k = confidence.findIndex((p) => p >= 0.9);
    const one = testImages.slice([k, 0, 0, 0], [1, 28, 28, 1]);
    first20.dispose();
    const repeated = tf.tile(one, [40, 1, 1, 1]);
    const asTanh = repeated.mul(2).sub(1);
    const asBytes = repeated.mul(255);
    const start = tf.memory().numTensors;
    const score = await scoreDigits(repeated, { classifier });
    const tanhScore = await scoreDigits(asTanh, { classifier, range: 'tanh' });
    const byteScore = await scoreDigits(asBytes, { classifier, range: 'byte' });
    assert.equal(tf.memory().numTensors, start, 'scoring leaves no tensor behind');
    assert.equal(score.distinctDigits, 1);
    assert.equal(score.recognisedShare, 1);
    assert.ok(Math.abs(score.inceptionScore - 1) < 1e-6, String(score.inceptionScore));
    assert.deepEqual(tanhScore.recognisedPerDigit, score.recognisedPerDigit);
    assert.deepEqual(byteScore.recognisedPerDigit, score.recognisedPerDigit);
    tf.dispose([one, repeated, asTanh, asBytes]);
  });

  it('computes the inception score as exp(E[KL(p(y|x) || p(y))])', () => {
    // Two images, each certain of a different digit: p(y) = (1/2, 1/2), KL = log 2 each: score 2.
    const certain = new Float32Array(20);
    certain[3] = 1;
    certain[10 + 7] = 1;
    const score = scoreProbabilities(certain);
    assert.ok(Math.abs(score.inceptionScore - 2) < 1e-6);
    assert.equal(score.distinctDigits, 2);
    // Uniform predictions: nothing recognised, score 1.
    const uniform = scoreProbabilities(new Float32Array(30).fill(0.1));
    assert.equal(uniform.recognisedShare, 0);
    assert.ok(Math.abs(uniform.inceptionScore - 1) < 1e-6);
  });

  it('rejects images of the wrong shape or range with a message saying what it expects', async () => {
    const wrongShape = tf.zeros([2, 32, 32, 1]);
    const tanhImages = tf.fill([2, 28, 28, 1], -0.5);
    await assert.rejects(
      scoreDigits(wrongShape, { classifier }),
      /images has shape \[2, 32, 32, 1\]; expected \[n, 28, 28, 1\]/,
    );
    await assert.rejects(
      scoreDigits(tanhImages, { classifier }),
      /pixel values run from -0\.5 to -0\.5; range 'unit' expects \[0, 1\] \(images in \[-1, 1\].*range: 'tanh'\)/,
    );
    const badRange = /scoreDigits: options\.range must be 'tanh'/;
    // @ts-expect-error: a range that does not exist, from untyped notebook code
    await assert.rejects(scoreDigits(tanhImages, { classifier, range: 'percent' }), badRange);
    tf.dispose([wrongShape, tanhImages]);
  });
});
