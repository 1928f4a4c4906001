/**
 * One source for each chapter model: the notebook's model cells (tagged `model`, run with the
 * notebook's parameters cell) must build the same layers, output shapes and parameter counts
 * as the builders in lib/models that the tests and the benchmark train. Editing one side alone
 * (say 64 filters to 32 in a notebook cell) fails here, naming the notebook, model and layer.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-node';
import * as lib from '../../lib';
import { buildConvAutoencoder2d, compiled } from '../../lib';
import { buildConvAutoencoder, buildDiscriminator, buildGenerator } from '../../lib/models';
import { DenseAutoencoder } from '../fixtures/denseAutoencoder';
import { runCellSource, taggedSource } from '../../tools/ipynb';

const NOTEBOOKS = path.join(__dirname, '..', '..', 'notebooks');

/** Runs the parameters cell and the `model` cells of a notebook; returns the named values. */
export function buildNotebookModels(notebookFile: string, names: string[]): Record<string, LayersModel> {
  const source = taggedSource(path.join(NOTEBOOKS, notebookFile), ['parameters', 'model']);
  // The cells see what the notebook imports from the library (tf, summaryTable, kernelInitializers...).
  return runCellSource(`${source}\nreturn { ${names.join(', ')} };`, {
    ...lib,
    console: { ...console, log: () => undefined },
  });
}

interface LayerShape {
  className: string;
  outputShape: string;
  params: number;
}

function layerShapes(model: LayersModel): LayerShape[] {
  return model.layers.map((layer) => ({
    className: layer.getClassName(),
    outputShape: JSON.stringify(layer.outputShape),
    params: layer.countParams(),
  }));
}

/** Throws a message naming the notebook, the model and the first layer that differs. */
export function assertSameArchitecture(
  notebookFile: string,
  name: string,
  fromNotebook: LayersModel,
  fromLibrary: LayersModel,
  builder: string,
): void {
  const [notebookLayers, libraryLayers] = [layerShapes(fromNotebook), layerShapes(fromLibrary)];
  const count = Math.max(notebookLayers.length, libraryLayers.length);
  for (let i = 0; i < count; i++) {
    const [mine, theirs] = [notebookLayers[i], libraryLayers[i]];
    const layerName = fromNotebook.layers[i]?.name ?? fromLibrary.layers[i]?.name;
    const describe = (layer: LayerShape | undefined) =>
      layer ? `${layer.className} ${layer.outputShape}, ${layer.params} parameters` : 'no layer';
    assert.deepEqual(
      mine,
      theirs,
      `notebooks/${notebookFile}: model "${name}", layer ${i + 1} (${layerName}): ` +
        `the notebook builds ${describe(mine)}, lib/models ${builder} builds ${describe(theirs)}. ` +
        'Change both, or neither.',
    );
  }
  assert.equal(
    fromNotebook.countParams(),
    fromLibrary.countParams(),
    `notebooks/${notebookFile}: model "${name}" parameter count`,
  );
}

/**
 * The chapter's models must run on the graph engine under 'auto' once traced (a compiled model's
 * train step, a model without an optimizer its predict): a silent eager fallback fails here.
 */
async function assertGraphEngine(notebookFile: string, models: Record<string, LayersModel>): Promise<void> {
  for (const [name, model] of Object.entries(models)) {
    const step = compiled(model, { seed: 1 });
    const x = lib.tf.randomNormal([4, ...(model.inputs[0].shape.slice(1) as number[])], 0, 1, 'float32', 1);
    const y = lib.tf.ones([4, ...(model.outputs[0].shape.slice(1) as number[])]);
    // An optimizer's first step eager, then the graph.
    for (let i = 0; i < 5; i++) {
      if (model.optimizer) await step.trainOnBatch(x, y);
      else lib.tf.dispose(step.predict(x));
    }
    lib.tf.dispose([x, y]);
    assert.deepEqual(
      { engine: step.engine, reason: step.reason },
      { engine: 'graph', reason: '' },
      `notebooks/${notebookFile}: model "${name}" trains eagerly: ${step.reason}`,
    );
  }
}

