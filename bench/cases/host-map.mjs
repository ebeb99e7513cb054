// Map lookup/update through corebpf's Node host vs the same bpf() calls in a C loop.
//
// Both sides work on the same kernel maps: hmap (BPF_MAP_TYPE_HASH) and amap (ARRAY), u32 key
// -> u64 value, 65536 keys, created by corebpf from build/bench/host_bench.bpf.o. Per sample,
// N operations on keys i % 65536 (the hash map is filled first, so every lookup hits):
//   btf      BpfMap.get(i) / set(i, i): key and value through the BTF codec (number in,
//            bigint out), a value Buffer allocated per lookup
//   raw      BpfMap.getRaw(key) / setRaw(key, value): one key Buffer rewritten per op, the
//            value bytes returned as a new Buffer
//   ffi      floor: koffi calling syscall(SYS_bpf, cmd, attr, 32) (declared with fixed
//            arguments, as src/host/syscall.ts does) with one prebuilt attr,
//            the key rewritten in place — the FFI call alone, no BpfMap code (koffi is
//            imported here only to measure it; src/host/syscall.ts stays its only user)
//   native   build/bench/host-native: bpf_map_lookup_elem / bpf_map_update_elem of the
//            system libbpf in a loop (libbpf zeroes a 32-byte attr and calls syscall())
// Reported: ns per operation (median of the samples), ratio node / native; goal <= 1.5x.
// The `/cpu` rows: CPU time per operation of the same samples (Node: process.cpuUsage, the
// whole process; C: CLOCK_THREAD_CPUTIME_ID of the loop's thread), which a machine shared
// with other work disturbs far less than wall time (a process that was waiting, as the C
// side is between its commands, is scheduled ahead of one that kept running).
import { createRequire } from 'node:module';
import {
  NKEYS, NativeHost, ROOT, cliOptions, interleave, isMain, loadBenchObject, median, publicApi,
  quantile, report, round, row, skipReason,
} from './host-lib.mjs';

const GOAL = { max: 1.5, text: '<=1.5x native' };
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const SYS_bpf = { x64: 321, arm64: 280, riscv64: 280, ppc64: 361, s390x: 351, loong64: 280 }[process.arch];

/** koffi's syscall() exactly as src/host/syscall.ts declares it for bpf(2) (fixed arguments, not variadic) */
function ffiFloor() {
  const koffi = createRequire(`${ROOT}package.json`)('koffi');
  const libc = koffi.load('libc.so.6');
  const syscall = libc.func('syscall', 'long', ['long', 'long', 'void *', 'long']);
  return (fd, cmd) => {
    const key = Buffer.alloc(8);
    const value = Buffer.alloc(8);
    const attr = Buffer.alloc(32); // offsetofend(union bpf_attr, flags), as libbpf passes
    attr.writeUInt32LE(fd, 0);
    attr.writeBigUInt64LE(koffi.address(key), 8);
    attr.writeBigUInt64LE(koffi.address(value), 16);
    return (n) => {
      for (let i = 0; i < n; i++) {
        key.writeUInt32LE(i % NKEYS, 0);
        if (cmd === BPF_MAP_UPDATE_ELEM) value.writeUInt32LE(i, 0); // u64 i: i < 2^32, the high half stays 0
        if (syscall(SYS_bpf, cmd, attr, 32) !== 0) throw new Error(`bpf(${cmd}) failed: errno ${koffi.errno()}`);
      }
    };
  };
}

function loops(map) {
  const key = Buffer.alloc(4);
  const value = Buffer.alloc(8);
  return {
    'btf/lookup': (n) => {
      for (let i = 0; i < n; i++) if (map.get(i % NKEYS) === undefined) throw new Error(`${map.name}: key ${i % NKEYS} missing`);
    },
    'btf/update': (n) => {
      for (let i = 0; i < n; i++) map.set(i % NKEYS, i);
    },
    'raw/lookup': (n) => {
      for (let i = 0; i < n; i++) {
        key.writeUInt32LE(i % NKEYS, 0);
        if (map.getRaw(key) === undefined) throw new Error(`${map.name}: key ${i % NKEYS} missing`);
      }
    },
    'raw/update': (n) => {
      for (let i = 0; i < n; i++) {
        key.writeUInt32LE(i % NKEYS, 0);
        value.writeUInt32LE(i, 0); // the u64 value i (i < 2^32: the high half stays 0), without a BigInt per op
        map.setRaw(key, value);
      }
    },
  };
}

