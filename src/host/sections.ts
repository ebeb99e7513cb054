// libbpf section names -> program type, expected attach type and attach target.
//
// SECTION_DEFS is libbpf's `section_defs[]` as generated from the pinned source
// (./generated/sections.ts, scripts/gen-sections.mjs), entry for entry and in the same
// order, and findSectionDef() matches names exactly as libbpf's sec_def_matches() does:
//   - "name"   matches only SEC("name");
//   - "name+"  matches SEC("name") or SEC("name/anything");
//   - "name/"  matches any SEC("name/...") (libbpf has no such entry at present).
// The first matching entry wins, which is why "sk_reuseport/migrate" precedes "sk_reuseport"
// and "kprobe.multi+" is not shadowed by "kprobe+" ("kprobe.multi" is not "kprobe" + '/').
//
// `attach` is ours: the kind of attachment, from libbpf's attach_fn where it has one, else
// from the program and attach types. libbpf auto-attaches (bpf_program__attach) only the
// entries with an attach_fn, and only when the section names a target (SEC("kprobe/
// do_sys_open"), not SEC("kprobe")); every other kind needs a target from the caller.
import * as U from './generated/uapi.js';
import { LIBBPF_SECTION_DEFS, SEC_ATTACH_BTF, SEC_SLEEPABLE, SEC_XDP_FRAGS, type LibbpfSectionDef } from './generated/sections.js';

export { SEC_NONE, SEC_EXP_ATTACH_OPT, SEC_ATTACHABLE, SEC_ATTACHABLE_OPT, SEC_ATTACH_BTF, SEC_SLEEPABLE, SEC_XDP_FRAGS, SEC_USDT } from './generated/sections.js';

export type AttachKind =
  | 'socket' | 'sk_reuseport' | 'kprobe' | 'uprobe' | 'kprobe_multi' | 'kprobe_session' | 'uprobe_multi'
  | 'ksyscall' | 'usdt' | 'tcx' | 'tc' | 'action' | 'netkit' | 'tracepoint' | 'raw_tracepoint'
  | 'tp_btf' | 'fentry' | 'fmod_ret' | 'fexit' | 'freplace' | 'lsm' | 'lsm_cgroup' | 'iter' | 'syscall'
  | 'xdp' | 'xdp_devmap' | 'xdp_cpumap' | 'perf_event' | 'lwt' | 'sockops' | 'sk_skb' | 'sk_msg' | 'lirc'
  | 'flow_dissector' | 'cgroup' | 'struct_ops' | 'sk_lookup' | 'netfilter';

export interface SectionDef extends LibbpfSectionDef {
  readonly attach: AttachKind;
}

const BY_ATTACH_FN: Record<string, AttachKind> = {
  attach_kprobe: 'kprobe', attach_uprobe: 'uprobe', attach_kprobe_multi: 'kprobe_multi',
  attach_kprobe_session: 'kprobe_session', attach_uprobe_multi: 'uprobe_multi', attach_ksyscall: 'ksyscall',
  attach_usdt: 'usdt', attach_tp: 'tracepoint', attach_raw_tp: 'raw_tracepoint', attach_lsm: 'lsm', attach_iter: 'iter',
};

const BY_TRACE_ATTACH_TYPE: Record<number, AttachKind> = {
  [U.BPF_TRACE_RAW_TP]: 'tp_btf', [U.BPF_TRACE_FENTRY]: 'fentry', [U.BPF_MODIFY_RETURN]: 'fmod_ret', [U.BPF_TRACE_FEXIT]: 'fexit',
};

const BY_PROG_TYPE: Record<number, AttachKind> = {
  [U.BPF_PROG_TYPE_SOCKET_FILTER]: 'socket', [U.BPF_PROG_TYPE_SK_REUSEPORT]: 'sk_reuseport',
  [U.BPF_PROG_TYPE_SCHED_CLS]: 'tc', [U.BPF_PROG_TYPE_SCHED_ACT]: 'action', [U.BPF_PROG_TYPE_LSM]: 'lsm_cgroup',
  [U.BPF_PROG_TYPE_SYSCALL]: 'syscall', [U.BPF_PROG_TYPE_XDP]: 'xdp', [U.BPF_PROG_TYPE_PERF_EVENT]: 'perf_event',
  [U.BPF_PROG_TYPE_LWT_IN]: 'lwt', [U.BPF_PROG_TYPE_LWT_OUT]: 'lwt', [U.BPF_PROG_TYPE_LWT_XMIT]: 'lwt',
  [U.BPF_PROG_TYPE_LWT_SEG6LOCAL]: 'lwt', [U.BPF_PROG_TYPE_SOCK_OPS]: 'sockops', [U.BPF_PROG_TYPE_SK_SKB]: 'sk_skb',
  [U.BPF_PROG_TYPE_SK_MSG]: 'sk_msg', [U.BPF_PROG_TYPE_LIRC_MODE2]: 'lirc', [U.BPF_PROG_TYPE_FLOW_DISSECTOR]: 'flow_dissector',
  [U.BPF_PROG_TYPE_CGROUP_SKB]: 'cgroup', [U.BPF_PROG_TYPE_CGROUP_SOCK]: 'cgroup', [U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR]: 'cgroup',
  [U.BPF_PROG_TYPE_CGROUP_SYSCTL]: 'cgroup', [U.BPF_PROG_TYPE_CGROUP_SOCKOPT]: 'cgroup', [U.BPF_PROG_TYPE_CGROUP_DEVICE]: 'cgroup',
  [U.BPF_PROG_TYPE_STRUCT_OPS]: 'struct_ops', [U.BPF_PROG_TYPE_SK_LOOKUP]: 'sk_lookup', [U.BPF_PROG_TYPE_NETFILTER]: 'netfilter',
};

