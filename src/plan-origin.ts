// Which plans this process made. A plan relocated here (Relocator / BpfObject.open) may
// reuse maps already pinned under its pin root, as libbpf does; a plan from anywhere else
// (a file, another machine) only with `reusePins: true`, because reusing a pin hands the
// plan's programs somebody else's map. Plans are known by a digest of their content, so a
// structured clone of a plan made here still counts, and any edit to it does not.
import { createHash } from 'node:crypto';
import type { LoadPlan } from './plan.js';

const MAX_REMEMBERED = 1024;
const made = new Set<string>();

function digest(plan: LoadPlan): string {
  return createHash('sha256').update(JSON.stringify(plan)).digest('hex');
}

/** Note a plan this process just made; returns its digest (for rememberDigest). */
export function rememberPlan(plan: LoadPlan): string {
  const d = digest(plan);
  rememberDigest(d);
  return d;
}

/** Note again a plan made here before, by the digest rememberPlan returned: the same plan,
 *  made again from equal inputs (the Relocator's result cache), without hashing it again. */
export function rememberDigest(d: string): void {
  made.delete(d);
  made.add(d);
  while (made.size > MAX_REMEMBERED) made.delete(made.values().next().value as string);
}

/** Whether this process made this plan (unchanged since). */
export function madeHere(plan: LoadPlan): boolean {
  return made.size > 0 && made.has(digest(plan));
}
