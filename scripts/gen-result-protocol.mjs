#!/usr/bin/env node
// The result protocol of the glue's entry points has one source, wasm/result-protocol.json:
// its magic, version, status and kind fields, and per kind of result (run, open, btf-dump,
// btfgen) the export that writes it, its body and its parts. This script lays the header
// out from it and writes the C side (wasm/cb_result.h: the writer every such export uses,
// the reader of the native oracle and the fuzzers) and the TypeScript side
// (src/worker/generated/result-protocol.ts: the constants src/worker/result.ts decodes
// with), so the two cannot disagree. It also refuses a CB_EXPORT of wasm/*.c that returns a
// malloc'd result (char *) without being a kind's export, and a kind whose export is gone:
// every result that leaves the wasm has a header. Model: gen-exports.mjs.
//
// The header is one line of fixed-width ASCII text, not binary u32s: it reads in a terminal,
// a text result (cb_run's, cb_open's) stays a NUL-terminated C string (the native oracle's
// stdout and the byte-for-byte comparison of the two builds are text), and fixed positions
// make decoding as cheap as a binary header:
//
//   corebpf-result VVVVVVVV SSSSSSSS KIND........ STATUS.................. report OOOOOOOO LLLLLLLL plan ... log ...\n
//
// numbers are lowercase hex, numberWidth digits (u32: the wasm heap is at most 1 GiB); SIZE
// is the whole result's length, header included (a binary result has no NUL to end it);
// KIND names the kind, so a result is never read as another's; STATUS is "ok" or the errno's
// name (ENOENT, LIBBPF_ERRNO__RELOC), space-padded: a name, not a number, because the wasm's
// C library numbers errnos unlike Linux and the two builds must write the same bytes. Each
// part's offset is from the first byte of the header. Magic, version, size, kind and status
// sit at the same place in every kind's header; the parts follow.
//
// usage: node scripts/gen-result-protocol.mjs [--check]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportsOf, returnsResult } from './lib/cb-exports.mjs';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const specPath = join(top, 'wasm/result-protocol.json');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const W = spec.numberWidth;
const SW = spec.statusWidth;
const KW = spec.kindWidth;
const die = (why) => {
  console.error(`gen-result-protocol: ${why}`);
  process.exit(1);
};
if (!/^[a-z-]+$/.test(spec.magic)) die('magic must be [a-z-]+');
if (!Number.isInteger(spec.version) || spec.version < 1 || spec.version >= 16 ** W) die('bad version');
for (const k of spec.kinds) {
  if (!/^[a-z][a-z-]*$/.test(k.kind) || k.kind.length > KW) die(`kind '${k.kind}' must be [a-z-]+ of at most ${KW} characters`);
  if (!Object.hasOwn(spec.bodies, k.body)) die(`kind '${k.kind}': body '${k.body}' is none of ${Object.keys(spec.bodies).join(', ')}`);
  if (!k.parts.length) die(`kind '${k.kind}' has no parts`);
  for (const p of k.parts) if (!/^[a-z]+$/.test(p.name)) die(`kind '${k.kind}': part name '${p.name}' must be [a-z]+`);
  if (new Set(k.parts.map((p) => p.name)).size !== k.parts.length) die(`kind '${k.kind}' names a part twice`);
}
if (new Set(spec.kinds.map((k) => k.kind)).size !== spec.kinds.length) die('a kind is named twice');
// what cb_set_report_mode(index) makes a run's report part hold; the first is the default
const modes = spec.reportModes;
if (!Array.isArray(modes) || modes[0]?.name !== 'full') die('reportModes must start with "full" (the default)');
for (const m of modes) if (!/^[a-z]+$/.test(m.name)) die(`report mode '${m.name}' must be [a-z]+`);

