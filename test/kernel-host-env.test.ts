// Relocating for the running kernel reads what libbpf reads on this machine: kernel config
// for .kconfig externs, /proc/kallsyms for typeless ksyms, uname for LINUX_KERNEL_VERSION,
// the feature profile, RLIMIT_MEMLOCK handling; and the errors when something is missing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir, version } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BpfObject as LiveObject, LibbpfError, Relocator } from '../dist/index.js';
import { NotSupportedError } from '../src/errors.js';
import { kernelFeatures, probeMemcgAccount, resetKernelFeatures } from '../src/host/features/index.js';
import { openModuleBtf } from '../src/host/module-btf.js';
import * as U from '../src/host/generated/uapi.js';
import { forRunningKernel, hostRelocateOptions } from '../src/host/kernel-env.js';
import { hostBtfPath, readKernelConfig, readModuleBtfs } from '../src/host/kernel-files.js';
import { bumpMemlockRlimit, resetMemlock, RLIM_INFINITY } from '../src/host/memlock.js';
import { BpfObject } from '../src/host/object.js';
import { objectExterns } from '../src/object-externs.js';
import { bpfCmdName, getSyscalls, setSyscalls, syscallError, type Rlimit } from '../src/host/syscall.js';
import { bpfUsable, skipWith } from './kernel.js';

const PROGS = fileURLToPath(new URL('../testdata/progs/', import.meta.url));
const HOST_ENV = `${PROGS}host_env.bpf.o`;
const ORACLE = process.env.COREBPF_FEATURE_ORACLE ?? fileURLToPath(new URL('../build/native/feature-oracle', import.meta.url));
const skipReason = bpfUsable();
if (skipReason) console.warn(`[kernel-host-env] real-kernel cases SKIPPED: ${skipReason}`);
const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
afterEach(() => {
  setSyscalls(null);
  resetMemlock();
  resetKernelFeatures();
});

/** The kernel config as the test finds it itself (libbpf's order), or null. */
function configText(): { path: string; text: string } | null {
  const boot = `/boot/config-${release()}`;
  if (existsSync(boot)) return { path: boot, text: readFileSync(boot, 'utf8') };
  if (existsSync('/proc/config.gz')) return { path: '/proc/config.gz', text: gunzipSync(readFileSync('/proc/config.gz')).toString('utf8') };
  return null;
}

function configValue(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  return m?.[1];
}

function kallsymsAddress(name: string): bigint {
  const lines = readFileSync('/proc/kallsyms', 'utf8').split('\n');
  const hits = lines.map((l) => l.split(/\s+/)).filter((f) => f[2] === name && f.length === 3);
  expect(hits.length).toBe(1);
  return BigInt(`0x${hits[0]![0]}`);
}

/** libbpf's get_kernel_version(): Debian's uname -v scheme, else uname -r; KERNEL_VERSION caps the patch at 255 */
function expectedKernelVersion(): number {
  const kv = (a: number, b: number, c: number): number => (a << 16) + (b << 8) + Math.min(c, 255);
  const deb = /^#\d+ SMP Debian (\d+)\.(\d+)\.(\d+)/.exec(version()) ?? /Debian (\d+)\.(\d+)\.(\d+)/.exec(version());
  if (deb) return kv(Number(deb[1]), Number(deb[2]), Number(deb[3]));
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(release());
  return m ? kv(Number(m[1]), Number(m[2]), Number(m[3])) : 0;
}

describe('which host facts an object needs', () => {
  it('finds CONFIG_* .kconfig externs and typeless ksyms in the object\'s BTF (both byte orders)', () => {
    for (const f of ['host_env.bpf.o', 'host_env.bpfeb.o']) {
      const ext = objectExterns(readFileSync(`${PROGS}${f}`));
      expect(ext.kconfig.sort()).toEqual(['CONFIG_DEFAULT_HOSTNAME', 'CONFIG_HZ', 'CONFIG_INET_DIAG']);
      expect(ext.typelessKsyms).toEqual(['vfs_read']);
    }
    // typed ksyms and kfuncs need BTF, not kallsyms; LINUX_* are libbpf's own
    const ks = objectExterns(readFileSync(`${PROGS}ksyms.bpf.o`));
    expect(ks.typelessKsyms).toEqual(['vfs_read']);
    expect(ks.kconfig).toEqual([]);
    expect(objectExterns(readFileSync(`${PROGS}kconfig.bpf.o`)).kconfig).not.toContain('LINUX_KERNEL_VERSION');
    expect(objectExterns(readFileSync(`${PROGS}execsnoop.bpf.o`))).toEqual({ kconfig: [], typelessKsyms: [] });
  });
});

