// The lab's kernels (scripts/lab/kernels.list) as data, shared by `make lab` and
// `corebpf check --verify`, and which of them boots the kernel of a BTF fixture: same
// architecture, same upstream version (the package versions pinned here, e.g. 6.1.176-1, and
// the fixture's manifest version or the version in its name, e.g. amd64-6.1.176).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** kernels.list rows: { name, arch, suite, flags, packages: [{ name, version, sha256 }] } */
export function readKernelList(top) {
  return readFileSync(join(top, 'scripts/lab/kernels.list'), 'utf8').split('\n')
    .map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)
    .map((l) => {
      const [name, arch, suite, flags, ...specs] = l.split(/\s+/);
      const packages = specs.map((s) => {
        const m = /^([^=]+)=([^@]+)@([0-9a-f]+)$/.exec(s);
        return m ? { name: m[1], version: m[2], sha256: m[3] } : { name: s, version: null, sha256: null };
      });
      return { name, arch, suite, flags, packages };
    });
}

/** "6.1.176-1" / "7.2.13-1" / "6.12.107+deb13" -> "6.1.176": the upstream part of a Debian version */
export function upstreamVersion(v) {
  const m = /^(\d+\.\d+(?:\.\d+)?)/.exec(v ?? '');
  return m ? m[1] : null;
}

/** the upstream version of a lab kernel: its pinned packages' (they agree) */
export function labVersion(row) {
  const vs = new Set(row.packages.map((p) => upstreamVersion(p.version)).filter(Boolean));
  return vs.size === 1 ? [...vs][0] : null;
}

/** a fixture's upstream version: its manifest version, else the version in its id */
export function fixtureVersion(kernel) {
  return upstreamVersion(kernel.version) ?? /(?:^|[^0-9.])(\d+\.\d+\.\d+)(?:$|[^0-9])/.exec(kernel.id ?? '')?.[1] ?? null;
}

/**
 * The lab kernel that boots fixture `kernel` ({ id, arch, package?, version? }): { row, exact }
 * when one matches (exact: the fixture's own package, the kernel whose BTF the fixture is), or
 * { why } saying why none does.
 */
export function labKernelFor(rows, kernel) {
  const v = fixtureVersion(kernel);
  if (!kernel.arch) return { why: `the architecture of ${kernel.id} is unknown` };
  if (!v) return { why: `the kernel version of ${kernel.id} is unknown` };
  // the fixture's own package (a `fixture` row: the same BTF), else the lab's flavor of it
  const exact = kernel.package && kernel.version
    ? rows.find((r) => r.arch === kernel.arch && r.packages.some((p) => p.name === kernel.package && p.version === kernel.version))
    : undefined;
  if (exact) return { row: exact, exact: true };
  const row = rows.find((r) => r.arch === kernel.arch && r.flags !== 'fixture' && labVersion(r) === v);
  return row ? { row, exact: false } : { why: `no lab kernel is ${kernel.arch} ${v} (scripts/lab/kernels.list)` };
}

/** where fetch-kernels.sh puts a lab kernel; `fetched` when its image is there */
export function fetchedKernel(deps, row) {
  const dir = join(deps, 'lab/kernels', row.name);
  const info = join(dir, 'info');
  if (!existsSync(join(dir, 'vmlinuz')) || !existsSync(info)) return { dir, fetched: false };
  const [, , release, ...packages] = readFileSync(info, 'utf8').trim().split(' ');
  return { dir, fetched: true, release, packages: packages.join(' '), kernel: join(dir, 'vmlinuz'),
    unpinned: existsSync(join(dir, 'unpinned-instead-of')) ? readFileSync(join(dir, 'unpinned-instead-of'), 'utf8').trim() : null };
}
