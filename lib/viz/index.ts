/** Charts (vega-lite specs), their static SVG, the latent-space helpers and image grids. */
export * from './charts';
export * from './latent';
export * from './render';
export * from './grid';
export * from './interpolate';
export * from './codes';
export * from './latentMap';
export * from './compose';
export * from './locale';
