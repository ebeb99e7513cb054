// `corebpf gen prog.bpf.c`: the C compiled twice with the system's clang, for bpfel and bpfeb
// (as bpf2go does), against libbpf's BPF-side headers shipped in dist/include (the libbpf
// inside the wasm, so helpers and relocation records agree) and a vmlinux.h that libbpf's
// btf_dump writes from kernel BTF.
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { btfDumpC } from '../btf-dump.js';
import { CorebpfError } from '../errors.js';
import { childProcess } from '../lazy-modules.js';
import { findExecutable } from '../path-search.js';

export interface CompileOptions {
  /** the clang to run (default: $CLANG, else the first of clang, clang-20 … clang-14 on PATH) */
  clang?: string;
  /** kernel BTF the generated vmlinux.h describes (raw, ELF or .xz; default /sys/kernel/btf/vmlinux) */
  btf?: string;
  /** a vmlinux.h to use as it is, instead of generating one */
  vmlinux?: string;
  /** __TARGET_ARCH_* for bpf_tracing.h's PT_REGS (default: this host's: x86, arm64, …) */
  targetArch?: string;
  /** more clang arguments (-I, -D), after the defaults */
  cflags?: readonly string[];
  /** keep the DWARF (by default llvm-strip -g removes it, as bpf2go does: BTF carries what
   *  libbpf and corebpf read, and DWARF is most of an object built against a vmlinux.h) */
  keepDebug?: boolean;
}

export interface CompiledObject {
  /** clang -target bpfel */
  little: Uint8Array;
  /** clang -target bpfeb */
  big: Uint8Array;
  /** NAME.bpf.o, the object's name as the generated module records it */
  objectFile: string;
}

const CLANGS = ['clang', ...Array.from({ length: 7 }, (_, i) => `clang-${20 - i}`)];

/** bpf_tracing.h's names for Node's process.arch */
const TARGET_ARCH: Record<string, string> = {
  x64: 'x86', ia32: 'x86', arm64: 'arm64', arm: 'arm', s390x: 's390', ppc64: 'powerpc',
  riscv64: 'riscv', loong64: 'loongarch', mips: 'mips', mipsel: 'mips',
};

export function findClang(explicit?: string): string {
  const wanted = explicit ?? process.env.CLANG;
  if (wanted) {
    const p = findExecutable(wanted);
    if (!p) throw new CorebpfError(`clang '${wanted}' was not found${explicit ? '' : ' ($CLANG)'}: give the path of an installed clang`);
    return p;
  }
  for (const c of CLANGS) {
    const p = findExecutable(c);
    if (p) return p;
  }
  throw new CorebpfError('no clang on PATH (looked for clang, clang-20 … clang-14): install one (Debian: apt-get install clang) or pass --clang');
}

/** the llvm-strip of clang's own LLVM (clang-16 is /usr/lib/llvm-16/bin/clang), else one on PATH */
export function findStrip(clang: string): string {
  const own = join(dirname(realpathSync(clang)), 'llvm-strip');
  if (existsSync(own)) return own;
  const suffix = /-(\d+)$/.exec(basename(clang))?.[1];
  const p = (suffix && findExecutable(`llvm-strip-${suffix}`)) || findExecutable('llvm-strip');
  if (!p) throw new CorebpfError(`no llvm-strip beside ${clang} or on PATH, to remove the objects' DWARF: install llvm (Debian: apt-get install llvm) or pass --keep-debug`);
  return p;
}

/** dist/include of this package: the libbpf headers `make` copies there */
export function bpfIncludeDir(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    for (const cand of [join(d, 'include'), join(d, 'dist', 'include')]) {
      if (existsSync(join(cand, 'bpf', 'bpf_helpers.h'))) return cand;
    }
  }
  throw new CorebpfError("libbpf's BPF headers (dist/include/bpf/bpf_helpers.h) are missing from this installation: run make in the source tree, or reinstall the package");
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((res, rej) => {
    const p = childProcess().spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    p.on('error', (e) => rej(new CorebpfError(`could not run ${cmd}: ${e.message}`)));
    p.on('close', (code) => res({ code: code ?? 1, stderr }));
  });
}

