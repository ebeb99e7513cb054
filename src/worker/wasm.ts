// The wasm module (libbpf + virtual kernel) and a typed wrapper around its C entry points.
// Runs inside the worker thread; nothing here touches the host beyond reading the module.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CorebpfError, WasmProtocolError } from '../errors.js';
import type { CbExports } from './generated/exports.js';
import { REPORT_MODES, RESULT_PREFIX_LEN, type ReportMode } from './generated/result-protocol.js';
import { resultSize } from './result.js';

/** the module: emscripten's runtime helpers and the glue's entry points (generated from the
 *  CB_EXPORT functions of wasm/*.c, which the Makefile links by the same list) */
interface CorebpfModule extends CbExports {
  HEAPU8: Uint8Array;
  UTF8ToString(ptr: number, maxBytes?: number): string;
  stringToUTF8(s: string, ptr: number, max: number): void;
  lengthBytesUTF8(s: string): number;
  _malloc(n: number): number;
  _free(p: number): void;
}

type Factory = (opts: Record<string, unknown>) => Promise<CorebpfModule>;

/** A compiled WebAssembly.Module (opaque here: the DOM lib, which types the WebAssembly API,
 *  is not part of this build). */
export interface WasmModule { readonly [compiledModule]?: never }
declare const compiledModule: unique symbol;
interface WasmApi {
  instantiate(module: WasmModule, imports: object): Promise<object>;
  Module: new (bytes: Uint8Array) => WasmModule;
}
/** the JS API of WebAssembly (globalThis.WebAssembly) */
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Where the built module lives: dist/wasm/ beside the bundled worker. */
export function wasmPaths(base: string | URL = new URL('./wasm/', import.meta.url)) {
  const dir = (typeof base === 'string' ? base : fileURLToPath(base)).replace(/\/$/, '');
  return { js: `${dir}/corebpf.cjs`, wasm: `${dir}/corebpf.wasm` };
}

export interface RawRunInput {
  object: Uint8Array;
  objectName: string;
  target: number;
  kconfig?: string;
  kallsyms?: string;
  release: string;
  version: string;
  machine: string;
  pageSize: number;
  /** libbpf feature results by feature id: 1 supported, 2 missing, 0 default */
  features: Uint8Array;
  /** libbpf messages to keep: 0 warnings, 1 info, 2 debug */
  logLevel: number;
  /** kernel modules' BTF (split on the target), answered to libbpf's module BTF loading */
  moduleBtfs?: readonly ModuleBtf[];
  /** BTF of the loaded programs freplace programs extend (target_prog.c) */
  targetPrograms?: readonly Uint8Array[];
  /** open-phase adjustments in the glue's text form (src/adjust.ts) */
  adjustments?: string;
  /** what the report part holds (wasm/result-protocol.json reportModes; default full) */
  reportMode?: ReportMode;
}

export interface ModuleBtf {
  /** module name as /sys/kernel/btf/<name> */
  name: string;
  /** its raw (split) BTF */
  data: Uint8Array;
}

export class CorebpfWasm {
  private constructor(private readonly m: CorebpfModule) {}

