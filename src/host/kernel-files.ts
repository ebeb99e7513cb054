// The files libbpf reads about the kernel it runs on, found where libbpf finds them: the
// kernel BTF, the kernel config and /proc/kallsyms. Plain file reads (no bpf(), no FFI),
// so the relocation API can use them too.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { release } from 'node:os';
import { NotSupportedError } from '../errors.js';
import { zlib } from '../lazy-modules.js';
import { fileIdentity, HOST_BTF_PATH } from '../inputs.js';

/** libbpf's btf__load_vmlinux_btf() fallback locations (%s: uname -r) */
export const VMLINUX_FALLBACKS = [
  '/boot/vmlinux-%s', '/lib/modules/%s/vmlinux-%s', '/lib/modules/%s/build/vmlinux',
  '/usr/lib/modules/%s/kernel/vmlinux', '/usr/lib/debug/boot/vmlinux-%s', '/usr/lib/debug/boot/vmlinux-%s.debug',
  '/usr/lib/debug/lib/modules/%s/vmlinux',
] as const;

/** Where libbpf reads the kernel config, in its order (%s: uname -r) */
export const KCONFIG_PATHS = ['/boot/config-%s', '/proc/config.gz'] as const;

export const KALLSYMS_PATH = '/proc/kallsyms';

const fill = (pattern: string, rel: string): string => pattern.replaceAll('%s', rel);

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

const sysfsBtfFound = new Set<string>();

/**
 * The running kernel's BTF: /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF), else the
 * first readable vmlinux of libbpf's fallback list. Throws NotSupportedError naming what
 * was looked for and how to pass a BTF file.
 */
export function hostBtfPath(rel: string = release(), sysfs: string = HOST_BTF_PATH): string {
  // a running kernel's sysfs BTF stays while it runs: found once, not asked on every load
  if (sysfsBtfFound.has(sysfs)) return sysfs;
  if (readable(sysfs)) {
    if (sysfs.startsWith('/sys/')) sysfsBtfFound.add(sysfs);
    return sysfs;
  }
  const tried = [sysfs, ...VMLINUX_FALLBACKS.map((p) => fill(p, rel))];
  for (const p of tried.slice(1)) if (readable(p)) return p;
  throw new NotSupportedError(
    `this kernel (${rel}) has no BTF: ${sysfs} is missing (the kernel was built without CONFIG_DEBUG_INFO_BTF) ` +
    `and no vmlinux with BTF is in ${tried.slice(1).join(', ')}. Pass the kernel's BTF explicitly ` +
    "(the `btf` option, or --btf FILE): distributions ship it in the kernel's debug package " +
    '(Debian: linux-image-<release>-dbg, /usr/lib/debug/boot/vmlinux-<release>; Fedora/RHEL: kernel-debuginfo), ' +
    'and BTFHub (btfhub-archive) has BTF files for kernels built without it',
    { feature: 'BTF', path: sysfs, tried });
}

const kconfigTexts = new Map<string, { id: string; text: string }>();

/**
 * The kernel config text as libbpf finds it: /boot/config-$(uname -r), else /proc/config.gz
 * (either may be gzip-compressed or plain, as gzopen() takes both). Throws NotSupportedError
 * naming the files looked for and the `kconfig` option when there is none.
 */
export function readKernelConfig(rel: string = release(), paths: readonly string[] = KCONFIG_PATHS, needed: readonly string[] = []): string {
  const files = paths.map((p) => fill(p, rel));
  for (const f of files) {
    // read and inflated once per file version (every load of an object with CONFIG_*
    // externs asks; /proc/config.gz is ~1 ms to inflate)
    let id: string;
    let data: Buffer;
    try {
      const st = statSync(f, { bigint: true, throwIfNoEntry: false });
      if (!st) continue; // (no exception: the usual miss, asked on every load)
      id = fileIdentity(st);
      const have = kconfigTexts.get(f);
      if (have?.id === id) return have.text;
      data = readFileSync(f);
    } catch {
      continue;
    }
    const text = (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b ? zlib().gunzipSync(data) : data).toString('utf8');
    kconfigTexts.set(f, { id, text });
    return text;
  }
  throw new NotSupportedError(
    `the object has .kconfig externs (${needed.join(', ') || 'CONFIG_*'}) but this kernel's config was not found: ` +
    `looked for ${files.join(' and ')} (as libbpf does). Pass the config text explicitly: the \`kconfig\` option ` +
    '(corebpf run/relocate --kconfig FILE), e.g. from the kernel package\'s /boot/config-<release>, ' +
    'or boot a kernel with CONFIG_IKCONFIG_PROC',
    { feature: 'kconfig', tried: files, externs: [...needed] });
}

/** /proc/kallsyms text, or undefined when it cannot be read (libbpf then fails non-weak typeless ksyms) */
export function readKallsyms(path: string = KALLSYMS_PATH): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}


/**
 * The BTF of every loaded kernel module with BTF: /sys/kernel/btf/<module> beside vmlinux
 * (split BTF on it). Read whole, as libbpf reads them when vmlinux has no candidate.
 */
export function readModuleBtfs(sysfs: string = HOST_BTF_PATH): { name: string; data: Uint8Array }[] {
  const dir = dirname(sysfs);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n !== 'vmlinux').sort();
  } catch {
    return [];
  }
  const out: { name: string; data: Uint8Array }[] = [];
  for (const name of names) {
    try {
      const b = readFileSync(`${dir}/${name}`);
      out.push({ name, data: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
    } catch { /* unloaded meanwhile */ }
  }
  return out;
}
