/* <asm/ptrace.h> for wasm32 (there is no asm-generic/ptrace.h).
 *
 * <linux/ptrace.h> ends by including the arch's <asm/ptrace.h> for struct pt_regs, and
 * <linux/bpf_perf_event.h> embeds bpf_user_pt_regs_t -- which <asm-generic/
 * bpf_perf_event.h> makes `struct pt_regs`, as on x86/x86_64 -- in struct
 * bpf_perf_event_data, so the type must be complete.  wasm32 has no registers to
 * describe: this placeholder layout means nothing and must never be used for offsets.
 * libbpf only compares the type with __builtin_types_compatible_p (same answer as the
 * x86 native build); its register-offset (USDT) code is per-arch and not built for wasm32.
 */
#ifndef COREBPF_WASM_ASM_PTRACE_H
#define COREBPF_WASM_ASM_PTRACE_H

struct pt_regs {
	unsigned long __wasm32_no_registers;
};

#endif
