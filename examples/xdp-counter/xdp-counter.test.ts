// examples/xdp-counter through its generated module only: on one end of a veth pair made
// for this test, the per-CPU counts (summed over CPUs) equal the packets the other end sent.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs, skipWith, unmet } from '../../test/kernel.js';
import { load, type Datarec } from './xdp-counter.gen.js';

const IPPROTO_ICMP = 1, IPPROTO_UDP = 17;
// Ethernet (14) + IPv4 (20) + UDP (8) + the 2 bytes of "x\n"
const UDP_FRAME = 14 + 20 + 8 + 2;
// Ethernet + IPv4 + ICMP (8) + the IPv4 and UDP headers and payload of the datagram it answers
const ICMP_FRAME = 14 + 20 + 8 + 20 + 8 + 2;

/** the kernel's possible CPUs ("0-3", "0,2-5"): how many values a per-CPU map has */
function possibleCpus(): number {
  const ranges = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',');
  return Math.max(...ranges.map((r) => Number(r.split('-').at(-1)))) + 1;
}

/** packets and bytes of every CPU, added up */
function total(perCpu: Datarec[] | undefined): Datarec {
  return (perCpu ?? []).reduce((a, r) => ({ packets: a.packets + r.packets, bytes: a.bytes + r.bytes }), { packets: 0n, bytes: 0n });
}

describe('examples/xdp-counter', () => {
  // names unique to this process: other tests build veth pairs at the same time
  const tag = process.pid % 100000;
  const ns = `corebpf-ex-${tag}`;
  const vethA = `cbxA${tag}`; // in our namespace: the XDP program counts what arrives here
  const vethB = `cbxB${tag}`; // in the test namespace
  const net = `10.252.${tag % 250}`;
  const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  let why = '';

  beforeAll(() => {
    why = unmet('bpf', 'ip', 'bash') ?? '';
    if (why) return;
    try {
      sh('ip', 'netns', 'add', ns);
      sh('ip', 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
      sh('ip', 'link', 'set', vethB, 'netns', ns);
      sh('ip', 'addr', 'add', `${net}.1/24`, 'dev', vethA);
      sh('ip', 'link', 'set', vethA, 'up');
      sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/24`, 'dev', vethB);
      sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', vethB, 'up');
      // every datagram to a closed port gets its ICMP "port unreachable", none rate-limited
      sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0');
    } catch (e) {
      why = `the veth pair / network namespace could not be set up: ${e instanceof Error ? e.message : String(e)}`;
    }
  });
  afterAll(() => {
    if (unmet('bpf', 'ip')) return;
    spawnSync('ip', ['link', 'del', vethA]);
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('UDP datagrams and ICMP errors arriving on the veth: counted per IPv4 protocol, packets and bytes exact', async (ctx) => {
    needs(ctx, 'bpf', 'btf');
    if (why) skipWith(ctx, why);
    const skel = await load();
    try {
      const link = await skel.programs.xdp_count.attach({ xdp: { ifname: vethA } });
      expect(sh('ip', 'link', 'show', 'dev', vethA)).toMatch(/prog\/xdp/);
      // 7 datagrams from the namespace to us (UDP arriving), and 5 from us to a closed port
      // there: each answered with an ICMP port unreachable (ICMP arriving)
      sh('ip', 'netns', 'exec', ns, 'bash', '-c', `for i in $(seq 7); do echo x > /dev/udp/${net}.1/9; done`);
      sh('bash', '-c', `for i in $(seq 5); do echo x > /dev/udp/${net}.2/9; done`);
      // the ICMP errors are sent by the namespace's kernel as the datagrams arrive: wait for the last
      for (let i = 0; i < 100 && total(skel.maps.counts.get(IPPROTO_ICMP)).packets < 5n; i++) await new Promise((r) => setTimeout(r, 20));

      const perCpu = skel.maps.counts.get(IPPROTO_UDP);
      expect(perCpu).toHaveLength(possibleCpus()); // one value per possible CPU
      expect(total(perCpu)).toEqual({ packets: 7n, bytes: BigInt(7 * UDP_FRAME) });
      expect(total(skel.maps.counts.get(IPPROTO_ICMP))).toEqual({ packets: 5n, bytes: BigInt(5 * ICMP_FRAME) });
      // nothing else over IPv4; ARP (the namespace asking for us, answering for itself) is not IPv4
      const others = [...skel.maps.counts.entries()].filter(([proto, v]) => proto !== IPPROTO_UDP && proto !== IPPROTO_ICMP && total(v).packets > 0n);
      expect(others).toEqual([]);
      expect(total(skel.maps.non_ipv4.get(0)).packets).toBeGreaterThanOrEqual(1n);

      link.close();
      expect(sh('ip', 'link', 'show', 'dev', vethA)).not.toMatch(/prog\/xdp/);
      sh('ip', 'netns', 'exec', ns, 'bash', '-c', `echo x > /dev/udp/${net}.1/9`);
      expect(total(skel.maps.counts.get(IPPROTO_UDP)).packets).toBe(7n); // detached: no longer counted
    } finally {
      skel.close();
    }
  });
});
