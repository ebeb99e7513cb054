// The kernels of `corebpf check --btf-dir DIR`: *.btf, *.btf.xz and vmlinux ELF files under
// DIR (recursively), described by DIR/manifest.json when there is one (the format of
// testdata/btf/manifest.json), and the deterministic --shard slice of them.
import { closeSync, existsSync, openSync, readSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CorebpfError } from '../errors.js';
import { inputTooLarge, maxInputSize, readInput } from '../inputs.js';
import { childProcess } from '../lazy-modules.js';
import { readThroughCache } from './btf-cache.js';
import { kernelFile } from './kernel-files.js';
import type { CheckedKernel, Endianness, SkippedKernel } from './report.js';

export interface ManifestEntry {
  file: string;
  arch?: string;
  kernelRelease?: string;
  /** uname -v; when absent for a Debian kernel (suite set), "#1 SMP Debian VERSION" */
  kernelVersion?: string;
  endianness?: Endianness;
  base?: string | null;
  package?: string;
  version?: string;
  suite?: string;
  /** the kernel's config (/boot/config-*) and symbols (System.map as kallsyms), beside it */
  kconfig?: { file: string };
  kallsyms?: { file: string };
}

/** A kernel BTF file of a check run. */
export interface KernelInput extends CheckedKernel {
  /** absolute or cwd-relative path of the file */
  path: string;
}

/** The kernels of a `--btf-dir` ({@link listCheckKernels}): those to check and those skipped, with why. */
export interface KernelList {
  kernels: KernelInput[];
  skipped: SkippedKernel[];
  /** non-fatal remarks (manifest entries whose file is missing, ...) */
  warnings: string[];
}

/** Debian arch (or uname -m) -> uname -m, which libbpf sees */
const MACHINE: Record<string, string> = {
  amd64: 'x86_64', x86_64: 'x86_64', arm64: 'aarch64', aarch64: 'aarch64', ppc64el: 'ppc64le', ppc64le: 'ppc64le',
  ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', i386: 'i686', i686: 'i686', armhf: 'armv7l', armel: 'armv7l',
  mips64el: 'mips64', loong64: 'loongarch64', loongarch64: 'loongarch64',
};

export function machineOf(arch: string | null): string | null {
  return arch ? MACHINE[arch] ?? arch : null;
}

/** an arch named in a path ("…/x86_64/5.4.0-42.btf", "arm64-6.1.btf") */
function archFromPath(rel: string): string | null {
  const m = /(?:^|[^a-z0-9])(amd64|x86_64|arm64|aarch64|ppc64el|ppc64le|s390x|riscv64|i386|armhf|loong64|mips64el)(?:$|[^a-z0-9])/i.exec(rel);
  if (!m) return null;
  const a = m[1]!.toLowerCase();
  return ({ x86_64: 'amd64', aarch64: 'arm64', ppc64le: 'ppc64el' } as Record<string, string>)[a] ?? a;
}

/** a kernel release in a file name ("5.15.0-1004-aws.btf") */
function releaseFromName(id: string): string | null {
  const base = id.split('/').pop()!.replace(/^vmlinu[xz]-/, '');
  return /^\d+\.\d+(\.\d+)?([-+~.][\w.+~-]*)?$/.test(base) ? base : null;
}

function kernelId(rel: string): string {
  return rel.split(sep).join('/').replace(/\.xz$/, '').replace(/\.btf$/, '');
}

function isElf(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function candidate(rel: string, full: string): boolean {
  const base = rel.split(sep).pop()!;
  if (/\.btf(\.xz)?$/.test(base)) return true;
  if (/^vmlinux/.test(base)) return true;
  if (/\.(o|ko|json|md|txt|list|sh|py|c|h|gz|tar|zst)$/.test(base)) return false;
  if (/\.(config|kallsyms)(\.xz)?$/.test(base)) return false;
  return isElf(full);
}

function walk(dir: string, root: string, out: string[]): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, ent.name);
    if (ent.isDirectory()) walk(full, root, out);
    else if ((ent.isFile() || (ent.isSymbolicLink() && statSync(full).isFile())) && candidate(relative(root, full), full)) out.push(full);
  }
}

function readManifest(dir: string): Map<string, ManifestEntry> | null {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new CorebpfError(`${p}: invalid JSON (${(e as Error).message})`, { path: p }, { cause: e });
  }
  const list = Array.isArray(v) ? v : (v as { kernels?: unknown })?.kernels;
  if (!Array.isArray(list)) throw new CorebpfError(`${p}: expected an array of {file, arch, kernelRelease, endianness, base}`);
  const out = new Map<string, ManifestEntry>();
  for (const e of list as ManifestEntry[]) {
    if (!e || typeof e.file !== 'string') throw new CorebpfError(`${p}: every entry needs a "file"`);
    out.set(e.file, e);
  }
  return out;
}