  /**
   * Instantiate the module of `dir`. `compiled`: the same module already compiled (by the
   * pool, in the caller's thread, while this worker was starting); when it gives nothing,
   * the module's bytes are read and compiled here.
   */
  static async load(dir?: string, compiled?: Promise<WasmModule | undefined>): Promise<CorebpfWasm> {
    const early = preloaded;
    if (early && early.dir === dir && !compiled) {
      preloaded = undefined;
      return early.wasm;
    }
    const p = wasmPaths(dir);
    if (!existsSync(p.js) || !existsSync(p.wasm)) {
      throw new CorebpfError(`the corebpf wasm module is not built (${p.wasm} is missing): run \`make\` in the corebpf checkout (see README)`);
    }
    const require = createRequire(import.meta.url);
    const factory = require(p.js) as Factory;
    const module = compiled && await compiled;
    const opts: Record<string, unknown> = {
      // libbpf's output is captured by the glue; anything else is a bug worth seeing
      print: (s: string) => process.stderr.write(`[corebpf wasm] ${s}\n`),
      printErr: (s: string) => process.stderr.write(`[corebpf wasm] ${s}\n`),
    };
    try {
      if (!module) return new CorebpfWasm(await factory({ ...opts, wasmBinary: readFileSync(p.wasm) }));
      // emscripten's hook for a module compiled elsewhere; its own promise never settles when
      // the instantiation fails, so the failure is raced against it
      let fail: (e: unknown) => void = () => {};
      const failed = new Promise<never>((_, reject) => {
        fail = reject;
      });
      const m = await Promise.race([failed, factory({
        ...opts,
        instantiateWasm(imports: object, receive: (instance: object, module: WasmModule) => void) {
          Wasm.instantiate(module, imports).then((instance) => receive(instance, module), fail);
          return {};
        },
      })]);
      return new CorebpfWasm(m);
    } catch (e) {
      const why = (e as Error).message ?? String(e);
      throw new CorebpfError(`the corebpf wasm module ${p.wasm} cannot be loaded: ${why}. Rebuild it with \`make\` in the corebpf checkout (see README)`,
        { code: 'wasm_load', path: p.wasm }, { cause: e });
    }
  }

  /**
   * Start instantiating the module of `dir` now (a worker does this as it starts, before its
   * first request arrives); the next load(dir) in this thread takes that instance.
   */
  static preload(dir: string | undefined, compiled?: Promise<WasmModule | undefined>): void {
    const wasm = CorebpfWasm.load(dir, compiled);
    wasm.catch(() => {}); // load(dir) reports it
    preloaded = { dir, wasm };
  }

  get libbpfVersion(): string {
    return this.m.UTF8ToString(this.m._cb_libbpf_version());
  }

  /** libbpf's kernel feature names (FEAT_*) and descriptions, in libbpf's order */
  features(): { name: string; desc: string }[] {
    const out = [];
    for (let i = 0; i < this.m._cb_feature_count(); i++) {
      out.push({ name: this.m.UTF8ToString(this.m._cb_feature_name(i)), desc: this.m.UTF8ToString(this.m._cb_feature_desc(i)) });
    }
    return out;
  }

  private bytes(data: Uint8Array): number {
    const p = this.m._malloc(Math.max(1, data.byteLength));
    if (!p) throw heapExhausted(`copying ${data.byteLength} bytes of input`);
    this.m.HEAPU8.set(data, p);
    return p;
  }

  private cstr(s: string | undefined): number {
    if (s === undefined) return 0;
    const n = this.m.lengthBytesUTF8(s) + 1;
    const p = this.m._malloc(n);
    if (!p) throw heapExhausted(`copying a ${n}-byte string`);
    this.m.stringToUTF8(s, p, n);
    return p;
  }

  /** Parse a target BTF once; returns a handle, or throws with libbpf's reason. The copy in
   *  wasm memory is libbpf's from then on (cb_target_register_owned: not copied again). */
  registerTarget(btf: Uint8Array): number {
    return this.registerTargetOwned({ ptr: this.bytes(btf), size: btf.byteLength, bytes: btf });
  }

  /** `size` bytes of wasm memory for a target BTF to be read into, with no copy of it in
   *  JavaScript (src/worker/target-file.ts): registerTargetOwned() hands them to libbpf,
   *  freeTargetBuffer() gives them back */
  targetBuffer(size: number): TargetBuffer {
    const ptr = this.m._malloc(Math.max(1, size));
    if (!ptr) throw heapExhausted(`reading ${size} bytes of target BTF`);
    return { ptr, size, bytes: this.m.HEAPU8.subarray(ptr, ptr + size) };
  }

  freeTargetBuffer(buf: TargetBuffer): void {
    this.m._free(buf.ptr);
  }

