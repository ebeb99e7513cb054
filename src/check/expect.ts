// Expected failures for `corebpf check --expect-fail FILE` (format: src/check/README.md).
//
//   { "version": 1,
//     "expectations": [
//       { "object": "core_flavors.bpf.o", "program": "task_state", "kernel": "*-6.*",
//         "access": "task_struct___pre514.*", "reason": "pre-5.14 flavor, guarded by bpf_core_field_exists" },
//       { "object": "*.bpfeb.o", "arch": "s390x", "error": "*Endian mismatch*",
//         "reason": "libbpf refuses big-endian objects on a little-endian host" } ] }
//
// Every field but `reason` is a glob (`*`, `?`) or a list of globs, and defaults to "any".
// Programs whose name contains ___err_ (the kernel selftests' convention) are always
// expected to fail.
import { readFileSync } from 'node:fs';
import { mergeAdjustments, parseAdjustments, type Adjustments } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import type { CheckedKernel, CheckedObject, FailedRelocation } from './report.js';

export const EXPECT_VERSION = 1;
/** The reason given to programs expected to fail by name: the kernel selftests' `___err_` convention. */
export const ERR_CONVENTION = 'program name contains ___err_ (expected to fail, kernel selftests convention)';

type Globs = string | string[];

/** One entry of an expected-failures file: which failures (objects, programs, kernels, relocations, errors) are expected, and why. */
export interface Expectation {
  /** object file name (execsnoop.bpf.o), libbpf object name (execsnoop) or path */
  object?: Globs;
  /** program name */
  program?: Globs;
  /** kernel id (file name under --btf-dir without .btf/.xz), its file name, or its kernel release */
  kernel?: Globs;
  /** kernel architecture (manifest's arch: amd64, arm64, s390x, ...) */
  arch?: Globs;
  /** only failed relocations whose access path matches ("task_struct.state", "pid_type::PIDTYPE_TGID") */
  access?: Globs;
  /** only failed relocations of this kind (field_byte_offset, enumval_value, ...) */
  kind?: Globs;
  /** only object-level libbpf errors whose message matches */
  error?: Globs;
  /** why the failure is expected; shown in reports */
  reason?: string;
}

/** How user space adjusts an object before loading it (the open phase), so that `check`
 *  relocates it the same way: {"object": GLOB, "programs": {...}, "maps": {...}} */
export interface ObjectAdjustment extends Adjustments {
  object: Globs;
}

/** The adjustments of every entry whose glob matches the object (later entries win). */
export function adjustmentsFor(entries: readonly ObjectAdjustment[], obj: { id: string; name: string; path: string }): Adjustments | undefined {
  let out: Adjustments | undefined;
  for (const e of entries) {
    if (matches(e.object, obj.id, obj.name, obj.path)) out = mergeAdjustments(out, e);
  }
  return out;
}

