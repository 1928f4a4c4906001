/**
 * Stopping training from JupyterLab's Kernel > Interrupt.
 *
 * The kernel turns the interrupt (SIGINT) into a request here (scripts/tslab-kernel.js calls
 * requestInterrupt, and clears it when the next cell starts). Every training step checks it
 * before it runs, so a loop stops at the next batch boundary and the models keep the weights of
 * the last finished step. Training also gives the event loop a turn every `YIELD_EVERY_MS`:
 * without that a loop of awaited steps (which resolve as microtasks) starves timers, signal
 * handlers and the kernel's output, and the interrupt would only be seen when training ends.
 *
 * The state lives on globalThis under a registered symbol, so the kernel launcher (plain
 * JavaScript, loaded before the library) and the library share it.
 */
export interface InterruptState {
  /** Set by an interrupt; cleared when a step reports it, or when the next cell starts. */
  requested: boolean;
  /** Date.now() of the last training step, so the kernel knows whether training is running. */
  lastStepAt: number;
  /**
   * True while a loop checks for interrupts itself at safe points (a TrainingMonitor's update,
   * between iterations, when no temporary tensor is alive): steps then leave the request to it.
   * Cleared when the next cell starts.
   */
  loopChecks?: boolean;
}

const STATE_KEY = Symbol.for('gan-notebooks.interrupt');

export function interruptState(): InterruptState {
  const holder = globalThis as unknown as Record<symbol, InterruptState | undefined>;
  return (holder[STATE_KEY] ??= { requested: false, lastStepAt: 0 });
}

/** Asks the running training loop to stop at its next step (what Kernel > Interrupt does). */
export function requestInterrupt(): void {
  interruptState().requested = true;
}

/** Forgets a pending request (the kernel does this when a new cell starts). */
export function clearInterrupt(): void {
  interruptState().requested = false;
}

/** Thrown by a training step after an interrupt; the message is the whole story for the learner. */
export class TrainingInterrupted extends Error {
  override readonly name = 'TrainingInterrupted';
  constructor(
    message: string,
    readonly history?: unknown,
  ) {
    super(message);
  }
}

/** Longest stretch of training without a turn of the event loop. */
export const YIELD_EVERY_MS = 40;

let lastYieldAt = 0;

/** One turn of the event loop: timers, I/O and signal handlers run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Called before every training step: yields to the event loop if training has held it for
 * YIELD_EVERY_MS, then throws TrainingInterrupted (made by `message`) if an interrupt came.
 */
export async function beforeStep(message: () => string): Promise<void> {
  const now = Date.now();
  if (now - lastYieldAt >= YIELD_EVERY_MS) {
    await nextTurn();
    lastYieldAt = Date.now();
  }
  const state = interruptState();
  if (state.requested && !state.loopChecks) {
    state.requested = false;
    throw new TrainingInterrupted(message());
  }
}

/** A loop's own safe point: true (and the request is taken) if an interrupt came. */
export async function interruptRequested(): Promise<boolean> {
  await nextTurn();
  lastYieldAt = Date.now();
  const state = interruptState();
  if (!state.requested) return false;
  state.requested = false;
  return true;
}

/** Called after every training step. */
export function afterStep(): void {
  interruptState().lastStepAt = Date.now();
}
