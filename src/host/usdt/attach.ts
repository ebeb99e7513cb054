// Attaching a USDT program, libbpf's usdt_manager_attach_usdt() contract (usdt.c,
// usdt.bpf.h): every site of provider:name in the file becomes a uprobe whose BPF cookie is a
// spec id; the spec (argument locations, the user's USDT cookie) is written at that id in the
// program's `__bpf_usdt_specs` array map, where bpf_usdt_arg() / bpf_usdt_cookie() read it.
// Sites with the same argument spec share an id; ids are freed when the link closes. A site
// with a semaphore gets its reference counter offset, so the kernel raises the semaphore
// while the probe is attached. A program libbpf loaded for uprobe.multi (expected attach
// type BPF_TRACE_UPROBE_MULTI, which libbpf sets for SEC("usdt") on 6.6+) gets one
// uprobe.multi link, else one uprobe per site. On kernels without BPF cookies (before 5.15)
// the sites' addresses map to their spec ids instead (./ip-map.ts), as libbpf's fallback.
import { existsSync } from 'node:fs';
import { CorebpfError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import type { AttachableProgram } from '../link/options.js';
import { attachUprobe } from '../link/perf-event.js';
import { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import { createUprobeMultiLink } from '../link/uprobe-multi.js';
import { getSyscalls } from '../syscall.js';
import { openElf, resolveBinaryPath } from '../uprobe.js';
import { encodeUsdtSpec, parseUsdtSpec, USDT_SPEC_SIZE } from './args.js';
import { usdtSiteIps } from './ip-map.js';
import { usdtTargets } from './notes.js';

/** Where a USDT program attaches: a probe (provider, name) of a binary. */
export interface UsdtOptions {
  /** Path, or a bare name looked up in PATH (executables) or the library directories (*.so*). */
  binary: string;
  provider: string;
  name: string;
  /** Only this process (default: every process; 0: this process). */
  pid?: number;
  /** The USDT cookie bpf_usdt_cookie() returns. */
  cookie?: number | bigint;
  /** The program's `__bpf_usdt_specs` map (default: found among the maps the program uses). */
  specsMapFd?: number;
}

// libbpf: ref_ctr_offset support is announced by the uprobe PMU's format
const REF_CTR_FORMAT = '/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset';
const SPECS_MAP_NAME = '__bpf_usdt_spec'; // "__bpf_usdt_specs" within BPF_OBJ_NAME_LEN
const IP_MAP_NAME = '__bpf_usdt_ip_t'; // "__bpf_usdt_ip_to_spec_id" within BPF_OBJ_NAME_LEN

/** one of usdt.bpf.h's maps among those `progFd` uses (an fd the caller closes), or null */
function findUsdtMap(progFd: number, name: string, type: number, keySize: number, valueSize: number): OwnedFd | null {
  const first = A.objGetInfo(progFd, 'bpf_prog_info');
  const n = first.get('nr_map_ids');
  const ids = new Uint32Array(Math.max(1, n));
  if (n) {
    const s = A.infoBuf('bpf_prog_info');
    s.setPtr('map_ids', new Uint8Array(ids.buffer)).set('nr_map_ids', n);
    getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(progFd, s.buf).buf);
  }
  for (const id of ids.subarray(0, n)) {
    let fd: OwnedFd;
    try {
      fd = new OwnedFd(getSyscalls().bpf(U.BPF_MAP_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'map');
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'ENOENT') continue;
      throw e;
    }
    const info = A.mapInfo(fd.fd);
    if (info.name === name && info.type === type && info.keySize === keySize && info.valueSize === valueSize) return fd;
    fd.close();
  }
  return null;
}

/** The `__bpf_usdt_specs` map among those `progFd` uses (an fd the caller closes). */
function findSpecsMap(progFd: number, progName: string): OwnedFd {
  const fd = findUsdtMap(progFd, SPECS_MAP_NAME, U.BPF_MAP_TYPE_ARRAY, 4, USDT_SPEC_SIZE);
  if (fd) return fd;
  throw new CorebpfError(`program '${progName}' uses no __bpf_usdt_specs map (an array of struct __bpf_usdt_spec): USDT programs are written with libbpf's usdt.bpf.h (BPF_USDT(), bpf_usdt_arg()); or pass specsMapFd`,
    { program: progName });
}

// libbpf's FEAT_BPF_COOKIE probe: a kprobe program calling bpf_get_attach_cookie() loads
const cookieCache = new WeakMap<object, boolean>();
function kernelHasBpfCookie(): boolean {
  const sys = getSyscalls();
  let v = cookieCache.get(sys);
  if (v === undefined) {
    const insns = A.bytes(16);
    insns[0] = U.BPF_JMP | U.BPF_CALL;
    new DataView(insns.buffer).setInt32(4, U.BPF_FUNC_get_attach_cookie, true);
    insns[8] = U.BPF_JMP | U.BPF_EXIT;
    try {
      A.progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns, license: 'GPL', name: 'cookie_probe' }).close();
      v = true;
    } catch (e) {
      if (!(e instanceof SyscallError) || e.errnoName === 'EPERM') throw e;
      v = false;
    }
    cookieCache.set(sys, v);
  }
  return v;
}

// spec ids in use per specs map (by kernel map id), like libbpf's per-object usdt_manager
const idsInUse = new Map<number, Set<number>>();

