// V8's wasm tiering for the module the pool compiles: a budget high enough that one load
// stays in Liftoff, without leaving a V8 flag changed in the caller's process.
import { v8 } from '../lazy-modules.js';
import { Wasm, type WasmModule } from './wasm.js';

/**
 * V8 runs a wasm function first as Liftoff code and recompiles it with TurboFan in the
 * background once about `--wasm-tiering-budget` bytes of it have run (1.8 MB by default in
 * V8 11, Node 20). One load against a kernel's BTF crosses that in libbpf's BTF parsing,
 * whose TurboFan code comes too late to help that load: the compile costs CPU and ~14 MB of
 * peak memory and delays exit. With a higher budget a short-lived process stays in Liftoff;
 * a long-lived one tiers up a few relocations later (bench/README.md, Start-up and memory).
 * COREBPF_WASM_TIERING_BUDGET=N asks for another budget, 0 for V8's own.
 */
export const WASM_TIERING_BUDGET = 5_000_000;

/** V8's own default `--wasm-tiering-budget` (`node --v8-options`) by V8 major version, where
 *  it is known: 1,800,000 in V8 11 (Node 20), 13,000,000 in V8 12 and 13 (Node 22, 24).
 *  test/wasm-tiering.test.ts checks it against the running node's --v8-options. */
export function v8TieringDefault(v8Version: string = process.versions.v8): number | undefined {
  const major = Number(/^(\d+)\./.exec(v8Version)?.[1]);
  if (major === 11) return 1_800_000;
  if (major === 12 || major === 13) return 13_000_000;
  return undefined;
}

/**
 * The budget to compile the module with; undefined: leave V8's tiering alone — when Node was
 * given a tiering flag, when COREBPF_WASM_TIERING_BUDGET is 0 or not a number, when V8's
 * default is not known (it is put back after the compile, so it must be), and when V8's
 * default is already at least ours (V8 12 and later: 13 MB) and no budget was asked for.
 */
export function wasmTieringBudget(nodeOptions: string, budgetEnv: string | undefined, v8Default: number | undefined): number | undefined {
  if (/--(no-)?(wasm[-_]tiering[-_]budget|liftoff|wasm[-_]dynamic[-_]tiering|wasm[-_]tier[-_]up)\b/.test(nodeOptions)) return undefined;
  if (v8Default === undefined) return undefined;
  const asked = budgetEnv !== undefined && budgetEnv.trim() !== '';
  const budget = asked ? Number(budgetEnv) : WASM_TIERING_BUDGET;
  if (!Number.isSafeInteger(budget) || budget <= 0 || budget === v8Default) return undefined;
  return asked || budget > v8Default ? budget : undefined;
}

/**
 * Compile the module with the tiering budget, then put V8's default back. V8 gives a new
 * module its functions' budgets when it creates the module, so the flag is needed only
 * for the synchronous compile (lazy: ~3 ms for corebpf.wasm; functions compile on first
 * call). Left changed, the flag would change the hash of V8's non-default flags that cached
 * code is checked against (v8.cachedDataVersionTag()), and Node would compile its internal
 * modules from source instead of its code cache from then on: in every worker thread's
 * boot (measured: 45-60 ms of CPU became 90-120 ms for the relocation worker) and in the
 * caller's own later imports.
 */
export function compileWasm(bytes: Uint8Array): WasmModule {
  const v8Default = v8TieringDefault();
  // Node's own options only (execArgv also holds the text of `node -e SCRIPT`)
  const given = `${process.execArgv.filter((a) => a.startsWith('-')).join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  const budget = wasmTieringBudget(given, process.env.COREBPF_WASM_TIERING_BUDGET, v8Default);
  if (budget === undefined) return new Wasm.Module(bytes);
  v8().setFlagsFromString(`--wasm-tiering-budget=${budget}`);
  try {
    return new Wasm.Module(bytes);
  } finally {
    v8().setFlagsFromString(`--wasm-tiering-budget=${v8Default}`);
  }
}
