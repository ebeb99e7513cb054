// corebpf (libbpf 1.5.0, ours) against Debian's stock libbpf (libbpf-dev 1:1.1.2, the shared
// library: an independent build of an older version). Both run their normal open -> load
// pipeline against the same virtual kernel (wasm/vk*.c; for the stock library through
// interposed libc functions, test/c/stock_oracle.c) and the same target BTF; we compare
// what they would have loaded. docs/stock-libbpf.md explains the method and every known
// difference.
//
//   matrix: every little-endian corpus object x every little-endian target BTF, no other
//           input (corebpf-native, as the rest of the suite runs it): the instruction at
//           every CO-RE relocation of a main program, the rest of the instructions, the
//           outcome (loaded / failed with which errno), attach BTF ids, kern_version,
//           .kconfig contents.
//   inputs: the same with kernel inputs (kconfig text, kallsyms, uname -r / uname -v),
//           which reaches extern resolution (ksyms, kfuncs, .kconfig); corebpf through
//           its public API (relocate(); corebpf-native has no kallsyms input).
// A difference fails the test unless KNOWN below lists and explains it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release as osRelease, tmpdir, version as osVersion } from 'node:os';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relocator, type LoadPlan, type RelocationRecord } from '../dist/index.js';
import { decodeResult, parsePart } from '../src/worker/result.js';
import { HOST_BTF, NATIVE, PROGS, ROOT, TARGETS, corpus, fixtureBytes, fixtures, hasHostBtf } from './helpers.js';

const STOCK = `${ROOT}build/native/stock-oracle`;
const dir = mkdtempSync(`${tmpdir()}/corebpf-stock-`);

// ---- the feature profile ----------------------------------------------------------------
// Stock libbpf 1.1 probes the (virtual) kernel itself. The virtual kernel accepts BTF,
// map and program creation, so every probe built from those concludes "supported"; it
// refuses BPF_OBJ_GET_INFO_BY_FD (module BTF probe), BPF_LINK_CREATE (perf link probe) and
// perf_event_open / kprobe files (syscall wrapper probe), so those are "missing" (the test
// 'stock libbpf concluded ...' below checks this against the oracle's record). corebpf gets
// the same answers as a profile. Features 1.1 does not know: uprobe multi-link is attach
// only (missing, as 1.1 has none); arg:ctx tags and '?' datasec names 1.1 leaves as they are,
// which is what 1.5 does when the kernel supports them (supported).
const MISSING = ['FEAT_MODULE_BTF', 'FEAT_PERF_LINK', 'FEAT_SYSCALL_WRAPPER', 'FEAT_UPROBE_MULTI_LINK'];
const FEATURES = readFileSync(`${ROOT}build/gen/feat_names.h`, 'utf8').match(/"FEAT_[A-Z0-9_]+"/g)!.map((s) => s.slice(1, -1));
const PROFILE_HEX = FEATURES.map((f) => (MISSING.includes(f) ? '02' : '01')).join('');
const PROFILE_API = Object.fromEntries(FEATURES.map((f) => [f.replace(/^FEAT_/, '').toLowerCase(), !MISSING.includes(f)]));

// ---- kernel inputs of the 'inputs' section ------------------------------------------------
const KCONFIG = [
  'CONFIG_BPF_SYSCALL=y', 'CONFIG_BPF_JIT=y', 'CONFIG_HZ=250', 'CONFIG_NR_CPUS=8192',
  'CONFIG_DEFAULT_HOSTNAME="(none)"', 'CONFIG_COREBPF_NOT_A_REAL_OPTION=n', '',
].join('\n');
const KALLSYMS = 'ffffffff81000000 T _stext\nffffffff8139a0c0 T vfs_read\n000000000001f9c0 D bpf_prog_active\n';

interface Target { name: string; path: string; release: string; version: string }