// every export that returns a malloc'd result is a kind's, and every kind's export returns one
const exported = exportsOf(join(top, 'wasm'));
for (const e of exported.filter(returnsResult)) {
  if (!spec.kinds.some((k) => k.export === e.name)) {
    die(`wasm/${e.file}: ${e.name}() returns a result (${e.ret}) but is no kind's export in ${relative(top, specPath)}: give it a kind and write the header (wasm/cb_result.h)`);
  }
}
for (const k of spec.kinds) {
  const e = exported.find((x) => x.name === k.export);
  if (!e) die(`kind '${k.kind}': its export ${k.export}() is no CB_EXPORT function of wasm/*.c`);
  if (!returnsResult(e)) die(`kind '${k.kind}': ${k.export}() (wasm/${e.file}) returns '${e.ret}', not a result (char *)`);
}

// the layout: magic, version, size, kind, status, then " name offset length" per part, then "\n"
const versionAt = spec.magic.length + 1;
const sizeAt = versionAt + W + 1;
const kindAt = sizeAt + W + 1;
const statusAt = kindAt + KW + 1;
const prefixLen = statusAt + SW;
const kinds = spec.kinds.map((k, index) => {
  let at = prefixLen;
  const parts = k.parts.map((p, i) => {
    const nameAt = at + 1;
    const offsetAt = nameAt + p.name.length + 1;
    const lengthAt = offsetAt + W + 1;
    at = lengthAt + W;
    return { ...p, index: i, nameAt, offsetAt, lengthAt };
  });
  return { ...k, index, parts, headerLen: at + 1, id: k.kind.replace(/-/g, '_').toUpperCase() };
});
const maxParts = Math.max(...kinds.map((k) => k.parts.length));
const maxHeader = Math.max(...kinds.map((k) => k.headerLen));
const src = relative(top, specPath);
const cstr = (s) => JSON.stringify(s);

const c = `/* Generated by scripts/gen-result-protocol.mjs from ${src}: do not edit.
 * \`make result-protocol\` regenerates it; \`make result-protocol-check\` (in \`make check\`)
 * fails when it is stale. The header every glue entry point returning a result writes
 * before the result's body: one line of fixed-width text (docs/load-plan.md, "The worker's
 * result"). */
#ifndef CB_RESULT_H
#define CB_RESULT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_RESULT_MAGIC "${spec.magic}"
#define CB_RESULT_VERSION ${spec.version}
#define CB_RESULT_STATUS_OK "${spec.statusOk}"
#define CB_RESULT_STATUS_WIDTH ${SW}
#define CB_RESULT_KIND_WIDTH ${KW}
#define CB_RESULT_MAX_PARTS ${maxParts}
#define CB_RESULT_MAX_HEADER_LEN ${maxHeader}

enum cb_result_kind {
${kinds.map((k) => `\tCB_RESULT_KIND_${k.id}, /* ${k.export}() */`).join('\n')}
\tCB_RESULT_NR_KINDS
};
${kinds.map((k) => `
/* ${k.kind}: ${k.export}()'s result; ${spec.bodies[k.body]} */
enum cb_result_${k.id.toLowerCase()}_part {
${k.parts.map((p) => `\tCB_RESULT_${k.id}_${p.name.toUpperCase()}, /* ${p.holds} */`).join('\n')}
\tCB_RESULT_${k.id}_NR_PARTS
};
#define CB_RESULT_${k.id}_HEADER_LEN ${k.headerLen}`).join('\n')}

struct cb_result_kind_info {
	const char *name;	/* the header's kind field */
	const char *fn;		/* the export that writes it */
	int json_body;		/* the body is {"part":...,...}, else the parts' bytes back to back */
	int nr_parts;
	uint32_t header_len;
	const char *parts[CB_RESULT_MAX_PARTS]; /* in the body's order */
};

static const struct cb_result_kind_info cb_result_kinds[CB_RESULT_NR_KINDS] __attribute__((unused)) = {
${kinds.map((k) => `\t{ ${cstr(k.kind)}, ${cstr(k.export)}, ${k.body === 'json' ? 1 : 0}, ${k.parts.length}, ${k.headerLen}, { ${k.parts.map((p) => cstr(p.name)).join(', ')} } },`).join('\n')}
};

/* cb_set_report_mode(): what a run's report part holds (a mode other than full names itself
 * in the report as "reportMode") */
