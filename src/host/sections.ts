// libbpf section names → program type, expected attach type and attach target.
//
// SECTION_DEFS mirrors `section_defs[]` of the pinned libbpf (1.5.0, src/libbpf.c) entry for
// entry and in the same order, and findSectionDef() matches names exactly as libbpf's
// sec_def_matches() does:
//   - "name"   matches only SEC("name");
//   - "name+"  matches SEC("name") or SEC("name/anything");
//   - "name/"  matches any SEC("name/...") (libbpf has no such entry at present).
// The first matching entry wins, which is why "sk_reuseport/migrate" precedes "sk_reuseport"
// and "kprobe.multi+" is not shadowed by "kprobe+" ("kprobe.multi" is not "kprobe" + '/').
//
// `attach` names the kind of attachment. libbpf auto-attaches (bpf_program__attach) only
// the kinds that have an attach_fn in its table (AUTO_ATTACH_KINDS below), and only when
// the section names a target (SEC("kprobe/do_sys_open"), not SEC("kprobe")); every other
// kind needs a target from the caller (an interface, a cgroup, a socket...).
import * as U from './generated/uapi.js';

/** libbpf's enum sec_def_flags. */
export const SEC_NONE = 0;
export const SEC_EXP_ATTACH_OPT = 1;
export const SEC_ATTACHABLE = 2;
export const SEC_ATTACHABLE_OPT = SEC_ATTACHABLE | SEC_EXP_ATTACH_OPT;
export const SEC_ATTACH_BTF = 4;
export const SEC_SLEEPABLE = 8;
export const SEC_XDP_FRAGS = 16;
export const SEC_USDT = 32;

export type AttachKind =
  | 'socket' | 'sk_reuseport' | 'kprobe' | 'uprobe' | 'kprobe_multi' | 'kprobe_session' | 'uprobe_multi'
  | 'ksyscall' | 'usdt' | 'tcx' | 'tc' | 'action' | 'netkit' | 'tracepoint' | 'raw_tracepoint'
  | 'tp_btf' | 'fentry' | 'fmod_ret' | 'fexit' | 'freplace' | 'lsm' | 'lsm_cgroup' | 'iter' | 'syscall'
  | 'xdp' | 'xdp_devmap' | 'xdp_cpumap' | 'perf_event' | 'lwt' | 'sockops' | 'sk_skb' | 'sk_msg' | 'lirc'
  | 'flow_dissector' | 'cgroup' | 'struct_ops' | 'sk_lookup' | 'netfilter';

/** Kinds libbpf's bpf_program__attach() can attach from the section name alone. */
export const AUTO_ATTACH_KINDS: ReadonlySet<AttachKind> = new Set<AttachKind>([
  'kprobe', 'uprobe', 'kprobe_multi', 'kprobe_session', 'uprobe_multi', 'ksyscall', 'usdt',
  'tracepoint', 'raw_tracepoint', 'tp_btf', 'fentry', 'fmod_ret', 'fexit', 'freplace', 'lsm', 'iter',
]);

export interface SectionDef {
  /** libbpf's spelling, with its trailing '+' or '/' when it has one. */
  readonly sec: string;
  readonly progType: number;
  readonly expectedAttachType: number;
  /** SEC_* flags. */
  readonly flags: number;
  readonly attach: AttachKind;
}

const def = (sec: string, progType: number, expectedAttachType: number, flags: number, attach: AttachKind): SectionDef =>
  ({ sec, progType, expectedAttachType, flags, attach });

