/**
 * Stopping training from JupyterLab's Kernel > Interrupt.
 *
 * The kernel turns the interrupt (SIGINT) into a request here (scripts/tslab-kernel.js sets it, and
 * clears it when the next cell starts). A loop with a TrainingMonitor takes the request at the
 * monitor's safe points, between steps, where it holds no temporary tensor: `update` and `progress`
 * return false and the loop breaks. A loop without one (compiled steps in a bare `for`) is stopped by
 * the next step, which throws TrainingInterrupted; either way the models keep the weights of the
 * last finished step. Training also gives the event loop a turn every `YIELD_EVERY_MS`: without
 * that a loop of awaited steps (which resolve as microtasks) starves timers, signal handlers and the
 * kernel's output, and the interrupt would only be seen when training ends.
 *
 * The state lives on globalThis under a registered symbol, so the kernel launcher (plain
 * JavaScript, loaded before the library) and the library share it.
 */
export interface InterruptState {
  /** Set by an interrupt; cleared when a loop or a step takes it, or when the next cell starts. */
  requested: boolean;
  /** Date.now() of the last training step, so the kernel knows whether training is running. */
  lastStepAt: number;
  /**
   * True while a TrainingMonitor takes interrupts at its safe points: steps then leave the request
   * to it. Cleared when the next cell starts.
   */
  loopChecks?: boolean;
}

const STATE_KEY = Symbol.for('gan-notebooks.interrupt');

export function interruptState(): InterruptState {
  const holder = globalThis as unknown as Record<symbol, InterruptState | undefined>;
  return (holder[STATE_KEY] ??= { requested: false, lastStepAt: 0 });
}

/** Thrown when interrupted training ends its cell; the message is the whole story for the learner. */
export class TrainingInterrupted extends Error {
  override readonly name = 'TrainingInterrupted';
}

/** Longest stretch of training without a turn of the event loop. */
export const YIELD_EVERY_MS = 40;

let lastYieldAt = 0;

/** Gives the event loop a turn (timers, I/O, signal handlers) if training has held it for YIELD_EVERY_MS. */
export async function yieldIfDue(): Promise<void> {
  if (Date.now() - lastYieldAt < YIELD_EVERY_MS) return;
  await new Promise((resolve) => setImmediate(resolve));
  lastYieldAt = Date.now();
}

/** True, once, if an interrupt came: the request is taken. */
export function takeInterrupt(): boolean {
  const state = interruptState();
  if (!state.requested) return false;
  state.requested = false;
  return true;
}

/**
 * Called before every training step: yields to the event loop when due, then, unless a monitor takes
 * interrupts, throws TrainingInterrupted (made by `message`) if one came.
 */
export async function beforeStep(message: () => string): Promise<void> {
  await yieldIfDue();
  if (!interruptState().loopChecks && takeInterrupt()) throw new TrainingInterrupted(message());
}

/** Called after every training step. */
export function afterStep(): void {
  interruptState().lastStepAt = Date.now();
}
