/**
 * The tfjs-node binding that scripts/setup.sh builds (scripts/tfjs-node/binding-owned-memory.patch):
 * tensors made from JS data own their memory, a failing session run frees its inputs, and the
 * probe that tells the patched binding from the stock one can tell them apart.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { tf } from '../../lib';
import { bindingCopiesJsData, type TensorBinding } from '../../lib/backend';
import { DataType, FLOAT_OP, GraphBuilder, Output } from '../../lib/graph/builder';
import { GraphSession } from '../../lib/graph/session';

describe('the tfjs-node binding', () => {
  it('copies a typed array into TensorFlow memory: writing the array afterwards leaves the tensor as it was', () => {
    const binding = (tf.backend() as unknown as { binding: TensorBinding }).binding;
    // Sizes from a few KB to 16 MB: the stock binding shares every aligned one (both small heap
    // blocks and large mapped ones), so some of these would show the write.
    for (const length of [1024, 4096, 65536, 1 << 20, 1 << 22]) {
      for (let copy = 0; copy < 8; copy++) {
        const values = new Float32Array(length).fill(2);
        const id = binding.createTensor([length], binding.TF_FLOAT, values);
        values[0] = 7;
        values[length - 1] = 7;
        const seen = binding.tensorDataSync(id);
        binding.deleteTensor(id);
        assert.deepEqual([seen[0], seen[length - 1]], [2, 2], `a ${length}-float array was shared, not copied`);
      }
    }
    assert.equal(bindingCopiesJsData(tf), true);
  });

  it('the probe says "shares" for a binding that shares the array', () => {
    // A stand-in binding that keeps the caller's array, as the stock one does for aligned arrays.
    const kept = new Map<number, Float32Array>();
    const sharing: TensorBinding = {
      TF_FLOAT: 1,
      createTensor: (_shape, _dtype, values) => (kept.set(kept.size, values), kept.size - 1),
      tensorDataSync: (id) => kept.get(id) as Float32Array,
      deleteTensor: (id) => void kept.delete(id),
    };
    const fakeTf = { backend: () => ({ binding: sharing }) } as unknown as typeof tf;
    assert.equal(bindingCopiesJsData(fakeTf), false);
    assert.equal(kept.size, 0, 'the probe deletes every tensor it makes');
  });

  it('a session run that fails frees its input tensors (RSS flat over 40 failing runs with 8 MB inputs)', () => {
    const graph = new GraphBuilder();
    const input = graph.placeholder('x', DataType.float, [-1]);
    graph.op1('Identity', [input], FLOAT_OP, { name: 'y' });
    const session = new GraphSession(graph);
    // An output the graph lacks: the binding throws after resolving the inputs.
    const missing = new Output('no_such_op');
    const failingRun = () => {
      const big = tf.fill([1 << 21], 1); // 8 MB, a new buffer each run
      assert.throws(() => session.run([[input, big]], [missing]), /Output op name can not be found/);
      big.dispose();
    };
    for (let i = 0; i < 5; i++) failingRun();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 40; i++) failingRun();
    const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
    session.dispose();
    // The stock binding keeps each run's 8 MB input: about 320 MB over 40 runs.
    assert.ok(grownMb < 40, `RSS grew by ${grownMb.toFixed(1)} MB over 40 failing runs`);
  });
});
