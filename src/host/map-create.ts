// Where a standalone map handle's fd comes from: BPF_MAP_CREATE (libbpf's bpf_map_create())
// or BPF_OBJ_GET of a pinned map, with the attributes the handle is made with. An object's
// maps get their fds at load instead (object-load.ts). `make` builds the handle, so that
// this module needs no BpfMap and a pinned map's fd is closed when that fails too.
import * as A from './attr.js';
import type { BtfCodec } from './btf-codec.js';
import type { OwnedFd } from './fd.js';
import type { MapSpec, MapTypeInfo } from './map-spec.js';
import { bumpMemlockRlimit } from './memlock.js';

type MakeMap<T> = (fd: OwnedFd, spec: MapSpec, types: MapTypeInfo) => T;

/** BPF_MAP_CREATE of a map that is not part of an object. */
export function createMap<T>(o: A.MapCreateOptions & { codec?: BtfCodec; btfKeyTypeId?: number; btfValueTypeId?: number }, make: MakeMap<T>): T {
  bumpMemlockRlimit(); // as libbpf's bpf_map_create()
  const fd = A.mapCreate(o);
  return make(fd, {
    name: o.name ?? '', type: o.mapType, keySize: o.keySize, valueSize: o.valueSize, maxEntries: o.maxEntries, flags: o.mapFlags ?? 0,
  }, { codec: o.codec, btfKeyTypeId: o.btfKeyTypeId, btfValueTypeId: o.btfValueTypeId });
}

/** BPF_OBJ_GET of a pinned map, its attributes read back from the kernel. */
export function openPinnedMap<T>(path: string, types: MapTypeInfo, make: MakeMap<T>): T {
  const fd = A.objGet(path, 0, 'map');
  try {
    const info = A.mapInfo(fd.fd);
    return make(fd, {
      name: info.name, type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags,
    }, { ...types, pinnedPath: path });
  } catch (e) {
    fd.close();
    throw e;
  }
}