/** Kernels under `dir`, sorted by id. */
export function listKernels(dir: string): KernelList {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CorebpfError(`--btf-dir '${dir}' is not a directory`, { path: dir });
  const files: string[] = [];
  walk(dir, dir, files);
  const manifest = readManifest(dir);
  const warnings: string[] = [];
  const skipped: SkippedKernel[] = [];
  const kernels: KernelInput[] = [];
  const seen = new Set<string>();
  for (const full of files) {
    const rel = relative(dir, full).split(sep).join('/');
    seen.add(rel);
    const m = manifest?.get(rel);
    if (m?.base) {
      skipped.push({ file: rel, reason: `split BTF of a module (base ${m.base}): module BTF is not checked as a relocation target yet` });
      continue;
    }
    const id = kernelId(rel);
    const arch = m?.arch ?? archFromPath(rel);
    const kernelRelease = m?.kernelRelease ?? releaseFromName(id);
    const kernelVersion = m?.kernelVersion ?? (m?.suite && m.version ? `#1 SMP Debian ${m.version}` : null);
    const k: KernelInput = {
      id, file: rel, path: full, arch, kernelRelease, kernelVersion, machine: machineOf(arch),
      // without a manifest, the byte order is read from the BTF itself when it is loaded
      endianness: m?.endianness ?? null,
      btfSha256: null, source: m ? 'manifest' : 'file',
    };
    const kconfig = kernelFile(dir, rel, 'config', m?.kconfig?.file);
    const kallsyms = kernelFile(dir, rel, 'kallsyms', m?.kallsyms?.file);
    if (kconfig) k.kconfig = kconfig;
    if (kallsyms) k.kallsyms = kallsyms;
    if (m?.package) k.package = m.package;
    if (m?.version) k.version = m.version;
    kernels.push(k);
  }
  if (manifest) {
    for (const f of manifest.keys()) if (!seen.has(f)) warnings.push(`${join(dir, 'manifest.json')} lists '${f}', which is not there`);
  }
  const ids = new Map<string, string>();
  for (const k of kernels) {
    const other = ids.get(k.id);
    if (other) throw new CorebpfError(`--btf-dir: '${other}' and '${k.file}' are the same kernel id '${k.id}'; keep one of them`);
    ids.set(k.id, k.file);
  }
  kernels.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  skipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  return { kernels, skipped, warnings };
}

/** "3/8" -> {index: 3, count: 8} */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new CorebpfError(`--shard expects I/N with 1 <= I <= N (e.g. 3/8), got '${spec}'`, { usage: true });
  return { index, count };
}

/** The kernels of shard index/count: every count-th kernel of the sorted list, from index-1. */
export function shardOf<T>(sorted: T[], index: number, count: number): T[] {
  return sorted.filter((_, i) => i % count === index - 1);
}

/** A kernel's bytes; .xz files decompressed by xz(1) in a child process (so the event loop
 *  keeps running), once: then from the cache of decompressed BTF (./btf-cache.ts). */
export async function readKernel(path: string, stats?: { cacheHits: number }): Promise<Uint8Array> {
  if (!path.endsWith('.xz')) return readInput(path, 'kernel BTF');
  const r = await readThroughCache(path, () => unxz(path));
  // the limit holds for what a cache kept under a larger one too
  if (r.bytes.byteLength > maxInputSize()) throw inputTooLarge(path, 'kernel BTF', maxInputSize());
  if (r.hit && stats) stats.cacheHits++;
  return r.bytes;
}

function unxz(path: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('xz', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    let total = 0;
    const limit = maxInputSize();
    child.stdout.on('data', (c: Buffer) => {
      total += c.byteLength;
      if (total > limit) {
        chunks.length = 0;
        child.kill('SIGKILL');
        reject(inputTooLarge(path, 'kernel BTF', limit));
        return;
      }
      chunks.push(c);
    });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('error', (e) => reject(new CorebpfError(`cannot read kernel BTF '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'xz(1) not installed (apt-get install xz-utils)' : e.message}`, { path }, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) reject(new CorebpfError(`cannot read kernel BTF '${path}': xz exited with ${code}: ${err.trim()}`, { path }));
      else {
        const b = Buffer.concat(chunks);
        resolve(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      }
    });
  });
}