/** Our attach kind of one of libbpf's section definitions. */
export function attachKindOf(d: LibbpfSectionDef): AttachKind | undefined {
  if (d.attachFn === 'attach_trace') return d.progType === U.BPF_PROG_TYPE_EXT ? 'freplace' : BY_TRACE_ATTACH_TYPE[d.expectedAttachType];
  if (d.attachFn !== null) return BY_ATTACH_FN[d.attachFn];
  switch (d.expectedAttachType) {
    case U.BPF_TCX_INGRESS: case U.BPF_TCX_EGRESS: return 'tcx';
    case U.BPF_NETKIT_PRIMARY: case U.BPF_NETKIT_PEER: return 'netkit';
    case U.BPF_XDP_DEVMAP: return 'xdp_devmap';
    case U.BPF_XDP_CPUMAP: return 'xdp_cpumap';
    default: return BY_PROG_TYPE[d.progType];
  }
}

/** libbpf's section_defs[] (generated), each with its attach kind; same order. */
export const SECTION_DEFS: readonly SectionDef[] = LIBBPF_SECTION_DEFS.map((d) => {
  const attach = attachKindOf(d);
  // a new libbpf entry whose kind we cannot name: `make sections` after a libbpf update
  if (!attach) throw new Error(`corebpf: no attach kind for libbpf section '${d.sec}' (attach_fn ${d.attachFn}); extend attachKindOf in src/host/sections.ts`);
  return { ...d, attach };
});

/** libbpf's sec_def_matches(). */
export function sectionDefMatches(d: SectionDef, section: string): boolean {
  const s = d.sec;
  if (s.endsWith('/')) return section.startsWith(s);
  if (s.endsWith('+')) {
    const p = s.slice(0, -1);
    if (!section.startsWith(p)) return false;
    return section.length === p.length || section[p.length] === '/';
  }
  return section === s;
}

/** libbpf's find_sec_def(): the first entry of SECTION_DEFS matching `section`. */
export function findSectionDef(section: string): SectionDef | undefined {
  return SECTION_DEFS.find((d) => sectionDefMatches(d, section));
}

/** What a section names as its attach target (absent when the section names none). */
export type SectionTarget =
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'kprobe'; func: string; offset: number; retprobe: boolean }
  | { kind: 'ksyscall'; syscall: string; retprobe: boolean }
  | { kind: 'kprobe_multi'; pattern: string; retprobe: boolean }
  | { kind: 'uprobe'; binary: string; func: string; offset: number; retprobe: boolean }
  | { kind: 'uprobe_multi'; binary: string; pattern: string; retprobe: boolean }
  | { kind: 'usdt'; binary: string; provider: string; name: string }
  /** tp_btf / fentry / fexit / fmod_ret / freplace / lsm / iter: the BTF name after the prefix. */
  | { kind: 'btf'; name: string }
  /** tcx/tc/netkit, cgroup and xdp sections imply a direction or attach type, never a device or cgroup. */
  | { kind: 'direction'; direction: 'ingress' | 'egress' };

export interface SectionSpec {
  readonly section: string;
  readonly def: SectionDef;
  readonly kind: AttachKind;
  readonly progType: number;
  readonly expectedAttachType: number;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  /** Whether libbpf's bpf_program__attach() would attach it from the name alone. */
  readonly autoAttach: boolean;
  readonly target?: SectionTarget;
  /** A problem with the part after the prefix (libbpf would fail the auto-attach with EINVAL). */
  readonly error?: string;
}

/** Parse a C integer the way strtol(…, 0) reads %li: decimal, 0x hex or 0 octal, optional sign. */
function parseCLong(s: string): number | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const body = m[2];
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body.slice(1), 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

function afterSlash(section: string, def: SectionDef): string | null {
  const p = def.sec.replace(/[+/]$/, '');
  if (section.length <= p.length) return null;
  return section.slice(p.length + 1);
}

