// What the benchmark cases run against: paths, target BTFs, the native oracle binary,
// the raw wasm module (no worker) and the public API (worker pool).
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeResult, encodeResult, parsePart } from '../../build/tsc/worker/result.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HOST_BTF = '/sys/kernel/btf/vmlinux';
export const DEFAULTS = {
  object: `${ROOT}testdata/progs/bench_tasks.bpf.o`,
  native: `${ROOT}build/native/corebpf-native`,
  dist: `${ROOT}dist`,
  targets: ['host', 'amd64-6.1.176'],
  out: `${ROOT}build/bench/results.json`,
};

/** number of types in a raw BTF blob (walks the type section) */
export function btfTypeCount(b) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(0, true) !== 0xeb9f) return undefined;
  const hdrLen = v.getUint32(4, true);
  let off = hdrLen + v.getUint32(8, true);
  const end = off + v.getUint32(12, true);
  const extra = { 1: 4, 3: 12, 14: 4, 17: 4 }; // INT, ARRAY, VAR, DECL_TAG
  const perMember = { 4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12 }; // STRUCT UNION ENUM FUNC_PROTO DATASEC ENUM64
  let n = 0;
  while (off < end) {
    const info = v.getUint32(off + 4, true);
    const kind = (info >>> 24) & 0x1f;
    off += 12 + (extra[kind] ?? 0) + (perMember[kind] ?? 0) * (info & 0xffff);
    n++;
  }
  return n;
}

/** Target BTFs by id: 'host' (this machine's vmlinux BTF) or a fixture name from
 * testdata/btf (e.g. amd64-6.1.176), decompressed into a temporary file for the native run. */
export class Targets {
  constructor() {
    this.dir = undefined;
    this.list = [];
  }

