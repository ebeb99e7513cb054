// libbpf's kernel features read from real Debian kernels' BTF (testdata/btf): what `check`
// makes its plans with. The answers on a running kernel are compared with libbpf's own
// probes in test/kernel-features.test.ts (this machine and every lab kernel).
import { describe, expect, it } from 'vitest';
import { KERNEL_FEATURE_RULES, kernelFeaturesFromBtf, parseBtf, releaseVersion } from '../src/btf/index.js';
import { fixtureBytes, fixtures } from './helpers.js';

const missing = (f: Record<string, boolean>) => Object.keys(f).filter((k) => !f[k]).sort();

/** what upstream brought after each kernel (the features libbpf has to work around there) */
const LACKS: Record<string, string[]> = {
  '5.10': ['arg_ctx_tag', 'bpf_cookie', 'btf_decl_tag', 'btf_enum64', 'btf_float', 'btf_qmark_datasec', 'btf_type_tag', 'memcg_account', 'module_btf', 'perf_link', 'uprobe_multi_link'],
  '6.1': ['arg_ctx_tag', 'btf_qmark_datasec', 'uprobe_multi_link'],
  '6.12': [],
  '6.18': [],
  '7.2': [],
};

describe('kernel features from a kernel\'s BTF', () => {
  const all = fixtures().filter((f) => !f.base);
  it.each(all.map((f) => [f.file, f] as const))('%s: lacks exactly what upstream brought later', (_, f) => {
    const p = kernelFeaturesFromBtf(parseBtf(fixtureBytes(f.file)), f.kernelRelease);
    const v = releaseVersion(f.kernelRelease)!.join('.');
    // libbpf kprobes __powerpc_sys_bpf there; these powerpc kernels name theirs sys_bpf
    const arch = f.arch === 'ppc64el' ? ['syscall_wrapper'] : [];
    expect(missing(p.features)).toEqual([...LACKS[v]!, ...arch].sort());
    // ubiquitous since 5.2-5.6: the release answers; the rest, where the kernel's BTF
    // carries the UAPI enum, the BTF does
    expect(p.basis.btf_datasec).toBe('version');
    expect(p.basis.bpf_cookie).toBe('btf');
    expect(p.basis.uprobe_multi_link).toBe('btf');
  });

  it('reads the kernel\'s BTF, not its release, where the BTF can tell', () => {
    // a 5.10 kernel's BTF under a newer release's name still lacks the cookie helper: a vendor
    // kernel with a backport (or without one) is judged by what it carries
    const b = parseBtf(fixtureBytes('amd64-5.10.223.btf.xz'));
    const p = kernelFeaturesFromBtf(b, '6.8.0-1-amd64');
    expect(p.features.bpf_cookie).toBe(false);
    expect(p.features.perf_link).toBe(false);
    expect(p.features.memcg_account).toBe(false);
    // 5.10's BTF has no enum of BTF kinds: the release decides those
    expect(p.basis.btf_float).toBe('version');
    expect(p.features.btf_float).toBe(true);
    expect(kernelFeaturesFromBtf(b, '5.10.0-32-amd64').features.btf_float).toBe(false);
  });

  it('assumes a feature present only when neither the BTF nor a release can tell', () => {
    const b = parseBtf(fixtureBytes('amd64-5.10.223.btf.xz'));
    const p = kernelFeaturesFromBtf(b, null);
    expect(p.basis.btf_float).toBe('assumed');
    expect(p.features.btf_float).toBe(true);
    expect(p.basis.bpf_cookie).toBe('btf');
    expect(p.features.bpf_cookie).toBe(false);
    expect(Object.keys(p.features).sort()).toEqual(Object.keys(KERNEL_FEATURE_RULES).sort());
  });
});
