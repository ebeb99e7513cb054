// A check kernel's own kconfig and symbols: the fixture's NAME.config.xz (its
// /boot/config-*) and NAME.kallsyms.xz (its System.map in /proc/kallsyms form), named by
// the manifest entry (`kconfig.file`, `kallsyms.file`) or found beside the BTF file
// (NAME.config[.xz], NAME.kallsyms[.xz]). With them, `.kconfig` externs and typeless
// `__ksym`s resolve per kernel offline, as on the kernel itself.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configFor, objectExterns } from '../object-externs.js';
import { readElf } from './elf.js';
import { readDerivedThroughCache } from './btf-cache.js';
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

/** Read (and decompress) a kernel's config and symbols; what is absent stays undefined. With
 *  `objects`, of the symbols only the lines they can match (kallsymsForAll): kallsymsFor()
 *  of any of them, and so textsFor(), gives the same over those as over the whole file. */
export async function readKernelTexts(dir: string, k: { kconfig?: string; kallsyms?: string }, objects?: readonly Uint8Array[]): Promise<KernelTexts> {
  const [kconfig, kallsyms] = await Promise.all([
    k.kconfig ? readKernel(join(dir, k.kconfig)).then(text) : undefined,
    k.kallsyms ? (objects ? kernelKallsymsFor(join(dir, k.kallsyms), objects) : readKernel(join(dir, k.kallsyms)).then(text)) : undefined,
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
 * first. An extern is an undefined symbol of the object's symbol table (libbpf's
 * sym_is_extern), so keeping the lines whose name is one of those keeps every line libbpf
 * would use (and every ambiguity it would see), while a worker gets a few lines instead of
 * megabytes to copy and parse for each object × kernel. (An object whose symbol table cannot
 * be read: the lines of every string of the object.) A kernel's text is searched once per
 * name, for all its names at once (a regular expression: ~70,000 lines, a handful wanted).
 */
export function kallsymsFor(object: Uint8Array, kallsyms: string): string {
  return linesNamed(externNames(object), kallsyms);
}

/** kallsymsFor() of every object with __ksym externs at once: the lines any of them can match */
export function kallsymsForAll(objects: readonly Uint8Array[], kallsyms: string): string {
  return linesNamed(ksymNames(objects), kallsyms);
}

/** the extern names of the objects that have __ksym externs, sorted, once each */
function ksymNames(objects: readonly Uint8Array[]): string[] {
  const names = new Set<string>();
  for (const o of objects) if (contains(o, KSYMS_SEC)) for (const n of externNames(o)) names.add(n);
  return [...names].sort();
}

/**
 * A compressed kallsyms file's lines for `objects` (kallsymsForAll), kept in the cache of
 * decompressed kernel files by the file's content and the names (./btf-cache.ts): a check run
 * again over the same kernels and extern names reads a few lines per kernel, instead of
 * decompressing (or reading), decoding and searching megabytes of symbols again.
 */
async function kernelKallsymsFor(path: string, objects: readonly Uint8Array[]): Promise<string> {
  const names = ksymNames(objects);
  if (!names.length) return ''; // no object reads kallsyms (textsFor sends none)
  const tag = `ksyms-${createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 32)}`;
  return readDerivedThroughCache(path, tag, async () => linesNamed(names, text(await readKernel(path)), false));
}

/** the lines of `kallsyms` whose name is one of `names`, in file order; `keep`: the text's
 *  index kept for the next names asked of it (kallsymsFor: per object of a kernel), not for a
 *  text searched once */
function linesNamed(names: readonly string[], kallsyms: string, keep = true): string {
  let lines: Map<string, number[]>;
  if (keep) lines = symbolsOf(kallsyms, names).lines;
  else findSymbols(kallsyms, new Set(names), (lines = new Map()));
  const starts: number[] = [];
  for (const n of names) starts.push(...(lines.get(n) ?? []));
  starts.sort((a, b) => a - b);
  return starts.map((s) => {
    const end = kallsyms.indexOf('\n', s);
    return `${kallsyms.slice(s, end < 0 ? kallsyms.length : end)}\n`;
  }).join('');
}

/** the kernel's index, with `names` looked up (those not asked before, in one search) */
function symbolsOf(kallsyms: string, names: Iterable<string>): SymbolIndex {
  let index = symbolIndex.get(kallsyms);
  if (!index) {
    if (symbolIndex.size >= INDEXED_KERNELS) symbolIndex.delete(symbolIndex.keys().next().value!);
    index = { asked: new Set(), lines: new Map() };
    symbolIndex.set(kallsyms, index);
  }
  const fresh = new Set<string>();
  for (const n of names) if (!index.asked.has(n)) fresh.add(n);
  if (fresh.size) {
    findSymbols(kallsyms, fresh, index.lines);
    for (const n of fresh) index.asked.add(n);
  }
  return index;
}

/** libbpf's fscanf("%llx %c %499s") separators: C's isspace */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** beyond this many names a pass over every line is cheaper than the expression */
const MAX_SEARCHED = 64;

/** Add to `out` the offset of each line ("ADDRESS TYPE NAME [MODULE]") whose name, its
 * ".llvm." suffix cut off for a `d` symbol, is in `want`. The expression only finds where a
 * wanted name follows a separator; each such line is read as a whole to decide. */
function findSymbols(text: string, want: ReadonlySet<string>, out: Map<string, number[]>): void {
  const add = (start: number) => {
    const key = lineName(text, start);
    if (key === undefined || !want.has(key)) return;
    const lines = out.get(key);
    if (lines?.[lines.length - 1] === start) return;
    if (lines) lines.push(start);
    else out.set(key, [start]);
  };
  if (want.size > MAX_SEARCHED) {
    for (let start = 0; start < text.length;) {
      add(start);
      const end = text.indexOf('\n', start);
      start = end < 0 ? text.length : end + 1;
    }
    return;
  }
  // longest first: a name that is another's prefix must not end the alternation early
  const re = new RegExp(`[\\t\\v\\f\\r ](?:${[...want].sort((a, b) => b.length - a.length).map(escape).join('|')})(?=[\\s.]|$)`, 'g');
  for (const m of text.matchAll(re)) add(text.lastIndexOf('\n', m.index!) + 1);
}

/** the name of the line at `start` as libbpf matches it, or undefined when it has none */
function lineName(text: string, start: number): string | undefined {
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
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
  if (i === name) return undefined;
  const key = text.slice(name, i);
  const llvm = dataSymbol ? key.indexOf('.llvm.') : -1;
  return llvm >= 0 ? key.slice(0, llvm) : key;
}

// per object (check asks for each kernel)
const externsOf = new WeakMap<Uint8Array, string[]>();

/** the names an extern of the object can have: its undefined symbols (else all its strings) */
function externNames(object: Uint8Array): string[] {
  let names = externsOf.get(object);
  if (!names) {
    names = [...new Set(readElf(object)?.undefinedSymbols ?? objectStrings(object))];
    externsOf.set(object, names);
  }
  return names;
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
