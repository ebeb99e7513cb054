// Every cgroup attach type on the real kernel (src/host/link/cgroup.ts, reached through the
// public Program.attach({ cgroup })): each program is hand-assembled (test/asm.ts), attached to
// a cgroup made for this file, TRIGGERED by a child node process living in that cgroup (the
// lab's guests have node and busybox only), and judged by what the program counted and by what
// the child saw; close() must take the effect away again. Both paths where the kernel has both:
// BPF links (BPF_LINK_CREATE) and BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI (`legacy: true`), each
// checked with BPF_PROG_QUERY; then the attach modes side by side (a link beside a multi
// attachment, BPF_F_ALLOW_OVERRIDE and the kernel's refusal to mix modes).
//
// Context offsets are those of the UAPI structs (include/uapi/linux/bpf.h: bpf_sock,
// bpf_sock_addr, bpf_sysctl, bpf_sockopt, bpf_cgroup_dev_ctx, bpf_sock_ops), ABI since they
// appeared.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, fstatSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { endianness } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionError, SyscallError } from '../src/errors.js';
import { Program } from '../src/index.js';
import * as A from '../src/host/attr.js';
import type { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import type { Link } from '../src/host/link.js';
import { getSyscalls } from '../src/host/syscall.js';
import {
  R0, R1, R2, R3, R6, R10, add, asm, atomicAdd, call, exit, jeq, jne, jneR, label, ld64, ldMap, ldxDW, mov, movr, stDW, type Insn,
} from './asm.js';
import { kernelBtfId, missing, needsEach, skipWith, unmet } from './kernel.js';

// --- instructions test/asm.ts does not have -------------------------------------------------
const ldxW = (dst: number, src: number, off: number): Insn => ({ code: U.BPF_LDX | U.BPF_MEM | U.BPF_W, dst, src, off });
const stxW = (dst: number, off: number, src: number): Insn => ({ code: U.BPF_STX | U.BPF_MEM | U.BPF_W, dst, src, off });
const jge = (dst: number, imm: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JGE | U.BPF_K, dst, imm, to });
const jgtR = (dst: number, src: number, to: string): Insn => ({ code: U.BPF_JMP | U.BPF_JGT | U.BPF_X, dst, src, to });

/** counters[idx register] += 1 (array map of u64; R1-R5 and R0 clobbered). */
function bump(counterFd: number, idx: number): Insn[] {
  return [
    stxW(R10, -4, idx), movr(R2, R10), add(R2, -4), ...ldMap(R1, counterFd), call(U.BPF_FUNC_map_lookup_elem),
    jeq(R0, 0, `skip${counterFd}_${idx}`), mov(R1, 1), atomicAdd(R0, 0, R1), label(`skip${counterFd}_${idx}`),
  ];
}
/** counters[0] += 1 */
function bump0(counterFd: number): Insn[] {
  return [mov(R2, 0), ...bump(counterFd, R2)];
}

const u32 = (v: number) => { const b = A.bytes(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const counterMap = (n = 1) => A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: n, name: 'cg_counts' });
function readCounter(m: OwnedFd, i = 0): number {
  const v = A.bytes(8);
  A.mapLookupElem(m.fd, u32(i), v);
  return Number(new DataView(v.buffer).getBigUint64(0, true));
}
function resetCounters(m: OwnedFd, n = 1): void {
  for (let i = 0; i < n; i++) A.mapUpdateElem(m.fd, u32(i), A.bytes(8));
}
/** A port as bpf_sock_addr.user_port holds it: the u16 of the network-order bytes, read in host order. */
function nport(port: number): number {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(port, 0);
  return endianness() === 'LE' ? b.readUInt16LE(0) : b.readUInt16BE(0);
}

interface Loaded { prog: Program; close(): void }
/** Load hand-assembled instructions and wrap them as the public Program (section as libbpf names it). */
function loadProgram(name: string, section: string, progType: number, expectedAttachType: number, insns: Insn[], attachBtfId = 0): Loaded {
  const fd = A.progLoad({ progType, insns: asm(insns), license: 'GPL', name, expectedAttachType, attachBtfId });
  const prog = new Program(fd, { name, section, type: progType, expectedAttachType, attachBtfId });
  return { prog, close: () => prog.close() };
}

