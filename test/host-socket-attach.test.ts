// The socket-family attach types on the real kernel, through the public API (BpfObject,
// Program.attach): sk_lookup and flow_dissector on this network namespace, sk_skb / sk_msg
// on a sockmap / sockhash, netfilter hooks. Each program (testdata/progs/socket_attach.bpf.c,
// netfilter_hook.bpf.c) counts only the test's own traffic, so the exact counts are asserted; close() must detach
// (counts stop growing, behaviour reverts, the kernel's link list is as before). Where the
// attachment has a link-less form (BPF_PROG_ATTACH), `legacy: true` tests that path too.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, describe, expect, it, type TestContext } from 'vitest';
import * as A from '../src/host/attr.js';
import * as U from '../src/host/generated/uapi.js';
import { BpfObject, NotSupportedError, Relocator, type Link } from '../dist/index.js';
import { PROGS } from './helpers.js';
import { missing, needsEach, skipWith } from './kernel.js';
import { linksOfProgram } from './link-helpers.js';

const OBJ = `${PROGS}/socket_attach.bpf.o`;
const NF_OBJ = `${PROGS}/netfilter_hook.bpf.o`; // counts[0]: packets, counts[1]: their bytes
// counts[] indexes of socket_attach.bpf.c
const C = { LOOKUPS: 0, ASSIGNED: 1, SKB: 2, SKB_BYTES: 3, MSG: 4, MSG_BYTES: 5, DISSECT: 6, SKB_EMPTY: 7 } as const;
const NFPROTO_IPV4 = 2, NF_INET_LOCAL_IN = 1;

/** null when a minimal program of the type loads (`r0 = 1; exit`), else why not. */
function progTypeMissing(progType: number, attachType: number, what: string, since: string): string | null {
  const bpf = missing('bpf');
  if (bpf) return bpf;
  const insns = A.bytes(16);
  insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K;
  new DataView(insns.buffer).setInt32(4, 1, true);
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  try {
    A.progLoad({ progType, insns, license: 'GPL', expectedAttachType: attachType, name: 'probe' }).close();
    return null;
  } catch (e) {
    return `the kernel refuses a minimal ${what} program (Linux ${since}+): ${(e as Error).message}`;
  }
}

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
/** Open and load only `programs` (the others need kernels this one may not be); every map is created. */
async function openObj(globals: Record<string, number>, programs: string[], path = OBJ): Promise<BpfObject> {
  const obj = await BpfObject.open(path, { relocator });
  cleanups.push(() => obj.close());
  for (const [k, v] of Object.entries(globals)) obj.setGlobal(k, v);
  // autoload rather than load({ programs }): that one creates only the maps its programs use,
  // and the sockmaps sk_skb / sk_msg programs attach to are used by none
  for (const p of obj.programs) if (!programs.includes(p.name)) p.setAutoload(false);
  await obj.load();
  return obj;
}
const count = (obj: BpfObject, i: number): bigint => obj.map('counts').get(i) as bigint;
/** The socket's own fd (libuv's), for inserting it into a sockmap. */
const fdOf = (s: Socket | Server): number => {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no fd on this socket handle');
  return fd;
};

async function listen(): Promise<Server> {
  const server = createServer();
  cleanups.push(() => new Promise((r) => server.close(r)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
const portOf = (s: Server): number => (s.address() as { port: number }).port;

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = portOf(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** Connect to 127.0.0.1:port; resolves with the socket or the connect error's code. */
function connect(port: number): Promise<Socket | string> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => { cleanups.push(() => c.destroy()); resolve(c); });
    c.once('error', (e: NodeJS.ErrnoException) => { c.destroy(); resolve(e.code ?? e.message); });
  });
}

/** A connected TCP pair over loopback: [client side, server side]. */
async function tcpPair(server: Server): Promise<[Socket, Socket]> {
  const accepted = new Promise<Socket>((r) => server.once('connection', (s) => { cleanups.push(() => s.destroy()); r(s); }));
  const c = await connect(portOf(server));
  if (typeof c === 'string') throw new Error(`connect failed: ${c}`);
  return [c, await accepted];
}

