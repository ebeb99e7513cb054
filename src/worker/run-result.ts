// A relocation's result (kind run of the result protocol, src/worker/result.ts) between the
// wasm and the caller: what the worker adds to its parts (guards and needs in the report,
// Linux errnos in the log), and the caller's decoding of it into a RelocateOutcome.
import { ERRNO } from '../host/generated/uapi.js';
import { annotateGuards } from '../analysis/guards.js';
import type { CtxTarget } from '../analysis/ctx-access.js';
import { unmetNeeds, type UnmetNeed } from '../analysis/needs.js';
import type { KernelOffers } from '../btf/kernel-features.js';
import type { LoadPlan, RelocationRecord } from '../plan.js';
import type { ReportMode } from './generated/result-protocol.js';
import { decodeResult, parsePart } from './result.js';

/** Counts of a relocation in the worker. */
export interface RelocateStats {
  syscalls: number;
  relocations: number;
  failedRelocations: number;
  /** whether the parsed target BTF came from this worker's cache */
  targetCached: boolean;
}

/** What a worker sends back: a result of the result protocol (src/worker/result.ts: a
 * header, then report, plan and log as JSON texts; moved, not copied), parsed by the caller —
 * cheaper than the worker parsing it and the caller receiving a structured clone. */
export interface RelocateWire {
  result: Uint8Array;
  targetCached: boolean;
  /** the sha256 of the target BTF, when the worker read it from a file (btfFile) */
  btfSha256?: string;
}

/** What a worker returns from a relocation. */
export interface RelocateOutcome {
  /** the load plan (null when the request was reportOnly) */
  plan: LoadPlan;
  relocations: RelocationRecord[];
  stats: RelocateStats;
  log: string;
  /** with kernelOffers: what the plan needs that the kernel lacks (empty: nothing) */
  unmet?: UnmetNeed[];
  /** with profileTarget: libbpf's features the target kernel lacks */
  missingFeatures?: string[];
  /** reportMode 'failed': the programs with a relocation record, in the order of their first
   *  (`relocations` holds only the failed records; stats.relocations counts every one) */
  programs?: string[];
}

/** the report part of the glue's result (wasm/result-protocol.json), with what the worker adds */
export interface GlueReport {
  error: { code: string; errno: string; message: string } | null;
  stats: { syscalls: number; relocations: number; failedRelocations: number };
  relocations: RelocationRecord[];
  /** reportMode 'failed' (the glue writes both) */
  reportMode?: ReportMode;
  programs?: string[];
  unmet?: UnmetNeed[];
  missingFeatures?: string[];
}

export interface GlueResult extends GlueReport {
  plan: Omit<LoadPlan, 'relocations'> | null;
  log: string;
}

