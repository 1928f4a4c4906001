/** How good generated digits are: a cached MNIST classifier and the scores read off it. */
export * from './classifier';
export * from './score';
