// A target BTF named by its file (the running kernel's /sys/kernel/btf/vmlinux), read by
// the worker straight into wasm memory, where libbpf keeps it (cb_target_register_owned).
// The caller's thread never holds a copy: sent as bytes, a kernel's 5 MiB BTF was in the
// process twice for as long as the caller kept them (its array and libbpf's), which a
// process that loads one object pays in peak RSS. The sha256 the plan records is taken here,
// from the bytes libbpf parses.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { maxInputSize, readFully, readInput } from '../inputs.js';
import type { CorebpfWasm } from './wasm.js';

/** target `path` registered: its handle and the sha256 of the bytes read */
export function registerTargetFile(m: CorebpfWasm, path: string): { handle: number; sha256: string } {
  let fd: number | undefined;
  let size = 0;
  try {
    fd = openSync(path, 'r');
    size = fstatSync(fd).size;
  } catch {
    // readInput below says what is wrong
  }
  try {
    // sysfs and regular files report their size; one that says 0 or is still growing when
    // read (procfs style) is read the ordinary way
    if (fd !== undefined && size > 0 && size <= maxInputSize()) {
      let sha256 = '';
      const handle = m.registerTargetFilled(size, (into) => {
        try {
          if (!readFully(fd!, into) || readSync(fd!, new Uint8Array(1), 0, 1, size) !== 0) return false;
        } catch {
          return false;
        }
        // before libbpf parses it: it swaps a foreign-endian BTF in place
        sha256 = createHash('sha256').update(into).digest('hex');
        return true;
      });
      if (handle !== undefined) return { handle, sha256 };
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const bytes = readInput(path, 'target BTF');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { handle: m.registerTarget(bytes), sha256 };
}
