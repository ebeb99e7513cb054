// Ring buffer consumption: corebpf's RingBufferReader vs libbpf's ring_buffer__poll in C,
// reading the SAME BPF_MAP_TYPE_RINGBUF map (64 MiB) of build/bench/host_bench.bpf.o.
// The producer is the kernel: the socket filter `emit` run with BPF_PROG_TEST_RUN writes
// 64 records of 16 bytes (24 in the ring) per run; build/bench/host-native runs it.
//
//   drain      the ring is filled with N records first (untimed), then the consumer reads
//              all N: pure consumer cost per record, no producer running
//   live       a producer thread runs `emit` in a loop as fast as it can while the consumer
//              reads for a fixed window; records consumed per second (a full ring makes the
//              producer's writes fail: the consumer's speed bounds what it gets). The
//              producer thread is pinned to the last CPU, the consumer to CPU 0 (the C
//              consumer thread, or every thread of this Node process, with taskset)
//   live@1M    the same with the producer paced to 1M records/s: both should keep up; the
//              extra row compares CPU time per record (Node: the whole process, worker
//              threads included; C: the consuming thread)
// Consumers (each reads a u32 of every record, as the C callback does):
//   sync       reader.poll(4096) in a loop (reader.wait() when empty): records copied out of
//              the ring into Buffers, the synchronous path (drain() = poll(Infinity) cannot
//              be used on a big backlog: see bench/README-host.md)
//   async      for await (const rec of reader): the async iterator (queueSize 256)
//   native     ring_buffer__new + ring_buffer__poll(rb, 100), a callback that reads and counts
// Reported: records/s (median), ratio node / native; goal >= 0.5x.
import {
  EMIT_BATCH, NativeHost, cliOptions, interleave, isMain, loadBenchObject, median, publicApi, quantile,
  pinProcess, report, round, row, skipReason,
} from './host-lib.mjs';

const GOAL = { min: 0.5, text: '>=0.5x native' };
const POLL_BATCH = 4096;

/** read everything available now (producer stopped), discarding it */
function empty(reader) {
  let n = 0;
  for (let got; (got = reader.poll(POLL_BATCH).length); ) n += got;
  return n;
}

