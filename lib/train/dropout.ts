/**
 * Seeding tfjs Dropout per step. A Dropout layer built with `seed` draws the SAME mask on every
 * call (tfjs re-seeds its generator each time), and without a seed it uses Math.random. To
 * get fresh masks each step that still repeat for the same base seed, training sets a new
 * derived seed on every Dropout layer before each step, and clears it afterwards.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { deriveSeed } from '../random';
import { asNestedModel, setDropoutLayerSeed } from '../graph/tfjsInternals';

type LayerLike = LayersModel['layers'][number];

function visit(layers: LayerLike[], action: (layer: LayerLike, index: number) => void): void {
  layers.forEach((layer, index) => {
    const nested = asNestedModel(layer);
    if (nested) visit(nested.layers, action);
    else action(layer, index);
  });
}

/** Sets (or with undefined, clears) the seed of every Dropout layer in `model`, nested models included. */
export function setDropoutSeeds(model: LayersModel, seed: number | undefined): void {
  let count = 0;
  visit(model.layers, (layer) => {
    if (layer.getClassName() !== 'Dropout') return;
    count += 1;
    setDropoutLayerSeed(layer, seed === undefined ? undefined : deriveSeed(seed, count));
  });
}