  /** registerTarget() of a targetBuffer() filled with the BTF: libbpf takes the buffer (it
   *  is freed with the target, or by this call when the BTF is refused) */
  registerTargetOwned(buf: TargetBuffer): number {
    const h = this.m._cb_target_register_owned(buf.ptr, buf.size);
    if (h < 0) throw new TargetBtfError(this.m.UTF8ToString(this.m._cb_target_error()));
    return h;
  }

  /** Trap on purpose (tests of the trap handling). */
  selftestTrap(): void {
    this.m._cb_selftest_trap();
  }

  /** The name of an errno number of the wasm's C library (numbered unlike Linux's). */
  errnoName(e: number): string {
    return this.m.UTF8ToString(this.m._cb_errno_name(e));
  }

  /** libbpf's bpf_object__open() only: a result of kind open (src/worker/result.ts: the
   *  opened object's programs, maps and BTF, or the error) */
  open(object: Uint8Array, objectName: string): Uint8Array {
    const ptrs: number[] = [];
    const keep = (p: number) => (ptrs.push(p), p);
    try {
      this.m._cb_set_object(keep(this.bytes(object)), object.byteLength, keep(this.cstr(objectName)));
      return this.take(this.m._cb_open(), 'describing the object');
    } finally {
      for (const p of ptrs) if (p) this.m._free(p);
      this.m._cb_set_object(0, 0, 0);
    }
  }

  /** libbpf's btf_dump of every type as C (a vmlinux.h): a result of kind btf-dump (the
   *  header's text, or why not) */
  btfDumpC(btf: Uint8Array, base: Uint8Array | undefined): Uint8Array {
    const ptrs: number[] = [];
    const keep = (p: number) => (ptrs.push(p), p);
    try {
      const b = keep(this.bytes(btf));
      const bb = base ? keep(this.bytes(base)) : 0;
      return this.take(this.m._cb_btf_dump_c(b, btf.byteLength, bb, base?.byteLength ?? 0), 'writing the BTF as C');
    } finally {
      for (const p of ptrs) if (p) this.m._free(p);
    }
  }

  /** BTFGen (wasm/btfgen.c): a result of kind btfgen (the minimal BTF of `target` for the
   *  objects' CO-RE records, or why not) */
  btfgen(target: Uint8Array, objects: readonly { btf: Uint8Array; ext: Uint8Array }[]): Uint8Array {
    const ptrs: number[] = [];
    const keep = (p: number) => (ptrs.push(p), p);
    try {
      const t = keep(this.bytes(target));
      const table = keep(this.m._malloc(16 * Math.max(objects.length, 1)));
      if (!table) throw heapExhausted('reading the objects for BTFGen');
      objects.forEach((o, i) => {
        const quad = [keep(this.bytes(o.btf)), o.btf.byteLength, keep(this.bytes(o.ext)), o.ext.byteLength];
        // the heap's buffer is read after every allocation: growing memory replaces it
        const dv = new DataView(this.m.HEAPU8.buffer);
        quad.forEach((v, k) => dv.setUint32(table + 16 * i + 4 * k, v, true));
      });
      return this.take(this.m._cb_btfgen(t, target.byteLength, table, objects.length), 'building the minimal BTF');
    } finally {
      for (const p of ptrs) if (p) this.m._free(p);
    }
  }

  /** A result out of wasm memory (a copy: ready to be moved to another thread), as long as
   * its header says; a result with no header of this version is copied to its NUL for
   * decodeResult to say what it is instead. */
  private take(out: number, what: string): Uint8Array {
    if (!out) throw heapExhausted(what);
    try {
      const heap = this.m.HEAPU8;
      const size = resultSize(heap.subarray(out, out + RESULT_PREFIX_LEN));
      const end = size >= 0 && out + size <= heap.byteLength ? out + size : heap.indexOf(0, out);
      return heap.slice(out, end < 0 ? heap.byteLength : end);
    } finally {
      this.m._cb_free(out);
    }
  }

