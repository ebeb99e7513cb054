// `corebpf btf dump FILE`: BTF as a C header (vmlinux.h), by libbpf's btf_dump in the wasm.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { btfDumpC } from '../btf-dump.js';
import { btfMin } from '../btf-min.js';
import { CliUsageError } from './common.js';

export const BTF_HELP = `usage: corebpf btf dump FILE [--format c] [--base FILE] [-o OUT]
       corebpf btf min OBJECT... --btf FILE -o OUT
       corebpf btf min OBJECT... --btf-dir DIR -o OUTDIR

Write the types of FILE's BTF as C: a vmlinux.h to compile BPF programs against, as
bpftool btf dump file FILE format c writes it (libbpf's own btf_dump, every type in id
order, with BPF_NO_PRESERVE_ACCESS_INDEX guards). FILE: raw BTF (/sys/kernel/btf/vmlinux),
an ELF with a .BTF section (vmlinux, a module's .ko), or either .xz-compressed (the
fixtures of testdata/btf).

  --format c        the output format (c; the default)
  --base FILE       FILE is split BTF (a module's) on this base (vmlinux's BTF): the
                    header has the base's types and FILE's (bpftool -B FILE)
  -o, --output OUT  write to OUT instead of standard output
  -h, --help        this text

btf min writes the minimal BTF that relocates the OBJECTs exactly as the full BTF does
(BTFGen, as bpftool gen min_core_btf: libbpf resolves each CO-RE relocation, and only the
types and members they read are kept). Ship it for kernels without /sys/kernel/btf/vmlinux
and load with { btf: FILE } (or relocate --btf FILE). With --btf-dir, one file per kernel
BTF in DIR (*.btf, *.btf.xz; split module BTF skipped), named KERNEL.min.btf in OUTDIR.`;

async function minCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      btf: { type: 'string' },
      'btf-dir': { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(BTF_HELP);
    return 0;
  }
  if (!positionals.length) throw new CliUsageError(`btf min takes one or more OBJECTs\n\n${BTF_HELP}`);
  if (!values.output) throw new CliUsageError('btf min needs -o OUT (a file with --btf, a directory with --btf-dir)');
  if (!values.btf === !values['btf-dir']) throw new CliUsageError('btf min takes --btf FILE or --btf-dir DIR (one of them)');
  if (values.btf) {
    const min = await btfMin(positionals, values.btf);
    writeFileSync(values.output, min);
    console.log(`${values.output}: ${min.byteLength} bytes`);
    return 0;
  }
  const dir = values['btf-dir']!;
  const kernels = readdirSync(dir).filter((f) => /\.btf(\.xz)?$/.test(f) && !/\.mod-/.test(f)).sort();
  if (!kernels.length) throw new CliUsageError(`${dir} has no *.btf or *.btf.xz files`);
  mkdirSync(values.output, { recursive: true });
  for (const k of kernels) {
    const min = await btfMin(positionals, join(dir, k));
    const out = join(values.output, `${basename(k).replace(/\.btf(\.xz)?$/, '')}.min.btf`);
    writeFileSync(out, min);
    console.log(`${out}: ${min.byteLength} bytes`);
  }
  return 0;
}

export async function btfCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    console.log(BTF_HELP);
    return 0;
  }
  if (sub === 'min') return minCommand(rest);
  if (sub !== 'dump') throw new CliUsageError(`unknown btf command '${sub}' (btf dump, btf min)\n\n${BTF_HELP}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'c' },
      base: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(BTF_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError(`btf dump takes one FILE (got ${positionals.length})\n\n${BTF_HELP}`);
  if (values.format !== 'c') throw new CliUsageError(`--format is c, not '${values.format}'`);
  const text = await btfDumpC(positionals[0]!, { base: values.base });
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}
