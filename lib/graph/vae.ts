/**
 * The variational autoencoder's training step as one TensorFlow graph: the encoder's trunk, its
 * mean and log-variance heads, z = mean + exp(logVar / 2) * eps with eps from TensorFlow's
 * stateless normal generator (seeded per step, or fed), the decoder, the loss
 *   weight * mean((x - x')^2 over pixels) + KL, KL = -0.5 * sum(1 + logVar - mean^2 - exp(logVar)),
 * each averaged over the batch, then the backward pass written out by hand and the optimizer's
 * update. The same loss in tfjs ops is `vaeLossTerms` (train/vae.ts); a test ties the two.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';
import { DataType, FLOAT_OP, type Output } from './builder';
import { UnsupportedModelError } from './errors';
import { backpropagate, chainLayers, type LayerLike, type WeightGradients } from './layers';
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
  return `[${shape.map((dim) => (dim === null ? 'batch' : String(dim))).join(', ')}]`;
}

/**
 * Checks the models' structure and returns their parts. The encoder: one image input, a chain
 * of layers, then two Dense layers on the chain's output giving [mean, logVar] (in that order);
 * the decoder: a chain from z back to an image of the encoder's input shape.
 */
export function vaeParts(encoder: LayersModel, decoder: LayersModel): VaeParts {
  const where = `compiledVae: encoder "${encoder.name}"`;
  if (encoder.inputs.length !== 1 || encoder.outputs.length !== 2) {
    throw new Error(
      `${where} has ${encoder.inputs.length} inputs and ${encoder.outputs.length} outputs; ` +
        'it must take one image and give two outputs, [mean, logVar].',
    );
  }
  const heads = encoder.outputs.map((output) => output.sourceLayer as LayerLike);
  const [meanHead, logVarHead] = heads;
  heads.forEach((head, i) => {
    if (head.getClassName() !== 'Dense') {
      throw new UnsupportedModelError(
        `${where}: output ${i} (${i === 0 ? 'mean' : 'logVar'}) comes from ${head.getClassName()} ` +
          `layer "${head.name}"; it must come straight from a Dense layer.`,
      );
    }
  });
  const headInputs = heads.map((head) => head.inboundNodes.map((node) => node.inboundLayers[0]));
  if (headInputs.some((inputs) => inputs.length !== 1) || headInputs[0][0] !== headInputs[1][0]) {
    throw new UnsupportedModelError(
      `${where}: the mean and logVar heads must both read the output of the same layer, once each.`,
    );
  }
  const trunk = encoder.layers.filter(
    (layer) => layer !== meanHead && layer !== logVarHead && layer.getClassName() !== 'InputLayer',
  );
  // A chain: each trunk layer applied once, reading the one before it; the last feeds the heads.
  if (containerNodeCount(encoder) !== encoder.layers.length) {
    throw new UnsupportedModelError(
      `${where}: a layer is applied more than once; the VAE's graph handles a chain of layers used once.`,
    );
  }
  trunk.forEach((layer, i) => {
    if (asNestedModel(layer)) {
      throw new UnsupportedModelError(
        `${where}: layer "${layer.name}" is a nested model; build the encoder from plain layers.`,
      );
    }
    const previous = layer.inboundNodes[0]?.inboundLayers ?? [];
    const expected = i === 0 ? 'InputLayer' : trunk[i - 1].name;
    const readsPrevious =
      previous.length === 1 && (i === 0 ? previous[0].getClassName() === 'InputLayer' : previous[0] === trunk[i - 1]);
    if (!(layer.inboundNodes.length === 1 && readsPrevious)) {
      throw new UnsupportedModelError(
        `${where}: layer "${layer.name}" must read only the output of ${expected}; ` +
          "the VAE's graph handles a chain of layers before the two heads.",
      );
    }
  });
  if (trunk.length === 0 || headInputs[0][0] !== trunk[trunk.length - 1]) {
    throw new UnsupportedModelError(`${where}: the heads must read the last layer of the chain before them.`);
  }
  const inputShape = encoder.inputs[0].shape.slice(1);
  if (!inputShape.every((dim) => Number.isInteger(dim) && (dim as number) > 0)) {
    throw new Error(
      `${where}: input shape ${describeShape(encoder.inputs[0].shape)} must be known apart from the batch.`,
    );
  }
  const trunkOutput = trunk[trunk.length - 1].outputShape as Array<number | null>;
  if (trunkOutput.length !== 2) {
    throw new UnsupportedModelError(
      `${where}: the heads must read a flat [batch, features] tensor (Flatten first); ` +
        `the layer before them gives ${describeShape(trunkOutput)}.`,
    );
  }
  const zDim = (meanHead.outputShape as number[])[1];
  if ((logVarHead.outputShape as number[])[1] !== zDim) {
    throw new Error(
      `${where}: the mean head gives ${zDim} numbers and the logVar head ` +
        `${(logVarHead.outputShape as number[])[1]}; they must match.`,
    );
  }
  const decoderInput = decoder.inputs[0]?.shape;
  if (decoder.inputs.length !== 1 || decoderInput.length !== 2 || decoderInput[1] !== zDim) {
    const takes = decoder.inputs.map((decoderInputTensor) => describeShape(decoderInputTensor.shape)).join(' and ');
    throw new Error(
      `compiledVae: decoder "${decoder.name}" takes ${takes}; ` +
        `it must take one code of [batch, ${zDim}] (the heads' size).`,
    );
  }
  const decoderOutput = decoder.outputs[0].shape.slice(1);
  if (decoder.outputs.length !== 1 || decoderOutput.join() !== inputShape.join()) {
    throw new Error(
      `compiledVae: decoder "${decoder.name}" gives ${describeShape(decoder.outputs[0].shape)}; ` +
        `it must rebuild the encoder's input, ${describeShape([null, ...inputShape])}.`,
    );
  }
  const decoderLayers = chainLayers(decoder);
  const variables = [...trunk, meanHead, logVarHead, ...decoderLayers].flatMap(
    (layer) => layer.trainableWeights as unknown as LayerVariableLike[],
  );
  return {
    trunk,
    meanHead,
    logVarHead,
    decoder: decoderLayers,
    inputShape: inputShape as number[],
    features: trunkOutput[1] as number,
    zDim,
    variables,
  };
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
export function addVaeGraph(
  program: GraphProgram,
  parts: VaeParts,
  optimizer: GraphOptimizer,
  reconstructionWeight: number,
  name: string,
  train: boolean,
): VaeGraphHandle {
  const { graph } = program;
  const reads = program.newStepReads();
  const op = (type: string, ...inputs: Output[]) => graph.op1(type, inputs, FLOAT_OP);
  const scalar = (value: number) => graph.constFloat(value);
  const reduceAttrs = { ...FLOAT_OP, Tidx: { type: DataType.int32 }, keep_dims: { b: false } };
  const reduce = (type: 'Mean' | 'Sum', tensor: Output, axis: number) =>
    graph.op1(type, [tensor, graph.constInt([axis])], reduceAttrs);

  const input = graph.placeholder(`${name}/input`, DataType.float, [-1, ...parts.inputShape]);
  const seed = graph.placeholder(`${name}/seed`, DataType.int32, [2]);
  // Trunk and decoder number their Dropout layers from 1 each; their seeds differ by offset.
  const offsetSeed = (offset: number) =>
    graph.op1('Add', [seed, graph.constInt([0, offset])], { T: { type: DataType.int32 } });
  const trunk = program.forward(reads, parts.trunk, parts.inputShape, input, train, offsetSeed(1000));
  const meanPass = program.forward(reads, [parts.meanHead], [parts.features], trunk.output, train);
  const logVarPass = program.forward(reads, [parts.logVarHead], [parts.features], trunk.output, train);
  const mean = meanPass.output;
  const logVar = logVarPass.output;

  // The reparameterisation trick: z = mean + exp(logVar / 2) * eps, eps ~ N(0, 1).
  const drawn = graph.op1('StatelessRandomNormal', [graph.shape(mean), seed], {
    dtype: { type: DataType.float },
    T: { type: DataType.int32 },
    Tseed: { type: DataType.int32 },
  });
  const noise = graph.op1(
    'PlaceholderWithDefault',
    [drawn],
    {
      dtype: { type: DataType.float },
      shape: { shape: [-1, parts.zDim] },
    },
    { name: `${name}/noise` },
  );
  const standardDeviation = op('Exp', op('Mul', logVar, scalar(0.5)));
  const z = op('Add', mean, op('Mul', standardDeviation, noise));
  const decoded = program.forward(reads, parts.decoder, [parts.zDim], z, train, offsetSeed(2000));
  const output = decoded.output;

  // Loss: weighted per-image mean squared error plus KL divergence, each averaged over the batch.
  const pixels = parts.inputShape.reduce((product, dim) => product * dim, 1);
  const difference = op('Sub', output, input);
  const perImageError = reduce('Mean', graph.reshape(op('Square', difference), [-1, pixels]), 1);
  const reconstruction = reduce('Mean', op('Mul', perImageError, scalar(reconstructionWeight)), 0);
  const expLogVar = op('Exp', logVar);
  const klTerms = op('Sub', op('Sub', op('Add', scalar(1), logVar), op('Square', mean)), expLogVar);
  const kl = reduce('Mean', op('Mul', reduce('Sum', klTerms, 1), scalar(-0.5)), 0);
  const loss = op('Add', reconstruction, kl);

  if (train) {
    const size = graph.op1('Size', [mean], { ...FLOAT_OP, out_type: { type: DataType.int32 } });
    const batch = op('RealDiv', graph.toFloat(size, DataType.int32), scalar(parts.zDim));
    const weightGradients: WeightGradients = new Map();
    // d loss / d output = 2 weight (x' - x) / (batch * pixels).
    const outputGrad = op('RealDiv', op('Mul', difference, scalar((2 * reconstructionWeight) / pixels)), batch);
    const zGrad = backpropagate(decoded.lowered, parts.decoder, outputGrad, weightGradients, true) as Output;
    // z = mean + std * eps: dz/dmean = 1, dz/dlogVar = std * eps / 2; KL adds mean / batch and
    // (exp(logVar) - 1) / (2 batch).
    const meanGrad = op('Add', zGrad, op('RealDiv', mean, batch));
    const logVarGrad = op(
      'Add',
      op('Mul', op('Mul', zGrad, op('Mul', standardDeviation, noise)), scalar(0.5)),
      op('RealDiv', op('Mul', op('Sub', expLogVar, scalar(1)), scalar(0.5)), batch),
    );
    const featuresGrad = op(
      'Add',
      backpropagate(meanPass.lowered, [parts.meanHead], meanGrad, weightGradients, true) as Output,
      backpropagate(logVarPass.lowered, [parts.logVarHead], logVarGrad, weightGradients, true) as Output,
    );
    backpropagate(trunk.lowered, parts.trunk, featuresGrad, weightGradients, false);
    optimizer.buildUpdate(graph, reads, weightGradients, name);
  }
  // Fetching a loss runs the step's updates first (none for the evaluation pass).
  const result = (value: Output, label: string) =>
    graph.op1('Identity', [value], FLOAT_OP, { name: `${name}/${label}`, control: reads.assigns });
  return {
    input,
    noise,
    seed,
    loss: result(loss, 'loss'),
    reconstruction: result(reconstruction, 'reconstruction'),
    kl: result(kl, 'kl'),
    optimizer,
  };
}