  private setReportMode(mode: ReportMode): void {
    // a module built before report modes has no setter, and writes the full report
    if (typeof this.m._cb_set_report_mode !== 'function') {
      if (mode === 'full') return;
      throw new WasmProtocolError(`the wasm module (dist/wasm) cannot write the '${mode}' report (it has no cb_set_report_mode): rebuild the wasm module and the JavaScript from one checkout (\`make\`)`,
        { code: 'wasm_protocol', reportMode: mode });
    }
    this.m._cb_set_report_mode(REPORT_MODES.indexOf(mode));
  }

  releaseTarget(handle: number): void {
    this.m._cb_target_release(handle);
  }

  /** One libbpf open -> load against the virtual kernel; returns the glue's result of kind
   * run (src/worker/result.ts: the header, then report, plan and log as JSON texts) */
  run(input: RawRunInput): Uint8Array {
    const ptrs: number[] = [];
    const keep = (p: number) => (ptrs.push(p), p);
    try {
      const obj = keep(this.bytes(input.object));
      this.m._cb_set_object(obj, input.object.byteLength, keep(this.cstr(input.objectName)));
      this.m._cb_set_target(input.target);
      this.m._cb_set_log_level(input.logLevel);
      this.setReportMode(input.reportMode ?? 'full');
      this.m._cb_set_kconfig(keep(this.cstr(input.kconfig)));
      if (input.kallsyms !== undefined) {
        const ks = new TextEncoder().encode(input.kallsyms);
        this.m._cb_set_kallsyms(keep(this.bytes(ks)), ks.byteLength);
      } else {
        this.m._cb_set_kallsyms(0, 0);
      }
      this.m._cb_set_kernel(keep(this.cstr(input.release)), keep(this.cstr(input.version)),
        keep(this.cstr(input.machine)), input.pageSize);
      this.m._cb_set_features(keep(this.bytes(input.features)), input.features.byteLength);
      this.m._cb_clear_module_btfs();
      for (const mod of input.moduleBtfs ?? []) {
        // the glue owns (and frees) the copy
        if (this.m._cb_add_module_btf(keep(this.cstr(mod.name)), this.bytes(mod.data), mod.data.byteLength) < 0) {
          throw heapExhausted('adding module BTF');
        }
      }
      this.m._cb_clear_target_progs();
      for (const btf of input.targetPrograms ?? []) {
        if (this.m._cb_add_target_prog(this.bytes(btf), btf.byteLength) < 0) throw heapExhausted('adding a target program\'s BTF');
      }
      this.m._cb_set_adjustments(keep(this.cstr(input.adjustments || undefined)));
      return this.take(this.m._cb_run(), 'writing the plan');
    } finally {
      for (const p of ptrs) if (p) this.m._free(p);
      this.m._cb_set_object(0, 0, 0);
      this.m._cb_clear_module_btfs();
      this.m._cb_clear_target_progs();
      this.m._cb_set_adjustments(0);
    }
  }
}

/** the instance preload() started, until load() takes it */
let preloaded: { dir: string | undefined; wasm: Promise<CorebpfWasm> } | undefined;

/** The wasm memory limit (mk/corebpf.mk WASM_MAX_MEMORY): growth past it fails malloc. */
export const WASM_MAX_MEMORY = 1 << 30;

function heapExhausted(what: string): CorebpfError {
  return new CorebpfError(
    `the relocation ran out of wasm memory (limit ${WASM_MAX_MEMORY >> 20} MiB) while ${what}: the input is too large or hostile`,
    { code: 'wasm_memory', limit: WASM_MAX_MEMORY });
}

/** The target BTF could not be parsed (message from libbpf / libelf). */
export class TargetBtfError extends Error {}

/** wasm memory a target BTF is read into (CorebpfWasm.targetBuffer); `bytes` views it */
export interface TargetBuffer {
  ptr: number;
  size: number;
  bytes: Uint8Array;
}
