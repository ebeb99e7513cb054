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

/* Hashing a plan (its JSON text, ~95 KB for an 8-program object) cost ~0.45 ms of every
 * relocation (a third of the worker hop), and only BpfObject.fromPlan ever asks (madeHere).
 * A Relocator's plan is therefore noted unhashed: `make` decodes it again from the worker's
 * result bytes, which nobody changes (the caller's plan object may be changed at once, and
 * then no longer counts), and digests are taken only when a plan is checked. Until then the
 * bytes are held: the last PENDING_MAX plans noted (and PENDING_MAX_BYTES of results) are
 * remembered this way, older ones are forgotten unhashed — a plan that old needs
 * `reusePins: true`, as a plan from elsewhere does. */
export const PENDING_MAX = 32;
const PENDING_MAX_BYTES = 16 << 20;
const later: { make: () => LoadPlan; bytes: number; done?: (digest: string) => void }[] = [];
let laterBytes = 0;

/** Note a plan this process just made, by a function that makes it again as it was from
 *  `bytes` bytes it holds; hashed when a plan is checked (`done` receives the digest, for
 *  rememberDigest). */
export function rememberPlanLater(make: () => LoadPlan, bytes: number, done?: (digest: string) => void): void {
  later.push({ make, bytes, done });
  laterBytes += bytes;
  while (later.length > PENDING_MAX || (laterBytes > PENDING_MAX_BYTES && later.length > 1)) laterBytes -= later.shift()!.bytes;
}

function settle(): void {
  for (let p = later.shift(); p; p = later.shift()) {
    laterBytes -= p.bytes;
    const d = rememberPlan(p.make());
    p.done?.(d);
  }
}

/** Whether this process made this plan (unchanged since). */
export function madeHere(plan: LoadPlan): boolean {
  settle();
  return made.size > 0 && made.has(digest(plan));
}