describe('errors when the host lacks something', () => {
  it('a kernel without BTF: NotSupportedError saying to pass a BTF file and where distributions keep one', () => {
    const rel = '0.0.0-corebpf-nobtf';
    let err: unknown;
    try {
      hostBtfPath(rel, '/nonexistent/corebpf/vmlinux');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    const e = err as NotSupportedError;
    expect(e.feature).toBe('BTF');
    expect(e.message).toMatch(/\/nonexistent\/corebpf\/vmlinux is missing/);
    expect(e.message).toMatch(/CONFIG_DEBUG_INFO_BTF/);
    expect(e.message).toMatch(/`btf` option, or --btf FILE/);
    expect(e.message).toContain(`/usr/lib/debug/boot/vmlinux-${rel}`); // libbpf's fallbacks were looked at
    expect(e.message).toMatch(/debug package/);
    expect(e.details.tried).toContain(`/boot/vmlinux-${rel}`);
    // and the same through the open path (nothing probed before the BTF is known)
    expect(() => hostRelocateOptions(readFileSync(HOST_ENV), { kernelRelease: rel }, { sysfsBtf: '/nonexistent/corebpf/vmlinux' }))
      .toThrow(NotSupportedError);
  });

  it('no kernel config anywhere: NotSupportedError naming the files looked for and the kconfig option', () => {
    const paths = ['/nonexistent/corebpf/config-%s', '/nonexistent/corebpf/config.gz'];
    let err: unknown;
    try {
      readKernelConfig('6.1.0-test', paths, ['CONFIG_HZ']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    const e = err as NotSupportedError;
    expect(e.feature).toBe('kconfig');
    expect(e.message).toContain('/nonexistent/corebpf/config-6.1.0-test and /nonexistent/corebpf/config.gz');
    expect(e.message).toMatch(/CONFIG_HZ/);
    expect(e.message).toMatch(/`kconfig` option/);
  });

  it('the config is read only when the object has CONFIG_ externs, and an explicit kconfig is never replaced', () => {
    const paths = ['/nonexistent/corebpf/config-%s'];
    const setNoBpf = (): void => { // the profile is not this test's subject: no bpf() at all
      setSyscalls({ ...getSyscalls(), bpf: (cmd) => { throw syscallError(bpfCmdName(cmd), U.ERRNO.EPERM); }, setrlimit: () => undefined });
    };
    setNoBpf();
    const env = { kconfigPaths: paths };
    expect(() => hostRelocateOptions(readFileSync(HOST_ENV), {}, env)).toThrow(/`kconfig` option/);
    const exec = hostRelocateOptions(readFileSync(`${PROGS}execsnoop.bpf.o`), {}, env);
    expect(exec.kconfig).toBeUndefined();
    expect(exec.kallsyms).toBeUndefined();
    const full = 'CONFIG_HZ=1\nCONFIG_INET_DIAG=y\nCONFIG_DEFAULT_HOSTNAME="h"\n';
    const given = hostRelocateOptions(readFileSync(HOST_ENV), { kconfig: full, kallsyms: 'x' }, env);
    expect(given.kconfig).toBe(full);
    // given text that leaves a CONFIG_ extern unset: libbpf reads the system's for the rest
    expect(() => hostRelocateOptions(readFileSync(HOST_ENV), { kconfig: 'CONFIG_HZ=1\n' }, env)).toThrow(/CONFIG_INET_DIAG, CONFIG_DEFAULT_HOSTNAME|CONFIG_DEFAULT_HOSTNAME, CONFIG_INET_DIAG/);
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-kconfig-'));
    try {
      writeFileSync(join(dir, 'config'), 'CONFIG_HZ=300\nCONFIG_INET_DIAG=m\n');
      const merged = hostRelocateOptions(readFileSync(HOST_ENV), { kconfig: 'CONFIG_HZ=1\n' }, { kconfigPaths: [join(dir, 'config')] });
      expect(merged.kconfig).toBe('CONFIG_HZ=1\n\nCONFIG_HZ=300\nCONFIG_INET_DIAG=m\n'); // the given value comes first: it wins in libbpf
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(given.kallsyms).toBe('x');
    // an explicit target BTF: another machine; nothing of this one is read or probed
    const offline = { btf: 'some.btf', features: { btf_enum64: false } };
    expect(hostRelocateOptions(readFileSync(HOST_ENV), offline, env)).toBe(offline);
    expect(forRunningKernel(HOST_ENV, offline)).toEqual({ object: HOST_ENV, opts: offline });
  });
});

describe('module BTF of the running kernel', () => {
  it('every /sys/kernel/btf/<module> beside vmlinux is offered, only when relocating for this kernel', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-sysbtf-'));
    try {
      writeFileSync(join(dir, 'vmlinux'), 'v');
      writeFileSync(join(dir, 'nf_tables'), 'n');
      writeFileSync(join(dir, 'ext4'), 'e');
      expect(readModuleBtfs(join(dir, 'vmlinux')).map((m) => [m.name, Buffer.from(m.data).toString()])).toEqual([['ext4', 'e'], ['nf_tables', 'n']]);
      setSyscalls({ ...getSyscalls(), bpf: (cmd) => { throw syscallError(bpfCmdName(cmd), U.ERRNO.EPERM); }, setrlimit: () => undefined });
      const exec = readFileSync(`${PROGS}execsnoop.bpf.o`);
      const o = hostRelocateOptions(exec, {}, { sysfsBtf: join(dir, 'vmlinux') });
      expect(o.btf).toBe(join(dir, 'vmlinux'));
      expect(o.moduleBtfs?.map((m) => m.name)).toEqual(['ext4', 'nf_tables']);
      // given ones win; another machine's BTF: none of this machine's modules
      expect(hostRelocateOptions(exec, { moduleBtfs: [] }, { sysfsBtf: join(dir, 'vmlinux') }).moduleBtfs).toEqual([]);
      expect(hostRelocateOptions(exec, { btf: join(dir, 'vmlinux') }, { sysfsBtf: join(dir, 'vmlinux') }).moduleBtfs).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipReason !== null)('an object with kconfig and ksym externs on the running kernel', () => {
  const cfg = configText();

  it.skipIf(cfg === null)('loads with default options and sees the kernel\'s real CONFIG_ values, kallsyms address and version', async () => {
    const c = cfg!;
    const obj = await LiveObject.open(HOST_ENV, { relocator });
    try {
      await obj.load();
      const r = obj.program('read_host_env').testRun({ data: new Uint8Array(64) });
      expect(r.retval).toBe(2);
      expect(obj.getGlobal('out_runs')).toBe(1);
      expect(obj.getGlobal('out_hz')).toBe(BigInt(configValue(c.text, 'CONFIG_HZ')!));
      const tri = configValue(c.text, 'CONFIG_INET_DIAG');
      expect(obj.getGlobal('out_inet_diag')).toBe(tri === 'y' ? 1 : tri === 'm' ? 2 : 0);
      expect(obj.getGlobal('out_hostname')).toBe(JSON.parse(configValue(c.text, 'CONFIG_DEFAULT_HOSTNAME')!));
      expect(obj.getGlobal('out_vfs_read')).toBe(kallsymsAddress('vfs_read'));
      expect(obj.getGlobal('out_kernel_version')).toBe(expectedKernelVersion());
      // libbpf filled LINUX_HAS_SYSCALL_WRAPPER from the probed profile, which is libbpf's own answer here
      const probed = kernelFeatures().features.syscall_wrapper;
      expect(obj.getGlobal('out_syscall_wrapper')).toBe(probed ? 1 : 0);
      if (existsSync(ORACLE)) {
        const libbpf = JSON.parse(execFileSync(ORACLE, { encoding: 'utf8' })) as { features: Record<string, boolean> };
        expect(obj.getGlobal('out_syscall_wrapper')).toBe(libbpf.features.syscall_wrapper ? 1 : 0);
      }
    } finally {
      obj.close();
    }
  });

  it('explicit kconfig and kallsyms win over the machine\'s', async () => {
    const obj = await LiveObject.open(HOST_ENV, {
      relocator,
      kconfig: 'CONFIG_HZ=1234\nCONFIG_INET_DIAG=m\nCONFIG_DEFAULT_HOSTNAME="corebpf-test"\n',
      kallsyms: 'ffffffff12345678 T vfs_read\n',
      kernelRelease: '5.10.0-99-amd64', kernelVersion: '#1 SMP Debian 5.10.300-1 (2026-01-01)',
      features: { syscall_wrapper: !kernelFeatures().features.syscall_wrapper },
    });
    try {
      await obj.load();
      obj.program('read_host_env').testRun({ data: new Uint8Array(64) });
      expect(obj.getGlobal('out_hz')).toBe(1234n);
      expect(obj.getGlobal('out_inet_diag')).toBe(2);
      expect(obj.getGlobal('out_hostname')).toBe('corebpf-test');
      expect(obj.getGlobal('out_vfs_read')).toBe(0xffffffff12345678n);
      expect(obj.getGlobal('out_kernel_version')).toBe((5 << 16) + (10 << 8) + 255); // Debian's uname -v, patch capped
      expect(obj.getGlobal('out_syscall_wrapper')).toBe(kernelFeatures().features.syscall_wrapper ? 0 : 1); // a given feature wins
    } finally {
      obj.close();
    }
  });

  // BTF objects got names (and modules their BTF) in 5.11: before that libbpf finds none either
  const [maj, min] = release().split('.').map(Number) as [number, number];
  const btfNames = maj > 5 || (maj === 5 && min >= 11) ? null : `kernel ${release()}: BTF objects have no names before 5.11 (module BTF came with them)`;
  it('module BTF objects are found by name in the kernel as libbpf finds them (vmlinux\'s own, here)', (ctx) => {
    if (btfNames) skipWith(ctx, btfNames);
    using fd = openModuleBtf('vmlinux');
    expect(fd.fd).toBeGreaterThan(0);
    expect(() => openModuleBtf('corebpf_no_such_module')).toThrow(/kernel module 'corebpf_no_such_module'.*modprobe corebpf_no_such_module/);
  });

  it('an explicit target BTF never reads this machine\'s config', async () => {
    // opening reads nothing; relocating at load finds no config: libbpf's own failure
    const obj = await LiveObject.open(HOST_ENV, { relocator, btf: '/sys/kernel/btf/vmlinux' });
    try {
      await expect(obj.load()).rejects.toThrow(LibbpfError);
    } finally {
      obj.close();
    }
  });
});

describe('RLIMIT_MEMLOCK', () => {
  it.skipIf(skipReason !== null)('on this kernel: raised exactly when memcg accounting is missing (the probe decides)', () => {
    const sys = getSyscalls();
    const before = sys.getrlimit(U.LIBC_RLIMIT_MEMLOCK);
    const memcg = probeMemcgAccount() > 0;
    const d = bumpMemlockRlimit();
    expect(d.memcgAccount).toBe(memcg);
    expect(d.raised).toBe(!memcg);
    const after = sys.getrlimit(U.LIBC_RLIMIT_MEMLOCK);
    if (memcg) expect(after).toEqual(before); // left alone
    else expect(after).toEqual({ cur: RLIM_INFINITY, max: RLIM_INFINITY });
    expect(bumpMemlockRlimit()).toBe(d); // once per process
  });

  it('a kernel before 5.11 (no bpf_ktime_get_coarse_ns): raised to infinity before the first map of a load', async () => {
    // any kernel's plan will do (the lab guests have no xz for the 5.10 fixture): this machine's
    const plan = (await relocator.relocate(`${PROGS}execsnoop.bpf.o`, { btf: '/sys/kernel/btf/vmlinux' })).plan;
    const real = getSyscalls();
    const calls: string[] = [];
    let limit: Rlimit | null = null;
    setSyscalls({
      ...real,
      bpf(cmd) {
        calls.push(bpfCmdName(cmd));
        // the 5.10 verifier does not know helper 160: EINVAL; everything else fails too, after being recorded
        throw syscallError(bpfCmdName(cmd), cmd === U.BPF_PROG_LOAD ? U.ERRNO.EINVAL : U.ERRNO.EPERM);
      },
      setrlimit(resource, l) {
        calls.push(`setrlimit(${resource})`);
        limit = l;
      },
    });
    const obj = BpfObject.fromPlan(plan);
    expect(() => obj.load()).toThrow(/EPERM/);
    expect(calls.slice(0, 3)).toEqual(['BPF_PROG_LOAD', `setrlimit(${U.LIBC_RLIMIT_MEMLOCK})`, calls[2]]);
    expect(['BPF_BTF_LOAD', 'BPF_MAP_CREATE']).toContain(calls[2]);
    expect(limit).toEqual({ cur: RLIM_INFINITY, max: RLIM_INFINITY });
    // the decision is kept: a second load does not probe again
    calls.length = 0;
    expect(() => BpfObject.fromPlan(plan).load()).toThrow(/EPERM/);
    expect(calls[0]).not.toBe('BPF_PROG_LOAD');
    expect(calls).not.toContain(`setrlimit(${U.LIBC_RLIMIT_MEMLOCK})`);
  });
});
