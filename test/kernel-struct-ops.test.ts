// struct_ops: a TCP congestion control written in BPF (testdata/progs/struct_ops.bpf.c),
// made into a plan by libbpf in the wasm (the map's kernel value type, its value and which
// slots take which program's fd: wasm/plan_map.c), loaded by the host and registered the way
// libbpf's bpf_map__attach_struct_ops() does it (src/host/link/struct-ops.ts): the value
// set with the programs' fds (SEC(".struct_ops")), plus a struct_ops link for
// SEC(".struct_ops.link") maps (Linux 6.4+). Connections over loopback then use it (chosen
// per socket with TCP_CONGESTION, so nothing global changes) and the programs count them.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, NotSupportedError, ObjectFormatError, Relocator, parsePlan, serializePlan, type LoadPlan } from '../dist/index.js';
import { parseBtf } from '../src/btf/reader.js';
import { getSyscalls } from '../src/host/syscall.js';
import * as U from '../src/host/generated/uapi.js';
import { BTF_DIR, PROGS } from './helpers.js';
import { missing, needs, skipWith } from './kernel.js';

const OBJ = `${PROGS}/struct_ops.bpf.o`;
const BTF_61 = `${BTF_DIR}/amd64-6.1.176.btf.xz`;
const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const IPPROTO_TCP = 6;
const TCP_CONGESTION = 13; // linux/tcp.h
const PROGRAMS = ['corebpf_init', 'corebpf_ssthresh', 'corebpf_cong_avoid', 'corebpf_undo_cwnd'];
const MEMBER_OF: Record<string, string> = {
  corebpf_init: 'init', corebpf_ssthresh: 'ssthresh', corebpf_cong_avoid: 'cong_avoid', corebpf_undo_cwnd: 'undo_cwnd',
};

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

const available = (): string[] => readFileSync(AVAILABLE, 'utf8').trim().split(/\s+/);

describe('struct_ops without a kernel: the plan carries the map\'s kernel value and its program slots', () => {
  it('maps, programs and value slots match the target kernel\'s BTF (6.1)', async (ctx) => {
    needs(ctx, 'xz');
    const r = await relocator.relocate(OBJ, { btf: BTF_61 });
    const kbtf = parseBtf(new Uint8Array(
      (await import('node:child_process')).execFileSync('xz', ['-dc', BTF_61], { maxBuffer: 1 << 30 })));
    const ops = kbtf.findAllByName('tcp_congestion_ops').find((t) => t.kind === U.BTF_KIND_STRUCT) as unknown as
      { id: number; members: { name: string; bitOffset: number }[] };
    const vtype = kbtf.findAllByName('bpf_struct_ops_tcp_congestion_ops').find((t) => t.kind === U.BTF_KIND_STRUCT) as unknown as
      { id: number; size: number; members: { name: string; type: number; bitOffset: number }[] };
    const dataOff = vtype.members.find((m) => m.type === ops.id)!.bitOffset / 8;

    for (const [name, link] of [['corebpf_ca', false], ['corebpf_ca_link', true]] as const) {
      const m = r.plan.maps.find((x) => x.name === name)!;
      expect(m.type).toBe(U.BPF_MAP_TYPE_STRUCT_OPS);
      expect(m.btfVmlinuxValueTypeId).toBe(vtype.id);
      expect(m.valueSize).toBe(vtype.size);
      expect(m.keySize).toBe(4);
      expect((m.flags & U.BPF_F_LINK) !== 0).toBe(link);
      const so = m.structOps!;
      const value = Buffer.from(so.value, 'base64');
      expect(value.length).toBe(vtype.size);
      // the object's data: the name, at tcp_congestion_ops.name in the kernel's layout
      const nameOff = dataOff + ops.members.find((x) => x.name === 'name')!.bitOffset / 8;
      expect(value.subarray(nameOff, nameOff + 16).toString('latin1').replace(/\0+$/, '')).toBe(link ? 'corebpf_ca_lnk' : 'corebpf_ca');
      // one slot per program, at its member's offset, zero until the host writes the fd
      const slots = so.programs.map((s) => [r.plan.programs[s.program]!.name, s.offset] as const).sort();
      expect(slots).toEqual(PROGRAMS.map((p) => [p, dataOff + ops.members.find((x) => x.name === MEMBER_OF[p])!.bitOffset / 8] as const).sort());
      for (const s of so.programs) expect(value.readBigUInt64LE(s.offset)).toBe(0n);
    }
    // each program: struct_ops, attach_btf_id the kernel's struct, expected_attach_type its member index
    for (const p of PROGRAMS) {
      const q = r.plan.programs.find((x) => x.name === p)!;
      expect(q.type).toBe(U.BPF_PROG_TYPE_STRUCT_OPS);
      expect(q.attachBtfId).toBe(ops.id);
      expect(q.expectedAttachType).toBe(ops.members.findIndex((x) => x.name === MEMBER_OF[p]));
    }
    // the plan round-trips, and a bad structOps is refused before anything is created
    expect(parsePlan(serializePlan(r.plan))).toEqual(r.plan);
    const broken = (f: (p: LoadPlan) => void): unknown => {
      const p = JSON.parse(serializePlan(r.plan)) as LoadPlan;
      f(p);
      try {
        parsePlan(JSON.stringify(p));
        return null;
      } catch (e) {
        return e;
      }
    };
    const ca = r.plan.maps.findIndex((x) => x.name === 'corebpf_ca');
    const bss = r.plan.maps.findIndex((x) => x.type === U.BPF_MAP_TYPE_ARRAY);
    const cases: [(p: LoadPlan) => void, string][] = [
      [(p) => { p.maps[ca]!.structOps!.programs[0]!.offset = vtype.size - 4; }, `maps[${ca}].structOps.programs[0].offset`],
      [(p) => { p.maps[ca]!.structOps!.programs[1]!.offset = p.maps[ca]!.structOps!.programs[0]!.offset; }, `maps[${ca}].structOps.programs[1].offset`],
      [(p) => { p.maps[ca]!.structOps!.programs[0]!.program = 99; }, `maps[${ca}].structOps.programs[0].program`],
      [(p) => { p.maps[ca]!.structOps!.value = Buffer.alloc(8).toString('base64'); }, `maps[${ca}].structOps.value`],
      [(p) => { p.maps[bss]!.structOps = p.maps[ca]!.structOps; }, `maps[${bss}].structOps`],
    ];
    for (const [f, field] of cases) {
      const e = broken(f);
      expect(e, field).toBeInstanceOf(ObjectFormatError);
      expect((e as ObjectFormatError).details.field).toBe(field);
    }
  });
});

