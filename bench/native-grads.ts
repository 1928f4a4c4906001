/**
 * PROTOTYPE (benchmark only, not used by the library): cheaper activation gradients on the
 * tfjs-node backend, to measure what the proposed library fix would gain (see RESULTS.md).
 *
 * tfjs computes activation gradients from generic ops, several native calls each:
 *  - Step (used by ReLU's gradient and by fused conv/dense layers with relu) runs isNaN,
 *    greater, ones, fill, where and Select: about 6 kernels and two full-size temporaries;
 *  - LeakyReLU's gradient is greater + mul + where.
 * TensorFlow has one fused kernel for each (ReluGrad, LeakyReluGrad), which Keras's graphs use.
 * `installNativeActivationGrads()` replaces the Step kernel (alpha 0: x > 0 as 0/1; NaN gives 0
 * like TensorFlow's ReluGrad) and the LeakyRelu gradient (native LeakyReluGrad).
 */
import type { Tensor, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs-node';
import { tf } from '../lib';

/** The part of tfjs-node's NodeJSKernelBackend this prototype calls (internal, untyped in tfjs). */
interface NodeBackend {
  executeSingleOutput(name: string, opAttrs: { name: string; type: number; value: unknown }[], inputs: TensorInfo[]): Tensor;
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_FLOAT: number };
}

const LEAKY_RELU_GRAD_NATIVE = 'BenchLeakyReluGradNative';
let installed = false;

export function installNativeActivationGrads(): void {
  if (installed) return;
  installed = true;
  const floatType = (backend: NodeBackend) => ({ name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT });

  const previousStep = tf.getKernel('Step', 'tensorflow');
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel({
    kernelName: 'Step',
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const x = args.inputs.x as Tensor;
      const alpha = (args.attrs as NamedAttrMap).alpha as number;
      if (alpha !== 0 || x.dtype !== 'float32') {
        return previousStep!.kernelFunc(args) as TensorInfo;
      }
      return tf.tidy(() => tf.cast(tf.greater(x, 0), 'float32'));
    },
  });

  tf.registerKernel({
    kernelName: LEAKY_RELU_GRAD_NATIVE,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const nodeBackend = backend as unknown as NodeBackend;
      return nodeBackend.executeSingleOutput('LeakyReluGrad', [
        floatType(nodeBackend),
        { name: 'alpha', type: nodeBackend.binding.TF_ATTR_FLOAT, value: (attrs as NamedAttrMap).alpha as number },
      ], [inputs.dy as TensorInfo, inputs.x as TensorInfo]);
    },
  });
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const alpha = (attrs as NamedAttrMap).alpha as number;
      return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD_NATIVE, { dy: dy as Tensor, x }, { alpha }) as Tensor };
    },
  });
}