export async function run(ctx = {}) {
  const why = skipReason();
  if (why) {
    process.stderr.write(`  host-map: skipped: ${why}\n`);
    return [];
  }
  const quick = ctx.quick ?? (ctx.reps !== undefined && ctx.reps <= 10);
  const rounds = ctx.hostRounds ?? (quick ? 3 : 9);
  const n = quick ? 10000 : 40000;
  const api = await publicApi(ctx);
  const obj = await loadBenchObject(api);
  const native = new NativeHost(obj);
  const floor = ffiFloor();
  const rows = [];
  try {
    const hmap = obj.map('hmap');
    // every lookup hits: fill the hash map first
    await native.cmd(`update ${native.fd.hmap} ${NKEYS} ${NKEYS}`);
    for (const [label, map, fd] of [['hash', hmap, native.fd.hmap], ['array', obj.map('amap'), native.fd.amap]]) {
      const js = loops(map);
      for (const op of ['lookup', 'update']) {
        const cmd = op === 'lookup' ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_UPDATE_ELEM;
        const ffi = floor(map.fd, cmd);
        const cpu = { native: [], btf: [], raw: [], ffi: [] };
        const timeJs = (fn, k) => async () => {
          const c0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          fn(n);
          const t = Number(process.hrtime.bigint() - t0) / n;
          const c = process.cpuUsage(c0);
          cpu[k].push(((c.user + c.system) * 1000) / n);
          return t;
        };
        const sides = {
          native: async () => {
            const [ns, cpuNs] = await native.cmd(`${op} ${fd} ${n} ${NKEYS}`);
            cpu.native.push(cpuNs / n);
            return ns / n;
          },
          btf: timeJs(js[`btf/${op}`], 'btf'),
          raw: timeJs(js[`raw/${op}`], 'raw'),
          ffi: timeJs(ffi, 'ffi'),
        };
        for (const f of Object.values(sides)) await f(); // warm-up (JIT, caches)
        for (const k of Object.keys(cpu)) cpu[k].length = 0;
        const s = await interleave(sides, rounds);
        const nat = median(s.native);
        const spread = (k) => ({ p90: round(quantile(s[k], 0.9), 1), samples: s[k].length, opsPerSample: n });
        rows.push(row(`host-map/${label}/${op}/btf`, median(s.btf), nat, 'ns/op', GOAL, spread('btf')));
        rows.push(row(`host-map/${label}/${op}/raw`, median(s.raw), nat, 'ns/op', GOAL, spread('raw')));
        rows.push(row(`host-map/${label}/${op}/ffi-floor`, median(s.ffi), nat, 'ns/op', null, spread('ffi')));
        const natCpu = median(cpu.native);
        rows.push(row(`host-map/${label}/${op}/btf/cpu`, median(cpu.btf), natCpu, 'ns/op', GOAL, { samples: cpu.btf.length }));
        rows.push(row(`host-map/${label}/${op}/raw/cpu`, median(cpu.raw), natCpu, 'ns/op', GOAL, { samples: cpu.raw.length }));
        rows.push(row(`host-map/${label}/${op}/ffi-floor/cpu`, median(cpu.ffi), natCpu, 'ns/op', null, { samples: cpu.ffi.length }));
      }
    }
  } finally {
    await native.close();
    obj.close();
  }
  return rows;
}

export default {
  id: 'host-map',
  title: 'map lookup/update: BpfMap (koffi) vs a C loop of the same bpf() calls',
  perTarget: false,
  variants: [], // not a per-target sample case: bench/run.mjs calls rows(ctx) once
  goal: GOAL,
  rows: run,
};

if (isMain(import.meta.url)) {
  const o = cliOptions();
  report(await run({ quick: o.quick, hostRounds: o.rounds }), o);
}
