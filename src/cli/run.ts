// `corebpf run OBJECT`: relocate for this kernel, load, attach every program by its section,
// stream ring buffer / perf buffer events and show map contents until the duration ends
// or Ctrl-C; everything is closed on the way out.
import { parseArgs } from 'node:util';
import { CorebpfError } from '../errors.js';
import { BpfObject } from '../host/object.js';
import type { BpfMap } from '../host/map.js';
import { parseSection } from '../host/sections.js';
import { BPF_MAP_TYPE_STRUCT_OPS, bpf_map_type } from '../host/generated/uapi.js';
import { readInput } from '../inputs.js';
import { safeLine } from '../text-safe.js';
import { CliUsageError, adjustmentFlags, parseFeatures } from './common.js';

export const RUN_HELP = `usage: corebpf run OBJECT [options]

Load a BPF object into this kernel (relocated against its BTF), attach every program by
its section name, and print ring buffer / perf buffer events as they come and the
contents of the object's maps at the end (and every --interval). Needs root (or
CAP_BPF + CAP_PERFMON). Ctrl-C stops; everything is detached and closed.

  --btf PATH             kernel BTF to relocate against (default /sys/kernel/btf/vmlinux)
  --set NAME=VALUE       set a global variable before load (const volatile ones too);
                         numbers, true/false, or a string (repeatable)
  --attach auto|none     attach programs by section (default auto); when any program
                         that names an attach point fails to attach, run says which and
                         why and exits 1 (--disable PROG leaves a program out)
  --duration TIME        stop after TIME (e.g. 10s, 500ms, 2m; default: until Ctrl-C)
  --interval TIME        print map contents every TIME as well
  --event-type TYPE      decode ring/perf buffer records as this BTF type of the object
                         (default: 'struct event' when the object has one, else hex)
  --json                 one JSON object per line (events, maps, attach results)
  --kconfig PATH         kernel config for .kconfig externs (default: this machine's, where
                         libbpf looks: /boot/config-$(uname -r), else /proc/config.gz)
  --kallsyms PATH        symbols for typeless __ksym externs (default: /proc/kallsyms)
  --feature NAME=on|off  override a libbpf kernel feature (default: probed on this kernel)
  --disable PROG, --attach-target PROG=FUNC, --max-entries MAP=N, --value-size MAP=N
                         adjust the object before load, as in corebpf relocate; --disable
                         also takes a struct_ops map, which is then neither created nor
                         registered (libbpf: bpf_map__set_autocreate(map, false))
  -h, --help             this text`;

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new CliUsageError(`bad duration '${s}' (examples: 500ms, 10s, 2m)`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
}

function parseValue(v: string): unknown {
  if (/^-?\d+$/.test(v)) return Number.isSafeInteger(Number(v)) ? Number(v) : BigInt(v);
  if (/^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** JSON with bigints as strings and Buffers as hex */
export function jsonValue(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return x.toString();
    if (x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data)) {
      return Buffer.from((x as { data: number[] }).data).toString('hex');
    }
    return x;
  });
}

const STREAM_TYPES = new Set<number>([bpf_map_type.BPF_MAP_TYPE_RINGBUF, bpf_map_type.BPF_MAP_TYPE_PERF_EVENT_ARRAY]);
const SHOWN_TYPES = new Set<number>([
  bpf_map_type.BPF_MAP_TYPE_HASH, bpf_map_type.BPF_MAP_TYPE_ARRAY, bpf_map_type.BPF_MAP_TYPE_PERCPU_HASH,
  bpf_map_type.BPF_MAP_TYPE_PERCPU_ARRAY, bpf_map_type.BPF_MAP_TYPE_LRU_HASH, bpf_map_type.BPF_MAP_TYPE_LRU_PERCPU_HASH,
]);

