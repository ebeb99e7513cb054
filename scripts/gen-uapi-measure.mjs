// Measure the constants and layouts of the pinned libbpf UAPI headers and of one C library
// (errno names, LIBC_* constants and layouts) with one target architecture's compiler.
//
// The headers are run through `gcc -E -dD` to learn the names (enumerators, object-like
// macros, struct/union members), then a C program that #includes the same headers is
// compiled (statically) and run, natively or under qemu-user, to print every value,
// offsetof and sizeof (bit-field positions are measured at run time).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * target: a name for messages and temporary files; cc: the compiler for that architecture;
 * run: the command prefix that runs its programs ([] natively, ['qemu-aarch64-static'] ...).
 * The rest say which headers and names to measure (see scripts/gen-uapi.mjs).
 */
export function measure({ target, cc, run, uapi, PINNED, LAYOUTS, LIBC_HEADERS, LIBC_CONSTANTS, LIBC_LAYOUTS }) {
  const fail = (msg) => { throw new Error(`${target}: ${msg}`); };
  const includes = [
    ...LIBC_HEADERS.map((h) => `#include <${h}>`),
    ...PINNED.map(({ h }) => `#include <${h}>`),
  ].join('\n');
  const ccArgs = ['-std=gnu11', `-I${uapi}`];
  const work = mkdtempSync(join(tmpdir(), `gen-uapi-${target}-`));
  try {

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
      if (!m || !originOf(fileAt(m.index)).pinned) fail(`${want} not found in the pinned headers`);
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
      if (r.status !== 0 && bad.size === 0) fail(`compiling the constant check failed:\n${r.stderr}`);
      return bad;
    }
    let constNames = candidateMacros;
    for (let round = 0; round < 8; round++) {
      const bad = constantCheck(constNames);
      if (bad.size === 0) break;
      constNames = constNames.filter((_, k) => !bad.has(k));
      if (round === 7) fail('could not isolate non-constant macros');
    }
    for (const n of LIBC_CONSTANTS) if (!constNames.includes(n)) fail(`libc constant ${n} is not available`);
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
    // static: the probe runs under qemu-user for another architecture without a sysroot
    execFileSync(cc, [...ccArgs, '-w', '-O0', '-static', '-o', join(work, 'probe'), join(work, 'probe.c')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const [exe, ...pre] = [...run, join(work, 'probe')];
    const probeOut = execFileSync(exe, pre, { encoding: 'utf8', maxBuffer: 1 << 26 });

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

    return { enums, enumerators, pinnedMacros, errnoNames, constSet, structTrees, layoutFields, libcFields, values, sizes, fieldVals, originOf };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
