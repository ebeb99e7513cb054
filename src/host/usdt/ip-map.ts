// USDT on kernels without BPF cookies (before 5.15), libbpf's fallback: usdt.bpf.h finds a
// site's spec id in the `__bpf_usdt_ip_to_spec_id` hash map by the address the uprobe hit
// (PT_REGS_IP), so every site's absolute address in the traced process is the key. An
// executable's (ET_EXEC) addresses are its own; a shared library's or a PIE's depend on where
// the process mapped it, read from /proc/PID/maps, so those need a pid, as libbpf's do.
import { readFileSync, realpathSync } from 'node:fs';
import { NotSupportedError, ObjectFormatError } from '../../errors.js';
import type { UsdtTarget } from './notes.js';

const ET_EXEC = 2;

/** a mapping of /proc/PID/maps: start, end, file offset, path */
interface Vma { start: bigint; end: bigint; offset: bigint; path: string }

function vmasOf(pid: number): Vma[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch (e) {
    throw new ObjectFormatError(`cannot read /proc/${pid}/maps to place USDT sites: ${(e as Error).message}`, { pid });
  }
  const out: Vma[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s+(\/.*)$/.exec(line);
    if (m && m[3]!.includes('x')) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[4]}`), path: m[5]! });
  }
  return out;
}

/**
 * Each site's address in the traced process (PT_REGS_IP when its uprobe hits): the
 * keys of `__bpf_usdt_ip_to_spec_id`.
 */
export function usdtSiteIps(path: string, elfType: number, targets: UsdtTarget[], pid: number | undefined, what: string): bigint[] {
  if (elfType === ET_EXEC) return targets.map((t) => t.absIp);
  if (pid === undefined) {
    throw new NotSupportedError(`attaching USDT ${what} of a shared library or position-independent executable needs a pid on a kernel without BPF cookies (before 5.15): its addresses depend on where the process mapped it (libbpf has the same rule)`,
      { feature: 'bpf_cookie', since: '5.15' });
  }
  let real = path;
  try { real = realpathSync(path); } catch { /* as given */ }
  const vmas = vmasOf(pid).filter((v) => v.path === real || v.path === path);
  return targets.map((t) => {
    const v = vmas.find((x) => t.relIp >= x.offset && t.relIp < x.offset + (x.end - x.start));
    if (!v) throw new ObjectFormatError(`process ${pid} has no executable mapping of ${path} holding the USDT site at file offset 0x${t.relIp.toString(16)}`, { pid, path });
    return t.relIp - v.offset + v.start;
  });
}
