// libbpf 1.5's kernel feature probes (src/features.c, probe_memcg_account in bpf.c,
// probe_kern_syscall_wrapper in libbpf.c), one for one: the same programs, the same BTF,
// the same attributes and the same decision from the kernel's answer. A probe returns
// > 0 when the feature is there, 0 when it is not, < 0 (-errno) when the probe itself
// failed, which libbpf also counts as missing (feat_supported()).
import { accessSync, appendFileSync, constants } from 'node:fs';
import { SyscallError } from '../../errors.js';
import {
  BTF_FUNC_GLOBAL, BTF_INT_SIGNED, BTF_KIND_DATASEC, BTF_KIND_ENUM64, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR,
  BTF_KIND_VAR,
} from '../../btf/kinds.js';
import * as A from '../attr.js';
import * as U from '../generated/uapi.js';
import { pmuType } from '../tracefs.js';
import { getSyscalls } from '../syscall.js';
import { probeMemcgAccount } from '../memlock.js';
import {
  add64Imm, BTF_VAR_STATIC, btfInfo, btfParam, btfType, btfTypeDeclTag, btfTypeFloat, btfTypeInt, btfTypeTypeTag,
  btfVarSecinfo, callHelper, callRel, exit, funcInfos, insns, ldMapValue, mov64Imm, mov64Reg, R0, R1, R10, R2, R3,
  rawBtf, stMemDw,
} from './encode.js';

/** libbpf's PROG_LOAD_ATTEMPTS: BPF_PROG_LOAD is retried while the verifier says EAGAIN */
const PROG_LOAD_ATTEMPTS = 5;

function errnoOf(e: unknown): number {
  if (e instanceof SyscallError) return e.errno;
  throw e;
}

/** Run a bpf command; its result, or -errno. */
function sysBpf(cmd: number, attr: A.StructBuf<A.BpfAttrLayout>): number {
  try {
    return getSyscalls().bpf(cmd, attr.buf);
  } catch (e) {
    return -errnoOf(e);
  }
}

function close(fd: number): void {
  if (fd >= 0) getSyscalls().close(fd);
}

/** probe_fd(): an fd means yes (and is closed) */
function probeFd(fd: number): number {
  close(fd);
  return fd >= 0 ? 1 : 0;
}

/* libbpf's bpf_map_create() and bpf_prog_load() pass a name only where FEAT_PROG_NAME (the
 * first probe) said names work */
let namesWork = true;

/** bpf_prog_load() / sys_bpf_prog_load(): an fd, or -errno */
function progLoad(o: A.ProgLoadOptions, attempts = PROG_LOAD_ATTEMPTS): number {
  const attr = A.progLoadAttr(namesWork ? o : { ...o, name: undefined });
  let fd: number;
  do {
    fd = sysBpf(U.BPF_PROG_LOAD, attr);
  } while (fd === -U.ERRNO.EAGAIN && --attempts > 0);
  return fd;
}

function mapCreate(o: A.MapCreateOptions): number {
  return sysBpf(U.BPF_MAP_CREATE, A.mapCreateAttr(namesWork ? o : { ...o, name: undefined }));
}

/** libbpf__load_raw_btf() */
function loadRawBtf(types: readonly number[], strs: string): number {
  return sysBpf(U.BPF_BTF_LOAD, A.btfLoadAttr({ btf: rawBtf(types, strs) }));
}

// built on first use: attr.ts (which encodes instructions) imports this module through
// memlock.ts, so nothing here may encode at module load
let ret0: Uint8Array | null = null;
const RET0 = (): Uint8Array => (ret0 ??= insns([mov64Imm(R0, 0), exit()]));
const GPL = 'GPL';

const INT_A = btfTypeInt(1, BTF_INT_SIGNED, 0, 32, 4);

function probeProgName(): number {
  /* sys_bpf_prog_load() itself: always with the name, it is what is probed */
  const attr = A.progLoadAttr({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: RET0(), license: GPL, name: 'libbpf_nametest' });
  let fd: number;
  let attempts = PROG_LOAD_ATTEMPTS;
  do {
    fd = sysBpf(U.BPF_PROG_LOAD, attr);
  } while (fd === -U.ERRNO.EAGAIN && --attempts > 0);
  namesWork = fd >= 0;
  return probeFd(fd);
}

