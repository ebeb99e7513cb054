// Errors cross the worker boundary as plain data and are rebuilt as the same classes, so
// callers can use `instanceof` on what a worker threw. Installed on both sides.
import { comlink } from '../lazy-modules.js';
import { fromWire, isErrorWire, toWire } from '../errors.js';

const throwMarker = (v: unknown): v is { value: unknown } => typeof v === 'object' && v !== null && 'value' in v;

let installed = false;
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const { transferHandlers } = comlink();
  const builtin = transferHandlers.get('throw')!;
  transferHandlers.set('throw', {
    canHandle: builtin.canHandle,
    serialize(v: unknown) {
      return [{ corebpf: toWire(throwMarker(v) ? v.value : v) }, []];
    },
    deserialize(s: unknown) {
      const w = (s as { corebpf?: unknown }).corebpf;
      if (isErrorWire(w)) throw fromWire(w);
      return builtin.deserialize(s);
    },
  });
}
