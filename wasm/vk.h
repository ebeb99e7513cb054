/* The virtual kernel: what libbpf's bpf() calls create, recorded instead of executed.
 *
 * Every object libbpf creates (BTF, map, program) becomes a record; libbpf gets a fake fd
 * (>= VK_FD_BASE) that names the record. fds are resolved to record indexes at the moment
 * of the call, so later closes and dup()s of fds never change what was recorded.
 */
#ifndef COREBPF_VK_H
#define COREBPF_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#define VK_FD_BASE 1000
#define VK_MAX_FDS 4096

enum vk_kind {
	VK_NONE = 0, VK_PLACEHOLDER, VK_BTF, VK_MAP, VK_PROG,
	VK_MODBTF,    /* a module's BTF object */
	VK_TPROG,     /* a loaded program a freplace program extends (target_prog.c) */
	VK_TPROG_BTF, /* that program's BTF object */
};

/* a kernel module's BTF, given as input (modbtf.c); split BTF on the target's vmlinux */
struct vk_modbtf {
	char name[64];
	uint8_t *data;
	uint32_t len;
};

/* BTF object ids as a kernel numbers them: vmlinux 1, modules from 2 in the given order */
#define VK_MODBTF_FIRST_ID 2
/* target programs' BTF objects: far above any module's */
#define VK_TPROG_BTF_FIRST_ID 0x40000000u

struct vk_buf {
	uint8_t *data;
	uint32_t len;
};

struct vk_btf_rec {
	struct vk_buf data;
};

/* one BPF_MAP_UPDATE_ELEM; for fd-valued maps (prog array, map-in-map) the value's fd is
 * replaced by a reference to the record it named */
struct vk_update {
	struct vk_buf key;
	struct vk_buf value;
	enum vk_kind ref_kind; /* VK_NONE: plain value */
	int ref;               /* record index of ref_kind */
	uint64_t flags;
};

struct vk_map_rec {
	uint32_t map_type, key_size, value_size, max_entries, map_flags;
	uint32_t numa_node, map_ifindex, btf_key_type_id, btf_value_type_id;
	uint32_t btf_vmlinux_value_type_id;
	uint64_t map_extra;
	char name[BPF_OBJ_NAME_LEN];
	int btf;       /* btf record index or -1 */
	int inner_map; /* map record index or -1 */
	bool frozen;
	struct vk_update *updates;
	uint32_t nr_updates;
};

/* an instruction whose imm named an fd (map or BTF object) */
struct vk_fd_ref {
	uint32_t insn;
	enum vk_kind kind;
	int ref;
	bool imm2; /* the fd was in the second half of a ld_imm64 (module BTF of a ksym) */
};

struct vk_prog_rec {
	uint32_t prog_type, expected_attach_type, prog_flags, kern_version;
	uint32_t attach_btf_id, prog_ifindex;
	int attach_btf_obj; /* btf record, -1 when none (vmlinux) */
	int attach_prog;    /* prog record, -1 */
	int attach_btf_mod; /* module BTF index when attach_btf_obj_fd named a module's BTF, else -1 */
	int attach_tprog;   /* target program slot when attach_prog_fd named one (freplace), else -1 */
	char name[BPF_OBJ_NAME_LEN];
	char *license;
	struct vk_buf insns;
	struct vk_fd_ref *refs;
	uint32_t nr_refs;
	int btf; /* prog_btf_fd's record or -1 */
	uint32_t func_info_rec_size, line_info_rec_size;
	struct vk_buf func_info, line_info;
	int *fd_array; /* record refs (kind in fd_array_kind) */
	enum vk_kind *fd_array_kind;
	uint32_t fd_array_cnt;
	int *bound_maps;
	uint32_t nr_bound_maps;
};

struct vk_state {
	/* fd table: kind and record index per fake fd */
	enum vk_kind fd_kind[VK_MAX_FDS];
	int fd_rec[VK_MAX_FDS];
	int next_fd;

	struct vk_btf_rec *btfs;
	int nr_btfs;
	struct vk_map_rec *maps;
	int nr_maps;
	struct vk_prog_rec *progs;
	int nr_progs;

	/* inputs */
	char release[65];
	char version[65];
	char machine[65];
	long page_size;
	const char *kallsyms;
	size_t kallsyms_len;
	/* the target's kernel config: also the system Kconfig file libbpf looks for */
	const char *kconfig;

	uint32_t nr_syscalls;
};

extern struct vk_state vk;

void vk_reset(void);
/* record index behind a fake fd of the given kind, or -1 */
int vk_fd_lookup(int fd, enum vk_kind kind);
enum vk_kind vk_fd_kind(int fd);

void vk_modbtf_clear(void);
/* takes ownership of data; returns the module's BTF object id, or -1 */
int vk_modbtf_add(const char *name, void *data, size_t len);
int vk_nr_modbtfs(void);
const struct vk_modbtf *vk_modbtf_get(int i);
/* target programs of freplace programs, given as their BTF (target_prog.c) */
int vk_nr_tprogs(void);
/* the BTF bytes of slot i, or NULL */
const struct vk_buf *vk_tprog_btf(int i);
/* a fake fd naming target program slot i (what bpf_program__set_attach_target is given) */
int vk_tprog_fd(int i);
/* a new fake fd of this kind for record rec; -1 with errno EMFILE when the table is full */
int vk_fd_new(enum vk_kind kind, int rec);
struct json;
/* the plan's "moduleBtf" of a program (nothing when it references no module BTF) */
void vk_write_prog_modules(struct json *j, const struct vk_prog_rec *p);

#endif
