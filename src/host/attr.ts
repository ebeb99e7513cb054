// bpf_attr (and other UAPI struct) buffers built from the GENERATED layouts only: no offset
// or size in this tree is written by hand. Each builder returns a `StructBuf` whose `buf` is
// passed to bpf(); the commands beside them run the builders through the current syscall
// layer and turn the results into plain values and owned fds. One module per command family
// (src/host/attr/), as libbpf's bpf.c groups them; this module is the one place callers
// import them from (`import * as A from './attr.js'`).
export { StructBuf, bytes, cString, cStringAt } from './attr/struct-buf.js';
export { bpfAttr, verifierSummary, type BpfAttrLayout, type BpfAttrField } from './attr/bpf-attr.js';
export * from './attr/map.js';
export { MapElemChannel, copyBytes } from './attr/map-elem.js';
export * from './attr/prog.js';
export * from './attr/link.js';
export * from './attr/btf.js';
export * from './attr/obj.js';
export * from './attr/perf-event.js';