export function decodeOutcome(w: RelocateWire): RelocateOutcome {
  const r = decodeResult(w.result, 'run', 'the worker');
  const report = parsePart<GlueReport>(r.parts.report);
  const glued = parsePart<GlueResult['plan']>(r.parts.plan);
  const plan = glued ? { ...glued, relocations: report.relocations } as LoadPlan : null;
  return {
    plan: plan!, relocations: report.relocations, stats: { ...report.stats, targetCached: w.targetCached }, log: parsePart<string>(r.parts.log),
    ...(report.programs ? { programs: report.programs } : {}),
    ...(report.unmet ? { unmet: report.unmet } : {}),
    ...(report.missingFeatures ? { missingFeatures: report.missingFeatures } : {}),
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The log part (a JSON string) with its errno numbers written as Linux's. */
export function withLinuxErrnos(log: Uint8Array, nameOf: (wasmErrno: number) => string): Uint8Array {
  const text = JSON.parse(dec.decode(log)) as string;
  const fixed = linuxErrnos(text, nameOf);
  return fixed === text ? log : enc.encode(JSON.stringify(fixed));
}

const POISONED = enc.encode('"poisoned":true');

/** what the worker judges the target kernel by, for the report */
export interface ReportNeeds {
  /** what the kernel offers: the report lists what the plan needs beyond it (`unmet`) */
  offers?: KernelOffers;
  /** libbpf's features the kernel lacks (`missingFeatures`) */
  missing?: string[];
  ctx?: CtxTarget;
}

/**
 * The report part with what the worker judges added: every poisoned relocation judged (is its
 * instruction dead code in the plan's programs? src/analysis), and with `needs`,
 * `"missingFeatures"` and `"unmet":[...]` (what the plan needs that the kernel does not
 * offer, src/analysis/needs.ts; in the report, so a reportOnly result keeps them). The
 * report and the plan are each parsed at most once, and only when needed: a byte search of
 * the report finds poisoned relocations, so the common case costs no parse.
 */
export function judgeReport(report: Uint8Array, planPart: Uint8Array, needs: ReportNeeds = {}): Uint8Array {
  const poisoned = Buffer.from(report.buffer, report.byteOffset, report.byteLength).indexOf(POISONED) >= 0;
  if (!poisoned && !needs.offers && !needs.missing) return report;
  const plan = poisoned || needs.offers ? JSON.parse(dec.decode(planPart)) as GlueResult['plan'] : null;
  let parsed: GlueReport | undefined;
  let guarded = false;
  if (poisoned && plan) {
    parsed = JSON.parse(dec.decode(report)) as GlueReport;
    guard(plan, parsed.relocations);
    guarded = true;
  }
  let unmet: UnmetNeed[] | undefined;
  if (needs.offers && plan) {
    parsed ??= JSON.parse(dec.decode(report)) as GlueReport;
    unmet = unmetNeeds({ ...plan, relocations: parsed.relocations } as LoadPlan, needs.offers, needs.ctx);
  }
  if (guarded) {
    // written again whole: the guards changed relocation records
    if (needs.missing) parsed!.missingFeatures = needs.missing;
    if (unmet) parsed!.unmet = unmet;
    return enc.encode(JSON.stringify(parsed));
  }
  const extra = `${needs.missing ? `,"missingFeatures":${JSON.stringify(needs.missing)}` : ''}${unmet ? `,"unmet":${JSON.stringify(unmet)}` : ''}`;
  if (!extra) return report;
  // the report part is a JSON object (wasm/result-protocol.json): the members go before its '}'
  const key = enc.encode(extra);
  const out = new Uint8Array(report.byteLength + key.byteLength);
  out.set(report.subarray(0, report.byteLength - 1));
  out.set(key, report.byteLength - 1);
  out[out.byteLength - 1] = 0x7d; // }
  return out;
}

/** judge the poisoned relocations of `relocations` (records of the report, changed in place) */
function guard(plan: NonNullable<GlueResult['plan']>, relocations: RelocationRecord[]): void {
  try {
    annotateGuards({ ...plan, relocations } as LoadPlan, relocations);
  } catch (e) {
    // the analysis only ever clears a failure: when it cannot finish (instructions it does
    // not understand), every poisoned relocation stays a failure that may be reached
    for (const rec of relocations) {
      if (rec.status !== 'failed' || !rec.poisoned) continue;
      rec.guarded = false;
      rec.reachNote = `not analyzed: ${(e as Error).message}`;
    }
  }
}

/** Linux's number for an errno name (the wasm's C library numbers them otherwise) */
export function linuxErrno(name: string): number | undefined {
  return (ERRNO as Record<string, number>)[name];
}

/** libbpf's messages in the wasm print the wasm C library's errno numbers (-71 for
 * ESRCH): write them as Linux's number and name, "-3 (ESRCH)". Only numbers where libbpf
 * puts an error code: after ": ", "err ", "error ", "= ", or inside "(...)". */
export function linuxErrnos(text: string, nameOf: (wasmErrno: number) => string): string {
  return text.replace(/(: |\berr(?:or)? |= |\()-(\d{1,3})(?=$|[\s).,;\n])/gm, (all, pre: string, n: string) => {
    const name = nameOf(Number(n));
    const linux = linuxErrno(name);
    if (linux === undefined) return all;
    return pre === '(' ? `(-${linux} ${name}` : `${pre}-${linux} (${name})`;
  });
}
