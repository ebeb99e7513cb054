// The glue's entry points, read from their one source: the CB_EXPORT definitions of
// wasm/*.c. gen-exports.mjs declares them for TypeScript and lists them for the Makefile;
// gen-result-protocol.mjs checks that every one returning a malloc'd result (char *) is a
// kind of the result protocol.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** every `CB_EXPORT <type> <name>(<params>)` of `dir`/*.c, sorted by name: {name, ret, params, file} */
export function exportsOf(dir) {
  const found = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.c')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/^CB_EXPORT\s+([^()]*?)\b(cb_\w+)\s*\(([^)]*)\)/gm)) {
      const ret = m[1].trim();
      const params = m[3].trim() === 'void' || m[3].trim() === '' ? [] : m[3].split(',').map((p) => {
        const name = /(\w+)\s*$/.exec(p.trim())?.[1];
        if (!name) throw new Error(`cb-exports: ${f}: cannot read a parameter name in '${m[0]}'`);
        return name.replace(/_(\w)/g, (_, c) => c.toUpperCase());
      });
      found.push({ name: m[2], ret, params, file: f });
    }
  }
  const names = found.map((e) => e.name);
  const dup = names.find((n, k) => names.indexOf(n) !== k);
  if (dup) throw new Error(`cb-exports: ${dup} is exported twice`);
  return found.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** whether an export's C return type is a malloc'd result the caller frees with cb_free():
 *  a `char *` that is not const (a const char * is the glue's own static text) */
export function returnsResult(e) {
  return /^char\s*\*$/.test(e.ret);
}
