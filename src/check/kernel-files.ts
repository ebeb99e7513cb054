// A check kernel's own kconfig and symbols: the fixture's NAME.config.xz (its
// /boot/config-*) and NAME.kallsyms.xz (its System.map in /proc/kallsyms form), named by
// the manifest entry (`kconfig.file`, `kallsyms.file`) or found beside the BTF file
// (NAME.config[.xz], NAME.kallsyms[.xz]). With them, `.kconfig` externs and typeless
// `__ksym`s resolve per kernel offline, as on the kernel itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readKernel } from './kernels.js';

export interface KernelTexts {
  kconfig?: string;
  kallsyms?: string;
}

/** The kernel's NAME.config / NAME.kallsyms file under `dir` (relative to it): the one the
 * manifest names, else one beside the BTF file NAME.btf[.xz] (plain or .xz). */
export function kernelFile(dir: string, btfRel: string, what: 'config' | 'kallsyms', named?: string): string | undefined {
  if (named) return existsSync(join(dir, named)) ? named : undefined;
  const stem = btfRel.replace(/\.xz$/, '').replace(/\.btf$/, '');
  return [`${stem}.${what}.xz`, `${stem}.${what}`].find((f) => existsSync(join(dir, f)));
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Read (and decompress) a kernel's config and symbols; what is absent stays undefined. */
export async function readKernelTexts(dir: string, k: { kconfig?: string; kallsyms?: string }): Promise<KernelTexts> {
  const [kconfig, kallsyms] = await Promise.all([
    k.kconfig ? readKernel(join(dir, k.kconfig)).then(text) : undefined,
    k.kallsyms ? readKernel(join(dir, k.kallsyms)).then(text) : undefined,
  ]);
  return { ...(kconfig !== undefined ? { kconfig } : {}), ...(kallsyms !== undefined ? { kallsyms } : {}) };
}

const KCONFIG_SEC = new TextEncoder().encode('.kconfig\0');
const KSYMS_SEC = new TextEncoder().encode('.ksyms\0');

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

/** Which of the texts an object can use: libbpf puts `__kconfig` externs in a ".kconfig" and
 * `__ksym` externs in a ".ksyms" DATASEC; an object naming neither never reads them (and a
 * kernel's symbols are megabytes not worth sending to a worker for nothing). */
export function textsFor(object: Uint8Array, t: KernelTexts): KernelTexts {
  const out: KernelTexts = {};
  if (t.kconfig !== undefined && contains(object, KCONFIG_SEC)) out.kconfig = t.kconfig;
  if (t.kallsyms !== undefined && contains(object, KSYMS_SEC)) out.kallsyms = kallsymsFor(object, t.kallsyms);
  return out;
}

// A kernel's symbol lines by name, built once per kernel text; check has a kernel per worker
// in flight, so a few are kept.
const symbolIndex = new Map<string, Map<string, number[]>>();
const INDEXED_KERNELS = 8;

/**
 * The lines of kallsyms an object can match, in their order: libbpf (kallsyms_cb) looks each
 * line's name up among the object's externs, a `d` symbol's ".llvm.<hash>" suffix cut off
 * first. An extern's name is a string of the object, so keeping the lines whose name is one of
 * its strings keeps every line libbpf would use (and every ambiguity it would see), while a
 * worker gets a few lines instead of megabytes to copy and parse for each object × kernel.
 */
export function kallsymsFor(object: Uint8Array, kallsyms: string): string {
  let index = symbolIndex.get(kallsyms);
  if (!index) {
    if (symbolIndex.size >= INDEXED_KERNELS) symbolIndex.delete(symbolIndex.keys().next().value!);
    index = new Map();
    let start = 0;
    for (let line = 0; start < kallsyms.length; line++) {
      let end = kallsyms.indexOf('\n', start);
      if (end < 0) end = kallsyms.length;
      const fields = kallsyms.slice(start, end).trim().split(/\s+/);
      const name = fields[2];
      if (name) {
        const llvm = fields[1] === 'd' ? name.indexOf('.llvm.') : -1;
        const key = llvm >= 0 ? name.slice(0, llvm) : name;
        const lines = index.get(key);
        if (lines) lines.push(start); else index.set(key, [start]);
      }
      start = end + 1;
    }
    symbolIndex.set(kallsyms, index);
  }
  const starts: number[] = [];
  for (const str of objectStrings(object)) starts.push(...(index.get(str) ?? []));
  starts.sort((a, b) => a - b);
  return starts.map((s) => {
    const end = kallsyms.indexOf('\n', s);
    return `${kallsyms.slice(s, end < 0 ? kallsyms.length : end)}\n`;
  }).join('');
}

/** Every NUL-terminated run of bytes in the object, as latin1 (names are ASCII). */
function objectStrings(object: Uint8Array): Set<string> {
  const out = new Set<string>();
  const b = Buffer.from(object.buffer, object.byteOffset, object.byteLength);
  let start = 0;
  for (;;) {
    const end = b.indexOf(0, start);
    if (end < 0) break;
    if (end > start) out.add(b.toString('latin1', start, end));
    start = end + 1;
  }
  return out;
}
