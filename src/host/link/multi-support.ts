// Whether the running kernel has the multi-probe links (kprobe.multi 5.18+, kprobe.session
// 6.10+, uprobe.multi 6.6+), asked as libbpf's probe_uprobe_multi_link() asks: load
// `r0 = 0; exit` with the link's expected attach type, then BPF_LINK_CREATE against a target
// that cannot exist. A kernel with the link type refuses the target (EBADF: '/' is no
// regular file; ENOENT: no such kernel symbol); one without it refuses the attach type
// (EINVAL), and one built without the backing code answers EOPNOTSUPP.
import { NotSupportedError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import * as U from '../generated/uapi.js';
import { getSyscalls } from '../syscall.js';

export type MultiLinkFeature = 'uprobe_multi' | 'kprobe_multi' | 'kprobe_session';

const FEATURES: Record<MultiLinkFeature, { attachType: number; since: string; what: string; config: string; present: string }> = {
  uprobe_multi: { attachType: U.BPF_TRACE_UPROBE_MULTI, since: '6.6', what: 'uprobe.multi links (BPF_TRACE_UPROBE_MULTI)', config: 'CONFIG_UPROBES', present: 'EBADF' },
  kprobe_multi: { attachType: U.BPF_TRACE_KPROBE_MULTI, since: '5.18', what: 'kprobe.multi links (BPF_TRACE_KPROBE_MULTI)', config: 'CONFIG_FPROBE', present: 'ENOENT' },
  kprobe_session: { attachType: U.BPF_TRACE_KPROBE_SESSION, since: '6.10', what: 'kprobe.session links (BPF_TRACE_KPROBE_SESSION)', config: 'CONFIG_FPROBE', present: 'ENOENT' },
};

// per syscall layer, like kernel-support.ts: a simulated kernel never answers for the real one
const caches = new WeakMap<object, Map<MultiLinkFeature, NotSupportedError | null>>();

function probe(feature: MultiLinkFeature): NotSupportedError | null {
  const f = FEATURES[feature];
  const insns = A.bytes(16);
  insns[0] = U.BPF_ALU64 | U.BPF_MOV | U.BPF_K; // r0 = 0
  insns[8] = U.BPF_JMP | U.BPF_EXIT;
  let prog;
  try {
    prog = A.progLoad({ progType: U.BPF_PROG_TYPE_KPROBE, insns, license: 'GPL', expectedAttachType: f.attachType, name: 'multi_probe' });
  } catch (e) {
    if (e instanceof SyscallError && e.errnoName === 'EINVAL') {
      return new NotSupportedError(`the kernel has no ${f.what}: it refuses kprobe programs for them (Linux ${f.since}+ has them)`,
        { feature, since: f.since }, { cause: e });
    }
    throw e;
  }
  const syms = symsArray(['corebpf_no_such_kernel_function']);
  try {
    const target = feature === 'uprobe_multi'
      ? { uprobeMulti: { path: '/', offsets: new Uint8Array(8), cnt: 1 } }
      : { kprobeMulti: { cnt: 1, syms: syms.buf } };
    try {
      A.linkCreate({ progFd: prog.fd, targetFd: 0, attachType: f.attachType, ...target }).close();
      return null;
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.errnoName === f.present) return null;
      if (e.errnoName === 'EOPNOTSUPP' || e.errnoName === 'ENOTSUPP') {
        return new NotSupportedError(`the kernel was built without ${f.config}, which ${f.what} need (BPF_LINK_CREATE answers ${e.errnoName}); rebuild it with ${f.config}=y`,
          { feature, config: f.config }, { cause: e });
      }
      if (e.errnoName === 'EINVAL') {
        return new NotSupportedError(`the kernel has no ${f.what} (BPF_LINK_CREATE refuses the attach type with EINVAL); they need Linux ${f.since}+`,
          { feature, since: f.since }, { cause: e });
      }
      return null; // some other refusal: not evidence that the link type is missing
    }
  } finally {
    prog.close();
    void syms.keep.byteLength; // the names stay alive until here
  }
}

/** Null when the kernel has `feature`, else the NotSupportedError naming what it lacks. Cached per syscall layer. */
export function multiLinkMissing(feature: MultiLinkFeature): NotSupportedError | null {
  const sys = getSyscalls();
  let c = caches.get(sys);
  if (!c) caches.set(sys, (c = new Map()));
  if (!c.has(feature)) c.set(feature, probe(feature));
  return c.get(feature)!;
}

/**
 * After BPF_LINK_CREATE failed with `err`: the NotSupportedError when the kernel lacks the
 * link type (EINVAL / EOPNOTSUPP are also what bad arguments get, so only a probe can tell),
 * else `err` itself.
 */
export function explainMultiLinkFailure(feature: MultiLinkFeature, err: unknown): unknown {
  if (!(err instanceof SyscallError) || !['EINVAL', 'EOPNOTSUPP', 'ENOTSUPP'].includes(err.errnoName)) return err;
  let missing: NotSupportedError | null;
  try {
    missing = multiLinkMissing(feature);
  } catch {
    return err;
  }
  if (!missing) return err;
  return new NotSupportedError(missing.message, { ...missing.details }, { cause: err });
}

/**
 * A `const char *[]` of NUL-terminated names. The strings live in one blob that `keep` holds:
 * the caller keeps it referenced until the syscall has returned.
 */
export function symsArray(names: readonly string[]): { buf: Uint8Array; keep: Uint8Array } {
  const parts = names.map((n) => Buffer.from(`${n}\0`, 'latin1'));
  const keep = A.bytes(Math.max(1, parts.reduce((n, p) => n + p.length, 0)));
  const base = getSyscalls().addressOf(keep);
  const buf = A.bytes(8 * names.length);
  const dv = new DataView(buf.buffer, buf.byteOffset);
  let off = 0;
  parts.forEach((p, i) => {
    keep.set(p, off);
    dv.setBigUint64(i * 8, base + BigInt(off), true);
    off += p.length;
  });
  return { buf, keep };
}