/** The "adjustments" list of an expectations document ([] when it has none). */
export function parseObjectAdjustments(text: string, name = 'expectations'): ObjectAdjustment[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return []; // parseExpectations reports it
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || (v as { adjustments?: unknown }).adjustments === undefined) return [];
  const list = (v as { adjustments: unknown }).adjustments;
  if (!Array.isArray(list)) throw new CorebpfError(`${name}: "adjustments" must be a list of {"object": GLOB, "programs": {...}, "maps": {...}}`);
  return list.map((raw, i) => {
    const where = `${name}: adjustments entry ${i}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CorebpfError(`${where} is not an object`);
    const { object, ...rest } = raw as Record<string, unknown>;
    if (!(typeof object === 'string' || (Array.isArray(object) && object.every((x) => typeof x === 'string')))) {
      throw new CorebpfError(`${where}: "object" must be a glob string or a list of them`);
    }
    const extra = Object.keys(rest).filter((k) => k.startsWith('_') || k === 'comment');
    for (const k of extra) delete rest[k];
    return { object: object as Globs, ...parseAdjustments(rest, where) };
  });
}

export function readObjectAdjustments(path: string): ObjectAdjustment[] {
  return parseObjectAdjustments(readFileSync(path, 'utf8'), path);
}

const FIELDS = ['object', 'program', 'kernel', 'arch', 'access', 'kind', 'error', 'reason'] as const;

export function isErrProgram(name: string): boolean {
  return name.includes('___err_');
}

const globCache = new Map<string, RegExp>();
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(glob, re);
  }
  return re;
}

function matches(globs: Globs | undefined, ...values: (string | null | undefined)[]): boolean {
  if (globs === undefined) return true;
  const list = Array.isArray(globs) ? globs : [globs];
  return list.some((g) => values.some((v) => v !== null && v !== undefined && globToRegExp(g).test(v)));
}

function matchesTarget(e: Expectation, obj: CheckedObject, kernel: CheckedKernel, program: string): boolean {
  return matches(e.object, obj.id, obj.name, obj.path)
    && matches(e.program, program)
    && matches(e.kernel, kernel.id, kernel.file, kernel.kernelRelease)
    && matches(e.arch, kernel.arch);
}

/** index of the first entry expecting this failed relocation, or -1 */
export function matchRelocation(entries: Expectation[], obj: CheckedObject, kernel: CheckedKernel, f: FailedRelocation): number {
  return entries.findIndex((e) => e.error === undefined && matchesTarget(e, obj, kernel, f.program)
    && matches(e.access, f.access, f.rawAccess) && matches(e.kind, f.kind));
}

/** index of the first entry expecting this object-level error for `program`, or -1 */
export function matchError(entries: Expectation[], obj: CheckedObject, kernel: CheckedKernel, program: string, message: string): number {
  return entries.findIndex((e) => e.access === undefined && e.kind === undefined && matchesTarget(e, obj, kernel, program)
    && matches(e.error, message));
}

/** Check and normalize an expectations document: { version: 1, expectations: [...] } or a bare array. */
export function parseExpectations(text: string, name = 'expectations'): Expectation[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CorebpfError(`${name}: invalid JSON (${(e as Error).message})`, {}, { cause: e });
  }
  let list: unknown;
  if (Array.isArray(v)) list = v;
  else if (v && typeof v === 'object') {
    const doc = v as { version?: unknown; expectations?: unknown };
    if (doc.version !== undefined && doc.version !== EXPECT_VERSION) {
      throw new CorebpfError(`${name}: version ${String(doc.version)} is not supported (this corebpf reads version ${EXPECT_VERSION})`);
    }
    list = doc.expectations;
  }
  if (list === undefined && v && typeof v === 'object' && (v as { adjustments?: unknown }).adjustments !== undefined) list = [];
  if (!Array.isArray(list)) throw new CorebpfError(`${name}: expected {"version": 1, "expectations": [...]} or an array of entries`);
  return list.map((raw, i) => {
    const where = `${name}: entry ${i}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CorebpfError(`${where} is not an object`);
    const e = raw as Record<string, unknown>;
    const out: Expectation = {};
    for (const k of Object.keys(e)) {
      if (!(FIELDS as readonly string[]).includes(k) && !k.startsWith('_') && k !== 'comment') {
        throw new CorebpfError(`${where}: unknown field "${k}" (fields: ${FIELDS.join(', ')})`);
      }
    }
    for (const k of FIELDS) {
      const val = e[k];
      if (val === undefined) continue;
      if (k === 'reason') {
        if (typeof val !== 'string') throw new CorebpfError(`${where}: "reason" must be a string`);
        out.reason = val;
      } else if (typeof val === 'string' || (Array.isArray(val) && val.length > 0 && val.every((x) => typeof x === 'string'))) {
        out[k] = val as Globs;
      } else {
        throw new CorebpfError(`${where}: "${k}" must be a glob string or a non-empty list of them`);
      }
    }
    if (out.error !== undefined && (out.access !== undefined || out.kind !== undefined)) {
      throw new CorebpfError(`${where}: "error" matches object-level errors, "access"/"kind" match failed relocations: use one or the other`);
    }
    return out;
  });
}

/** Read and parse an expected-failures file (`corebpf check --expect-fail FILE`); throws a {@link CorebpfError} that names the file when it is unreadable or malformed. */
export function readExpectations(path: string): Expectation[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CorebpfError(`cannot read expectations '${path}': ${(e as Error).message}`, { path }, { cause: e });
  }
  return parseExpectations(text, path);
}

/** A short text naming an entry, for messages about unused ones. */
export function describeExpectation(e: Expectation): string {
  const parts: string[] = [];
  for (const k of FIELDS) {
    if (k === 'reason' || e[k] === undefined) continue;
    const v = e[k] as Globs;
    parts.push(`${k}=${Array.isArray(v) ? v.join('|') : v}`);
  }
  return parts.length ? parts.join(' ') : '(matches everything)';
}
