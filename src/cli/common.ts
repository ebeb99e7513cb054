import { adjustmentsFromFlags, type Adjustments } from '../adjust.js';
import { CorebpfError } from '../errors.js';

/** Wrong command line: printed with usage, exit status 2. */
export class CliUsageError extends Error {}

/** The open-phase flags shared by relocate and run (--disable, --attach-target, --max-entries,
 *  --value-size) as adjustments; a malformed one is a usage error. */
export function adjustmentFlags(values: { disable?: string[]; 'attach-target'?: string[]; 'max-entries'?: string[]; 'value-size'?: string[] }): Adjustments {
  try {
    return adjustmentsFromFlags({
      disable: values.disable, attachTarget: values['attach-target'], maxEntries: values['max-entries'], valueSize: values['value-size'],
    });
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
}

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
