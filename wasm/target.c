/* Target kernel BTFs, parsed (and indexed for CO-RE candidates) once and kept by handle:
 * later relocations against the same handle reuse the parsed types. libbpf reaches the
 * run's target through btf__load_vmlinux_btf(), which libbpf.mk renames to
 * vk_load_vmlinux_btf() here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <libelf.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "btf_guard.h"
#include "cand_index.h"
#include "cb_export.h"
#include "inputs.h"
#include "libbpf/btf_adopt.h"
#include "log.h"
#include "target.h"

#define MAX_TARGETS 64

static struct btf *targets[MAX_TARGETS];
static struct cand_index *indexes[MAX_TARGETS];
static char target_err[512];

CB_EXPORT const char *cb_target_error(void) { return target_err; }

struct btf *target_get(int h)
{
	return h > 0 && h < MAX_TARGETS ? targets[h] : NULL;
}

/* the .BTF section of an ELF file (a vmlinux), through libelf */
static struct btf *btf_from_elf(const void *data, size_t len)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	struct btf *btf = NULL;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)data, len);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		snprintf(target_err, sizeof(target_err), "target is not a readable ELF file: %s", elf_errmsg(-1));
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf) {
			snprintf(target_err, sizeof(target_err), "target ELF has an empty .BTF section");
			goto out;
		}
		btf = btf__new(d->d_buf, d->d_size);
		if (!btf)
			snprintf(target_err, sizeof(target_err), "target ELF's .BTF section is not valid BTF (%s)",
				 strerror(errno));
		goto out;
	}
	snprintf(target_err, sizeof(target_err), "target ELF file has no .BTF section");
out:
	if (elf)
		elf_end(elf);
	return btf;
}

/* Parse a target BTF: `owned`, when not NULL, is `data` from malloc, which raw BTF hands to
 * libbpf as its copy; it is freed here when libbpf did not take it. */
static struct btf *target_btf(const void *data, size_t len, void *owned)
{
	struct btf *btf;

	if (len >= 4 && memcmp(data, "\177ELF", 4) == 0) {
		btf = btf_from_elf(data, len);
	} else {
		cb_log_begin();
		if (owned)
			cb_btf_adopt(owned, len);
		btf = btf__new(data, len);
		if (owned && cb_btf_adopted())
			owned = NULL;
		if (!btf) {
			int err = errno;
			const char *l = cb_log_len ? cb_log : "";

			snprintf(target_err, sizeof(target_err), "target BTF is not valid (%s)%s%.*s", strerror(err),
				 *l ? ": " : "", (int)strcspn(l, "\n"), l);
		}
	}
	free(owned);
	return btf;
}

static int target_register(const void *data, size_t len, void *owned)
{
	struct btf *btf;
	int h;

	target_err[0] = 0;
	for (h = 1; h < MAX_TARGETS && targets[h]; h++)
		;
	if (h == MAX_TARGETS) {
		free(owned);
		snprintf(target_err, sizeof(target_err), "too many target BTFs registered (%d)", MAX_TARGETS - 1);
		return -EMFILE;
	}
	btf = target_btf(data, len, owned);
	if (!btf)
		return -EINVAL;
	{
		long cyc = vk_btf_mods_cycle(btf);

		if (!cyc && vk_btf_bad_bitfield(btf)) {
			snprintf(target_err, sizeof(target_err), "target BTF is not valid: type [%ld] has a bitfield of a non-integer or zero-size type",
				 vk_btf_bad_bitfield(btf));
			btf__free(btf);
			return -EINVAL;
		}
		if (cyc) {
			btf__free(btf);
			snprintf(target_err, sizeof(target_err), cyc < 0 ? "out of memory checking the target BTF"
				 : "target BTF is not valid: a cycle of modifiers/typedefs at type [%ld]", cyc);
			return cyc < 0 ? -ENOMEM : -EINVAL;
		}
	}
	indexes[h] = cand_index_build(btf);
	if (!indexes[h]) {
		btf__free(btf);
		snprintf(target_err, sizeof(target_err), "out of memory indexing the target BTF");
		return -ENOMEM;
	}
	targets[h] = btf;
	return h;
}

/* Parse a target kernel's BTF (raw, or an ELF with .BTF) once; later relocations against
 * the same handle reuse the parsed types. Returns a handle > 0, or -errno. */
CB_EXPORT int cb_target_register(const void *data, size_t len)
{
	return target_register(data, len, NULL);
}

/* cb_target_register() of a buffer from cb_malloc() that this call takes: raw BTF becomes
 * libbpf's own copy (a kernel's BTF is then in wasm memory once, not twice); freed when the
 * target is released, or by this call when it is not kept. */
CB_EXPORT int cb_target_register_owned(void *data, size_t len)
{
	return target_register(data, len, data);
}

CB_EXPORT void cb_target_release(int h)
{
	if (h > 0 && h < MAX_TARGETS && targets[h]) {
		cand_index_free(indexes[h]);
		btf__free(targets[h]);
		targets[h] = NULL;
		indexes[h] = NULL;
	}
}

/* libbpf.c's btf__load_vmlinux_btf() and btf__free() come here (see libbpf.mk) */
struct btf *vk_load_vmlinux_btf(void)
{
	struct btf *btf = target_get(cb_in.target);

	if (!btf) {
		libbpf_print(LIBBPF_WARN, "libbpf: no target kernel BTF was given\n");
		errno = ENOENT;
		return ERR_PTR(-ENOENT);
	}
	return btf;
}

const struct cand_index *vk_target_index(const struct btf *btf)
{
	int h;

	for (h = 1; h < MAX_TARGETS; h++)
		if (targets[h] && targets[h] == btf)
			return indexes[h];
	return NULL;
}

void vk_btf_free(struct btf *btf)
{
	int h;

	for (h = 1; h < MAX_TARGETS; h++)
		if (targets[h] && targets[h] == btf)
			return;
	btf__free(btf);
}

/* for the test of cb_target_register_owned(): where target `h`'s raw BTF lies in wasm memory */
CB_EXPORT const void *cb_target_raw_data(int h)
{
	struct btf *btf = target_get(h);
	__u32 size;

	return btf ? btf__raw_data(btf, &size) : NULL;
}
