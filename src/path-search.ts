// The PATH walk shared by uprobe target resolution (libbpf's resolve_full_path) and gen's
// clang / llvm-strip lookup, so both agree on what counts as a usable file.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter } from 'node:path';

/** A regular file we may execute (exec) or read. */
export function usableFile(p: string, exec: boolean): boolean {
  try {
    accessSync(p, exec ? constants.X_OK : constants.R_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first `dir/name` among dirs that is a usable file, or null. */
export function searchDirs(name: string, dirs: readonly string[], exec: boolean): string | null {
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    if (usableFile(p, exec)) return p;
  }
  return null;
}

/** PATH's directories, with the shell's default when PATH is unset. */
export function pathDirs(): string[] {
  return (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(Boolean);
}

/** An executable by bare name on PATH, or a given path if it is one; null when missing. */
export function findExecutable(cmd: string): string | null {
  if (cmd.includes('/')) return usableFile(cmd, true) ? cmd : null;
  return searchDirs(cmd, pathDirs(), true);
}
