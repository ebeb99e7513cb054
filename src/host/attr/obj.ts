// BPF_OBJ_* commands (pin, get, info by fd) and the id commands (fd by id, next id), with
// the info structs read into plain values.
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import type { Bytes } from '../syscall.js';
import { bpfAttr, run, type BpfAttrLayout } from './bpf-attr.js';
import { cString, StructBuf } from './struct-buf.js';

/** BPF_OBJ_PIN (fd + path) and BPF_OBJ_GET (path; fd 0). */
export function objAttr(path: string, bpfFd = 0, fileFlags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().setPtr('pathname', cString(path)).set('bpf_fd', bpfFd).set('file_flags', fileFlags);
}

export function objGetInfoByFdAttr(fd: number, info: Bytes): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('info.bpf_fd', fd).set('info.info_len', info.byteLength).setPtr('info.info', info);
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID (the id fields share one union). */
export function getFdByIdAttr(id: number, openFlags = 0): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('start_id', id).set('open_flags', openFlags);
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID. */
export function getNextIdAttr(startId: number): StructBuf<BpfAttrLayout> {
  return bpfAttr().set('start_id', startId);
}

export type InfoLayoutName = 'bpf_prog_info' | 'bpf_map_info' | 'bpf_link_info' | 'bpf_btf_info';

export function infoBuf<N extends InfoLayoutName>(name: N): StructBuf<(typeof U.layouts)[N]> {
  return new StructBuf(U.layouts[name], name);
}

/** `struct bpf_map_info` (BPF_OBJ_GET_INFO_BY_FD of a map). */
export interface MapInfo {
  type: number; id: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number;
  name: string; ifindex: number; btfId: number; btfKeyTypeId: number; btfValueTypeId: number;
  btfVmlinuxValueTypeId: number; mapExtra: bigint;
}

export function parseMapInfo(s: StructBuf<typeof U.layouts.bpf_map_info>): MapInfo {
  return {
    type: s.get('type'), id: s.get('id'), keySize: s.get('key_size'), valueSize: s.get('value_size'),
    maxEntries: s.get('max_entries'), mapFlags: s.get('map_flags'), name: s.getString('name'),
    ifindex: s.get('ifindex'), btfId: s.get('btf_id'), btfKeyTypeId: s.get('btf_key_type_id'),
    btfValueTypeId: s.get('btf_value_type_id'), btfVmlinuxValueTypeId: s.get('btf_vmlinux_value_type_id'),
    mapExtra: s.getBig('map_extra'),
  };
}

/** `struct bpf_prog_info` (BPF_OBJ_GET_INFO_BY_FD of a program). */
export interface ProgInfo {
  type: number; id: number; tag: string; name: string; jitedProgLen: number; xlatedProgLen: number;
  loadTime: bigint; createdByUid: number; nrMapIds: number; gplCompatible: boolean; btfId: number;
  runTimeNs: bigint; runCnt: bigint; verifiedInsns: number; attachBtfObjId: number; attachBtfId: number;
}

export function parseProgInfo(s: StructBuf<typeof U.layouts.bpf_prog_info>): ProgInfo {
  return {
    type: s.get('type'), id: s.get('id'), tag: hex(s.getBytes('tag')), name: s.getString('name'),
    jitedProgLen: s.get('jited_prog_len'), xlatedProgLen: s.get('xlated_prog_len'), loadTime: s.getBig('load_time'),
    createdByUid: s.get('created_by_uid'), nrMapIds: s.get('nr_map_ids'), gplCompatible: s.get('gpl_compatible') === 1,
    btfId: s.get('btf_id'), runTimeNs: s.getBig('run_time_ns'), runCnt: s.getBig('run_cnt'),
    verifiedInsns: s.get('verified_insns'), attachBtfObjId: s.get('attach_btf_obj_id'), attachBtfId: s.get('attach_btf_id'),
  };
}

export interface LinkInfo { type: number; id: number; progId: number }

export function parseLinkInfo(s: StructBuf<typeof U.layouts.bpf_link_info>): LinkInfo {
  return { type: s.get('type'), id: s.get('id'), progId: s.get('prog_id') };
}

function hex(b: Bytes): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function objPin(fd: number, path: string, fileFlags = 0): void {
  run(U.BPF_OBJ_PIN, objAttr(path, fd, fileFlags));
}

export function objGet(path: string, fileFlags = 0, kind = 'pinned'): OwnedFd {
  return new OwnedFd(run(U.BPF_OBJ_GET, objAttr(path, 0, fileFlags)), kind);
}

/** BPF_OBJ_GET_INFO_BY_FD into a fresh info struct of the named layout. */
export function objGetInfo<N extends InfoLayoutName>(fd: number, name: N): StructBuf<(typeof U.layouts)[N]> {
  const info = infoBuf(name);
  run(U.BPF_OBJ_GET_INFO_BY_FD, objGetInfoByFdAttr(fd, info.buf));
  return info;
}

export function mapInfo(fd: number): MapInfo {
  return parseMapInfo(objGetInfo(fd, 'bpf_map_info'));
}

export function progInfo(fd: number): ProgInfo {
  return parseProgInfo(objGetInfo(fd, 'bpf_prog_info'));
}

export function linkInfo(fd: number): LinkInfo {
  return parseLinkInfo(objGetInfo(fd, 'bpf_link_info'));
}