function targets(): Target[] {
  const t: Target[] = [];
  for (const f of fixtures().filter((x) => !x.base && x.endianness === 'little')) {
    const v = (f as { version?: string }).version ?? '';
    t.push({ name: f.file.replace(/\.btf\.xz$/, ''), path: `${dir}/${f.file.replace(/\.xz$/, '')}`, release: f.kernelRelease, version: `#1 SMP PREEMPT_DYNAMIC Debian ${v}` });
  }
  t.push({ name: 'synthetic:core_target', path: `${TARGETS}/core_target.target.btf`, release: '6.12.0', version: '#1' });
  t.push({ name: 'synthetic:core_ambiguous', path: `${TARGETS}/core_ambiguous.target.btf`, release: '6.12.0', version: '#1' });
  if (hasHostBtf) t.push({ name: 'host', path: HOST_BTF, release: osRelease(), version: osVersion() });
  return t;
}

// ---- one run of each ------------------------------------------------------------------------
interface Program {
  name: string; type: number; expectedAttachType: number; attachBtfId: number; kernVersion: number; insns: string;
  funcInfo: string | null; lineInfo: string | null;
}
interface MapInit { key: string; value?: string; program?: number; map?: number }
interface MapOut { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; freeze: boolean; initial: MapInit[] }
/** what both sides produced, in one shape */
interface Outcome { ok: boolean; errno: string | null; btf: string | null; programs: Program[]; maps: MapOut[]; relocations: RelocationRecord[] }
interface StockOut {
  libbpf: string; opened: boolean; loaded: boolean; error: { errno: string } | null; btf: string | null; programs: Program[]; maps: MapOut[];
  calls: { cmd: string; errno: string | null; count: number }[]; features: Record<string, string>; refusedFiles: string[];
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 1 << 28, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${basename(cmd)} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** the features stock libbpf concluded in each run */
const stockSeen: (StockOut & { object: string })[] = [];
async function stock(o: string, t: Target, inputs: boolean): Promise<Outcome> {
  const args = [`${PROGS}/${o}.bpf.o`, t.path, '--name', o];
  if (inputs) args.push('--release', t.release, '--kernel-version', t.version, '--kconfig', `${dir}/kconfig`, '--kallsyms', `${dir}/kallsyms`);
  const s = JSON.parse(await run(STOCK, args)) as StockOut;
  stockSeen.push({ ...s, object: o });
  return { ok: s.loaded, errno: s.error?.errno ?? null, btf: s.btf, programs: s.programs, maps: s.maps, relocations: [] };
}

interface NativeOut { error: { errno: string } | null; relocations: RelocationRecord[] }
const PERF_EVENT_ARRAY = 4;
function fromPlan(ok: boolean, errno: string | null, plan: LoadPlan | null, relocations: RelocationRecord[]): Outcome {
  return {
    ok, errno, relocations, btf: plan?.btf ?? null,
    programs: (plan?.programs ?? []).map((p) => ({
      name: p.name, type: p.type, expectedAttachType: p.expectedAttachType, attachBtfId: p.attachBtfId, kernVersion: p.kernVersion,
      insns: p.insns, funcInfo: p.funcInfo?.data ?? null, lineInfo: p.lineInfo?.data ?? null,
    })),
    // the object's maps (inner-map templates are the plan's own addition); a per-CPU sized
    // perf event array is 0 in a plan (the host sizes it), libbpf created it with the
    // virtual kernel's one CPU
    maps: (plan?.maps ?? []).filter((m) => !m.innerTemplate).map((m) => ({
      name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize,
      maxEntries: m.type === PERF_EVENT_ARRAY && m.maxEntries === 0 ? 1 : m.maxEntries, flags: m.flags, freeze: m.freeze,
      initial: m.initial.map((u) => ({ key: u.key, value: u.value, program: u.program, map: u.map })),
    })),
  };
}

async function native(o: string, t: Target, profile = PROFILE_HEX): Promise<Outcome> {
  const out = decodeResult(Buffer.from((await run(NATIVE, [`${PROGS}/${o}.bpf.o`, t.path, '--no-log', '--name', o, '--features', profile])).trimEnd()), 'run', 'corebpf-native');
  const r = parsePart<NativeOut>(out.parts.report);
  return fromPlan(!r.error, r.error?.errno ?? null, parsePart<LoadPlan | null>(out.parts.plan), r.relocations);
}

let relocator: Relocator;
async function api(o: string, t: Target): Promise<Outcome> {
  try {
    const r = await relocator.relocate(`${PROGS}/${o}.bpf.o`, {
      btf: t.path, objectName: o, kconfig: KCONFIG, kallsyms: KALLSYMS, kernelRelease: t.release, kernelVersion: t.version, features: PROFILE_API,
    });
    return fromPlan(true, null, r.plan, r.relocations);
  } catch (e) {
    const d = (e as { details?: { errno?: unknown; relocations?: RelocationRecord[] } }).details;
    if (!d || typeof d.errno !== 'string') throw e;
    return fromPlan(false, d.errno, null, d.relocations ?? []);
  }
}

// ---- differences ------------------------------------------------------------------------------
type What = 'outcome' | 'programs' | 'relocation' | 'insn' | 'attach' | 'kernVersion' | 'info' | 'btf' | 'map' | 'kconfig';
interface Diff {
  section: 'matrix' | 'inputs'; object: string; program: string; target: Target; what: What;
  insn?: number; corebpf: string; stock: string;
}
interface Known {
  section: 'matrix' | 'inputs' | '*'; object: string; program: string;
  /** target names: globs (* matches anything) */
  targets: string[]; what: What; reason: string;
  /** the difference is exactly the explained one (not just any difference at that place) */
  check: (d: Diff) => boolean;
}

/** KERNEL_VERSION(a, b, c) as libbpf computes it (patch capped at 255) */
const kver = (a: number, b: number, c: number) => (a << 16) + (b << 8) + Math.min(c, 255);
const parseVer = (s: string, re: RegExp) => { const m = re.exec(s); return m ? kver(+m[1]!, +m[2]!, +m[3]!) : 0; };
/** libbpf 1.5: "Debian X.Y.Z" in uname -v first, then uname -r; libbpf 1.1: uname -r only */
const kverDebian = (t: Target) => parseVer(t.version, /Debian (\d+)\.(\d+)\.(\d+)/) || kverRelease(t);
const kverRelease = (t: Target) => parseVer(t.release, /^(\d+)\.(\d+)\.(\d+)/);
const le32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b.toString('hex'); };
const insn = (hex: string) => { const b = Buffer.from(hex, 'hex'); return { code: b[0]!, src: b[1]! >> 4, dst: b[1]! & 15, off: b.readInt16LE(2), imm: b.readInt32LE(4) }; };