enum cb_report_mode {
${modes.map((m) => `\tCB_REPORT_${m.name.toUpperCase()}, /* ${m.holds} */`).join('\n')}
\tCB_REPORT_NR_MODES
};

static const char *const cb_report_mode_names[CB_REPORT_NR_MODES] __attribute__((unused)) = { ${modes.map((m) => cstr(m.name)).join(', ')} };

/* Write the header of a result of kind (its HEADER_LEN bytes, no NUL) to out. size: the
 * whole result's length, header included; off, len: each part's offset from the header's
 * first byte and its length. */
static inline void cb_result_header(char *out, enum cb_result_kind kind, const char *status, uint32_t size,
				    const uint32_t *off, const uint32_t *len)
{
	const struct cb_result_kind_info *k = &cb_result_kinds[kind];
	char buf[CB_RESULT_MAX_HEADER_LEN + 1];
	int n;

	n = snprintf(buf, sizeof(buf), CB_RESULT_MAGIC " %0${W}x %0${W}x %-${KW}.${KW}s %-${SW}.${SW}s", (unsigned)CB_RESULT_VERSION,
		     (unsigned)size, k->name, status);
	for (int i = 0; i < k->nr_parts; i++)
		n += snprintf(buf + n, sizeof(buf) - n, " %s %0${W}x %0${W}x", k->parts[i], (unsigned)off[i], (unsigned)len[i]);
	buf[n] = '\\n';
	memcpy(out, buf, k->header_len);
}