function probeGlobalData(): number {
  const map = mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, name: 'libbpf_global', keySize: 4, valueSize: 32, maxEntries: 1 });
  if (map < 0) return map;
  const prog = insns([...ldMapValue(R1, map, 16), stMemDw(R1, 0, 42), mov64Imm(R0, 0), exit()]);
  const fd = progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: prog, license: GPL });
  close(map);
  return probeFd(fd);
}

function probeBtf(): number {
  return probeFd(loadRawBtf(INT_A, '\0int\0'));
}

/* void x(int a) {} */
function funcBtf(linkage: number): number[] {
  return [
    ...btfTypeInt(1, BTF_INT_SIGNED, 0, 32, 4), // [1] int
    ...btfType(0, btfInfo(BTF_KIND_FUNC_PROTO, 0, 1), 0), ...btfParam(7, 1), // [2] FUNC_PROTO
    ...btfType(5, btfInfo(BTF_KIND_FUNC, 0, linkage), 2), // [3] FUNC x
  ];
}

function probeBtfFunc(): number {
  return probeFd(loadRawBtf(funcBtf(0), '\0int\0x\0a\0'));
}

function probeBtfGlobalFunc(): number {
  return probeFd(loadRawBtf(funcBtf(BTF_FUNC_GLOBAL), '\0int\0x\0a\0'));
}

/* static int a; in a DATASEC named by `strs` */
const DATASEC_TYPES = [
  ...btfTypeInt(0, BTF_INT_SIGNED, 0, 32, 4), // [1]
  ...btfType(1, btfInfo(BTF_KIND_VAR, 0, 0), 1), BTF_VAR_STATIC, // [2] VAR x
  ...btfType(3, btfInfo(BTF_KIND_DATASEC, 0, 1), 4), ...btfVarSecinfo(2, 0, 4), // [3] DATASEC
];

function probeBtfDatasec(): number {
  return probeFd(loadRawBtf(DATASEC_TYPES, '\0x\0.data\0'));
}

function probeBtfQmarkDatasec(): number {
  return probeFd(loadRawBtf(DATASEC_TYPES, '\0x\0?.data\0'));
}

function probeBtfFloat(): number {
  return probeFd(loadRawBtf(btfTypeFloat(1, 4), '\0float\0'));
}

function probeBtfDeclTag(): number {
  return probeFd(loadRawBtf([
    ...btfTypeInt(0, BTF_INT_SIGNED, 0, 32, 4), // [1]
    ...btfType(1, btfInfo(BTF_KIND_VAR, 0, 0), 1), BTF_VAR_STATIC, // [2] VAR x
    ...btfTypeDeclTag(1, 2, -1),
  ], '\0tag\0'));
}

function probeBtfTypeTag(): number {
  return probeFd(loadRawBtf([
    ...btfTypeInt(0, BTF_INT_SIGNED, 0, 32, 4), // [1]
    ...btfTypeTypeTag(1, 1), // [2]
    ...btfType(0, btfInfo(BTF_KIND_PTR, 0, 0), 2), // [3]
  ], '\0tag\0'));
}

function probeBtfEnum64(): number {
  return probeFd(loadRawBtf(btfType(1, btfInfo(BTF_KIND_ENUM64, 0, 0), 8), '\0enum64\0'));
}

function probeArrayMmap(): number {
  return probeFd(mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, name: 'libbpf_mmap', keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: U.BPF_F_MMAPABLE }));
}

function probeExpAttachType(): number {
  return probeFd(progLoad({ progType: U.BPF_PROG_TYPE_CGROUP_SOCK, insns: RET0(), license: GPL, expectedAttachType: U.BPF_CGROUP_INET_SOCK_CREATE }));
}

function probeProbeReadKernel(): number {
  const prog = insns([
    mov64Reg(R1, R10), add64Imm(R1, -8), mov64Imm(R2, 8), mov64Imm(R3, 0),
    callHelper(U.BPF_FUNC_probe_read_kernel), exit(),
  ]);
  return probeFd(progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns: prog, license: GPL }));
}

function probeProgBindMap(): number {
  const map = mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, name: 'libbpf_det_bind', keySize: 4, valueSize: 32, maxEntries: 1 });
  if (map < 0) return map;
  const prog = progLoad({ progType: U.BPF_PROG_TYPE_SOCKET_FILTER, insns: RET0(), license: GPL });
  if (prog < 0) {
    close(map);
    return 0;
  }
  const ret = sysBpf(U.BPF_PROG_BIND_MAP, A.progBindMapAttr(prog, map));
  close(map);
  close(prog);
  return ret >= 0 ? 1 : 0;
}

