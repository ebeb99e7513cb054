// `corebpf relocate OBJECT --btf KERNEL.btf ...`: the CO-RE report and a load plan file.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readInput } from '../inputs.js';
import { safeLine } from '../text-safe.js';
import { RelocationError } from '../errors.js';
import { serializePlan, type RelocationRecord } from '../plan.js';
import { Relocator, type RelocateResult } from '../relocate.js';
import { CliUsageError, adjustmentFlags, parseFeatures } from './common.js';

export const RELOCATE_HELP = `usage: corebpf relocate OBJECT [--btf KERNEL_BTF] [options]

Relocate a BPF object's CO-RE relocations against a kernel's BTF, offline (no kernel,
no privileges), and print a report of every relocation.

  --btf PATH             target kernel BTF: raw BTF (/sys/kernel/btf/vmlinux), a vmlinux
                         ELF with .BTF, or either compressed with xz (default: this
                         machine's /sys/kernel/btf/vmlinux)
  --kconfig PATH         kernel config file for .kconfig externs (CONFIG_*)
  --kernel-release REL   uname -r of the target (LINUX_KERNEL_VERSION, kern_version)
  --kernel-version VER   uname -v of the target (Debian kernels: "#1 SMP Debian 6.1.76-1")
  --kallsyms PATH        the target's /proc/kallsyms, for typeless __ksym externs
  --module-btf NAME=PATH a kernel module's BTF (its /sys/kernel/btf/NAME, split on --btf;
                         .xz too), where libbpf looks for what vmlinux lacks (repeatable)
  --feature NAME=on|off  assume a libbpf kernel feature present or missing (repeatable;
                         default: all present), e.g. --feature btf_enum64=off
  --disable PROG         turn a program off before load (libbpf's bpf_program__set_autoload;
                         repeatable), e.g. a program for a hook the target kernel lacks
  --attach-target PROG=FUNC
                         point a program at another kernel function or tracepoint
                         (bpf_program__set_attach_target; repeatable), e.g. a placeholder
                         SEC("fentry/dummy_file_read") at the real one
  --max-entries MAP=N    size a map (bpf_map__set_max_entries; repeatable)
  --value-size MAP=N     a map's value size (bpf_map__set_value_size; repeatable)
  -o, --output PATH      write the load plan to PATH
  --json                 print the result as JSON (relocations, stats, and the plan)
  -v, --verbose          print libbpf's debug log to stderr
  -h, --help             this text

A failed relocation is poisoned by libbpf: the verifier rejects the program if the
instruction runs. One in a branch that CO-RE or kconfig constants rule out (a guarded
fallback, e.g. "if (bpf_core_field_exists(...))") is dead code and reported as "guarded";
one that may run is reported with a path of instruction indexes that reaches it.

Exit status: 0 every relocation resolved, or every failure is guarded; 1 some failure may
run (the report says which and how); 2 bad input or usage.`;

function value(v: string | null): string {
  if (v === null) return '-';
  const n = BigInt(v);
  return n > 0xffffn ? `0x${n.toString(16)}` : v;
}