// Debian's kernels: uname -r is the ABI name (6.1.0-50-amd64), the kernel version is in
// uname -v (Debian 6.1.176-1); they disagree for the bullseye/bookworm fixtures only.
const DEBIAN_ABI_TARGETS = ['*-5.10.223', '*-6.1.176'];

const KNOWN: Known[] = [
  {
    section: '*', object: 'netfilter_hook', program: '*', targets: ['*'], what: 'outcome',
    reason: 'SEC("netfilter") (BPF_PROG_TYPE_NETFILTER) came with libbpf 1.2: libbpf 1.1 finds no section definition '
      + 'for it, leaves the program type unset and refuses to load it (EINVAL, "missing BPF prog type, check ELF section '
      + 'name"); 1.5 loads it. docs/stock-libbpf.md, difference 4.',
    check: (d) => d.corebpf === 'loaded' && d.stock === 'failed EINVAL',
  },
  {
    section: '*', object: 'netkit', program: '*', targets: ['*'], what: 'outcome',
    reason: 'SEC("netkit/primary") and SEC("netkit/peer") came with libbpf 1.3: libbpf 1.1 finds no section definition '
      + 'for them, leaves the program type unset and refuses to load them (EINVAL, "missing BPF prog type, check ELF '
      + 'section name"); 1.5 loads them. docs/stock-libbpf.md, difference 5.',
    check: (d) => d.corebpf === 'loaded' && d.stock === 'failed EINVAL',
  },
  {
    section: 'inputs', object: 'host_env', program: '*', targets: ['*'], what: 'outcome',
    reason: 'host_env.bpf.o has non-weak CONFIG_ externs (CONFIG_HZ, a tristate, a string) that the test\'s kconfig text '
      + 'lacks. Both libbpfs then look for the system Kconfig: corebpf\'s virtual kernel serves the given kconfig as that '
      + 'file, so libbpf reads it and fails at the first extern it cannot find (ESRCH); stock libbpf on this machine '
      + 'finds no /boot/config for the target\'s release and fails opening it (EINVAL). Both refuse the object.',
    check: (d) => d.corebpf === 'failed ESRCH' && d.stock === 'failed EINVAL',
  },
  {
    section: 'inputs', object: 'guards', program: '*', targets: ['*'], what: 'outcome',
    reason: 'guards.bpf.o has __weak CONFIG_X86 / CONFIG_ARM64 externs the test\'s kconfig text lacks: libbpf then opens '
      + 'the system Kconfig (/boot/config-RELEASE, /proc/config.gz) for them. corebpf\'s virtual kernel serves the given '
      + 'kconfig as that file (it is the target\'s config: the weak options stay 0); stock libbpf on this machine finds '
      + 'no /boot/config for the target\'s release and fails with EINVAL.',
    check: (d) => d.corebpf === 'loaded' && d.stock === 'failed EINVAL',
  },
  {
    section: 'inputs', object: 'ksyms', program: 'ksym_kfuncs', targets: ['*'], what: 'insn',
    reason: 'a call to an unresolved __weak kfunc (corebpf_no_such_kfunc, guarded by bpf_ksym_exists): libbpf 1.5 '
      + 'poisons it into a call of the invalid helper 2002000000 + extern index (poison_kfunc_call()), libbpf 1.1 '
      + 'leaves a BPF_PSEUDO_KFUNC_CALL with imm 0 (bpf_object__relocate_data, RELO_EXTERN_FUNC). Dead code either way.',
    check: (d) => {
      const a = insn(d.corebpf), b = insn(d.stock);
      return a.code === 0x85 && a.src === 0 && a.imm >= 2002000000 && a.imm < 2002000000 + 100 && a.off === 0
        && b.code === 0x85 && b.src === 2 && b.imm === 0 && b.off === 0;
    },
  },
  {
    section: 'inputs', object: '*', program: '*', targets: DEBIAN_ABI_TARGETS, what: 'kernVersion',
    reason: 'kern_version of Debian kernels: libbpf 1.5 reads the version from uname -v ("Debian 6.1.176-1", '
      + 'get_debian_kernel_version() in libbpf_probes.c), libbpf 1.1 parses uname -r ("6.1.0-50-amd64") only.',
    check: (d) => Number(d.corebpf) === kverDebian(d.target) && Number(d.stock) === kverRelease(d.target) && d.corebpf !== d.stock,
  },
  {
    section: 'inputs', object: 'kconfig', program: 'kconfig.kconfig', targets: DEBIAN_ABI_TARGETS, what: 'kconfig',
    reason: 'LINUX_KERNEL_VERSION in .kconfig comes from the same get_kernel_version(): the Debian uname -v '
      + 'version in libbpf 1.5, uname -r in 1.1; every other .kconfig byte agrees.',
    check: (d) => {
      const a = Buffer.from(d.corebpf, 'base64').toString('hex'), b = Buffer.from(d.stock, 'base64').toString('hex');
      const from = le32(kverDebian(d.target)), to = le32(kverRelease(d.target));
      return a.length === b.length && a.includes(from) && a.replace(from, to) === b;
    },
  },
  {
    section: '*', object: 'struct_ops', program: '*', targets: ['*'], what: 'map',
    reason: 'SEC(".struct_ops.link") came with libbpf 1.2 (struct_ops links, Linux 6.4): libbpf 1.1 ignores the section, '
      + 'so the corebpf_ca_link and corebpf_ca_link2 maps are libbpf 1.5\'s alone; the SEC(".struct_ops") map and the programs agree.',
    check: (d) => d.corebpf === 'struct_o.bss,corebpf_ca,corebpf_ca_link,corebpf_ca_link2' && d.stock === 'struct_o.bss,corebpf_ca',
  },
  {
    section: '*', object: 'struct_ops', program: 'corebpf_init2', targets: ['*'], what: 'attach',
    reason: 'corebpf_init2 is in corebpf_ca_link2 only, a SEC(".struct_ops.link") map, which libbpf 1.1 ignores: no map '
      + 'gives it its struct member, so libbpf 1.1 leaves its expected attach type and attach BTF id at 0.',
    check: (d) => d.stock === 'expectedAttachType=0' || d.stock === 'attachBtfId=0',
  },
  {
    section: '*', object: 'struct_ops', program: '*', targets: ['synthetic:*'], what: 'outcome',
    reason: 'the synthetic targets have no struct tcp_congestion_ops: libbpf 1.5 looks the struct_ops type up with '
      + 'find_ksym_btf_id() (-ESRCH when missing), libbpf 1.1 with btf__find_by_name_kind() (-ENOENT). Both refuse the object.',
    check: (d) => d.corebpf === 'failed ESRCH' && d.stock === 'failed ENOENT',
  },
];

