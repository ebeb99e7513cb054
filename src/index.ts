export { relocate, Relocator, type RelocateOptions, type RelocateResult, type RelocatorOptions } from './relocate.js';
export { btfDumpC, readBtf, type BtfDumpOptions } from './btf-dump.js';
export { btfMin, type BtfMinOptions } from './btf-min.js';
export {
  adjustmentsFromFlags, mergeAdjustments, type Adjustments, type ProgramAdjustment, type MapAdjustment, type InnerMapAdjustment,
} from './adjust.js';
export { type ObjectSpec, type ObjectSpecProgram, type ObjectSpecMap } from './object-spec.js';
export {
  CorebpfError, SyscallError, PermissionError, NotSupportedError, VerifierError, RelocationError,
  ObjectFormatError, LibbpfError, WasmTrapError, WasmProtocolError,
} from './errors.js';
export {
  parsePlan, checkPlan, serializePlan, planBytes, PLAN_FORMAT, PLAN_VERSION,
  type LoadPlan, type PlanSources, type PlanMap, type PlanProgram, type PlanMapInit, type RelocationRecord, type RelocationKind,
} from './plan.js';
export { PLAN_LIMITS, type PlanExpectation } from './plan-validate.js';
export { maxInputSize, setMaxInputSize } from './inputs.js';
export { CacheDirError, DEFAULT_CACHE_MAX_BYTES, defaultCacheDir } from './disk-cache.js';
export { WorkerPool, type PoolOptions } from './worker/pool.js';
// host: objects, maps, programs (src/host)
export {
  BpfObject, type ObjectOptions, type OpenOptions, type LoadOptions, type GlobalVariable, type RecordBufferOptions,
} from './host/object.js';
export { BpfMap, BpfMap as Map, possibleCpus, isPerCpuMapType, type MapSpec, type UpdateFlags, type MapInput } from './host/map.js';
export { Program, type ProgramSpec, type TestRunOptions, type TestRunResult } from './host/program.js';
export { RingBufferReader } from './host/ringbuf.js';
export { PerfBufferReader, type PerfEvent, type PerfBufferOptions } from './host/perfbuf.js';
export { BtfCodec, BtfCodecError, type BtfValue, type DatasecVar } from './host/btf-codec.js';
export { replayPlan, type ReplayOptions, type ReplayResult, type PinRecord } from './host/replay.js';
export { type SourceLocation } from './host/verifier.js';
export { kernelFeatures, type FeatureProfile } from './host/features/index.js';
export {
  kernelFeaturesFromBtf, kernelOffersFromBtf, KERNEL_FEATURE_RULES, type KernelFeatureProfile, type KernelOffers, type FeatureBasis,
} from './btf/kernel-features.js';
export { parseBtf, Btf } from './btf/reader.js';
export { unmetNeeds, type UnmetNeed } from './analysis/needs.js';
export { ctxAccessRefusals, ctxRegisters, ctxRulesFor, judgeCtxSlot, type CtxProgram, type CtxRefusal, type CtxRules, type CtxTarget } from './analysis/ctx-access.js';
export { setMemlockLimit, type MemlockDecision } from './host/memlock.js';
export * from './check/index.js';
// the reachability analysis of poisoned instructions (pure; relocate and check use it)
export { analyzeReach, type ReachInput, type ReachResult, type Poison } from './analysis/reach.js';
export { guardVerdicts, type GuardVerdict, type ReachPath } from './analysis/guards.js';
// types that the signatures above use, exported so that callers (and the API reference) can name them
export type { LogLevel, RelocateStats, RelocateOutcome } from './worker/service.js';
export type { PlanStructOps, PlanInfoBlob, PlanMapRef } from './plan.js';
export type { ObjectSpecInnerMap } from './object-spec.js';
export type { AdjustmentFlags } from './adjust.js';
export type { BtfEndianness, BtfParseOptions } from './btf/reader.js';
export type {
  BtfType, BtfHeader, BtfVoid, BtfInt, BtfPtr, BtfArray, BtfMember, BtfStruct, BtfUnion, BtfEnumValue, BtfEnum, BtfEnum64,
  BtfFwd, BtfTypedef, BtfVolatile, BtfConst, BtfRestrict, BtfTypeTag, BtfFuncLinkage, BtfFunc, BtfParam, BtfFuncProto,
  BtfVarLinkage, BtfVar, BtfVarSecinfo, BtfDatasec, BtfFloat, BtfDeclTag,
} from './btf/types.js';
export type { BtfKind, BtfKindName } from './btf/kinds.js';
export type { MapInfo, ProgInfo, MapCreateOptions, PerfEventFlag } from './host/attr.js';
export type { Link, LinkKind, LinkDetails } from './host/link.js';
export type { AttachOptions, NetDevice } from './host/link/options.js';
export type { KprobeMultiOptions } from './host/link/kprobe-multi.js';
export type { UprobeMultiOptions } from './host/link/uprobe-multi.js';
export type { UsdtOptions } from './host/usdt/attach.js';
export type { OwnedFd } from './host/fd.js';
