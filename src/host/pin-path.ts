// Where a plan's maps are pinned. A plan's pin paths are untrusted: they are normalised
// and must resolve inside the pin root (default /sys/fs/bpf), and directories are created
// only below that root, on a BPF filesystem. `..` and symlinks cannot lead out of it.
import { existsSync, mkdirSync, realpathSync, statfsSync } from 'node:fs';
import { posix } from 'node:path';
import { CorebpfError, NotSupportedError, ObjectFormatError } from '../errors.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf';
export const BPF_FS_MAGIC = 0xcafe4a11;

/** Whether a directory is on a BPF filesystem. */
export function isBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

function inside(path: string, root: string): boolean {
  return root === '/' ? path.startsWith('/') : path === root || path.startsWith(`${root}/`);
}

/** The pin root in normal form (absolute, no trailing slash, no `.` or `..`). */
export function pinRootOf(pinRoot: string | undefined): string {
  const r = posix.resolve(pinRoot ?? DEFAULT_PIN_ROOT);
  return r.length > 1 ? r.replace(/\/+$/, '') : r;
}

/**
 * Where a map with the plan's `pinPath` is pinned: with an explicit `pinRoot`, the root
 * and the path's last component (a plain name); else the plan's path, which must lie
 * inside /sys/fs/bpf once normalised. Throws ObjectFormatError for a path that escapes.
 */
export function resolvePinPath(pinPath: string | null, pinRoot: string | undefined, mapName = ''): string | null {
  if (pinPath === null) return null;
  const what = mapName ? `map '${mapName}'` : 'a map';
  if (pinPath.includes('\0')) throw new ObjectFormatError(`the pin path of ${what} contains a NUL byte`, { field: 'pinPath', map: mapName });
  const root = pinRootOf(pinRoot);
  if (pinRoot !== undefined) {
    const name = pinPath.replace(/\/+$/, '').split('/').pop() ?? '';
    if (name === '' || name === '.' || name === '..') {
      throw new ObjectFormatError(`the pin path '${pinPath}' of ${what} does not end in a file name`, { field: 'pinPath', map: mapName, path: pinPath });
    }
    return `${root}/${name}`;
  }
  const p = posix.normalize(pinPath);
  if (!p.startsWith('/') || p === root || !inside(p, root)) {
    throw new ObjectFormatError(
      `the pin path '${pinPath}' of ${what} resolves to '${p}', outside the pin root ${root}: refusing to pin there ` +
      '(give pinRoot to pin the plan\'s maps somewhere else)', { field: 'pinPath', map: mapName, path: pinPath, root });
  }
  return p;
}

/** The real location of a path whose tail may not exist yet: realpath of its nearest
 * existing ancestor, then the missing components. */
function realLocation(path: string): { existing: string; real: string; missing: string[] } {
  const missing: string[] = [];
  let probe = path;
  while (!existsSync(probe) && posix.dirname(probe) !== probe) {
    missing.unshift(posix.basename(probe));
    probe = posix.dirname(probe);
  }
  let real = probe;
  try {
    real = realpathSync(probe);
  } catch { /* vanished: keep the name */ }
  return { existing: probe, real: posix.join(real, ...missing), missing };
}

/**
 * Make sure the directory of `path` (inside `root`) exists on a bpffs, creating the missing
 * directories, all of them inside the root. Nothing is created when the checks fail.
 */
export function ensurePinDir(path: string, pinRoot: string | undefined, mapName: string): void {
  const root = pinRootOf(pinRoot);
  const dir = posix.dirname(path);
  if (!inside(dir, root)) {
    throw new ObjectFormatError(`cannot pin map '${mapName}' at '${path}': outside the pin root ${root}`, { field: 'pinPath', map: mapName, path, root });
  }
  const d = realLocation(dir);
  const r = realLocation(root);
  if (!inside(d.real, r.real)) {
    throw new CorebpfError(
      `cannot pin map '${mapName}' at '${path}': it leads to '${d.real}', outside the pin root ${root} (${r.real})`,
      { map: mapName, path, root });
  }
  if (!isBpffs(d.existing)) {
    throw new NotSupportedError(
      `cannot pin map '${mapName}' at '${path}': ${d.existing} is not on a BPF filesystem (bpffs); ` +
      'mount one with `mount -t bpf bpf /sys/fs/bpf`, or give another pin root',
      { feature: 'bpffs', path, map: mapName });
  }
  if (!d.missing.length) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CorebpfError(`cannot create the pin directory '${dir}' for map '${mapName}': ${err.message}`, { map: mapName, path: dir, code: err.code }, { cause: e });
  }
}