const glob = (g: string, s: string) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(s);
const used = new Set<Known>();
function explain(d: Diff): Known | undefined {
  const k = KNOWN.find((x) => (x.section === '*' || x.section === d.section) && glob(x.object, d.object) && glob(x.program, d.program)
    && x.what === d.what && x.targets.some((g) => glob(g, d.target.name)) && x.check(d));
  if (k) used.add(k);
  return k;
}

interface Counts { pairs: number; bothLoaded: number; bothFailed: number; relocations: number; relocationsAgree: number; insns: number; insnsAgree: number; explained: number }
const counts: Record<'matrix' | 'inputs', Counts> = {
  matrix: { pairs: 0, bothLoaded: 0, bothFailed: 0, relocations: 0, relocationsAgree: 0, insns: 0, insnsAgree: 0, explained: 0 },
  inputs: { pairs: 0, bothLoaded: 0, bothFailed: 0, relocations: 0, relocationsAgree: 0, insns: 0, insnsAgree: 0, explained: 0 },
};
const explainedDiffs: { diff: Diff; known: Known }[] = [];

const at = (b: Buffer, i: number) => b.subarray(i * 8, i * 8 + 8).toString('hex');

/** every difference between the two outcomes; unexplained ones are returned */
function compare(section: 'matrix' | 'inputs', object: string, t: Target, cb: Outcome, st: Outcome, tally = true): Diff[] {
  const c = tally ? counts[section] : { ...counts[section] };
  const diffs: Diff[] = [];
  const add = (d: Omit<Diff, 'section' | 'object' | 'target'>) => diffs.push({ section, object, target: t, ...d });
  c.pairs++;
  if (cb.ok !== st.ok || cb.errno !== st.errno) {
    add({ program: '*', what: 'outcome', corebpf: cb.ok ? 'loaded' : `failed ${cb.errno}`, stock: st.ok ? 'loaded' : `failed ${st.errno}` });
  } else if (!cb.ok) {
    c.bothFailed++;
  } else {
    c.bothLoaded++;
    const names = (o: Outcome) => o.programs.map((p) => p.name).join(',');
    if (names(cb) !== names(st)) add({ program: '*', what: 'programs', corebpf: names(cb), stock: names(st) });
    for (const p of cb.programs) {
      const s = st.programs.find((x) => x.name === p.name);
      if (!s) continue;
      const a = Buffer.from(p.insns, 'base64'), b = Buffer.from(s.insns, 'base64');
      // the instructions CO-RE relocations landed on (main programs: the program's own
      // instructions come first in the final program, subprograms are appended)
      const reloInsns = new Set<number>();
      for (const r of cb.relocations) {
        if (r.program !== p.name || r.insn === null) continue;
        reloInsns.add(r.insn);
        c.relocations++;
        if (at(a, r.insn) === at(b, r.insn)) c.relocationsAgree++;
        else add({ program: p.name, what: 'relocation', insn: r.insn, corebpf: at(a, r.insn), stock: at(b, r.insn) });
      }
      // every other instruction
      const n = Math.max(a.length, b.length) / 8;
      for (let i = 0; i < n; i++) {
        if (reloInsns.has(i)) continue;
        c.insns++;
        if (at(a, i) === at(b, i)) c.insnsAgree++;
        else add({ program: p.name, what: 'insn', insn: i, corebpf: at(a, i), stock: at(b, i) });
      }
      for (const k of ['type', 'expectedAttachType', 'attachBtfId'] as const) {
        if (p[k] !== s[k]) add({ program: p.name, what: 'attach', corebpf: `${k}=${p[k]}`, stock: `${k}=${s[k]}` });
      }
      if (p.kernVersion !== s.kernVersion) add({ program: p.name, what: 'kernVersion', corebpf: String(p.kernVersion), stock: String(s.kernVersion) });
      for (const k of ['funcInfo', 'lineInfo'] as const) {
        if (p[k] !== s[k]) add({ program: p.name, what: 'info', corebpf: `${k} ${p[k]}`, stock: `${k} ${s[k]}` });
      }
    }
    // the object's BTF as loaded (sanitized for the feature profile)
    if (cb.btf !== st.btf) add({ program: '*', what: 'btf', corebpf: `${cb.btf?.length} base64 chars`, stock: `${st.btf?.length} base64 chars` });
    // maps: definitions and initial contents; .kconfig's contents on their own (the values
    // libbpf computed for the target: kernel version, features, config)
    const mapNames = (o: Outcome) => o.maps.map((m) => m.name).join(',');
    if (mapNames(cb) !== mapNames(st)) add({ program: '*', what: 'map', corebpf: mapNames(cb), stock: mapNames(st) });
    for (const m of cb.maps) {
      const s = st.maps.find((x) => x.name === m.name);
      if (!s) continue;
      const { initial: ia, ...da } = m, { initial: ib, ...db } = s;
      const def = (d: typeof da) => JSON.stringify([d.type, d.keySize, d.valueSize, d.maxEntries, d.flags, d.freeze]);
      if (def(da) !== def(db)) add({ program: m.name, what: 'map', corebpf: def(da), stock: def(db) });
      if (m.name.endsWith('.kconfig')) {
        const a = ia[0]?.value ?? '', b = ib[0]?.value ?? '';
        if (a !== b || ia.length !== ib.length) add({ program: m.name, what: 'kconfig', corebpf: a, stock: b });
        continue;
      }
      const init = (x: MapInit[]) => JSON.stringify(x.map((u) => [u.key, u.value ?? null, u.program ?? null, u.map ?? null]));
      if (init(ia) !== init(ib)) add({ program: m.name, what: 'map', corebpf: init(ia), stock: init(ib) });
    }
  }
  const unexplained: Diff[] = [];
  for (const d of diffs) {
    const k = tally ? explain(d) : undefined;
    if (k) {
      c.explained++;
      explainedDiffs.push({ diff: d, known: k });
    } else {
      unexplained.push(d);
    }
  }
  return unexplained;
}

