// `corebpf check --verify`: the corpus against the amd64 fixtures whose kernels the lab
// boots, each fixture's own Debian kernel in qemu (scripts/lab/kernels.list, fixture rows),
// run as two shards through the CLI and merged, as a CI job matrix would. Every cell's
// offline verdict must equal the verifier's, except the deliberately unverifiable programs
// of verifier_reject.bpf.c (offline ok, verifier-rejected, with the failing line shown) and
// the finding listed below, a thing the offline check cannot see.
//
// It boots VMs: it needs root, qemu-system-x86_64 and the fetched lab kernels (make
// lab-fetch), and never runs inside a lab guest (no qemu there). Wall time here (TCG, two
// VMs at a time): 5.10 and 7.2 (the default) ~45 s; all four (COREBPF_VERIFY_ALL=1) ~90 s.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { NotSupportedError, checkProgramError, offlineVerdict, parseCheckReport, renderCheckHtml, renderCheckJunit, runCheckVerify, type CheckReport } from '../dist/index.js';
import { BTF_DIR, CLI, PROGS, ROOT } from './helpers.js';
import { skipWith } from './kernel.js';

/** the oldest and the newest kernel (CI time: ~45 s); COREBPF_VERIFY_ALL=1 all four (~90 s) */
const ALL = ['amd64-5.10.223', 'amd64-6.1.176', 'amd64-6.12.107', 'amd64-7.2.13'];
const FIXTURES = process.env.COREBPF_VERIFY_ALL === '1' ? ALL : ['amd64-5.10.223', 'amd64-7.2.13'];
/** the deliberately unverifiable programs: relocate fine, and the verifier says why not */
const UNVERIFIABLE: Record<string, RegExp> = {
  reject___err_oob_read: /outside of the allowed memory range|invalid access to map value/,
  reject___err_null_deref: /invalid mem access 'map_value_or_null'/,
  reject___err_unbounded_loop: /infinite loop detected|back-edge/,
};
/**
 * Findings of check --verify: cells where offline says "ok" and the kernel does not load the
 * program. None is a wrong guard verdict of src/analysis (no poisoned instruction is in
 * them). Keyed "object program kernel".
 */
const ALL_FINDINGS: Record<string, RegExp> = {
  // 7.2's verifier poisons the stack slots its liveness analysis (kernel/bpf/liveness.c) calls
  // dead when it cleans a state at a checkpoint (STACK_POISON), and that analysis takes
  // bpf_map_peek_elem's value argument as written by the helper (ARG_PTR_TO_MAP_VALUE |
  // MEM_UNINIT | MEM_WRITE, true of queue and stack maps); on a bloom filter the helper reads
  // it, so the read of the poisoned slot is refused (maps.bpf.c:206, bloom_val set at the top
  // of the program). Not our object's fault (bloom_val is initialized; peek is the bloom
  // filter's lookup), and not predictable offline: whether the slot is poisoned before the
  // call depends on where the verifier places its checkpoints (pruning heuristics over the
  // paths it has walked), not on the instructions alone. Probed on 7.2: the same call with
  // the value stored right before it loads; with a few calls and branches between the store
  // and the call it is refused. The upstream commit that brought STACK_POISON was not found
  // in the sources at hand (it is not in 6.12, whose verifier accepts this program).
  'maps.bpf.o use_maps amd64-7.2.13': /slot poisoned by dead code elimination/,
};

/**
 * Cells offline judges from what the kernel's BTF says it offers (its UAPI enums) and the
 * argument types of its functions: the plan relocates, but needs a helper or map type the
 * kernel lacks, or reads a context slot the kernel's btf_ctx_access refuses. The verifier
 * refuses them too.
 */
