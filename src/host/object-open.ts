// libbpf's open phase for BpfObject.open(): the object read, the running kernel's defaults
// read for the relocation to come, and the object opened in a relocation worker (or read
// from the on-disk cache). Apart from object.ts because it is the only path that reads
// this machine before load and starts a worker; fromPlan objects never come here.
import { objectNameOf } from '../inputs.js';
import { readObjectFile } from '../object-bytes.js';
import type { ObjectSpec } from '../object-spec.js';
import { sharedRelocator } from '../relocate.js';
import { forRunningKernel } from './kernel-env.js';
import type { ObjectOptions, OpenOptions } from './object-options.js';
import { OpenedObject } from './opened.js';

/** The opened object, and the options the BpfObject made from it keeps. */
export async function openObject(object: string | Uint8Array, opts: OpenOptions): Promise<{ opened: OpenedObject; opts: ObjectOptions }> {
  const { relocator, rodata, data, bss, pinRoot, raw, reusePins, ...given } = opts;
  const r = relocator ?? sharedRelocator();
  // a worker boots while this thread reads the object and the machine; with an on-disk
  // cache, only when the cache has no opened spec of the object (a hit never starts one)
  const disk = r.diskCache(given.cacheDir);
  if (!disk) r.pool.start();
  const bytes = typeof object === 'string' ? readObjectFile(object) : object;
  const objectName = given.objectName ?? (typeof object === 'string' ? objectNameOf(object) : undefined);
  const cached = disk ? r.cachedSpec(bytes, { objectName: objectName ?? 'obj', cacheDir: given.cacheDir }) : undefined;
  if (disk && !cached) r.pool.start();
  // the running kernel's defaults (features, kconfig, kallsyms, module BTF) are read now,
  // used when load() relocates
  const { opts: relocOpts } = forRunningKernel(bytes, { ...given, objectName });
  const opening = cached ? undefined : r.openShared(bytes, { objectName, cacheDir: given.cacheDir });
  // the worker opening the object parses the target kernel's BTF next, before load() asks
  if (opening && r.pool.live > 0) r.prepareTarget(relocOpts.btf);
  const spec: ObjectSpec = cached ?? await opening!;
  return { opened: new OpenedObject(spec, bytes, { ...relocOpts, objectName }, r), opts: { rodata, data, bss, pinRoot, raw, reusePins } };
}
