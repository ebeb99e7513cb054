// `btf min`: BTFGen — the minimal BTF that relocates the given objects exactly as a full
// kernel BTF does (what `bpftool gen min_core_btf` writes; BTFHub ships such files for
// kernels without /sys/kernel/btf/vmlinux). libbpf's relo_core resolves each CO-RE record
// in the worker (wasm/btfgen.c); the result is a target like any other (`btf:` option).
import { ObjectFormatError } from './errors.js';
import { ElfFile } from './host/uprobe.js';
import { objectNameOf, readInput } from './inputs.js';
import { readBtf } from './btf-dump.js';
import { Relocator } from './relocate.js';

/** Options of {@link btfMin}. */
export interface BtfMinOptions {
  /** run in this Relocator's workers (default: a shared one) */
  relocator?: Relocator;
}

let shared: Relocator | undefined;

function section(elf: ElfFile, bytes: Uint8Array, name: string): Uint8Array | null {
  const s = elf.sections.find((x) => x.name === name);
  if (!s) return null;
  const start = Number(s.offset);
  const end = start + Number(s.size);
  if (end > bytes.length) throw new ObjectFormatError(`${elf.path}: section ${name} runs past the end of the file`, { input: 'object' });
  return bytes.slice(start, end);
}

/** The .BTF and .BTF.ext of a BPF object (null when it has no CO-RE records to keep). */
function objectBtf(object: Uint8Array | string, index: number): { name: string; btf: Uint8Array; ext: Uint8Array } {
  const name = typeof object === 'string' ? objectNameOf(object) : `object #${index}`;
  const bytes = typeof object === 'string' ? readInput(object, 'BPF object') : object;
  const elf = new ElfFile(bytes, typeof object === 'string' ? object : name);
  const btf = section(elf, bytes, '.BTF');
  const ext = section(elf, bytes, '.BTF.ext');
  if (!btf || !ext) {
    throw new ObjectFormatError(`${elf.path}: no ${btf ? '.BTF.ext' : '.BTF'} section, so no CO-RE relocations to keep (compile with -g)`, { input: 'object' });
  }
  return { name, btf, ext };
}

/** The minimal BTF of `target` (raw BTF, an ELF's .BTF, or .xz) for these objects. */
export async function btfMin(objects: readonly (Uint8Array | string)[], target: Uint8Array | string, opts: BtfMinOptions = {}): Promise<Uint8Array> {
  if (!objects.length) throw new ObjectFormatError('btf min needs at least one object', { input: 'object' });
  const parts = objects.map((o, i) => objectBtf(o, i));
  const full = readBtf(target, 'target BTF').slice();
  const r = opts.relocator ?? (shared ??= new Relocator());
  return r.pool.btfMin({ target: full, objects: parts, name: typeof target === 'string' ? target : 'the target BTF' });
}
