// corebpf command line.
import { readFileSync } from 'node:fs';
import { CorebpfError } from './errors.js';
import { safeText } from './text-safe.js';
import { CliUsageError, exitCodeOf } from './cli/common.js';
import { RELOCATE_HELP, relocateCommand } from './cli/relocate.js';
import { demoCommand } from './cli/demo.js';
import { RUN_HELP, runCommand } from './cli/run.js';
import { checkCommand, mergeCommand } from './cli/check.js';
import { BTF_HELP, btfCommand } from './cli/btf.js';
import { GEN_HELP, genCommand } from './cli/gen.js';

const HELP = `usage: corebpf COMMAND [options]

Commands:
  relocate OBJECT --btf KERNEL_BTF   CO-RE relocation report and load plan, offline
  check OBJECT... --btf-dir DIR      programs × kernels relocation matrix for CI (and merge)
  run OBJECT [--duration 10s]        load into this kernel, attach by section, stream
                                     events and map contents (root)
  btf dump FILE [-o vmlinux.h]       a kernel's BTF as a C header, by libbpf's btf_dump
  btf min OBJECT... --btf FILE -o OUT  the minimal BTF that relocates the objects (BTFGen)
  gen OBJECT -o prog.gen.ts          a typed TypeScript module for the object (embedded,
                                     maps, globals and records typed by its BTF)
  demo                               relocate the bundled example against bundled kernel
                                     BTF and this machine's kernel
  help [COMMAND]                     this text, or a command's
  version, --version                 corebpf's version

Run 'corebpf COMMAND --help' for a command's options.`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'relocate':
      return relocateCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'run':
      return runCommand(rest);
    case 'btf':
      return btfCommand(rest);
    case 'gen':
      return genCommand(rest);
    case 'version': case '--version': case '-V':
      console.log(`corebpf ${packageVersion()} (libbpf 1.5 in WebAssembly; node ${process.version}, ${process.platform}-${process.arch})`);
      return 0;
    case 'check': case 'merge': return (cmd === 'check' ? checkCommand : mergeCommand)(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(rest[0] === 'relocate' ? RELOCATE_HELP : rest[0] === 'run' ? RUN_HELP : rest[0] === 'btf' ? BTF_HELP : rest[0] === 'gen' ? GEN_HELP : HELP);
      return 0;
    default:
      throw new CliUsageError(`unknown command '${cmd}'\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof CliUsageError || (e instanceof Error && String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS'))) {
      console.error(`corebpf: ${safeText(e.message)}`);
      process.exitCode = 2;
      return;
    }
    console.error(`corebpf: ${e instanceof CorebpfError ? `${e.name}: ` : ''}${safeText(e instanceof Error ? e.message : String(e))}`);
    process.exitCode = exitCodeOf(e);
  },
);
