export { relocate, Relocator, type RelocateOptions, type RelocateResult } from './relocate.js';
export {
  CorebpfError, SyscallError, PermissionError, NotSupportedError, VerifierError, RelocationError,
  ObjectFormatError, LibbpfError, WasmTrapError,
} from './errors.js';
export {
  parsePlan, serializePlan, planBytes, PLAN_FORMAT, PLAN_VERSION,
  type LoadPlan, type PlanMap, type PlanProgram, type PlanMapInit, type RelocationRecord, type RelocationKind,
} from './plan.js';
export { WorkerPool, type PoolOptions } from './worker/pool.js';
