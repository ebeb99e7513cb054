// The running kernel's feature profile, probed in TypeScript (src/host/features), against
// libbpf 1.5 itself deciding on the same kernel (build/native/feature-oracle, built by
// `make native` from the pinned sources without the virtual kernel): same answer for every
// feature. Runs in the lab guests too (the oracle is a static binary).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FEATURE_PROBES, kernelFeatures, probeFeatures, probeMemcgAccount, resetKernelFeatures } from '../src/host/features/index.js';
import * as U from '../src/host/generated/uapi.js';
import { resetMemlock } from '../src/host/memlock.js';
import { bpfCmdName, getSyscalls, setSyscalls, syscallError } from '../src/host/syscall.js';
import { CorebpfWasm } from '../src/worker/wasm.js';
import { KERNEL_FEATURE_RULES, kernelFeaturesFromBtf, parseBtf, releaseVersion } from '../src/btf/index.js';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { bpfUsable } from './kernel.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const oracle = process.env.COREBPF_FEATURE_ORACLE ?? join(root, 'build/native/feature-oracle');
const skipReason = bpfUsable();
if (skipReason) console.warn(`[kernel-features] real-kernel cases SKIPPED: ${skipReason}`);
const noOracle = existsSync(oracle) ? null : `${oracle} is not built (make native)`;
if (!skipReason && noOracle) console.warn(`[kernel-features] oracle comparison SKIPPED: ${noOracle}`);

afterEach(() => {
  setSyscalls(null);
  resetKernelFeatures();
  resetMemlock();
});

describe('feature probes', () => {
  it('cover exactly the features of the pinned libbpf, by the relocator\'s names', async () => {
    const wasm = await CorebpfWasm.load(join(root, 'dist/wasm'));
    const libbpf = wasm.features();
    const names = libbpf.map((f) => f.name.replace(/^FEAT_/, '').toLowerCase());
    expect(Object.keys(FEATURE_PROBES).sort()).toEqual([...names].sort());
    // and with libbpf's own descriptions
    for (const f of libbpf) expect(FEATURE_PROBES[f.name.replace(/^FEAT_/, '').toLowerCase()]!.desc).toBe(f.desc);
  });

  it.skipIf(skipReason !== null || noOracle !== null)('give the same answer as libbpf on this kernel, for every feature', () => {
    const want = JSON.parse(execFileSync(oracle, { encoding: 'utf8' })) as { features: Record<string, boolean> };
    const got = probeFeatures();
    expect(got.probed).toBe(true);
    expect(Object.keys(want.features).length).toBe(Object.keys(FEATURE_PROBES).length);
    expect(got.features).toEqual(want.features);
    // a kernel this suite runs on has BTF and global data at least: the probes did reach it
    expect(got.features.btf).toBe(true);
    expect(got.features.global_data).toBe(true);
  });

  it('read from BTF (check, offline relocation): a rule for every feature of the pinned libbpf', async () => {
    const wasm = await CorebpfWasm.load(join(root, 'dist/wasm'));
    const names = wasm.features().map((f) => f.name.replace(/^FEAT_/, '').toLowerCase());
    expect(Object.keys(KERNEL_FEATURE_RULES).sort()).toEqual([...names].sort());
  });

  it.skipIf(skipReason !== null || noOracle !== null)('read from this kernel\'s BTF and release: the answers libbpf\'s probes give here', (ctx) => {
    if (!existsSync('/sys/kernel/btf/vmlinux')) ctx.skip('this kernel has no /sys/kernel/btf/vmlinux');
    const want = JSON.parse(execFileSync(oracle, { encoding: 'utf8' })) as { features: Record<string, boolean> };
    const got = kernelFeaturesFromBtf(parseBtf(readFileSync('/sys/kernel/btf/vmlinux')), release());
    expect(got.features).toEqual(want.features);
    // the BTF itself decided the features that changed in the lab's range of kernels; BTF
    // kinds too from 6.x on (5.10's BTF has no enum of them: its release decides)
    const kinds = ['btf_float', 'btf_decl_tag', 'btf_enum64'];
    for (const f of ['bpf_cookie', 'module_btf', 'memcg_account', 'uprobe_multi_link', 'perf_link', ...kinds]) {
      expect([f, got.basis[f]]).toEqual([f, kinds.includes(f) && releaseVersion(release())![0] < 6 ? 'version' : 'btf']);
    }
  });

  it.skipIf(skipReason !== null || noOracle !== null)('ask the kernel exactly what libbpf\'s probes ask: same commands, BTF blobs, instructions, attributes', () => {
    // libbpf's calls, caught in the oracle (-Wl,--wrap=syscall), one JSON line each
    const lines = execFileSync(oracle, ['--dump'], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const want = new Map<string, unknown[]>();
    let cur: unknown[] = [];
    for (const l of lines) {
      if (typeof l.feature === 'string') want.set(l.feature, (cur = []));
      else if (!('features' in l)) cur.push(l);
    }
    // ours, through a recording syscall layer over the real one
    const real = getSyscalls();
    const mem = new Map<bigint, Uint8Array>();
    let rec: unknown[] = [];
    setSyscalls({
      ...real,
      addressOf(buf) {
        const a = real.addressOf(buf);
        mem.set(BigInt(a), buf as Uint8Array);
        return a;
      },
      bpf(cmd, attr) {
        rec.push(describeBpf(cmd, attr as Uint8Array, mem));
        return real.bpf(cmd, attr);
      },
      perfEventOpen(attr, pid, cpu, group, flags) {
        rec.push(describePerf(attr as Uint8Array, cpu, mem));
        return real.perfEventOpen(attr, pid, cpu, group, flags);
      },
    });
    expect([...want.keys()].sort()).toEqual(Object.keys(FEATURE_PROBES).sort());
    probeMemcgAccount(); // as the oracle: first, so later probes hold only their own calls
    const got = new Map<string, unknown[]>([['memcg_account', rec]]);
    for (const [name, { probe }] of Object.entries(FEATURE_PROBES)) {
      if (name === 'memcg_account') continue;
      got.set(name, (rec = []));
      probe();
    }
    for (const name of want.keys()) expect({ [name]: got.get(name) }).toEqual({ [name]: want.get(name) });
    expect(want.get('btf_enum64')!.length).toBe(1); // the dump did catch libbpf's calls
  });

  it.skipIf(skipReason !== null)('probe once per process (per syscall layer) and cache', () => {
    const real = getSyscalls();
    let calls = 0;
    setSyscalls({ ...real, bpf: (cmd, attr) => (calls++, real.bpf(cmd, attr)) });
    const a = kernelFeatures();
    const first = calls;
    expect(first).toBeGreaterThan(Object.keys(FEATURE_PROBES).length - 2); // every probe asked the kernel
    const b = kernelFeatures();
    expect(b).toBe(a);
    expect(calls).toBe(first);
  });

  it('without bpf() permission: nothing probed, no features handed on', () => {
    const real = getSyscalls();
    let setrlimit = 0;
    setSyscalls({
      ...real,
      bpf: (cmd) => { throw syscallError(bpfCmdName(cmd), U.ERRNO.EPERM); },
      setrlimit: () => { setrlimit++; throw syscallError('setrlimit', U.ERRNO.EPERM); },
    });
    const p = probeFeatures();
    expect(p.probed).toBe(false);
    expect(p.features).toEqual({});
    expect(setrlimit).toBe(1); // memcg accounting could not be shown: libbpf tries to raise the limit
  });
});

const hexOf = (b: Uint8Array | undefined, n?: number): string => Buffer.from((b ?? new Uint8Array()).subarray(0, n)).toString('hex');
const cstr = (b: Uint8Array | undefined): string => (b ? Buffer.from(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0))).toString() : '');

