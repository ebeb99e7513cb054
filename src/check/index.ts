// `corebpf check` / `corebpf merge` as a library (re-exported by src/index.ts): run the
// program × kernel matrix, merge shard reports, render them.
export { runCheck, type CheckOptions, type CheckProgress, type CheckRun } from './run.js';
export { runCheckVerify, type VerifyOptions, type VerifyProgress, type VerifyRun, type VerifiedKernel } from './verify.js';
export { mergeReports, MergeError, type MergeOptions } from './merge.js';
export {
  REPORT_FORMAT as CHECK_REPORT_FORMAT, REPORT_VERSION as CHECK_REPORT_VERSION,
  parseReport as parseCheckReport, serializeReport as serializeCheckReport, withoutTiming, programError as checkProgramError,
  type CheckReport, type CheckedObject, type CheckedKernel, type CheckedProgram, type ObjectResult, type ProgramVerdict,
  type FailedRelocation, type FailureCause, type Verdict, type Outcome, type Summary as CheckSummary, type ShardInfo, type SkippedKernel,
} from './report.js';
export {
  offlineVerdict, type OfflineVerdict, type VerifierCell, type VerifierProgramResult, type VerifierResult,
} from './verdict.js';
export { parseExpectations, readExpectations, ERR_CONVENTION, type Expectation } from './expect.js';
export { listKernels as listCheckKernels, parseShard, type KernelList } from './kernels.js';
export { renderJunit as renderCheckJunit } from './junit.js';
export { renderHtml as renderCheckHtml } from './html.js';
export { formatSummary as formatCheckSummary } from './text.js';
export { progressMode as checkProgressMode, progressReporter as checkProgressReporter, type ProgressMode, type ProgressReporter } from './progress.js';
// types that the signatures above use
export type { Endianness as CheckEndianness, ReportExpectations, DisabledProgram } from './report.js';
export type { ObjectAdjustment } from './expect.js';
export type { KernelInput } from './kernels.js';
