/* Force-included into relo_core.c only, after libbpf.mk renamed bpf_core_format_spec to
 * vk_core_format_spec there: libbpf's definition becomes weak and core_report.c's (strong)
 * receives relo_core.c's calls; libbpf's formatter itself is built from relo_core_fmt.c. */
#pragma weak vk_core_format_spec
