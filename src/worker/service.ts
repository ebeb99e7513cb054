// What a worker does: relocation requests against the wasm module, with parsed target BTF
// kept per worker so later objects against the same kernel skip the parse.
import { createHash } from 'node:crypto';
import { comlink } from '../lazy-modules.js';
import {
  CorebpfError, LibbpfError, NotSupportedError, ObjectFormatError, RelocationError, WasmTrapError,
} from '../errors.js';
import { adjustmentsText, type Adjustments } from '../adjust.js';
import type { ObjectSpec } from '../object-spec.js';
import type { CtxTarget } from '../analysis/ctx-access.js';
import { kernelFeaturesFromBtf, kernelOffersFromBtf, releaseVersion, type KernelOffers } from '../btf/kernel-features.js';
import { parseBtf } from '../btf/reader.js';
import { readBtf } from '../btf/raw.js';
import { CorebpfWasm, TargetBtfError, WASM_MAX_MEMORY, type ModuleBtf } from './wasm.js';
import { registerTargetFile } from './target-file.js';
import { readInput } from '../inputs.js';
import { RESULT_STATUS_OK, decodeResult, encodeResult, parsePart, textPart } from './result.js';
import { judgeReport, linuxErrno, linuxErrnos, withLinuxErrnos, type GlueReport, type GlueResult, type RelocateWire } from './run-result.js';
import type { ReportMode } from './generated/result-protocol.js';

export { decodeOutcome, linuxErrno, linuxErrnos, type RelocateOutcome, type RelocateStats, type RelocateWire } from './run-result.js';

export interface RelocateRequest {
  object: Uint8Array;
  objectName: string;
  /** target kernel BTF: raw BTF or an ELF (vmlinux) with a .BTF section; may be left out
   * when this worker has `btfKey` cached (TargetNotCached is thrown if it has not). Bytes
   * in a SharedArrayBuffer are read where they are, not copied: leave them unchanged until
   * the call settles. */
  btf?: Uint8Array;
  /** identifies `btf` for the parsed-BTF cache; computed (sha256) when absent */
  btfKey?: string;
  /** the target as a file this worker reads itself, when `btf` is not given (with
   *  `btfKey`): read into wasm memory, so the caller holds no copy (./target-file.ts); the
   *  result carries its sha256 (RelocateWire.btfSha256) */
  btfFile?: string;
  kconfig?: string;
  kallsyms?: string;
  kernelRelease?: string;
  kernelVersion?: string;
  machine?: string;
  pageSize?: number;
  /** libbpf kernel features, by lowercase name without FEAT_ (e.g. btf_enum64: false) */
  features?: Record<string, boolean>;
  /** kernel modules' BTF (split on `btf`): libbpf looks there when vmlinux has no candidate,
   * kfunc, ksym or attach target */
  moduleBtfs?: ModuleBtf[];
  /** BTF of the loaded programs freplace programs extend (adjustments' attachProgram) */
  targetPrograms?: Uint8Array[];
  /** which libbpf messages the result's log keeps (default 'info'; 'debug' costs time) */
  logLevel?: LogLevel;
  /** only the relocation report comes back (plan and log are dropped in the worker) */
  reportOnly?: boolean;
  /** what the report holds (wasm/result-protocol.json reportModes): 'full' (default) every
   *  relocation's record; 'failed' only the failed ones' (plan.relocations too), with the
   *  outcome's `programs` and stats.relocations counting them all: what `corebpf check`
   *  reads, written by the glue without the records it would drop */
  reportMode?: ReportMode;
  /** the open phase: libbpf's setters applied between open and load (src/adjust.ts) */
  adjustments?: Adjustments;
  /** what the target kernel offers (check: read from its BTF): the result lists the plan's
   *  helpers, map types and program types it lacks (`unmet`) */
  kernelOffers?: KernelOffers;
  /** judge the target kernel by its own BTF (and kernelRelease), read in this worker once per
   *  target: libbpf's features where `features` does not say, and `kernelOffers` where not
   *  given; the result names the features it lacks (`missingFeatures`) */
  profileTarget?: boolean;
}

export interface OpenRequest {
  object: Uint8Array;
  objectName: string;
}

