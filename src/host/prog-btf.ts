// The BTF of a program already loaded in the kernel, read as libbpf's
// libbpf_find_prog_btf_id() reads it (bpf_prog_info.btf_id, BPF_BTF_GET_FD_BY_ID, the BTF
// object's info with its bytes): what the worker needs to resolve a freplace program's
// target function, which it cannot ask the kernel for itself.
import { CorebpfError } from '../errors.js';
import * as A from './attr.js';
import { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { getSyscalls } from './syscall.js';

/** The raw BTF (header, types, strings) of the loaded program `progFd`. */
export function loadedProgramBtf(progFd: number, what: string): Uint8Array {
  const info = A.progInfo(progFd);
  if (!info.btfId) {
    throw new CorebpfError(`${what} (program '${info.name}', id ${info.id}) has no BTF: a freplace or fentry program can only ` +
      'extend a program loaded with BTF (compile it with -g; the kernel needs its func_info to find the function)', { program: info.name });
  }
  const btf = new OwnedFd(getSyscalls().bpf(U.BPF_BTF_GET_FD_BY_ID, A.getFdByIdAttr(info.btfId).buf), 'btf');
  try {
    const sized = A.infoBuf('bpf_btf_info');
    getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(btf.fd, sized.buf).buf);
    const data = A.bytes(sized.get('btf_size'));
    const full = A.infoBuf('bpf_btf_info');
    full.setPtr('btf', data).set('btf_size', data.byteLength);
    getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(btf.fd, full.buf).buf);
    return data;
  } finally {
    btf.close();
  }
}
