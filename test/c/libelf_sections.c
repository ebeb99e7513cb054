/* libelf smoke test, built twice: with emcc against build/wasm/lib/libelf.a + libz.a
 * and with gcc against build/native/lib/{libelf,libz}.a (`make libelf-check`).
 *
 * elf_memory() opens an ELF image held in memory (as libbpf does with object bytes) and
 * prints every section (name, type, flags, size, crc32 of the data libelf returns), the
 * symbols and the relocations.  SHF_COMPRESSED sections are decompressed with
 * elf_compress() (zlib).  A big-endian object exercises libelf's byte-order
 * conversion.  The wasm and native outputs must be identical.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned long data_crc(Elf_Data *d)
{
	if (!d || !d->d_buf)
		return 0;
	return crc32(0, d->d_buf, (uInt)d->d_size);
}

static int fail(const char *what)
{
	printf("error: %s: %s\n", what, elf_errmsg(-1));
	return 1;
}

int list_sections(void *image, size_t size)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t shstrndx, nscn;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail("elf_version");
	elf = elf_memory(image, size);
	if (!elf)
		return fail("elf_memory");
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return fail("not an ELF object");
	if (elf_getshdrstrndx(elf, &shstrndx) || elf_getshdrnum(elf, &nscn))
		return fail("elf_getshdrstrndx");
	printf("class %d data %d type %u machine %u sections %zu shstrndx %zu\n",
	       gelf_getclass(elf), eh.e_ident[EI_DATA], eh.e_type, eh.e_machine,
	       nscn, shstrndx);

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			return fail("gelf_getshdr");
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			return fail("elf_strptr");
		d = elf_getdata(scn, NULL);
		printf("[%2zu] %-24s type %#x flags %#llx size %llu align %llu data %llu crc %08lx\n",
		       elf_ndxscn(scn), name, sh.sh_type,
		       (unsigned long long)sh.sh_flags, (unsigned long long)sh.sh_size,
		       (unsigned long long)sh.sh_addralign,
		       d ? (unsigned long long)d->d_size : 0ULL, data_crc(d));

		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;
			if (!gelf_getchdr(scn, &ch))
				return fail("gelf_getchdr");
			if (elf_compress(scn, 0, 0) < 0)
				return fail("elf_compress");
			d = elf_getdata(scn, NULL);
			printf("     compressed type %u size %llu -> decompressed %llu crc %08lx\n",
			       ch.ch_type, (unsigned long long)ch.ch_size,
			       d ? (unsigned long long)d->d_size : 0ULL, data_crc(d));
		}

		if (sh.sh_type == SHT_SYMTAB) {
			size_t i, n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
			for (i = 0; i < n; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(d, (int)i, &sym))
					return fail("gelf_getsym");
				printf("     sym %zu %s value %#llx size %llu info %#x shndx %u\n", i,
				       elf_strptr(elf, sh.sh_link, sym.st_name),
				       (unsigned long long)sym.st_value,
				       (unsigned long long)sym.st_size, sym.st_info,
				       sym.st_shndx);
			}
		} else if (sh.sh_type == SHT_REL) {
			size_t i, n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
			for (i = 0; i < n; i++) {
				GElf_Rel rel;
				if (!gelf_getrel(d, (int)i, &rel))
					return fail("gelf_getrel");
				printf("     rel %zu offset %#llx sym %llu type %llu\n", i,
				       (unsigned long long)rel.r_offset,
				       (unsigned long long)GELF_R_SYM(rel.r_info),
				       (unsigned long long)GELF_R_TYPE(rel.r_info));
			}
		}
	}
	if (elf_end(elf) != 0)
		return fail("elf_end");
	return 0;
}

#ifndef __EMSCRIPTEN__
/* native: read the file into memory ourselves, as the JS runner does for wasm */
int main(int argc, char **argv)
{
	FILE *f;
	long size;
	void *buf;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return perror(argv[1]), 2;
	buf = malloc(size ? size : 1);
	if (!buf || fread(buf, 1, size, f) != (size_t)size)
		return perror(argv[1]), 2;
	fclose(f);
	rc = list_sections(buf, size);
	free(buf);
	return rc;
}
#endif
