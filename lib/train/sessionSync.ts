/**
 * A compiled session and its weights kept in step with tfjs's: the state both the model
 * workspaces (train/engine.ts) and the VAE's (train/vae.ts) keep. The session holds the newest
 * values after a graph step (`sessionNewer`: tfjs reads pull them first); a tfjs write or an
 * eager step makes tfjs newer (`tfjsNewer`: the next graph step pushes first). `busy` marks the
 * engine's own copies, which the variable watch must ignore.
 */
import type { GraphProgram } from '../graph/program';

/**
 * How a session is let go: 'release' copies everything back (weights and optimizer state);
 * 'dispose' only the weights, since they are being disposed and the optimizer may be already.
 * An owner garbage-collected without either has its native session deleted by GraphSession's
 * own finalizer (graph/session.ts).
 */
export type SessionRelease = 'release' | 'dispose';

export class SessionSync {
  program: GraphProgram | undefined;
  sessionNewer = false;
  tfjsNewer = false;
  busy = false;

  /** Copies the session's newer values into the tfjs models (weights and optimizer state). */
  pull(): void {
    if (!this.program || !this.sessionNewer) return;
    this.copy(() => this.program?.pull());
    this.sessionNewer = false;
  }

  /** Copies the tfjs values (weights and optimizer state) into the session. */
  push(): void {
    if (!this.program) return;
    this.copy(() => this.program?.push());
    this.tfjsNewer = false;
  }

  /** Takes a started program as this owner's session, with the tfjs values pushed in. */
  adopt(program: GraphProgram): void {
    this.program = program;
    this.push();
  }

  /** Copies the newest values back (see SessionRelease), then frees the session (the next step builds a new one). */
  releaseSession(how: SessionRelease = 'release'): void {
    if (how === 'dispose' && this.program && this.sessionNewer) this.copy(() => this.program?.pull(true));
    else this.pull();
    this.program?.dispose();
    this.program = undefined;
    this.sessionNewer = false;
    this.tfjsNewer = false;
  }

  /** The variable watch's two calls: pull before a tfjs read or write, note a tfjs write. */
  beforeTfjsAccess(): void {
    if (!this.busy) this.pull();
  }

  afterTfjsWrite(): void {
    if (!this.busy) this.tfjsNewer = true;
  }

  private copy(run: () => void): void {
    this.busy = true;
    try {
      run();
    } finally {
      this.busy = false;
    }
  }
}