function probeModuleBtf(): number {
  const fd = loadRawBtf(INT_A, '\0int\0');
  if (fd < 0) return 0; // BTF not supported at all
  /* module BTF came with name/name_len in struct bpf_btf_info */
  const info = A.infoBuf('bpf_btf_info');
  const name = new Uint8Array(new ArrayBuffer(16));
  info.setPtr('name', name).set('name_len', name.byteLength);
  const err = sysBpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(fd, info.buf));
  close(fd);
  return err === 0 ? 1 : 0;
}

function probePerfLink(): number {
  const prog = progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns: RET0(), license: GPL });
  if (prog < 0) return prog;
  /* an invalid perf event fd: EBADF when BPF_PERF_EVENT links exist, EINVAL when not */
  const link = sysBpf(U.BPF_LINK_CREATE, A.linkCreateAttr({ progFd: prog, targetFd: -1, attachType: U.BPF_PERF_EVENT }));
  close(link);
  close(prog);
  return link === -U.ERRNO.EBADF ? 1 : 0;
}

function probeUprobeMultiLink(): number {
  const prog = progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns: RET0(), license: GPL, expectedAttachType: U.BPF_TRACE_UPROBE_MULTI });
  if (prog < 0) return prog;
  const offsets = new Uint8Array(new ArrayBuffer(8)); // unsigned long offset = 0
  const link = (pid: number): number => sysBpf(U.BPF_LINK_CREATE, A.linkCreateAttr({
    progFd: prog, targetFd: -1, attachType: U.BPF_TRACE_UPROBE_MULTI,
    uprobeMulti: { path: '/', offsets, cnt: 1, pid },
  }));
  /* a uprobe in '/' fails with EBADF where multi-uprobes exist */
  let fd = link(0);
  if (fd !== -U.ERRNO.EBADF) {
    close(fd);
    close(prog);
    return 0;
  }
  /* and with EINVAL for pid -1 once PID filtering was fixed (libbpf wants the fix) */
  fd = link(-1);
  close(fd);
  close(prog);
  return fd === -U.ERRNO.EINVAL ? 1 : 0;
}

function probeBpfCookie(): number {
  const prog = insns([callHelper(U.BPF_FUNC_get_attach_cookie), exit()]);
  return probeFd(progLoad({ progType: U.BPF_PROG_TYPE_TRACEPOINT, insns: prog, license: GPL }));
}

function probeArgCtxTag(): number {
  const strs = '\0a\0b\0arg:ctx\0\0';
  const types = [
    ...btfTypeInt(1, BTF_INT_SIGNED, 0, 32, 4), // [1] INT
    ...btfType(0, btfInfo(BTF_KIND_PTR, 0, 0), 0), // [2] PTR -> void
    ...btfType(0, btfInfo(BTF_KIND_FUNC_PROTO, 0, 1), 1), ...btfParam(1, 2), // [3] int(void *a)
    ...btfType(1, btfInfo(BTF_KIND_FUNC, 0, BTF_FUNC_GLOBAL), 3), // [4] FUNC a (main prog)
    ...btfType(0, btfInfo(BTF_KIND_FUNC_PROTO, 0, 1), 1), ...btfParam(3, 2), // [5] int(void *b __arg_ctx)
    ...btfType(3, btfInfo(BTF_KIND_FUNC, 0, BTF_FUNC_GLOBAL), 5), // [6] FUNC b (subprog)
    ...btfTypeDeclTag(5, 6, 0), // [7] DECL_TAG arg:ctx -> b's arg 0
  ];
  const prog = insns([callRel(1), exit(), callHelper(U.BPF_FUNC_get_func_ip), exit()]);
  const btf = loadRawBtf(types, strs);
  if (btf < 0) return 0;
  const fd = progLoad({
    progType: U.BPF_PROG_TYPE_KPROBE, name: 'det_arg_ctx', insns: prog, license: GPL, progBtfFd: btf,
    funcInfo: { data: funcInfos([[0, 4], [2, 6]]), recSize: 8, count: 2 },
  });
  close(btf);
  return probeFd(fd);
}

/** probe_memcg_account: bpf_ktime_get_coarse_ns() came with memcg-based accounting (5.11) */
// probe_memcg_account() lives with the RLIMIT_MEMLOCK decision it serves (src/host/memlock.ts):
// attr.ts calls that decision, and an import of this module from there would be a cycle
export { probeMemcgAccount };