/** libbpf 1.5.0 section_defs[], same order. */
export const SECTION_DEFS: readonly SectionDef[] = [
  def('socket', U.BPF_PROG_TYPE_SOCKET_FILTER, 0, SEC_NONE, 'socket'),
  def('sk_reuseport/migrate', U.BPF_PROG_TYPE_SK_REUSEPORT, U.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, SEC_ATTACHABLE, 'sk_reuseport'),
  def('sk_reuseport', U.BPF_PROG_TYPE_SK_REUSEPORT, U.BPF_SK_REUSEPORT_SELECT, SEC_ATTACHABLE, 'sk_reuseport'),
  def('kprobe+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'kprobe'),
  def('uprobe+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'uprobe'),
  def('uprobe.s+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_SLEEPABLE, 'uprobe'),
  def('kretprobe+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'kprobe'),
  def('uretprobe+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'uprobe'),
  def('uretprobe.s+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_SLEEPABLE, 'uprobe'),
  def('kprobe.multi+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_KPROBE_MULTI, SEC_NONE, 'kprobe_multi'),
  def('kretprobe.multi+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_KPROBE_MULTI, SEC_NONE, 'kprobe_multi'),
  def('kprobe.session+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_KPROBE_SESSION, SEC_NONE, 'kprobe_session'),
  def('uprobe.multi+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_UPROBE_MULTI, SEC_NONE, 'uprobe_multi'),
  def('uretprobe.multi+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_UPROBE_MULTI, SEC_NONE, 'uprobe_multi'),
  def('uprobe.multi.s+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_UPROBE_MULTI, SEC_SLEEPABLE, 'uprobe_multi'),
  def('uretprobe.multi.s+', U.BPF_PROG_TYPE_KPROBE, U.BPF_TRACE_UPROBE_MULTI, SEC_SLEEPABLE, 'uprobe_multi'),
  def('ksyscall+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'ksyscall'),
  def('kretsyscall+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_NONE, 'ksyscall'),
  def('usdt+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_USDT, 'usdt'),
  def('usdt.s+', U.BPF_PROG_TYPE_KPROBE, 0, SEC_USDT | SEC_SLEEPABLE, 'usdt'),
  def('tc/ingress', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_TCX_INGRESS, SEC_NONE, 'tcx'), // alias for tcx
  def('tc/egress', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_TCX_EGRESS, SEC_NONE, 'tcx'), // alias for tcx
  def('tcx/ingress', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_TCX_INGRESS, SEC_NONE, 'tcx'),
  def('tcx/egress', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_TCX_EGRESS, SEC_NONE, 'tcx'),
  def('tc', U.BPF_PROG_TYPE_SCHED_CLS, 0, SEC_NONE, 'tc'), // legacy
  def('classifier', U.BPF_PROG_TYPE_SCHED_CLS, 0, SEC_NONE, 'tc'), // legacy
  def('action', U.BPF_PROG_TYPE_SCHED_ACT, 0, SEC_NONE, 'action'), // legacy
  def('netkit/primary', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_NETKIT_PRIMARY, SEC_NONE, 'netkit'),
  def('netkit/peer', U.BPF_PROG_TYPE_SCHED_CLS, U.BPF_NETKIT_PEER, SEC_NONE, 'netkit'),
  def('tracepoint+', U.BPF_PROG_TYPE_TRACEPOINT, 0, SEC_NONE, 'tracepoint'),
  def('tp+', U.BPF_PROG_TYPE_TRACEPOINT, 0, SEC_NONE, 'tracepoint'),
  def('raw_tracepoint+', U.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, SEC_NONE, 'raw_tracepoint'),
  def('raw_tp+', U.BPF_PROG_TYPE_RAW_TRACEPOINT, 0, SEC_NONE, 'raw_tracepoint'),
  def('raw_tracepoint.w+', U.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, SEC_NONE, 'raw_tracepoint'),
  def('raw_tp.w+', U.BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, SEC_NONE, 'raw_tracepoint'),
  def('tp_btf+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_RAW_TP, SEC_ATTACH_BTF, 'tp_btf'),
  def('fentry+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY, SEC_ATTACH_BTF, 'fentry'),
  def('fmod_ret+', U.BPF_PROG_TYPE_TRACING, U.BPF_MODIFY_RETURN, SEC_ATTACH_BTF, 'fmod_ret'),
  def('fexit+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FEXIT, SEC_ATTACH_BTF, 'fexit'),
  def('fentry.s+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FENTRY, SEC_ATTACH_BTF | SEC_SLEEPABLE, 'fentry'),
  def('fmod_ret.s+', U.BPF_PROG_TYPE_TRACING, U.BPF_MODIFY_RETURN, SEC_ATTACH_BTF | SEC_SLEEPABLE, 'fmod_ret'),
  def('fexit.s+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_FEXIT, SEC_ATTACH_BTF | SEC_SLEEPABLE, 'fexit'),
  def('freplace+', U.BPF_PROG_TYPE_EXT, 0, SEC_ATTACH_BTF, 'freplace'),
  def('lsm+', U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC, SEC_ATTACH_BTF, 'lsm'),
  def('lsm.s+', U.BPF_PROG_TYPE_LSM, U.BPF_LSM_MAC, SEC_ATTACH_BTF | SEC_SLEEPABLE, 'lsm'),
  def('lsm_cgroup+', U.BPF_PROG_TYPE_LSM, U.BPF_LSM_CGROUP, SEC_ATTACH_BTF, 'lsm_cgroup'),
  def('iter+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_ITER, SEC_ATTACH_BTF, 'iter'),
  def('iter.s+', U.BPF_PROG_TYPE_TRACING, U.BPF_TRACE_ITER, SEC_ATTACH_BTF | SEC_SLEEPABLE, 'iter'),
  def('syscall', U.BPF_PROG_TYPE_SYSCALL, 0, SEC_SLEEPABLE, 'syscall'),
  def('xdp.frags/devmap', U.BPF_PROG_TYPE_XDP, U.BPF_XDP_DEVMAP, SEC_XDP_FRAGS, 'xdp_devmap'),
  def('xdp/devmap', U.BPF_PROG_TYPE_XDP, U.BPF_XDP_DEVMAP, SEC_ATTACHABLE, 'xdp_devmap'),
  def('xdp.frags/cpumap', U.BPF_PROG_TYPE_XDP, U.BPF_XDP_CPUMAP, SEC_XDP_FRAGS, 'xdp_cpumap'),
  def('xdp/cpumap', U.BPF_PROG_TYPE_XDP, U.BPF_XDP_CPUMAP, SEC_ATTACHABLE, 'xdp_cpumap'),
  def('xdp.frags', U.BPF_PROG_TYPE_XDP, U.BPF_XDP, SEC_XDP_FRAGS, 'xdp'),
  def('xdp', U.BPF_PROG_TYPE_XDP, U.BPF_XDP, SEC_ATTACHABLE_OPT, 'xdp'),
  def('perf_event', U.BPF_PROG_TYPE_PERF_EVENT, 0, SEC_NONE, 'perf_event'),
  def('lwt_in', U.BPF_PROG_TYPE_LWT_IN, 0, SEC_NONE, 'lwt'),
  def('lwt_out', U.BPF_PROG_TYPE_LWT_OUT, 0, SEC_NONE, 'lwt'),
  def('lwt_xmit', U.BPF_PROG_TYPE_LWT_XMIT, 0, SEC_NONE, 'lwt'),
  def('lwt_seg6local', U.BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, SEC_NONE, 'lwt'),
  def('sockops', U.BPF_PROG_TYPE_SOCK_OPS, U.BPF_CGROUP_SOCK_OPS, SEC_ATTACHABLE_OPT, 'sockops'),
  def('sk_skb/stream_parser', U.BPF_PROG_TYPE_SK_SKB, U.BPF_SK_SKB_STREAM_PARSER, SEC_ATTACHABLE_OPT, 'sk_skb'),
  def('sk_skb/stream_verdict', U.BPF_PROG_TYPE_SK_SKB, U.BPF_SK_SKB_STREAM_VERDICT, SEC_ATTACHABLE_OPT, 'sk_skb'),
  def('sk_skb/verdict', U.BPF_PROG_TYPE_SK_SKB, U.BPF_SK_SKB_VERDICT, SEC_ATTACHABLE_OPT, 'sk_skb'),
  def('sk_skb', U.BPF_PROG_TYPE_SK_SKB, 0, SEC_NONE, 'sk_skb'),
  def('sk_msg', U.BPF_PROG_TYPE_SK_MSG, U.BPF_SK_MSG_VERDICT, SEC_ATTACHABLE_OPT, 'sk_msg'),
  def('lirc_mode2', U.BPF_PROG_TYPE_LIRC_MODE2, U.BPF_LIRC_MODE2, SEC_ATTACHABLE_OPT, 'lirc'),
  def('flow_dissector', U.BPF_PROG_TYPE_FLOW_DISSECTOR, U.BPF_FLOW_DISSECTOR, SEC_ATTACHABLE_OPT, 'flow_dissector'),
  def('cgroup_skb/ingress', U.BPF_PROG_TYPE_CGROUP_SKB, U.BPF_CGROUP_INET_INGRESS, SEC_ATTACHABLE_OPT, 'cgroup'),
  def('cgroup_skb/egress', U.BPF_PROG_TYPE_CGROUP_SKB, U.BPF_CGROUP_INET_EGRESS, SEC_ATTACHABLE_OPT, 'cgroup'),
  def('cgroup/skb', U.BPF_PROG_TYPE_CGROUP_SKB, 0, SEC_NONE, 'cgroup'),
  def('cgroup/sock_create', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_CREATE, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sock_release', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_RELEASE, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sock', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_CREATE, SEC_ATTACHABLE_OPT, 'cgroup'),
  def('cgroup/post_bind4', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET4_POST_BIND, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/post_bind6', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET6_POST_BIND, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/bind4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_BIND, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/bind6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET6_BIND, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/connect4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_CONNECT, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/connect6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET6_CONNECT, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/connect_unix', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UNIX_CONNECT, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sendmsg4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UDP4_SENDMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sendmsg6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UDP6_SENDMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sendmsg_unix', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UNIX_SENDMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/recvmsg4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UDP4_RECVMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/recvmsg6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UDP6_RECVMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/recvmsg_unix', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UNIX_RECVMSG, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getpeername4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_GETPEERNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getpeername6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET6_GETPEERNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getpeername_unix', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UNIX_GETPEERNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getsockname4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_GETSOCKNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getsockname6', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET6_GETSOCKNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getsockname_unix', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_UNIX_GETSOCKNAME, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/sysctl', U.BPF_PROG_TYPE_CGROUP_SYSCTL, U.BPF_CGROUP_SYSCTL, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/getsockopt', U.BPF_PROG_TYPE_CGROUP_SOCKOPT, U.BPF_CGROUP_GETSOCKOPT, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/setsockopt', U.BPF_PROG_TYPE_CGROUP_SOCKOPT, U.BPF_CGROUP_SETSOCKOPT, SEC_ATTACHABLE, 'cgroup'),
  def('cgroup/dev', U.BPF_PROG_TYPE_CGROUP_DEVICE, U.BPF_CGROUP_DEVICE, SEC_ATTACHABLE_OPT, 'cgroup'),
  def('struct_ops+', U.BPF_PROG_TYPE_STRUCT_OPS, 0, SEC_NONE, 'struct_ops'),
  def('struct_ops.s+', U.BPF_PROG_TYPE_STRUCT_OPS, 0, SEC_SLEEPABLE, 'struct_ops'),
  def('sk_lookup', U.BPF_PROG_TYPE_SK_LOOKUP, U.BPF_SK_LOOKUP, SEC_ATTACHABLE, 'sk_lookup'),
  def('netfilter', U.BPF_PROG_TYPE_NETFILTER, U.BPF_NETFILTER, SEC_NONE, 'netfilter'),
];

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
  const autoAttach = AUTO_ATTACH_KINDS.has(d.attach) && error === undefined && (btfTarget || target !== undefined);
  return {
    section, def: d, kind: d.attach, progType: d.progType, expectedAttachType: d.expectedAttachType,
    sleepable: (d.flags & SEC_SLEEPABLE) !== 0, xdpFrags: (d.flags & SEC_XDP_FRAGS) !== 0,
    autoAttach, target, error,
  };
}
