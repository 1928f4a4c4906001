/**
 * Seeded weight initializers for the chapter models. Here rather than in lib/random.ts because
 * they are tfjs objects: the seed arithmetic stays free of TensorFlow for data and training.
 */
import { tf } from '../tf';
import { deriveSeed } from '../random';

/** Weight initializer type, as tfjs layer options accept it. */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * Hands out Glorot-uniform kernel initializers (the Keras and tfjs default) for successive
 * layers. With a seed each layer gets its own derived seed; without one, tfjs's unseeded
 * default is used (undefined means "layer default").
 */
export function kernelInitializers(seed: number | undefined): () => Initializer | undefined {
  let layerIndex = 0;
  return () => {
    layerIndex += 1;
    return seed === undefined ? undefined : tf.initializers.glorotUniform({ seed: deriveSeed(seed, layerIndex) });
  };
}
