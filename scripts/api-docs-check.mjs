#!/usr/bin/env node
// Checks the API reference typedoc wrote (make api-docs) against the public entry point:
// every name src/index.ts exports has its page (an alias, such as Map for BpfMap, the page
// of what it names), the main classes and functions are there with their members, and every
// link between the pages leads to a page and anchor that exist. typedoc itself already fails
// on a warning (typedoc.json: an undocumented export, a type it cannot link, a broken {@link}).
//
//   node scripts/api-docs-check.mjs [API_DIR]     (default build/api)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const top = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = resolve(process.argv[2] ?? join(top, 'build/api'));
const KINDS = ['classes', 'functions', 'variables', 'interfaces', 'types', 'enums'];
const problems = [];

if (!existsSync(join(out, 'index.html'))) {
  console.error(`api-docs-check: no ${relative(top, out)}/index.html: run 'make api-docs' first`);
  process.exit(1);
}

// the exports of src/index.ts, by the compiler (type-only exports included)
const cfg = ts.getParsedCommandLineOfConfigFile(join(top, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } });
const program = ts.createProgram([join(top, 'src/index.ts')], { ...cfg.options, noEmit: true });
const checker = program.getTypeChecker();
const entry = checker.getSymbolAtLocation(program.getSourceFile(join(top, 'src/index.ts')));
const exported = checker.getExportsOfModule(entry);

const pageOf = (name) => KINDS.map((k) => `${k}/${name}.html`).find((p) => existsSync(join(out, p)));
for (const sym of exported) {
  const name = sym.getName();
  if (pageOf(name)) continue;
  // an alias under a second name (export { BpfMap as Map }): the original's page
  const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  const alias = exported.find((s) => s !== sym && (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s) === target && pageOf(s.getName()));
  if (!alias) problems.push(`export '${name}' of src/index.ts has no page`);
}

// the main entry points, with members a user reaches for first
const MAIN = {
  'classes/BpfObject.html': ['open', 'load', 'map', 'program', 'close'],
  'classes/BpfMap.html': ['get', 'set', 'delete', 'entries'],
  'classes/Program.html': ['attach', 'pin'],
  'classes/Relocator.html': ['relocate', 'close'],
  'classes/RingBufferReader.html': ['next', 'poll', 'consume'],
  'classes/PerfBufferReader.html': ['next'],
  'classes/RelocationError.html': ['relocations'],
  'classes/VerifierError.html': ['log'],
  'functions/relocate.html': [], 'functions/runCheck.html': [], 'functions/runCheckVerify.html': [],
  'functions/mergeReports.html': [], 'functions/renderCheckJunit.html': [], 'functions/renderCheckHtml.html': [],
  'functions/parsePlan.html': [], 'functions/serializePlan.html': [], 'functions/replayPlan.html': [],
  'functions/btfDumpC.html': [], 'functions/btfMin.html': [],
  'interfaces/LoadPlan.html': ['programs', 'maps', 'relocations'],
  'interfaces/CheckReport.html': ['results', 'summary'],
  'interfaces/RelocateResult.html': ['ok', 'plan', 'relocations'],
};
for (const [page, members] of Object.entries(MAIN)) {
  if (!existsSync(join(out, page))) { problems.push(`no page ${page}`); continue; }
  const html = readFileSync(join(out, page), 'utf8');
  for (const m of members) if (!html.includes(` id="${m.toLowerCase()}"`)) problems.push(`${page}: no member '${m}'`);
}

// every relative link resolves to a page, and its #anchor to an id on that page
const pages = [];
const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith('.html')) pages.push(p); } };
walk(out);
const ids = new Map();
const idsOf = (p) => {
  if (!ids.has(p)) ids.set(p, new Set([...readFileSync(p, 'utf8').matchAll(/ id="([^"]+)"/g)].map((m) => m[1])));
  return ids.get(p);
};
let links = 0;
for (const p of pages) {
  for (const [, href] of readFileSync(p, 'utf8').matchAll(/ href="([^"]*)"/g)) {
    if (/^[a-z]+:/i.test(href) || href === '' || href === '#') continue;
    links++;
    const [file, anchor] = href.split('#');
    const target = file ? resolve(dirname(p), decodeURIComponent(file)) : p;
    if (!existsSync(target)) { problems.push(`${relative(out, p)}: link to missing ${href}`); continue; }
    if (anchor && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(anchor))) problems.push(`${relative(out, p)}: link to missing anchor ${href}`);
  }
}

if (problems.length) {
  for (const m of problems.slice(0, 50)) console.error(`api-docs-check: ${m}`);
  if (problems.length > 50) console.error(`api-docs-check: ... and ${problems.length - 50} more`);
  process.exit(1);
}
console.log(`api-docs-check: ${pages.length} pages, ${exported.length} exports of src/index.ts each with its page, ${links} links resolved (${relative(top, out)}/)`);
