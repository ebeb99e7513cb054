// `corebpf gen OBJECT -o prog.gen.ts`: a typed TypeScript module for a BPF object (src/gen).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generate } from '../gen/index.js';
import { CliUsageError } from './common.js';

export const GEN_HELP = `usage: corebpf gen OBJECT -o prog.gen.ts [--object-eb OBJECT.bpfeb.o] [--type NAME]...
                   [--name IDENT] [--import MODULE]

Write one TypeScript module for a BPF object, as bpf2go and bpftool gen skeleton do: the
object embedded (base64), a class with open() / load(), its programs and maps by name
(maps typed BpfMap<Key, Value> by their BTF: numbers for ints up to 32 bits, bigint for
64-bit ones, strings for char arrays, interfaces for structs), its globals by section
(rodata set before load, data and bss before and after), and ring / perf buffer readers
decoding records as the --type structs. Same input, same bytes; no 'any'; checks under
tsc --strict.

  --object-eb FILE  the big-endian build of the same object (clang -target bpfeb),
                    embedded too and used on big-endian hosts
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
  if (positionals.length !== 1) throw new CliUsageError(`gen takes one OBJECT (got ${positionals.length})\n\n${GEN_HELP}`);
  const text = await generate(positionals[0]!, {
    objectEb: values['object-eb'], types: values.type, name: values.name, importFrom: values.import,
  });
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}
