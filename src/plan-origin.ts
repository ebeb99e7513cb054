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

/** Note a plan this process just made. */
export function rememberPlan(plan: LoadPlan): void {
  const d = digest(plan);
  made.delete(d);
  made.add(d);
  while (made.size > MAX_REMEMBERED) made.delete(made.values().next().value as string);
}

/** Whether this process made this plan (unchanged since). */
export function madeHere(plan: LoadPlan): boolean {
  return made.size > 0 && made.has(digest(plan));
}
