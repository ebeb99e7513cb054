// The syscall layer: errno → typed error mapping (on the real kernel where possible), the
// swappable instance, and the libc helpers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fromWire, PermissionError, SyscallError, toWire, VerifierError } from '../src/errors.js';
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';
import {
  bpf, bpfCmdName, errnoName, getSyscalls, parseCpuList, setSyscalls, syscallError, type Syscalls,
} from '../src/host/syscall.js';
import { needsEach, skipWith } from './kernel.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const isRoot = process.platform === 'linux' && process.geteuid?.() === 0;

afterEach(() => {
  setSyscalls(null);
});

describe('errno names and error classes', () => {
  it('names errno values from the generated table, kernel-internal ones too', () => {
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(22)).toBe('EINVAL');
    expect(errnoName(U.ERRNO.EAGAIN)).toBe('EAGAIN'); // not its alias EWOULDBLOCK
    expect(errnoName(524)).toBe('ENOTSUPP');
    expect(errnoName(9999)).toBe('E#9999');
    expect(bpfCmdName(U.BPF_PROG_LOAD)).toBe('BPF_PROG_LOAD');
    expect(bpfCmdName(U.BPF_PROG_TEST_RUN)).toBe('BPF_PROG_TEST_RUN'); // declared before its alias BPF_PROG_RUN
  });

  it('maps EPERM to PermissionError with a root/CAP_BPF hint, other errnos to SyscallError', () => {
    const p = syscallError('BPF_MAP_CREATE', U.ERRNO.EPERM);
    expect(p).toBeInstanceOf(PermissionError);
    expect(p).toBeInstanceOf(SyscallError);
    expect(p.message).toMatch(/root/);
    expect(p.message).toMatch(/CAP_BPF/);
    expect(p.details.hint).toMatch(/CAP_BPF/);
    // a process that has the privileges is not told to get them (the unprivileged side: the
    // setuid child below)
    const capEff = BigInt(`0x${/^CapEff:\s*(\w+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
    if ((capEff & ((1n << 21n) | (1n << 39n))) !== 0n) {
      expect(p.message).toMatch(/already has the privileges/);
      expect(p.message).toMatch(/lockdown/);
      expect(p.message).not.toMatch(/run as root/);
    } else {
      expect(p.message).toMatch(/run as root/);
    }
    const e = syscallError('BPF_MAP_LOOKUP_ELEM', U.ERRNO.ENOENT);
    expect(e).not.toBeInstanceOf(PermissionError);
    expect(e).toMatchObject({ cmd: 'BPF_MAP_LOOKUP_ELEM', errno: 2, errnoName: 'ENOENT' });
    expect(e.message).toMatch(/^bpf\(BPF_MAP_LOOKUP_ELEM\) failed: ENOENT/);
    // EACCES from a program load is the verifier's, not a permission problem
    expect(syscallError('BPF_PROG_LOAD', U.ERRNO.EACCES)).not.toBeInstanceOf(PermissionError);
    expect(syscallError('BPF_OBJ_GET', U.ERRNO.EACCES)).toBeInstanceOf(PermissionError);
  });

  it('errors keep their class and errno across the worker wire format', () => {
    const back = fromWire(structuredClone(toWire(syscallError('BPF_MAP_CREATE', U.ERRNO.EPERM))));
    expect(back).toBeInstanceOf(PermissionError);
    expect((back as PermissionError).errnoName).toBe('EPERM');
    expect((back as PermissionError).cmd).toBe('BPF_MAP_CREATE');
  });
});

describe('swappable syscall layer', () => {
  it('routes builders through a fake layer with generated offsets', () => {
    const calls: { cmd: number; attr: Uint8Array }[] = [];
    const fake = {
      bpf(cmd: number, attr: Uint8Array) {
        calls.push({ cmd, attr: attr.slice() });
        if (cmd === U.BPF_MAP_LOOKUP_ELEM) throw syscallError(bpfCmdName(cmd), U.ERRNO.ENOENT);
        return 1000;
      },
      addressOf: () => 0x1122334455n,
      close: () => undefined,
    } as unknown as Syscalls;
    expect(setSyscalls(fake)).toBeNull();
    expect(getSyscalls()).toBe(fake);
    const m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 16, maxEntries: 3, name: 'fake' });
    expect(m.fd).toBe(1000);
    const L = U.layouts.bpf_attr.fields;
    // (the first creation may be preceded by the once-per-layer RLIMIT_MEMLOCK probe)
    const create = calls.find((c) => c.cmd === U.BPF_MAP_CREATE)!;
    const dv = new DataView(create.attr.buffer);
    expect(create.attr.byteLength).toBe(U.layouts.bpf_attr.size);
    expect(dv.getUint32(L.map_type.offset, true)).toBe(U.BPF_MAP_TYPE_HASH);
    expect(dv.getUint32(L.key_size.offset, true)).toBe(8);
    expect(dv.getUint32(L.value_size.offset, true)).toBe(16);
    expect(dv.getUint32(L.max_entries.offset, true)).toBe(3);
    expect(new TextDecoder().decode(create.attr.subarray(L.map_name.offset, L.map_name.offset + 5))).toBe('fake\0');
    expect(A.mapLookupElem(1000, A.bytes(8), A.bytes(16))).toBe(false);
    const dv2 = new DataView(calls.find((c) => c.cmd === U.BPF_MAP_LOOKUP_ELEM)!.attr.buffer);
    expect(dv2.getBigUint64(L.key.offset, true)).toBe(0x1122334455n);
    expect(dv2.getUint32(L.map_fd.offset, true)).toBe(1000);
    m.close();
  });

  it('perf_event_attr bit-fields land on the generated bit positions', () => {
    const a = A.perfEventAttr({ type: U.PERF_TYPE_SOFTWARE, config: U.PERF_COUNT_SW_BPF_OUTPUT, sampleType: U.PERF_SAMPLE_RAW,
      samplePeriod: 1, wakeupEvents: 1, flags: { disabled: true, watermark: false, exclude_kernel: true } });
    const f = U.layouts.perf_event_attr.fields;
    const dv = new DataView(a.buf.buffer);
    expect(dv.getUint32(f.size.offset, true)).toBe(U.layouts.perf_event_attr.size);
    expect(dv.getBigUint64(f.sample_type.offset, true)).toBe(BigInt(U.PERF_SAMPLE_RAW));
    const bit = (n: number) => (a.buf[n >> 3] >> (n & 7)) & 1;
    expect(bit(f.disabled.bitOffset)).toBe(1);
    expect(bit(f.exclude_kernel.bitOffset)).toBe(1);
    expect(bit(f.watermark.bitOffset)).toBe(0);
    expect(a.get('exclude_kernel')).toBe(1);
    expect(a.get('inherit')).toBe(0);
  });
});

describe('real kernel errno mapping', () => {
  needsEach('bpf');
  it('ENOENT on lookup of a missing key is a SyscallError naming the command', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    let err: unknown;
    try {
      bpf(U.BPF_MAP_LOOKUP_ELEM, A.mapElemAttr(m.fd, A.bytes(4), A.bytes(4)).buf);
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).not.toBeInstanceOf(PermissionError);
    expect(err).toMatchObject({ cmd: 'BPF_MAP_LOOKUP_ELEM', errno: 2, errnoName: 'ENOENT' });
  });

  it('EINVAL for a bad attr: unknown map type, and stray bytes after the command fields', () => {
    expect(() => A.mapCreate({ mapType: 0x7fff, keySize: 4, valueSize: 4, maxEntries: 1 }))
      .toThrow(expect.objectContaining({ errnoName: 'EINVAL', cmd: 'BPF_MAP_CREATE' }));
    const a = A.mapCreateAttr({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const last = U.layouts.bpf_attr.fields.map_token_fd;
    a.buf[last.offset + last.size] = 1; // the kernel requires the unused tail to be zero
    expect(() => bpf(U.BPF_MAP_CREATE, a.buf)).toThrow(expect.objectContaining({ errnoName: 'EINVAL' }));
  });

  it('EBADF from close(-1) and from a bpf() call on a closed fd', () => {
    const sys = getSyscalls();
    expect(() => sys.close(-1)).toThrow(expect.objectContaining({ cmd: 'close', errnoName: 'EBADF' }));
    const m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    const fd = m.fd;
    m.close();
    expect(() => A.mapLookupElem(fd, A.bytes(4), A.bytes(4))).toThrow(expect.objectContaining({ errnoName: 'EBADF' }));
  });

  it('errno is read right after the failing call (many alternating calls stay correct)', () => {
    using m = A.mapCreate({ mapType: U.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    for (let i = 0; i < 200; i++) {
      A.mapUpdateElem(m.fd, A.bytes(4), A.bytes(4)); // succeeds
      expect(() => A.mapUpdateElem(m.fd, A.bytes(4), A.bytes(4), U.BPF_NOEXIST)).toThrow(expect.objectContaining({ errnoName: 'EEXIST' }));
      expect(() => bpf(U.BPF_MAP_LOOKUP_ELEM, A.mapElemAttr(m.fd, new Uint8Array([1, 0, 0, 0]), A.bytes(4)).buf))
        .toThrow(expect.objectContaining({ errnoName: 'ENOENT' }));
    }
  });

  it('a verifier rejection is a VerifierError (a SyscallError) carrying the log', () => {
    const exitOnly = new A.StructBuf(U.layouts.bpf_insn, 'bpf_insn').set('code', U.BPF_JMP | U.BPF_EXIT).buf;
    let err: unknown;
    try { A.progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: exitOnly, license: 'GPL' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).errnoName).toMatch(/^(EACCES|EINVAL)$/);
    expect((err as VerifierError).log).toMatch(/R0 !read_ok/);
  });

  it('EPERM as an unprivileged user is a PermissionError with the hint (child process as nobody)', (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-eperm-'));
    try {
      const script = join(dir, 'child.ts');
      writeFileSync(script, [
        `import * as A from ${JSON.stringify(join(root, 'src/host/attr.ts'))};`,
        `import * as U from ${JSON.stringify(join(root, 'src/host/generated/uapi.ts'))};`,
        `import { PermissionError } from ${JSON.stringify(join(root, 'src/errors.ts'))};`,
        'process.setgid(65534); process.setuid(65534);',
        'try { A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }); console.log(JSON.stringify({ ok: true })); }',
        'catch (e: any) { console.log(JSON.stringify({ perm: e instanceof PermissionError, errnoName: e.errnoName, cmd: e.cmd, message: e.message })); }',
      ].join('\n'));
      const out = execFileSync(process.execPath, [join(root, 'node_modules/vite-node/vite-node.mjs'), '--root', root, script],
        { encoding: 'utf8', cwd: dir, timeout: 60_000 });
      const r = JSON.parse(out.trim().split('\n').pop()!);
      const unprivDisabled = Number(execFileSync('cat', ['/proc/sys/kernel/unprivileged_bpf_disabled'], { encoding: 'utf8' }).trim());
      if (unprivDisabled === 0 && r.ok) skipWith(ctx, 'unprivileged BPF is enabled on this kernel (kernel.unprivileged_bpf_disabled=0): there is no EPERM to observe');
      expect(r).toMatchObject({ perm: true, errnoName: 'EPERM', cmd: 'BPF_MAP_CREATE' });
      expect(r.message).toMatch(/run as root/);
      expect(r.message).toMatch(/CAP_BPF/);
      expect(r.message).not.toMatch(/already has the privileges/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.runIf(process.platform === 'linux')('libc helpers', () => {
  it('epoll_wait with a timeout does not block the event loop', async () => {
    const sys = getSyscalls();
    const ep = sys.epollCreate();
    try {
      // a blocked loop runs a coalesced interval once at most; 600 ms leaves room for slow
      // machines (the lab's emulated guests) to tick several times while epoll_wait waits
      let ticks = 0;
      const iv = setInterval(() => ticks++, 10);
      const t = Date.now();
      const evs = await sys.epollWait(ep, 8, 600);
      clearInterval(iv);
      expect(evs).toEqual([]);
      expect(Date.now() - t).toBeGreaterThanOrEqual(590);
      expect(ticks).toBeGreaterThanOrEqual(3);
    } finally {
      sys.close(ep);
    }
  });

  it('poll reports an fd that is ready', async () => {
    const sys = getSyscalls();
    // /dev/null is always readable
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync('/dev/null', 'r');
    try {
      const [rev] = await sys.poll([{ fd, events: U.LIBC_POLLIN }], 1000);
      expect(rev & U.LIBC_POLLIN).toBe(U.LIBC_POLLIN);
    } finally {
      closeSync(fd);
    }
  });

  it('getpid, geteuid, rlimits, sysconf, CPU lists, if_nametoindex', () => {
    const sys = getSyscalls();
    expect(sys.getpid()).toBe(process.pid);
    expect(sys.geteuid()).toBe(process.geteuid!());
    const lim = sys.getrlimit(U.LIBC_RLIMIT_MEMLOCK);
    expect(typeof lim.cur).toBe('bigint');
    expect(lim.max >= lim.cur || lim.max === U.LIBC_RLIM_INFINITY).toBe(true);
    sys.setrlimit(U.LIBC_RLIMIT_MEMLOCK, lim); // same values: always allowed
    expect(sys.getrlimit(U.LIBC_RLIMIT_MEMLOCK)).toEqual(lim);
    expect(sys.pageSize()).toBe(sys.sysconf(U.LIBC_SC_PAGESIZE));
    expect(sys.sysconf(U.LIBC_SC_NPROCESSORS_CONF)).toBeGreaterThanOrEqual(1);
    expect(sys.possibleCpus()).toBeGreaterThanOrEqual(sys.onlineCpus().length);
    expect(sys.ifNameToIndex('lo')).toBeGreaterThan(0);
    expect(() => sys.ifNameToIndex('corebpf-no-such-if')).toThrow(expect.objectContaining({ errnoName: 'ENODEV' }));
    expect(parseCpuList('0-3,5,7-8\n')).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(parseCpuList('0')).toEqual([0]);
    expect(() => parseCpuList('x')).toThrow();
  });

  it('mmap gives a view of the mapped memory itself (no copy)', async () => {
    const { openSync, closeSync, readFileSync } = await import('node:fs');
    const sys = getSyscalls();
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-mmap-'));
    const file = join(dir, 'data');
    writeFileSync(file, Buffer.alloc(4096, 7));
    const fd = openSync(file, 'r+');
    try {
      const m = sys.mmap(fd, 4096, U.LIBC_PROT_READ | U.LIBC_PROT_WRITE, U.LIBC_MAP_SHARED, 0);
      try {
        const a = new Uint8Array(m.buffer);
        expect(a[100]).toBe(7); // the file's bytes
        a[100] = 42; // a store through the view is a store to the file's pages
        expect(readFileSync(file)[100]).toBe(42);
        expect(m.address % 4096n).toBe(0n);
      } finally {
        sys.munmap(m);
      }
      expect(m.unmapped).toBe(true);
      sys.munmap(m); // idempotent
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => sys.mmap(-1, 4096, U.LIBC_PROT_READ, U.LIBC_MAP_SHARED, 0)).toThrow(expect.objectContaining({ cmd: 'mmap', errnoName: 'EBADF' }));
  });
});
