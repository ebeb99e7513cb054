// Network devices for the real-kernel tests without iproute2: rtnetlink over a NETLINK_ROUTE
// socket (create a netkit pair, set a device up, delete it) and packets sent with AF_PACKET.
//
// The lab's guests have busybox but no iproute2 (and Debian 12's iproute2 cannot create netkit
// devices), so the requests are built here: RTM_NEWLINK { ifinfomsg, IFLA_IFNAME,
// IFLA_LINKINFO { IFLA_INFO_KIND "netkit", IFLA_INFO_DATA { IFLA_NETKIT_PEER_INFO { ifinfomsg,
// IFLA_IFNAME }, IFLA_NETKIT_MODE, IFLA_NETKIT_POLICY, IFLA_NETKIT_PEER_POLICY } } }, as
// iproute2's `ip link add NAME type netkit ... peer name PEER` sends it. Every name and layout
// is generated (src/host/generated: the pinned libbpf's if_link.h and netlink.h; RTM_*,
// ifinfomsg and sockaddr_ll from the system's Linux headers, as LIBC_*).
import { createRequire } from 'node:module';
import type KoffiModule from 'koffi';
import { SyscallError } from '../src/errors.js';
import * as U from '../src/host/generated/uapi.js';
import { errnoName } from '../src/host/syscall.js';

interface Libc {
  koffi: typeof KoffiModule;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, addrlen: number) => number;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  ifNameToIndex: (name: string) => number;
}

let libc: Libc | null = null;
function c(): Libc {
  if (!libc) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof KoffiModule;
    const lib = koffi.load('libc.so.6');
    libc = {
      koffi,
      socket: lib.func('int socket(int domain, int type, int protocol)'),
      bind: lib.func('int bind(int fd, const void *addr, uint32_t len)'),
      sendto: lib.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
      recv: lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
      close: lib.func('int close(int fd)'),
      ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *ifname)'),
    };
  }
  return libc;
}

function fail(call: string, errno: number, extra: Record<string, unknown> = {}): never {
  const name = errnoName(errno);
  throw new SyscallError(`${call} failed: ${name}`, { cmd: call, errno, errnoName: name, ...extra });
}

