#!/usr/bin/env node
// Generate src/host/generated/uapi.ts from the PINNED libbpf UAPI headers (and, for errno
// names and a few libc constants, from the C library headers of this machine).
//
// Nothing is hand-copied: the headers are run through `gcc -E -dD` to learn the names
// (enumerators, object-like macros, struct/union members), then a C program that
// #includes the same headers is compiled and run to print every value, offsetof and
// sizeof (bit-field positions are measured at run time). The output is deterministic:
// sections sorted by name, enum members by value (then declaration order), struct fields
// in declaration order.
//
// usage: node scripts/gen-uapi.mjs [--libbpf DIR] [--out FILE] [--check] [--cc gcc]
//   --check  generate into a temporary file and exit 1 if FILE differs (prints a diff)
// exit 2: the pinned source is not fetched (run scripts/fetch-sources.sh libbpf).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const libbpfDir = resolve(opt('--libbpf', join(top, '.deps/src/libbpf')));
const outFile = resolve(opt('--out', join(top, 'src/host/generated/uapi.ts')));
const check = args.includes('--check');
const cc = opt('--cc', process.env.CC_NATIVE || 'gcc');

const uapi = join(libbpfDir, 'include/uapi');
/** Pinned headers, and which of their names to keep (null: all). */
const PINNED = [
  { h: 'linux/bpf_common.h', keep: null },
  { h: 'linux/bpf.h', keep: null },
  { h: 'linux/btf.h', keep: null },
  { h: 'linux/perf_event.h', keep: null },
  { h: 'linux/if_link.h', keep: /^(XDP_|IFLA_XDP_)/ },
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
  'struct perf_event_query_bpf',
];
/** libc headers: errno names plus these constants and layouts (they are per-architecture). */
const LIBC_HEADERS = ['errno.h', 'sys/mman.h', 'sys/epoll.h', 'poll.h', 'sys/resource.h', 'unistd.h',
  'fcntl.h', 'sys/syscall.h', 'sys/ioctl.h', 'net/if.h'];
const LIBC_CONSTANTS = [
  'PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'MAP_SHARED', 'MAP_PRIVATE', 'MAP_ANONYMOUS', 'MAP_FIXED',
  'EPOLL_CLOEXEC', 'EPOLL_CTL_ADD', 'EPOLL_CTL_DEL', 'EPOLL_CTL_MOD', 'EPOLLIN', 'EPOLLOUT', 'EPOLLERR',
  'EPOLLHUP', 'EPOLLRDHUP', 'EPOLLET', 'POLLIN', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL',
  'RLIMIT_MEMLOCK', 'RLIM_INFINITY', '_SC_NPROCESSORS_CONF', '_SC_NPROCESSORS_ONLN', '_SC_PAGESIZE',
  'SYS_bpf', 'SYS_perf_event_open', 'SYS_close', 'SYS_ioctl', 'SYS_getpid', 'SYS_gettid',
  'O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CLOEXEC', 'O_NONBLOCK', 'AT_FDCWD', 'IF_NAMESIZE',
  'FIONREAD',
];
const LIBC_LAYOUTS = {
  'struct rlimit': ['rlim_cur', 'rlim_max'],
  'struct epoll_event': ['events', 'data'],
  'struct pollfd': ['fd', 'events', 'revents'],
};

function die(msg, code = 1) {
  process.stderr.write(`gen-uapi: ${msg}\n`);
  process.exit(code);
}

