// What a map handle is made from and what its element calls take: the map's attributes as
// the kernel has them (MapSpec), the BTF its keys and values are encoded with (MapTypeInfo),
// and the key and value types of a typed handle (MapInput). A handle takes its attributes
// when made, again when its object binds it at load, and after each open-phase adjustment:
// setSpec and setTypes are that one way of taking them.
import type { PlanMap } from '../plan.js';
import type { BtfCodec, BtfValue } from './btf-codec.js';
import { isPerCpuMapType } from './map-type.js';

/** The attributes of a map: those of a load plan's map (PlanMap) a handle keeps. */
export type MapSpec = Pick<PlanMap, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'>;

export interface MapTypeInfo {
  /** BTF of the key and value types (the object's BTF) */
  codec?: BtfCodec | null;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** libbpf's "real name" of an internal map: the section (".rodata", ".data.custom", ...) */
  sectionName?: string | null;
  pinnedPath?: string | null;
}

/**
 * What get/set/delete/push/... take for keys or values of type T: anything (checked when
 * encoded) while T is the untyped default (BtfValue, unknown); T or raw bytes once the map
 * is typed (`obj.map<number, Event>(...)`, `corebpf gen`).
 */
export type MapInput<T> = unknown extends T ? unknown : [BtfValue] extends [T] ? unknown : T | Uint8Array;

/** A handle's attributes that follow from a MapSpec. */
interface SpecAttributes {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  perCpu: boolean;
}

/** A handle's attributes that follow from a MapTypeInfo. */
interface TypeAttributes {
  codec: BtfCodec | null;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  sectionName: string | null;
}

/** Set a handle's attributes (not its name, which never changes) from a spec. */
export function setSpec(m: SpecAttributes, spec: MapSpec): void {
  m.type = spec.type;
  m.keySize = spec.keySize;
  m.valueSize = spec.valueSize;
  m.maxEntries = spec.maxEntries;
  m.flags = spec.flags;
  m.perCpu = isPerCpuMapType(spec.type);
}

/** Set a handle's codec, BTF type ids (none without a codec) and section. */
export function setTypes(m: TypeAttributes, types: MapTypeInfo): void {
  m.codec = types.codec ?? null;
  m.btfKeyTypeId = m.codec ? types.btfKeyTypeId ?? 0 : 0;
  m.btfValueTypeId = m.codec ? types.btfValueTypeId ?? 0 : 0;
  m.sectionName = types.sectionName ?? null;
}
