/**
 * Compiling with an optimizer that the model owns, so that `model.dispose()` frees its state too.
 *
 * tfjs disposes an optimizer with its model only when `compile` got the optimizer's name
 * (`optimizer: 'adam'`, with default settings); an optimizer object passed in stays the caller's
 * to dispose. The builders here make their optimizer themselves (to set its learning rate and
 * epsilon), so no caller holds it: without this, each model built and disposed would leave its
 * optimizer's variables behind (Adam's two step counters, plus its slots once it has trained).
 */
import type { LayersModel, ModelCompileArgs, Optimizer } from '@tensorflow/tfjs-node';

/** `model.compile(args)`, with `model.dispose()` also disposing `args.optimizer` once the model's weights go. */
export function compileOwningOptimizer(model: LayersModel, args: ModelCompileArgs & { optimizer: Optimizer }): void {
  model.compile(args);
  const disposeModel = model.dispose.bind(model);
  // An own property shadows the class's method, on this model only; tfjs calls it for a model used as a
  // layer too. The weights go when the count of the model's uses reaches 0, and the optimizer with them.
  model.dispose = () => {
    const result = disposeModel();
    if (result.refCountAfterDispose === 0) args.optimizer.dispose();
    return result;
  };
}
