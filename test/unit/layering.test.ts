/**
 * Arrows point one way. lib/ is exactly what a notebook imports: it reaches nothing in tools/,
 * scripts/, bench/ or test/, no dev-only package and no Node module only tooling needs (read
 * from the sources), and importing it loads none of them (checked in a fresh process, where
 * require.cache lists every module loaded). Within lib/, the model builders do not load the
 * training engine or the graph compiler.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');

/**
 * Node modules that start processes, serve ports or talk to a terminal: the notebook runner and
 * the lab launcher (tools/) need them, a notebook's library does not. (The full MNIST set's
 * downloader is tooling too: tools/mnistDownload.ts, run by `npm run download-mnist`.)
 */
const TOOLING_BUILTINS = ['child_process', 'cluster', 'dgram', 'inspector', 'net', 'readline', 'repl'];

/** tsx runs the probe below, so its files are in the probe's require.cache whatever lib/ loads. */
const PROBE_LOADER = 'tsx';

function modulesLoadedBy(entry: string): string[] {
  const loadedFiles = `Object.keys(require.cache).map((f) => require('path').relative(${JSON.stringify(ROOT)}, f))`;
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(${loadedFiles}));`;
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
  ) as string[];
}

function devDependencies(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  return Object.keys(manifest.devDependencies ?? {});
}

function libSources(dir = LIB): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return libSources(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** Every module a source names: imports and re-exports, `import('...')`, require('...') with a literal. */
function importedModules(file: string): string[] {
  const found = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return found.importedFiles.map((reference) => reference.fileName);
}

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The package a file in node_modules belongs to (the innermost one), or undefined for project files. */
function packageOf(loadedFile: string): string | undefined {
  const parts = loadedFile.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts[at + 1].startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
}

/**
 * Which parts of lib/ each part may import (the README's Layout section draws the same picture):
 * a part reaches only the parts listed for it, so the arrows cannot turn round.
 */
const ALLOWED_LIB_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  'backend.ts': [],
  'nativeKernels.ts': ['backend.ts'],
  'tf.ts': ['backend.ts', 'nativeKernels.ts'],
  'random.ts': [],
  'settings.ts': [],
  'persist.ts': ['tf.ts'],
  data: ['tf.ts', 'random.ts', 'persist.ts'],
  models: ['tf.ts', 'random.ts'],
  graph: ['tf.ts'],
  viz: ['tf.ts', 'data'],
  // Training reports to a monitor interface; the notebook's view of it (bar, live chart) is display's.
  train: ['tf.ts', 'random.ts', 'persist.ts', 'data', 'models', 'graph'],
  display: ['viz', 'persist.ts', 'train'],
  quality: ['tf.ts', 'random.ts', 'persist.ts', 'data', 'models', 'train'],
};

/** The part of lib/ a file belongs to: its top folder, or the file itself at lib/'s top. */
function libPart(fileUnderLib: string): string {
  return fileUnderLib.split(path.sep)[0];
}

describe('layering', () => {
  const imports = libSources().flatMap((file) =>
    importedModules(file).map((specifier) => ({ file: path.relative(ROOT, file), specifier })),
  );

  it('the sources under lib/ are read and their imports found', () => {
    const indexFile = path.join('lib', 'index.ts');
    const reexports = imports.filter(({ file, specifier }) => file === indexFile && specifier.startsWith('./'));
    assert.ok(reexports.length > 0, 'lib/index.ts re-exports');
    assert.ok(
      imports.some(({ specifier }) => specifier === '@tensorflow/tfjs-node'),
      'the library imports tfjs-node',
    );
  });

  it('lib/ imports nothing outside lib/ by path (tools/, scripts/, bench/, test/ included)', () => {
    const outside = imports.filter(({ file, specifier }) => {
      if (!specifier.startsWith('.')) return false;
      const target = path.relative(LIB, path.resolve(ROOT, path.dirname(file), specifier));
      return target.startsWith('..') || path.isAbsolute(target);
    });
    assert.deepEqual(
      outside.map(({ file, specifier }) => `${file} imports '${specifier}'`),
      [],
    );
  });

  it('lib/ imports no package from devDependencies in package.json', () => {
    const devOnly = new Set(devDependencies());
    assert.ok(devOnly.has('typescript') && devOnly.has('playwright-core'), `read from package.json: ${[...devOnly]}`);
    const offending = imports.filter(
      ({ specifier }) => !specifier.startsWith('.') && devOnly.has(packageName(specifier)),
    );
    assert.deepEqual(
      offending.map(({ file, specifier }) => `${file} imports '${specifier}' (a devDependency)`),
      [],
    );
  });

  it(`lib/ imports no Node module that only tooling needs (${TOOLING_BUILTINS.join(', ')})`, () => {
    for (const name of TOOLING_BUILTINS) assert.ok(builtinModules.includes(name), `${name} is a Node module`);
    const builtinName = (specifier: string) => specifier.replace(/^node:/, '').split('/')[0];
    const offending = imports.filter(({ specifier }) => TOOLING_BUILTINS.includes(builtinName(specifier)));
    assert.deepEqual(
      offending.map(({ file, specifier }) => `${file} imports '${specifier}'`),
      [],
    );
  });

  it('importing lib/ in a fresh process loads no project file outside lib/, nor typescript or playwright-core', () => {
    const loaded = modulesLoadedBy('./lib');
    assert.ok(loaded.includes(path.join('lib', 'index.ts')), `the probe loaded the library: ${loaded.join(', ')}`);
    const projectFiles = loaded.filter((file) => packageOf(file) === undefined);
    assert.deepEqual(
      projectFiles.filter((file) => !file.startsWith(`lib${path.sep}`)),
      [],
    );
    const devOnly = new Set([...devDependencies(), 'typescript', 'playwright-core']);
    devOnly.delete(PROBE_LOADER);
    const loadedPackages = new Set(loaded.map(packageOf).filter((name): name is string => name !== undefined));
    assert.ok(loadedPackages.has('@tensorflow/tfjs-node'), `packages loaded: ${[...loadedPackages].join(', ')}`);
    assert.deepEqual(
      [...loadedPackages].filter((name) => devOnly.has(name)),
      [],
    );
  });

  it('each part of lib/ imports only the parts below it', () => {
    const parts = new Set(fs.readdirSync(LIB).filter((name) => name !== 'index.ts'));
    assert.deepEqual([...parts].sort(), Object.keys(ALLOWED_LIB_IMPORTS).sort(), 'every part of lib/ has a row');
    const offending = imports.flatMap(({ file, specifier }) => {
      if (!specifier.startsWith('.')) return [];
      const from = libPart(path.relative(LIB, path.join(ROOT, file)));
      const target = path.relative(LIB, path.resolve(ROOT, path.dirname(file), specifier));
      const to =
        libPart(target) === target && !target.endsWith('.ts') && !parts.has(target) ? `${target}.ts` : libPart(target);
      if (from === 'index.ts' || from === to || ALLOWED_LIB_IMPORTS[from]?.includes(to)) return [];
      return [`${file} imports '${specifier}' (${from} -> ${to})`];
    });
    assert.deepEqual(offending, []);
  });

  it('importing lib/models loads neither lib/train nor lib/graph', () => {
    const loaded = modulesLoadedBy('./lib/models');
    assert.ok(
      loaded.some((file) => file.startsWith('lib/models/dcgan')),
      `the probe loaded the models: ${loaded.join(', ')}`,
    );
    assert.deepEqual(
      loaded.filter((file) => /^lib\/(train|graph)\//.test(file)),
      [],
    );
  });
});
