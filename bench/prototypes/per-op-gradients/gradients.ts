/**
 * The gradient table: each op the lowerings and losses build registers its gradient once, in ops of
 * the graph (TensorFlow's own *Grad kernels where it has them). `dy` is the gradient of the op's
 * (first) output; each entry returns, per input, a function building that input's gradient, or
 * undefined for inputs that have none (shapes, axes, sizes).
 */
import { FLOAT_OP, type AttrValue } from '../../../lib/graph/builder';
import { batchNormAttrs, registerGradient, type AutoGraph, type Sym } from './autodiff';

const num = (attr: AttrValue | undefined): number => (attr && 'f' in attr ? attr.f : 0);
const text = (attr: AttrValue | undefined): string => (attr && 's' in attr ? attr.s : '');
const flag = (attr: AttrValue | undefined): boolean => Boolean(attr && 'b' in attr && attr.b);
const stride = (attr: AttrValue | undefined): number => (attr && 'ints' in attr ? attr.ints[1] : 1);

/** dy through a TensorFlow *Grad op taking (first, second) and the op's T. */
const gradOp = (g: AutoGraph, op: string, first: Sym, second: Sym, attrs: Record<string, AttrValue> = {}) =>
  g.op1(op, [first, second], { ...FLOAT_OP, ...attrs }, first.shape);