/**
 * BPF_PROG_QUERY of a cgroup: the attached program ids and the attach mode (query.attach_flags;
 * for BPF_LSM_CGROUP, whose programs may sit on different hooks, the kernel gives each
 * program's flags instead, and before 6.x wants room for them with the ids).
 */
function query(dir: string, attachType: number): { ids: number[]; flags: number } {
  const cg = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    const ids = A.bytes(4 * 16);
    const progFlags = A.bytes(4 * 16);
    const lsm = attachType === U.BPF_LSM_CGROUP;
    const attr = A.progQueryAttr({ targetFd: cg, attachType, progIds: ids });
    if (lsm) attr.setPtr('query.prog_attach_flags', progFlags);
    getSyscalls().bpf(U.BPF_PROG_QUERY, attr.buf);
    const n = attr.get('query.prog_cnt');
    const u32At = (b: Uint8Array, i: number) => new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true);
    const each = Array.from({ length: n }, (_, i) => u32At(progFlags, i));
    if (lsm && new Set(each).size > 1) throw new Error(`programs attached with different flags: ${each.join(', ')}`);
    return { ids: Array.from({ length: n }, (_, i) => u32At(ids, i)), flags: lsm ? (each[0] ?? 0) : attr.get('query.attach_flags') };
  } finally {
    closeSync(cg);
  }
}
const progId = (p: Program) => A.progInfo(p.fd).id;

// --- the child -------------------------------------------------------------------------------
/**
 * One node process in the test cgroup for the whole file (a node start costs seconds in the
 * lab's emulated guests): it sets up its stdin first, moves itself into the cgroup, then runs
 * each request, the text of an async function body with `fs`, `net`, `dgram` in scope, and
 * answers with what it returns (JSON), or `{ error: code }` when it throws. Asynchronous: the
 * test's own servers must keep answering while the child works. Answers go out with
 * fs.writeSync: node's process.stdout on a pipe opens /dev/null, which cgroup/dev would see.
 */
class CgroupChild {
  readonly #c: ChildProcess;
  #buf = '';
  #waiting: ((line: string) => void)[] = [];
  #err = '';
  readonly exited: Promise<void>;

