#!/usr/bin/env node
// Generate src/host/generated/ from the PINNED libbpf UAPI headers and, per architecture, the
// C library headers (errno names, LIBC_* constants and layouts: syscall numbers, x86-64's
// packed epoll_event, ...):
//   uapi.ts            the UAPI constants and layouts; one file for every architecture: it is
//                      measured with each architecture's compiler and must come out the same
//   libc-ARCH.ts       the C library's values for ARCH (x86_64, aarch64, riscv64)
//   libc.ts            the set chosen at run time from process.arch, re-exported by uapi.ts
// Every value is measured by scripts/gen-uapi-measure.mjs (nothing is hand-copied): with the
// native compiler, or Debian's cross compilers (gcc-aarch64-linux-gnu, gcc-riscv64-linux-gnu)
// with the probe run under qemu-user (qemu-user-static). Output is deterministic: sections
// sorted by name, enum members by value (then declaration order), struct fields in
// declaration order.
//
// usage: node scripts/gen-uapi.mjs [--libbpf DIR] [--out-dir DIR] [--check] [--cc gcc]
//   --cc     the compiler for this machine's own architecture (the others use TRIPLE-gcc)
//   --check  generate into memory and exit 1 if a file in DIR differs (prints a diff)
// exit 2: the pinned source is not fetched (run scripts/fetch-sources.sh libbpf).
// exit 3: a cross compiler or qemu-user is missing (run scripts/install-deps.sh).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './gen-uapi-measure.mjs';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const libbpfDir = resolve(opt('--libbpf', join(top, '.deps/src/libbpf')));
const outDir = resolve(opt('--out-dir', join(top, 'src/host/generated')));
const check = args.includes('--check');
const nativeCc = opt('--cc', process.env.CC_NATIVE || 'gcc');

const uapi = join(libbpfDir, 'include/uapi');
/** Pinned headers, and which of their names to keep (null: all). */
const PINNED = [
  { h: 'linux/bpf_common.h', keep: null },
  { h: 'linux/bpf.h', keep: null },
  { h: 'linux/btf.h', keep: null },
  { h: 'linux/perf_event.h', keep: null },
  // XDP flags; and what creating a netkit pair over rtnetlink takes (test/netlink.ts)
  { h: 'linux/if_link.h', keep: /^(XDP_|IFLA_XDP_|IFLA_IFNAME$|IFLA_LINKINFO$|IFLA_INFO_|IFLA_NETKIT_|NETKIT_)/ },
  { h: 'linux/netlink.h', keep: /^(NETLINK_ROUTE|NLM_F_[A-Z_]+|NLMSG_(NOOP|ERROR|DONE))$/ },
  { h: 'linux/pkt_cls.h', keep: /^(TC_ACT_|TCA_BPF_)/ },
  { h: 'linux/pkt_sched.h', keep: /^TC_H_/ },
];
/** Structs and unions whose layouts are generated (from the pinned headers). */
const LAYOUTS = [
  'union bpf_attr', 'struct bpf_insn', 'struct bpf_prog_info', 'struct bpf_map_info',
  'struct bpf_btf_info', 'struct bpf_link_info', 'union bpf_iter_link_info',
  'struct bpf_func_info', 'struct bpf_line_info', 'struct bpf_core_relo',
  'struct bpf_lpm_trie_key_hdr', 'struct bpf_cgroup_storage_key', 'struct bpf_perf_event_value',
  'struct bpf_stack_build_id', 'struct __sk_buff', 'struct xdp_md',
  'struct btf_header', 'struct btf_type', 'struct btf_enum', 'struct btf_enum64', 'struct btf_array',
  'struct btf_member', 'struct btf_param', 'struct btf_var', 'struct btf_var_secinfo', 'struct btf_decl_tag',
  'struct perf_event_attr', 'struct perf_event_mmap_page', 'struct perf_event_header',
  'struct perf_event_query_bpf', 'struct nlmsghdr', 'struct nlmsgerr', 'struct nlattr',
];
/** libc headers: errno names plus these constants and layouts (they are per-architecture). */
const LIBC_HEADERS = ['errno.h', 'sys/mman.h', 'sys/epoll.h', 'poll.h', 'sys/resource.h', 'unistd.h',
  'fcntl.h', 'sys/syscall.h', 'sys/ioctl.h', 'net/if.h', 'sys/socket.h',
  // the system's Linux headers (RTM_*, struct ifinfomsg, AF_PACKET's sockaddr_ll): not in libbpf's
  'linux/rtnetlink.h', 'linux/if_packet.h', 'linux/if_ether.h'];
