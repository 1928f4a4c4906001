/**
 * Arrows point one way: the model builders do not load the training engine or the graph
 * compiler (checked in a fresh process, where require.cache lists every module loaded).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');

function modulesLoadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache).map((f) => require('path').relative(${JSON.stringify(ROOT)}, f))));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
}

describe('layering', () => {
  it('importing lib/models loads neither lib/train nor lib/graph', () => {
    const loaded = modulesLoadedBy('./lib/models');
    assert.ok(loaded.some((file) => file.startsWith('lib/models/dcgan')), `the probe loaded the models: ${loaded.join(', ')}`);
    assert.deepEqual(loaded.filter((file) => /^lib\/(train|graph)\//.test(file)), []);
  });
});
