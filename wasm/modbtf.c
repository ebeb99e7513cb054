/* Kernel module BTF for the virtual kernel: the host reads /sys/kernel/btf/<module> and
 * gives the bytes here as data (the worker stays pure); the virtual kernel answers libbpf's
 * load_module_btfs() with them (BPF_BTF_GET_NEXT_ID, BPF_BTF_GET_FD_BY_ID,
 * BPF_OBJ_GET_INFO_BY_FD, see vk_btf.c), so libbpf finds CO-RE candidates, kfuncs, ksyms and
 * attach targets in modules exactly as it does on a kernel. What a program then needs of
 * a module (a BTF object fd in an ld_imm64, in fd_array, or as attach_btf_obj_fd) is
 * written into the plan BY MODULE NAME; the host opens the module's BTF at replay. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vk.h"

#include "cb_export.h"

CB_EXPORT void cb_clear_module_btfs(void)
{
	vk_modbtf_clear();
}

/* takes ownership of `data` (allocated with cb_malloc); returns the module's BTF id, or -1 */
CB_EXPORT int cb_add_module_btf(const char *name, void *data, size_t len)
{
	return vk_modbtf_add(name, data, len);
}

static const char *mod_name(int rec)
{
	const struct vk_modbtf *m = vk_modbtf_get(rec);

	return m ? m->name : "";
}

/* "moduleBtf": {"attach": NAME, "insns": [{"insn": I, "module": NAME}], "fdArray": [NAME|null]}
 * only for programs that reference module BTF (other plans stay as they were) */
void vk_write_prog_modules(struct json *j, const struct vk_prog_rec *p)
{
	uint32_t i;
	bool any = p->attach_btf_mod >= 0;

	for (i = 0; i < p->nr_refs && !any; i++)
		any = p->refs[i].kind == VK_MODBTF;
	for (i = 0; i < p->fd_array_cnt && !any; i++)
		any = p->fd_array_kind[i] == VK_MODBTF;
	if (!any)
		return;
	json_key(j, "moduleBtf");
	json_obj_begin(j);
	if (p->attach_btf_mod >= 0)
		json_kstr(j, "attach", mod_name(p->attach_btf_mod));
	json_key(j, "insns");
	json_arr_begin(j);
	for (i = 0; i < p->nr_refs; i++) {
		if (p->refs[i].kind != VK_MODBTF)
			continue;
		json_obj_begin(j);
		json_ku64(j, "insn", p->refs[i].insn);
		json_kstr(j, "module", mod_name(p->refs[i].ref));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "fdArray");
	json_arr_begin(j);
	for (i = 0; i < p->fd_array_cnt; i++) {
		if (p->fd_array_kind[i] == VK_MODBTF)
			json_str(j, mod_name(p->fd_array[i]));
		else
			json_null(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
