export { relocate, Relocator, type RelocateOptions, type RelocateResult } from './relocate.js';
export {
  CorebpfError, SyscallError, PermissionError, NotSupportedError, VerifierError, RelocationError,
  ObjectFormatError, LibbpfError, WasmTrapError,
} from './errors.js';
export {
  parsePlan, checkPlan, serializePlan, planBytes, PLAN_FORMAT, PLAN_VERSION,
  type LoadPlan, type PlanSources, type PlanMap, type PlanProgram, type PlanMapInit, type RelocationRecord, type RelocationKind,
} from './plan.js';
export { PLAN_LIMITS, type PlanExpectation } from './plan-validate.js';
export { maxInputSize, setMaxInputSize } from './inputs.js';
export { WorkerPool, type PoolOptions } from './worker/pool.js';
// host: objects, maps, programs (src/host)
export {
  BpfObject, type ObjectOptions, type OpenOptions, type LoadOptions, type GlobalVariable, type RecordBufferOptions,
} from './host/object.js';
export { BpfMap, BpfMap as Map, possibleCpus, isPerCpuMapType, type MapSpec, type UpdateFlags } from './host/map.js';
export { Program, type ProgramSpec, type TestRunOptions, type TestRunResult } from './host/program.js';
export { BtfCodec, BtfCodecError, type BtfValue, type DatasecVar } from './host/btf-codec.js';
export { replayPlan, type ReplayOptions, type ReplayResult, type PinRecord } from './host/replay.js';
export { type SourceLocation } from './host/verifier.js';
export * from './check/index.js';