export async function run(ctx = {}) {
  const why = skipReason();
  if (why) {
    process.stderr.write(`  host-ringbuf: skipped: ${why}\n`);
    return [];
  }
  const quick = ctx.quick ?? (ctx.reps !== undefined && ctx.reps <= 10);
  const rounds = ctx.hostRounds ?? (quick ? 3 : 7);
  const runs = quick ? 4096 : 16384; // drain: runs of emit per fill
  const N = runs * EMIT_BATCH; // 1M records (24 MiB of the 64 MiB ring)
  const windowMs = quick ? 200 : 500;
  const api = await publicApi(ctx);
  const obj = await loadBenchObject(api);
  const native = new NativeHost(obj);
  const open = () => obj.ringbuf('rb');
  const rows = [];
  let sink = 0; // what the consumers read (kept so the reads are real)
  let pinned = true; // whether taskset could pin this process in the live windows
  try {
    // ---- drain: N records waiting, read them all
    const fill = async () => {
      await native.cmd('skip');
      await native.cmd(`fill ${runs}`);
    };
    const drain = {
      native: async () => {
        await fill();
        const [ns, count] = await native.cmd(`drain ${N}`);
        if (count !== N) throw new Error(`native drained ${count} of ${N} records`);
        return (N / ns) * 1e9;
      },
      sync: async () => {
        const rb = await open();
        await fill();
        const t0 = process.hrtime.bigint();
        let n = 0;
        while (n < N) {
          const recs = rb.poll(POLL_BATCH);
          if (!recs.length) throw new Error(`sync drained ${n} of ${N} records`);
          for (const r of recs) sink += r.readUInt32LE(8);
          n += recs.length;
        }
        const ns = Number(process.hrtime.bigint() - t0);
        rb.close();
        return (N / ns) * 1e9;
      },
      consume: async () => {
        const rb = await open();
        await fill();
        const t0 = process.hrtime.bigint();
        let n = 0;
        while (n < N) {
          const got = rb.consume((r) => { sink += r[8] | (r[9] << 8); });
          if (!got) throw new Error(`consume drained ${n} of ${N} records`);
          n += got;
        }
        const ns = Number(process.hrtime.bigint() - t0);
        rb.close();
        return (N / ns) * 1e9;
      },
      async: async () => {
        const rb = await open();
        await fill();
        const t0 = process.hrtime.bigint();
        let n = 0;
        for await (const r of rb) {
          sink += r.readUInt32LE(8);
          if (++n === N) break;
        }
        const ns = Number(process.hrtime.bigint() - t0);
        rb.close();
        return (N / ns) * 1e9;
      },
    };
    // ---- live: the producer runs while the consumer reads for windowMs
    const touch = (r) => { sink += r[8] | (r[9] << 8); };
    /** a synchronous reader in the window: `read(rb)` takes what is there, returns how many */
    const liveSync = (rate, read) => async () => {
      const rb = await open();
      empty(rb);
      pinned &&= pinProcess(0);
      await native.cmd(`produce-start ${rate}`);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const end = t0 + BigInt(windowMs) * 1000000n;
      let n = 0;
      while (process.hrtime.bigint() < end) {
        const got = read(rb);
        if (!got) {
          await rb.wait(Math.max(1, Number(end - process.hrtime.bigint()) / 1e6));
          continue;
        }
        n += got;
      }
      const ns = Number(process.hrtime.bigint() - t0);
      const c = process.cpuUsage(c0);
      const [, offered] = await native.cmd('produce-stop');
      pinProcess(null);
      rb.close();
      return { rate: (n / ns) * 1e9, offered: (offered / ns) * 1e9, cpuPerRec: ((c.user + c.system) * 1000) / n };
    };
    const live = (rate) => ({
      native: async () => {
        const [ns, count, offered, cpu] = await native.cmd(`live ${windowMs} ${rate}`);
        return { rate: (count / ns) * 1e9, offered: (offered / ns) * 1e9, cpuPerRec: cpu / count };
      },
      sync: liveSync(rate, (rb) => {
        const recs = rb.poll(POLL_BATCH);
        for (const r of recs) sink += r.readUInt32LE(8);
        return recs.length;
      }),
      consume: liveSync(rate, (rb) => rb.consume(touch, POLL_BATCH)),
      async: async () => {
        const rb = await open();
        empty(rb);
        pinned &&= pinProcess(0);
        await native.cmd(`produce-start ${rate}`);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const end = t0 + windowMs;
        let n = 0;
        // a timer ends the iteration if the producer stalls (the iterator waits for records)
        const timer = setTimeout(() => rb.close(), windowMs + 50);
        for await (const r of rb) {
          sink += r.readUInt32LE(8);
          if ((++n & 63) === 0 && performance.now() >= end) break;
        }
        const ns = (performance.now() - t0) * 1e6;
        clearTimeout(timer);
        const c = process.cpuUsage(c0);
        const [, offered] = await native.cmd('produce-stop');
        pinProcess(null);
        rb.close();
        return { rate: (n / ns) * 1e9, offered: (offered / ns) * 1e9, cpuPerRec: ((c.user + c.system) * 1000) / n };
      },
    });

    const extra = (xs) => ({ p10: round(quantile(xs, 0.1), 0), samples: xs.length });
    // warm-up: JIT, page faults of the ring's pages on both sides
    for (const f of Object.values(drain)) await f();
    const d = await interleave(drain, rounds);
    for (const k of ['sync', 'consume', 'async']) {
      rows.push(row(`host-ringbuf/drain/${k}`, median(d[k]), median(d.native), 'records/s', GOAL, { ...extra(d[k]), records: N }));
    }
    for (const [label, rate] of [['live', 0], ['live@1M', 1000000]]) {
      const sides = live(rate);
      // whatever happens in a Node window, the process is unpinned after it
      for (const k of ['sync', 'consume', 'async']) {
        const f = sides[k];
        sides[k] = async () => {
          try {
            return await f();
          } finally {
            pinProcess(null);
          }
        };
      }
      for (const f of Object.values(sides)) await f();
      const s = await interleave(sides, rounds);
      const nat = s.native.map((x) => x.rate);
      for (const k of ['sync', 'consume', 'async']) {
        const v = s[k].map((x) => x.rate);
        rows.push(row(`host-ringbuf/${label}/${k}`, median(v), median(nat), 'records/s', GOAL, {
          ...extra(v), windowMs, pinned,
          offeredPerS: { node: round(median(s[k].map((x) => x.offered)), 0), native: round(median(s.native.map((x) => x.offered)), 0) },
        }));
        if (rate) {
          rows.push(row(`host-ringbuf/${label}/${k}/cpu`, median(s[k].map((x) => x.cpuPerRec)), median(s.native.map((x) => x.cpuPerRec)),
            'cpu ns/record', null));
        }
      }
    }
  } finally {
    await native.close();
    obj.close();
  }
  return rows;
}

export default {
  id: 'host-ringbuf',
  title: 'ring buffer records/s: RingBufferReader vs libbpf ring_buffer__poll',
  perTarget: false,
  variants: [], // not a per-target sample case: bench/run.mjs calls rows(ctx) once
  goal: GOAL,
  rows: run,
};

if (isMain(import.meta.url)) {
  const o = cliOptions();
  report(await run({ quick: o.quick, hostRounds: o.rounds }), o);
}