registerGradient('Identity', (_g, _n, [dy]) => [() => dy!]);
registerGradient('AddV2', (g, { inputs: [a, b] }, [dy]) => [
  () => g.unbroadcast(dy!, a.shape),
  () => g.unbroadcast(dy!, b.shape),
]);
registerGradient('Sub', (g, { inputs: [a, b] }, [dy]) => [
  () => g.unbroadcast(dy!, a.shape),
  () => g.unbroadcast(g.neg(dy!), b.shape),
]);
registerGradient('Mul', (g, { inputs: [a, b] }, [dy]) => [
  () => g.unbroadcast(g.mul(dy!, b), a.shape),
  () => g.unbroadcast(g.mul(dy!, a), b.shape),
]);
registerGradient('RealDiv', (g, { inputs: [a, b], outputs: [y] }, [dy]) => [
  () => g.unbroadcast(g.div(dy!, b), a.shape),
  () => g.unbroadcast(g.neg(g.mul(dy!, g.div(y, b))), b.shape), // d(a/b)/db = -(a/b)/b
]);
registerGradient('SquaredDifference', (g, { inputs: [a, b] }, [dy]) => {
  const twice = () => g.mul(g.scalar(2), g.mul(dy!, g.sub(a, b)));
  return [() => g.unbroadcast(twice(), a.shape), () => g.unbroadcast(g.neg(twice()), b.shape)];
});
registerGradient('AddN', (_g, { inputs }, [dy]) => inputs.map(() => () => dy!));
registerGradient('Neg', (g, _n, [dy]) => [() => g.neg(dy!)]);
registerGradient('Exp', (g, { outputs: [y] }, [dy]) => [() => g.mul(dy!, y)]);
registerGradient('Log', (g, { inputs: [x] }, [dy]) => [() => g.div(dy!, x)]);
registerGradient('Log1p', (g, { inputs: [x] }, [dy]) => [() => g.div(dy!, g.add(g.scalar(1), x))]);
registerGradient('Square', (g, { inputs: [x] }, [dy]) => [() => g.mul(dy!, g.mul(g.scalar(2), x))]);
registerGradient('Abs', (g, { inputs: [x] }, [dy]) => [() => g.mul(dy!, g.unary('Sign', x))]);
registerGradient('ClipByValue', (g, { inputs: [x, lo, hi] }, [dy]) => [
  // tfjs's rule: dy where lo <= x <= hi, else 0.
  () => g.mul(dy!, g.mul(g.compare('GreaterEqual', x, lo), g.compare('LessEqual', x, hi))),
  undefined,
  undefined,
]);
// Relu's and LeakyRelu's (alpha > 0) output has the sign of its input: giving the *Grad op the output
// leaves the input (a BiasAdd) with one consumer, so Grappler can fuse conv + bias + activation.
registerGradient('Relu', (g, { outputs: [y] }, [dy]) => [() => gradOp(g, 'ReluGrad', dy!, y)]);
registerGradient('LeakyRelu', (g, { inputs: [x], outputs: [y], attrs }, [dy]) => [
  () => gradOp(g, 'LeakyReluGrad', dy!, num(attrs.alpha) > 0 ? y : x, { alpha: { f: num(attrs.alpha) } }),
]);
registerGradient('Tanh', (g, { outputs: [y] }, [dy]) => [() => gradOp(g, 'TanhGrad', y, dy!)]);
registerGradient('Sigmoid', (g, { outputs: [y] }, [dy]) => [() => gradOp(g, 'SigmoidGrad', y, dy!)]);
registerGradient('Reshape', (g, { inputs: [x] }, [dy]) => [() => g.reshape(dy!, x.shape), undefined]);
registerGradient('BroadcastTo', (g, { inputs: [x] }, [dy]) => [() => g.unbroadcast(dy!, x.shape), undefined]);
for (const op of ['Sum', 'Mean'] as const) {
  registerGradient(op, (g, { inputs: [x, axes], outputs: [y] }, [dy]) => [
    () => {
      // dy back to the input's rank (1 on the reduced axes), spread over them, divided by their size for Mean.
      const reduced = axes.values ?? [];
      const keptShape = x.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
      const spread = g.broadcastTo(g.reshape(dy!, keptShape), x.shape);
      return op === 'Sum' ? spread : g.mul(spread, g.scalar(y.size / x.size));
    },
    undefined,
  ]);
}
registerGradient('MatMul', (g, { inputs: [a, b], attrs }, [dy]) => {
  if (flag(attrs.transpose_a) || flag(attrs.transpose_b)) throw new Error('MatMul gradient: transposes not lowered');
  return [() => g.matMul(dy!, b, false, true), () => g.matMul(a, dy!, true, false)];
});
registerGradient('BiasAdd', (g, { inputs: [x] }, [dy]) => [
  () => dy!,
  () => g.op1('BiasAddGrad', [dy!], { ...FLOAT_OP, data_format: { s: 'NHWC' } }, [x.shape[x.shape.length - 1]]),
]);
registerGradient('Conv2D', (g, { inputs: [x, w], attrs }, [dy]) => [
  () => g.conv2dBackpropInput(x.shape, w, dy!, stride(attrs.strides), text(attrs.padding)),
  () => g.conv2dBackpropFilter(x, w.shape, dy!, stride(attrs.strides), text(attrs.padding)),
]);
// y = conv2d_transpose(x, w): the gradients of a conv2d's input gradient.
registerGradient('Conv2DBackpropInput', (g, { inputs: [, w, x], attrs }, [dy]) => [
  undefined,
  () => g.conv2dBackpropFilter(dy!, w.shape, x, stride(attrs.strides), text(attrs.padding)),
  () => g.conv2d(dy!, w, stride(attrs.strides), text(attrs.padding) as 'SAME' | 'VALID'),
]);
registerGradient('ResizeNearestNeighbor', (g, { inputs: [x], attrs }, [dy]) => [
  () => g.op1('ResizeNearestNeighborGrad', [dy!, g.ints([x.shape[1], x.shape[2]])], attrs, x.shape),
  undefined,
]);
registerGradient('FusedBatchNormV3', (g, node, [dy]) => {
  const [x, scale] = node.inputs;
  const [, , , reserve1, reserve2, reserve3] = node.outputs;
  const training = flag(node.attrs.is_training);
  if (!training) throw new Error('FusedBatchNormV3 gradient: only the training form is lowered');
  let grads: Sym[] | undefined;
  const all = () =>
    (grads ??= g.op(
      'FusedBatchNormGradV3',
      [dy!, x, scale, reserve1, reserve2, reserve3],
      batchNormAttrs(num(node.attrs.epsilon), true),
      [x.shape, scale.shape, scale.shape, [0], [0]],
    ));
  return [() => all()[0], () => all()[1], () => all()[2], undefined, undefined];
});