  add(id) {
    let path;
    let bytes;
    let release = '';
    if (id === 'host') {
      if (!existsSync(HOST_BTF)) return undefined;
      path = HOST_BTF;
      bytes = new Uint8Array(readFileSync(HOST_BTF));
    } else {
      const file = `${ROOT}testdata/btf/${id.replace(/\.btf\.xz$/, '')}.btf.xz`;
      if (!existsSync(file)) throw new Error(`no BTF fixture ${file}`);
      bytes = new Uint8Array(execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 28 }));
      this.dir ??= mkdtempSync(`${tmpdir()}/corebpf-bench-`);
      path = `${this.dir}/${id}.btf`;
      writeFileSync(path, bytes);
      const manifest = JSON.parse(readFileSync(`${ROOT}testdata/btf/manifest.json`, 'utf8'));
      release = manifest.find((f) => f.file === `${id}.btf.xz`)?.kernelRelease ?? '';
    }
    const t = { id, path, bytes, size: bytes.byteLength, types: btfTypeCount(bytes), kernelRelease: release };
    this.list.push(t);
    return t;
  }

  cleanup() {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** Per-run wall times (ms) of the native oracle: `corebpf-native OBJ BTF --repeat N [--warm]`.
 * The timed region is target registration (cold) + cb_set_* + cb_run (which writes the JSON).
 * The first `skip` runs are dropped (cold: page faults and malloc growth; warm: the one
 * run that parses the target). */
export function nativeSamples(native, object, btfPath, { n, warm = false, skip = 2 }) {
  const r = spawnSync(native, [object, btfPath, '--repeat', String(n + skip), ...(warm ? ['--warm'] : [])], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${native} failed (${r.status}): ${r.stderr}`);
  const times = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^(cold|warm) (\d+) ([\d.]+) us$/.exec(line);
    if (m) times.push(Number(m[3]) / 1000);
  }
  if (times.length !== n + skip) throw new Error(`expected ${n + skip} timings from ${native}, got ${times.length}`);
  return times.slice(skip);
}

/** the native result without the log, for the sanity check */
export function nativeResult(native, object, btfPath) {
  const r = spawnSync(native, [object, btfPath, '--no-log'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${native} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trimEnd();
}

/** the result (src/worker/result.ts: header, then report, plan and log) with its log part
 * emptied, as corebpf-native --no-log prints it; the decoder is tsc's output of the source
 * (`make` builds it), so the bench reads the header as the worker does */
export function stripLog(text) {
  const r = decodeResult(Buffer.from(text), 'run', 'the bench\'s wasm run');
  return Buffer.from(encodeResult('run', r.status, { ...r.parts, log: Buffer.from('""') })).toString();
}

/** a result's report part and plan, parsed */
export function resultReport(text) {
  const r = decodeResult(Buffer.from(text), 'run');
  return { ...parsePart(r.parts.report), plan: parsePart(r.parts.plan) };
}

/** The wasm module loaded in this thread, driven through its C entry points exactly as
 * src/worker/wasm.ts does (inputs copied into linear memory, JSON text out), minus the
 * worker hop and the JSON.parse. */
export class RawWasm {
  static async load(dir) {
    dir = resolve(dir);
    const require = createRequire(import.meta.url);
    const factory = require(`${dir}/corebpf.cjs`);
    const m = await factory({
      wasmBinary: readFileSync(`${dir}/corebpf.wasm`),
      print: (s) => process.stderr.write(`[wasm] ${s}\n`),
      printErr: (s) => process.stderr.write(`[wasm] ${s}\n`),
    });
    return new RawWasm(m);
  }

  constructor(m) {
    this.m = m;
  }

  bytes(b) {
    const p = this.m._malloc(Math.max(1, b.byteLength));
    if (!p) throw new RangeError('wasm heap exhausted');
    this.m.HEAPU8.set(b, p);
    return p;
  }

  cstr(s) {
    const n = this.m.lengthBytesUTF8(s) + 1;
    const p = this.m._malloc(n);
    this.m.stringToUTF8(s, p, n);
    return p;
  }

  /** copy a target BTF in and parse it, as the worker does (cb_target_register_owned: libbpf
   *  keeps the copy); returns the handle */
  register(btf) {
    const h = this.m._cb_target_register_owned(this.bytes(btf), btf.byteLength);
    if (h < 0) throw new Error(`target BTF: ${this.m.UTF8ToString(this.m._cb_target_error())}`);
    return h;
  }

  release(h) {
    this.m._cb_target_release(h);
  }

  /** one cb_run of `object` against target handle `h`; returns the result's text (header and JSON).
   * logLevel: libbpf messages kept (0 warn, 1 info: the API's and native's default, 2 debug);
   * builds before cb_set_log_level kept every message. */
  run(object, name, h, release = '', logLevel = 1) {
    const m = this.m;
    const ptrs = [this.bytes(object), this.cstr(name), this.cstr(release), this.cstr(''), this.cstr('x86_64')];
    try {
      m._cb_set_object(ptrs[0], object.byteLength, ptrs[1]);
      m._cb_set_target(h);
      m._cb_set_log_level?.(logLevel);
      m._cb_set_kconfig(0);
      m._cb_set_kallsyms(0, 0);
      m._cb_set_kernel(ptrs[2], ptrs[3], ptrs[4], 4096);
      m._cb_set_features(0, 0);
      const out = m._cb_run();
      if (!out) throw new RangeError('wasm heap exhausted while writing the plan');
      try {
        return m.UTF8ToString(out);
      } finally {
        m._cb_free(out);
      }
    } finally {
      for (const p of ptrs) m._free(p);
      m._cb_set_object(0, 0, 0);
    }
  }
}

/** the public API from the built package (dist/index.js) */
export async function publicApi(dist = `${ROOT}dist`) {
  const p = `${dist}/index.js`;
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make\` (npm run bench does)`);
  return import(p);
}

/** a copy of `btf` that differs in a trailer after the string section (libbpf ignores
 * bytes past the header's sections), so its sha256 key is new and no worker has it cached */
export function freshTarget(btf, counter) {
  const b = new Uint8Array(btf.byteLength + 8);
  b.set(btf);
  new DataView(b.buffer).setFloat64(btf.byteLength, counter, true);
  return b;
}
