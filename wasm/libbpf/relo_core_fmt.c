/* libbpf's relo_core.c a second time, for one function: its bpf_core_format_spec(), under its
 * own name. The relo_core.o that relocates has its calls to that function pointed at
 * vk_core_format_spec() (core_report.c), which formats only when the log keeps libbpf's debug
 * messages: libbpf formats every local and candidate spec for pr_debug lines whether they are
 * printed or not, and with musl's printf that was ~40% of a warm relocation in wasm.
 * The other functions of this copy are renamed out of the way and never called. */
#define __bpf_core_types_are_compat fmtcopy___bpf_core_types_are_compat
#define bpf_core_parse_spec fmtcopy_bpf_core_parse_spec
#define bpf_core_patch_insn fmtcopy_bpf_core_patch_insn
#define bpf_core_calc_relo_insn fmtcopy_bpf_core_calc_relo_insn
#define __bpf_core_types_match fmtcopy___bpf_core_types_match
#include "relo_core.c"
