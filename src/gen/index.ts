// `corebpf gen`: one TypeScript module for a BPF object, as cilium/ebpf's bpf2go and
// `bpftool gen skeleton` write Go and C for theirs: the object embedded, and its programs,
// maps, globals and record types typed by what the library's BTF codec decodes them to.
import { parseBtf } from '../btf/reader.js';
import { CorebpfError } from '../errors.js';
import { objectNameOf, readInput } from '../inputs.js';
import type { ObjectSpec } from '../object-spec.js';
import { planBytes } from '../plan.js';
import { sharedRelocator, type Relocator } from '../relocate.js';
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

/** The TypeScript module for `object` (a path or its bytes): same input, same text. */
export async function generate(object: string | Uint8Array, opts: GenerateOptions = {}): Promise<string> {
  const r = opts.relocator ?? sharedRelocator();
  const bytes = typeof object === 'string' ? readInput(object, 'BPF object') : object;
  const sourceName = opts.sourceName ?? (typeof object === 'string' ? baseName(object) : 'object.bpf.o');
  const objectName = objectNameOf(sourceName);
  const base = opts.name ?? pascalCase(objectName);
  if (!IDENT.test(base)) throw new CorebpfError(`--name '${base}' is not a TypeScript identifier`);
  const types = opts.types ?? [];
  const { spec, model } = await modelOf(r, bytes, objectName, base, types);
  let big: Uint8Array | null = null;
  let ebName = '';
  if (opts.objectEb !== undefined) {
    if (spec.byteOrder !== 'little') throw new CorebpfError(`${sourceName} is big-endian: give the little-endian build as OBJECT and the big-endian one as --object-eb`);
    big = typeof opts.objectEb === 'string' ? readInput(opts.objectEb, 'BPF object') : opts.objectEb;
    ebName = typeof opts.objectEb === 'string' ? baseName(opts.objectEb) : 'object.bpfeb.o';
    const eb = await modelOf(r, big, objectName, base, types);
    if (eb.spec.byteOrder !== 'big') throw new CorebpfError(`--object-eb ${ebName} is not big-endian (clang -target bpfeb)`);
    if (shape(eb.model) !== shape(model)) {
      throw new CorebpfError(`--object-eb ${ebName} is not the same program as ${sourceName}: their programs, maps, globals or types differ`);
    }
  }
  const command = ['corebpf gen', sourceName, ...(big ? ['--object-eb', ebName] : []), ...types.flatMap((t) => ['--type', /^[\w.]+$/.test(t) ? t : JSON.stringify(t)]),
    ...(opts.name ? ['--name', opts.name] : []), ...(opts.importFrom && opts.importFrom !== 'corebpf' ? ['--import', opts.importFrom] : [])].join(' ');
  return emitModule(model, {
    importFrom: opts.importFrom ?? 'corebpf', sourceName, objectName, command, little: bytes, big,
  });
}
