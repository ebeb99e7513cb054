/* Programs in the virtual kernel: BPF_PROG_LOAD recorded, the fds its instructions and
 * fd_array name resolved to records at the time of the call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "vk_internal.h"

static int add_ref(struct vk_prog_rec *p, uint32_t insn, int fd, bool imm2)
{
	enum vk_kind kind = vk_fd_kind(fd);

	if (kind != VK_MAP && kind != VK_BTF && kind != VK_MODBTF)
		return -EBADF;
	if (VK_GROW(p->refs, p->nr_refs))
		return -ENOMEM;
	p->refs[p->nr_refs].insn = insn;
	p->refs[p->nr_refs].kind = kind;
	p->refs[p->nr_refs].ref = vk_fd_lookup(fd, kind);
	p->refs[p->nr_refs].imm2 = imm2;
	p->nr_refs++;
	return 0;
}

/* map and BTF object fds embedded in ld_imm64 instructions become record references */
static int scan_insn_fds(struct vk_prog_rec *p)
{
	const struct bpf_insn *insn = (const struct bpf_insn *)p->insns.data;
	uint32_t i, n = p->insns.len / sizeof(*insn);
	int err;

	for (i = 0; i + 1 < n; i++) {
		if (insn[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		switch (insn[i].src_reg) {
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_VALUE:
			if ((err = add_ref(p, i, insn[i].imm, false)))
				return err;
			break;
		case BPF_PSEUDO_BTF_ID:
			/* typed ksym: second imm is a module BTF fd, 0 for vmlinux */
			if (insn[i + 1].imm && (err = add_ref(p, i, insn[i + 1].imm, true)))
				return err;
			break;
		}
		i++;
	}
	return 0;
}

long vk_prog_load(union bpf_attr *a)
{
	struct vk_prog_rec *p;
	const char *lic = (const char *)(uintptr_t)a->license;
	uint32_t i;
	int fd;

	if (VK_GROW(vk.progs, vk.nr_progs))
		return vk_fail(ENOMEM);
	p = &vk.progs[vk.nr_progs];
	p->prog_type = a->prog_type;
	p->expected_attach_type = a->expected_attach_type;
	p->prog_flags = a->prog_flags;
	p->kern_version = a->kern_version;
	p->attach_btf_id = a->attach_btf_id;
	p->prog_ifindex = a->prog_ifindex;
	memcpy(p->name, a->prog_name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	p->license = strdup(lic ? lic : "");
	p->btf = a->prog_btf_fd ? vk_fd_lookup(a->prog_btf_fd, VK_BTF) : -1;
	p->attach_btf_obj = -1;
	p->attach_prog = -1;
	p->attach_btf_mod = -1;
	p->attach_tprog = -1;
	/* attach_prog_fd and attach_btf_obj_fd share a union: the fd's kind tells which */
	switch (vk_fd_kind(a->attach_prog_fd)) {
	case VK_MODBTF:
		p->attach_btf_mod = vk_fd_lookup(a->attach_btf_obj_fd, VK_MODBTF);
		break;
	case VK_BTF:
		p->attach_btf_obj = vk_fd_lookup(a->attach_btf_obj_fd, VK_BTF);
		break;
	case VK_TPROG:
		p->attach_tprog = vk_fd_lookup(a->attach_prog_fd, VK_TPROG);
		break;
	case VK_PROG:
		p->attach_prog = vk_fd_lookup(a->attach_prog_fd, VK_PROG);
		break;
	default:
		break;
	}
	p->func_info_rec_size = a->func_info_rec_size;
	p->line_info_rec_size = a->line_info_rec_size;
	if (vk_buf_copy(&p->insns, a->insns, (uint64_t)a->insn_cnt * sizeof(struct bpf_insn)) ||
	    vk_buf_copy(&p->func_info, a->func_info, (uint64_t)a->func_info_cnt * a->func_info_rec_size) ||
	    vk_buf_copy(&p->line_info, a->line_info, (uint64_t)a->line_info_cnt * a->line_info_rec_size))
		return vk_fail(ENOMEM);
	if (scan_insn_fds(p))
		return vk_fail(EBADF);
	if (a->fd_array) {
		/* fd_array has no count in this UAPI; libbpf fills it for kfunc/ksym module
		 * BTFs and the instructions index it: record slots up to the largest index used */
		const int *fds = (const int *)(uintptr_t)a->fd_array;
		const struct bpf_insn *insn = (const struct bpf_insn *)p->insns.data;
		uint32_t n = p->insns.len / sizeof(*insn), max = 0;

		for (i = 0; i < n; i++)
			if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == BPF_PSEUDO_KFUNC_CALL &&
			    insn[i].off > 0 && (uint32_t)insn[i].off + 1 > max)
				max = insn[i].off + 1;
		p->fd_array_cnt = max;
		p->fd_array = calloc(max ? max : 1, sizeof(int));
		p->fd_array_kind = calloc(max ? max : 1, sizeof(enum vk_kind));
		for (i = 0; i < max; i++) {
			p->fd_array_kind[i] = vk_fd_kind(fds[i]);
			p->fd_array[i] = p->fd_array_kind[i] ? vk_fd_lookup(fds[i], p->fd_array_kind[i]) : -1;
		}
	}
	fd = vk_fd_new(VK_PROG, vk.nr_progs);
	if (fd < 0)
		return -1;
	vk.nr_progs++;
	return fd;
}