function targetArchOf(opt: string | undefined): string {
  const arch = opt ?? TARGET_ARCH[process.arch];
  if (!arch) throw new CorebpfError(`no __TARGET_ARCH_ for this host's architecture '${process.arch}': pass --target-arch (x86, arm64, s390, powerpc, riscv, …)`);
  if (!/^\w+$/.test(arch)) throw new CorebpfError(`--target-arch '${arch}' is not a bpf_tracing.h architecture name (x86, arm64, s390, powerpc, riscv, …)`);
  return arch;
}

/** Compile SOURCE for both byte orders. The objects depend only on the source, the headers and
 * clang: paths are mapped away, so the same inputs give the same bytes on any machine. */
export async function compileBpf(source: string, opts: CompileOptions = {}): Promise<CompiledObject> {
  const src = resolve(source);
  let text: string;
  try {
    text = readFileSync(src, 'utf8');
  } catch (e) {
    throw new CorebpfError(`cannot read the BPF program ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const clang = findClang(opts.clang);
  const strip = opts.keepDebug ? null : findStrip(clang);
  const include = bpfIncludeDir();
  const arch = targetArchOf(opts.targetArch);
  const srcDir = dirname(src);
  const stem = basename(src).replace(/\.c$/, '').replace(/\.bpf$/, '');
  const tmp = mkdtempSync(join(tmpdir(), 'corebpf-gen-'));
  try {
    const wantsVmlinux = /#\s*include\s*[<"]vmlinux\.h[>"]/.test(text);
    if (opts.vmlinux) {
      writeFileSync(join(tmp, 'vmlinux.h'), readFileSync(opts.vmlinux));
    } else if (wantsVmlinux || opts.btf) {
      const btf = opts.btf ?? '/sys/kernel/btf/vmlinux';
      if (!opts.btf && !existsSync(btf)) {
        throw new CorebpfError(`${source} includes vmlinux.h and this kernel has no ${btf}: pass --btf KERNEL_BTF (a distribution's vmlinux BTF, e.g. from btfhub) or --vmlinux HEADER`);
      }
      writeFileSync(join(tmp, 'vmlinux.h'), await btfDumpC(btf));
    }
    const common = [
      '-g', '-O2', '-mcpu=v3', `-D__TARGET_ARCH_${arch}`,
      `-I${srcDir}`, `-I${tmp}`, `-I${include}`,
      `-ffile-prefix-map=${srcDir}=.`, `-ffile-prefix-map=${tmp}=.`, `-ffile-prefix-map=${include}=corebpf`,
      ...(opts.cflags ?? []),
    ];
    const build = async (target: 'bpfel' | 'bpfeb'): Promise<Uint8Array> => {
      const out = join(tmp, `${stem}.${target}.o`);
      const { code, stderr } = await run(clang, ['-target', target, ...common, '-c', basename(src), '-o', out], srcDir);
      if (code !== 0) {
        const hint = /'vmlinux\.h' file not found/.test(stderr) ? '\n(a header includes vmlinux.h: pass --btf KERNEL_BTF or --vmlinux HEADER)' : '';
        throw new CorebpfError(`${basename(clang)} could not compile ${source} for ${target}:\n${stderr.trimEnd()}${hint}`);
      }
      if (strip) {
        const s = await run(strip, ['-g', out], tmp);
        if (s.code !== 0) throw new CorebpfError(`${basename(strip)} -g ${basename(out)} failed:\n${s.stderr.trimEnd()}`);
      }
      return new Uint8Array(readFileSync(out));
    };
    const little = await build('bpfel');
    const big = await build('bpfeb');
    return { little, big, objectFile: `${stem}.bpf.o` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