/** the contents of the maps worth showing: user maps of the hash/array families, and .bss/.data */
export function mapContents(obj: BpfObject, limit = 64): { map: string; entries: [unknown, unknown][]; truncated: boolean }[] {
  const out = [];
  for (const m of obj.maps as readonly BpfMap[]) {
    const internalData = m.sectionName !== null && !m.sectionName.startsWith('.rodata') && m.sectionName !== '.kconfig';
    if (!SHOWN_TYPES.has(m.type) || (m.sectionName !== null && !internalData)) continue;
    const entries: [unknown, unknown][] = [];
    let truncated = false;
    for (const e of m.entries()) {
      if (entries.length === limit) {
        truncated = true;
        break;
      }
      entries.push(e as [unknown, unknown]);
    }
    out.push({ map: m.name, entries, truncated });
  }
  return out;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      btf: { type: 'string' },
      set: { type: 'string', multiple: true },
      attach: { type: 'string', default: 'auto' },
      duration: { type: 'string' },
      interval: { type: 'string' },
      'event-type': { type: 'string' },
      json: { type: 'boolean' },
      kconfig: { type: 'string' },
      kallsyms: { type: 'string' },
      feature: { type: 'string', multiple: true },
      disable: { type: 'string', multiple: true },
      'attach-target': { type: 'string', multiple: true },
      'max-entries': { type: 'string', multiple: true },
      'value-size': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError(`run takes one OBJECT (got ${positionals.length})\n\n${RUN_HELP}`);
  if (values.attach !== 'auto' && values.attach !== 'none') throw new CliUsageError(`--attach is auto or none, not '${values.attach}'`);
  const duration = values.duration ? parseDuration(values.duration) : undefined;
  const interval = values.interval ? parseDuration(values.interval) : undefined;
  const json = Boolean(values.json);
  const say = (kind: string, text: string, data: Record<string, unknown> = {}) => {
    if (json) console.log(jsonValue({ type: kind, ...data }));
    else console.log(safeLine(text));
  };

  // --disable names programs, or struct_ops maps (which register themselves: two that
  // implement the same ops under one name cannot both be registered)
  const disabled = new Set(values.disable ?? []);
  const adjustments = adjustmentFlags({ ...values, disable: [] });
  const obj = await BpfObject.open(positionals[0]!, {
    adjustments,
    btf: values.btf,
    kconfig: values.kconfig ? new TextDecoder().decode(readInput(values.kconfig, 'kernel config')) : undefined,
    kallsyms: values.kallsyms ? new TextDecoder().decode(readInput(values.kallsyms, 'kallsyms')) : undefined,
    features: parseFeatures(values.feature ?? []),
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timers: NodeJS.Timeout[] = [];
  try {
    for (const m of obj.maps as readonly BpfMap[]) {
      if (m.type === BPF_MAP_TYPE_STRUCT_OPS && disabled.delete(m.name)) m.setAutocreate(false);
    }
    for (const p of disabled) obj.setAutoload(p, false);
    for (const s of values.set ?? []) {
      const i = s.indexOf('=');
      if (i <= 0) throw new CliUsageError(`--set expects NAME=VALUE, got '${s}'`);
      obj.setGlobal(s.slice(0, i), parseValue(s.slice(i + 1)));
    }
    await obj.load();
    say('loaded', `loaded ${obj.name}: ${obj.programs.length} programs, ${obj.maps.length} maps`, { object: obj.name });
    for (const r of obj.failedRelocations) {
      say('relocation', `  warning: CO-RE relocation failed on this kernel: ${r.program} insn ${r.insn}: ${r.kind} ${r.access}: ${r.reason}`, { relocation: r });
    }

    if (values.attach === 'auto') {
      const failed: string[] = [];
      for (const p of obj.programs) {
        const spec = parseSection(p.section);
        if (!spec?.autoAttach) {
          say('attach', `  ${p.name} (${p.section}): not attached (no attach point in the section name)`, { program: p.name, attached: false });
          continue;
        }
        try {
          await p.attach();
          say('attach', `  ${p.name}: attached (${p.section})`, { program: p.name, attached: true });
        } catch (e) {
          // every program is tried, so the report names each failure; then none run
          if (!(e instanceof CorebpfError)) throw e;
          failed.push(p.name);
          say('attach', `  ${p.name}: FAILED to attach: ${e.message}`, { program: p.name, attached: false, error: e.message, errorType: e.name });
        }
      }
      // struct_ops maps register their programs (as libbpf 1.5's skeletons attach them)
      for (const m of obj.maps as readonly BpfMap[]) {
        if (m.type !== BPF_MAP_TYPE_STRUCT_OPS) continue;
        try {
          obj.attachStructOps(m.name);
          say('attach', `  ${m.name}: struct_ops map registered`, { map: m.name, attached: true });
        } catch (e) {
          if (!(e instanceof CorebpfError)) throw e;
          failed.push(m.name);
          say('attach', `  ${m.name}: FAILED to register the struct_ops map: ${e.message}`, { map: m.name, attached: false, error: e.message, errorType: e.name });
        }
      }
      if (failed.length) {
        say('attach-failed', `${failed.length} failed to attach (programs and struct_ops maps: ${failed.join(', ')}): nothing was run; ` +
          'turn them off with --disable NAME (a program or a struct_ops map), or run with --attach none', { failed });
        return 1;
      }
    }

    const eventType = values['event-type'] ?? (hasType(obj, 'event') ? 'event' : undefined);
    const readers: Promise<void>[] = [];
    for (const m of obj.maps as readonly BpfMap[]) {
      if (!STREAM_TYPES.has(m.type)) continue;
      const ring = m.type === bpf_map_type.BPF_MAP_TYPE_RINGBUF;
      const reader = ring ? await obj.ringbuf(m.name, { type: eventType }) : await obj.perfbuf(m.name, { type: eventType });
      stop.signal.addEventListener('abort', () => reader.close(), { once: true });
      readers.push((async () => {
        for await (const ev of reader as AsyncIterable<unknown>) {
          const data = ring ? ev : (ev as { data: unknown }).data;
          const cpu = ring ? undefined : (ev as { cpu: number }).cpu;
          say('event', `${m.name}${cpu === undefined ? '' : `[cpu ${cpu}]`}: ${Buffer.isBuffer(data) ? data.toString('hex') : jsonValue(data)}`, { map: m.name, cpu, data });
        }
      })());
    }

    const showMaps = () => {
      for (const c of mapContents(obj)) {
        if (json) {
          say('map', '', { map: c.map, entries: c.entries, truncated: c.truncated });
          continue;
        }
        console.log(`map ${safeLine(c.map)}: ${c.entries.length}${c.truncated ? '+' : ''} entries`);
        for (const [k, v] of c.entries) console.log(`  ${jsonValue(k)} => ${jsonValue(v)}`);
      }
    };
    if (interval) timers.push(setInterval(showMaps, interval));
    if (duration !== undefined) timers.push(setTimeout(() => stop.abort(), duration));
    if (!json && duration === undefined) console.log('running; Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.all(readers);
    showMaps();
    return 0;
  } finally {
    for (const t of timers) clearTimeout(t);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    obj.close();
  }
}

function hasType(obj: BpfObject, name: string): boolean {
  try {
    obj.decoderFor(name);
    return true;
  } catch {
    return false;
  }
}
