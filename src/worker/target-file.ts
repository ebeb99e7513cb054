// A target BTF named by its file (the running kernel's /sys/kernel/btf/vmlinux), read by
// the worker straight into wasm memory, where libbpf keeps it (cb_target_register_owned).
// The caller's thread never holds a copy: sent as bytes, a kernel's 5 MiB BTF was in the
// process twice for as long as the caller kept them (its array and libbpf's), which a
// process that loads one object pays in peak RSS. The sha256 the plan records is taken here,
// from the bytes libbpf parses.
import { readInput, readWhole, sha256 } from '../inputs.js';
import type { CorebpfWasm, TargetBuffer } from './wasm.js';

/** target `path` registered: its handle and the sha256 of the bytes read */
export function registerTargetFile(m: CorebpfWasm, path: string): { handle: number; sha256: string } {
  let buf: TargetBuffer | undefined;
  const read = path.endsWith('.xz') ? undefined : readWhole(path, (size) => (buf = m.targetBuffer(size)).bytes);
  if (read) {
    // before libbpf parses it: it swaps a foreign-endian BTF in place
    const hash = sha256(read);
    return { handle: m.registerTargetOwned(buf!), sha256: hash };
  }
  if (buf) m.freeTargetBuffer(buf);
  const bytes = readInput(path, 'target BTF');
  return { handle: m.registerTarget(bytes), sha256: sha256(bytes) };
}
