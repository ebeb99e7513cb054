// `btf dump`: a kernel's (or any) BTF as a C header — a vmlinux.h — written by libbpf's own
// btf_dump in the wasm worker (what bpftool's `btf dump ... format c` runs), from raw BTF,
// an ELF with a .BTF section (vmlinux, a module's .ko) or either .xz-compressed.
import { ObjectFormatError } from './errors.js';
import { ElfFile } from './host/uprobe.js';
import { readInput } from './inputs.js';
import { Relocator } from './relocate.js';

/** Options of {@link btfDumpC}. */
export interface BtfDumpOptions {
  /** the base BTF of split BTF (a module's BTF is split on vmlinux's): bytes or a path */
  base?: Uint8Array | string;
  /** run in this Relocator's workers (default: a shared one) */
  relocator?: Relocator;
}

let shared: Relocator | undefined;

/** Raw BTF from raw BTF, an ELF's .BTF section, or either of those .xz-compressed. */
export function readBtf(input: Uint8Array | string, what = 'BTF'): Uint8Array {
  const name = typeof input === 'string' ? input : what;
  const bytes = typeof input === 'string' ? readInput(input, what) : input;
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const elf = new ElfFile(bytes, name);
    const s = elf.sections.find((x) => x.name === '.BTF');
    if (!s) throw new ObjectFormatError(`${name}: an ELF file without a .BTF section (built without CONFIG_DEBUG_INFO_BTF or -g?)`, { input: 'btf' });
    const start = Number(s.offset);
    const end = start + Number(s.size);
    if (end > bytes.length) throw new ObjectFormatError(`${name}: its .BTF section runs past the end of the file`, { input: 'btf' });
    return bytes.subarray(start, end);
  }
  return bytes;
}

/** `btf` as a C header: every type, in id order, inside bpftool's vmlinux.h guards. */
export async function btfDumpC(btf: Uint8Array | string, opts: BtfDumpOptions = {}): Promise<string> {
  const name = typeof btf === 'string' ? btf : 'BTF';
  const data = readBtf(btf);
  const base = opts.base === undefined ? undefined : readBtf(opts.base, 'base BTF');
  const r = opts.relocator ?? (shared ??= new Relocator());
  // a copy: the bytes are transferred to the worker, and a subarray of a caller's buffer must not be
  const out = await r.pool.btfDumpC({ btf: data.slice(), base: base?.slice(), name });
  return new TextDecoder().decode(out);
}
