// The Relocator's on-disk cache (src/disk-cache.ts stores the bytes): what a worker output is
// known by, and how it is stored and read back. The worker is pure, so its output is a
// function of its inputs and of the code that ran; the description of an entry is every one
// of them, in a canonical encoding (keys sorted, byte arrays and long texts by sha256 and
// length):
//   - the build: corebpf's version and the sha256 of the wasm module, its glue and the
//     worker bundle (a rebuild misses);
//   - the object (sha256 of its bytes) and its name;
//   - every field of the RelocateRequest (src/worker/service.ts) but the object and the
//     target BTF, which are described apart;
//   - the target BTF: its sha256, except the running kernel's /sys/kernel/btf/vmlinux, which
//     cannot change while the kernel runs: (boot_id, path), so a hit never reads 5 MB of BTF.
// A value read back is untrusted: the relocation result's plan goes through checkPlan()
// (src/plan-validate.ts) like a plan file, the opened spec through a shape check.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOST_BTF_PATH } from './inputs.js';
import { checkPlan } from './plan.js';
import type { ObjectSpec } from './object-spec.js';
import type { DiskCache } from './disk-cache.js';
import { wasmPaths } from './worker/wasm.js';
import { decodeOutcome, type RelocateOutcome, type RelocateRequest, type RelocateWire } from './worker/service.js';

/** where the running kernel's boot id is (a new one on every boot) */
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

/** texts longer than this are described by their sha256 (kallsyms is megabytes) */
const LONG_TEXT = 4096;

const hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** `v` as canonical JSON: object keys sorted, undefined left out, byte arrays and long
 *  strings as their sha256 and length. */
