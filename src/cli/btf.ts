// `corebpf btf dump FILE`: BTF as a C header (vmlinux.h), by libbpf's btf_dump in the wasm.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { btfDumpC } from '../btf-dump.js';
import { CliUsageError } from './common.js';

export const BTF_HELP = `usage: corebpf btf dump FILE [--format c] [--base FILE] [-o OUT]

Write the types of FILE's BTF as C: a vmlinux.h to compile BPF programs against, as
bpftool btf dump file FILE format c writes it (libbpf's own btf_dump, every type in id
order, with BPF_NO_PRESERVE_ACCESS_INDEX guards). FILE: raw BTF (/sys/kernel/btf/vmlinux),
an ELF with a .BTF section (vmlinux, a module's .ko), or either .xz-compressed (the
fixtures of testdata/btf).

  --format c        the output format (c; the default)
  --base FILE       FILE is split BTF (a module's) on this base (vmlinux's BTF): the
                    header has the base's types and FILE's (bpftool -B FILE)
  -o, --output OUT  write to OUT instead of standard output
  -h, --help        this text`;

export async function btfCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    console.log(BTF_HELP);
    return 0;
  }
  if (sub !== 'dump') throw new CliUsageError(`unknown btf command '${sub}' (btf dump)\n\n${BTF_HELP}`);
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
