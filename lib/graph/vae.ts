/**
 * The variational autoencoder's training step as one TensorFlow graph: the encoder's trunk, its
 * mean and log-variance heads, z = mean + exp(logVar / 2) * eps with eps from TensorFlow's
 * stateless normal generator (seeded per step, or fed), the decoder, the loss
 *   weight * mean((x - x')^2 over pixels) + KL, KL = -0.5 * sum(1 + logVar - mean^2 - exp(logVar)),
 * each averaged over the batch, then the backward pass written out by hand and the optimizer's
 * update. The same loss in tfjs ops is `vaeLossTerms` (train/vae.ts); a test ties the two.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { DT, FLOAT as F, type Output } from './builder';
import { chainLayers, UnsupportedModelError, type LayerLike } from './lower';
import type { GraphOptimizer } from './optimizers';
import type { GraphProgram } from './program';
import { asNestedModel, containerNodeCount, type LayerVariableLike } from './tfjsInternals';

/** A VAE taken apart into what the graph lowers: trunk, two heads, decoder chain. */
export interface VaeParts {
  trunk: LayerLike[];
  meanHead: LayerLike;
  logVarHead: LayerLike;
  decoder: LayerLike[];
  inputShape: number[];
  /** Features the heads read (the trunk's output size). */
  features: number;
  zDim: number;
  /** The variables the optimizer trains, in a fixed order (its slots follow this order). */
  variables: LayerVariableLike[];
}

function describeShape(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'batch' : String(d))).join(', ')}]`;
}

/**
 * Checks the models' structure and returns their parts. The encoder: one image input, a chain
 * of layers, then two Dense layers on the chain's output giving [mean, logVar] (in that order);
 * the decoder: a chain from z back to an image of the encoder's input shape.
 */
export function vaeParts(encoder: LayersModel, decoder: LayersModel): VaeParts {
  const where = `compiledVae: encoder "${encoder.name}"`;
  if (encoder.inputs.length !== 1 || encoder.outputs.length !== 2) {
    throw new Error(`${where} has ${encoder.inputs.length} inputs and ${encoder.outputs.length} outputs; it must take one image and give two outputs, [mean, logVar].`);
  }
  const heads = encoder.outputs.map((output) => output.sourceLayer as LayerLike);
  const [meanHead, logVarHead] = heads;
  heads.forEach((head, i) => {
    if (head.getClassName() !== 'Dense') {
      throw new UnsupportedModelError(`${where}: output ${i} (${i === 0 ? 'mean' : 'logVar'}) comes from ${head.getClassName()} layer "${head.name}"; it must come straight from a Dense layer.`);
    }
  });
  const headInputs = heads.map((head) => head.inboundNodes.map((node) => node.inboundLayers[0]));
  if (headInputs.some((inputs) => inputs.length !== 1) || headInputs[0][0] !== headInputs[1][0]) {
    throw new UnsupportedModelError(`${where}: the mean and logVar heads must both read the output of the same layer, once each.`);
  }
  const trunk = encoder.layers.filter((layer) => layer !== meanHead && layer !== logVarHead && layer.getClassName() !== 'InputLayer');
  // A chain: each trunk layer applied once, reading the one before it; the last feeds the heads.
  if (containerNodeCount(encoder) !== encoder.layers.length) {
    throw new UnsupportedModelError(`${where}: a layer is applied more than once; the VAE's graph handles a chain of layers used once.`);
  }
  trunk.forEach((layer, i) => {
    if (asNestedModel(layer)) throw new UnsupportedModelError(`${where}: layer "${layer.name}" is a nested model; build the encoder from plain layers.`);
    const previous = layer.inboundNodes[0]?.inboundLayers ?? [];
    const expected = i === 0 ? 'InputLayer' : trunk[i - 1].name;
    const ok = layer.inboundNodes.length === 1 && previous.length === 1 && (i === 0 ? previous[0].getClassName() === 'InputLayer' : previous[0] === trunk[i - 1]);
    if (!ok) throw new UnsupportedModelError(`${where}: layer "${layer.name}" must read only the output of ${expected}; the VAE's graph handles a chain of layers before the two heads.`);
  });
  if (trunk.length === 0 || headInputs[0][0] !== trunk[trunk.length - 1]) {
    throw new UnsupportedModelError(`${where}: the heads must read the last layer of the chain before them.`);
  }
  const inputShape = encoder.inputs[0].shape.slice(1);
  if (!inputShape.every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new Error(`${where}: input shape ${describeShape(encoder.inputs[0].shape)} must be known apart from the batch.`);
  }
  const trunkOutput = trunk[trunk.length - 1].outputShape as Array<number | null>;
  if (trunkOutput.length !== 2) throw new UnsupportedModelError(`${where}: the heads must read a flat [batch, features] tensor (Flatten first); the layer before them gives ${describeShape(trunkOutput)}.`);
  const zDim = (meanHead.outputShape as number[])[1];
  if ((logVarHead.outputShape as number[])[1] !== zDim) {
    throw new Error(`${where}: the mean head gives ${zDim} numbers and the logVar head ${(logVarHead.outputShape as number[])[1]}; they must match.`);
  }
  const decoderInput = decoder.inputs[0]?.shape;
  if (decoder.inputs.length !== 1 || decoderInput.length !== 2 || decoderInput[1] !== zDim) {
    throw new Error(`compiledVae: decoder "${decoder.name}" takes ${decoder.inputs.map((i) => describeShape(i.shape)).join(' and ')}; it must take one code of [batch, ${zDim}] (the heads' size).`);
  }
  const decoderOutput = decoder.outputs[0].shape.slice(1);
  if (decoder.outputs.length !== 1 || decoderOutput.join() !== inputShape.join()) {
    throw new Error(`compiledVae: decoder "${decoder.name}" gives ${describeShape(decoder.outputs[0].shape)}; it must rebuild the encoder's input, ${describeShape([null, ...inputShape])}.`);
  }
  const decoderLayers = chainLayers(decoder);
  const variables = [...trunk, meanHead, logVarHead, ...decoderLayers].flatMap((layer) => layer.trainableWeights as unknown as LayerVariableLike[]);
  return { trunk, meanHead, logVarHead, decoder: decoderLayers, inputShape: inputShape as number[], features: trunkOutput[1] as number, zDim, variables };
}

