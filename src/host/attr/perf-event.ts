// perf_event_attr and perf_event_open.
import * as U from '../generated/uapi.js';
import { OwnedFd } from '../fd.js';
import { getSyscalls } from '../syscall.js';
import { cString, StructBuf, type FieldsOf } from './struct-buf.js';

export type PerfEventAttrLayout = typeof U.layouts.perf_event_attr;
/** The single-bit flags of perf_event_attr (disabled, inherit, exclude_kernel, watermark, ...). */
export type PerfEventFlag = {
  [K in FieldsOf<PerfEventAttrLayout>]: PerfEventAttrLayout['fields'][K] extends { bitSize: 1 } ? K : never
}[FieldsOf<PerfEventAttrLayout>];

export interface PerfEventOptions {
  type: number;
  config?: bigint | number;
  samplePeriod?: bigint | number;
  sampleFreq?: bigint | number;
  sampleType?: bigint | number;
  readFormat?: bigint | number;
  wakeupEvents?: number;
  wakeupWatermark?: number;
  bpType?: number;
  config1?: bigint | number;
  config2?: bigint | number;
  config3?: bigint | number;
  /** kprobe_func / uprobe_path (kept alive with the buffer). */
  probePath?: string;
  probeOffset?: bigint | number;
  flags?: Partial<Record<PerfEventFlag, boolean>>;
  precise_ip?: number;
}

/** A perf_event_attr with `size` set to this UAPI's sizeof(struct perf_event_attr). */
export function perfEventAttr(o: PerfEventOptions): StructBuf<PerfEventAttrLayout> {
  const a = new StructBuf(U.layouts.perf_event_attr, 'perf_event_attr')
    .set('type', o.type).set('size', U.layouts.perf_event_attr.size).set('config', o.config ?? 0)
    .set('sample_type', o.sampleType ?? 0).set('read_format', o.readFormat ?? 0)
    .set('bp_type', o.bpType ?? 0).set('config2', o.config2 ?? 0).set('config3', o.config3 ?? 0);
  if (o.sampleFreq !== undefined) a.set('sample_freq', o.sampleFreq).set('freq', true);
  else a.set('sample_period', o.samplePeriod ?? 0);
  if (o.wakeupWatermark !== undefined) a.set('wakeup_watermark', o.wakeupWatermark).set('watermark', true);
  else a.set('wakeup_events', o.wakeupEvents ?? 0);
  if (o.probePath !== undefined) a.setPtr('uprobe_path', cString(o.probePath)).set('probe_offset', o.probeOffset ?? 0);
  else a.set('config1', o.config1 ?? 0);
  for (const [k, v] of Object.entries(o.flags ?? {})) a.set(k as PerfEventFlag, Boolean(v));
  if (o.precise_ip) a.set('precise_ip', o.precise_ip);
  return a;
}

/** perf_event_open with a perf_event_attr built by perfEventAttr(). */
export function perfEventOpen(attr: StructBuf<PerfEventAttrLayout>, pid: number, cpu: number, groupFd = -1, flags: number = U.PERF_FLAG_FD_CLOEXEC): OwnedFd {
  return new OwnedFd(getSyscalls().perfEventOpen(attr.buf, pid, cpu, groupFd, flags), 'perf_event');
}
