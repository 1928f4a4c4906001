/**
 * The one seeds-and-random module: derived seeds and streams repeat exactly (a changed number
 * would change what every seeded run trains), and it loads no TensorFlow, so data can use it.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createRng, deriveSeed, randomInt, SEED_STREAMS, shuffledIndices } from '../../lib/random';

const ROOT = path.join(__dirname, '..', '..');

describe('lib/random', () => {
  it('gives the same seeds, numbers and shuffles as before the modules were merged', () => {
    // Values recorded from lib/models/seeds.ts and lib/data/random.ts before they became one module.
    assert.equal(deriveSeed(2024, 1, 0), 608105095);
    assert.equal(deriveSeed(0), 2654435769);
    assert.equal(createRng(1)(), 0.6270739405881613);
    assert.deepEqual(Array.from(shuffledIndices(8, createRng(7))), [4, 6, 1, 2, 3, 5, 7, 0]);
  });

  it('derives different seeds for different streams and steps, the same for the same ones', () => {
    const seeds = new Set([deriveSeed(7, 1, 0), deriveSeed(7, 1, 1), deriveSeed(7, 2, 0), deriveSeed(8, 1, 0)]);
    assert.equal(seeds.size, 4);
    assert.equal(deriveSeed(7, 1, 0), deriveSeed(7, 1, 0));
    const rng = createRng(3);
    for (let k = 0; k < 100; k++) assert.ok([0, 1, 2].includes(randomInt(rng, 3)));
    assert.throws(() => createRng(Number.NaN), /seed must be a finite number/);
  });

  it("keeps each training loop's stream numbers (they are part of every seeded result)", () => {
    assert.deepEqual(SEED_STREAMS, {
      gan: { batch: 1, noise: 2, dropoutReal: 3, dropoutFake: 4, dropoutCombined: 5, samples: 6 },
      fit: { shuffle: 1, dropout: 2 },
    });
  });

  it('loads no TensorFlow (checked in a fresh process)', () => {
    const script = 'require("./lib/random"); process.stdout.write(JSON.stringify(Object.keys(require.cache)));';
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
    ) as string[];
    assert.ok(
      loaded.some((file) => file.endsWith(path.join('lib', 'random.ts'))),
      `the probe loaded lib/random: ${loaded.join(', ')}`,
    );
    assert.deepEqual(
      loaded.filter((file) => file.includes('@tensorflow')),
      [],
    );
  });
});
