// The running kernel's feature profile: libbpf's feature probes run for real, once per
// process, and handed to the relocator so that libbpf sanitizes BTF and programs for this
// kernel exactly as it would when loading here.
import { PermissionError, SyscallError } from '../../errors.js';
import { mapCreate } from '../attr.js';
import * as U from '../generated/uapi.js';
import { bumpMemlockRlimit } from '../memlock.js';
import { getSyscalls, type Syscalls } from '../syscall.js';
import { FEATURE_PROBES } from './probes.js';

export { FEATURE_PROBES, probeMemcgAccount, syscallPrefix } from './probes.js';

/** libbpf's kernel features as probed on the running kernel ({@link kernelFeatures}). */
export interface FeatureProfile {
  /** libbpf feature name (btf_enum64, ...) -> present */
  features: Record<string, boolean>;
  /** false when bpf() was not permitted (EPERM): nothing could be probed, `features` is empty */
  probed: boolean;
  /** the probes that failed in themselves (libbpf: "Detection of kernel ... support failed"), -errno */
  errors: Record<string, number>;
}

let cache: { sys: Syscalls; profile: FeatureProfile } | null = null;

/**
 * Run every probe now (on the current syscall layer) and return the profile. When the
 * process may not use bpf() at all, libbpf would mark every feature missing; here the
 * profile says `probed: false` and carries no features, so relocating for this kernel falls
 * back to the relocator's default (a modern kernel) and the load itself reports EPERM.
 */
export function probeFeatures(): FeatureProfile {
  // as libbpf's bpf_map_create() / bpf_prog_load() do before each probe; its memcg probe is
  // the memcg_account feature (libbpf's feature cache asks the kernel once)
  const memlock = bumpMemlockRlimit();
  if (!bpfPermitted()) return { features: {}, probed: false, errors: {} };
  const features: Record<string, boolean> = {};
  const errors: Record<string, number> = {};
  for (const [name, { probe }] of Object.entries(FEATURE_PROBES)) {
    if (name === 'memcg_account') {
      features[name] = memlock.memcgAccount;
      continue;
    }
    const r = probe();
    if (r < 0) errors[name] = r;
    features[name] = r > 0;
  }
  return { features, probed: true, errors };
}

/** Whether this process may use bpf() at all: a one-element array map, created and closed. */
function bpfPermitted(): boolean {
  try {
    mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
    return true;
  } catch (e) {
    if (e instanceof PermissionError) return false;
    if (e instanceof SyscallError) return true; // an answer from the kernel: the probes will tell
    throw e;
  }
}

/** The running kernel's profile, probed on first use and kept for the process (per syscall layer). */
export function kernelFeatures(): FeatureProfile {
  const sys = getSyscalls();
  if (!cache || cache.sys !== sys) cache = { sys, profile: probeFeatures() };
  return cache.profile;
}

/** Forget the cached profile (tests). */
export function resetKernelFeatures(): void {
  cache = null;
}