/** libbpf's log levels: what its print callback passes on (warn, info, debug). */
export type LogLevel = 'warn' | 'info' | 'debug';
const LOG_LEVELS: Record<LogLevel, number> = { warn: 0, info: 1, debug: 2 };

/** the plan and log parts of a reportOnly result */
const NO_PLAN = new TextEncoder().encode('null');
const NO_LOG = new TextEncoder().encode('""');
/** where the results the worker decodes come from, for a WasmProtocolError */
const FROM_WASM = 'the wasm module (dist/wasm)';

const MAX_CACHED_TARGETS = 8;

interface TargetProfile {
  /** the release it was read with (libbpf's features fall back to it) */
  release: string | undefined;
  features: Record<string, boolean> | undefined;
  offers: KernelOffers | undefined;
  missing: string[] | undefined;
  /** its BTF and release, for the context loads of tracing programs (src/analysis/ctx-access.ts) */
  ctx?: CtxTarget;
}
/** details.code of the error a worker throws when asked for a target BTF it no longer has */
export const TARGET_NOT_CACHED = 'target_not_cached';

/** a trap (unreachable, out of bounds) or an emscripten abort(): the instance is unusable */
function isWasmTrap(e: unknown): e is Error {
  const RuntimeError = (globalThis as { WebAssembly?: { RuntimeError?: new () => Error } }).WebAssembly?.RuntimeError;
  return e instanceof Error && ((RuntimeError !== undefined && e instanceof RuntimeError) || /^Aborted\(/.test(e.message));
}

/** the last lines libbpf printed: enough to see why, without the whole debug log (the
 * routine per-section and per-relocation lines are left out; a line that says why stays,
 * `sec '...': ...` warnings such as a static program's included) */
function logTail(log: string, lines = 12): string {
  const warn = log.split('\n').filter((l) => l && !/^libbpf: (sec '[^']*': found program|prog '.*': relo #\d+: (matching|non-matching|patched)|CO-RE relocating|map '.*': created|elf: section\(|sec '[^']*': collecting relocation|prog '.*': found data|prog '.*': (found|added|applying)|loading kernel BTF|map '.*': at sec_idx)/.test(l));
  return warn.slice(-lines).join('\n');
}

export class RelocationService {
  private wasm: CorebpfWasm | undefined;
  private loading: Promise<CorebpfWasm> | undefined;
  private targets = new Map<string, number>(); // key -> handle, in LRU order
  /** what each cached target kernel has, read from its BTF (profileTarget), by target key */
  private profiles = new Map<string, TargetProfile>();
  /** the sha256 of each cached target this worker read from a file (btfFile), by target key */
  private fileHashes = new Map<string, string>();
  private featureIds: Map<string, number> | undefined;
  /** targets prepareTarget() is about to parse, by key: a relocation against one waits */
  private preparing = new Map<string, Promise<void>>();
  /** set once the module trapped: its memory can no longer be trusted */
  broken = false;

  constructor(private readonly wasmDir?: string) {}

  private async module(): Promise<CorebpfWasm> {
    if (this.wasm) return this.wasm;
    this.loading ??= CorebpfWasm.load(this.wasmDir);
    this.wasm = await this.loading;
    return this.wasm;
  }

  async info(): Promise<{ libbpf: string; features: { name: string; desc: string }[] }> {
    const m = await this.module();
    return { libbpf: m.libbpfVersion, features: m.features() };
  }

  private featureProfile(m: CorebpfWasm, want: Record<string, boolean> | undefined): Uint8Array {
    if (!this.featureIds) {
      this.featureIds = new Map(m.features().map((f, i) => [f.name.replace(/^FEAT_/, '').toLowerCase(), i]));
    }
    const profile = new Uint8Array(this.featureIds.size);
    for (const [name, on] of Object.entries(want ?? {})) {
      const id = this.featureIds.get(name.toLowerCase());
      if (id === undefined) {
        throw new CorebpfError(`unknown kernel feature '${name}'; known: ${[...this.featureIds.keys()].join(', ')}`, { feature: name });
      }
      profile[id] = on ? 1 : 2;
    }
    return profile;
  }

  private target(m: CorebpfWasm, btf: Uint8Array | undefined, key: string | undefined, file?: string): { handle: number; cached: boolean; key: string } {
    if (!btf && !key) throw new ObjectFormatError('no target BTF given', { input: 'target' });
    const k = key ?? createHash('sha256').update(btf!).digest('hex');
    const h = this.targets.get(k);
    if (h !== undefined) {
      this.targets.delete(k);
      this.targets.set(k, h);
      return { handle: h, cached: true, key: k };
    }
    if (!btf && file === undefined) throw new CorebpfError(`target BTF ${k} is not cached in this worker`, { code: TARGET_NOT_CACHED });
    let handle: number;
    try {
      if (btf) handle = m.registerTarget(btf);
      else {
        const read = registerTargetFile(m, file!);
        handle = read.handle;
        this.fileHashes.set(k, read.sha256);
      }
    } catch (e) {
      if (e instanceof TargetBtfError) {
        throw new ObjectFormatError(`target BTF: ${e.message}. Give a kernel's BTF: /sys/kernel/btf/vmlinux, a raw .btf file, or a vmlinux ELF with a .BTF section`, { input: 'target' });
      }
      throw e;
    }
    this.targets.set(k, handle);
    while (this.targets.size > MAX_CACHED_TARGETS) {
      const [oldKey, oldHandle] = this.targets.entries().next().value as [string, number];
      this.targets.delete(oldKey);
      this.profiles.delete(oldKey);
      this.fileHashes.delete(oldKey);
      m.releaseTarget(oldHandle);
    }
    return { handle, cached: false, key: k };
  }

  /** the target kernel's profile, read from its BTF once per target (off the caller's thread) */
  private profile(key: string, btf: Uint8Array | undefined, release: string | undefined, file?: string): TargetProfile {
    const have = this.profiles.get(key);
    if (have && have.release === release) return have;
    if (!btf && file !== undefined) btf = readInput(file, 'target BTF'); // libbpf's copy is in wasm memory
    if (!btf) throw new CorebpfError(`target BTF ${key} is not cached in this worker`, { code: TARGET_NOT_CACHED });
    let parsed;
    try {
      // the profile keeps the BTF (read lazily): never a view of the pool's staging memory,
      // which the next target overwrites (src/worker/pool.ts, stageTarget)
      parsed = parseBtf(readBtf(btf.buffer instanceof SharedArrayBuffer ? btf.slice() : btf, 'target BTF'));
    } catch {
      // libbpf parsed it (the target is registered); the TypeScript reader's refusal leaves
      // the kernel unjudged, as without a profile
      const none: TargetProfile = { release, features: undefined, offers: undefined, missing: undefined };
      this.profiles.set(key, none);
      return none;
    }
    const { features } = kernelFeaturesFromBtf(parsed, release);
    const p: TargetProfile = { release, features, offers: kernelOffersFromBtf(parsed), missing: Object.keys(features).filter((f) => !features[f]), ctx: { btf: parsed, version: releaseVersion(release) } };
    this.profiles.set(key, p);
    return p;
  }

  async relocate(req: RelocateRequest): Promise<RelocateWire> {
    // a target being prepared is parsed first (prepareTarget yields before it parses)
    const preparing = req.btfKey === undefined ? undefined : this.preparing.get(req.btfKey);
    if (preparing) await preparing;
    const w = await this.guarded(`relocating '${req.objectName}'`, (m) => this.relocateWith(m, req));
    return comlink().transfer(w, [w.result.buffer]);
  }

  /** Parse a target BTF now and keep it (nothing relocated): the relocation against
   *  `btfKey` that comes next finds it parsed. */
  async prepareTarget(req: { btf?: Uint8Array; btfFile?: string; btfKey: string }): Promise<void> {
    const done = (async () => {
      // after the answers of the calls that came first have gone out: an open that waited
      // for the module as this does would otherwise wait for the parse too
      if (!this.wasm) await this.module().catch(() => undefined);
      await new Promise(setImmediate);
      await this.guarded('parsing the target BTF', (m) => {
        this.target(m, req.btf, req.btfKey, req.btfFile);
      });
    })();
    const settled = done.catch(() => undefined);
    this.preparing.set(req.btfKey, settled);
    try {
      await done;
    } finally {
      if (this.preparing.get(req.btfKey) === settled) this.preparing.delete(req.btfKey);
    }
  }

  /** libbpf's bpf_object__open() only: the opened object's programs, maps and BTF. */
  async open(req: OpenRequest): Promise<ObjectSpec> {
    return this.guarded(`opening '${req.objectName}'`, (m) => {
      if (!(req.object instanceof Uint8Array) || req.object.byteLength === 0) {
        throw new ObjectFormatError(`'${req.objectName}' is empty: expected a BPF ELF object`, { input: 'object' });
      }
      const r = decodeResult(m.open(req.object, req.objectName), 'open', FROM_WASM);
      const object = parsePart<ObjectSpec | null>(r.parts.object);
      if (r.status !== RESULT_STATUS_OK || !object) {
        const error = parsePart<GlueResult['error']>(r.parts.error) ?? { code: 'libbpf', errno: r.status, message: 'libbpf opened no object' };
        throw this.toError(m, req, { error, relocations: [], plan: null, stats: { syscalls: 0, relocations: 0, failedRelocations: 0 }, log: parsePart<string>(r.parts.log) });
      }
      return object;
    });
  }

  /** libbpf's btf_dump: the BTF as a C header (vmlinux.h), moved back as UTF-8 bytes. */
  async btfDumpC(req: { btf: Uint8Array; base?: Uint8Array; name: string }): Promise<Uint8Array> {
    const out = await this.guarded(`writing ${req.name} as C`, (m) => {
      const r = decodeResult(m.btfDumpC(req.btf, req.base), 'btf-dump', FROM_WASM);
      if (r.status !== RESULT_STATUS_OK) {
        throw new ObjectFormatError(`${req.name}: ${textPart(r.parts.error)}`, { input: 'btf', errno: r.status });
      }
      return r.parts.header;
    });
    return comlink().transfer(out, [out.buffer]);
  }

  /** BTFGen: the minimal BTF of `target` that relocates the objects as the full one does. */
  async btfMin(req: { target: Uint8Array; objects: { name: string; btf: Uint8Array; ext: Uint8Array }[]; name: string }): Promise<Uint8Array> {
    const out = await this.guarded(`minimizing ${req.name}`, (m) => {
      const r = decodeResult(m.btfgen(req.target, req.objects), 'btfgen', FROM_WASM);
      if (r.status !== RESULT_STATUS_OK) {
        // the glue numbers objects: name them
        const msg = textPart(r.parts.error).replace(/object #(\d+)/g, (_x, i: string) => `'${req.objects[Number(i)]?.name ?? `#${i}`}'`);
        throw new ObjectFormatError(`BTFGen for ${req.name}: ${msg}`, { input: 'btf', errno: r.status });
      }
      // its own buffer: the BTF alone moves to the caller
      return r.parts.btf.slice();
    });
    return comlink().transfer(out, [out.buffer]);
  }

  /** Trap inside the wasm module on purpose: the test of trap handling and worker replacement. */
  async selftestTrap(): Promise<void> {
    return this.guarded('running the trap self-test', (m) => m.selftestTrap());
  }

  private async guarded<T>(what: string, fn: (m: CorebpfWasm) => T): Promise<T> {
    if (this.broken) throw new WasmTrapError('this worker\'s wasm module trapped earlier; use a new worker');
    const m = await this.module();
    try {
      return fn(m);
    } catch (e) {
      if (isWasmTrap(e)) {
        this.broken = true;
        throw new WasmTrapError(`the wasm module trapped while ${what}: ${e.message}`, {}, { cause: e });
      }
      throw e;
    }
  }

  private relocateWith(m: CorebpfWasm, req: RelocateRequest): RelocateWire {
    if (!(req.object instanceof Uint8Array) || req.object.byteLength === 0) {
      throw new ObjectFormatError(`'${req.objectName}' is empty: expected a BPF ELF object`, { input: 'object' });
    }
    const { handle, cached, key } = this.target(m, req.btf, req.btfKey, req.btfFile);
    const prof = req.profileTarget ? this.profile(key, req.btf, req.kernelRelease, req.btfFile) : undefined;
    const features = this.featureProfile(m, prof?.features ? { ...prof.features, ...req.features } : req.features);
    const out = m.run({
      object: req.object,
      objectName: req.objectName,
      target: handle,
      kconfig: req.kconfig,
      kallsyms: req.kallsyms,
      release: req.kernelRelease ?? '',
      version: req.kernelVersion ?? '',
      machine: req.machine ?? '',
      pageSize: req.pageSize ?? 4096,
      features,
      logLevel: LOG_LEVELS[req.logLevel ?? 'info'] ?? 1,
      moduleBtfs: req.moduleBtfs,
      targetPrograms: req.targetPrograms,
      adjustments: adjustmentsText(req.adjustments),
      reportMode: req.reportMode,
    });
    const r = decodeResult(out, 'run', FROM_WASM);
    if (r.status !== RESULT_STATUS_OK) {
      throw this.toError(m, req, { ...parsePart<GlueReport>(r.parts.report), plan: null, log: parsePart<string>(r.parts.log) });
    }
    const { plan } = r.parts;
    let { report, log } = r.parts;
    report = judgeReport(report, plan, { offers: req.kernelOffers ?? prof?.offers, missing: prof?.missing, ctx: prof?.ctx });
    if (!req.reportOnly) log = withLinuxErrnos(log, (n) => m.errnoName(n));
    const parts = req.reportOnly ? { report, plan: NO_PLAN, log: NO_LOG } : { report, plan, log };
    // unchanged parts: the wasm's own bytes move to the caller as they are
    const same = parts.report === r.parts.report && parts.plan === r.parts.plan && parts.log === r.parts.log;
    const btfSha256 = this.fileHashes.get(key);
    return { result: same ? out : encodeResult('run', r.status, parts), targetCached: cached, ...(btfSha256 ? { btfSha256 } : {}) };
  }

  private toError(m: CorebpfWasm, req: OpenRequest, r: GlueResult): Error {
    const fix = (t: string) => linuxErrnos(t, (n) => m.errnoName(n));
    r.log = fix(r.log);
    const e = r.error!;
    const tail = logTail(r.log);
    const errnoValue = linuxErrno(e.errno);
    // a 'failed' report: the failed relocations, with the count and programs of them all
    const some = r.reportMode === 'failed' ? { relocationCount: r.stats.relocations, programs: r.programs } : {};
    const details = { object: req.objectName, errno: e.errno, errnoName: e.errno, ...(errnoValue !== undefined ? { errnoValue } : {}), log: r.log, relocations: r.relocations, ...some };
    // libbpf refuses at open an object whose .maps need BTF it lacks
    const code = e.code === 'object_format' && /BTF is required, but is missing/.test(r.log) ? 'no_btf' : e.code;
    switch (code) {
      case 'object_format':
        return new ObjectFormatError(`'${req.objectName}' is not a loadable BPF object: ${e.message}${tail ? `\n${tail}` : ''}`, details);
      case 'no_btf':
        return new ObjectFormatError(`'${req.objectName}' has no BTF: CO-RE relocation needs it (compile with clang -g -target bpf)`, details);
      case 'relocation': {
        const failed = r.relocations.filter((x) => x.status === 'failed');
        const lines = failed.map((x) => `  ${x.program} insn ${x.insn ?? '?'}: ${x.kind} ${x.access}: ${x.reason ?? 'failed'}`);
        return new RelocationError(`CO-RE relocation of '${req.objectName}' failed:\n${lines.join('\n')}`, details);
      }
      case 'endianness': {
        const why = /is (big|little)-endian but the target kernel's BTF is (big|little)-endian: build the object with -target \w+/.exec(r.log)?.[0];
        return new NotSupportedError(`'${req.objectName}' ${why ?? 'does not have the target kernel\'s byte order'}`, { ...details, feature: 'byte order' });
      }
      case 'adjust':
        return new LibbpfError(`'${req.objectName}': ${e.message}${tail ? `\n${tail}` : ''}`, details);
      case 'not_supported':
        return new NotSupportedError(`'${req.objectName}': ${e.message}`, { ...details, feature: 'native-endianness object' });
      default: {
        // the wasm memory is bounded (WASM_MAX_MEMORY): say so when libbpf ran out of it
        const mem = e.errno === 'ENOMEM' ? ` (the relocation ran out of wasm memory, limit ${WASM_MAX_MEMORY >> 20} MiB)` : '';
        return new LibbpfError(`'${req.objectName}': ${e.message}${mem}${tail ? `\n${tail}` : ''}`, details);
      }
    }
  }
}