/** Read exactly n bytes from s. */
function readBytes(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (b: Buffer) => {
      parts.push(b);
      got += b.length;
      if (got >= n) { s.off('data', onData); s.off('error', reject); resolve(Buffer.concat(parts)); }
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** Write a message and wait until the peer has all of it (one sendmsg, one skb each). */
async function exchange(from: Socket, to: Socket, msg: Buffer): Promise<void> {
  const got = readBytes(to, msg.length);
  from.write(msg);
  expect((await got).equals(msg)).toBe(true);
}

/** Attach, and remember to close the link (a failed test must not leave it behind). */
async function attached(p: Promise<Link>): Promise<Link> {
  const link = await p;
  cleanups.push(() => link.close());
  return link;
}

// =============================================================================================
describe('sk_lookup on this network namespace', () => {
  needsEach('bpf');

  it('steers connections for a port nobody listens on to a listener in a sockmap; close() reverts', async (ctx: TestContext) => {
    const why = progTypeMissing(U.BPF_PROG_TYPE_SK_LOOKUP, U.BPF_SK_LOOKUP, 'sk_lookup', '5.9');
    if (why) skipWith(ctx, why);
    const server = await listen();
    const port = await freePort();
    expect(await connect(port)).toBe('ECONNREFUSED');

    const obj = await openObj({ lookup_port: port }, ['lookup_redirect']);
    obj.map('lookup_socks').set(0, { fd: fdOf(server) });
    const prog = obj.program('lookup_redirect');
    expect(linksOfProgram(prog.fd)).toEqual([]);
    const link = await attached(prog.attach()); // SEC("sk_lookup"): this process's netns
    expect(link.kind).toBe('link');
    expect(linksOfProgram(prog.fd)).toHaveLength(1);

    for (let i = 0; i < 3; i++) {
      const accepted = new Promise<Socket>((r) => server.once('connection', r));
      const c = await connect(port);
      if (typeof c === 'string') throw new Error(`connect to the steered port failed: ${c}`);
      const s = await accepted;
      cleanups.push(() => s.destroy());
      expect(s.localPort).toBe(port); // the listener on another port took a connection for this one
      await exchange(c, s, Buffer.from(`hello ${i}`));
      c.destroy();
    }
    expect(count(obj, C.LOOKUPS)).toBe(3n);
    expect(count(obj, C.ASSIGNED)).toBe(3n);

    link.close();
    expect(linksOfProgram(prog.fd)).toEqual([]);
    expect(await connect(port)).toBe('ECONNREFUSED');
    expect(count(obj, C.LOOKUPS)).toBe(3n);
  });
});

describe('sk_skb and sk_msg on a sockmap / sockhash', () => {
  needsEach('bpf');

  it.for([false, true])('counts the skbs a sockmap socket receives and the messages a sockhash socket sends; close() detaches (legacy: %s)', async (legacy: boolean) => {
    const obj = await openObj({}, ['skb_verdict', 'msg_verdict']);
    const skbSocks = obj.map('skb_socks'), msgSocks = obj.map('msg_socks');
    const skbProg = obj.program('skb_verdict'), msgProg = obj.program('msg_verdict');
    const skbLink = await attached(skbProg.attach({ sockmap: skbSocks.fd, legacy }));
    const msgLink = await attached(msgProg.attach({ sockmap: msgSocks.fd, legacy }));
    if (legacy) expect([skbLink.kind, msgLink.kind]).toEqual(['prog_attach', 'prog_attach']);

    const server = await listen();
    // two pairs: an sk_msg sender's data reaches the wire in as many skbs as its scatterlist
    // has pieces, so the skb count is exact only for a plain sender
    const [sender, sink] = await tcpPair(server);
    const [writer, receiver] = await tcpPair(server);
    msgSocks.set(7, { fd: fdOf(sender) }); // what sender sends runs msg_verdict
    skbSocks.set(0, { fd: fdOf(receiver) }); // what receiver receives runs skb_verdict
    const sizes = [5, 100, 1000];
    const total = BigInt(sizes.reduce((a, b) => a + b, 0));
    for (const n of sizes) await exchange(sender, sink, Buffer.alloc(n, n & 0xff));
    expect([count(obj, C.SKB), count(obj, C.MSG), count(obj, C.MSG_BYTES)]).toEqual([0n, 3n, total]);
    for (const n of sizes) await exchange(writer, receiver, Buffer.alloc(n, n & 0xff));
    // the other directions are neither's: sink, writer and receiver send through no sockhash,
    // sink and the senders receive through no sockmap
    await exchange(sink, sender, Buffer.from('ack'));
    await exchange(receiver, writer, Buffer.from('ack'));
    expect([count(obj, C.SKB), count(obj, C.SKB_BYTES), count(obj, C.MSG), count(obj, C.MSG_BYTES)])
      .toEqual([3n, total, 3n, total]);

    for (const [l, p] of [[skbLink, skbProg], [msgLink, msgProg]] as const) {
      expect(linksOfProgram(p.fd)).toHaveLength(l.kind === 'link' ? 1 : 0);
    }
    skbLink.close();
    msgLink.close();
    expect(linksOfProgram(skbProg.fd)).toEqual([]);
    expect(linksOfProgram(msgProg.fd)).toEqual([]);
    // sockets keep the programs they were inserted with: new sockets, inserted after the
    // detach, must run neither
    for (const s of [sender, sink, writer, receiver]) s.destroy();
    const [sender2, sink2] = await tcpPair(server);
    const [writer2, receiver2] = await tcpPair(server);
    msgSocks.set(7, { fd: fdOf(sender2) });
    skbSocks.set(0, { fd: fdOf(receiver2) });
    await exchange(sender2, sink2, Buffer.alloc(64, 1));
    await exchange(writer2, receiver2, Buffer.alloc(64, 2));
    expect([count(obj, C.SKB), count(obj, C.SKB_BYTES), count(obj, C.MSG), count(obj, C.MSG_BYTES)])
      .toEqual([3n, total, 3n, total]);
  });
});

/** Ethernet + IPv4 + UDP from 192.0.2.77 to 192.0.2.78:dport. */
function udpFrame(dport: number, payload = 'corebpf'): Buffer {
  const data = Buffer.from(payload);
  const b = Buffer.alloc(14 + 20 + 8 + data.length);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45; b.writeUInt16BE(20 + 8 + data.length, 16); b[22] = 64; b[23] = 17;
  Buffer.from([192, 0, 2, 77, 192, 0, 2, 78]).copy(b, 26);
  b.writeUInt16BE(12345, 34); b.writeUInt16BE(dport, 36); b.writeUInt16BE(8 + data.length, 38);
  data.copy(b, 42);
  return b;
}

describe('flow_dissector on this network namespace', () => {
  needsEach('bpf');

  it.for([false, true])('dissects the packets the kernel hashes (bpf_get_hash_recalc in a test run); close() detaches (legacy: %s)', async (legacy, ctx: TestContext) => {
    const why = progTypeMissing(U.BPF_PROG_TYPE_FLOW_DISSECTOR, U.BPF_FLOW_DISSECTOR, 'flow_dissector', '4.20');
    if (why) skipWith(ctx, why);
    const dport = 4000 + (process.pid % 20000);
    const obj = await openObj({ magic_dport: dport }, ['dissect', 'hash_recalc']);
    const hash = obj.program('hash_recalc'), dissect = obj.program('dissect');
    const ours = udpFrame(dport), other = udpFrame(dport + 1);
    hash.testRun({ data: ours });
    expect(count(obj, C.DISSECT)).toBe(0n);

    // SEC("flow_dissector"): this process's netns
    const link = await attached(dissect.attach(legacy ? { legacy } : undefined));
    if (legacy) expect(link.kind).toBe('prog_attach');
    expect(linksOfProgram(dissect.fd)).toHaveLength(link.kind === 'link' ? 1 : 0);
    for (let i = 0; i < 3; i++) hash.testRun({ data: ours });
    for (let i = 0; i < 2; i++) hash.testRun({ data: other });
    expect(count(obj, C.DISSECT)).toBe(3n);

    link.close();
    expect(linksOfProgram(dissect.fd)).toEqual([]);
    hash.testRun({ data: ours });
    expect(count(obj, C.DISSECT)).toBe(3n);
  });
});

describe('netfilter hooks', () => {
  needsEach('bpf', 'btf');

  it('an NF_INET_LOCAL_IN hook counts the datagrams of a loopback exchange; close() detaches (Linux 6.4+)', async (ctx: TestContext) => {
    const why = progTypeMissing(U.BPF_PROG_TYPE_NETFILTER, U.BPF_NETFILTER, 'netfilter', '6.4');
    const rx = createSocket('udp4'), tx = createSocket('udp4');
    cleanups.push(() => { rx.close(); tx.close(); });
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const dport = rx.address().port;
    if (why) {
      // older kernels: loading says which release brought netfilter programs
      const obj = await BpfObject.open(NF_OBJ, { relocator });
      cleanups.push(() => obj.close());
      obj.setGlobal('nf_dport', dport);
      const err = await obj.load({ programs: ['nf_count'] }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as Error).message).toMatch(/netfilter programs need Linux 6\.4\+/);
      return;
    }
    const obj = await openObj({ nf_dport: dport }, ['nf_count'], NF_OBJ);
    const prog = obj.program('nf_count');
    const received: Buffer[] = [];
    rx.on('message', (m) => received.push(m));
    const send = async (payloads: Buffer[]) => {
      const want = received.length + payloads.length;
      for (const p of payloads) await new Promise<void>((r, j) => tx.send(p, dport, '127.0.0.1', (e) => (e ? j(e) : r())));
      for (let i = 0; received.length < want && i < 500; i++) await new Promise((r) => setTimeout(r, 2));
      expect(received.length).toBe(want);
    };

    const link = await attached(prog.attach({ netfilter: { pf: NFPROTO_IPV4, hooknum: NF_INET_LOCAL_IN, priority: -128 } }));
    expect(link.kind).toBe('link');
    expect(linksOfProgram(prog.fd)).toHaveLength(1);
    const payloads = [1, 50, 700].map((n) => Buffer.alloc(n, 0x61));
    await send(payloads);
    expect(count(obj, 0)).toBe(3n);
    // skb->len at LOCAL_IN: IP header + UDP header + payload
    expect(count(obj, 1)).toBe(BigInt(payloads.reduce((a, p) => a + 20 + 8 + p.length, 0)));

    link.close();
    expect(linksOfProgram(prog.fd)).toEqual([]);
    await send([Buffer.from('after')]);
    expect(count(obj, 0)).toBe(3n);
  });
});
