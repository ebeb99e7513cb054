// libbpf's glob_match() (libbpf.c): '*' matches any run of characters, '?' any one
// character, nothing else is special (no classes, no escapes). kprobe.multi and
// uprobe.multi patterns mean exactly what they mean to libbpf.
export function globMatch(str: string, pat: string): boolean {
  let s = 0;
  let p = 0;
  while (s < str.length && p < pat.length && pat[p] !== '*') {
    if (pat[p] !== '?' && str[s] !== pat[p]) return false;
    s++;
    p++;
  }
  if (pat[p] === '*') {
    while (pat[p] === '*') p++;
    if (p === pat.length) return true; // a tail wildcard matches everything
    const rest = pat.slice(p);
    for (; s < str.length; s++) if (globMatch(str.slice(s), rest)) return true;
  }
  return s === str.length && p === pat.length;
}

/** Whether `pat` has a wildcard (a plain name is looked up, not matched). */
export function isGlob(pat: string): boolean {
  return pat.includes('*') || pat.includes('?');
}

/** u64 little/native-endian array of `values` (the kernel's `unsigned long` / `__u64` arrays). */
export function u64Array(values: readonly (number | bigint)[]): Uint8Array {
  const buf = new Uint8Array(Math.max(8, 8 * values.length));
  const dv = new DataView(buf.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), le));
  return buf;
}