const show = (ds: Diff[]) => ds.map((d) => `${d.section} ${d.object}/${d.program} vs ${d.target.name}: ${d.what}${d.insn !== undefined ? ` insn ${d.insn}` : ''}: corebpf ${d.corebpf} | stock ${d.stock}`).join('\n');

/** runs f over items, at most `limit` at a time */
async function pool<T, R>(items: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  }));
  return out;
}

const objects = corpus();
const all = targets();
const haveStock = existsSync(STOCK);

beforeAll(() => {
  if (!haveStock) throw new Error(`${STOCK} is missing: run make stock-oracle (needs Debian's libbpf-dev)`);
  for (const f of fixtures().filter((x) => !x.base && x.endianness === 'little')) writeFileSync(`${dir}/${f.file.replace(/\.xz$/, '')}`, fixtureBytes(f.file));
  writeFileSync(`${dir}/kconfig`, KCONFIG);
  writeFileSync(`${dir}/kallsyms`, KALLSYMS);
  relocator = new Relocator({ size: 2 });
});
afterAll(async () => {
  await relocator?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the stock-libbpf oracle', () => {
  it('is Debian\'s libbpf 1.1 and loads into the virtual kernel', async () => {
    const t = all.find((x) => x.name === 'amd64-6.1.176')!;
    const s = JSON.parse(await run(STOCK, [`${PROGS}/execsnoop.bpf.o`, t.path])) as StockOut;
    expect(s.libbpf).toBe('v1.1');
    expect(s.loaded).toBe(true);
    expect(s.programs.map((p) => p.name)).toEqual(['tracepoint__syscalls__sys_enter_execve', 'tracepoint__syscalls__sys_exit_execve']);
    // created in the virtual kernel: fake fds resolved to records
    expect(s.calls.some((c) => c.cmd === 'BPF_PROG_LOAD' && c.errno === null && c.count >= 2)).toBe(true);
    // its CO-RE relocation used the target: task_struct.real_parent at 6.1.176's offset
    const cb = await native('execsnoop', t);
    const rp = cb.relocations.find((r) => r.access === 'task_struct.real_parent')!;
    const b = Buffer.from(s.programs[0]!.insns, 'base64');
    expect(b.readInt32LE(rp.insn! * 8 + 4)).toBe(Number(rp.target));
    expect(rp.target).not.toBe(rp.local);
  });

  it('a different target changes its output (the comparison can see differences)', async () => {
    const a = all.find((x) => x.name === 'amd64-5.10.223')!, b = all.find((x) => x.name === 'amd64-7.2.13')!;
    const sa = await stock('execsnoop', a, false), sb = await stock('execsnoop', b, false);
    expect(sa.programs[0]!.insns).not.toBe(sb.programs[0]!.insns);
    const cb = await native('execsnoop', b);
    expect(compare('matrix', 'execsnoop', a, cb, sa, false).some((d) => d.what === 'relocation')).toBe(true);
    // and each other compared part, changed on one side, is a difference
    const same = await native('execsnoop', a);
    expect(compare('matrix', 'execsnoop', a, same, sa, false)).toEqual([]);
    const tamper = (f: (o: Outcome) => void) => { const o = structuredClone(sa); f(o); return compare('matrix', 'execsnoop', a, same, o, false).map((d) => d.what); };
    expect(tamper((o) => { o.btf = `${o.btf}AAAA`; })).toEqual(['btf']);
    expect(tamper((o) => { o.maps[0]!.maxEntries++; })).toEqual(['map']);
    expect(tamper((o) => { o.maps.find((m) => m.name.endsWith('.rodata'))!.initial[0]!.value = 'AAAA'; })).toEqual(['map']);
    expect(tamper((o) => { o.programs[1]!.lineInfo = null; })).toEqual(['info']);
    expect(tamper((o) => { o.programs[1]!.attachBtfId = 7; })).toEqual(['attach']);
    expect(tamper((o) => { o.programs[0]!.kernVersion = 7; })).toEqual(['kernVersion']);
    expect(tamper((o) => { o.ok = false; o.errno = 'EINVAL'; })).toEqual(['outcome']);
  });
});

