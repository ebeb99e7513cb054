// What relocating for the running kernel reads from this machine, as libbpf reads it when
// it loads an object here:
//   - kernel BTF: /sys/kernel/btf/vmlinux, else a vmlinux in libbpf's fallback locations
//   - feature profile: libbpf's probes run against this kernel (features/)
//   - kernel release and version: uname -r / -v (Debian keeps its real version in -v)
//   - kernel config, only when the object has CONFIG_* .kconfig externs:
//     /boot/config-$(uname -r), else /proc/config.gz (libbpf's order)
//   - /proc/kallsyms, only when the object has typeless __ksym externs
//   - the BTF of loaded modules (/sys/kernel/btf/<module>): libbpf looks there for CO-RE
//     candidates, kfuncs, ksyms and attach targets that vmlinux lacks
// Anything the caller passes explicitly wins; an explicit target BTF means another
// machine, and nothing here is read.
import { machine, release, version } from 'node:os';
import { HOST_BTF_PATH, objectNameOf, readInput } from '../inputs.js';
import type { RelocateOptions } from '../relocate.js';
import { kernelFeatures } from './features/index.js';
import { hostBtfPath, readKallsyms, readKernelConfig, readModuleBtfs } from './kernel-files.js';
import { configFor, objectExterns } from '../object-externs.js';

export interface HostEnvOptions {
  /** where /proc/config.gz and /boot/config-* are looked for (tests) */
  kconfigPaths?: readonly string[];
  /** /sys/kernel/btf/vmlinux (tests) */
  sysfsBtf?: string;
  kallsymsPath?: string;
}

/**
 * Relocation options for the running kernel: what the caller gave, completed with what
 * libbpf would read on this machine. Returns `opts` unchanged when it names a target BTF.
 */
export function hostRelocateOptions(object: Uint8Array, opts: RelocateOptions, env: HostEnvOptions = {}): RelocateOptions {
  if (opts.btf !== undefined) return opts;
  const kernelRelease = opts.kernelRelease ?? release();
  const out: RelocateOptions = {
    ...opts,
    btf: hostBtfPath(kernelRelease, env.sysfsBtf),
    kernelRelease,
    kernelVersion: opts.kernelVersion ?? (opts.kernelRelease === undefined ? version() : undefined),
    machine: opts.machine ?? machine(),
  };
  const probed = kernelFeatures();
  if (probed.probed) out.features = { ...probed.features, ...opts.features };
  const ext = objectExterns(object);
  if (ext.kconfig.length) {
    // libbpf applies given kconfig text first, then reads the system's for what it left unset
    const unset = opts.kconfig === undefined ? ext.kconfig : ext.kconfig.filter((n) => !new RegExp(`^${n}=`, 'm').test(opts.kconfig!));
    if (unset.length) {
      const system = configFor(readKernelConfig(kernelRelease, env.kconfigPaths, unset), ext.kconfig);
      out.kconfig = opts.kconfig === undefined ? system : `${opts.kconfig}\n${system}`;
    }
  }
  if (opts.kallsyms === undefined && ext.typelessKsyms.length) {
    out.kallsyms = readKallsyms(env.kallsymsPath);
  }
  if (opts.moduleBtfs === undefined && out.btf === (env.sysfsBtf ?? HOST_BTF_PATH)) {
    const mods = readModuleBtfs(out.btf);
    if (mods.length) out.moduleBtfs = mods;
  }
  return out;
}

/**
 * BpfObject.open()'s relocation input: the object's bytes and, when no target BTF is
 * named, the options completed for the running kernel (hostRelocateOptions).
 */
export function forRunningKernel(object: string | Uint8Array, opts: RelocateOptions): { object: string | Uint8Array; opts: RelocateOptions } {
  if (opts.btf !== undefined) return { object, opts };
  const bytes = typeof object === 'string' ? readInput(object, 'BPF object') : object;
  const objectName = opts.objectName ?? (typeof object === 'string' ? objectNameOf(object) : undefined);
  return { object: bytes, opts: hostRelocateOptions(bytes, { ...opts, objectName }) };
}