const LIBC_CONSTANTS = [
  'PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'MAP_SHARED', 'MAP_PRIVATE', 'MAP_ANONYMOUS', 'MAP_FIXED',
  'EPOLL_CLOEXEC', 'EPOLL_CTL_ADD', 'EPOLL_CTL_DEL', 'EPOLL_CTL_MOD', 'EPOLLIN', 'EPOLLOUT', 'EPOLLERR',
  'EPOLLHUP', 'EPOLLRDHUP', 'EPOLLET', 'POLLIN', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL',
  'RLIMIT_MEMLOCK', 'RLIM_INFINITY', '_SC_NPROCESSORS_CONF', '_SC_NPROCESSORS_ONLN', '_SC_PAGESIZE',
  'SYS_bpf', 'SYS_perf_event_open', 'SYS_close', 'SYS_ioctl', 'SYS_getpid', 'SYS_gettid',
  'O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CLOEXEC', 'O_NONBLOCK', 'AT_FDCWD', 'IF_NAMESIZE',
  'FIONREAD', 'SOL_SOCKET', 'SO_ATTACH_BPF', 'SO_DETACH_FILTER', 'SO_ATTACH_REUSEPORT_EBPF',
  'SO_DETACH_REUSEPORT_BPF', 'AF_NETLINK', 'AF_PACKET', 'SOCK_RAW', 'SOCK_DGRAM', 'SOCK_CLOEXEC',
  'IFF_UP', 'RTM_NEWLINK', 'RTM_DELLINK', 'ETH_P_IP', 'ETH_HLEN',
];
const LIBC_LAYOUTS = {
  'struct rlimit': ['rlim_cur', 'rlim_max'],
  'struct epoll_event': ['events', 'data'],
  'struct pollfd': ['fd', 'events', 'revents'],
  'struct ifinfomsg': ['ifi_family', 'ifi_type', 'ifi_index', 'ifi_flags', 'ifi_change'],
  'struct sockaddr_ll': ['sll_family', 'sll_protocol', 'sll_ifindex', 'sll_hatype', 'sll_pkttype', 'sll_halen', 'sll_addr'],
  'struct sockaddr_nl': ['nl_family', 'nl_pid', 'nl_groups'],
};
/**
 * The architectures the live host supports: Debian's name, Node's process.arch, the GNU
 * triple (cross compiler TRIPLE-gcc) and qemu-user's name. koffi (the FFI) has Linux builds
 * for these; s390x has none, and the others are not generated (see README, "Architectures").
 */
const ARCHES = [
  { name: 'x86_64', node: 'x64', triple: 'x86_64-linux-gnu', qemu: 'x86_64' },
  { name: 'aarch64', node: 'arm64', triple: 'aarch64-linux-gnu', qemu: 'aarch64' },
  { name: 'riscv64', node: 'riscv64', triple: 'riscv64-linux-gnu', qemu: 'riscv64' },
];

function die(msg, code = 1) {
  process.stderr.write(`gen-uapi: ${msg}\n`);
  process.exit(code);
}

for (const { h } of PINNED) {
  if (!existsSync(join(uapi, h))) {
    die(`pinned libbpf UAPI header ${join(uapi, h)} not found; run scripts/fetch-sources.sh libbpf`, 2);
  }
}

