// kprobe.multi / kretprobe.multi (Linux 5.18+) and kprobe.session (6.10+) links: one
// BPF_LINK_CREATE places an fprobe on many kernel functions, as libbpf's
// bpf_program__attach_kprobe_multi_opts() does. A pattern is resolved the way libbpf
// resolves it: against tracefs available_filter_functions_addrs when the kernel has it
// (6.5+; addresses included), else the names of available_filter_functions (the functions
// ftrace can hook) looked up in /proc/kallsyms (every address of a matching name).
import { readFileSync } from 'node:fs';
import { CorebpfError, NotSupportedError, PermissionError, SyscallError } from '../../errors.js';
import * as A from '../attr.js';
import type { AttachableProgram } from './options.js';
import * as U from '../generated/uapi.js';
import { Link } from '../link.js';
import { getSyscalls } from '../syscall.js';
import { tracefsRoot } from '../tracefs.js';
import { globMatch, u64Array } from './glob.js';
import { explainMultiLinkFailure, multiLinkMissing, symsArray } from './multi-support.js';

/** Where a kprobe.multi program attaches (BPF_TRACE_KPROBE_MULTI). */
export interface KprobeMultiOptions {
  /** Glob ('*', '?') over the functions ftrace can hook; excludes symbols / addrs / cookies. */
  pattern?: string;
  /** Kernel function names (the kernel resolves them); excludes `addrs`. */
  symbols?: readonly string[];
  /** Kernel addresses; excludes `symbols`. */
  addrs?: readonly (number | bigint)[];
  /** One BPF cookie per function (bpf_get_attach_cookie()). */
  cookies?: readonly (number | bigint)[];
  retprobe?: boolean;
  /** A kprobe.session link (entry and return in one program, Linux 6.10+); excludes `retprobe`. */
  session?: boolean;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const details = { cmd: 'open', errno: -((e as NodeJS.ErrnoException).errno ?? 0), errnoName: code, path };
    if (code === 'EACCES' || code === 'EPERM') {
      const why = getSyscalls().geteuid() === 0
        ? 'although this process is root: kernel lockdown (tracefs) or a sandbox forbids it; give explicit symbols or addrs instead of a pattern'
        : 'it needs root or CAP_DAC_READ_SEARCH (tracefs is drwx------ on Debian)';
      throw new PermissionError(`reading ${path} (${what}) was refused (${code}) ${why}`, details, { cause: e });
    }
    throw new SyscallError(`reading ${path} (${what}) failed: ${code || (e as Error).message}`, details, { cause: e });
  }
}

// "%llx %499s%*[^\n]" / "%499s%*[^\n]": the first word(s) of each line; a module suffix follows
function firstWords(text: string, n: 1 | 2): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length >= n && w[0]) out.push(w.slice(0, n));
  }
  return out;
}

/** Every kernel address whose name matches `pattern`, as libbpf resolves kprobe.multi patterns. */
export function resolveKprobePattern(pattern: string): bigint[] {
  const root = tracefsRoot();
  const addrsFile = `${root}/available_filter_functions_addrs`;
  let addrsText: string | null = null;
  try {
    addrsText = readFileSync(addrsFile, 'latin1');
  } catch { /* before 6.5: names only */ }
  const addrs: bigint[] = [];
  if (addrsText !== null) {
    for (const [addr, name] of firstWords(addrsText, 2)) if (globMatch(name, pattern)) addrs.push(BigInt(`0x${addr}`));
  } else {
    const names = new Set<string>();
    for (const [name] of firstWords(readText(`${root}/available_filter_functions`, 'the functions ftrace can hook'), 1)) {
      if (globMatch(name, pattern)) names.add(name);
    }
    if (names.size) {
      for (const line of readText('/proc/kallsyms', 'kernel symbol addresses').split('\n')) {
        const w = line.split(/\s+/);
        if (w.length >= 3 && names.has(w[2])) addrs.push(BigInt(`0x${w[0]}`));
      }
      if (addrs.length && addrs.every((a) => a === 0n)) {
        throw new PermissionError('/proc/kallsyms shows every address as 0 (kptr_restrict): resolving a kprobe.multi pattern needs root or CAP_SYSLOG',
          { path: '/proc/kallsyms' });
      }
    }
  }
  if (!addrs.length) {
    throw new CorebpfError(`no kernel function ftrace can hook matches '${pattern}' (${addrsText !== null ? addrsFile : `${root}/available_filter_functions`})`,
      { pattern });
  }
  return addrs;
}

export function attachKprobeMulti(prog: AttachableProgram, o: KprobeMultiOptions): Link {
  const session = o.session ?? false;
  const attachType = session ? U.BPF_TRACE_KPROBE_SESSION : U.BPF_TRACE_KPROBE_MULTI;
  const kind = session ? 'kprobe.session' : o.retprobe ? 'kretprobe.multi' : 'kprobe.multi';
  if (session && o.retprobe) throw new CorebpfError('kprobe.session links run the program at entry and return: retprobe does not apply');
  if (prog.expectedAttachType !== attachType) {
    throw new CorebpfError(`program '${prog.name}' (SEC("${prog.section}")) was not loaded for ${kind} (expected attach type ${session ? 'BPF_TRACE_KPROBE_SESSION' : 'BPF_TRACE_KPROBE_MULTI'}): put it in a SEC("${kind}...") section`,
      { program: prog.name, section: prog.section });
  }
  if (o.pattern !== undefined ? Boolean(o.symbols || o.addrs || o.cookies) : !(o.symbols ?? o.addrs) || Boolean(o.symbols && o.addrs)) {
    throw new CorebpfError(`${kind} needs a pattern (alone), or exactly one of symbols and addrs (with optional cookies)`);
  }
  const feature = session ? 'kprobe_session' : 'kprobe_multi';
  // the pattern needs tracefs; a kernel without the link type should say so first
  let addrs: bigint[] | undefined;
  if (o.pattern !== undefined) {
    try {
      addrs = resolveKprobePattern(o.pattern);
    } catch (e) {
      let missing: NotSupportedError | null = null;
      try { missing = multiLinkMissing(feature); } catch { /* the pattern's error stands */ }
      if (missing) throw new NotSupportedError(missing.message, missing.details, { cause: e });
      throw e;
    }
  } else if (o.addrs) {
    addrs = o.addrs.map((a) => BigInt(a));
  }
  const cnt = addrs?.length ?? o.symbols!.length;
  if (cnt === 0) throw new CorebpfError(`${kind} needs at least one function`);
  if (o.cookies && o.cookies.length !== cnt) throw new CorebpfError(`${kind}: cookies has ${o.cookies.length} entries for ${cnt} functions`);
  const syms = o.symbols ? symsArray(o.symbols) : null;
  let link;
  try {
    link = A.linkCreate({
      progFd: prog.fd, targetFd: 0, attachType,
      kprobeMulti: {
        cnt, flags: o.retprobe ? U.BPF_F_KPROBE_MULTI_RETURN : 0,
        addrs: addrs ? u64Array(addrs) : undefined, syms: syms?.buf, cookies: o.cookies ? u64Array(o.cookies) : undefined,
      },
    });
  } catch (e) {
    throw explainMultiLinkFailure(feature, e);
  } finally {
    void syms?.keep.byteLength; // the names stay alive until the syscall returned
  }
  const what = o.pattern ?? (o.symbols ? o.symbols.join(',') : `${cnt} addresses`);
  return new Link({ kind: 'link', program: prog.name, attachType, link, target: `${kind} ${what} (${cnt} function${cnt === 1 ? '' : 's'})` });
}
