// `corebpf check OBJECT... --btf-dir DIR`: program × kernel relocation matrix for CI.
import { parseArgs } from 'node:util';
import { readExpectations, readObjectAdjustments } from '../check/expect.js';
import { parseShard } from '../check/kernels.js';
import { progressMode, progressReporter, verifyProgress } from '../check/progress.js';
import { runCheck, type CheckProgress, type CheckRun } from '../check/run.js';
import { runCheckVerify, type VerifyRun } from '../check/verify.js';
import { reportStatus, writeOutputs } from '../check/outputs.js';
import { formatSummary } from '../check/text.js';
import { safeLine } from '../text-safe.js';
import { CliUsageError } from './common.js';

export { MERGE_HELP, mergeCommand } from './merge.js';

export const CHECK_HELP = `usage: corebpf check OBJECT... --btf-dir DIR [options]

Relocate every BPF object against every kernel BTF in DIR, offline, and report which
programs relocate on which kernels; for each failure, the relocation (program, instruction,
kind, access path) and why (type missing, field missing, ambiguous candidates, size changed).
A failure whose poisoned instruction is dead code once the CO-RE and kconfig constants are
folded (a guarded fallback, e.g. behind bpf_core_field_exists()) is not a failure: the
program is "ok, guarded" and the relocation is listed; one that may run is a failure, with
the path of instructions that reaches it.

  OBJECT...              BPF object files, or directories of them (*.o)
  --btf-dir DIR          kernels: *.btf, *.btf.xz and vmlinux ELF files under DIR
                         (recursively). DIR/manifest.json, if there, gives each file's arch,
                         kernelRelease (LINUX_KERNEL_VERSION) and endianness; split module
                         BTF (entries with a "base") is skipped. Without a manifest the
                         release is taken from file names like 5.15.0-1004-aws.btf.
                         NAME.config[.xz] / NAME.kallsyms[.xz] beside NAME.btf[.xz] (or named
                         by the manifest) are that kernel's config and /proc/kallsyms: for
                         .kconfig externs and typeless __ksym externs
  --expect-fail FILE     expected failures, JSON:
                           {"version": 1, "expectations": [{"object": GLOB, "program": GLOB,
                            "kernel": GLOB, "arch": GLOB, "access": GLOB, "kind": GLOB,
                            "error": GLOB, "reason": TEXT}, ...]}
                         every field optional; "access"/"kind" match failed relocations,
                         "error" object-level libbpf errors, neither: any failure. Programs
                         whose name contains ___err_ are always expected to fail. The file
                         may also say how user space adjusts objects before load:
                           "adjustments": [{"object": GLOB, "programs": {"NAME":
                             {"autoload": false, "attachTarget": "FUNC"}}, "maps": {"NAME":
                             {"maxEntries": N, "valueSize": N}}}, ...]
                         A program libbpf stops at (e.g. its attach target is missing on a
                         kernel) fails its own cell; it is turned off and the other programs
                         of the object are relocated and reported
  -j, --jobs N           worker threads (default: one per core); each parses a kernel's
                         BTF once and relocates every object against it
  --shard I/N            check only kernels I, I+N, I+2N, ... of the sorted kernel list
                         (for a CI job matrix; join the --json reports with corebpf merge)
  --json FILE            the report as JSON (format corebpf-check-report, version 1)
  --junit FILE           JUnit XML: a testsuite per kernel, a testcase per object:program
  --html FILE            one self-contained HTML page: heat map of programs × kernels
  --strict               also fail on unexpected passes and on expectations that matched
                         nothing (not with --shard: merge checks those)
  --verify               the kernel's verifier has the last word: boot each fixture's kernel
                         in the lab (scripts/lab/kernels.list: a Debian kernel of the same
                         arch and version) in qemu, one VM per kernel, load every plan in it
                         (loaded, verified, closed; nothing attached) and add the verifier's
                         verdict to each cell, with the failing line of the verifier log and
                         its C source line. Needs the source tree, qemu and the lab kernels
                         (make lab-fetch); LAB_ACCEL=kvm uses KVM (default TCG). Cells whose
                         kernel the lab cannot boot say "not verified"
  -v, --verbose          list every expected failure and guarded relocation in the summary
  -q, --quiet            no progress on stderr (default: a bar on a terminal, a line per
                         tenth of the kernels when stderr is not a terminal or CI is set)
  -h, --help             this text

Exit status: 0 no unexpected failure, 1 unexpected failures, or (--verify) a cell where the
verifier and the offline verdict disagree (or, with --strict, unexpected passes or unused
expectations), 2 bad input or usage, or --verify without qemu or the lab kernels.`;

export async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'btf-dir': { type: 'string' },
      'expect-fail': { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      shard: { type: 'string' },
      json: { type: 'string' },
      junit: { type: 'string' },
      html: { type: 'string' },
      strict: { type: 'boolean' },
      verify: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  if (!positionals.length) throw new CliUsageError(`check needs at least one OBJECT\n\n${CHECK_HELP}`);
  if (!values['btf-dir']) throw new CliUsageError(`check needs --btf-dir DIR\n\n${CHECK_HELP}`);
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new CliUsageError(`--jobs expects a number of workers (1-256), got '${values.jobs}'`);
  }
  let shard: { index: number; count: number } | undefined;
  if (values.shard !== undefined) {
    try {
      shard = parseShard(values.shard);
    } catch (e) {
      throw new CliUsageError((e as Error).message);
    }
  }
  const expectations = values['expect-fail'] ? readExpectations(values['expect-fail']) : [];
  const adjustments = values['expect-fail'] ? readObjectAdjustments(values['expect-fail']) : [];
  const reporter = progressReporter(process.stderr, progressMode(process.stderr, process.env, values.quiet === true));
  const vmProgress = verifyProgress(process.stderr, progressMode(process.stderr, process.env, values.quiet === true));
  let run: CheckRun | VerifyRun;
  try {
    const opts = {
      objects: positionals, btfDir: values['btf-dir'], expectations, adjustments, expectationsFile: values['expect-fail'] ?? null,
      jobs, shard, onProgress: (p: CheckProgress) => reporter.update(p),
    };
    run = values.verify
      ? await runCheckVerify({ ...opts, onProgress: (p) => { reporter.update(p); if (p.done === p.total) reporter.end(); }, onVerifyProgress: (p) => vmProgress.update(p) })
      : await runCheck(opts);
  } finally {
    reporter.end();
    vmProgress.end();
  }
  for (const w of run.warnings) if (!/^skipped /.test(w)) console.error(`corebpf check: warning: ${w}`);
  const written = writeOutputs(run.report, { json: values.json, junit: values.junit, html: values.html });
  console.log(formatSummary(run.report, { verbose: values.verbose }));
  if ('verify' in run) {
    const verify = (run as VerifyRun).verify;
    for (const k of verify.kernels) {
      console.log(safeLine(`verify: ${k.kernel} (${k.fixtures.join(', ')}): ${k.outcome === 'ran' ? `${k.programs} programs through the verifier of ${k.release}` : k.why}; ${k.attempts} boot${k.attempts === 1 ? '' : 's'}, boot ${k.bootSeconds ?? '-'} s, ${k.seconds} s in all (${verify.accel})`));
    }
  }
  for (const w of written) console.log(w);
  return reportStatus(run.report, values.strict === true, (shard?.count ?? 1) > 1);
}