const works = (cmd, a) => spawnSync(cmd, a, { encoding: 'utf8' }).status === 0;
/** The compiler and the run prefix for one architecture, or a reason why there is none. */
function toolsFor(a) {
  if (process.arch === a.node) {
    const m = spawnSync(nativeCc, ['-dumpmachine'], { encoding: 'utf8' });
    if (m.status !== 0) return { missing: `${nativeCc} (the native compiler)` };
    return { cc: nativeCc, run: [] };
  }
  const cc = `${a.triple}-gcc`;
  if (!works(cc, ['-dumpmachine'])) return { missing: `${cc} (Debian: gcc-${a.triple.replace(/_/g, '-')})` };
  const qemu = [`qemu-${a.qemu}-static`, `qemu-${a.qemu}`].find((q) => works(q, ['--version']));
  if (!qemu) return { missing: `qemu-${a.qemu}-static (Debian: qemu-user-static)` };
  return { cc, run: [qemu] };
}
const tools = ARCHES.map((a) => ({ a, ...toolsFor(a) }));
const missing = tools.filter((t) => t.missing).map((t) => t.missing);
if (missing.length) die(`cannot measure every architecture: missing ${missing.join(', ')}; run scripts/install-deps.sh`, 3);

const measured = tools.map(({ a, cc, run }) => {
  try {
    return { a, m: measure({ target: a.name, cc, run, uapi, PINNED, LAYOUTS, LIBC_HEADERS, LIBC_CONSTANTS, LIBC_LAYOUTS }) };
  } catch (e) {
    return die(e.message);
  }
});

// ---------------------------------------------------------------------------------------------
// write TypeScript
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const lit = (v) => (v > MAX_SAFE || v < -MAX_SAFE ? `${v}n` : String(v));
const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
const lockVersion = (() => {
  try {
    const m = /^source\s+libbpf\s+\S+\s+(\S+)/m.exec(readFileSync(join(top, 'emsdk.lock'), 'utf8'));
    return m ? m[1] : 'unknown';
  } catch { return 'unknown'; }
})();
const GENERATED = '// GENERATED by scripts/gen-uapi.mjs — do not edit. Regenerate with `make uapi`; `make uapi-check` verifies.';
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const libcName = (n) => n.replace(/^_+/, '');

/** Comma-separated names, wrapped at 100 columns. */
function wrap(names, indent, sep = ', ') {
  const lines = [];
  let cur = indent;
  for (const n of names) {
    if (cur.length > indent.length && cur.length + n.length + sep.length > 100) { lines.push(cur.trimEnd()); cur = indent; }
    cur += `${n}${sep}`;
  }
  if (cur.length > indent.length) lines.push(cur.trimEnd());
  return lines;
}
/** A struct's size and fields in declaration order (a union's members stay grouped). */
function layoutText(m, name, fields, indent) {
  const entries = fields.map((f) => ({ f, v: m.fieldVals.get(`${name}\0${f.path}`) }));
  for (const e of entries) if (!e.v) die(`no layout for ${name}.${e.f.path}`);
  const lines = [`${indent}size: ${m.sizes.get(name)},`, `${indent}fields: {`];
  for (const { f, v } of entries) {
    const parts = [];
    if (v.bitOffset !== undefined) parts.push(`bitOffset: ${v.bitOffset}`, `bitSize: ${v.bitSize}`);
    else {
      parts.push(`offset: ${v.offset}`, `size: ${v.size}`);
      if (v.elem !== null) parts.push(`count: ${v.elem ? v.size / v.elem : 0}`, `elemSize: ${v.elem}`);
    }
    if (f.signed) parts.push('signed: true');
    if (f.struct) parts.push('struct: true');
    lines.push(`${indent}  '${f.path}': { ${parts.join(', ')} },`);
  }
  lines.push(`${indent}},`);
  return lines;
}

