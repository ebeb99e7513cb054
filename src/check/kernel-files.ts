// A check kernel's own kconfig and symbols: the fixture's NAME.config.xz (its
// /boot/config-*) and NAME.kallsyms.xz (its System.map in /proc/kallsyms form), named by
// the manifest entry (`kconfig.file`, `kallsyms.file`) or found beside the BTF file
// (NAME.config[.xz], NAME.kallsyms[.xz]). With them, `.kconfig` externs and typeless
// `__ksym`s resolve per kernel offline, as on the kernel itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readKernel } from './kernels.js';

export interface KernelTexts {
  kconfig?: string;
  kallsyms?: string;
}

/** The kernel's NAME.config / NAME.kallsyms file under `dir` (relative to it): the one the
 * manifest names, else one beside the BTF file NAME.btf[.xz] (plain or .xz). */
export function kernelFile(dir: string, btfRel: string, what: 'config' | 'kallsyms', named?: string): string | undefined {
  if (named) return existsSync(join(dir, named)) ? named : undefined;
  const stem = btfRel.replace(/\.xz$/, '').replace(/\.btf$/, '');
  return [`${stem}.${what}.xz`, `${stem}.${what}`].find((f) => existsSync(join(dir, f)));
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Read (and decompress) a kernel's config and symbols; what is absent stays undefined. */
export async function readKernelTexts(dir: string, k: { kconfig?: string; kallsyms?: string }): Promise<KernelTexts> {
  const [kconfig, kallsyms] = await Promise.all([
    k.kconfig ? readKernel(join(dir, k.kconfig)).then(text) : undefined,
    k.kallsyms ? readKernel(join(dir, k.kallsyms)).then(text) : undefined,
  ]);
  return { ...(kconfig !== undefined ? { kconfig } : {}), ...(kallsyms !== undefined ? { kallsyms } : {}) };
}

const KCONFIG_SEC = new TextEncoder().encode('.kconfig\0');
const KSYMS_SEC = new TextEncoder().encode('.ksyms\0');

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;
}

/** Which of the texts an object can use: libbpf puts `__kconfig` externs in a ".kconfig" and
 * `__ksym` externs in a ".ksyms" DATASEC; an object naming neither never reads them (and a
 * kernel's symbols are megabytes not worth sending to a worker for nothing). */
export function textsFor(object: Uint8Array, t: KernelTexts): KernelTexts {
  const out: KernelTexts = {};
  if (t.kconfig !== undefined && contains(object, KCONFIG_SEC)) out.kconfig = t.kconfig;
  if (t.kallsyms !== undefined && contains(object, KSYMS_SEC)) out.kallsyms = t.kallsyms;
  return out;
}