const ALL_KERNEL_LACKS: Record<string, RegExp> = {
  // fentry on vfs_unlink written for 6.3+ (idmap first): slot 2 is the dentry there, and
  // `struct inode **` on 5.10 (src/analysis/ctx-access.ts)
  'heldout_filemtime.bpf.o read_mtime amd64-5.10.223': /^the kernel's verifier refuses func 'vfs_unlink' arg2 type PTR is not a struct \(the context load at insn \d+\)$/,
  'heldout_runqslower.bpf.o vfs_unlink amd64-5.10.223': /^the kernel's verifier refuses func 'vfs_unlink' arg2 type PTR is not a struct \(the context load at insn \d+\)$/,
  // bpf_loop / bpf_for_each_map_elem callbacks are 5.17+ / 5.13+
  'subprogs.bpf.o prog_a amd64-5.10.223': /helper bpf_(loop|for_each_map_elem) \(#(181|164)\)/,
  'subprogs.bpf.o prog_b amd64-5.10.223': /helper bpf_(loop|for_each_map_elem) \(#(181|164)\)/,
  // BPF_MAP_TYPE_BLOOM_FILTER is 5.16+
  'maps.bpf.o use_maps amd64-5.10.223': /map type BPF_MAP_TYPE_BLOOM_FILTER \(30\) of map 'bloom'/,
};
/**
 * testdata/verify/ctx_access.bpf.c: one context slot per program, each kernel's
 * btf_ctx_access verdict on it (what these kernels' verifiers said; offline must say the same
 * from their BTF and release, src/analysis/ctx-access.ts). A message: refused with it.
 */
const CTX_ACCESS: Record<string, Record<string, 'accepted' | string>> = {
  // int pointers: 5.17+
  int_ptr: { 'amd64-5.10.223': "func 'bpf_modify_return_test' arg1 type INT is not a struct", 'amd64-6.1.176': 'accepted', 'amd64-6.12.107': 'accepted', 'amd64-7.2.13': 'accepted' },
  int_ptr_after_call: { 'amd64-5.10.223': "func 'bpf_modify_return_test' arg1 type INT is not a struct", 'amd64-6.1.176': 'accepted', 'amd64-6.12.107': 'accepted', 'amd64-7.2.13': 'accepted' },
  // const void pointers: 6.16+
  const_void_ptr: { 'amd64-5.10.223': "func 'kfree' arg0 type UNKNOWN is not a struct", 'amd64-6.1.176': "func 'kfree' arg0 type UNKNOWN is not a struct", 'amd64-6.12.107': "func 'kfree' arg0 type UNKNOWN is not a struct", 'amd64-7.2.13': 'accepted' },
  char_ptr: { 'amd64-5.10.223': 'accepted', 'amd64-6.1.176': 'accepted', 'amd64-6.12.107': 'accepted', 'amd64-7.2.13': 'accepted' },
  // vfs_unlink: (dir, dentry, inode **) on 5.10, (userns/idmap, dir, dentry, inode **) on 6.x,
  // (idmap, dir, dentry, struct delegated_inode *) on 7.2
  unlink_slot3: { 'amd64-5.10.223': "func 'vfs_unlink' doesn't have 4-th argument", 'amd64-6.1.176': "func 'vfs_unlink' arg3 type PTR is not a struct", 'amd64-6.12.107': "func 'vfs_unlink' arg3 type PTR is not a struct", 'amd64-7.2.13': 'accepted' },
  unlink_exit_slot3: { 'amd64-5.10.223': 'accepted', 'amd64-6.1.176': "func 'vfs_unlink' arg3 type PTR is not a struct", 'amd64-6.12.107': "func 'vfs_unlink' arg3 type PTR is not a struct", 'amd64-7.2.13': 'accepted' },
  unlink_exit_slot4: { 'amd64-5.10.223': "func 'vfs_unlink' doesn't have 5-th argument", 'amd64-6.1.176': 'accepted', 'amd64-6.12.107': 'accepted', 'amd64-7.2.13': 'accepted' },
};

const KERNEL_LACKS = Object.fromEntries(Object.entries(ALL_KERNEL_LACKS).filter(([k]) => FIXTURES.includes(k.split(' ')[2]!)));

const FINDINGS = Object.fromEntries(Object.entries(ALL_FINDINGS).filter(([k]) => FIXTURES.includes(k.split(' ')[2]!)));

function cannotBoot(): string | null {
  if (process.env.LAB_KERNEL) return 'inside a lab guest: check --verify boots VMs from the host, and the guests have no qemu';
  if (process.getuid?.() !== 0) return 'needs root (the lab boots kernels as root)';
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return 'needs qemu-system-x86_64 (scripts/install-deps.sh installs it)';
  const deps = process.env.DEPS ?? join(ROOT, '.deps');
  const absent = FIXTURES.filter((k) => !existsSync(join(deps, 'lab/kernels', k, 'vmlinuz')));
  if (absent.length) return `needs the fixtures' kernels fetched (make lab-fetch): ${absent.join(', ')} missing`;
  return null;
}

const why = cannotBoot();
const dir = mkdtempSync(join(tmpdir(), 'corebpf-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const objects = [
  ...readdirSync(PROGS).filter((f) => f.endsWith('.bpf.o') && !f.includes('.arm64.')).sort().map((f) => join(PROGS, f)),
  join(ROOT, 'testdata/verify/ctx_access.bpf.o'),
];
let merged: CheckReport;
const shards: { status: number | null; stdout: string; stderr: string; seconds: number }[] = [];
let mergeRun: { status: number | null; stdout: string };

/** run the CLI without blocking the test worker (vitest's RPC times out on a blocked loop) */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  if (why) return;
  for (const k of FIXTURES) for (const ext of ['btf.xz', 'config.xz', 'kallsyms.xz']) copyFileSync(join(BTF_DIR, `${k}.${ext}`), join(dir, `${k}.${ext}`));
  copyFileSync(join(BTF_DIR, 'manifest.json'), join(dir, 'manifest.json'));
  const shard = async (s: string) => {
    const t = Date.now();
    const r = await cli(['check', ...objects, '--btf-dir', dir, '--verify', '--shard', s, '--json', join(dir, `shard${s[0]}.json`), '-q'], { ...process.env, LAB_ACCEL: 'tcg' });
    console.log(`check --verify --shard ${s}: exit ${r.status}, ${((Date.now() - t) / 1000).toFixed(1)} s\n${r.stdout.split('\n').filter((l) => l.startsWith('verify: ')).join('\n')}${r.status === 1 ? '' : `\n${r.stderr}`}`);
    return { ...r, seconds: (Date.now() - t) / 1000 };
  };
  // a shard per kernel: the two at once, one VM each; four kernels: a shard after the other,
  // each with two VMs at once
  if (FIXTURES.length === 2) shards.push(...await Promise.all(['1/2', '2/2'].map(shard)));
  else for (const s of ['1/2', '2/2']) shards.push(await shard(s));
  const m = await cli(['merge', join(dir, 'shard1.json'), join(dir, 'shard2.json'), '--json', join(dir, 'merged.json')]);
  mergeRun = { status: m.status, stdout: m.stdout };
  merged = parseCheckReport(readFileSync(join(dir, 'merged.json'), 'utf8'));
}, 900_000);

const cells = () => merged.results.flatMap((r) => r.programs.map((p) => ({ r, p, key: `${r.object} ${p.program} ${r.kernel}` })));

describe('check --verify on the corpus, each amd64 fixture in its own kernel', () => {
  it('boots one VM per kernel, the fixture\'s own kernel, and loads every plan in it', (ctx: TestContext) => {
    if (why) skipWith(ctx, why);
    for (const s of shards) expect(s.stderr).not.toMatch(/error/i);
    const lines = shards.flatMap((s) => s.stdout.split('\n').filter((l) => l.startsWith('verify: ')));
    expect(lines).toHaveLength(FIXTURES.length);
    for (const k of FIXTURES) {
      const release = merged.kernels.find((x) => x.id === k)!.kernelRelease!;
      // the booted kernel is the package the fixture's BTF came from (not the lab's -cloud flavor)
      expect(lines.find((l) => l.startsWith(`verify: ${k} (${k}): `))).toMatch(new RegExp(`: \\d+ programs through the verifier of ${release.replace(/[.+]/g, '\\$&')}; `));
      expect(merged.results.filter((r) => r.kernel === k).every((r) => r.verifier && r.verifier.runner === `qemu tcg ${k}` && r.verifier.kernelRelease === release && !/differs/.test(r.verifier.note ?? ''))).toBe(true);
    }
  });

  it('every cell has the verifier\'s column; the verdicts equal the offline ones but for the unverifiable programs and the listed findings', (ctx: TestContext) => {
    if (why) skipWith(ctx, why);
    const all = cells();
    expect(all.every(({ p }) => p.verifier !== undefined)).toBe(true);
    const judged = all.filter(({ p }) => p.verifier!.status !== 'not-verified');
    // most cells were loaded: a guest that loaded nothing would leave them not-verified
    expect(judged.length).toBeGreaterThan(80 * FIXTURES.length);
    expect(judged.filter(({ p }) => p.verifier!.status === 'accepted').length).toBeGreaterThan(55 * FIXTURES.length);
    // not verified: subprograms (verified in their callers) and objects offline could not relocate
    for (const { p, r } of all.filter(({ p }) => p.verifier!.status === 'not-verified')) {
      expect(p.verifier!.note).toMatch(r.outcome === 'relocated' || r.outcome === 'stopped' ? /^not verified: (not a program of the load plan|no load plan)/ : /^not verified: no load plan \(offline: (error|stopped|not-applicable)\)/);
    }
    const disagree = all.filter(({ p }) => !p.verifier!.agrees).map(({ key }) => key).sort();
    const expected = [
      ...FIXTURES.flatMap((k) => Object.keys(UNVERIFIABLE).map((p) => `verifier_reject.bpf.o ${p} ${k}`)),
      ...Object.keys(FINDINGS),
    ].sort();
    expect(disagree).toEqual(expected);
    for (const [key, re] of Object.entries(FINDINGS)) {
      const { p } = all.find((c) => c.key === key)!;
      expect(offlineVerdict(p)).toMatch(/^ok/);
      expect(`${p.verifier!.message ?? ''} ${p.verifier!.note ?? ''}`).toMatch(re);
    }
    // what the kernel lacks, read from its BTF: failed offline, and the kernel refuses it
    for (const [key, re] of Object.entries(KERNEL_LACKS)) {
      const { p, r } = all.find((c) => c.key === key)!;
      expect([key, offlineVerdict(p)]).toEqual([key, 'failed']);
      expect(checkProgramError(r, p.program)?.message).toMatch(re);
      // refused by the verifier (a helper), or before it (BPF_MAP_CREATE of a map type)
      expect(p.verifier).toMatchObject({ status: expect.stringMatching(/^(rejected|not-loaded)$/), agrees: true });
      // the context access: refused at that very load
      const ctx = r.unmet?.find((u) => u.program === p.program && u.need === 'ctx-access');
      if (ctx) expect(p.verifier).toMatchObject({ status: 'rejected', insn: ctx.insn, message: `invalid bpf_context access off=${ctx.id * 8} size=8` });
    }
    // offline failures the verifier was asked about: each one rejected (or not loadable)
    const failedOffline = judged.filter(({ p }) => offlineVerdict(p) === 'failed');
    expect(failedOffline.length).toBeGreaterThan(0);
    expect(failedOffline.every(({ p }) => p.verifier!.status !== 'accepted')).toBe(true);
    // guarded fallbacks: the poisoned instructions really are dead, the verifier accepts
    const guarded = judged.filter(({ p, key }) => offlineVerdict(p) === 'ok-guarded' && !FINDINGS[key]);
    expect(guarded.length).toBeGreaterThan(8 * FIXTURES.length);
    expect(guarded.every(({ p }) => p.verifier!.status === 'accepted')).toBe(true);
  });

  it('BTF-typed context access (testdata/verify/ctx_access.bpf.c): offline predicts each kernel\'s verdict on each slot', (ctx: TestContext) => {
    if (why) skipWith(ctx, why);
    for (const k of FIXTURES) {
      const r = merged.results.find((x) => x.object === 'ctx_access.bpf.o' && x.kernel === k)!;
      expect(r.programs.map((p) => p.program).sort()).toEqual(Object.keys(CTX_ACCESS).sort());
      for (const p of r.programs) {
        const want = CTX_ACCESS[p.program]![k]!;
        if (want === 'accepted') {
          expect([p.program, k, offlineVerdict(p), p.verifier?.status]).toEqual([p.program, k, 'ok', 'accepted']);
          continue;
        }
        const need = r.unmet!.find((u) => u.program === p.program && u.need === 'ctx-access')!;
        expect([p.program, k, offlineVerdict(p), need.name]).toEqual([p.program, k, 'failed', want]);
        expect(checkProgramError(r, p.program)?.message).toBe(`the kernel's verifier refuses ${want} (the context load at insn ${need.insn})`);
        // the kernel refuses that very load: its log's last line names the slot
        expect(p.verifier).toMatchObject({ status: 'rejected', agrees: true, errno: 'EACCES', insn: need.insn, message: `invalid bpf_context access off=${need.id * 8} size=8` });
      }
    }
  });

  it('the unverifiable programs: offline ok, rejected by every kernel with the failing line and its source line', (ctx: TestContext) => {
    if (why) skipWith(ctx, why);
    for (const k of FIXTURES) {
      for (const [prog, re] of Object.entries(UNVERIFIABLE)) {
        const { p } = cells().find((c) => c.key === `verifier_reject.bpf.o ${prog} ${k}`)!;
        expect(offlineVerdict(p)).toBe('ok');
        expect(p.verifier).toMatchObject({ status: 'rejected', agrees: false });
        expect(p.verifier!.insn).toEqual(expect.any(Number));
        expect(p.verifier!.errno).toMatch(/^E(ACCES|INVAL)$/);
        expect(p.verifier!.message).toMatch(re);
        expect(p.verifier!.source).toMatch(/verifier_reject\.bpf\.c:\d+: \S/);
      }
    }
  });

  it('says so in every output and in the exit status of check and merge', (ctx: TestContext) => {
    if (why) skipWith(ctx, why);
    expect(shards.map((s) => s.status)).toEqual([1, 1]);
    expect(mergeRun.status).toBe(1);
    const shardText = shards.map((s) => s.stdout).join('\n');
    expect(shardText).toMatch(/^VERIFIER DISAGREES \(\d+ program × kernels\):$/m);
    expect(shardText).toMatch(/^ {2}verifier_reject\.bpf\.o reject___err_unbounded_loop on amd64-5\.10\.223: offline unexpected-pass, verifier rejects \(EINVAL\) at insn \d+: infinite loop detected at insn \d+ \(\.\/testdata\/progs\/verifier_reject\.bpf\.c:\d+: while .*\) — DISAGREES with the offline verdict$/m);
    expect(merged.summary.verifierDisagree).toBe(FIXTURES.length * 3 + Object.keys(FINDINGS).length);
    expect(mergeRun.stdout).toMatch(/^VERIFIER DISAGREES \(\d+ program × kernels\):$/m);
    const junit = renderCheckJunit(merged);
    expect(junit).toMatch(/name="verifier_reject\.bpf\.o:reject___err_oob_read"[\s\S]*?verifier: verifier rejects \(EACCES\) at insn \d+: [^<]*verifier_reject\.bpf\.c:\d+[^<]*— DISAGREES with the offline verdict/);
    expect(renderCheckHtml(merged)).toContain('"status":"rejected","agrees":false');
  });
});

describe('check --verify: which kernel, and what it needs', () => {
  it('maps each fixture to the kernel its BTF came from (kernels.list fixture rows, generated and current); none for a version the lab does not boot', async () => {
    const lab = await import(pathToFileURL(join(ROOT, 'scripts/lab/kernels.mjs')).href) as {
      readKernelList(top: string): { name: string; arch: string; flags: string; packages: { name: string; version: string; sha256: string }[] }[];
      labKernelFor(rows: unknown[], k: { id: string; arch: string | null; package?: string; version?: string }): { row?: { name: string; flags: string }; exact?: boolean; why?: string };
    };
    const check = spawnSync(process.execPath, [join(ROOT, 'scripts/lab/fixture-kernels.mjs'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const rows = lab.readKernelList(ROOT);
    const manifest = JSON.parse(readFileSync(join(BTF_DIR, 'manifest.json'), 'utf8')) as { file: string; arch: string; package: string; version: string; debSha256: string; base: string | null }[];
    for (const id of ALL) {
      const e = manifest.find((m) => m.file === `${id}.btf.xz`)!;
      const m = lab.labKernelFor(rows, { id, arch: e.arch, package: e.package, version: e.version });
      expect(m).toMatchObject({ row: { name: id, flags: 'fixture' }, exact: true });
      // the very .deb the fixture was extracted from
      expect(rows.find((r) => r.name === id)!.packages[0]).toEqual({ name: e.package, version: e.version, sha256: e.debSha256 });
    }
    // without the manifest's package: the lab's own flavor of that version
    expect(lab.labKernelFor(rows, { id: 'amd64-6.1.176', arch: 'amd64' })).toMatchObject({ row: { name: 'amd64-6.1', flags: '-' }, exact: false });
    expect(lab.labKernelFor(rows, { id: 'amd64-6.18.15', arch: 'amd64', package: 'linux-image-6.18.15+deb13-amd64', version: '6.18.15-1~bpo13+1' }).why)
      .toBe('no lab kernel is amd64 6.18.15 (scripts/lab/kernels.list)');
  });

  it('without the fetched kernels, fails with a typed error saying what to run', async () => {
    const d = mkdtempSync(join(tmpdir(), 'corebpf-verify-nolab-'));
    try {
      for (const ext of ['btf.xz', 'config.xz', 'kallsyms.xz']) copyFileSync(join(BTF_DIR, `amd64-5.10.223.${ext}`), join(d, `amd64-5.10.223.${ext}`));
      copyFileSync(join(BTF_DIR, 'manifest.json'), join(d, 'manifest.json'));
      const err = await runCheckVerify({ objects: [join(PROGS, 'verifier_reject.bpf.o')], btfDir: d, deps: join(d, 'no-deps'), jobs: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as Error).message).toBe('check --verify cannot boot the kernels of the fixtures:\n  amd64-5.10.223 (for amd64-5.10.223) is not fetched: run make lab-fetch');
      const r = spawnSync(process.execPath, [CLI, 'check', join(PROGS, 'verifier_reject.bpf.o'), '--btf-dir', d, '--verify', '-q'], { encoding: 'utf8', env: { ...process.env, DEPS: join(d, 'no-deps') } });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/run make lab-fetch/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
