// BpfObject on the real kernel (src/host/object.ts, program.ts, leaks.ts): open (relocation
// in the worker) -> settable globals -> load -> maps / programs -> testRun -> close, and fd
// hygiene. Skips (and says why) only when not root or when bpf() answers EPERM.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, CorebpfError, Program, Relocator, possibleCpus, type LoadPlan } from '../dist/index.js';
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';
import { needsEach } from './kernel.js';

const PROGS = new URL('../testdata/progs/', import.meta.url).pathname;
const DIST = new URL('../dist/index.js', import.meta.url).pathname;


const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const open = (name: string, opts: Parameters<typeof BpfObject.open>[1] = {}) =>
  BpfObject.open(`${PROGS}${name}.bpf.o`, { relocator, ...opts });
const fdCount = (): number => readdirSync('/proc/self/fd').length;

// --- packets --------------------------------------------------------------------------------
const MAC_A = [0x02, 0, 0, 0, 0, 0xaa];
const MAC_B = [0x02, 0, 0, 0, 0, 0xbb];
function eth(proto: number, payload: Buffer, dst = MAC_B, src = MAC_A): Buffer {
  const h = Buffer.alloc(14);
  h.set(dst, 0); h.set(src, 6); h.writeUInt16BE(proto, 12);
  return Buffer.concat([h, payload]);
}
function ipv4(proto: number, payload: Buffer, src = [10, 0, 0, 1], dst = [10, 0, 0, 2]): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; h.writeUInt16BE(20 + payload.length, 2); h[8] = 64; h[9] = proto;
  h.set(src, 12); h.set(dst, 16);
  return Buffer.concat([h, payload]);
}
function udp(sport: number, dport: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0); h.writeUInt16BE(dport, 2); h.writeUInt16BE(8 + data.length, 4); h.writeUInt16BE(0x1234, 6);
  return Buffer.concat([h, data]);
}
function tcp(sport: number, dport: number, flags: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0); h.writeUInt16BE(dport, 2); h[12] = 5 << 4; h[13] = flags;
  return h;
}
const SYN = 0x02, ACK = 0x10;
const XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3;

describe('BpfObject without loading (no kernel)', () => {
  it('globals: list, set before load with checks, read back; unknown names list what exists', async () => {
    const obj = await open('execsnoop', { rodata: { target_uid: 1000 } });
    expect(obj.globals()).toEqual([
      { name: 'target_uid', section: '.rodata', type: 'const volatile u32', offset: 0, size: 4, writableAfterLoad: false },
      { name: 'emit_failed', section: '.rodata', type: 'const volatile bool', offset: 4, size: 1, writableAfterLoad: false },
    ]);
    expect(obj.getGlobal('target_uid')).toBe(1000);
    expect(obj.getGlobal('emit_failed')).toBe(false);
    obj.setGlobal('emit_failed', true);
    expect(obj.getGlobal('emit_failed')).toBe(true);
    expect(() => obj.setGlobal('target_pid', 1)).toThrow(/has no global variable 'target_pid'; available: target_uid \(\.rodata\), emit_failed \(\.rodata\)/);
    expect(() => obj.setGlobal('target_uid', -1)).toThrow(/cannot set global 'target_uid' \(const volatile u32 in \.rodata\): target_uid: -1 does not fit/);
    expect(() => obj.setGlobal('target_uid', 'root')).toThrow(/expected an integer/);
    expect(() => obj.setGlobal('emit_failed', 2)).toThrow(/not a boolean/);
    expect(obj.getGlobal('target_uid')).toBe(1000); // failed sets changed nothing
    await expect(open('execsnoop', { data: { target_uid: 1 } })).rejects.toThrow(/no global variable 'target_uid' in \.data; available: none/);
    expect(() => obj.map('counts').get(1)).toThrow(/not loaded: call load\(\)/);
    obj.close();
  });

  it('decodes records as a BTF struct of the object (ring buffer events)', async () => {
    const obj = await open('execsnoop');
    const decode = obj.decoderFor('event');
    const rec = Buffer.alloc(92);
    rec.writeUInt32LE(31337, 0); rec.writeUInt32LE(1, 4); rec.writeUInt32LE(1000, 8); rec.write('sh', 12); rec.write('/bin/true', 28);
    expect(decode(rec)).toEqual({ pid: 31337, ppid: 1, uid: 1000, comm: 'sh', filename: '/bin/true' });
    expect(obj.decoderFor('struct event')(rec.subarray(0, 12))).toEqual({ pid: 31337, ppid: 1, uid: 1000, comm: '', filename: '' });
    expect(() => obj.decoderFor('struct nope')).toThrow(/no BTF type 'struct nope'/);
    obj.close();
  });
});