function allocateId(mapId: number, maxEntries: number): number {
  let used = idsInUse.get(mapId);
  if (!used) idsInUse.set(mapId, (used = new Set()));
  for (let i = 0; i < maxEntries; i++) {
    if (!used.has(i)) {
      used.add(i);
      return i;
    }
  }
  throw new CorebpfError(`all ${maxEntries} USDT spec ids of the __bpf_usdt_specs map are in use (raise BPF_USDT_MAX_SPEC_CNT)`, { maxEntries });
}

function freeIds(mapId: number, ids: number[]): void {
  const used = idsInUse.get(mapId);
  for (const i of ids) used?.delete(i);
}

/** the sites' entries of __bpf_usdt_ip_to_spec_id, removed when the attachment ends */
function dropKeys(ipMap: OwnedFd | null, keys: Uint8Array[]): void {
  if (!ipMap) return;
  for (const k of keys) {
    try { A.mapDeleteElem(ipMap.fd, k); } catch { /* gone already */ }
  }
}

export function attachUsdt(prog: AttachableProgram, o: UsdtOptions): Link {
  const path = resolveBinaryPath(o.binary);
  const elf = openElf(path);
  const targets = usdtTargets(elf, o.provider, o.name, existsSync(REF_CTR_FORMAT));
  if (!targets.length) {
    throw new CorebpfError(`no USDT probe '${o.provider}:${o.name}' in ${path}`, { path, provider: o.provider, name: o.name });
  }
  const pid = o.pid === undefined || o.pid < 0 ? undefined : o.pid || process.pid;
  // without BPF cookies, usdt.bpf.h looks spec ids up by the address the uprobe hit
  const siteIps = kernelHasBpfCookie() ? null : usdtSiteIps(path, elf.type, targets, pid, `'${o.provider}:${o.name}'`);
  const specsMap = o.specsMapFd !== undefined ? null : findSpecsMap(prog.fd, prog.name);
  const specsFd = specsMap?.fd ?? o.specsMapFd!;
  const mapInfo = A.mapInfo(specsFd);
  const ids: number[] = [];
  const subLinks: Link[] = [];
  let multi: OwnedFd | null = null;
  let ipMap: OwnedFd | null = null;
  const ipKeys: Uint8Array[] = [];
  const label = `usdt ${path}:${o.provider}:${o.name} (${targets.length} site${targets.length === 1 ? '' : 's'}${o.pid !== undefined && o.pid >= 0 ? `, pid ${o.pid || process.pid}` : ''})`;
  try {
    // one id per distinct argument spec string (libbpf's allocate_spec_id)
    const byArgs = new Map<string, number>();
    const cookies = targets.map((t) => {
      let id = byArgs.get(t.note.args);
      if (id === undefined) {
        id = allocateId(mapInfo.id, mapInfo.maxEntries);
        ids.push(id);
        byArgs.set(t.note.args, id);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, id, true);
        A.mapUpdateElem(specsFd, key, encodeUsdtSpec(parseUsdtSpec(t.note.args, elf.machine, o.cookie ?? 0n)));
      }
      return id;
    });
    if (siteIps) {
      ipMap = findUsdtMap(prog.fd, IP_MAP_NAME, U.BPF_MAP_TYPE_HASH, 8, 4);
      if (!ipMap) throw new CorebpfError(`program '${prog.name}' uses no __bpf_usdt_ip_to_spec_id map, which usdt.bpf.h reads on a kernel without BPF cookies (before 5.15)`, { program: prog.name });
      siteIps.forEach((ip, i) => {
        const key = new Uint8Array(8);
        const value = new Uint8Array(4);
        new DataView(key.buffer).setBigUint64(0, ip, true);
        new DataView(value.buffer).setUint32(0, cookies[i]!, true);
        // BPF_NOEXIST: a site another attachment already maps keeps its spec, as libbpf's
        A.mapUpdateElem(ipMap!.fd, key, value, U.BPF_NOEXIST);
        ipKeys.push(key);
      });
      targets.forEach((t) => {
        subLinks.push(attachUprobe(prog, { binary: path, offset: Number(t.relIp), pid, refCtrOffset: Number(t.semaOff) }));
      });
    } else if (prog.expectedAttachType === U.BPF_TRACE_UPROBE_MULTI) {
      multi = createUprobeMultiLink(prog.fd, { path, offsets: targets.map((t) => t.relIp), cookies, refCtrOffsets: targets.map((t) => t.semaOff), pid });
    } else {
      targets.forEach((t, i) => {
        subLinks.push(attachUprobe(prog, { binary: path, offset: Number(t.relIp), pid, refCtrOffset: Number(t.semaOff) }, { cookie: cookies[i] }));
      });
    }
  } catch (e) {
    for (const l of subLinks) try { l.close(); } catch { /* first error wins */ }
    dropKeys(ipMap, ipKeys);
    ipMap?.close();
    freeIds(mapInfo.id, ids);
    specsMap?.close();
    throw e;
  }
  specsMap?.close();
  const release = () => {
    freeIds(mapInfo.id, ids);
    dropKeys(ipMap, ipKeys);
    ipMap?.close();
  };
  if (multi) return new Link({ kind: 'link', program: prog.name, target: label, attachType: U.BPF_TRACE_UPROBE_MULTI, link: multi, cleanup: release });
  // one uprobe per site: closing the USDT link closes them all (it has no single fd)
  return new Link({
    kind: 'perf_event', program: prog.name, target: label,
    detach: () => {
      const errs: unknown[] = [];
      for (const l of subLinks) try { l.close(); } catch (e) { errs.push(e); }
      if (errs.length) throw errs[0];
    },
    cleanup: release,
  });
}