export interface VaeGraphHandle {
  input: Output;
  /** eps, [batch, zDim]; drawn from `seed` unless fed. */
  noise: Output;
  /** int32 [2]: the step's seed for eps and Dropout masks. */
  seed: Output;
  loss: Output;
  reconstruction: Output;
  kl: Output;
  optimizer: GraphOptimizer;
}

/**
 * Adds the VAE's loss to `program`: with `train`, the whole training step (backward and update:
 * fetching any of the three losses runs it); without, a forward pass in inference mode that
 * changes nothing.
 */
export function addVaeGraph(program: GraphProgram, parts: VaeParts, optimizer: GraphOptimizer, reconstructionWeight: number, name: string, train: boolean): VaeGraphHandle {
  const { g } = program;
  const reads = program.newStepReads();
  const op = (type: string, ...inputs: Output[]) => g.op1(type, inputs, F);
  const c = (value: number) => g.constFloat(value);
  const reduce = (type: 'Mean' | 'Sum', x: Output, axis: number) => g.op1(type, [x, g.constInt([axis])], { ...F, Tidx: { type: DT.int32 }, keep_dims: { b: false } });

  const input = g.placeholder(`${name}/input`, DT.float, [-1, ...parts.inputShape]);
  const seed = g.placeholder(`${name}/seed`, DT.int32, [2]);
  // Trunk and decoder number their Dropout layers from 1 each; their seeds differ by offset.
  const offsetSeed = (offset: number) => g.op1('Add', [seed, g.constInt([0, offset])], { T: { type: DT.int32 } });
  const trunk = program.forward(reads, parts.trunk, parts.inputShape, input, train, offsetSeed(1000));
  const meanPass = program.forward(reads, [parts.meanHead], [parts.features], trunk.output, train);
  const logVarPass = program.forward(reads, [parts.logVarHead], [parts.features], trunk.output, train);
  const mean = meanPass.output;
  const logVar = logVarPass.output;

  // The reparameterisation trick: z = mean + exp(logVar / 2) * eps, eps ~ N(0, 1).
  const drawn = g.op1('StatelessRandomNormal', [g.shape(mean), seed], { dtype: { type: DT.float }, T: { type: DT.int32 }, Tseed: { type: DT.int32 } });
  const noise = g.op1('PlaceholderWithDefault', [drawn], { dtype: { type: DT.float }, shape: { shape: [-1, parts.zDim] } }, { name: `${name}/noise` });
  const std = op('Exp', op('Mul', logVar, c(0.5)));
  const z = op('Add', mean, op('Mul', std, noise));
  const decoded = program.forward(reads, parts.decoder, [parts.zDim], z, train, offsetSeed(2000));
  const output = decoded.output;

  // Loss: weighted per-image mean squared error plus KL divergence, each averaged over the batch.
  const pixels = parts.inputShape.reduce((a, b) => a * b, 1);
  const difference = op('Sub', output, input);
  const perImageError = reduce('Mean', g.reshape(op('Square', difference), [-1, pixels]), 1);
  const reconstruction = reduce('Mean', op('Mul', perImageError, c(reconstructionWeight)), 0);
  const expLogVar = op('Exp', logVar);
  const klTerms = op('Sub', op('Sub', op('Add', c(1), logVar), op('Square', mean)), expLogVar);
  const kl = reduce('Mean', op('Mul', reduce('Sum', klTerms, 1), c(-0.5)), 0);
  const loss = op('Add', reconstruction, kl);

  if (train) {
    const batch = op('RealDiv', g.toFloat(g.op1('Size', [mean], { ...F, out_type: { type: DT.int32 } }), DT.int32), c(parts.zDim));
    const grads = new Map<string, Output>();
    const backward = (lowered: typeof trunk.lowered, layers: LayerLike[], dy: Output, needFirstInput: boolean): Output | undefined => {
      let d: Output | undefined = dy;
      for (let i = lowered.length - 1; i >= 0 && d; i--) {
        const step = lowered[i].backward;
        if (!step) throw new UnsupportedModelError(`${layers[i].name}: no gradient in inference mode.`);
        d = step(d, grads, i > 0 || needFirstInput);
      }
      return d;
    };
    // d loss / d output = 2 weight (x' - x) / (batch * pixels).
    const dOutput = op('RealDiv', op('Mul', difference, c((2 * reconstructionWeight) / pixels)), batch);
    const dz = backward(decoded.lowered, parts.decoder, dOutput, true) as Output;
    // z = mean + std * eps: dz/dmean = 1, dz/dlogVar = std * eps / 2; KL adds mean / batch and
    // (exp(logVar) - 1) / (2 batch).
    const dMean = op('Add', dz, op('RealDiv', mean, batch));
    const dLogVar = op('Add', op('Mul', op('Mul', dz, op('Mul', std, noise)), c(0.5)), op('RealDiv', op('Mul', op('Sub', expLogVar, c(1)), c(0.5)), batch));
    const dFeatures = op('Add',
      backward(meanPass.lowered, [parts.meanHead], dMean, true) as Output,
      backward(logVarPass.lowered, [parts.logVarHead], dLogVar, true) as Output);
    backward(trunk.lowered, parts.trunk, dFeatures, false);
    optimizer.buildUpdate(g, reads, grads, name);
  }
  // Fetching a loss runs the step's updates first (none for the evaluation pass).
  const result = (value: Output, label: string) => g.op1('Identity', [value], F, { name: `${name}/${label}`, control: reads.assigns });
  return { input, noise, seed, loss: result(loss, 'loss'), reconstruction: result(reconstruction, 'reconstruction'), kl: result(kl, 'kl'), optimizer };
}