export function canonical(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof Uint8Array) return `{"bytes":${v.byteLength},"sha256":"${hex(v)}"}`;
  if (typeof v === 'string') return v.length > LONG_TEXT ? `{"chars":${v.length},"sha256":"${hex(v)}"}` : JSON.stringify(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

const builds = new Map<string, string>();

function fileHash(path: string): string {
  try {
    return hex(readFileSync(path));
  } catch {
    return 'missing';
  }
}

/** The code that produces a worker's output: corebpf's version and the sha256 of the wasm
 *  module, its glue and the worker bundle (read once per process and wasm directory). */
export function buildIdentity(wasmDir?: string): string {
  const key = wasmDir ?? '';
  let id = builds.get(key);
  if (id === undefined) {
    const p = wasmPaths(wasmDir);
    let version = 'unknown';
    try {
      version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? version;
    } catch { /* not in a package */ }
    id = canonical({ version, wasm: fileHash(p.wasm), glue: fileHash(p.js), worker: fileHash(fileURLToPath(new URL('./worker.cjs', import.meta.url))) });
    builds.set(key, id);
  }
  return id;
}

/** The running kernel's boot id (undefined when it cannot be read: then sysfs BTF is hashed). */
export function bootId(path: string = BOOT_ID_PATH): string | undefined {
  try {
    const id = readFileSync(path, 'utf8').trim();
    return /^[0-9a-f-]{16,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** What names the target BTF in a description: the running kernel's sysfs BTF by boot,
 *  anything else by content (`hash` computes it when asked). */
export function targetIdentity(path: string | undefined, hash: () => string, bootIdPath?: string): string {
  if (path === HOST_BTF_PATH) {
    const boot = bootId(bootIdPath);
    if (boot) return canonical({ bootId: boot, path });
  }
  return canonical({ sha256: hash() });
}

/** The description of a relocation: every input of the worker's output. */
export function relocateDescription(build: string, objectSha256: string, target: string, req: RelocateRequest): string {
  const { object: _o, btf: _b, btfKey: _k, ...rest } = req;
  return `{"build":${build},"kind":"relocate","object":"${objectSha256}","request":${canonical(rest)},"target":${target}}`;
}

/** The description of an open (libbpf's open phase: the object and its name only). */
export function openDescription(build: string, objectSha256: string, objectName: string): string {
  return `{"build":${build},"kind":"open","object":"${objectSha256}","objectName":${JSON.stringify(objectName)}}`;
}

/* A relocation value: u32 length of a JSON meta part ({btf: sha256 of the target BTF, for
 * the plan's sources}), the meta part, then the worker's result bytes. */
function encodeResult(wire: RelocateWire, btfSha256: string): Uint8Array {
  const meta = Buffer.from(JSON.stringify({ btf: btfSha256 }));
  const out = Buffer.alloc(4 + meta.length + wire.result.byteLength);
  out.writeUInt32LE(meta.length, 0);
  meta.copy(out, 4);
  out.set(wire.result, 4 + meta.length);
  return out;
}

/** A cached relocation result: the worker's bytes and the target BTF's sha256. */
export interface CachedResult {
  wire: RelocateWire;
  btfSha256: string;
  /** the wire decoded (and checked): the caller's to use once */
  outcome: RelocateOutcome;
}

/** Read a relocation result back: undefined (and the entry removed) unless it decodes and its
 *  plan passes the checks of an untrusted plan file. */
export function readResult(disk: DiskCache, description: string): CachedResult | undefined {
  return disk.get('relocate', description, (v) => {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const mlen = b.readUInt32LE(0);
    const meta = JSON.parse(b.toString('utf8', 4, 4 + mlen)) as { btf?: unknown };
    if (typeof meta.btf !== 'string' || !/^[0-9a-f]{64}$/.test(meta.btf)) throw new Error('bad meta');
    const wire: RelocateWire = { result: new Uint8Array(v.buffer, v.byteOffset + 4 + mlen, v.byteLength - 4 - mlen), targetCached: true };
    const outcome = decodeOutcome(wire);
    if (outcome.plan) checkPlan(outcome.plan);
    return { wire, btfSha256: meta.btf, outcome };
  });
}

/** Store a worker's relocation result. */
export function writeResult(disk: DiskCache, description: string, wire: RelocateWire, btfSha256: string): void {
  disk.put('relocate', description, encodeResult(wire, btfSha256));
}

const isStr = (v: unknown) => typeof v === 'string';
const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** the shape of an ObjectSpec read back (what the host reads of it) */
function checkSpec(v: unknown): ObjectSpec {
  const s = v as ObjectSpec;
  const ok = typeof s === 'object' && s !== null && isStr(s.object) && (s.byteOrder === 'little' || s.byteOrder === 'big')
    && (s.btf === null || isStr(s.btf)) && Array.isArray(s.programs) && Array.isArray(s.maps)
    && s.programs.every((p) => isStr(p.name) && isStr(p.section) && isNum(p.type) && isNum(p.expectedAttachType) && typeof p.autoload === 'boolean' && isNum(p.logLevel) && isNum(p.insnCount))
    && s.maps.every((m) => isStr(m.name) && isNum(m.type) && isNum(m.keySize) && isNum(m.valueSize) && isNum(m.maxEntries) && isNum(m.flags)
      && isNum(m.numaNode) && isStr(m.mapExtra) && typeof m.internal === 'boolean' && typeof m.autocreate === 'boolean'
      && isNum(m.btfKeyTypeId) && isNum(m.btfValueTypeId) && (m.pinPath === null || isStr(m.pinPath))
      && (m.initial === null || isStr(m.initial)) && (m.innerMap === null || (typeof m.innerMap === 'object' && isNum(m.innerMap.type))));
  if (!ok) throw new Error('not an opened object');
  return s;
}

/** Read an opened spec back (undefined, and the entry removed, unless it has the right shape). */
export function readSpec(disk: DiskCache, description: string): ObjectSpec | undefined {
  return disk.get('open', description, (v) => checkSpec(JSON.parse(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8'))));
}

/** Store an opened spec. */
export function writeSpec(disk: DiskCache, description: string, spec: ObjectSpec): void {
  disk.put('open', description, Buffer.from(JSON.stringify(spec)));
}
