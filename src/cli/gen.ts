// `corebpf gen OBJECT|prog.bpf.c -o prog.gen.ts`: a typed TypeScript module for a BPF object
// (src/gen), compiling it first when given the C.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generate } from '../gen/index.js';
import { CliUsageError } from './common.js';

export const GEN_HELP = `usage: corebpf gen OBJECT -o prog.gen.ts [--object-eb OBJECT.bpfeb.o] [--type NAME]...
                   [--name IDENT] [--import MODULE]
       corebpf gen prog.bpf.c -o prog.gen.ts [--btf KERNEL_BTF | --vmlinux HEADER]
                   [--clang CLANG] [--target-arch ARCH] [--cflags FLAG]... [--type NAME]...

Write one TypeScript module for a BPF object, as bpf2go and bpftool gen skeleton do: the
object embedded (base64), a class with open() / load(), its programs and maps by name
(maps typed BpfMap<Key, Value> by their BTF: numbers for ints up to 32 bits, bigint for
64-bit ones, strings for char arrays, interfaces for structs), its globals by section
(rodata set before load, data and bss before and after), and ring / perf buffer readers
decoding records as the --type structs. Same input, same bytes; no 'any'; checks under
tsc --strict.

  --object-eb FILE  the big-endian build of the same object (clang -target bpfeb),
                    embedded too and used on big-endian hosts

From C (a path ending in .c), gen runs clang twice, -target bpfel and bpfeb, with
-g -O2 -mcpu=v3 -D__TARGET_ARCH_ARCH and these include directories: the source's own, one
holding vmlinux.h, and the package's dist/include, which has libbpf's BPF-side headers
(#include <bpf/bpf_helpers.h>, bpf_tracing.h, bpf_core_read.h, bpf_endian.h, usdt.bpf.h)
of the libbpf inside corebpf. Paths are mapped out of the objects: same inputs, same bytes.
  --btf FILE        vmlinux.h is written from this kernel BTF (raw, ELF or .xz) by libbpf's
                    btf_dump, as corebpf btf dump does (default: /sys/kernel/btf/vmlinux,
                    when the source includes vmlinux.h)
  --vmlinux HEADER  use this vmlinux.h as it is
  --clang CLANG     the compiler (default: $CLANG, else clang, clang-20 ... clang-14 on PATH)
  --target-arch A   __TARGET_ARCH_A for PT_REGS (x86, arm64, s390, powerpc, riscv; default:
                    this host's)
  --cflags FLAG     one more clang argument (-DNAME=1, -Idir); repeatable
  --keep-debug      keep the objects' DWARF (by default llvm-strip -g removes it, as bpf2go
                    does: BTF has the types and source lines; DWARF is most of the bytes)
  --type NAME       a record type for ringbuf()/perfbuf() ('event', 'struct event',
                    a typedef); repeatable
  --name IDENT      the class's name (default: the object's name in PascalCase)
  --import MODULE   where the module imports the library from (default: corebpf)
  -o, --output F    write to F instead of standard output
  -h, --help        this text`;

export async function genCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'object-eb': { type: 'string' },
      btf: { type: 'string' },
      vmlinux: { type: 'string' },
      clang: { type: 'string' },
      'target-arch': { type: 'string' },
      cflags: { type: 'string', multiple: true },
      'keep-debug': { type: 'boolean' },
      type: { type: 'string', multiple: true },
      name: { type: 'string' },
      import: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(GEN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError(`gen takes one OBJECT or C source (got ${positionals.length})\n\n${GEN_HELP}`);
  const input = positionals[0]!;
  const fromC = input.endsWith('.c');
  for (const o of ['btf', 'vmlinux', 'clang', 'target-arch', 'cflags', 'keep-debug'] as const) {
    if (values[o] !== undefined && !fromC) throw new CliUsageError(`--${o} is for a C source (prog.bpf.c); ${input} is an object`);
  }
  if (values.btf !== undefined && values.vmlinux !== undefined) throw new CliUsageError('gen takes --btf or --vmlinux, not both');
  const text = await generate(input, {
    objectEb: values['object-eb'], types: values.type, name: values.name, importFrom: values.import,
    compile: fromC ? {
      btf: values.btf, vmlinux: values.vmlinux, clang: values.clang, targetArch: values['target-arch'], cflags: values.cflags,
      keepDebug: values['keep-debug'],
    } : undefined,
  });
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}
