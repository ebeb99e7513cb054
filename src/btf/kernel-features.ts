// libbpf's kernel features (enum kern_feature_id) read from a kernel's BTF instead of probed
// by syscalls: what `check` and offline relocation need to make the plan the kernel would get.
// libbpf sanitizes the object's BTF and rewrites calls by these answers (BTF_KIND_FLOAT
// turned into an int on a kernel without it, bpf_probe_read_kernel into bpf_probe_read...);
// assuming every feature made plans for 5.10 that its BPF_BTF_LOAD refused.
//
// The evidence, best first: the UAPI enumerator or struct member the feature arrived with, in
// the kernel's own BTF (an enum the kernel's BTF carries lists exactly what that kernel has);
// else the upstream release that brought it, from the kernel release; else assumed present.
import { BTF_KIND_FUNC, BTF_KIND_STRUCT } from './kinds.js';
import type { Btf, BtfEnum, BtfEnum64 } from './reader.js';

/** What a feature's answer rests on: the kernel's BTF, the kernel release, or nothing (assumed present). */
export type FeatureBasis = 'btf' | 'version' | 'assumed';

/** libbpf's kernel features as read from a kernel's BTF ({@link kernelFeaturesFromBtf}), each with what its answer rests on. */
export interface KernelFeatureProfile {
  /** libbpf's feature names without FEAT_, lowercase (btf_enum64), as relocate() takes them */
  features: Record<string, boolean>;
  /** how each answer was reached */
  basis: Record<string, FeatureBasis>;
}

/** where a feature shows in a kernel's BTF */
type Evidence =
  /** an enumerator of the UAPI enum that holds `sibling` (the enum is found by it) */
  | { enumerator: string; sibling: string }
  /** a member of a UAPI struct */
  | { struct: string; member: string }
  /** a function named `<arch syscall prefix>bpf` that a kprobe can attach to (libbpf's probe
   *  attaches one) */
  | { syscallWrapper: true };

interface FeatureRule {
  /** the upstream release that brought it: [major, minor] */
  since: [number, number];
  evidence?: Evidence;
}

const BTF_KIND = (e: string): Evidence => ({ enumerator: e, sibling: 'BTF_KIND_INT' });
const HELPER = (e: string): Evidence => ({ enumerator: e, sibling: 'BPF_FUNC_map_lookup_elem' });

/**
 * Every feature of libbpf's enum kern_feature_id. The ones every kernel with a vmlinux BTF
 * (5.2+) has are answered by version alone.
 */
export const KERNEL_FEATURE_RULES: Readonly<Record<string, FeatureRule>> = {
  prog_name: { since: [4, 15] },
  global_data: { since: [5, 2] },
  btf: { since: [4, 18] },
  btf_func: { since: [5, 0] },
  btf_global_func: { since: [5, 6] },
  btf_datasec: { since: [5, 2] },
  array_mmap: { since: [5, 5] },
  exp_attach_type: { since: [4, 17] },
  probe_read_kern: { since: [5, 5], evidence: HELPER('BPF_FUNC_probe_read_kernel') },
  prog_bind_map: { since: [5, 10], evidence: { enumerator: 'BPF_PROG_BIND_MAP', sibling: 'BPF_MAP_CREATE' } },
  // module BTF came with bpf_btf_info.name (BPF_OBJ_GET_INFO_BY_FD names a module's BTF)
  module_btf: { since: [5, 11], evidence: { struct: 'bpf_btf_info', member: 'name' } },
  btf_float: { since: [5, 13], evidence: BTF_KIND('BTF_KIND_FLOAT') },
  perf_link: { since: [5, 15], evidence: { enumerator: 'BPF_LINK_TYPE_PERF_EVENT', sibling: 'BPF_LINK_TYPE_UNSPEC' } },
  btf_decl_tag: { since: [5, 16], evidence: BTF_KIND('BTF_KIND_DECL_TAG') },
  btf_type_tag: { since: [5, 17], evidence: BTF_KIND('BTF_KIND_TYPE_TAG') },
  // libbpf's own probe takes this helper, which arrived in the same release, as the sign
  memcg_account: { since: [5, 11], evidence: HELPER('BPF_FUNC_ktime_get_coarse_ns') },
  bpf_cookie: { since: [5, 15], evidence: HELPER('BPF_FUNC_get_attach_cookie') },
  btf_enum64: { since: [6, 0], evidence: BTF_KIND('BTF_KIND_ENUM64') },
  syscall_wrapper: { since: [4, 17], evidence: { syscallWrapper: true } },
  uprobe_multi_link: { since: [6, 6], evidence: { enumerator: 'BPF_TRACE_UPROBE_MULTI', sibling: 'BPF_CGROUP_INET_INGRESS' } },
  arg_ctx_tag: { since: [6, 8] },
  // later than the kernel change, on purpose: libbpf only renames such a DATASEC without it
  btf_qmark_datasec: { since: [6, 11] },
};

