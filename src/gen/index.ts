// `corebpf gen`: one TypeScript module for a BPF object, as cilium/ebpf's bpf2go and
// `bpftool gen skeleton` write Go and C for theirs: the object embedded, and its programs,
// maps, globals and record types typed by what the library's BTF codec decodes them to.
import { parseBtf } from '../btf/reader.js';
import { CorebpfError } from '../errors.js';
import { objectNameOf, readInput } from '../inputs.js';
import type { ObjectSpec } from '../object-spec.js';
import { planBytes } from '../plan.js';
import { sharedRelocator, type Relocator } from '../relocate.js';
import { compileBpf, type CompileOptions } from './compile.js';
import { emitModule } from './emit.js';
import { buildModel, type GenModel } from './model.js';
import { pascalCase } from './ts-types.js';

export interface GenerateOptions {
  /** the same object built big-endian (clang -target bpfeb): embedded too, used on big-endian hosts */
  objectEb?: string | Uint8Array;
  /** BTF types records are decoded as ('event', 'struct event', a typedef), for ringbuf()/perfbuf() */
  types?: readonly string[];
  /** the generated class's name (default: the object's name in PascalCase) */
  name?: string;
  /** module specifier of the library (default 'corebpf') */
  importFrom?: string;
  /** file name written into the header (default: the path's base name, or 'object.bpf.o') */
  sourceName?: string;
  /** open the object with this Relocator (default: the shared one) */
  relocator?: Relocator;
  /** how a C source (a path ending in .c) is compiled (src/gen/compile.ts) */
  compile?: CompileOptions;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

async function modelOf(r: Relocator, bytes: Uint8Array, objectName: string, base: string, types: readonly string[]): Promise<{ spec: ObjectSpec; model: GenModel }> {
  const spec = await r.open(bytes, { objectName });
  const btf = spec.btf ? parseBtf(planBytes(spec.btf)) : null;
  return { spec, model: buildModel(spec, btf, base, types) };
}

/** What a model says about the module, for comparing the two byte orders' builds. */
function shape(m: GenModel): string {
  return JSON.stringify([m.programs, m.maps, m.sections, m.records, m.types.declarations.map((d) => [d.name, d.cType, d.size, d.body])]);
}

/** how a command-line value reads in the module's header */
const arg = (v: string) => (/^[\w./=+-]+$/.test(v) ? v : JSON.stringify(v));

/** The TypeScript module for `object` (a path or its bytes; a path ending in .c is compiled
 * first, for both byte orders): same input, same text. */
export async function generate(object: string | Uint8Array, opts: GenerateOptions = {}): Promise<string> {
  if (typeof object === 'string' && object.endsWith('.c')) {
    if (opts.objectEb !== undefined) throw new CorebpfError('--object-eb is for objects: from a C source, gen compiles both byte orders itself');
    const c = opts.compile ?? {};
    const built = await compileBpf(object, c);
    const how = [
      ...(c.btf ? ['--btf', c.btf] : []), ...(c.vmlinux ? ['--vmlinux', c.vmlinux] : []),
      ...(c.targetArch ? ['--target-arch', c.targetArch] : []), ...(c.cflags ?? []).flatMap((f) => ['--cflags', f]),
      ...(c.keepDebug ? ['--keep-debug'] : []),
    ];
    return fromObjects(built.little, built.objectFile, built.big, 'object.bpfeb.o', opts, [baseName(object), ...how]);
  }
  const bytes = typeof object === 'string' ? readInput(object, 'BPF object') : object;
  const sourceName = opts.sourceName ?? (typeof object === 'string' ? baseName(object) : 'object.bpf.o');
  let big: Uint8Array | null = null;
  let ebName = '';
  if (opts.objectEb !== undefined) {
    big = typeof opts.objectEb === 'string' ? readInput(opts.objectEb, 'BPF object') : opts.objectEb;
    ebName = typeof opts.objectEb === 'string' ? baseName(opts.objectEb) : 'object.bpfeb.o';
  }
  return fromObjects(bytes, sourceName, big, ebName, opts, [sourceName, ...(big ? ['--object-eb', ebName] : [])]);
}

async function fromObjects(bytes: Uint8Array, sourceName: string, big: Uint8Array | null, ebName: string,
  opts: GenerateOptions, input: readonly string[]): Promise<string> {
  const r = opts.relocator ?? sharedRelocator();
  const objectName = objectNameOf(sourceName);
  const base = opts.name ?? pascalCase(objectName);
  if (!IDENT.test(base)) throw new CorebpfError(`--name '${base}' is not a TypeScript identifier`);
  const types = opts.types ?? [];
  const { spec, model } = await modelOf(r, bytes, objectName, base, types);
  if (big) {
    if (spec.byteOrder !== 'little') throw new CorebpfError(`${sourceName} is big-endian: give the little-endian build as OBJECT and the big-endian one as --object-eb`);
    const eb = await modelOf(r, big, objectName, base, types);
    if (eb.spec.byteOrder !== 'big') throw new CorebpfError(`--object-eb ${ebName} is not big-endian (clang -target bpfeb)`);
    if (shape(eb.model) !== shape(model)) {
      throw new CorebpfError(`--object-eb ${ebName} is not the same program as ${sourceName}: their programs, maps, globals or types differ`);
    }
  }
  const command = ['corebpf gen', ...input.map(arg), ...types.flatMap((t) => ['--type', /^[\w.]+$/.test(t) ? t : JSON.stringify(t)]),
    ...(opts.name ? ['--name', opts.name] : []), ...(opts.importFrom && opts.importFrom !== 'corebpf' ? ['--import', arg(opts.importFrom)] : [])].join(' ');
  return emitModule(model, {
    importFrom: opts.importFrom ?? 'corebpf', sourceName, objectName, command, little: bytes, big,
  });
}
