import { CorebpfError } from '../errors.js';

/** Wrong command line: printed with usage, exit status 2. */
export class CliUsageError extends Error {}

export function parseFeatures(specs: string[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const s of specs) {
    const m = /^([a-z0-9_]+)=(on|off|yes|no|1|0|true|false)$/i.exec(s);
    if (!m) throw new CliUsageError(`--feature expects NAME=on|off, got '${s}'`);
    out[m[1]!.toLowerCase()] = /^(on|yes|1|true)$/i.test(m[2]!);
  }
  return out;
}

/** exit status for an error: 1 for relocation failures, 2 for bad input and usage */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CorebpfError && e.name === 'RelocationError') return 1;
  return 2;
}