/** syscall function prefixes libbpf tries (its arch_specific_syscall_pfx) */
const SYSCALL_PREFIXES = ['__x64_sys_', '__ia32_sys_', '__arm64_sys_', '__s390x_sys_', '__s390_sys_', '__se_sys_', '__riscv_sys_', '__powerpc_sys_', '__mips_sys_', '__loongarch_sys_'];

/** functions of a kernel built with kprobes (CONFIG_KPROBES, CONFIG_KPROBE_EVENTS) */
const KPROBE_FUNCS = ['register_kprobe', 'create_local_trace_kprobe', 'perf_kprobe_init'];

/** "6.1.0-50-cloud-amd64" -> [6, 1]; null when it does not start with a version */
export function releaseVersion(release: string | null | undefined): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** true/false when the BTF answers; null when it has nothing to say (the enum or struct is absent) */
function fromBtf(btf: Btf, ev: Evidence, enumOf: (sibling: string) => BtfEnum | BtfEnum64 | undefined): boolean | null {
  if ('enumerator' in ev) {
    const e = enumOf(ev.sibling);
    return e ? e.values.some((v) => v.name === ev.enumerator) : null;
  }
  if ('struct' in ev) {
    const s = btf.findByName(ev.struct, BTF_KIND_STRUCT);
    return s && s.kind === BTF_KIND_STRUCT ? s.members.some((m) => m.name === ev.member) : null;
  }
  // libbpf's probe is a kprobe on the wrapper: a kernel without kprobes answers no as well
  const named = (f: string) => btf.findByName(f, BTF_KIND_FUNC) !== undefined;
  const wrapper = SYSCALL_PREFIXES.some((p) => named(`${p}bpf`));
  if (wrapper) return KPROBE_FUNCS.some(named);
  // a kernel's BTF names its bpf() syscall function either way; absent, the BTF cannot tell
  return named('__sys_bpf') || named('sys_bpf') ? false : null;
}

/**
 * The feature profile of the kernel whose BTF this is. `release` (uname -r) answers what the
 * BTF does not; without either, a feature is assumed present, as before.
 */
export function kernelFeaturesFromBtf(btf: Btf, release?: string | null): KernelFeatureProfile {
  // several rules ask the same enum (bpf_func_id): each is found once
  const enums = new Map<string, BtfEnum | BtfEnum64 | undefined>();
  const enumOf = (sibling: string) => {
    if (!enums.has(sibling)) enums.set(sibling, btf.findEnumByEnumerator(sibling));
    return enums.get(sibling);
  };
  const version = releaseVersion(release);
  const features: Record<string, boolean> = {};
  const basis: Record<string, FeatureBasis> = {};
  for (const [name, rule] of Object.entries(KERNEL_FEATURE_RULES)) {
    const seen = rule.evidence ? fromBtf(btf, rule.evidence, enumOf) : null;
    if (seen !== null) {
      features[name] = seen;
      basis[name] = 'btf';
    } else if (version) {
      features[name] = version[0] > rule.since[0] || (version[0] === rule.since[0] && version[1] >= rule.since[1]);
      basis[name] = 'version';
    } else {
      features[name] = true;
      basis[name] = 'assumed';
    }
  }
  return { features, basis };
}

/** What a kernel offers programs, from the UAPI enums its BTF carries; null where it carries
 *  none (the kernel is then not judged on it). */
export interface KernelOffers {
  /** enum bpf_func_id: helper ids */
  helpers: number[] | null;
  /** enum bpf_map_type */
  mapTypes: number[] | null;
  /** enum bpf_prog_type */
  progTypes: number[] | null;
}

function enumValues(btf: Btf, sibling: string, skip: RegExp): number[] | null {
  const t = btf.findEnumByEnumerator(sibling);
  // the count enumerators (__BPF_FUNC_MAX_ID, __MAX_BPF_MAP_TYPE) are not things a program uses
  return t ? t.values.filter((v) => !skip.test(v.name)).map((v) => Number(v.value)) : null;
}

/** The helpers, map types, program types and attach types a kernel offers, from the UAPI enums its BTF carries. */
export function kernelOffersFromBtf(btf: Btf): KernelOffers {
  return {
    helpers: enumValues(btf, 'BPF_FUNC_map_lookup_elem', /^__/),
    mapTypes: enumValues(btf, 'BPF_MAP_TYPE_HASH', /^__/),
    progTypes: enumValues(btf, 'BPF_PROG_TYPE_SOCKET_FILTER', /^__/),
  };
}
