// Shared test helpers: paths, the native oracle, the raw wasm module, fixtures.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { decodeResult, encodeResult } from '../src/worker/result.js';

const execFileAsync = promisify(execFile);

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PROGS = `${ROOT}testdata/progs`;
export const BTF_DIR = `${ROOT}testdata/btf`;
export const TARGETS = `${ROOT}testdata/targets`;
export const NATIVE = `${ROOT}build/native/corebpf-native`;
export const CLI = `${ROOT}dist/cli.js`;
export const HOST_BTF = '/sys/kernel/btf/vmlinux';
export const hasHostBtf = existsSync(HOST_BTF);

export function obj(name: string): string {
  return `${PROGS}/${name}.bpf.o`;
}

/** little-endian corpus objects (name without .bpf.o) */
export function corpus(): string[] {
  return readdirSync(PROGS).filter((f) => f.endsWith('.bpf.o')).map((f) => f.replace(/\.bpf\.o$/, '')).sort();
}

/** every compiled corpus object, both byte orders: file names */
export function corpusFiles(): string[] {
  return readdirSync(PROGS).filter((f) => /\.bpf(eb)?\.o$/.test(f)).sort();
}

export interface Fixture { file: string; arch: string; kernelRelease: string; endianness: string; base?: string | null; typeCount?: number }
export function fixtures(): Fixture[] {
  return JSON.parse(readFileSync(`${BTF_DIR}/manifest.json`, 'utf8')) as Fixture[];
}

const xzCache = new Map<string, Uint8Array>();
/** a fixture's raw BTF bytes */
export function fixtureBytes(file: string): Uint8Array {
  let b = xzCache.get(file);
  if (!b) {
    b = new Uint8Array(execFileSync('xz', ['-dc', `${BTF_DIR}/${file}`], { maxBuffer: 1 << 28 }));
    xzCache.set(file, b);
  }
  return b;
}

/** the native oracle's result text for OBJECT against a raw BTF file, without the log.
 * Asynchronous: long synchronous loops starve vitest's worker RPC. */
export async function nativeRun(objPath: string, btfPath: string, args: string[] = []): Promise<string> {
  try {
    const { stdout } = await execFileAsync(NATIVE, [objPath, btfPath, '--no-log', ...args], { maxBuffer: 1 << 28, encoding: 'utf8' });
    return stdout.trimEnd();
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new Error(`corebpf-native failed (${err.code}): ${err.stderr ?? String(e)}`);
  }
}

interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  UTF8ToString(p: number): string;
  stringToUTF8(s: string, p: number, n: number): void;
  lengthBytesUTF8(s: string): number;
  [k: string]: unknown;
}

export interface RawWasm {
  /** parse a target BTF once: a handle for run() */
  register(btf: Uint8Array): number;
  release(handle: number): void;
  /** cb_run's result without the log (withoutLog), as corebpf-native --no-log prints it;
   *  reportMode: the number of a mode of wasm/result-protocol.json (0 full, 1 failed) */
  run(obj: Uint8Array, name: string, handle: number, release?: string, reportMode?: number): string;
  /** the module itself, and a call of one of its exports by C name */
  module: RawModule;
  call(f: string, ...a: number[]): number;
  /** a copy of `b` in wasm memory (malloc) */
  bytes(b: Uint8Array): number;
}

/** the wasm build loaded directly (no worker), to compare its raw output with the native one */
export async function rawWasm(): Promise<RawWasm> {
  const require = createRequire(import.meta.url);
  const factory = require(`${ROOT}dist/wasm/corebpf.cjs`) as (o: object) => Promise<RawModule>;
  const m = await factory({ wasmBinary: readFileSync(`${ROOT}dist/wasm/corebpf.wasm`) });
  const call = (f: string, ...a: number[]) => (m[`_${f}`] as (...x: number[]) => number)(...a);
  const bytes = (b: Uint8Array) => { const p = m._malloc(Math.max(1, b.length)); m.HEAPU8.set(b, p); return p; };
  const str = (s: string) => { const n = m.lengthBytesUTF8(s) + 1; const p = m._malloc(n); m.stringToUTF8(s, p, n); return p; };
  return {
    register(btf) {
      const p = bytes(btf);
      const h = call('cb_target_register', p, btf.length);
      m._free(p);
      if (h < 0) throw new Error(m.UTF8ToString(call('cb_target_error')));
      return h;
    },
    release(h) {
      call('cb_target_release', h);
    },
    run(o, name, h, release = '', reportMode = 0) {
      const ptrs = [bytes(o), str(name), str(release), str(''), str('x86_64')];
      call('cb_set_object', ptrs[0]!, o.length, ptrs[1]!);
      call('cb_set_target', h);
      call('cb_set_log_level', 1);
      call('cb_set_report_mode', reportMode);
      call('cb_set_kconfig', 0);
      call('cb_set_kernel', ptrs[2]!, ptrs[3]!, ptrs[4]!, 4096);
      call('cb_set_features', 0, 0);
      const outp = call('cb_run');
      const out = m.HEAPU8.slice(outp, m.HEAPU8.indexOf(0, outp));
      call('cb_free', outp);
      for (const p of ptrs) m._free(p);
      return new TextDecoder().decode(withoutLog(out));
    },
    module: m,
    call,
    bytes,
  };
}

/** A built wasm module (its bytes, patched in place) whose result writer says version
 * 0x2000000N, N the version this checkout speaks: wasm/cb_result.h's header format string
 * with "%08x" made "2%07x" and the status field's precision shortened to keep the length. */
export function patchResultVersion(wasm: Buffer): void {
  const at = wasm.indexOf(Buffer.from('corebpf-result %08x %08x %-12.12s %-24.24s'));
  if (at < 0) throw new Error('the wasm module has no result header format string of this checkout\'s layout');
  Buffer.from('corebpf-result 2%07x %08x %-12.12s %-24.9s').copy(wasm, at);
}

/** a result (src/worker/result.ts) with its log part emptied: what corebpf-native --no-log
 * prints (wasm/native/main.c strip_log), so the two builds compare without libbpf's chatter */
export function withoutLog(result: Uint8Array): Uint8Array {
  const r = decodeResult(result, 'run');
  return encodeResult('run', r.status, { ...r.parts, log: new TextEncoder().encode('""') });
}

export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * Run node with `args` without blocking this process's event loop (spawnSync would: under a
 * slow emulated guest, a call of a minute starves vitest's worker RPC, which then times out).
 */
export function runNode(args: string[], opts: { uid?: number; gid?: number; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = opts.env ? { ...process.env, ...opts.env } : undefined;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (status) => {
      if (timer) clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
