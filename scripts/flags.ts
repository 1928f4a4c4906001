/** `--name value`, `--name=value` and `--switch` flags as a plain record (the bench and the scripts take a few). */
export function parseFlags(argv: string[]): Record<string, string | undefined> {
  const flags: Record<string, string | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument "${arg}": flags look like --reps 3 or --quick.`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags[arg.slice(2)] = argv[++i];
    } else {
      flags[arg.slice(2)] = 'true';
    }
  }
  return flags;
}

/** parseFlags, refusing any flag not in `known` with the script's usage line. */
export function parseKnownFlags(
  argv: string[],
  known: readonly string[],
  usage: string,
): Record<string, string | undefined> {
  const flags = parseFlags(argv);
  const unknown = Object.keys(flags).filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new Error(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `--${n}`).join(', ')}.\n${usage}`,
    );
  return flags;
}
