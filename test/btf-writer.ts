// A tiny BTF writer for synthetic "kernels" (tests of failed CO-RE relocations).

export class BtfWriter {
  #types: Buffer[] = [];
  #strs: string[] = [''];
  #strLen = 1;
  #offs = new Map<string, number>([['', 0]]);
  str(s: string): number {
    let o = this.#offs.get(s);
    if (o === undefined) {
      o = this.#strLen;
      this.#offs.set(s, o);
      this.#strs.push(s);
      this.#strLen += Buffer.byteLength(s) + 1;
    }
    return o;
  }
  #add(nameOff: number, kind: number, vlen: number, sizeOrType: number, extra: number[], kflag = false): number {
    const b = Buffer.alloc(12 + 4 * extra.length);
    b.writeUInt32LE(nameOff, 0); b.writeUInt32LE(((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0, 4); b.writeUInt32LE(sizeOrType, 8);
    extra.forEach((v, i) => b.writeUInt32LE(v >>> 0, 12 + 4 * i));
    this.#types.push(b);
    return this.#types.length;
  }
  int(name: string, size: number, signed: boolean): number {
    return this.#add(this.str(name), 1, 0, size, [((signed ? 1 : 0) << 24) | (size * 8)]);
  }
  /** an INT with BTF_INT_ENCODING bits (1 signed, 2 char, 4 bool), bit offset and bit count */
  intEnc(name: string, size: number, encoding: number, bits = size * 8, bitOffset = 0): number {
    return this.#add(this.str(name), 1, 0, size, [(encoding << 24) | (bitOffset << 16) | bits]);
  }
  typedef(name: string, type: number): number {
    return this.#add(this.str(name), 8, 0, type, []);
  }
  const(type: number): number {
    return this.#add(0, 10, 0, type, []);
  }
  enum(name: string, size: number, signed: boolean, values: [string, number][]): number {
    return this.#add(this.str(name), 6, values.length, size, values.flatMap(([n, v]) => [this.str(n), v | 0]), signed);
  }
  enum64(name: string, size: number, signed: boolean, values: [string, bigint][]): number {
    return this.#add(this.str(name), 19, values.length, size,
      values.flatMap(([n, v]) => [this.str(n), Number(BigInt.asUintN(32, v)), Number(BigInt.asUintN(32, v >> 32n))]), signed);
  }
  array(elem: number, index: number, n: number): number {
    return this.#add(0, 3, 0, 0, [elem, index, n]);
  }
  struct(name: string, size: number, members: [string, number, number][]): number {
    return this.#add(this.str(name), 4, members.length, size, members.flatMap(([n, t, bit]) => [this.str(n), t, bit]));
  }
  bytes(): Uint8Array {
    const types = Buffer.concat(this.#types);
    const strs = Buffer.concat(this.#strs.map((s) => Buffer.from(s + '\0')));
    const h = Buffer.alloc(24);
    h.writeUInt16LE(0xeb9f, 0); h[2] = 1; h[3] = 0;
    h.writeUInt32LE(24, 4); h.writeUInt32LE(0, 8); h.writeUInt32LE(types.length, 12);
    h.writeUInt32LE(types.length, 16); h.writeUInt32LE(strs.length, 20);
    return new Uint8Array(Buffer.concat([h, types, strs]));
  }
}

/** A synthetic "kernel" lacking task_struct.real_parent. */
export function kernelWithoutRealParent(): Uint8Array {
  const w = new BtfWriter();
  const int = w.int('int', 4, true);
  const long = w.int('long', 8, true);
  const ulong = w.int('long unsigned int', 8, false);
  const args = w.array(ulong, int, 6);
  w.struct('task_struct', 2048, [['pid', int, 8 * 1264], ['tgid', int, 8 * 1268]]); // no real_parent
  w.struct('trace_event_raw_sys_enter', 64, [['id', long, 64], ['args', args, 128]]);
  w.struct('trace_event_raw_sys_exit', 24, [['id', long, 64], ['ret', long, 128]]);
  return w.bytes();
}
