// uprobe.multi links (Linux 6.6+): one BPF_LINK_CREATE(BPF_TRACE_UPROBE_MULTI) places many
// uprobes in one file, as libbpf's bpf_program__attach_uprobe_multi() does: either a glob
// pattern over the file's function symbols (elf_resolve_pattern_offsets: .symtab, and
// .dynsym only when .symtab matched nothing, so that a function is not probed twice), or an
// explicit list of symbols or file offsets, with optional per-probe cookies and reference
// counter (semaphore) offsets. A bare file name is found like uprobes find it (PATH, or the
// library directories for "*.so*").
import { CorebpfError, ObjectFormatError } from '../../errors.js';
import * as A from '../attr.js';
import type { AttachableProgram } from './options.js';
import type { OwnedFd } from '../fd.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import { openElf, resolveBinaryPath, resolveSymbolOffset } from '../uprobe.js';
import { globMatch, u64Array } from './glob.js';
import { explainMultiLinkFailure } from './multi-support.js';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;

/** Where a uprobe.multi program attaches (BPF_TRACE_UPROBE_MULTI). */
export interface UprobeMultiOptions {
  /** Path, or a bare name looked up in PATH (executables) or the library directories (*.so*). */
  binary: string;
  /** Glob ('*', '?') over the file's function symbols; excludes symbols / offsets / cookies / refCtrOffsets. */
  pattern?: string;
  /** Function names (resolved like uprobe symbols); excludes `offsets`. */
  symbols?: readonly string[];
  /** File offsets; excludes `symbols`. */
  offsets?: readonly (number | bigint)[];
  /** One BPF cookie per probe (bpf_get_attach_cookie()). */
  cookies?: readonly (number | bigint)[];
  /** One reference counter (USDT semaphore) file offset per probe, 0 for none. */
  refCtrOffsets?: readonly (number | bigint)[];
  /** Only this process (default: every process). */
  pid?: number;
  retprobe?: boolean;
}

export interface PatternMatch {
  name: string;
  offset: number;
}

/**
 * libbpf's elf_resolve_pattern_offsets(): the STT_FUNC symbols of `path` whose names match
 * `pattern`, with their file offsets, in symbol-table order. Undefined symbols (imports) are
 * skipped: they have no code in this file.
 */
export function resolvePatternOffsets(path: string, pattern: string): PatternMatch[] {
  const elf = openElf(path);
  for (const table of [SHT_SYMTAB, SHT_DYNSYM]) {
    const found: PatternMatch[] = [];
    for (const s of elf.symbols([table])) {
      if (s.type !== STT_FUNC || s.shndx === SHN_UNDEF || s.shndx >= SHN_LORESERVE) continue;
      if (!globMatch(s.name, pattern)) continue;
      found.push({ name: s.name, offset: Number(elf.fileOffset(s.value, s.shndx)) });
    }
    if (found.length) return found;
  }
  throw new ObjectFormatError(`no function of ${path} matches '${pattern}' (.symtab/.dynsym)`, { path, pattern });
}

function sameLength(name: string, list: readonly unknown[] | undefined, cnt: number): void {
  if (list && list.length !== cnt) throw new CorebpfError(`uprobe.multi: ${name} has ${list.length} entries for ${cnt} probes`, { [name]: list.length, cnt });
}

/** The probes an UprobeMultiOptions describes: path, offsets, and a label for messages. */
export function uprobeMultiTargets(o: UprobeMultiOptions): { path: string; offsets: (number | bigint)[]; names: string[] | null } {
  const explicit = o.symbols ?? o.offsets;
  if (o.pattern !== undefined) {
    if (explicit || o.cookies || o.refCtrOffsets) {
      throw new CorebpfError('uprobe.multi: a pattern excludes symbols, offsets, cookies and refCtrOffsets (as in libbpf)');
    }
  } else if (!explicit || (o.symbols && o.offsets)) {
    throw new CorebpfError('uprobe.multi needs a pattern, or exactly one of symbols and offsets');
  }
  // libbpf resolves a bare name only for patterns; the kernel needs a real path either way
  const path = resolveBinaryPath(o.binary);
  if (o.pattern !== undefined) {
    const m = resolvePatternOffsets(path, o.pattern);
    return { path, offsets: m.map((x) => x.offset), names: m.map((x) => x.name) };
  }
  if (o.symbols) return { path, offsets: o.symbols.map((s) => resolveSymbolOffset(path, s)), names: [...o.symbols] };
  return { path, offsets: o.offsets!.map((v) => BigInt(v)), names: null };
}

export function attachUprobeMulti(prog: AttachableProgram, o: UprobeMultiOptions): Link {
  if (prog.expectedAttachType !== U.BPF_TRACE_UPROBE_MULTI) {
    throw new CorebpfError(`program '${prog.name}' (SEC("${prog.section}")) was not loaded for uprobe.multi (expected attach type BPF_TRACE_UPROBE_MULTI): put it in a SEC("uprobe.multi...") section`,
      { program: prog.name, section: prog.section });
  }
  const { path, offsets, names } = uprobeMultiTargets(o);
  const cnt = offsets.length;
  if (cnt === 0) throw new CorebpfError('uprobe.multi needs at least one probe');
  sameLength('cookies', o.cookies, cnt);
  sameLength('refCtrOffsets', o.refCtrOffsets, cnt);
  const pid = o.pid === undefined || o.pid < 0 ? 0 : o.pid === 0 ? process.pid : o.pid;
  const link = createUprobeMultiLink(prog.fd, { path, offsets, cookies: o.cookies, refCtrOffsets: o.refCtrOffsets, pid, retprobe: o.retprobe });
  const what = o.pattern ?? (names ? names.join(',') : `${cnt} offsets`);
  return new Link({
    kind: 'link', program: prog.name, attachType: U.BPF_TRACE_UPROBE_MULTI, link,
    target: `${o.retprobe ? 'uretprobe' : 'uprobe'}.multi ${path}:${what} (${cnt} probe${cnt === 1 ? '' : 's'}${pid ? `, pid ${pid}` : ''})`,
  });
}

/** BPF_LINK_CREATE(BPF_TRACE_UPROBE_MULTI) with resolved offsets; a missing link type becomes NotSupportedError. */
export function createUprobeMultiLink(progFd: number, u: {
  path: string; offsets: readonly (number | bigint)[]; cookies?: readonly (number | bigint)[];
  refCtrOffsets?: readonly (number | bigint)[]; pid?: number; retprobe?: boolean;
}): OwnedFd {
  try {
    return A.linkCreate({
      progFd, targetFd: 0, attachType: U.BPF_TRACE_UPROBE_MULTI,
      uprobeMulti: {
        path: u.path, offsets: u64Array(u.offsets), cnt: u.offsets.length, pid: u.pid ?? 0, flags: u.retprobe ? U.BPF_F_UPROBE_MULTI_RETURN : 0,
        cookies: u.cookies ? u64Array(u.cookies) : undefined,
        refCtrOffsets: u.refCtrOffsets ? u64Array(u.refCtrOffsets) : undefined,
      },
    });
  } catch (e) {
    throw explainMultiLinkFailure('uprobe_multi', e);
  }
}