/** uapi.ts: the same for every architecture (checked below). */
function renderUapi(m) {
  const o = [];
  o.push(GENERATED);
  o.push(`// Source: the pinned libbpf UAPI headers (libbpf ${lockVersion} in emsdk.lock), include/uapi/:`);
  for (const { h } of PINNED) o.push(`//   ${h}  sha256 ${sha(join(uapi, h))}`);
  o.push(`// measured with the compiler of each of ${ARCHES.map((a) => a.name).join(', ')}: the values and layouts`);
  o.push('// are the same on all of them (the generator fails otherwise). The C library part (LIBC_*,');
  o.push('// libcLayouts, ERRNO, ERRNO_NAMES) is per-architecture: libc-ARCH.ts, chosen in libc.ts.');
  o.push('/* eslint-disable */');
  o.push('');
  o.push("export * from './libc.js';");
  o.push('');
  o.push('/** A byte-aligned field: offset and size in bytes; arrays give their element count and size. */');
  o.push('export interface FieldLayout { readonly offset: number; readonly size: number; readonly signed?: true; readonly struct?: true; readonly count?: number; readonly elemSize?: number }');
  o.push('/** A bit-field: position of its lowest bit from the start of the struct (little-endian numbering). */');
  o.push('export interface BitFieldLayout { readonly bitOffset: number; readonly bitSize: number; readonly signed?: true }');
  o.push('export interface StructLayout { readonly size: number; readonly fields: Readonly<Record<string, FieldLayout | BitFieldLayout>> }');
  o.push('');
  const emitted = new Set();
  // named enums, sorted by tag; members by value then declaration order
  const named = m.enums.filter((e) => e.tag).sort((a, b) => byName(a.tag, b.tag));
  const anonymousByHeader = new Map();
  for (const e of m.enums.filter((x) => !x.tag)) {
    const l = anonymousByHeader.get(e.header) ?? [];
    l.push(...e.members);
    anonymousByHeader.set(e.header, l);
  }
  for (const e of named) {
    const members = e.members.map((n, k) => ({ n, k, v: m.values.get(n) })).sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : a.k - b.k));
    o.push(`// enum ${e.tag} (${e.header})`);
    for (const x of members) {
      if (emitted.has(x.n)) continue;
      emitted.add(x.n);
      o.push(`export const ${x.n} = ${lit(x.v)};`);
    }
    o.push(`export const ${e.tag} = {`, ...wrap(members.map((x) => x.n), '  '), '} as const;');
    o.push('');
  }
  // other constants (anonymous enums and macros) by header, sorted by name
  const otherByHeader = new Map();
  for (const [h, names] of anonymousByHeader) otherByHeader.set(h, [...names]);
  for (const x of m.pinnedMacros) if (m.constSet.has(x.name)) {
    const l = otherByHeader.get(x.header) ?? [];
    l.push(x.name);
    otherByHeader.set(x.header, l);
  }
  for (const h of [...otherByHeader.keys()].sort(byName)) {
    const names = [...new Set(otherByHeader.get(h))].filter((n) => !emitted.has(n)).sort(byName);
    o.push(`// constants (macros and anonymous enums) of ${h}`);
    for (const n of names) {
      emitted.add(n);
      o.push(`export const ${n} = ${lit(m.values.get(n))};`);
    }
    o.push('');
  }
  o.push('/** Layouts of UAPI structs and unions, keyed by C tag; field keys are C access paths. */');
  o.push('export const layouts = {');
  for (const name of [...m.layoutFields.keys()].sort((a, b) => byName(a.split(' ')[1], b.split(' ')[1]))) {
    o.push(`  // ${name} (${m.structTrees.get(name).header})`);
    o.push(`  ${name.split(' ')[1]}: {`);
    o.push(...layoutText(m, name, m.layoutFields.get(name), '    '));
    o.push('  },');
  }
  o.push('} as const satisfies Record<string, StructLayout>;');
  o.push('');
  return { text: o.join('\n'), count: emitted.size };
}

/** errno names of one C library: all (aliases included), and number -> canonical name. */
function errnoOf(m) {
  const all = m.errnoNames.filter(({ name }) => m.constSet.has(name)).sort((a, b) => byName(a.name, b.name));
  const canonical = new Map();
  // a name defined as another name (EWOULDBLOCK as EAGAIN) is an alias
  for (const { name } of [...all].sort((a, b) => Number(a.alias) - Number(b.alias) || byName(a.name, b.name))) {
    const v = Number(m.values.get(name));
    if (!canonical.has(v)) canonical.set(v, name);
  }
  return { all: all.map((e) => e.name), canonical };
}

