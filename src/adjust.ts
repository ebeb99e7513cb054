// Adjustments of an opened object, as plain data: what user space changes between libbpf's
// bpf_object__open() and bpf_object__load() (bpf_program__set_*, bpf_map__set_*). The same
// structure comes from BpfObject's setters, relocate() options, the CLI flags
// (--disable, --attach-target, --max-entries) and a check expectations file; the worker
// hands it to the wasm glue (wasm/adjust.c), where libbpf's own setters apply it.
import { CorebpfError } from './errors.js';

/** The open-phase changes to one program. */
export interface ProgramAdjustment {
  /** bpf_program__set_autoload */
  autoload?: boolean;
  /** bpf_program__set_attach_target(prog, 0, name): a kernel function or tracepoint; with
   *  attachProgram, a global function of that loaded program */
  attachTarget?: string;
  /** bpf_program__set_attach_target(prog, attach_prog_fd, ...): the index, in the relocation's
   *  `targetPrograms`, of the loaded program a freplace (or fentry) program extends */
  attachProgram?: number;
  /** bpf_program__set_type: enum bpf_prog_type */
  type?: number;
  /** bpf_program__set_expected_attach_type: enum bpf_attach_type */
  expectedAttachType?: number;
  /** bpf_program__set_log_level: the verifier log level this program is loaded with */
  logLevel?: number;
}

/** attributes of an inner-map template (map-in-map) */
export interface InnerMapAdjustment {
  type?: number;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  flags?: number;
}

export interface MapAdjustment extends InnerMapAdjustment {
  numaNode?: number;
  mapExtra?: bigint | number;
  /** bpf_map__set_autocreate */
  autocreate?: boolean;
  /** bpf_map__set_pin_path: reuse the map pinned there (if compatible), else pin it there */
  pinPath?: string | null;
  /** the inner-map template of a map-in-map (libbpf's bpf_map__inner_map + setters) */
  innerMap?: InnerMapAdjustment;
}

/** What user space changes between open and load (libbpf's `bpf_program__set_*` / `bpf_map__set_*`), by program and map name: taken by relocate(), BpfObject.open() and check, recorded by BpfObject.adjustments. */
export interface Adjustments {
  programs?: Record<string, ProgramAdjustment>;
  maps?: Record<string, MapAdjustment>;
}

const MAP_ATTRS: [keyof InnerMapAdjustment | 'numaNode' | 'mapExtra' | 'autocreate' | 'pinPath', string][] = [
  ['type', 'type'], ['keySize', 'key_size'], ['valueSize', 'value_size'], ['maxEntries', 'max_entries'],
  ['flags', 'map_flags'], ['numaNode', 'numa_node'], ['mapExtra', 'map_extra'], ['autocreate', 'autocreate'],
  ['pinPath', 'pin_path'],
];
const PROG_ATTRS: [keyof ProgramAdjustment, string][] = [
  // type before expected attach type before target: libbpf resolves the target by them
  ['type', 'type'], ['expectedAttachType', 'expected_attach_type'], ['autoload', 'autoload'],
  ['logLevel', 'log_level'], ['attachProgram', 'attach_prog'], ['attachTarget', 'attach_target'],
];

function field(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v === null) return '';
  const s = String(v);
  if (/[\t\n]/.test(s)) throw new CorebpfError(`adjustment value ${JSON.stringify(s)} contains a tab or newline`);
  return s;
}

function checkName(kind: string, name: string): string {
  if (!name || /[\t\n]/.test(name)) throw new CorebpfError(`bad ${kind} name ${JSON.stringify(name)} in adjustments`);
  return name;
}

/** The glue's text form (wasm/adjust.c): one `kind\tname\tattr\tvalue` line per setter. */
export function adjustmentsText(a: Adjustments | undefined): string {
  const lines: string[] = [];
  for (const [name, p] of Object.entries(a?.programs ?? {})) {
    for (const [k, attr] of PROG_ATTRS) {
      if (p[k] !== undefined) lines.push(`prog\t${checkName('program', name)}\t${attr}\t${field(p[k])}`);
    }
  }
  for (const [name, m] of Object.entries(a?.maps ?? {})) {
    for (const [k, attr] of MAP_ATTRS) {
      if (m[k] !== undefined) lines.push(`map\t${checkName('map', name)}\t${attr}\t${field(m[k])}`);
    }
    for (const [k, attr] of MAP_ATTRS.slice(0, 5)) {
      const v = m.innerMap?.[k as keyof InnerMapAdjustment];
      if (v !== undefined) lines.push(`map\t${name}\tinner.${attr}\t${field(v)}`);
    }
  }
  return lines.join('\n');
}

