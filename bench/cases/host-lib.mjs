// Helpers shared by the host benchmark cases (host-map.mjs, host-ringbuf.mjs); not a case
// itself (the inert default export keeps bench/run.mjs, which imports every module here,
// happy: no variants, no rows). Could move to bench/lib/host.mjs.
//
// The cases load build/bench/host_bench.bpf.o with corebpf (relocation in a worker, maps
// and program created by the Node host), then start build/bench/host-native (C, system
// libbpf) with the object's fds inherited, so both sides work on the same kernel objects.
// Both are built by `make bench-native` (mk/bench.mk).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export default { id: 'host-lib', title: 'helpers of the host cases (not a case)', variants: [] };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NATIVE = `${ROOT}build/bench/host-native`;
export const BPF_OBJ = `${ROOT}build/bench/host_bench.bpf.o`;
/** keys of hmap/amap and records per run of `emit` (bench/native/host_bench.bpf.c) */
export const NKEYS = 65536;
export const EMIT_BATCH = 64;

export async function publicApi(ctx = {}) {
  if (ctx.api) return ctx.api;
  const p = `${ROOT}dist/index.js`;
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make -s all\``);
  return import(pathToFileURL(p).href);
}

/** Why host cases cannot run here, or null. */
export function skipReason() {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.geteuid?.() !== 0) return 'needs root (BPF maps, programs and BPF_PROG_TEST_RUN)';
  for (const f of [NATIVE, BPF_OBJ]) if (!existsSync(f)) return `${f.replace(ROOT, '')} is missing: run \`make bench-native\``;
  return null;
}

/** The benchmark object, relocated for this kernel and loaded. */
export async function loadBenchObject(api) {
  const obj = await api.BpfObject.open(new Uint8Array(readFileSync(BPF_OBJ)), { objectName: 'host_bench' });
  await obj.load();
  return obj;
}

/** build/bench/host-native with the object's maps and program as fds 3..6. */
export class NativeHost {
  constructor(obj) {
    const fds = [obj.map('hmap').fd, obj.map('amap').fd, obj.map('rb').fd, obj.program('emit').fd];
    this.fd = { hmap: 3, amap: 4, rb: 5, prog: 6 };
    this.child = spawn(NATIVE, [], { stdio: ['pipe', 'pipe', 'inherit', ...fds] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** send one command; resolves with the numbers of its "ok ..." reply */
  async cmd(line) {
    this.child.stdin.write(`${line}\n`);
    const r = await Promise.race([this.lines.next(), this.exited.then((code) => ({ exit: code }))]);
    if (r.exit !== undefined || r.done) throw new Error(`host-native exited (${r.exit}) during '${line}'`);
    const parts = r.value.trim().split(/\s+/);
    if (parts[0] !== 'ok') throw new Error(`host-native '${line}': ${r.value}`);
    return parts.slice(1).map(Number);
  }

  async close() {
    if (this.child.exitCode === null) {
      this.child.stdin.end('quit\n');
      await this.exited;
    }
  }
}

/** the number of CPUs in a cpu list ("0-3,6") */
const cpuCount = (list) => list.split(',').reduce((n, r) => {
  const [a, b = a] = r.split('-').map(Number);
  return n + b - a + 1;
}, 0);

/** this process's CPUs before pinProcess() first pinned it (Cpus_allowed_list), kept to put back */
let unpinned;

/**
 * Pin every thread of this process (main, libuv pool, V8 helpers, workers) to CPU `cpu`, or
 * back to the CPUs it had before with `null`: during live ring buffer windows, host-native's
 * producer thread has the last CPU to itself, as it does when the C consumer runs. Needs
 * taskset(1) (util-linux); returns false when pinning is not possible (then nothing is
 * pinned). The CPUs to put back are read before the first pin, not counted afterwards:
 * availableParallelism() follows the affinity, so once pinned it says 1.
 */
export function pinProcess(cpu) {
  try {
    unpinned ??= readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s+(\S+)/m)?.[1];
    if (!unpinned) return false;
    if (cpu !== null && cpuCount(unpinned) < 2) return false;
    execFileSync('taskset', ['-a', '-p', '-c', cpu === null ? unpinned : String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : NaN;
}

export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Run `sides` (name -> async () => one sample) `rounds` times each, alternating the order
 * every round so that outside load hits all sides alike; returns name -> samples. */
export async function interleave(sides, rounds) {
  const keys = Object.keys(sides);
  const out = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [...keys].reverse() : keys) out[k].push(await sides[k]());
  }
  return out;
}

export function round(x, d = 3) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** A row in the shape bench cases report (see bench/README-host.md). `higherIsBetter`:
 * the ratio's goal is a minimum (throughput) rather than a maximum (time per op). */
export function row(name, value, nativeValue, unit, goal, extra = {}) {
  const ratio = round(value / nativeValue, 2);
  const met = goal ? (goal.min !== undefined ? ratio >= goal.min : ratio <= goal.max) : undefined;
  return { case: name, wasm_or_node_value: round(value, 1), native_value: round(nativeValue, 1), unit, ratio, goal: goal?.text ?? null, met, ...extra };
}

function fmt(v) {
  if (typeof v !== 'number') return String(v ?? '-');
  const a = Math.abs(v);
  return a >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function printRows(rows, out = process.stdout) {
  const lines = [['case', 'node/wasm', 'native', 'unit', 'ratio', 'goal', '']];
  for (const r of rows) {
    lines.push([r.case, fmt(r.wasm_or_node_value), fmt(r.native_value), r.unit, `${r.ratio.toFixed(2)}x`, r.goal ?? '-',
      r.met === undefined ? '' : r.met ? 'met' : 'NOT MET']);
  }
  const w = lines[0].map((_, c) => Math.max(...lines.map((l) => String(l[c]).length)));
  out.write(`${lines.map((l, i) => l.map((v, c) => (i && c > 0 && c < 3 ? String(v).padStart(w[c]) : String(v).padEnd(w[c]))).join('  ').trimEnd()).join('\n')}\n`);
}

/** true when `url` (import.meta.url of a case) is the script node was started with */
export function isMain(url) {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url;
}

/** options of a case run directly: --quick, --rounds N, --json (rows as JSON) */
export function cliOptions() {
  const a = process.argv.slice(2);
  const i = a.indexOf('--rounds');
  return { quick: a.includes('--quick'), rounds: i >= 0 ? Number(a[i + 1]) : undefined, json: a.includes('--json') };
}

/** what a case run directly prints */
export function report(rows, o) {
  if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
  else printRows(rows);
}