/** The oracle's record of a bpf() call (test/c/feature_oracle.c dump_bpf), from our attr bytes. */
function describeBpf(cmd: number, attr: Uint8Array, mem: Map<bigint, Uint8Array>): Record<string, unknown> {
  const F = U.layouts.bpf_attr.fields;
  const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
  const u32 = (f: { offset: number }): number => v.getUint32(f.offset, true);
  const i32 = (f: { offset: number }): number => v.getInt32(f.offset, true);
  const ptr = (f: { offset: number }): Uint8Array | undefined => mem.get(v.getBigUint64(f.offset, true));
  const name = (f: { offset: number; size: number }): string => cstr(attr.subarray(f.offset, f.offset + f.size));
  const r: Record<string, unknown> = { cmd };
  switch (cmd) {
    case U.BPF_BTF_LOAD:
      r.btf = hexOf(ptr(F.btf), u32(F.btf_size));
      break;
    case U.BPF_MAP_CREATE:
      Object.assign(r, { type: u32(F.map_type), key: u32(F.key_size), value: u32(F.value_size), max: u32(F.max_entries), flags: u32(F.map_flags), name: name(F.map_name) });
      break;
    case U.BPF_PROG_LOAD: {
      const n = Math.min(u32(F.insn_cnt), 64);
      const insns = Uint8Array.from(ptr(F.insns)!.subarray(0, n * 8));
      for (let i = 0; i < n; i++) {
        const src = insns[i * 8 + 1]! >> 4;
        if (insns[i * 8] === (U.BPF_LD | U.BPF_IMM | U.BPF_DW) && (src === U.BPF_PSEUDO_MAP_FD || src === U.BPF_PSEUDO_MAP_VALUE)) insns.fill(0, i * 8 + 4, i * 8 + 8);
      }
      Object.assign(r, {
        type: u32(F.prog_type), expectedAttachType: u32(F.expected_attach_type), flags: u32(F.prog_flags), btf: u32(F.prog_btf_fd) !== 0,
        insns: hexOf(insns), license: cstr(ptr(F.license)), name: name(F.prog_name),
        funcInfo: hexOf(ptr(F.func_info), u32(F.func_info_cnt) * u32(F.func_info_rec_size)),
      });
      break;
    }
    case U.BPF_LINK_CREATE:
      Object.assign(r, { attachType: u32(F['link_create.attach_type']), targetFd: i32(F['link_create.target_fd']) });
      if (u32(F['link_create.attach_type']) === U.BPF_TRACE_UPROBE_MULTI) {
        Object.assign(r, { cnt: u32(F['link_create.uprobe_multi.cnt']), pid: i32(F['link_create.uprobe_multi.pid']), path: cstr(ptr(F['link_create.uprobe_multi.path'])) });
      }
      break;
    case U.BPF_OBJ_GET_INFO_BY_FD: {
      const info = ptr(F['info.info'])!;
      const I = U.layouts.bpf_btf_info.fields;
      Object.assign(r, { infoLen: u32(F['info.info_len']), nameLen: new DataView(info.buffer, info.byteOffset).getUint32(I.name_len.offset, true) });
      break;
    }
  }
  return r;
}

function describePerf(attr: Uint8Array, cpu: number, mem: Map<bigint, Uint8Array>): Record<string, unknown> {
  const P = U.layouts.perf_event_attr.fields;
  const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
  return {
    cmd: 'perf_event_open', type: v.getUint32(P.type.offset, true), config: Number(v.getBigUint64(P.config.offset, true)),
    config2: Number(v.getBigUint64(P.config2.offset, true)), cpu, name: cstr(mem.get(v.getBigUint64(P.uprobe_path.offset, true))),
  };
}