function parseTarget(section: string, d: SectionDef): { target?: SectionTarget; error?: string } {
  const rest = afterSlash(section, d);
  switch (d.attach) {
    case 'tracepoint': {
      if (rest === null) return {};
      const i = rest.indexOf('/');
      if (i < 0) return { error: `tracepoint section '${section}' is not <prefix>/<category>/<name>` };
      return { target: { kind: 'tracepoint', category: rest.slice(0, i), name: rest.slice(i + 1) } };
    }
    case 'raw_tracepoint':
      return rest === null ? {} : { target: { kind: 'raw_tracepoint', name: rest } };
    case 'kprobe': {
      if (rest === null) return {};
      const retprobe = section.startsWith('kretprobe/');
      // libbpf: sscanf("%m[a-zA-Z0-9_.]+%li")
      const m = /^([a-zA-Z0-9_.]+)(?:\+(.*))?/.exec(rest);
      if (!m) return { error: `kprobe name is invalid: ${rest}` };
      let offset = 0;
      if (m[2] !== undefined) {
        const o = parseCLong(m[2]);
        if (o !== null) offset = o;
      }
      if (retprobe && offset !== 0) return { error: 'kretprobes do not support offset specification' };
      return { target: { kind: 'kprobe', func: m[1], offset, retprobe } };
    }
    case 'ksyscall':
      return rest === null ? {} : { target: { kind: 'ksyscall', syscall: rest, retprobe: section.startsWith('kretsyscall/') } };
    case 'kprobe_multi':
    case 'kprobe_session':
      return rest === null ? {} : { target: { kind: 'kprobe_multi', pattern: rest, retprobe: section.startsWith('kretprobe.') } };
    case 'uprobe':
    case 'uprobe_multi': {
      // libbpf: sscanf(sec, "%m[^/]/%m[^:]:%m[^\n]", &type, &path, &func)
      const m = /^([^/]+)(?:\/([^:]+)(?::([^\n]+))?)?/.exec(section);
      if (!m || m[2] === undefined) return {};
      const retprobe = /^uretprobe/.test(m[1]);
      if (m[3] === undefined) return { error: `section '${section}' is missing the ':function[+offset]' part` };
      if (d.attach === 'uprobe_multi') return { target: { kind: 'uprobe_multi', binary: m[2], pattern: m[3], retprobe } };
      let func = m[3];
      let offset = 0;
      const plus = func.lastIndexOf('+');
      if (plus >= 0) {
        const o = parseCLong(func.slice(plus + 1));
        if (o !== null) {
          offset = o;
          func = func.slice(0, plus);
        }
      }
      if (retprobe && offset !== 0) return { error: 'uretprobes do not support offset specification' };
      return { target: { kind: 'uprobe', binary: m[2], func, offset, retprobe } };
    }
    case 'usdt': {
      // libbpf: sscanf(sec, "usdt/%m[^:]:%m[^:]:%m[^:]", &path, &provider, &name)
      if (rest === null) return {};
      const parts = rest.split(':');
      if (parts.length !== 3 || parts.some((p) => !p)) return { error: `invalid USDT section '${section}' (want usdt/<path>:<provider>:<name>)` };
      return { target: { kind: 'usdt', binary: parts[0], provider: parts[1], name: parts[2] } };
    }
    case 'tp_btf': case 'fentry': case 'fexit': case 'fmod_ret': case 'freplace': case 'lsm': case 'lsm_cgroup': case 'iter':
      return rest === null || rest === '' ? {} : { target: { kind: 'btf', name: rest } };
    case 'tcx': case 'netkit':
      return { target: { kind: 'direction', direction: /egress|peer/.test(section) ? 'egress' : 'ingress' } };
    case 'cgroup':
      if (d.expectedAttachType === U.BPF_CGROUP_INET_INGRESS) return { target: { kind: 'direction', direction: 'ingress' } };
      if (d.expectedAttachType === U.BPF_CGROUP_INET_EGRESS) return { target: { kind: 'direction', direction: 'egress' } };
      return {};
    default:
      return {};
  }
}

/** Everything libbpf derives from a section name; undefined when no entry matches. */
export function parseSection(section: string): SectionSpec | undefined {
  const d = findSectionDef(section);
  if (!d) return undefined;
  const { target, error } = parseTarget(section, d);
  // tracing, lsm and iter programs carry their target in attach_btf_id (set at load from the
  // name after the prefix, or by bpf_program__set_attach_target), so libbpf attaches them
  // whatever the section says; the others need the target in the name.
  const btfTarget = (d.flags & SEC_ATTACH_BTF) !== 0;
  const autoAttach = d.attachFn !== null && error === undefined && (btfTarget || target !== undefined);
  return {
    section, def: d, kind: d.attach, progType: d.progType, expectedAttachType: d.expectedAttachType,
    sleepable: (d.flags & SEC_SLEEPABLE) !== 0, xdpFrags: (d.flags & SEC_XDP_FRAGS) !== 0,
    autoAttach, target, error,
  };
}