describe('CO-RE relocations: every corpus object x every little-endian target', () => {
  it('has the corpus and the targets', () => {
    expect(objects.length).toBeGreaterThanOrEqual(20);
    expect(all.length).toBeGreaterThanOrEqual(15);
  });
  for (const t of all) {
    it(`${t.name}: corebpf agrees with stock libbpf, or the difference is known`, async () => {
      const res = await pool(objects, 2, async (o) => ({ o, cb: await native(o, t), st: await stock(o, t, false) }));
      const bad: Diff[] = [];
      for (const { o, cb, st } of res) bad.push(...compare('matrix', o, t, cb, st));
      expect(bad, show(bad)).toEqual([]);
    });
  }
});

describe('with kernel inputs (kconfig, kallsyms, uname): extern resolution too', () => {
  for (const t of all) {
    it(`${t.name}: corebpf agrees with stock libbpf, or the difference is known`, async () => {
      const res = await pool(objects, 2, async (o) => ({ o, cb: await api(o, t), st: await stock(o, t, true) }));
      const bad: Diff[] = [];
      for (const { o, cb, st } of res) bad.push(...compare('inputs', o, t, cb, st));
      expect(bad, show(bad)).toEqual([]);
    });
  }
});

describe('summary', () => {
  it('stock libbpf concluded the features the profile gives corebpf', () => {
    const seen = new Map<string, Set<string>>();
    // the oracle's "others" counts every failed creation, the object's own too: open_phase's
    // unsized map fails creation by design (it must be sized at open), so its runs say nothing
    // about the probes
    const probes = stockSeen.filter((s) => s.object !== 'open_phase');
    expect(probes.length).toBeGreaterThan(0);
    expect(stockSeen.filter((s) => s.object === 'open_phase').every((s) => s.calls.some((c) => c.cmd === 'BPF_MAP_CREATE' && c.errno === 'EINVAL'))).toBe(true);
    for (const s of probes) for (const [k, v] of Object.entries(s.features)) (seen.get(k) ?? seen.set(k, new Set()).get(k)!).add(v);
    expect([...seen.get('others')!]).toEqual(['supported']);
    for (const f of ['FEAT_MODULE_BTF', 'FEAT_SYSCALL_WRAPPER', 'FEAT_PERF_LINK']) {
      for (const v of seen.get(f)!) expect(['missing', 'not probed']).toContain(v);
      expect(MISSING).toContain(f);
    }
    // the probes that matter here did run (ksyms: module BTF; kconfig: syscall wrapper)
    expect(seen.get('FEAT_MODULE_BTF')!.has('missing')).toBe(true);
    expect(seen.get('FEAT_SYSCALL_WRAPPER')!.has('missing')).toBe(true);
  });

  it('the feature profile matters: with corebpf\'s default (all supported) .kconfig differs', async () => {
    const t = all.find((x) => x.name === 'amd64-6.12.107')!;
    const st = await stock('kconfig', t, true);
    const withDefault = async (features: Record<string, boolean> | undefined) => (await relocator.relocate(`${PROGS}/kconfig.bpf.o`, {
      btf: t.path, objectName: 'kconfig', kconfig: KCONFIG, kallsyms: KALLSYMS, kernelRelease: t.release, kernelVersion: t.version, features,
    })).plan.maps.find((m) => m.name === 'kconfig.kconfig')!.initial[0]!.value;
    const stockValue = st.maps.find((m) => m.name === 'kconfig.kconfig')!.initial[0]!.value;
    expect(await withDefault(PROFILE_API)).toBe(stockValue);
    // LINUX_HAS_SYSCALL_WRAPPER: 1 with the default profile, 0 in stock 1.1 here
    expect(await withDefault(undefined)).not.toBe(stockValue);
  });

  it('every known difference still occurs, and the numbers', () => {
    const stale = KNOWN.filter((k) => !used.has(k));
    expect(stale.map((k) => `${k.object}/${k.program} ${k.what}: ${k.reason}`)).toEqual([]);
    const m = counts.matrix, n = counts.inputs;
    expect(m.pairs).toBe(objects.length * all.length);
    expect(m.relocations).toBeGreaterThanOrEqual(5000);
    expect(m.relocationsAgree + explainedDiffs.filter((e) => e.diff.section === 'matrix' && e.diff.what === 'relocation').length).toBe(m.relocations);
    const byReason = new Map<string, number>();
    for (const e of explainedDiffs) byReason.set(`${e.diff.section} ${e.known.object}/${e.known.program} ${e.known.what}`, (byReason.get(`${e.diff.section} ${e.known.object}/${e.known.program} ${e.known.what}`) ?? 0) + 1);
    console.log([
      `stock libbpf 1.1.2 vs corebpf (libbpf 1.5.0), ${objects.length} objects x ${all.length} targets`,
      ...(['matrix', 'inputs'] as const).map((s) => {
        const c = counts[s];
        return `  ${s}: ${c.pairs} pairs (${c.bothLoaded} loaded by both, ${c.bothFailed} failed in both with the same errno); `
          + `CO-RE relocation instructions ${c.relocationsAgree}/${c.relocations} agree; other instructions ${c.insnsAgree}/${c.insns} agree; `
          + `${c.explained} known differences`;
      }),
      ...[...byReason].map(([k, v]) => `  known: ${k}: ${v}`),
    ].join('\n'));
    expect(n.pairs).toBe(objects.length * all.length);
  });
});
