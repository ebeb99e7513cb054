// netkit links on the real kernel (SEC("netkit/primary"), SEC("netkit/peer"): BPF_LINK_CREATE
// with BPF_NETKIT_PRIMARY / BPF_NETKIT_PEER, Linux 6.7+ with CONFIG_NETKIT).
//
// The pair is created over rtnetlink by test/netlink.ts (no iproute2: the lab's guests have
// none), in L3 mode with both default policies NETKIT_PASS, under names of this process. The
// packets are IPv4 (protocol 253) handed to one device by an AF_PACKET socket, so they go
// through that device's ndo_start_xmit, netkit_xmit() (drivers/net/netkit.c), which runs the
// programs of THAT device's hook and then delivers to the other end: the primary hook sees what
// the primary transmits, the peer hook what the peer transmits. Both hooks are named by the
// primary's ifindex; the peer link's bpf_link_info names the peer, where its programs run.
// testdata/progs/netkit.bpf.c counts the test's packets (and their bytes, Ethernet header
// included: skb->len in netkit_xmit) per hook and gives them its `verdict`; a dropped packet
// makes sendto() fail with ENOBUFS (NET_XMIT_DROP) and counts in the device's tx_dropped.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { SyscallError as HostSyscallError } from '../src/errors.js';
import * as A from '../src/host/attr.js';
import { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { getSyscalls } from '../src/host/syscall.js';
import { BpfObject, CorebpfError, NotSupportedError, Relocator, SyscallError, type Link } from '../dist/index.js';
import { kernelBefore } from '../src/host/link/common.js';
import { PROGS } from './helpers.js';
import { missing, needs, skipWith } from './kernel.js';
import { linksOfProgram } from './link-helpers.js';
import { createNetkit, deleteLink, ifIndex, ipv4Packet, sendPackets, type NetkitPair } from './netlink.js';

const OBJ = `${PROGS}/netkit.bpf.o`;
const TEST_PROTO = 253; // netkit.bpf.c's TEST_PROTO
const PACKET = ipv4Packet(TEST_PROTO, 36); // 56 bytes of IPv4
const FRAME = U.LIBC_ETH_HLEN + PACKET.length; // what skb->len is in netkit_xmit
const OTHER = ipv4Packet(17, 36); // UDP: not the test's, passes uncounted

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

interface Counts { packets: bigint; bytes: bigint }
const counts = (obj: BpfObject, slot: 0 | 1): Counts => obj.map('counts').get(slot) as unknown as Counts;
const stat = (dev: string, name: string): number => Number(readFileSync(`/sys/class/net/${dev}/statistics/${name}`, 'utf8'));
const errorOf = async (f: () => Promise<unknown>): Promise<unknown> => {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};

// names of this process (IFNAMSIZ 16: at most 15 characters)
const PRIMARY = `nkc${process.pid}`;
const PEER = `nkc${process.pid}p`;

describe('netkit links', () => {
  let pair: NetkitPair | null = null;
  beforeAll(() => {
    if (missing('bpf') || missing('netkit')) return;
    deleteLink(PRIMARY); // a previous run of this pid that died
    pair = createNetkit(PRIMARY, PEER);
  });
  afterAll(() => {
    if (pair) deleteLink(pair.primary);
  });
  function needPair(ctx: TestContext): NetkitPair {
    needs(ctx, 'bpf', 'netkit');
    if (!pair) skipWith(ctx, 'the netkit pair was not created');
    return pair;
  }
  async function open(): Promise<BpfObject> {
    return (await BpfObject.open(OBJ, { relocator })).load();
  }

  it('SEC("netkit/primary") runs on what the primary transmits, SEC("netkit/peer") on what the peer transmits', async (ctx) => {
    const p = needPair(ctx);
    await using obj = await open();
    const primary = obj.program('nk_primary'), peer = obj.program('nk_peer');
    // both named by the primary's ifindex; the hook comes from the section
    using lp = await primary.attach({ netkit: { ifname: p.primary } });
    using lq = await peer.attach({ netkit: { ifindex: p.primaryIndex } });
    expect(lp.info()).toMatchObject({ typeName: 'netkit', ifindex: p.primaryIndex, attachType: U.BPF_NETKIT_PRIMARY, progId: primary.id });
    // the kernel keeps the device the peer hook's programs run on
    expect(lq.info()).toMatchObject({ typeName: 'netkit', ifindex: p.peerIndex, attachType: U.BPF_NETKIT_PEER, progId: peer.id });
    expect(lp.target).toBe(`netkit primary ${p.primary}`);
    expect(lq.target).toBe(`netkit peer ifindex ${p.primaryIndex}`);

    const rxPeer = stat(p.peer, 'rx_packets');
    expect(sendPackets(p.primaryIndex, PACKET, 5)).toEqual(Array(5).fill(''));
    expect(sendPackets(p.primaryIndex, OTHER, 2)).toEqual(['', '']);
    expect(counts(obj, 0)).toEqual({ packets: 5n, bytes: BigInt(5 * FRAME) });
    expect(counts(obj, 1)).toEqual({ packets: 0n, bytes: 0n });
    // NETKIT_PASS: delivered to the other end (at least ours; the kernel may send its own)
    expect(stat(p.peer, 'rx_packets') - rxPeer).toBeGreaterThanOrEqual(7);

    expect(sendPackets(p.peerIndex, PACKET, 3)).toEqual(['', '', '']);
    expect(counts(obj, 0)).toEqual({ packets: 5n, bytes: BigInt(5 * FRAME) });
    expect(counts(obj, 1)).toEqual({ packets: 3n, bytes: BigInt(3 * FRAME) });
  });

  it('NETKIT_DROP: the packet is dropped on the transmitting device (sendto ENOBUFS, tx_dropped)', async (ctx) => {
    const p = needPair(ctx);
    await using obj = await open();
    using _lp = await obj.program('nk_primary').attach({ netkit: { ifname: p.primary } });
    using _lq = await obj.program('nk_peer').attach({ netkit: { ifname: p.primary, peer: true } });
    obj.setGlobal('verdict', U.NETKIT_DROP);
    const dropped = stat(p.primary, 'tx_dropped'), droppedPeer = stat(p.peer, 'tx_dropped');
    expect(sendPackets(p.primaryIndex, PACKET, 4)).toEqual(Array(4).fill('ENOBUFS'));
    expect(sendPackets(p.primaryIndex, OTHER, 2)).toEqual(['', '']); // not the test's: passes
    expect(stat(p.primary, 'tx_dropped') - dropped).toBe(4);
    expect(sendPackets(p.peerIndex, PACKET, 2)).toEqual(['ENOBUFS', 'ENOBUFS']);
    expect(stat(p.peer, 'tx_dropped') - droppedPeer).toBe(2);
    expect(counts(obj, 0)).toEqual({ packets: 4n, bytes: BigInt(4 * FRAME) });
    expect(counts(obj, 1)).toEqual({ packets: 2n, bytes: BigInt(2 * FRAME) });
  });

  it('closing a link stops its counting and leaves no link; closing the object no program', async (ctx) => {
    const p = needPair(ctx);
    const obj = await open();
    const primary = obj.program('nk_primary'), peer = obj.program('nk_peer');
    const ids = [primary.id, peer.id];
    const links: Link[] = [await primary.attach({ netkit: { ifname: p.primary } }), await peer.attach({ netkit: { ifname: p.primary } })];
    expect(linksOfProgram(primary.fd)).toEqual([links[0]!.info().id]);
    expect(linksOfProgram(peer.fd)).toEqual([links[1]!.info().id]);
    sendPackets(p.primaryIndex, PACKET, 2);
    sendPackets(p.peerIndex, PACKET, 2);
    links[0]!.close();
    expect(linksOfProgram(primary.fd)).toEqual([]);
    sendPackets(p.primaryIndex, PACKET, 3);
    sendPackets(p.peerIndex, PACKET, 1);
    expect(counts(obj, 0)).toEqual({ packets: 2n, bytes: BigInt(2 * FRAME) });
    expect(counts(obj, 1)).toEqual({ packets: 3n, bytes: BigInt(3 * FRAME) });
    links[1]!.close();
    expect(linksOfProgram(peer.fd)).toEqual([]);
    sendPackets(p.peerIndex, PACKET, 2);
    expect(counts(obj, 1)).toEqual({ packets: 3n, bytes: BigInt(3 * FRAME) });
    obj.close();
    for (const id of ids) expect(progExists(id)).toBe(false);
  });

  it('deleting the pair under a live link: the link stays, defunct (ifindex 0), and closes', async (ctx) => {
    needs(ctx, 'bpf', 'netkit');
    const name = `nkd${process.pid}`;
    const p = createNetkit(name, `${name}p`, { mode: 'l2' });
    try {
      await using obj = await open();
      using link = await obj.program('nk_primary').attach({ netkit: { ifindex: p.primaryIndex } });
      sendPackets(p.primaryIndex, PACKET, 1);
      expect(counts(obj, 0)).toEqual({ packets: 1n, bytes: BigInt(FRAME) }); // L2 mode: same frame
      expect(deleteLink(name)).toBe(true);
      expect([ifIndex(name), ifIndex(`${name}p`)]).toEqual([0, 0]);
      expect(link.info()).toMatchObject({ typeName: 'netkit', ifindex: 0, attachType: U.BPF_NETKIT_PRIMARY });
    } finally {
      deleteLink(name);
    }
  });

  it("the peer's ifindex is refused: netkit links name the primary (EACCES, not a permission problem)", async (ctx) => {
    const p = needPair(ctx);
    await using obj = await open();
    const err = await errorOf(() => obj.program('nk_peer').attach({ netkit: { ifindex: p.peerIndex } }));
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).not.toHaveProperty('name', 'PermissionError');
    expect((err as SyscallError).errnoName).toBe('EACCES');
    expect((err as Error).message).toMatch(/is the peer of its netkit pair; netkit links name the primary device/);
    expect((err as Error).message).not.toMatch(/run as root|already has the privileges/);
    expect(linksOfProgram(obj.program('nk_peer').fd)).toEqual([]);
  });

  it('a device that is not netkit (lo): NotSupportedError before 6.7 or without CONFIG_NETKIT, else ENXIO naming it', async (ctx) => {
    needs(ctx, 'bpf');
    await using obj = await open();
    const err = await errorOf(() => obj.program('nk_primary').attach({ netkit: { ifname: 'lo' } }));
    expect(err).toBeInstanceOf(CorebpfError);
    if (kernelBefore(6, 7)) {
      expect(missing('netkit')).toMatch(/EOPNOTSUPP/);
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('netkit');
      expect((err as Error).message).toMatch(/netkit links need Linux 6\.7\+/);
    } else if (missing('netkit')) {
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('netkit');
      expect((err as Error).message).toMatch(/built without CONFIG_NETKIT/);
    } else {
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as SyscallError).errnoName).toBe('ENXIO');
      expect((err as Error).message).toMatch(/lo is not a netkit device/);
    }
    expect(linksOfProgram(obj.program('nk_primary').fd)).toEqual([]);
  });
});

/** Whether the kernel still has program `id` (BPF_PROG_GET_FD_BY_ID). */
function progExists(id: number): boolean {
  try {
    new OwnedFd(getSyscalls().bpf(U.BPF_PROG_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'prog').close();
    return true;
  } catch (e) {
    if (e instanceof HostSyscallError && e.errnoName === 'ENOENT') return false;
    throw e;
  }
}