/** libc-ARCH.ts: one architecture's C library values. */
function renderLibc(a, m) {
  const o = [];
  o.push(GENERATED);
  o.push(`// Source: the C library and Linux headers for ${a.triple} (the compiler's own, Debian's`);
  o.push(`// cross headers for another architecture), measured by a program run on ${a.name}.`);
  o.push('/* eslint-disable */');
  o.push("import type { LibcSet } from './libc.js';");
  o.push('');
  o.push(`/** The C library of ${a.triple}: constants and layouts used by src/host/syscall.ts, errno names. */`);
  o.push('export const libc = {');
  o.push(`  arch: '${a.triple}',`);
  o.push(`  nodeArch: '${a.node}',`);
  o.push('  constants: {');
  for (const n of [...LIBC_CONSTANTS].sort((x, y) => byName(libcName(x), libcName(y)))) o.push(`    ${libcName(n)}: ${lit(m.values.get(n))},`);
  o.push('  },');
  o.push('  layouts: {');
  for (const name of [...m.libcFields.keys()].sort(byName)) {
    o.push(`    ${name.split(' ')[1]}: {`);
    o.push(...layoutText(m, name, m.libcFields.get(name), '      '));
    o.push('    },');
  }
  o.push('  },');
  const { all, canonical } = errnoOf(m);
  o.push('  /** errno name -> number (all names of the C library, aliases included). */');
  o.push('  errno: {');
  for (const n of all) o.push(`    ${n}: ${m.values.get(n)},`);
  o.push('  },');
  o.push('  /** errno number -> name (canonical names; aliases such as EWOULDBLOCK are left out). */');
  o.push('  errnoNames: {');
  for (const v of [...canonical.keys()].sort((x, y) => x - y)) o.push(`    ${v}: '${canonical.get(v)}',`);
  o.push('  },');
  o.push('} as const satisfies LibcSet;');
  o.push('');
  return { text: o.join('\n'), errno: all.length };
}

/** libc.ts: the set of this process's architecture, under the names the host uses. */
function renderSelect() {
  const sets = [...measured].sort((x, y) => byName(x.a.name, y.a.name));
  const kind = (n) => {
    const ks = new Set(measured.map(({ m }) => (lit(m.values.get(n)).endsWith('n') ? 'bigint' : 'number')));
    return [...ks].sort().join(' | ');
  };
  const errnoCommon = errnoOf(measured[0].m).all.filter((n) => measured.every(({ m }) => errnoOf(m).all.includes(n)));
  const o = [];
  o.push(GENERATED);
  o.push('// The C library values for the architecture this process runs on, chosen when the module loads');
  o.push('// from process.arch among the generated sets (libc-ARCH.ts). uapi.ts re-exports everything here,');
  o.push('// so the host writes U.LIBC_SYS_bpf, U.ERRNO.EPERM, U.libcLayouts.epoll_event.');
  o.push('// On an architecture without a set, LIBC is null, ERRNO and ERRNO_NAMES are empty and the LIBC_*');
  o.push('// values and libcLayouts are undefined: createNativeSyscalls() (src/host/syscall.ts) refuses to');
  o.push('// start there with a NotSupportedError, so no call ever uses them.');
  o.push('/* eslint-disable */');
  o.push("import type { FieldLayout } from './uapi.js';");
  for (const { a } of sets) o.push(`import { libc as ${a.name} } from './libc-${a.name}.js';`);
  o.push('');
  o.push('/** One architecture\'s C library: what libc-ARCH.ts holds. */');
  o.push('export interface LibcSet {');
  o.push('  /** GNU triple the values were measured for. */');
  o.push('  readonly arch: string;');
  o.push('  /** process.arch on that architecture. */');
  o.push('  readonly nodeArch: string;');
  o.push('  readonly constants: {');
  for (const n of [...LIBC_CONSTANTS].sort((x, y) => byName(libcName(x), libcName(y)))) o.push(`    readonly ${libcName(n)}: ${kind(n)};`);
  o.push('  };');
  o.push('  readonly layouts: {');
  for (const [name, fields] of Object.entries(LIBC_LAYOUTS).sort((x, y) => byName(x[0], y[0]))) {
    o.push(`    readonly ${name.split(' ')[1]}: { readonly size: number; readonly fields: { ${fields.map((f) => `readonly ${f}: FieldLayout`).join('; ')} } };`);
  }
  o.push('  };');
  o.push('  readonly errno: Readonly<Record<string, number>>;');
  o.push('  readonly errnoNames: Readonly<Record<number, string>>;');
  o.push('}');
  o.push('');
  o.push('/** errno names every generated C library has. */');
  o.push('export type ErrnoName =');
  o.push(...wrap(errnoCommon.map((n) => `'${n}'`), '  ', ' | ').map((l, i, all) => (i === all.length - 1 ? `${l.replace(/ \|$/, '')};` : l)));
  o.push('');
  o.push('/** The generated sets, by process.arch. */');
  o.push(`export const LIBC_SETS: Readonly<Record<string, LibcSet>> = { ${sets.map(({ a }) => `${a.node}: ${a.name}`).sort(byName).join(', ')} };`);
  o.push('');
  o.push('/** The set for an architecture named as process.arch names it, or null when there is none. */');
  o.push('export function libcSetFor(nodeArch: string): LibcSet | null {');
  o.push('  return Object.prototype.hasOwnProperty.call(LIBC_SETS, nodeArch) ? LIBC_SETS[nodeArch] : null;');
  o.push('}');
  o.push('');
  o.push('/** The set of this process\'s architecture (null: the live host cannot run here). */');
  o.push('export const LIBC: LibcSet | null = libcSetFor(process.arch);');
  o.push('');
  o.push("const C = (LIBC?.constants ?? {}) as LibcSet['constants'];");
  for (const n of [...LIBC_CONSTANTS].sort((x, y) => byName(libcName(x), libcName(y)))) o.push(`export const LIBC_${libcName(n)} = C.${libcName(n)};`);
  o.push("export const libcLayouts = LIBC?.layouts as LibcSet['layouts'];");
  o.push('/** errno name -> number (all names of the C library, aliases included). */');
  o.push('export const ERRNO = (LIBC?.errno ?? {}) as Readonly<Record<ErrnoName, number>>;');
  o.push('/** errno number -> name (canonical names; aliases such as EWOULDBLOCK are left out). */');
  o.push('export const ERRNO_NAMES: Readonly<Record<number, string>> = LIBC?.errnoNames ?? {};');
  o.push('');
  return o.join('\n');
}

