// Whether the real-kernel tests can run here, and why not: they skip only when not
// privileged, and say so.
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';

let cached: string | null | undefined;

/** null when bpf() works for this process, else the reason it does not */
export function bpfUsable(): string | null {
  if (cached !== undefined) return cached;
  if (process.platform !== 'linux') return (cached = `not Linux (${process.platform})`);
  if (process.geteuid?.() !== 0) return (cached = 'not root (real-kernel tests need root or CAP_BPF)');
  try {
    A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
    return (cached = null);
  } catch (e) {
    if ((e as Error).name === 'PermissionError') return (cached = `bpf() answered EPERM: ${(e as Error).message}`);
    throw e;
  }
}