/** Run `f` on a socket, closed afterwards. */
function withSocket<T>(domain: number, type: number, protocol: number, f: (fd: number) => T): T {
  const l = c();
  const fd = l.socket(domain, type | U.LIBC_SOCK_CLOEXEC, protocol);
  if (fd < 0) fail('socket', l.koffi.errno());
  try {
    return f(fd);
  } finally {
    l.close(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// netlink messages (host byte order: every architecture the live host runs on is little-endian)

const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute (struct nlattr + payload, padded to 4); `payload` may itself be attributes. */
function attr(type: number, payload: Buffer): Buffer {
  const len = U.layouts.nlattr.size + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, U.layouts.nlattr.fields.nla_len.offset);
  b.writeUInt16LE(type, U.layouts.nlattr.fields.nla_type.offset);
  payload.copy(b, U.layouts.nlattr.size);
  return b;
}
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const str = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');

function ifinfomsg(o: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const L = U.libcLayouts.ifinfomsg;
  const b = Buffer.alloc(L.size);
  b.writeUInt8(0 /* AF_UNSPEC */, L.fields.ifi_family.offset);
  b.writeInt32LE(o.index ?? 0, L.fields.ifi_index.offset);
  b.writeUInt32LE((o.flags ?? 0) >>> 0, L.fields.ifi_flags.offset);
  b.writeUInt32LE((o.change ?? 0) >>> 0, L.fields.ifi_change.offset);
  return b;
}

let seq = 0;

/**
 * Send one rtnetlink request with NLM_F_ACK and wait for its ack: nothing on success, else a
 * SyscallError with the kernel's errno (cmd 'rtnetlink RTM_...').
 */
function request(type: number, flags: number, body: Buffer, what: string): void {
  const H = U.layouts.nlmsghdr;
  const msg = Buffer.alloc(H.size + body.length);
  const mySeq = ++seq;
  msg.writeUInt32LE(msg.length, H.fields.nlmsg_len.offset);
  msg.writeUInt16LE(type, H.fields.nlmsg_type.offset);
  msg.writeUInt16LE(U.NLM_F_REQUEST | U.NLM_F_ACK | flags, H.fields.nlmsg_flags.offset);
  msg.writeUInt32LE(mySeq, H.fields.nlmsg_seq.offset);
  body.copy(msg, H.size);
  withSocket(U.LIBC_AF_NETLINK, U.LIBC_SOCK_RAW, U.NETLINK_ROUTE, (fd) => {
    const l = c();
    const nl = Buffer.alloc(U.libcLayouts.sockaddr_nl.size);
    nl.writeUInt16LE(U.LIBC_AF_NETLINK, U.libcLayouts.sockaddr_nl.fields.nl_family.offset);
    if (l.sendto(fd, msg, msg.length, 0, nl, nl.length) !== msg.length) fail(`rtnetlink ${what}: sendto`, l.koffi.errno());
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = l.recv(fd, buf, buf.length, 0);
      if (n < 0) fail(`rtnetlink ${what}: recv`, l.koffi.errno());
      for (let off = 0; off + H.size <= n;) {
        const len = buf.readUInt32LE(off + H.fields.nlmsg_len.offset);
        if (len < H.size) throw new Error(`rtnetlink ${what}: malformed reply (nlmsg_len ${len})`);
        const t = buf.readUInt16LE(off + H.fields.nlmsg_type.offset);
        const s = buf.readUInt32LE(off + H.fields.nlmsg_seq.offset);
        if (t === U.NLMSG_ERROR && s === mySeq) {
          const err = buf.readInt32LE(off + H.size + U.layouts.nlmsgerr.fields.error.offset);
          if (err === 0) return;
          fail(`rtnetlink ${what}`, -err);
        }
        off += align4(len);
      }
    }
  });
}

export interface NetkitPair {
  primary: string;
  peer: string;
  primaryIndex: number;
  peerIndex: number;
}

/**
 * Create a netkit pair (`primary`, its `peer`) in this network namespace, L3 mode unless asked,
 * both policies NETKIT_PASS unless asked, and set both up. Throws the kernel's errno as a
 * SyscallError (EOPNOTSUPP: no netkit in this kernel, Linux 6.7+ with CONFIG_NETKIT).
 */
export function createNetkit(primary: string, peer: string, o: { mode?: 'l2' | 'l3'; policy?: number; peerPolicy?: number } = {}): NetkitPair {
  const data = Buffer.concat([
    attr(U.IFLA_NETKIT_PEER_INFO, Buffer.concat([ifinfomsg(), attr(U.IFLA_IFNAME, str(peer))])),
    attr(U.IFLA_NETKIT_MODE, u32(o.mode === 'l2' ? U.NETKIT_L2 : U.NETKIT_L3)),
    attr(U.IFLA_NETKIT_POLICY, u32(o.policy ?? U.NETKIT_PASS)),
    attr(U.IFLA_NETKIT_PEER_POLICY, u32(o.peerPolicy ?? U.NETKIT_PASS)),
  ]);
  const linkinfo = Buffer.concat([attr(U.IFLA_INFO_KIND, str('netkit')), attr(U.IFLA_INFO_DATA, data)]);
  request(U.LIBC_RTM_NEWLINK, U.NLM_F_CREATE | U.NLM_F_EXCL,
    Buffer.concat([ifinfomsg(), attr(U.IFLA_IFNAME, str(primary)), attr(U.IFLA_LINKINFO, linkinfo)]), `RTM_NEWLINK netkit ${primary}`);
  try {
    const pair = { primary, peer, primaryIndex: ifIndex(primary), peerIndex: ifIndex(peer) };
    setUp(pair.primaryIndex);
    setUp(pair.peerIndex);
    return pair;
  } catch (e) {
    deleteLink(primary);
    throw e;
  }
}

/** IFF_UP on a device (RTM_NEWLINK with ifi_flags / ifi_change). */
export function setUp(ifindex: number): void {
  request(U.LIBC_RTM_NEWLINK, 0, ifinfomsg({ index: ifindex, flags: U.LIBC_IFF_UP, change: U.LIBC_IFF_UP }), `RTM_NEWLINK up ${ifindex}`);
}

/** Delete a device by name (a netkit pair goes with either end); false when there was none. */
export function deleteLink(name: string): boolean {
  try {
    request(U.LIBC_RTM_DELLINK, 0, Buffer.concat([ifinfomsg(), attr(U.IFLA_IFNAME, str(name))]), `RTM_DELLINK ${name}`);
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.errnoName === 'ENODEV') return false;
    throw e;
  }
}

/** The ifindex of a device, or 0 when there is none. */
export function ifIndex(name: string): number {
  return c().ifNameToIndex(name);
}

// ---------------------------------------------------------------------------------------------
// packets

/** A test packet: an IPv4 header (protocol `proto`, 192.0.2.1 -> 192.0.2.2, checksummed) and `payload` zero bytes. */
export function ipv4Packet(proto: number, payload: number, id = 1): Buffer {
  const b = Buffer.alloc(20 + payload);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(id & 0xffff, 4);
  b[8] = 64;
  b[9] = proto;
  b.set([192, 0, 2, 1], 12);
  b.set([192, 0, 2, 2], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 10);
  return b;
}

/**
 * Transmit `packet` (an IPv4 packet) `count` times on device `ifindex` through an AF_PACKET
 * SOCK_DGRAM socket: the kernel adds the Ethernet header (to ff:ff:ff:ff:ff:ff) and hands the
 * frame to the device's ndo_start_xmit. Returns each sendto's errno name ('' when it was sent).
 */
export function sendPackets(ifindex: number, packet: Buffer, count: number): string[] {
  return withSocket(U.LIBC_AF_PACKET, U.LIBC_SOCK_DGRAM, 0, (fd) => {
    const l = c();
    const L = U.libcLayouts.sockaddr_ll;
    const sa = Buffer.alloc(L.size);
    sa.writeUInt16LE(U.LIBC_AF_PACKET, L.fields.sll_family.offset);
    sa.writeUInt16BE(U.LIBC_ETH_P_IP, L.fields.sll_protocol.offset); // network byte order
    sa.writeInt32LE(ifindex, L.fields.sll_ifindex.offset);
    sa.writeUInt8(6, L.fields.sll_halen.offset);
    sa.fill(0xff, L.fields.sll_addr.offset, L.fields.sll_addr.offset + 6);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = l.sendto(fd, packet, packet.length, 0, sa, sa.length);
      out.push(n === packet.length ? '' : n < 0 ? errnoName(l.koffi.errno()) : `short send ${n}`);
    }
    return out;
  });
}
