/* Force-included into libbpf.c only, after libbpf.mk renamed bpf_core_add_cands to
 * vk_core_add_cands there: libbpf's own definition becomes weak, so the indexed search in
 * wasm/cand_index.c (same name, strong) replaces it at link time, for libbpf's callers too. */
#pragma weak vk_core_add_cands