/** Connect `n` times to a listener whose sockets use congestion control `ca`; resolves once all are closed. */
async function connections(obj: BpfObject, ca: string, n: number): Promise<void> {
  const sys = getSyscalls();
  const name = Buffer.from(`${ca}\0`);
  const fdOf = (h: unknown): number => (h as { _handle: { fd: number } })._handle.fd;
  const server = net.createServer((s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  try {
    const port = (server.address() as net.AddressInfo).port;
    obj.setGlobal('target_port', port);
    // accepted sockets inherit the listener's choice (one init each, when established)
    sys.setsockopt(fdOf(server), IPPROTO_TCP, TCP_CONGESTION, name);
    for (let i = 0; i < n; i++) {
      const c = net.connect(port, '127.0.0.1');
      await new Promise<void>((res, rej) => { c.once('connect', res); c.once('error', rej); });
      // on an established socket the kernel re-inits with the new algorithm: one init
      sys.setsockopt(fdOf(c), IPPROTO_TCP, TCP_CONGESTION, name);
      c.write(Buffer.alloc(256 * 1024, 7));
      c.end();
      await new Promise<void>((res, rej) => { c.once('close', () => res()); c.once('error', rej); c.resume(); });
    }
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
  }
}

/** The algorithm is gone from the kernel's list (a struct_ops link may be released by deferred work). */
async function gone(name: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!available().includes(name)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('struct_ops on this kernel: a BPF tcp_congestion_ops registered, used and unregistered', () => {
  it('SEC(".struct_ops"): registered by the map update, used by loopback connections, gone after the object\'s close()', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'struct_ops');
    const obj = await BpfObject.open(OBJ);
    try {
      // the .struct_ops.link maps need 6.4+: left out here, tested below
      obj.map('corebpf_ca_link').setAutocreate(false);
      obj.map('corebpf_ca_link2').setAutocreate(false);
      await obj.load();
      expect(available()).not.toContain('corebpf_ca');
      const link = obj.attachStructOps('corebpf_ca');
      expect(link.kind).toBe('struct_ops');
      expect(available()).toContain('corebpf_ca');
      await connections(obj, 'corebpf_ca', 3);
      // init once per socket: 3 accepted, 3 connecting
      expect(obj.getGlobal('server_inits')).toBe(3n);
      expect(obj.getGlobal('client_inits')).toBe(3n);
      // the object's close() closes the link it adopted: the value is deleted, which unregisters
      obj.close();
      expect(link.closed).toBe(true);
      expect(await gone('corebpf_ca')).toBe(true);
    } finally {
      obj.close();
    }
  });

  it('SEC(".struct_ops.link"): a struct_ops link (Linux 6.4+); close() unregisters', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'struct_ops');
    const obj = await BpfObject.open(OBJ);
    try {
      obj.map('corebpf_ca').setAutocreate(false);
      const why = missing('struct_ops_link');
      if (why !== null) {
        // the kernel refuses the map's BPF_F_LINK: a NotSupportedError naming it
        const e = await obj.load().then(() => null, (x: unknown) => x);
        expect(e).toBeInstanceOf(NotSupportedError);
        expect((e as Error).message).toMatch(/struct_ops links \(BPF_F_LINK, Linux 6\.4\+\)/);
        skipWith(ctx, `needs struct_ops_link: ${why} (its NotSupportedError was checked)`);
      }
      await obj.load();
      const link = obj.attachStructOps('corebpf_ca_link');
      expect(link.kind).toBe('link');
      const info = link.info();
      expect(info.typeName).toBe('struct_ops');
      expect(info.mapId).toBeGreaterThan(0);
      expect(available()).toContain('corebpf_ca_lnk');
      await connections(obj, 'corebpf_ca_lnk', 2);
      expect(obj.getGlobal('server_inits')).toBe(2n);
      expect(obj.getGlobal('client_inits')).toBe(2n);
      link.close();
      expect(await gone('corebpf_ca_lnk')).toBe(true);
      // a link map's value stays set (a second update is EBUSY, skipped as libbpf does): a
      // new link registers it again, the object's close() unregisters
      const again = obj.attachStructOps('corebpf_ca_link');
      expect(again.info().mapId).toBe(info.mapId);
      expect(available()).toContain('corebpf_ca_lnk');
      obj.close();
      expect(await gone('corebpf_ca_lnk')).toBe(true);
    } finally {
      obj.close();
    }
  });

  it('updateStructOps(): BPF_LINK_UPDATE moves the link to another .struct_ops.link map of the same name (libbpf\'s bpf_link__update_map)', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'struct_ops', 'struct_ops_link');
    const obj = await BpfObject.open(OBJ);
    try {
      obj.map('corebpf_ca').setAutocreate(false);
      await obj.load();
      const link = obj.attachStructOps('corebpf_ca_link');
      expect(link.info().mapId).toBe(obj.map('corebpf_ca_link').id);
      await connections(obj, 'corebpf_ca_lnk', 1);
      expect([obj.getGlobal('server_inits'), obj.getGlobal('client_inits'), obj.getGlobal('updated_inits')]).toEqual([1n, 1n, 0n]);
      obj.updateStructOps(link, 'corebpf_ca_link2');
      // the same link, now on the other map; the algorithm stayed registered throughout
      expect(link.info().mapId).toBe(obj.map('corebpf_ca_link2').id);
      expect(available()).toContain('corebpf_ca_lnk');
      await connections(obj, 'corebpf_ca_lnk', 2);
      // new sockets ran corebpf_init2 (both sides of 2 connections), not corebpf_init
      expect([obj.getGlobal('server_inits'), obj.getGlobal('client_inits'), obj.getGlobal('updated_inits')]).toEqual([1n, 1n, 4n]);
      // and back: a link map's value stays set, so its second use skips the EBUSY update
      obj.updateStructOps(link, 'corebpf_ca_link');
      expect(link.info().mapId).toBe(obj.map('corebpf_ca_link').id);
      expect(() => obj.updateStructOps(link, '.bss')).toThrow(/not a struct_ops map/);
      link.close();
      expect(await gone('corebpf_ca_lnk')).toBe(true);
      expect(() => obj.updateStructOps(link, 'corebpf_ca_link2')).toThrow(/is closed/);
    } finally {
      obj.close();
    }
  });

  it('a struct_ops program attached on its own: NotSupportedError pointing at its map', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'struct_ops');
    const obj = await BpfObject.open(OBJ);
    try {
      obj.map('corebpf_ca_link').setAutocreate(false);
      obj.map('corebpf_ca_link2').setAutocreate(false);
      await obj.load();
      const e = await obj.program('corebpf_init').attach().then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(NotSupportedError);
      expect((e as Error).message).toMatch(/attachStructOps/);
      // and a map that is not struct_ops cannot be attached as one
      expect(() => obj.attachStructOps('.bss')).toThrow(/not a struct_ops map/);
    } finally {
      obj.close();
    }
  });
});
