// A check kernel's own kconfig and symbols: the fixture's NAME.config.xz (its
// /boot/config-*) and NAME.kallsyms.xz (its System.map in /proc/kallsyms form), named by
// the manifest entry (`kconfig.file`, `kallsyms.file`) or found beside the BTF file
// (NAME.config[.xz], NAME.kallsyms[.xz]). With them, `.kconfig` externs and typeless
// `__ksym`s resolve per kernel offline, as on the kernel itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configFor, objectExterns } from '../object-externs.js';
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
const CONFIG_PREFIX = new TextEncoder().encode('CONFIG_');

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

/** Which of the texts an object can use: libbpf puts `__kconfig` externs in a ".kconfig" and
 * `__ksym` externs in a ".ksyms" DATASEC; an object naming neither never reads them (and a
 * kernel's symbols are megabytes not worth sending to a worker for nothing). Of the config,
 * the lines of the object's CONFIG_ externs (configFor, as for the running kernel); none when
 * the object has no CONFIG_ string at all (only LINUX_* externs, which libbpf fills itself:
 * it reads no config then); the whole text when it has one the BTF reader did not list. */
export function textsFor(object: Uint8Array, t: KernelTexts): KernelTexts {
  const out: KernelTexts = {};
  if (t.kconfig !== undefined && contains(object, KCONFIG_SEC)) {
    const names = objectExterns(object).kconfig;
    if (names.length) out.kconfig = configFor(t.kconfig, names);
    else if (contains(object, CONFIG_PREFIX)) out.kconfig = t.kconfig;
  }
  if (t.kallsyms !== undefined && contains(object, KSYMS_SEC)) out.kallsyms = kallsymsFor(object, t.kallsyms);
  return out;
}

/** a kernel's symbol lines (their offsets in the text) by name, for the names asked so far */
interface SymbolIndex {
  asked: Set<string>;
  lines: Map<string, number[]>;
}
// by kernel text; check has a kernel per worker in flight, so a few are kept
const symbolIndex = new Map<string, SymbolIndex>();
const INDEXED_KERNELS = 8;

/**
 * The lines of kallsyms an object can match, in their order: libbpf (kallsyms_cb) looks each
 * line's name up among the object's externs, a `d` symbol's ".llvm.<hash>" suffix cut off
 * first. An extern's name is a string of the object, so keeping the lines whose name is one of
 * its strings keeps every line libbpf would use (and every ambiguity it would see), while a
 * worker gets a few lines instead of megabytes to copy and parse for each object × kernel.
 * The text is read once per kernel for the strings of the objects that ask (a pass that looks
 * names up, not an index of every symbol: ~70,000 lines, a handful wanted).
 */
export function kallsymsFor(object: Uint8Array, kallsyms: string): string {
  let index = symbolIndex.get(kallsyms);
  if (!index) {
    if (symbolIndex.size >= INDEXED_KERNELS) symbolIndex.delete(symbolIndex.keys().next().value!);
    index = { asked: new Set(), lines: new Map() };
    symbolIndex.set(kallsyms, index);
  }
  const strings = objectStrings(object);
  const fresh = new Set<string>();
  for (const str of strings) if (!index.asked.has(str)) fresh.add(str);
  if (fresh.size) {
    findSymbols(kallsyms, fresh, index.lines);
    for (const str of fresh) index.asked.add(str);
  }
  const starts: number[] = [];
  for (const str of strings) starts.push(...(index.lines.get(str) ?? []));
  starts.sort((a, b) => a - b);
  return starts.map((s) => {
    const end = kallsyms.indexOf('\n', s);
    return `${kallsyms.slice(s, end < 0 ? kallsyms.length : end)}\n`;
  }).join('');
}

/** libbpf's fscanf("%llx %c %499s") separators: C's isspace */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** add to `out` the offsets of the lines ("ADDRESS TYPE NAME [MODULE]") whose name, its
 * ".llvm." suffix cut off for a `d` symbol, is in `want` */
function findSymbols(text: string, want: ReadonlySet<string>, out: Map<string, number[]>): void {
  const n = text.length;
  for (let start = 0; start < n;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let i = start;
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    while (i < end && !isSpace(text.charCodeAt(i))) i++; // address
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    const type = i;
    while (i < end && !isSpace(text.charCodeAt(i))) i++;
    const dataSymbol = i - type === 1 && text.charCodeAt(type) === 0x64; // 'd'
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    const name = i;
    while (i < end && !isSpace(text.charCodeAt(i))) i++;
    if (i > name) {
      let key = text.slice(name, i);
      if (dataSymbol) {
        const llvm = key.indexOf('.llvm.');
        if (llvm >= 0) key = key.slice(0, llvm);
      }
      if (want.has(key)) {
        const lines = out.get(key);
        if (lines) lines.push(start);
        else out.set(key, [start]);
      }
    }
    start = end + 1;
  }
}

// per object (check asks for each kernel)
const stringsOf = new WeakMap<Uint8Array, Set<string>>();

/** Every NUL-terminated run of bytes in the object, as latin1 (names are ASCII). */
function objectStrings(object: Uint8Array): Set<string> {
  const have = stringsOf.get(object);
  if (have) return have;
  const out = new Set<string>();
  const b = Buffer.from(object.buffer, object.byteOffset, object.byteLength);
  let start = 0;
  for (;;) {
    const end = b.indexOf(0, start);
    if (end < 0) break;
    if (end > start) out.add(b.toString('latin1', start, end));
    start = end + 1;
  }
  stringsOf.set(object, out);
  return out;
}