for (const { h } of PINNED) {
  if (!existsSync(join(uapi, h))) {
    die(`pinned libbpf UAPI header ${join(uapi, h)} not found; run scripts/fetch-sources.sh libbpf`, 2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'gen-uapi-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const includes = [
  ...LIBC_HEADERS.map((h) => `#include <${h}>`),
  ...PINNED.map(({ h }) => `#include <${h}>`),
].join('\n');
const ccArgs = ['-std=gnu11', `-I${uapi}`];

// ---------------------------------------------------------------------------------------------
// 1. preprocess and collect names (with the header each one comes from)
writeFileSync(join(work, 'names.c'), includes + '\n');
const pp = execFileSync(cc, [...ccArgs, '-E', '-dD', join(work, 'names.c')], { encoding: 'utf8', maxBuffer: 1 << 28 });

/** Header path relative to the pinned uapi dir, or to a system include dir, or null. */
function originOf(path) {
  if (path.startsWith(uapi + '/')) return { pinned: true, h: path.slice(uapi.length + 1) };
  return { pinned: false, h: path };
}

const code = []; // { file, text } chunks of C code (no directives)
const macros = new Map(); // name -> { file, body }
{
  let file = '';
  for (const line of pp.split('\n')) {
    const marker = /^# \d+ "([^"]*)"/.exec(line);
    if (marker) { file = marker[1]; continue; }
    const def = /^#define ([A-Za-z_]\w*)(\(?)\s*(.*)$/.exec(line);
    if (def) {
      if (def[2] !== '(') macros.set(def[1], { file, body: def[3].trim() });
      continue;
    }
    const undef = /^#undef ([A-Za-z_]\w*)/.exec(line);
    if (undef) { macros.delete(undef[1]); continue; }
    if (line.startsWith('#')) continue;
    code.push({ file, text: line });
  }
}
// Join the code of each file region into one string, remembering where each file's text is.
let codeText = '';
const regions = []; // [start, file]
for (const c of code) {
  if (!regions.length || regions[regions.length - 1][1] !== c.file) regions.push([codeText.length, c.file]);
  codeText += c.text + '\n';
}
function fileAt(pos) {
  let lo = 0, hi = regions.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (regions[mid][0] <= pos) lo = mid; else hi = mid - 1;
  }
  return regions[lo][1];
}
function matchBrace(s, open) {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  throw new Error('unbalanced braces');
}
function pinnedKeep(file, name) {
  const o = originOf(file);
  if (!o.pinned) return null;
  const p = PINNED.find((x) => x.h === o.h);
  if (!p) return null; // a pinned header included indirectly (e.g. netlink.h): skip
  if (p.keep && !p.keep.test(name)) return null;
  return o.h;
}

// enums: enum [tag] { A [= expr], B, ... }
const enums = []; // { tag|null, header, members: [names] }
for (const m of codeText.matchAll(/\benum\s+(?:([A-Za-z_]\w*)\s*)?\{/g)) {
  const open = m.index + m[0].length - 1;
  const close = matchBrace(codeText, open);
  const body = codeText.slice(open + 1, close);
  const file = fileAt(m.index);
  const members = [];
  let depth = 0, cur = '';
  for (const ch of body + ',') {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      const name = /^\s*([A-Za-z_]\w*)/.exec(cur);
      if (name) members.push(name[1]);
      cur = '';
    } else cur += ch;
  }
  const kept = members.filter((n) => pinnedKeep(file, n));
  if (kept.length) enums.push({ tag: m[1] ?? null, header: originOf(file).h, members: kept });
}
const enumerators = new Set(enums.flatMap((e) => e.members));

// object-like macros of the pinned headers (evaluated below; non-integer ones drop out)
const pinnedMacros = []; // { name, header }
for (const [name, { file, body }] of macros) {
  if (enumerators.has(name) || body === '') continue;
  const h = pinnedKeep(file, name);
  if (h) pinnedMacros.push({ name, header: h });
}
// errno names from the C library's errno headers; aliases (EWOULDBLOCK = EAGAIN) are marked
const errnoNames = [];
for (const [name, { file, body }] of macros) {
  if (/^E[A-Z0-9]+$/.test(name) && /errno/.test(file)) errnoNames.push({ name, alias: /^[A-Z_]\w*$/.test(body) });
}

// struct/union member trees (from the pinned headers)
function tokenize(s) {
  const toks = s.match(/[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|\S/g) ?? [];
  // drop __attribute__((...)): layouts come from the compiler, the parser only needs names
  const out = [];
  for (let i = 0; i < toks.length; i++) {
    if (toks[i] !== '__attribute__') { out.push(toks[i]); continue; }
    let depth = 0;
    do { i++; if (toks[i] === '(') depth++; if (toks[i] === ')') depth--; } while (depth);
  }
  return out;
}
/** Parse the members between { and } at toks[i] (exclusive); returns [members, next index]. */
function parseMembers(toks, i) {
  const members = [];
  while (toks[i] !== '}') {
    if (toks[i] === ';') { i++; continue; }
    let agg = null;
    let type = [];
    if ((toks[i] === 'struct' || toks[i] === 'union') && (toks[i + 1] === '{' || toks[i + 2] === '{')) {
      const kind = toks[i];
      i += toks[i + 1] === '{' ? 2 : 3;
      const [children, j] = parseMembers(toks, i);
      i = j + 1; // past }
      agg = { kind, children };
    } else {
      type.push(toks[i++]); // a member always starts with a type word
      while (isTypeWord(toks, i) || ['unsigned', 'signed', 'long', 'short', 'int', 'char'].includes(type[type.length - 1]) && ['long', 'int', 'char', 'short'].includes(toks[i])) type.push(toks[i++]);
    }
    // declarators (an anonymous struct/union has none: its members belong to the parent)
    if (agg && toks[i] === ';') members.push({ type: '', agg, name: null, dims: [], bits: null, pointer: false });
    for (;;) {
      i = skipAttributes(toks, i);
      if (toks[i] === ';') break;
      const decl = { type: type.join(' '), agg, name: null, dims: [], bits: null, pointer: false };
      while (toks[i] === '*') { decl.pointer = true; i++; }
      if (/^[A-Za-z_]\w*$/.test(toks[i]) && toks[i] !== '__attribute__') decl.name = toks[i++];
      while (toks[i] === '[') {
        let depth = 0, expr = [];
        do { if (toks[i] === '[') depth++; if (toks[i] === ']') depth--; expr.push(toks[i++]); } while (depth);
        decl.dims.push(expr.slice(1, -1).join(' '));
      }
      if (toks[i] === ':') {
        i++;
        const expr = [];
        while (toks[i] !== ',' && toks[i] !== ';') expr.push(toks[i++]);
        decl.bits = expr.join(' ');
      }
      i = skipAttributes(toks, i);
      members.push(decl);
      if (toks[i] === ',') { i++; continue; }
      if (toks[i] === ';') break;
      throw new Error(`parse error near '${toks.slice(i - 5, i + 5).join(' ')}'`);
    }
    i++; // ;
    if (agg === null && type.length === 0) throw new Error('member without a type');
  }
  return [members, i];
}
function isTypeWord(toks, i) {
  // a word is part of the type if another word follows it before the declarator ends
  const t = toks[i];
  if (['struct', 'union', 'enum', 'const', 'volatile', 'unsigned', 'signed'].includes(t)) return true;
  const n = toks[i + 1];
  return n === '*' || /^[A-Za-z_]\w*$/.test(n) && n !== '__attribute__';
}
function skipAttributes(toks, i) {
  while (toks[i] === '__attribute__') {
    i++;
    let depth = 0;
    do { if (toks[i] === '(') depth++; if (toks[i] === ')') depth--; i++; } while (depth);
  }
  return i;
}
const structTrees = new Map();
for (const want of LAYOUTS) {
  const [kind, tag] = want.split(' ');
  const re = new RegExp(`\\b${kind}\\s+${tag}\\s*\\{`, 'g');
  const m = re.exec(codeText);
  if (!m || !originOf(fileAt(m.index)).pinned) die(`${want} not found in the pinned headers`);
  const open = m.index + m[0].length - 1;
  const close = matchBrace(codeText, open);
  const toks = tokenize(codeText.slice(open + 1, close + 1));
  const [members] = parseMembers(toks, 0);
  structTrees.set(want, { header: originOf(fileAt(m.index)).h, members });
}

/** Flatten a member tree into leaf/aggregate fields with C access paths. */
function flatten(members, prefix, out) {
  for (const d of members) {
    if (d.name === null) {
      if (d.agg) flatten(d.agg.children, prefix, out); // anonymous struct/union
      continue; // unnamed bit-field padding
    }
    const path = prefix + d.name;
    const signed = !d.agg && !d.pointer && /^(__s\d+|int|long|short|signed\b.*|s\d+)$/.test(d.type);
    const isAggRef = !d.agg && /^(struct|union) /.test(d.type);
    out.push({ path, bits: d.bits, dims: d.dims, signed, struct: Boolean(d.agg) || isAggRef });
    if (d.agg && d.dims.length === 0) flatten(d.agg.children, path + '.', out);
  }
  return out;
}
const layoutFields = new Map();
for (const [name, t] of structTrees) layoutFields.set(name, flatten(t.members, '', []));

// ---------------------------------------------------------------------------------------------
// 2. find which macros are integer constant expressions (drop the others), then print values
const candidateMacros = [...pinnedMacros.map((m) => m.name), ...LIBC_CONSTANTS, ...errnoNames.map((e) => e.name)];
function constantCheck(names) {
  const lines = names.map((n, k) => `static const unsigned long long chk_${k} = (unsigned long long)(${n});`);
  const src = includes + '\n' + '#line 1 "chk.c"\n' + lines.join('\n') + '\n';
  writeFileSync(join(work, 'chk.c'), src);
  const r = spawnSync(cc, [...ccArgs, '-w', '-fsyntax-only', join(work, 'chk.c')], { encoding: 'utf8' });
  const bad = new Set();
  for (const m of r.stderr.matchAll(/chk\.c:(\d+):\d+: error/g)) bad.add(Number(m[1]) - 1);
  if (r.status !== 0 && bad.size === 0) die(`compiling the constant check failed:\n${r.stderr}`);
  return bad;
}
let constNames = candidateMacros;
for (let round = 0; round < 8; round++) {
  const bad = constantCheck(constNames);
  if (bad.size === 0) break;
  constNames = constNames.filter((_, k) => !bad.has(k));
  if (round === 7) die('could not isolate non-constant macros');
}
for (const n of LIBC_CONSTANTS) if (!constNames.includes(n)) die(`libc constant ${n} is not available`);
const constSet = new Set(constNames);

const probe = [];
probe.push(includes, '#include <stdio.h>', '#include <stddef.h>', '#include <string.h>', '');
probe.push('#define P(n) do { if ((n) < 0) printf("c %s %lld\\n", #n, (long long)(n)); else printf("c %s %llu\\n", #n, (unsigned long long)(n)); } while (0)');
probe.push('static void bits(const char *t, const char *f, const unsigned char *p, size_t n) {');
probe.push('  int first = -1, count = 0;');
probe.push('  for (size_t i = 0; i < n * 8; i++) if (p[i / 8] >> (i % 8) & 1) { if (first < 0) first = (int)i; count++; }');
probe.push('  printf("b %s %s %d %d\\n", t, f, first, count);');
probe.push('}');
probe.push('int main(void) {');
for (const n of [...enumerators, ...constNames]) probe.push(`  P(${n});`);
function emitLayout(name, fields) {
  probe.push(`  printf("s ${name} %zu\\n", sizeof(${name}));`);
  for (const f of fields) {
    if (f.bits !== null) {
      probe.push(`  { ${name} v; memset(&v, 0, sizeof v); v.${f.path} = ~0ULL; bits("${name}", "${f.path}", (const unsigned char *)&v, sizeof v); }`);
    } else if (f.dims.length && (f.dims[0] === '' || f.dims[0] === '0')) {
      probe.push(`  printf("f ${name} ${f.path} %zu 0 %zu\\n", offsetof(${name}, ${f.path}), sizeof(((${name} *)0)->${f.path}[0]));`);
    } else if (f.dims.length) {
      probe.push(`  printf("f ${name} ${f.path} %zu %zu %zu\\n", offsetof(${name}, ${f.path}), sizeof(((${name} *)0)->${f.path}), sizeof(((${name} *)0)->${f.path}[0]));`);
    } else {
      probe.push(`  printf("f ${name} ${f.path} %zu %zu\\n", offsetof(${name}, ${f.path}), sizeof(((${name} *)0)->${f.path}));`);
    }
  }
}
for (const [name, fields] of layoutFields) emitLayout(name, fields);
const libcFields = new Map();
for (const [name, members] of Object.entries(LIBC_LAYOUTS)) {
  const fields = members.map((path) => ({ path, bits: null, dims: [], signed: false, struct: false }));
  libcFields.set(name, fields);
  emitLayout(name, fields);
}
probe.push('  return 0;', '}', '');
writeFileSync(join(work, 'probe.c'), probe.join('\n'));
execFileSync(cc, [...ccArgs, '-w', '-O0', '-o', join(work, 'probe'), join(work, 'probe.c')], { stdio: ['ignore', 'inherit', 'inherit'] });
const probeOut = execFileSync(join(work, 'probe'), { encoding: 'utf8', maxBuffer: 1 << 26 });

const values = new Map();
const sizes = new Map();
const fieldVals = new Map(); // `${struct}\0${path}` -> {offset,size,elem} | {bitOffset,bitSize}
for (const line of probeOut.split('\n')) {
  if (!line) continue;
  const p = line.split(' ');
  if (p[0] === 'c') values.set(p[1], BigInt(p[2]));
  else if (p[0] === 's') sizes.set(`${p[1]} ${p[2]}`, Number(p[3]));
  else if (p[0] === 'f') {
    fieldVals.set(`${p[1]} ${p[2]}\0${p[3]}`, { offset: Number(p[4]), size: Number(p[5]), elem: p[6] === undefined ? null : Number(p[6]) });
  } else if (p[0] === 'b') {
    fieldVals.set(`${p[1]} ${p[2]}\0${p[3]}`, { bitOffset: Number(p[4]), bitSize: Number(p[5]) });
  }
}

// ---------------------------------------------------------------------------------------------
// 3. write TypeScript
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const lit = (v) => (v > MAX_SAFE || v < -MAX_SAFE ? `${v}n` : String(v));
const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
const lockVersion = (() => {
  try {
    const m = /^source\s+libbpf\s+\S+\s+(\S+)/m.exec(readFileSync(join(top, 'emsdk.lock'), 'utf8'));
    return m ? m[1] : 'unknown';
  } catch { return 'unknown'; }
})();
const arch = execFileSync(cc, ['-dumpmachine'], { encoding: 'utf8' }).trim();

const o = [];
o.push('// GENERATED by scripts/gen-uapi.mjs — do not edit. Regenerate with `make uapi`; `make uapi-check` verifies.');
o.push(`// Source: the pinned libbpf UAPI headers (libbpf ${lockVersion} in emsdk.lock), include/uapi/:`);
for (const { h } of PINNED) o.push(`//   ${h}  sha256 ${sha(join(uapi, h))}`);
o.push(`// and, for ERRNO_NAMES and the LIBC_* section, the C library headers of the generating machine`);
o.push(`// (${arch}); those values are per-architecture. The UAPI values and layouts are the same on all`);
o.push('// little-endian 64-bit Linux architectures (bit-field positions are measured on little-endian).');
o.push('/* eslint-disable */');
o.push('');
o.push(`export const GENERATED_ARCH = '${arch}';`);
o.push('');
o.push('/** A byte-aligned field: offset and size in bytes; arrays give their element count and size. */');
o.push('export interface FieldLayout { readonly offset: number; readonly size: number; readonly signed?: true; readonly struct?: true; readonly count?: number; readonly elemSize?: number }');
o.push('/** A bit-field: position of its lowest bit from the start of the struct (little-endian numbering). */');
o.push('export interface BitFieldLayout { readonly bitOffset: number; readonly bitSize: number; readonly signed?: true }');
o.push('export interface StructLayout { readonly size: number; readonly fields: Readonly<Record<string, FieldLayout | BitFieldLayout>> }');
o.push('');

/** Comma-separated names, wrapped at 100 columns. */
function wrap(names, indent) {
  const lines = [];
  let cur = indent;
  for (const n of names) {
    if (cur.length > indent.length && cur.length + n.length + 2 > 100) { lines.push(cur.trimEnd()); cur = indent; }
    cur += `${n}, `;
  }
  if (cur.length > indent.length) lines.push(cur.trimEnd());
  return lines;
}
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const emitted = new Set();
// named enums, sorted by tag; members by value then declaration order
const named = enums.filter((e) => e.tag).sort((a, b) => byName(a.tag, b.tag));
const anonymousByHeader = new Map();
for (const e of enums.filter((x) => !x.tag)) {
  const l = anonymousByHeader.get(e.header) ?? [];
  l.push(...e.members);
  anonymousByHeader.set(e.header, l);
}
for (const e of named) {
  const members = e.members.map((n, k) => ({ n, k, v: values.get(n) })).sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : a.k - b.k));
  o.push(`// enum ${e.tag} (${e.header})`);
  for (const m of members) {
    if (emitted.has(m.n)) continue;
    emitted.add(m.n);
    o.push(`export const ${m.n} = ${lit(m.v)};`);
  }
  o.push(`export const ${e.tag} = {`, ...wrap(members.map((m) => m.n), '  '), '} as const;');
  o.push('');
}
// other constants (anonymous enums and macros) by header, sorted by name
const otherByHeader = new Map();
for (const [h, names] of anonymousByHeader) otherByHeader.set(h, [...names]);
for (const m of pinnedMacros) if (constSet.has(m.name)) {
  const l = otherByHeader.get(m.header) ?? [];
  l.push(m.name);
  otherByHeader.set(m.header, l);
}
for (const h of [...otherByHeader.keys()].sort(byName)) {
  const names = [...new Set(otherByHeader.get(h))].filter((n) => !emitted.has(n)).sort(byName);
  o.push(`// constants (macros and anonymous enums) of ${h}`);
  for (const n of names) {
    emitted.add(n);
    o.push(`export const ${n} = ${lit(values.get(n))};`);
  }
  o.push('');
}
// layouts
function layoutText(name, fields, indent) {
  const entries = fields.map((f) => ({ f, v: fieldVals.get(`${name}\0${f.path}`) }));
  for (const e of entries) if (!e.v) die(`no layout for ${name}.${e.f.path}`);
  // declaration order (a union's members stay grouped by the struct they belong to)
  const lines = [`${indent}size: ${sizes.get(name)},`, `${indent}fields: {`];
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
o.push('/** Layouts of UAPI structs and unions, keyed by C tag; field keys are C access paths. */');
o.push('export const layouts = {');
for (const name of [...layoutFields.keys()].sort((a, b) => byName(a.split(' ')[1], b.split(' ')[1]))) {
  o.push(`  // ${name} (${structTrees.get(name).header})`);
  o.push(`  ${name.split(' ')[1]}: {`);
  o.push(...layoutText(name, layoutFields.get(name), '    '));
  o.push('  },');
}
o.push('} as const satisfies Record<string, StructLayout>;');
o.push('');
// libc
o.push(`// ---- C library (${arch}): constants and layouts used by src/host/syscall.ts`);
for (const n of [...LIBC_CONSTANTS].sort(byName)) o.push(`export const LIBC_${n.replace(/^_+/, '')} = ${lit(values.get(n))};`);
o.push('export const libcLayouts = {');
for (const name of [...libcFields.keys()].sort(byName)) {
  o.push(`  ${name.split(' ')[1]}: {`);
  o.push(...layoutText(name, libcFields.get(name), '    '));
  o.push('  },');
}
o.push('} as const satisfies Record<string, StructLayout>;');
o.push('');
// errno
const errnoByNumber = new Map();
// canonical names first (a name defined as another name, like EWOULDBLOCK, is an alias)
for (const { name } of [...errnoNames].sort((a, b) => Number(a.alias) - Number(b.alias) || byName(a.name, b.name))) {
  if (!constSet.has(name)) continue;
  const v = Number(values.get(name));
  if (!errnoByNumber.has(v)) errnoByNumber.set(v, name);
}
o.push('/** errno name -> number (all names of the C library, aliases included). */');
o.push('export const ERRNO = {');
for (const { name } of [...errnoNames].sort((a, b) => byName(a.name, b.name))) if (constSet.has(name)) o.push(`  ${name}: ${values.get(name)},`);
o.push('} as const;');
o.push('');
o.push('/** errno number -> name (canonical names; aliases such as EWOULDBLOCK are left out). */');
o.push('export const ERRNO_NAMES: Readonly<Record<number, string>> = {');
for (const v of [...errnoByNumber.keys()].sort((a, b) => a - b)) o.push(`  ${v}: '${errnoByNumber.get(v)}',`);
o.push('};');
o.push('');

const text = o.join('\n');
if (check) {
  const tmp = join(work, 'uapi.ts');
  writeFileSync(tmp, text);
  const cur = existsSync(outFile) ? readFileSync(outFile, 'utf8') : null;
  if (cur === text) {
    process.stdout.write(`gen-uapi: ${relative(top, outFile)} is up to date\n`);
    process.exit(0);
  }
  const d = spawnSync('diff', ['-u', existsSync(outFile) ? outFile : '/dev/null', tmp], { encoding: 'utf8' });
  process.stderr.write((d.stdout ?? '').split('\n').slice(0, 80).join('\n') + '\n');
  die(`${relative(top, outFile)} is out of date: run \`make uapi\``);
}
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, text);
process.stdout.write(`gen-uapi: wrote ${relative(top, outFile)} (${emitted.size} constants, ${layoutFields.size + libcFields.size} layouts, ${errnoByNumber.size} errno names)\n`);
