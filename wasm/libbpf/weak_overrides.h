/* Force-included into libbpf.c only (through libbpf_unit.c), after libbpf.mk renamed the
 * functions below there: libbpf's own definitions become weak, so ours (same name, strong)
 * replace them at link time, for libbpf's callers too.
 *   vk_core_add_cands      CO-RE candidate search through a name index (cand_index.c)
 *   vk_num_possible_cpus   the CPU count of the virtual kernel, not of this machine
 */
#pragma weak vk_core_add_cands
#pragma weak vk_num_possible_cpus
