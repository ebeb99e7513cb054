// An opened, not yet loaded object as libbpf sees it after bpf_object__open(): its
// programs and maps with their attributes (before any adjustment), the object's BTF and
// the initial images of its global-variable maps. Plain data, written by wasm/adjust.c.
import type { Adjustments, InnerMapAdjustment } from './adjust.js';

/** A program of an opened object. */
export interface ObjectSpecProgram {
  name: string;
  /** ELF section, e.g. "tp_btf/sched_switch" */
  section: string;
  /** enum bpf_prog_type, as libbpf guessed it from the section */
  type: number;
  expectedAttachType: number;
  autoload: boolean;
  logLevel: number;
  insnCount: number;
}

/** The attributes of a map-in-map's inner map template. */
export interface ObjectSpecInnerMap {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** A map of an opened object. */
export interface ObjectSpecMap extends ObjectSpecInnerMap {
  name: string;
  numaNode: number;
  /** decimal string (u64) */
  mapExtra: string;
  /** libbpf's own maps for .data/.rodata/.bss/.kconfig */
  internal: boolean;
  autocreate: boolean;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** where libbpf would pin it (LIBBPF_PIN_BY_NAME), or null */
  pinPath: string | null;
  /** the inner-map template of a map-in-map with a BTF-defined inner map */
  innerMap: ObjectSpecInnerMap | null;
  /** internal maps: the initial image, base64 */
  initial: string | null;
}

/** An opened object as plain data: its programs and maps as libbpf's open phase sees them. */
export interface ObjectSpec {
  object: string;
  byteOrder: 'little' | 'big';
  /** the object's BTF (base64), in its byte order; null without BTF */
  btf: string | null;
  programs: ObjectSpecProgram[];
  maps: ObjectSpecMap[];
}

/** The part of a section name after the first '/': the attach target libbpf reads from it
 *  ("tp_btf/sched_switch" -> "sched_switch"), or null. */
export function sectionTarget(section: string): string | null {
  const i = section.indexOf('/');
  return i >= 0 && i < section.length - 1 ? section.slice(i + 1) : null;
}

/** A program's attributes once `adj` is applied (what libbpf will load). */
export function effectiveProgram(p: ObjectSpecProgram, adj: Adjustments | undefined) {
  const a = adj?.programs?.[p.name] ?? {};
  return {
    name: p.name, section: p.section,
    type: a.type ?? p.type,
    expectedAttachType: a.expectedAttachType ?? p.expectedAttachType,
    autoload: a.autoload ?? p.autoload,
    logLevel: a.logLevel ?? p.logLevel,
    attachTarget: a.attachTarget ?? sectionTarget(p.section),
  };
}

/** A map's attributes once `adj` is applied. */
export function effectiveMap(m: ObjectSpecMap, adj: Adjustments | undefined) {
  const a = adj?.maps?.[m.name] ?? {};
  const inner = (i: ObjectSpecInnerMap | null, x: InnerMapAdjustment | undefined): ObjectSpecInnerMap | null =>
    i && { type: x?.type ?? i.type, keySize: x?.keySize ?? i.keySize, valueSize: x?.valueSize ?? i.valueSize, maxEntries: x?.maxEntries ?? i.maxEntries, flags: x?.flags ?? i.flags };
  return {
    name: m.name, internal: m.internal,
    type: a.type ?? m.type, keySize: a.keySize ?? m.keySize, valueSize: a.valueSize ?? m.valueSize,
    maxEntries: a.maxEntries ?? m.maxEntries, flags: a.flags ?? m.flags, numaNode: a.numaNode ?? m.numaNode,
    mapExtra: BigInt(a.mapExtra ?? m.mapExtra), autocreate: a.autocreate ?? m.autocreate,
    pinPath: a.pinPath !== undefined ? a.pinPath : m.pinPath,
    innerMap: inner(m.innerMap, a.innerMap),
  };
}