  private constructor(dir: string) {
    const script = `const fs = require('fs'), net = require('net'), dgram = require('dgram');
      const AsyncFunction = (async () => {}).constructor;
      let buf = '';
      process.stdin.setEncoding('utf8').on('data', (d) => {
        buf += d;
        for (let i; (i = buf.indexOf('\\n')) >= 0;) {
          const body = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          new AsyncFunction('fs', 'net', 'dgram', body)(fs, net, dgram).then(
            (r) => fs.writeSync(1, JSON.stringify(r === undefined ? null : r) + '\\n'),
            (e) => fs.writeSync(1, JSON.stringify({ error: e.code || e.message }) + '\\n'));
        }
      }).on('end', () => process.exit(0));
      fs.writeFileSync(process.argv[1] + '/cgroup.procs', String(process.pid));
      fs.writeSync(1, '"ready"\\n');`;
    this.#c = spawn(process.execPath, ['-e', script, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#buf += d;
      for (let i; (i = this.#buf.indexOf('\n')) >= 0;) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        this.#waiting.shift()?.(line);
      }
    });
    this.#c.stderr!.setEncoding('utf8').on('data', (d: string) => { this.#err += d; });
    this.exited = new Promise((r) => this.#c.on('close', () => {
      for (const w of this.#waiting.splice(0)) w(JSON.stringify({ childExited: this.#c.exitCode, stderr: this.#err }));
      r();
    }));
  }

  #next(): Promise<unknown> {
    return new Promise((resolve) => this.#waiting.push((line) => resolve(JSON.parse(line))));
  }

  static async start(dir: string): Promise<CgroupChild> {
    const c = new CgroupChild(dir);
    const first = await c.#next();
    if (first !== 'ready') throw new Error(`the child did not start: ${JSON.stringify(first)}`);
    // it is in the cgroup now
    expect(readFileSync(`${dir}/cgroup.procs`, 'utf8').trim()).toBe(String(c.#c.pid));
    return c;
  }

  /** Run `body` in the child and resolve with what it returned. Requests are answered in order. */
  run(body: string): Promise<unknown> {
    const answer = this.#next();
    this.#c.stdin!.write(`${JSON.stringify(body)}\n`);
    return answer;
  }

  async stop(): Promise<void> {
    this.#c.stdin!.end();
    await this.exited;
  }
}

function cgroup2Root(): string | null {
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return null;
}

/** Both attachment paths: a BPF link, then BPF_PROG_ATTACH (BPF_F_ALLOW_MULTI). */
const PATHS = [{ legacy: false, kind: 'link' }, { legacy: true, kind: 'prog_attach' }] as const;

/** Attach through the public API and check what was made: a cgroup link, or a legacy multi attachment. */
async function attach(p: Program, dir: string, legacy: boolean, attachType: number): Promise<Link> {
  const link = await p.attach({ cgroup: dir, legacy });
  try {
    expect(link.kind).toBe(legacy ? 'prog_attach' : 'link');
    if (!legacy) expect(link.info()).toMatchObject({ typeName: 'cgroup', attachType, progId: progId(p) });
    const q = query(dir, attachType);
    expect(q.ids).toEqual([progId(p)]);
    // links and BPF_F_ALLOW_MULTI attachments both put the cgroup in multi mode
    expect(q.flags).toBe(U.BPF_F_ALLOW_MULTI);
  } catch (e) {
    link.close();
    throw e;
  }
  return link;
}
function expectDetached(dir: string, attachType: number): void {
  expect(query(dir, attachType).ids).toEqual([]);
}

// =============================================================================================
describe('real kernel: cgroup attach types, triggered by a process in the cgroup', () => {
  needsEach('bpf', 'cgroup2');
  let dir = '';
  let child: CgroupChild;
  beforeAll(async () => {
    if (unmet('bpf', 'cgroup2')) return;
    dir = `${cgroup2Root()}/corebpf-cgattach-${process.pid}`;
    mkdirSync(dir);
    child = await CgroupChild.start(dir);
  });
  afterAll(async () => {
    await child?.stop();
    if (dir) rmdirSync(dir);
  });

  it('cgroup/sock_create: counts the child\'s UDP sockets; a denying program makes socket() fail with EPERM', async () => {
    using counter = counterMap();
    // bpf_sock: family at 4, type at 8; count AF_INET/SOCK_DGRAM only (node may make others)
    const prog = (ret: number): Insn[] => [
      movr(R6, R1),
      ldxW(R2, R6, 4), jne(R2, 2 /* AF_INET */, 'out'), ldxW(R2, R6, 8), jne(R2, 2 /* SOCK_DGRAM */, 'out'),
      ...bump0(counter.fd),
      label('out'), mov(R0, ret), exit(),
    ];
    const sockets = `const r = [];
      for (let i = 0; i < 3; i++) r.push(await new Promise((res) => {
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => res(e.code));
        s.bind(0, '127.0.0.1', () => { s.close(); res('ok'); });
      }));
      return r;`;
    const allow = loadProgram('sock_count', 'cgroup/sock_create', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_CREATE, prog(1));
    const deny = loadProgram('sock_deny', 'cgroup/sock_create', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_CREATE, prog(0));
    try {
      expect(await child.run(sockets)).toEqual(['ok', 'ok', 'ok']);
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await attach(allow.prog, dir, legacy, U.BPF_CGROUP_INET_SOCK_CREATE);
        try {
          expect(await child.run(sockets)).toEqual(['ok', 'ok', 'ok']);
          expect(readCounter(counter)).toBe(3);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_INET_SOCK_CREATE);
        const d = await attach(deny.prog, dir, legacy, U.BPF_CGROUP_INET_SOCK_CREATE);
        try {
          expect(await child.run(sockets)).toEqual(['EPERM', 'EPERM', 'EPERM']);
          expect(readCounter(counter)).toBe(6);
        } finally {
          d.close();
        }
        expectDetached(dir, U.BPF_CGROUP_INET_SOCK_CREATE);
        expect(await child.run(sockets)).toEqual(['ok', 'ok', 'ok']);
        expect(readCounter(counter)).toBe(6);
      }
    } finally {
      allow.close();
      deny.close();
    }
  });

  describe('cgroup/connect4', () => {
    const servers: Server[] = [];
    const ports: number[] = [];
    beforeAll(async () => {
      if (unmet('bpf', 'cgroup2')) return;
      // two TCP servers in this process, each greeting with its name
      for (const name of ['A', 'B']) {
        const s = createServer((c) => c.end(name));
        await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
        servers.push(s);
        ports.push((s.address() as { port: number }).port);
      }
    });
    afterAll(() => servers.forEach((s) => s.close()));
    const greet = () => `return await new Promise((res) => {
        let got = '';
        const c = net.connect(${ports[0]}, '127.0.0.1');
        c.setEncoding('utf8').on('data', (d) => { got += d; }).on('end', () => res(got)).on('error', (e) => res(e.code));
      });`;

    it('a program rewriting the port sends the child\'s connect to another server; a denying one makes it EPERM', async () => {
      using counter = counterMap();
      const [a, b] = ports;
      // bpf_sock_addr: user_port at 24 (network byte order)
      const prog = (ret: number, rewrite: boolean): Insn[] => [
        movr(R6, R1),
        ldxW(R2, R6, 24), jne(R2, nport(a), 'out'),
        ...(rewrite ? [mov(R2, nport(b)), stxW(R6, 24, R2)] : []),
        ...bump0(counter.fd),
        label('out'), mov(R0, ret), exit(),
      ];
      const redirect = loadProgram('connect_redir', 'cgroup/connect4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_CONNECT, prog(1, true));
      const deny = loadProgram('connect_deny', 'cgroup/connect4', U.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, U.BPF_CGROUP_INET4_CONNECT, prog(0, false));
      try {
        expect(await child.run(greet())).toBe('A');
        for (const { legacy } of PATHS) {
          resetCounters(counter);
          const link = await attach(redirect.prog, dir, legacy, U.BPF_CGROUP_INET4_CONNECT);
          try {
            expect(await child.run(greet())).toBe('B');
            expect(readCounter(counter)).toBe(1);
          } finally {
            link.close();
          }
          expectDetached(dir, U.BPF_CGROUP_INET4_CONNECT);
          expect(await child.run(greet())).toBe('A');
          const d = await attach(deny.prog, dir, legacy, U.BPF_CGROUP_INET4_CONNECT);
          try {
            expect(await child.run(greet())).toBe('EPERM');
            expect(readCounter(counter)).toBe(2);
          } finally {
            d.close();
          }
          expect(await child.run(greet())).toBe('A');
          expect(readCounter(counter)).toBe(2);
        }
      } finally {
        redirect.close();
        deny.close();
      }
    });
  });

  it('cgroup/sysctl: counts the child\'s reads of /proc/sys/kernel/ostype, then denies them (EPERM)', async () => {
    using counter = counterMap();
    const name = Buffer.alloc(16);
    name.write('ostype', 'latin1');
    // bpf_sysctl: write at 0; bpf_sysctl_get_name(ctx, buf, 16, BPF_F_SYSCTL_BASE_NAME) into a zeroed buffer
    const prog = (ret: number): Insn[] => [
      movr(R6, R1),
      ldxW(R2, R6, 0), jne(R2, 0, 'allow'),
      stDW(R10, -16, 0), stDW(R10, -8, 0),
      movr(R1, R6), movr(R2, R10), add(R2, -16), mov(R3, 16), { code: U.BPF_ALU64 | U.BPF_MOV | U.BPF_K, dst: 4, imm: U.BPF_F_SYSCTL_BASE_NAME },
      call(U.BPF_FUNC_sysctl_get_name),
      ldxDW(R1, R10, -16), ...ld64(R2, name.readBigUInt64LE(0)), jneR(R1, R2, 'allow'),
      ldxDW(R1, R10, -8), ...ld64(R2, name.readBigUInt64LE(8)), jneR(R1, R2, 'allow'),
      ...bump0(counter.fd),
      mov(R0, ret), exit(),
      label('allow'), mov(R0, 1), exit(),
    ];
    const reads = `const r = [];
      for (let i = 0; i < 4; i++) {
        try {
          const fd = fs.openSync('/proc/sys/kernel/ostype', 'r');
          try { const b = Buffer.alloc(64); r.push(b.toString('utf8', 0, fs.readSync(fd, b, 0, 64, 0)).trim()); } finally { fs.closeSync(fd); }
        } catch (e) { r.push(e.code); }
      }
      return r;`;
    const count = loadProgram('sysctl_count', 'cgroup/sysctl', U.BPF_PROG_TYPE_CGROUP_SYSCTL, U.BPF_CGROUP_SYSCTL, prog(1));
    const deny = loadProgram('sysctl_deny', 'cgroup/sysctl', U.BPF_PROG_TYPE_CGROUP_SYSCTL, U.BPF_CGROUP_SYSCTL, prog(0));
    const ostype = readFileSync('/proc/sys/kernel/ostype', 'utf8').trim();
    try {
      expect(await child.run(reads)).toEqual(Array(4).fill(ostype));
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await attach(count.prog, dir, legacy, U.BPF_CGROUP_SYSCTL);
        try {
          expect(await child.run(reads)).toEqual(Array(4).fill(ostype));
          expect(readCounter(counter)).toBe(4);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_SYSCTL);
        const d = await attach(deny.prog, dir, legacy, U.BPF_CGROUP_SYSCTL);
        try {
          expect(await child.run(reads)).toEqual(Array(4).fill('EPERM'));
          expect(readCounter(counter)).toBe(8);
        } finally {
          d.close();
        }
        expect(await child.run(reads)).toEqual(Array(4).fill(ostype));
        expect(readCounter(counter)).toBe(8);
      }
    } finally {
      count.close();
      deny.close();
    }
  });

  it('cgroup/getsockopt: the child reads SO_RCVBUF as the program rewrote it, and the real value after close()', async () => {
    using counter = counterMap();
    const FAKE = 123457;
    // bpf_sockopt: optval at 8, optval_end at 16, level at 24, optname at 28
    const insns: Insn[] = [
      movr(R6, R1),
      ldxW(R2, R6, 24), jne(R2, 1 /* SOL_SOCKET */, 'out'),
      ldxW(R2, R6, 28), jne(R2, 8 /* SO_RCVBUF */, 'out'),
      ldxDW(R2, R6, 8), ldxDW(R3, R6, 16), movr(R1, R2), add(R1, 4), jgtR(R1, R3, 'out'),
      mov(R1, FAKE), stxW(R2, 0, R1),
      ...bump0(counter.fd),
      label('out'), mov(R0, 1), exit(),
    ];
    const rcvbuf = `return await new Promise((res) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1', () => { const r = [s.getRecvBufferSize(), s.getRecvBufferSize()]; s.close(); res(r); });
      });`;
    const p = loadProgram('sockopt_get', 'cgroup/getsockopt', U.BPF_PROG_TYPE_CGROUP_SOCKOPT, U.BPF_CGROUP_GETSOCKOPT, insns);
    try {
      const real = await child.run(rcvbuf) as number[];
      expect(real[0]).toBeGreaterThan(0);
      expect(real[0]).not.toBe(FAKE);
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await attach(p.prog, dir, legacy, U.BPF_CGROUP_GETSOCKOPT);
        try {
          expect(await child.run(rcvbuf)).toEqual([FAKE, FAKE]);
          expect(readCounter(counter)).toBe(2);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_GETSOCKOPT);
        expect(await child.run(rcvbuf)).toEqual(real);
        expect(readCounter(counter)).toBe(2);
      }
    } finally {
      p.close();
    }
  });

  it('cgroup/setsockopt: the program rewrites the SO_RCVBUF the child sets; a caller\'s cgroup fd stays the caller\'s', async () => {
    using counter = counterMap();
    const ASKED = 8192, REWRITTEN = 12000;
    // bpf_sockopt as for getsockopt; the kernel then sets what the program left in optval
    const insns: Insn[] = [
      movr(R6, R1),
      ldxW(R2, R6, 24), jne(R2, 1 /* SOL_SOCKET */, 'out'),
      ldxW(R2, R6, 28), jne(R2, 8 /* SO_RCVBUF */, 'out'),
      ldxDW(R2, R6, 8), ldxDW(R3, R6, 16), movr(R1, R2), add(R1, 4), jgtR(R1, R3, 'out'),
      ldxW(R1, R2, 0), jne(R1, ASKED, 'out'),
      mov(R1, REWRITTEN), stxW(R2, 0, R1),
      ...bump0(counter.fd),
      label('out'), mov(R0, 1), exit(),
    ];
    const setget = `return await new Promise((res) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1', () => { s.setRecvBufferSize(${ASKED}); const r = s.getRecvBufferSize(); s.close(); res(r); });
      });`;
    const p = loadProgram('sockopt_set', 'cgroup/setsockopt', U.BPF_PROG_TYPE_CGROUP_SOCKOPT, U.BPF_CGROUP_SETSOCKOPT, insns);
    const cg = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      // Linux doubles what is set (sock_setsockopt), which is what getsockopt then reads
      expect(await child.run(setget)).toBe(2 * ASKED);
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await p.prog.attach({ cgroup: cg, legacy });
        try {
          expect(link.kind).toBe(legacy ? 'prog_attach' : 'link');
          expect(query(dir, U.BPF_CGROUP_SETSOCKOPT).ids).toEqual([progId(p.prog)]);
          expect(await child.run(setget)).toBe(2 * REWRITTEN);
          expect(readCounter(counter)).toBe(1);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_SETSOCKOPT);
        expect(await child.run(setget)).toBe(2 * ASKED);
        expect(readCounter(counter)).toBe(1);
        // neither the link nor BPF_PROG_DETACH closed the caller's fd
        expect(fstatSync(cg).ino).toBe(statSync(dir).ino);
      }
    } finally {
      closeSync(cg);
      p.close();
    }
  });

  it('cgroup/dev: opening /dev/null (1:3) fails with EPERM in the cgroup while attached, and works after close()', async () => {
    using counter = counterMap();
    // bpf_cgroup_dev_ctx: access_type at 0 (type | access << 16), major at 4, minor at 8
    const insns: Insn[] = [
      movr(R6, R1),
      ldxW(R2, R6, 0), { code: U.BPF_ALU64 | U.BPF_AND | U.BPF_K, dst: R2, imm: 0xffff }, jne(R2, U.BPF_DEVCG_DEV_CHAR, 'allow'),
      ldxW(R2, R6, 4), jne(R2, 1, 'allow'), ldxW(R2, R6, 8), jne(R2, 3, 'allow'),
      ...bump0(counter.fd),
      mov(R0, 0), exit(),
      label('allow'), mov(R0, 1), exit(),
    ];
    const opens = `const r = [];
      for (let i = 0; i < 3; i++) { try { fs.closeSync(fs.openSync('/dev/null', 'r')); r.push('ok'); } catch (e) { r.push(e.code); } }
      return r;`;
    const p = loadProgram('dev_deny_null', 'cgroup/dev', U.BPF_PROG_TYPE_CGROUP_DEVICE, U.BPF_CGROUP_DEVICE, insns);
    try {
      expect(await child.run(opens)).toEqual(['ok', 'ok', 'ok']);
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await attach(p.prog, dir, legacy, U.BPF_CGROUP_DEVICE);
        try {
          expect(await child.run(opens)).toEqual(['EPERM', 'EPERM', 'EPERM']);
          expect(readCounter(counter)).toBe(3);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_DEVICE);
        expect(await child.run(opens)).toEqual(['ok', 'ok', 'ok']);
        expect(readCounter(counter)).toBe(3);
      }
    } finally {
      p.close();
    }
  });

  it('sockops: counts connect, active and passive establishment of the child\'s loopback TCP connections', async () => {
    const SLOTS = 16;
    using counts = counterMap(SLOTS);
    // bpf_sock_ops: op at 0; counts[op] += 1
    const insns: Insn[] = [
      movr(R6, R1), ldxW(R6, R6, 0), jge(R6, SLOTS, 'out'),
      ...bump(counts.fd, R6),
      label('out'), mov(R0, 1), exit(),
    ];
    const connects = `const srv = net.createServer((c) => c.end('x'));
      await new Promise((r) => srv.listen(0, '127.0.0.1', r));
      const got = [];
      for (let i = 0; i < 2; i++) got.push(await new Promise((res) => {
        let d = '';
        net.connect(srv.address().port, '127.0.0.1').setEncoding('utf8').on('data', (x) => { d += x; }).on('end', () => res(d)).on('error', (e) => res(e.code));
      }));
      srv.close();
      return got;`;
    const p = loadProgram('sockops_count', 'sockops', U.BPF_PROG_TYPE_SOCK_OPS, U.BPF_CGROUP_SOCK_OPS, insns);
    try {
      for (const { legacy } of PATHS) {
        resetCounters(counts, SLOTS);
        const link = await attach(p.prog, dir, legacy, U.BPF_CGROUP_SOCK_OPS);
        try {
          expect(await child.run(connects)).toEqual(['x', 'x']);
          expect({
            connect: readCounter(counts, U.BPF_SOCK_OPS_TCP_CONNECT_CB),
            active: readCounter(counts, U.BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB),
            passive: readCounter(counts, U.BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB),
          }).toEqual({ connect: 2, active: 2, passive: 2 });
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_SOCK_OPS);
        resetCounters(counts, SLOTS);
        expect(await child.run(connects)).toEqual(['x', 'x']);
        expect(Array.from({ length: SLOTS }, (_, i) => readCounter(counts, i))).toEqual(Array(SLOTS).fill(0));
      }
    } finally {
      p.close();
    }
  });

  describe('attach modes on one cgroup', () => {
    /** A sock_create program counting the child's UDP sockets into `counter`, returning `ret`. */
    const sockProg = (name: string, counter: OwnedFd, ret = 1) => loadProgram(name, 'cgroup/sock_create', U.BPF_PROG_TYPE_CGROUP_SOCK, U.BPF_CGROUP_INET_SOCK_CREATE, [
      movr(R6, R1), ldxW(R2, R6, 4), jne(R2, 2, 'out'), ldxW(R2, R6, 8), jne(R2, 2, 'out'),
      ...bump0(counter.fd),
      label('out'), mov(R0, ret), exit(),
    ]);
    const udp = `return await new Promise((res) => {
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => res(e.code));
        s.bind(0, '127.0.0.1', () => { s.close(); res('ok'); });
      });`;

    it('a BPF link and a BPF_F_ALLOW_MULTI attachment run side by side; closing one leaves the other', async () => {
      using c1 = counterMap();
      using c2 = counterMap();
      const p1 = sockProg('sock_link', c1);
      const p2 = sockProg('sock_multi', c2);
      try {
        const link = await p1.prog.attach({ cgroup: dir });
        const multi = await p2.prog.attach({ cgroup: dir, legacy: true });
        try {
          expect([link.kind, multi.kind]).toEqual(['link', 'prog_attach']);
          expect(query(dir, U.BPF_CGROUP_INET_SOCK_CREATE).ids.sort()).toEqual([progId(p1.prog), progId(p2.prog)].sort());
          expect(await child.run(udp)).toBe('ok');
          expect([readCounter(c1), readCounter(c2)]).toEqual([1, 1]);
          link.close();
          expect(query(dir, U.BPF_CGROUP_INET_SOCK_CREATE).ids).toEqual([progId(p2.prog)]);
          expect(await child.run(udp)).toBe('ok');
          expect([readCounter(c1), readCounter(c2)]).toEqual([1, 2]);
        } finally {
          link.close();
          multi.close();
        }
        expectDetached(dir, U.BPF_CGROUP_INET_SOCK_CREATE);
        expect(await child.run(udp)).toBe('ok');
        expect([readCounter(c1), readCounter(c2)]).toEqual([1, 2]);
      } finally {
        p1.close();
        p2.close();
      }
    });

    it('BPF_F_ALLOW_OVERRIDE is attached as asked; the kernel then refuses a multi-mode link, with a typed error', async () => {
      using counter = counterMap();
      const deny = sockProg('sock_override', counter, 0);
      const other = sockProg('sock_other', counter);
      try {
        const link = await deny.prog.attach({ cgroup: { path: dir, flags: U.BPF_F_ALLOW_OVERRIDE } });
        try {
          expect(link.kind).toBe('prog_attach'); // only BPF_PROG_ATTACH has this mode
          expect(query(dir, U.BPF_CGROUP_INET_SOCK_CREATE)).toEqual({ ids: [progId(deny.prog)], flags: U.BPF_F_ALLOW_OVERRIDE });
          expect(await child.run(udp)).toBe('EPERM');
          expect(readCounter(counter)).toBe(1);
          const err = await other.prog.attach({ cgroup: dir }).then(() => null, (e: unknown) => e);
          expect(err).toBeInstanceOf(SyscallError);
          expect(err).not.toBeInstanceOf(PermissionError); // we are root: the mode is the reason
          expect((err as SyscallError).errnoName).toBe('EPERM');
          expect((err as Error).message).toMatch(/BPF_F_ALLOW_OVERRIDE/);
          expect(query(dir, U.BPF_CGROUP_INET_SOCK_CREATE).ids).toEqual([progId(deny.prog)]);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_CGROUP_INET_SOCK_CREATE);
        expect(await child.run(udp)).toBe('ok');
        expect(readCounter(counter)).toBe(1);
      } finally {
        deny.close();
        other.close();
      }
    });
  });

  it('lsm_cgroup/socket_bind: a denying program makes the child\'s bind() fail with EPERM', async (ctx) => {
    const why = lsmCgroupMissing();
    if (why) skipWith(ctx, `needs lsm_cgroup: ${why}`);
    using counter = counterMap();
    const insns: Insn[] = [...bump0(counter.fd), mov(R0, 0), exit()];
    const binds = `const r = [];
      for (let i = 0; i < 2; i++) r.push(await new Promise((res) => {
        const s = dgram.createSocket('udp4');
        s.on('error', (e) => res(e.code));
        s.bind(0, '127.0.0.1', () => { s.close(); res('ok'); });
      }));
      return r;`;
    const p = loadProgram('lsm_cg_bind', 'lsm_cgroup/socket_bind', U.BPF_PROG_TYPE_LSM, U.BPF_LSM_CGROUP, insns, kernelBtfId('bpf_lsm_socket_bind', 'func')!);
    try {
      expect(await child.run(binds)).toEqual(['ok', 'ok']);
      for (const { legacy } of PATHS) {
        resetCounters(counter);
        const link = await attach(p.prog, dir, legacy, U.BPF_LSM_CGROUP);
        try {
          expect(await child.run(binds)).toEqual(['EPERM', 'EPERM']);
          expect(readCounter(counter)).toBe(2);
        } finally {
          link.close();
        }
        expectDetached(dir, U.BPF_LSM_CGROUP);
        expect(await child.run(binds)).toEqual(['ok', 'ok']);
        expect(readCounter(counter)).toBe(2);
      }
    } finally {
      p.close();
    }
  });
});

/**
 * lsm_cgroup programs (Linux 6.0+) need the BPF LSM active and BPF trampolines: null when a
 * minimal one on bpf_lsm_socket_bind loads here, else why not.
 */
function lsmCgroupMissing(): string | null {
  const lsm = missing('lsm');
  if (lsm) return lsm;
  const id = kernelBtfId('bpf_lsm_socket_bind', 'func');
  if (id === null) return 'bpf_lsm_socket_bind is not in the kernel\'s BTF';
  try {
    A.progLoad({ progType: U.BPF_PROG_TYPE_LSM, insns: asm([mov(R0, 1), exit()]), license: 'GPL', name: 'probe', expectedAttachType: U.BPF_LSM_CGROUP, attachBtfId: id }).close();
    return null;
  } catch (e) {
    return `BPF_PROG_LOAD of a BPF_LSM_CGROUP program on bpf_lsm_socket_bind fails: ${e instanceof SyscallError ? e.errnoName : (e as Error).message} (lsm_cgroup needs Linux 6.0+)`;
  }
}
