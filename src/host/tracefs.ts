// tracefs: tracepoint ids, and the legacy (pre-4.17 style) kprobe/uprobe events created by
// writing to kprobe_events / uprobe_events. Also the perf PMUs of kprobes and uprobes in
// /sys/bus/event_source/devices, which newer kernels use instead of tracefs events.
import { accessSync, appendFileSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { NotSupportedError, PermissionError, SyscallError } from '../errors.js';
import * as U from './generated/uapi.js';
import { getSyscalls } from './syscall.js';

const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

let cachedRoot: string | null = null;

function isTracefs(dir: string): boolean {
  try {
    return statSync(`${dir}/events`).isDirectory();
  } catch (e) {
    // Debian's tracefs is drwx------: mounted, and closed to anyone but root
    if ((e as NodeJS.ErrnoException).code === 'EACCES') {
      throw new PermissionError(
        `tracefs at ${dir} is mounted but this process may not read it (EACCES; its mode is ${modeOf(dir)}): tracepoint ids and ` +
        'probe events live there; run as root, or grant CAP_DAC_READ_SEARCH (reading tracefs) besides CAP_BPF and CAP_PERFMON',
        { cmd: 'tracefs', errno: U.ERRNO.EACCES, errnoName: 'EACCES', path: dir });
    }
    return false;
  }
}

function modeOf(dir: string): string {
  try {
    const m = statSync(dir).mode;
    return `${(m & 0o777).toString(8).padStart(4, '0')}, uid ${statSync(dir).uid}`;
  } catch {
    return 'unknown';
  }
}

/**
 * The tracefs mount point. Looks at /sys/kernel/tracing and /sys/kernel/debug/tracing; when
 * neither is mounted and this process is root, mounts tracefs on /sys/kernel/tracing (what
 * `mount -t tracefs nodev /sys/kernel/tracing` does). Throws NotSupportedError otherwise.
 */
export function tracefsRoot(options: { mount?: boolean } = {}): string {
  if (cachedRoot && isTracefs(cachedRoot)) return cachedRoot;
  for (const d of TRACEFS_DIRS) {
    if (isTracefs(d)) return (cachedRoot = d);
  }
  const sys = getSyscalls();
  if ((options.mount ?? true) && existsSync(TRACEFS_DIRS[0]) && sys.geteuid() === 0) {
    try {
      sys.mount('nodev', TRACEFS_DIRS[0], 'tracefs', 0, null);
    } catch (e) {
      throw new NotSupportedError(`tracefs is not mounted and mounting it on ${TRACEFS_DIRS[0]} failed: ${(e as Error).message}`,
        { feature: 'tracefs' }, { cause: e });
    }
    if (isTracefs(TRACEFS_DIRS[0])) return (cachedRoot = TRACEFS_DIRS[0]);
  }
  throw new NotSupportedError(
    `tracefs is not mounted (looked in ${TRACEFS_DIRS.join(', ')}); mount it with \`mount -t tracefs nodev /sys/kernel/tracing\`` +
    ' (the kernel needs CONFIG_TRACING / CONFIG_FTRACE)', { feature: 'tracefs' });
}

function notFound(what: string, path: string): SyscallError {
  return new SyscallError(`${what} not found (${path} does not exist)`, { cmd: 'tracefs', errno: U.ERRNO.ENOENT, errnoName: 'ENOENT', path });
}

/** The perf event id of tracepoint `category:name` (tracefs events/<category>/<name>/id). */
export function tracepointId(category: string, name: string): number {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) throw new TypeError(`invalid tracepoint name '${category}:${name}'`);
  const root = tracefsRoot();
  const path = `${root}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (category === 'syscalls' && !existsSync(`${root}/events/syscalls`)) {
        throw new NotSupportedError(`tracepoint syscalls:${name}: this kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)`,
          { feature: 'CONFIG_FTRACE_SYSCALLS' });
      }
      throw notFound(`tracepoint '${category}:${name}'`, path);
    }
    throw e;
  }
  const id = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(id) || id < 0) throw new Error(`bad tracepoint id '${text.trim()}' in ${path}`);
  return id;
}

// ---------------------------------------------------------------------------------------------
// perf PMUs (kprobe, uprobe)

const PMU_DIR = '/sys/bus/event_source/devices';

/** The dynamic perf type of PMU `name` ('kprobe', 'uprobe'), or null when the kernel has none. */
export function pmuType(name: 'kprobe' | 'uprobe'): number | null {
  try {
    const v = Number.parseInt(readFileSync(`${PMU_DIR}/${name}/type`, 'utf8').trim(), 10);
    return Number.isInteger(v) ? v : null;
  } catch {
    return null;
  }
}

/** The config bit of the PMU's `retprobe` format ("config:0" → 0), or null. */
export function pmuRetprobeBit(name: 'kprobe' | 'uprobe'): number | null {
  try {
    const m = /^config:(\d+)$/.exec(readFileSync(`${PMU_DIR}/${name}/format/retprobe`, 'utf8').trim());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Whether tracefs (mounting it when possible) has the <kind>_events control file. */
export function probeEventsAvailable(kind: 'kprobe' | 'uprobe'): boolean {
  let root: string;
  try {
    root = tracefsRoot();
  } catch {
    return false;
  }
  try {
    accessSync(`${root}/${kind}_events`, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// legacy probe events

/** A kprobe/uprobe event created through tracefs; remove() deletes it again. */
export interface ProbeEvent {
  readonly kind: 'kprobe' | 'uprobe';
  readonly group: string;
  readonly event: string;
  /** Its tracepoint id (events/<group>/<event>/id) for perf_event_open(PERF_TYPE_TRACEPOINT). */
  readonly id: number;
  remove(): void;
}

export const PROBE_EVENT_GROUP = 'corebpf';
let probeCounter = 0;

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * Create a legacy probe event: `p:corebpf/<name> <location>` (or `r:` for a return probe)
 * appended to kprobe_events / uprobe_events. For kprobes `location` is FUNC[+OFFSET]; for
 * uprobes it is PATH:0xOFFSET.
 */
export function createProbeEvent(kind: 'kprobe' | 'uprobe', retprobe: boolean, location: string, label: string): ProbeEvent {
  const root = tracefsRoot();
  const control = `${root}/${kind}_events`;
  if (!existsSync(control)) {
    throw new NotSupportedError(`${kind}s are not available: ${control} does not exist (CONFIG_${kind.toUpperCase()}_EVENTS)`,
      { feature: `CONFIG_${kind.toUpperCase()}_EVENTS` });
  }
  const event = `${kind === 'kprobe' ? 'k' : 'u'}${retprobe ? 'ret' : ''}_${process.pid}_${++probeCounter}_${sanitize(label)}`.slice(0, 63);
  const group = PROBE_EVENT_GROUP;
  if (/\s/.test(location)) throw new TypeError(`probe location may not contain white space: '${location}'`);
  try {
    // append only: opening the control file with O_TRUNC would delete every probe event
    appendFileSync(control, `${retprobe ? 'r' : 'p'}:${group}/${event} ${location}\n`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new SyscallError(`creating ${kind} event '${location}' failed: ${err.code ?? err.message}` +
      ` (see ${root}/error_log)`, { cmd: `write(${kind}_events)`, errno: -(err.errno ?? 0), errnoName: err.code ?? '', location }, { cause: e });
  }
  const remove = (): void => {
    try {
      appendFileSync(control, `-:${group}/${event}\n`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  let id: number;
  try {
    id = tracepointId(group, event);
  } catch (e) {
    remove();
    throw e;
  }
  return { kind, group, event, id, remove };
}

/** The probe events this process created and has not removed yet (from tracefs). */
export function listProbeEvents(kind: 'kprobe' | 'uprobe'): string[] {
  let text = '';
  try {
    text = readFileSync(`${tracefsRoot()}/${kind}_events`, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.includes(`${PROBE_EVENT_GROUP}/`) && l.includes(`_${process.pid}_`));
}