/** Whether there is anything to apply. */
export function hasAdjustments(a: Adjustments | undefined): boolean {
  return adjustmentsText(a) !== '';
}

/** b's settings over a's (per program / map, attribute by attribute). */
export function mergeAdjustments(a: Adjustments | undefined, b: Adjustments | undefined): Adjustments {
  const out: Adjustments = { programs: {}, maps: {} };
  for (const src of [a, b]) {
    for (const [n, p] of Object.entries(src?.programs ?? {})) out.programs![n] = { ...out.programs![n], ...p };
    for (const [n, m] of Object.entries(src?.maps ?? {})) {
      const prev = out.maps![n];
      out.maps![n] = { ...prev, ...m, ...(prev?.innerMap || m.innerMap ? { innerMap: { ...prev?.innerMap, ...m.innerMap } } : {}) };
    }
  }
  return out;
}

/** Adjustments with every listed program turned off (and not retargeted: libbpf resolves
 *  an attach target when it is set, even for a program it will not load). */
export function disablePrograms(a: Adjustments | undefined, names: Iterable<string>): Adjustments {
  const off: Adjustments = { programs: {} };
  for (const n of names) off.programs![n] = { autoload: false };
  const out = mergeAdjustments(a, off);
  for (const n of names) {
    delete out.programs![n]!.attachTarget;
    delete out.programs![n]!.attachProgram;
  }
  return out;
}

function splitPair(flag: string, s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0 || i === s.length - 1) throw new CorebpfError(`${flag} expects NAME=VALUE, got '${s}'`, { flag });
  return [s.slice(0, i), s.slice(i + 1)];
}

function count(flag: string, name: string, v: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v) || Number(v) > 0xffffffff) {
    throw new CorebpfError(`${flag} ${name}=${v}: expected an unsigned 32-bit number`, { flag });
  }
  return Number(v);
}

/** The CLI's flags (relocate, check): --disable PROG, --attach-target PROG=FUNC,
 *  --max-entries MAP=N, --value-size MAP=N. */
export interface AdjustmentFlags {
  disable?: string[];
  attachTarget?: string[];
  maxEntries?: string[];
  valueSize?: string[];
}

/** The {@link Adjustments} that the CLI's flags (`--disable`, `--attach-target`, `--max-entries`, `--value-size`) describe; throws a {@link CorebpfError} on a malformed flag. */
export function adjustmentsFromFlags(f: AdjustmentFlags): Adjustments {
  const a: Adjustments = { programs: {}, maps: {} };
  const prog = (n: string) => (a.programs![n] ??= {});
  const map = (n: string) => (a.maps![n] ??= {});
  for (const n of f.disable ?? []) prog(n).autoload = false;
  for (const s of f.attachTarget ?? []) {
    const [p, fn] = splitPair('--attach-target', s);
    prog(p).attachTarget = fn;
  }
  for (const s of f.maxEntries ?? []) {
    const [m, v] = splitPair('--max-entries', s);
    map(m).maxEntries = count('--max-entries', m, v);
  }
  for (const s of f.valueSize ?? []) {
    const [m, v] = splitPair('--value-size', s);
    map(m).valueSize = count('--value-size', m, v);
  }
  return a;
}

/** Check a JSON-read value is shaped like Adjustments (expectations files). */
export function parseAdjustments(v: unknown, where: string): Adjustments {
  const bad = (why: string) => new CorebpfError(`${where}: ${why}`, { where });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('adjustments must be an object with "programs" and/or "maps"');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'programs' && k !== 'maps') throw bad(`unknown key '${k}' (programs, maps)`);
  const progKeys = new Set(PROG_ATTRS.map(([k]) => k as string));
  const mapKeys = new Set([...MAP_ATTRS.map(([k]) => k as string), 'innerMap']);
  for (const [sect, keys] of [['programs', progKeys], ['maps', mapKeys]] as const) {
    const s = o[sect];
    if (s === undefined) continue;
    if (typeof s !== 'object' || s === null) throw bad(`"${sect}" must be an object by name`);
    for (const [n, attrs] of Object.entries(s as Record<string, unknown>)) {
      if (typeof attrs !== 'object' || attrs === null) throw bad(`${sect}.${n} must be an object`);
      for (const k of Object.keys(attrs)) if (!keys.has(k)) throw bad(`${sect}.${n}: unknown attribute '${k}' (${[...keys].join(', ')})`);
    }
  }
  return o as Adjustments;
}
