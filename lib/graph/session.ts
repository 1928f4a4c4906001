/**
 * A TensorFlow session on a graph built by GraphBuilder, run through tfjs-node's native
 * SavedModel loader. The graph is written to a temporary SavedModel directory, loaded
 * (which also runs TensorFlow's graph optimisations: Grappler and the oneDNN rewrites that
 * eager ops never get), and the directory is removed again; the session keeps the graph.
 *
 * Feeds and fetches are tfjs tensors, so session outputs join tfjs's memory accounting and are
 * disposed like any other tensor.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import type { GraphBuilder, Output } from './builder';
import { nativeSessionBackend, type NativeSessionBackend } from './tfjsInternals';

function nativeBackend(): NativeSessionBackend {
  const backend = nativeSessionBackend();
  if (!backend) {
    throw new Error(
      `The graph engine needs tfjs-node's native backend ("tensorflow"); the active backend is "${tf.getBackend()}". ` +
        "Use engine: 'eager', or run `npm run setup`.",
    );
  }
  return backend;
}

const TF_DTYPES: Record<string, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

/** What deleting a native session takes: nothing that leads back to a program, model or weight. */
interface NativeSessionRef {
  backend: NativeSessionBackend;
  id: number;
}

/**
 * Deletes the native session of a GraphSession that was garbage-collected without dispose (its
 * model dropped without `model.dispose()`). The held value must not reach the GraphSession,
 * else it would never be collected: holding the program, say, would hold the layer weights its
 * bindings read, and through the engine's map from weights to workspaces, the program again.
 */
const sessionReaper = new FinalizationRegistry<NativeSessionRef>(({ backend, id }) => {
  backend.deleteSavedModel(id);
  sessionsReleasedByGc += 1;
});
let sessionsReleasedByGc = 0;

/** How many native sessions the garbage collector's path has deleted so far (tests read it). */
export function graphSessionsReleasedByGc(): number {
  return sessionsReleasedByGc;
}

export class GraphSession {
  private readonly backend: NativeSessionBackend;
  private id: number | undefined;

  /** `config`: a serialized ConfigProto for the session (the patched binding's third argument). */
  constructor(graph: GraphBuilder, config?: Uint8Array) {
    this.backend = nativeBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gan-notebooks-graph-'));
    try {
      fs.writeFileSync(path.join(dir, 'saved_model.pb'), graph.savedModel());
      this.id = config
        ? this.backend.binding.loadSavedModel(dir, 'serve', config)
        : this.backend.loadSavedModelMetaGraph(dir, 'serve');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    sessionReaper.register(this, { backend: this.backend, id: this.id }, this);
  }

  /** Runs the graph: feeds `feeds` (placeholder -> tensor), returns the tensors named in `fetches`. */
  run(feeds: Array<[Output, Tensor]>, fetches: Output[]): Tensor[] {
    if (this.id === undefined) throw new Error('GraphSession.run: the session was disposed.');
    const infos = feeds.map(([output, tensor]) => {
      const tfDtype = TF_DTYPES[tensor.dtype];
      if (!tfDtype) throw new Error(`GraphSession.run: cannot feed a ${tensor.dtype} tensor to ${output.tensorName}.`);
      return { name: output.tensorName, tfDtype };
    });
    const inputs = feeds.map(([, tensor]) => tensor);
    return this.backend.runSavedModel(
      this.id,
      inputs,
      infos,
      fetches.map((fetch) => fetch.tensorName),
    );
  }

  dispose(): void {
    if (this.id === undefined) return;
    sessionReaper.unregister(this);
    this.backend.deleteSavedModel(this.id);
    this.id = undefined;
  }
}
