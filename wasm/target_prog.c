/* Target programs of freplace programs (libbpf's bpf_program__set_attach_target with an
 * attach_prog_fd): a freplace program replaces a global function of a program already
 * loaded in the kernel, and libbpf finds that function's BTF id in the loaded program's
 * BTF (libbpf_find_prog_btf_id: BPF_OBJ_GET_INFO_BY_FD, BPF_BTF_GET_FD_BY_ID). The host
 * reads each target's BTF from the kernel and gives the bytes here as data (the worker
 * stays pure); the virtual kernel answers those calls with them (vk_btf.c), so libbpf itself
 * resolves the target. The plan names the target by its slot ("attachProgram"); the host
 * passes the target's real fd as attach_prog_fd at replay. */
#include <stdlib.h>
#include <string.h>

#include "vk.h"

#include "cb_export.h"

static struct vk_buf *tprogs;
static int nr_tprogs;

CB_EXPORT void cb_clear_target_progs(void)
{
	int i;

	for (i = 0; i < nr_tprogs; i++)
		free(tprogs[i].data);
	free(tprogs);
	tprogs = NULL;
	nr_tprogs = 0;
}

/* takes ownership of `data` (allocated with cb_malloc); returns the target's slot, or -1 */
CB_EXPORT int cb_add_target_prog(void *data, size_t len)
{
	struct vk_buf *t = realloc(tprogs, sizeof(*tprogs) * (nr_tprogs + 1));

	if (!t) {
		free(data);
		return -1;
	}
	tprogs = t;
	tprogs[nr_tprogs].data = data;
	tprogs[nr_tprogs].len = (uint32_t)len;
	return nr_tprogs++;
}

int vk_nr_tprogs(void)
{
	return nr_tprogs;
}

const struct vk_buf *vk_tprog_btf(int i)
{
	return i >= 0 && i < nr_tprogs ? &tprogs[i] : NULL;
}

int vk_tprog_fd(int i)
{
	if (i < 0 || i >= nr_tprogs)
		return -1;
	return vk_fd_new(VK_TPROG, i);
}