static inline int64_t cb_result_hex(const char *p)
{
	int64_t v = 0;

	for (int i = 0; i < ${W}; i++) {
		char ch = p[i];

		if (ch >= '0' && ch <= '9')
			v = v * 16 + (ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v * 16 + (ch - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* Read the header of a result of n bytes that must be of kind: 0, or -1 when it is none of
 * this version and kind, its size is not n, or a part lies outside it. status gets the
 * status without its padding; off and len each part's place. */
static inline int cb_result_parse(const char *in, size_t n, enum cb_result_kind kind, char status[CB_RESULT_STATUS_WIDTH + 1],
				  uint32_t *off, uint32_t *len)
{
	const struct cb_result_kind_info *k = &cb_result_kinds[kind];
	size_t at = ${prefixLen}, kl = strlen(k->name);
	int w = CB_RESULT_STATUS_WIDTH;

	if (n < k->header_len || memcmp(in, CB_RESULT_MAGIC " ", ${versionAt}) || cb_result_hex(in + ${versionAt}) != CB_RESULT_VERSION ||
	    cb_result_hex(in + ${sizeAt}) != (int64_t)n || memcmp(in + ${kindAt}, k->name, kl) || in[k->header_len - 1] != '\\n')
		return -1;
	for (size_t i = kl; i < CB_RESULT_KIND_WIDTH; i++)
		if (in[${kindAt} + i] != ' ')
			return -1;
	while (w > 0 && in[${statusAt} + w - 1] == ' ')
		w--;
	memcpy(status, in + ${statusAt}, w);
	status[w] = 0;
	for (int i = 0; i < k->nr_parts; i++) {
		size_t pl = strlen(k->parts[i]);
		int64_t o, l;

		if (in[at] != ' ' || memcmp(in + at + 1, k->parts[i], pl) || in[at + 1 + pl] != ' ')
			return -1;
		at += 1 + pl + 1;
		o = cb_result_hex(in + at);
		l = cb_result_hex(in + at + ${W + 1});
		at += ${2 * W + 1};
		if (o < k->header_len || l < 0 || (uint64_t)o + (uint64_t)l > n)
			return -1;
		off[i] = (uint32_t)o;
		len[i] = (uint32_t)l;
	}
	return 0;
}

/* A result of a kind whose body is the parts' bytes back to back, in one malloc'd buffer
 * (a NUL after it, not counted in its size): NULL when out of memory. */
static inline char *cb_result_bytes(enum cb_result_kind kind, const char *status, const void *const *part, const uint32_t *len)
{
	const struct cb_result_kind_info *k = &cb_result_kinds[kind];
	uint32_t off[CB_RESULT_MAX_PARTS];
	size_t at = k->header_len;
	char *r;

	for (int i = 0; i < k->nr_parts; i++) {
		off[i] = (uint32_t)at;
		at += len[i];
	}
	if (at >= UINT32_MAX || !(r = malloc(at + 1)))
		return NULL;
	for (int i = 0; i < k->nr_parts; i++)
		if (len[i])
			memcpy(r + off[i], part[i], len[i]);
	r[at] = 0;
	cb_result_header(r, kind, status, (uint32_t)at, off, len);
	return r;
}
#endif
`;

const ts = `// Generated by scripts/gen-result-protocol.mjs from ${src}: do not edit.
// \`make result-protocol\` regenerates it; \`make result-protocol-check\` (in \`make check\`) fails
// when it is stale. The header of the glue's results: src/worker/result.ts decodes it.

/** the header starts with this, then a space */
export const RESULT_MAGIC = '${spec.magic}';
/** the protocol version this code speaks (wasm/cb_result.h: CB_RESULT_VERSION) */
export const RESULT_VERSION = ${spec.version};
/** numbers: lowercase hex of this many digits */
export const RESULT_NUMBER_WIDTH = ${W};
/** where the version sits: it never moves, so any version's header says which it is */
export const RESULT_VERSION_AT = ${versionAt};
/** the whole result's length in bytes, header included */
export const RESULT_SIZE_AT = ${sizeAt};
export const RESULT_KIND_AT = ${kindAt};
export const RESULT_KIND_WIDTH = ${KW};
export const RESULT_STATUS_AT = ${statusAt};
export const RESULT_STATUS_WIDTH = ${SW};
/** the status of a result whose call succeeded (else the errno's name) */
export const RESULT_STATUS_OK = '${spec.statusOk}';
/** the fields every kind's header starts with (magic to status); the parts follow */
export const RESULT_PREFIX_LEN = ${prefixLen};

/** per kind of result: the export that writes it, its body (${Object.entries(spec.bodies).map(([b, d]) => `${b}: ${d}`).join('; ')}), its header's length, its parts in the body's order and where each part's name, offset and length sit in the header */
export const RESULT_KINDS = {
${kinds.map((k) => `  /** ${k.export}()'s result */
  '${k.kind}': {
    export: '${k.export}',
    body: '${k.body}',
    headerLength: ${k.headerLen},
    parts: [${k.parts.map((p) => `'${p.name}'`).join(', ')}],
    fields: {
${k.parts.map((p) => `      /** ${p.holds} */\n      ${p.name}: { nameAt: ${p.nameAt}, offsetAt: ${p.offsetAt}, lengthAt: ${p.lengthAt} },`).join('\n')}
    },
  },`).join('\n')}
} as const;
export type ResultKind = keyof typeof RESULT_KINDS;
export type ResultPart<K extends ResultKind> = (typeof RESULT_KINDS)[K]['parts'][number];

/** cb_set_report_mode()'s modes, by number: what a run's report part holds (a mode other
 *  than full names itself in the report as "reportMode")
${modes.map((m) => ` *  - ${m.name}: ${m.holds}`).join('\n')} */
export const REPORT_MODES = [${modes.map((m) => `'${m.name}'`).join(', ')}] as const;
export type ReportMode = (typeof REPORT_MODES)[number];
`;

const outputs = [[join(top, 'wasm/cb_result.h'), c], [join(top, 'src/worker/generated/result-protocol.ts'), ts]];
if (process.argv.includes('--check')) {
  let stale = 0;
  for (const [path, text] of outputs) {
    if ((existsSync(path) ? readFileSync(path, 'utf8') : '') !== text) {
      console.error(`gen-result-protocol: ${relative(top, path)} is stale: ${src} or the generator changed; run make result-protocol`);
      stale++;
    }
  }
  process.exit(stale ? 1 : 0);
}
for (const [path, text] of outputs) writeFileSync(path, text);
console.log(`gen-result-protocol: ${outputs.map(([p]) => relative(top, p)).join(', ')}: version ${spec.version}, ${kinds.map((k) => `${k.kind} ${k.headerLen}`).join(', ')} header bytes`);