/** libbpf's arch_specific_syscall_pfx(), for the architecture this process runs on */
export function syscallPrefix(arch: string = process.arch): string | null {
  const pfx: Record<string, string> = {
    x64: 'x64', ia32: 'ia32', s390x: 's390x', s390: 's390', arm: 'arm', arm64: 'arm64',
    mips: 'mips', mipsel: 'mips', riscv64: 'riscv', ppc: 'powerpc', ppc64: 'powerpc',
  };
  return pfx[arch] ?? null;
}

let legacyIndex = 0;

/** libbpf's tracefs_path(): debugfs' tracing directory when it exists, else tracefs */
function libbpfTracefsPath(): string {
  try {
    accessSync('/sys/kernel/debug/tracing', constants.F_OK);
    return '/sys/kernel/debug/tracing';
  } catch {
    return '/sys/kernel/tracing';
  }
}

function probeSyscallWrapper(): number {
  const pfx = syscallPrefix();
  if (!pfx) return 0;
  const name = `__${pfx}_sys_bpf`;
  const type = pmuType('kprobe');
  const sys = getSyscalls();
  if (type !== null) {
    const attr = A.perfEventAttr({ type, probePath: name, probeOffset: 0 });
    try {
      sys.close(sys.perfEventOpen(attr.buf, sys.getpid(), -1, -1, U.PERF_FLAG_FD_CLOEXEC));
      return 1;
    } catch (e) {
      errnoOf(e);
      return 0;
    }
  }
  /* legacy: can a kprobe event be created on the wrapper in tracefs' kprobe_events? */
  const events = `${libbpfTracefsPath()}/kprobe_events`;
  const probe = `libbpf_${sys.getpid()}_${name}_0x0_${legacyIndex++}`.replace(/[^A-Za-z0-9]/g, '_');
  try {
    appendFileSync(events, `p:kprobes/${probe} ${name}+0x0`);
  } catch {
    return 0;
  }
  try {
    appendFileSync(events, `-:kprobes/${probe}`);
  } catch { /* as libbpf: the answer stands */ }
  return 1;
}

export type FeatureProbe = () => number;

/**
 * Every feature of libbpf's enum kern_feature_id, by the name the relocator takes
 * (FEAT_BTF_ENUM64 -> btf_enum64), with libbpf's description.
 */
export const FEATURE_PROBES: Readonly<Record<string, { desc: string; probe: FeatureProbe }>> = {
  prog_name: { desc: 'BPF program name', probe: probeProgName },
  global_data: { desc: 'global variables', probe: probeGlobalData },
  btf: { desc: 'minimal BTF', probe: probeBtf },
  btf_func: { desc: 'BTF functions', probe: probeBtfFunc },
  btf_global_func: { desc: 'BTF global function', probe: probeBtfGlobalFunc },
  btf_datasec: { desc: 'BTF data section and variable', probe: probeBtfDatasec },
  array_mmap: { desc: 'ARRAY map mmap()', probe: probeArrayMmap },
  exp_attach_type: { desc: 'BPF_PROG_LOAD expected_attach_type attribute', probe: probeExpAttachType },
  probe_read_kern: { desc: 'bpf_probe_read_kernel() helper', probe: probeProbeReadKernel },
  prog_bind_map: { desc: 'BPF_PROG_BIND_MAP support', probe: probeProgBindMap },
  module_btf: { desc: 'module BTF support', probe: probeModuleBtf },
  btf_float: { desc: 'BTF_KIND_FLOAT support', probe: probeBtfFloat },
  perf_link: { desc: 'BPF perf link support', probe: probePerfLink },
  btf_decl_tag: { desc: 'BTF_KIND_DECL_TAG support', probe: probeBtfDeclTag },
  btf_type_tag: { desc: 'BTF_KIND_TYPE_TAG support', probe: probeBtfTypeTag },
  memcg_account: { desc: 'memcg-based memory accounting', probe: probeMemcgAccount },
  bpf_cookie: { desc: 'BPF cookie support', probe: probeBpfCookie },
  btf_enum64: { desc: 'BTF_KIND_ENUM64 support', probe: probeBtfEnum64 },
  syscall_wrapper: { desc: 'Kernel using syscall wrapper', probe: probeSyscallWrapper },
  uprobe_multi_link: { desc: 'BPF multi-uprobe link support', probe: probeUprobeMultiLink },
  arg_ctx_tag: { desc: 'kernel-side __arg_ctx tag', probe: probeArgCtxTag },
  btf_qmark_datasec: { desc: "BTF DATASEC names starting from '?'", probe: probeBtfQmarkDatasec },
};