// ---------------------------------------------------------------------------------------------
// the UAPI part must not depend on the architecture; then write (or check) every file
const uapiText = measured.map(({ a, m }) => ({ a, ...renderUapi(m) }));
for (const u of uapiText.slice(1)) {
  if (u.text === uapiText[0].text) continue;
  const x = uapiText[0].text.split('\n'), y = u.text.split('\n');
  const k = x.findIndex((l, i) => l !== y[i]);
  die(`the UAPI part differs between ${uapiText[0].a.name} and ${u.a.name} (first at line ${k + 1}:\n  ${x[k]}\n  ${y[k]})`);
}
const files = new Map([['uapi.ts', uapiText[0].text], ['libc.ts', renderSelect()]]);
const libcs = measured.map(({ a, m }) => ({ a, ...renderLibc(a, m) }));
for (const l of libcs) files.set(`libc-${l.a.name}.ts`, l.text);

if (check) {
  const work = mkdtempSync(join(tmpdir(), 'gen-uapi-check-'));
  let stale = [];
  try {
    for (const [name, text] of files) {
      const file = join(outDir, name);
      const cur = existsSync(file) ? readFileSync(file, 'utf8') : null;
      if (cur === text) continue;
      stale.push(relative(top, file));
      const tmp = join(work, name);
      writeFileSync(tmp, text);
      const d = spawnSync('diff', ['-u', cur === null ? '/dev/null' : file, tmp], { encoding: 'utf8' });
      process.stderr.write((d.stdout ?? '').split('\n').slice(0, 80).join('\n') + '\n');
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (stale.length) die(`${stale.join(', ')} out of date: run \`make uapi\``);
  process.stdout.write(`gen-uapi: ${[...files.keys()].map((n) => relative(top, join(outDir, n))).join(', ')} are up to date\n`);
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
for (const [name, text] of files) writeFileSync(join(outDir, name), text);
process.stdout.write(`gen-uapi: wrote ${relative(top, outDir)}/: uapi.ts (${uapiText[0].count} constants, ${measured[0].m.layoutFields.size} layouts), ` +
  `${libcs.map((l) => `libc-${l.a.name}.ts (${l.errno} errno names)`).join(', ')}, libc.ts\n`);
