/** Stops training when a loss stops being a finite number. */

export class DivergenceError extends Error {
  constructor(
    readonly where: string,
    readonly lossName: string,
    readonly value: number,
  ) {
    super(
      `Training diverged at ${where}: ${lossName} is ${value}. Check the inputs for NaN/Infinity ` +
        '(scaled images must be finite) or lower the learning rate, ' +
        'then train again from fresh weights.',
    );
    this.name = 'DivergenceError';
  }
}

/** Throws a DivergenceError naming `where` and the first loss that is NaN or infinite. */
export function assertFinite(where: string, losses: Record<string, number>): void {
  for (const [name, value] of Object.entries(losses)) {
    if (!Number.isFinite(value)) throw new DivergenceError(where, name, value);
  }
}