export function formatReport(name: string, btfName: string, r: RelocateResult | { relocations: RelocationRecord[] }): string {
  const rel = r.relocations;
  const failed = rel.filter((x) => x.status === 'failed');
  const lines = [`${name} against ${btfName}: ${rel.length} CO-RE relocation${rel.length === 1 ? '' : 's'}, ${rel.length - failed.length} resolved, ${failed.length} failed`];
  if (rel.length) {
    const rows = rel.map((x) => [safeLine(x.program), x.insn === null ? '?' : String(x.insn), safeLine(x.kind), safeLine(x.access),
      x.status === 'failed' ? `${value(x.local)} -> ${x.guarded ? 'FAILED (guarded)' : 'FAILED'}` : `${value(x.local)} -> ${value(x.target)}`]);
    const head = ['PROGRAM', 'INSN', 'KIND', 'ACCESS', 'LOCAL -> TARGET'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const fmt = (row: string[]) => row.map((c, i) => (i === 1 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
    lines.push(fmt(head), ...rows.map(fmt));
  }
  for (const f of failed) {
    const where = `${f.program} insn ${f.insn ?? '?'} ${f.kind} ${f.access}: ${f.reason ?? 'no reason given'}`;
    if (f.guarded) lines.push(`GUARDED ${where} [dead code${f.reachNote ? `: ${f.reachNote}` : ''}]`);
    else {
      const path = f.reachPath ? ` [reached by insn ${f.reachPath.insns.join(' -> ')} of ${f.reachPath.program}]` : f.reachNote ? ` [may be reached: ${f.reachNote}]` : '';
      lines.push(`FAILED ${where}${path}`);
    }
  }
  const guarded = failed.filter((f) => f.guarded).length;
  if (failed.length && guarded === failed.length) lines.push(`ok: the ${guarded} failed relocation${guarded === 1 ? ' is' : 's are'} guarded (dead code the verifier never visits)`);
  return lines.map(safeLine).join('\n');
}

export async function relocateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      btf: { type: 'string' },
      kconfig: { type: 'string' },
      'kernel-release': { type: 'string' },
      'kernel-version': { type: 'string' },
      feature: { type: 'string', multiple: true },
      kallsyms: { type: 'string' },
      'module-btf': { type: 'string', multiple: true },
      disable: { type: 'string', multiple: true },
      'attach-target': { type: 'string', multiple: true },
      'max-entries': { type: 'string', multiple: true },
      'value-size': { type: 'string', multiple: true },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(RELOCATE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError(`relocate takes one OBJECT (got ${positionals.length})\n\n${RELOCATE_HELP}`);
  const objPath = positionals[0]!;
  const btfPath = values.btf ?? '/sys/kernel/btf/vmlinux';
  const text = (path: string | undefined, what: string) => (path ? new TextDecoder().decode(readInput(path, what)) : undefined);
  const kconfig = text(values.kconfig, 'kernel config');
  const kallsyms = text(values.kallsyms, 'kallsyms');
  const moduleBtfs = (values['module-btf'] ?? []).map((spec) => {
    const m = /^([\w-]+)=(.+)$/.exec(spec);
    if (!m) throw new CliUsageError(`--module-btf expects NAME=PATH, got '${spec}'`);
    return { name: m[1]!, data: readInput(m[2]!, `module BTF '${m[1]}'`) };
  });
  const adjustments = adjustmentFlags(values);
  const relocator = new Relocator({ size: 1 });
  try {
    const r = await relocator.relocate(objPath, {
      adjustments,
      btf: btfPath, kconfig, kallsyms, kernelRelease: values['kernel-release'], kernelVersion: values['kernel-version'],
      features: parseFeatures(values.feature ?? []),
      moduleBtfs: moduleBtfs.length ? moduleBtfs : undefined,
      logLevel: values.verbose ? 'debug' : 'info',
    });
    if (values.verbose) process.stderr.write(r.log);
    if (values.output) writeFileSync(values.output, serializePlan(r.plan));
    if (values.json) {
      console.log(JSON.stringify({ object: objPath, btf: btfPath, ok: r.ok, verdict: r.verdict, stats: r.stats, relocations: r.relocations, plan: r.plan }, null, 1));
    } else {
      console.log(formatReport(objPath, btfPath, r));
      if (values.output) console.log(`load plan written to ${safeLine(values.output)} (${r.plan.maps.length} maps, ${r.plan.programs.length} programs)`);
    }
    return r.verdict === 'failed' ? 1 : 0;
  } catch (e) {
    // libbpf stopped at a relocation: still a report, and exit status 1
    if (!(e instanceof RelocationError)) throw e;
    const relocations = e.relocations as RelocationRecord[];
    if (values.json) console.log(JSON.stringify({ object: objPath, btf: btfPath, ok: false, error: e.message, relocations }, null, 1));
    else console.log(`${formatReport(objPath, btfPath, { relocations })}\nlibbpf stopped: no load plan (${safeLine(e.message.split('\n')[0]!)})`);
    return 1;
  } finally {
    await relocator.close();
  }
}