describe('BpfObject on the real kernel', () => {
  needsEach('bpf');
  let globals: LoadPlan;
  beforeAll(async () => {
    globals = (await relocator.relocate(`${PROGS}global_data.bpf.o`)).plan;
  });

  it('execsnoop: open with rodata, load, maps and programs by name', async () => {
    const obj = await open('execsnoop', { rodata: { target_uid: 1000 } });
    expect(obj.loaded).toBe(false);
    expect(await obj.load()).toBe(obj);
    try {
      expect(obj.maps.map((m) => [m.name, m.sectionName])).toEqual([
        ['scratch', null], ['execs', null], ['counts', null], ['events', null], ['execsnoo.rodata', '.rodata'],
      ]);
      expect(obj.map('.rodata')).toBe(obj.map('execsnoo.rodata'));
      expect(obj.map('.rodata').get(0)).toEqual({ target_uid: 1000, emit_failed: false });
      expect(obj.getGlobal('target_uid')).toBe(1000);
      expect(() => obj.setGlobal('target_uid', 5)).toThrow(/read-only once loaded/);
      expect(obj.programs.map((p) => [p.name, p.section, p.typeName])).toEqual([
        ['tracepoint__syscalls__sys_enter_execve', 'tracepoint/syscalls/sys_enter_execve', 'tracepoint'],
        ['tracepoint__syscalls__sys_exit_execve', 'tracepoint/syscalls/sys_exit_execve', 'tracepoint'],
      ]);
      const p = obj.program('tracepoint__syscalls__sys_exit_execve');
      expect(p).toBeInstanceOf(Program);
      expect(p.info().type).toBe(U.BPF_PROG_TYPE_TRACEPOINT);
      expect(() => obj.map('nope')).toThrow(/has no map 'nope' \(maps: scratch, execs, counts, events, \.rodata\)/);
      expect(() => obj.program('nope')).toThrow(/has no program 'nope'/);
      expect(() => obj.load()).toThrow(/already loaded/); // at once, not through the promise
      expect(obj.failedRelocations).toEqual([]);
      expect(obj.relocations.map((r) => r.access)).toContain('task_struct.real_parent');
    } finally {
      obj.close();
    }
    expect(obj.closed).toBe(true);
    expect(() => obj.map('counts')).toThrow(/closed/);
    obj.close(); // once
  });

  it('global_data: .data, .bss and custom sections set before load, read and written after', () => {
    const obj = BpfObject.fromPlan(globals, {
      data: { data_counter: 50n, data_struct: { second: 9, tag: 'set' } },
      rodata: { ro_limit: 60n, ro_name: 'node', ro_table: [1, 1, 2] },
    });
    obj.setGlobal('custom_b', 0xdeadbeefn).setGlobal('cfg_name', 'mode-three').setGlobal('bss_counter', 3n);
    expect(() => obj.setGlobal('ro_name', 'far too long')).toThrow(/string of 12 bytes does not fit const volatile char\[8\]|char\[8\]/);
    expect(() => obj.setGlobal('data_struct', { third: 1 })).toThrow(/has no field 'third' \(fields: first, second, tag\)/);
    obj.load();
    try {
      expect(obj.map('.data').get(0)).toEqual({ data_counter: 50n, data_struct: { first: 1, second: 9, tag: 'set' }, static_data: 3 });
      expect(obj.map('.rodata').get(0)).toEqual({ ro_limit: 60n, ro_name: 'node', ro_table: [1, 1, 2, 7], static_ro: 42 });
      expect(obj.map('.data.custom').get(0)).toEqual({ custom_a: 11, custom_b: 0xdeadbeefn });
      expect(obj.map('.rodata.cfg').get(0)).toEqual({ cfg_mode: 2, cfg_name: 'mode-three' });
      expect(obj.getGlobal('bss_counter')).toBe(3n);
      expect(obj.getGlobal('bss_array')).toEqual(new Array(64).fill(0));
      // after load: .data / .bss are plain maps, .rodata is frozen
      obj.setGlobal('data_counter', 1n).setGlobal('scratch_buf', 'hello');
      expect(obj.map('.data').get(0)).toMatchObject({ data_counter: 1n });
      expect((obj.map('.bss.scratch').getRaw(Buffer.alloc(4))!).subarray(0, 6).toString('latin1')).toBe('hello\0');
      expect(() => obj.setGlobal('cfg_mode', 3)).toThrow(/read-only once loaded/);
      const ro = obj.map('.rodata.cfg');
      expect(readFileSync(`/proc/self/fdinfo/${ro.fd}`, 'utf8')).toMatch(/^frozen:\s+1$/m);
      expect(readFileSync(`/proc/self/fdinfo/${obj.map('.data').fd}`, 'utf8')).toMatch(/^frozen:\s+0$/m);
    } finally {
      obj.close();
    }
  });

  it('socket filter: testRun returns the program verdicts, maps see the packets', async () => {
    const obj = await (await open('socket_filter')).load();
    try {
      const filter = obj.program('sock_filter_tcp');
      const count = obj.program('sock_count');
      // BPF_PROG_TEST_RUN of a socket filter: eth_type_trans() consumes the Ethernet header,
      // so skb->len and the program's offsets start at the IP header. The program checks
      // load_half(12) == ETH_P_IP and reads its iphdr at offset 14: give it both, at those
      // offsets after the Ethernet header.
      const frame = (proto: number, ipProto: number, total: number) => {
        const inner = Buffer.alloc(total - 14);
        inner.writeUInt16BE(0x0800, 12);
        inner.set(ipv4(ipProto, Buffer.alloc(0)).subarray(0, 20), 14);
        inner[14] = 0x46; // ihl 6: 24 bytes
        return eth(proto, inner);
      };
      const tcpFrame = frame(0x0800, 6, 120);
      const r1 = filter.testRun({ data: tcpFrame });
      expect(r1.retval).toBe(120 - 14); // TCP: keep the whole packet (skb->len)
      expect(filter.testRun({ data: frame(0x0800, 17, 120) }).retval).toBe(14 + 24); // truncate to the IP header
      expect(filter.testRun({ data: frame(0x0806, 6, 120) }).retval).toBe(0); // ARP: drop
      // the packet comes back unchanged, except that the kernel zeroes the Ethernet header
      // it pushed back for a non-L2 program
      expect(r1.data.toString('hex')).toBe(Buffer.concat([Buffer.alloc(14), tcpFrame.subarray(14)]).toString('hex'));
      expect(obj.getGlobal('last_ifindex')).toBe(1n); // test runs happen on the loopback device
      // sock_count returns -1 (accept all) and counts the IP protocol byte (offset 14+9 here)
      for (const proto of [6, 6, 17]) {
        const pkt = Buffer.alloc(64);
        pkt[14 + 9 + 14] = proto;
        pkt.writeUInt16BE(0x0800, 12);
        expect(count.testRun({ data: pkt }).retval).toBe(0xffffffff);
      }
      const counts = obj.map('proto_counts');
      expect(counts.get(6)).toBe(2n);
      expect(counts.get(17)).toBe(1n);
      expect(counts.get(1)).toBe(0n);
      const r = count.testRun({ data: Buffer.alloc(64), repeat: 100 });
      expect(r.retval).toBe(0xffffffff);
      expect(counts.get(0)).toBe(100n);
    } finally {
      obj.close();
    }
  });

  it('XDP: echo turns a UDP datagram around in place, blocked TCP SYNs drop, per-CPU stats add up', async () => {
    const obj = await (await open('xdp_parse')).load();
    try {
      const xdp = obj.program('xdp_echo');
      expect(xdp.type).toBe(U.BPF_PROG_TYPE_XDP);
      const echo = eth(0x0800, ipv4(17, udp(40000, 7, Buffer.from('ping'))));
      const r = xdp.testRun({ data: echo });
      expect(r.retval).toBe(XDP_TX);
      const want = eth(0x0800, ipv4(17, udp(7, 40000, Buffer.from('ping')), [10, 0, 0, 2], [10, 0, 0, 1]), MAC_A, MAC_B);
      want.writeUInt16BE(0, 14 + 20 + 6); // checksum cleared
      expect(r.data.toString('hex')).toBe(want.toString('hex'));
      expect(r.duration).toBeGreaterThanOrEqual(0);

      const blocked = obj.map('blocked_ports');
      blocked.set(22, 1);
      expect(blocked.get(22)).toBe(1);
      expect(xdp.testRun({ data: eth(0x0800, ipv4(6, tcp(5555, 22, SYN))) }).retval).toBe(XDP_DROP);
      expect(xdp.testRun({ data: eth(0x0800, ipv4(6, tcp(5555, 22, SYN | ACK))) }).retval).toBe(XDP_PASS);
      expect(xdp.testRun({ data: eth(0x0800, ipv4(6, tcp(5555, 80, SYN))) }).retval).toBe(XDP_PASS);
      expect(xdp.testRun({ data: eth(0x0806, Buffer.alloc(28)) }).retval).toBe(XDP_PASS);
      expect(xdp.testRun({ data: eth(0x0800, Buffer.alloc(10)) }).retval).toBe(XDP_DROP); // truncated IPv4 header
      // kernels since 5.12 want >= ETH_HLEN bytes; 5.10 runs the program on them, which
      // drops a frame too short for an Ethernet header
      let short: unknown;
      try { short = xdp.testRun({ data: Buffer.alloc(10) }).retval; } catch (e) { short = e; }
      if (short instanceof Error) expect(short.message).toMatch(/EINVAL/);
      else expect(short).toBe(XDP_DROP);

      const stats = obj.map('stats');
      const perCpu = stats.get(1) as { packets: bigint; bytes: bigint }[]; // STAT_IPV4
      expect(perCpu).toHaveLength(possibleCpus());
      const total = (k: number) => (stats.get(k) as { packets: bigint; bytes: bigint }[])
        .reduce((a, s) => ({ packets: a.packets + s.packets, bytes: a.bytes + s.bytes }), { packets: 0n, bytes: 0n });
      const tcpLen = BigInt(14 + 20 + 20);
      expect(total(1)).toEqual({ packets: 4n, bytes: BigInt(echo.length) + 3n * tcpLen }); // IPv4
      expect(total(4)).toEqual({ packets: 3n, bytes: 3n * tcpLen }); // TCP
      expect(total(5)).toEqual({ packets: 1n, bytes: BigInt(echo.length) }); // ECHOED
      expect(total(6)).toEqual({ packets: 1n, bytes: tcpLen }); // DROPPED
    } finally {
      obj.close();
    }
  });

  it('execsnoop end to end: attach, exec, a decoded ring buffer event, counts per uid; close detaches', async () => {
    const obj = await (await open('execsnoop')).load();
    try {
      for (const p of obj.programs) await p.attach();
      const rb = await obj.ringbuf('events', { type: 'event' });
      const uid = process.getuid!();
      const before = (obj.map('counts').get(uid) as bigint | undefined) ?? 0n;
      execFileSync('/bin/true');
      execFileSync('/bin/true');
      // the event is written before execve returns in the child: it is in the ring by now
      const ours = (rb.drain() as { pid: number; uid: number; comm: string; filename: string }[])
        .filter((e) => e.filename === '/bin/true');
      expect(ours).toHaveLength(2);
      for (const e of ours) {
        expect(e).toMatchObject({ uid, comm: 'true', filename: '/bin/true' });
        expect(e.pid).toBeGreaterThan(0);
      }
      expect((obj.map('counts').get(uid) as bigint) - before).toBeGreaterThanOrEqual(2n);
      rb.close();
    } finally {
      obj.close();
    }
    // closed with the object: no program of ours runs any more (the maps are gone too)
    const obj2 = await (await open('execsnoop', { rodata: { target_uid: 4242424 } })).load();
    try {
      for (const p of obj2.programs) await p.attach();
      const rb = await obj2.ringbuf('events', { type: 'event' });
      execFileSync('/bin/true');
      expect(rb.drain()).toEqual([]); // filtered by the .rodata knob
      expect(obj2.map('counts').count()).toBe(0);
    } finally {
      obj2.close();
    }
  });

  it('raw: true opts out of BTF decoding', async () => {
    const obj = await (await open('execsnoop', { raw: true })).load();
    try {
      const counts = obj.map('counts');
      counts.set(Buffer.from([1, 0, 0, 0]), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]));
      counts.set(3, 4n); // raw maps still take unsigned integers of the key/value size
      expect((counts.get(1) as Buffer).toString('hex')).toBe('0200000000000000');
      expect((counts.get(3) as Buffer).readBigUInt64LE(0)).toBe(4n);
      expect([...counts.keys()].map((k) => (k as Buffer).readUInt32LE(0)).sort()).toEqual([1, 3]);
      expect(() => counts.set({ uid: 1 }, 1n)).toThrow(/expected a Uint8Array of 4 bytes or an integer/);
    } finally {
      obj.close();
    }
  });

  it('autoload: only the programs asked for are loaded', async () => {
    const obj = await open('socket_filter');
    await obj.setAutoload('sock_count', false).load();
    try {
      expect(obj.programs.map((p) => p.name)).toEqual(['sock_filter_tcp']);
      expect(() => obj.program('sock_count')).toThrow(/was not loaded \(autoload off\)/);
    } finally {
      obj.close();
    }
  });

  it('attach() links are owned by the object: closing it detaches them', async () => {
    const obj = await (await open('execsnoop')).load();
    const link = await obj.program('tracepoint__syscalls__sys_exit_execve').attach();
    expect(link.closed).toBe(false);
    obj.close();
    expect(link.closed).toBe(true);
  });

  // under the lab's emulation a cycle takes ~1 s: 40 still shows any per-cycle leak
  const cycles = process.env.LAB_KERNEL ? 40 : 200;
  it(`close() closes everything once; fd count is unchanged after ${cycles} open/load/attach/close cycles`, async () => {
    const bytes = readFileSync(`${PROGS}execsnoop.bpf.o`);
    for (let i = 0; i < 5; i++) (await (await BpfObject.open(bytes, { relocator })).load()).close(); // warm the worker
    const before = fdCount();
    const obj = await (await BpfObject.open(bytes, { relocator })).load();
    expect(fdCount() - before).toBe(7); // 5 maps + 2 programs (the BTF fd is not kept)
    obj.close();
    obj.close();
    expect(fdCount()).toBe(before);
    for (let i = 0; i < cycles; i++) {
      const o = await BpfObject.open(bytes, { relocator, rodata: { target_uid: i } });
      await o.load();
      for (const p of o.programs) await p.attach(); // links belong to the object
      if (i % 2) o.close();
      else await o[Symbol.asyncDispose]();
    }
    expect(fdCount()).toBe(before);
  }, 300_000);

  it('warns once when a loaded object is garbage-collected without close()', () => {
    const script = `
      import { BpfObject } from ${JSON.stringify(DIST)};
      import { readFileSync } from 'node:fs';
      const plan = JSON.parse(readFileSync(0, 'utf8'));
      let warnings = [];
      process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
      (() => { BpfObject.fromPlan(plan).load(); })();              // leaked
      (() => { const o = BpfObject.fromPlan(plan); o.load(); o.close(); })(); // closed: no warning
      (() => { BpfObject.fromPlan(plan); })();                     // never loaded: no warning
      for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify(warnings));
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      input: JSON.stringify(globals), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
    });
    const warnings = JSON.parse(out.trim().split('\n').pop()!) as string[];
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^CorebpfLeakWarning: BpfObject 'global_data' was garbage-collected without close\(\)/);
  });

  it('errors are CorebpfErrors', async () => {
    const obj = await open('socket_filter');
    expect(() => obj.setAutoload('nope', false)).toThrow(CorebpfError);
    obj.close();
    expect(() => obj.load()).toThrow(/closed/);
  });
});