describe("the notebooks' model cells and lib/models build the same models", () => {
  it('01-dcgan: the generator and the discriminator, on the graph engine under auto', async () => {
    const models = buildNotebookModels('01-dcgan.ipynb', ['generator', 'discriminator', 'gan']);
    const library = { generator: buildGenerator(), discriminator: buildDiscriminator() };
    try {
      assertSameArchitecture('01-dcgan.ipynb', 'generator', models.generator, library.generator, 'buildGenerator()');
      assertSameArchitecture(
        '01-dcgan.ipynb',
        'discriminator',
        models.discriminator,
        library.discriminator,
        'buildDiscriminator()',
      );
      await assertGraphEngine('01-dcgan.ipynb', {
        discriminator: models.discriminator,
        gan: models.gan,
        generator: models.generator,
      });
      assert.equal(models.generator.countParams(), 865_281);
      assert.equal(models.discriminator.countParams(), 212_865);
    } finally {
      // The combined model holds G and D as layers: disposing it disposes them.
      [models.gan, ...Object.values(library)].forEach((model) => model.dispose());
    }
  });

  it('02-conv-autoencoder: the 4,385-parameter convolutional autoencoder', async () => {
    const { autoencoder } = buildNotebookModels('02-conv-autoencoder.ipynb', ['autoencoder']);
    const library = buildConvAutoencoder();
    try {
      assertSameArchitecture(
        '02-conv-autoencoder.ipynb',
        'autoencoder',
        autoencoder,
        library,
        'buildConvAutoencoder()',
      );
      await assertGraphEngine('02-conv-autoencoder.ipynb', { autoencoder });
      assert.equal(autoencoder.countParams(), 4_385);
    } finally {
      autoencoder.dispose();
      library.dispose();
    }
  });

  it('03-dense-autoencoder: the model and its encoder and decoder views', async () => {
    const models = buildNotebookModels('03-dense-autoencoder.ipynb', [
      'model: autoencoder.model',
      'encoder',
      'decoder',
    ]);
    const library = new DenseAutoencoder({ zDim: models.encoder.outputs[0].shape[1] as number });
    try {
      assertSameArchitecture(
        '03-dense-autoencoder.ipynb',
        'autoencoder',
        models.model,
        library.model,
        'DenseAutoencoder',
      );
      assertSameArchitecture(
        '03-dense-autoencoder.ipynb',
        'encoder',
        models.encoder,
        library.encoder(),
        'DenseAutoencoder.encoder()',
      );
      assertSameArchitecture(
        '03-dense-autoencoder.ipynb',
        'decoder',
        models.decoder,
        library.decoder(),
        'DenseAutoencoder.decoder()',
      );
      await assertGraphEngine('03-dense-autoencoder.ipynb', { autoencoder: models.model });
      assert.equal(models.model.countParams(), 57_268);
    } finally {
      models.model.dispose();
      library.model.dispose();
    }
  });

  it('04-latent-space: the configurable 2-D convolutional autoencoder', async () => {
    const models = buildNotebookModels('04-latent-space.ipynb', ['encoder', 'decoder', 'model']);
    const library = buildConvAutoencoder2d();
    try {
      for (const name of ['encoder', 'decoder', 'model'] as const) {
        assertSameArchitecture(
          '04-latent-space.ipynb',
          name,
          models[name],
          library[name],
          `buildConvAutoencoder2d().${name}`,
        );
      }
      assert.deepEqual(
        [models.encoder.countParams(), models.decoder.countParams(), models.model.countParams()],
        [98_946, 102_017, 200_963],
      );
      // 04 compiles in its training cell: Adam and mean squared error, as here.
      models.model.compile({ optimizer: lib.tf.train.adam(0.00005), loss: 'meanSquaredError' });
      await assertGraphEngine('04-latent-space.ipynb', { model: models.model });
      const flagged = buildConvAutoencoder2d({ batchNorm: true, dropout: true });
      await assertGraphEngine('04-latent-space.ipynb (batch norm and dropout on)', { model: flagged.model });
      flagged.model.dispose();
    } finally {
      models.model.dispose();
      library.model.dispose();
    }
  });
});
