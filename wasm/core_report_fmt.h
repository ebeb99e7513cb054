/* A CO-RE relocation in words (core_report_fmt.c), for the report (core_report.c). */
#ifndef COREBPF_CORE_REPORT_FMT_H
#define COREBPF_CORE_REPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct btf;
struct bpf_core_spec;

/* "field_byte_offset", ...: the kind's name in the report */
const char *core_kind_name(__u32 kind);
/* kinds about a field (offset, size, existence, sign, shifts); about an enumerator */
bool core_kind_is_field(__u32 kind);
bool core_kind_is_enumval(__u32 kind);
/* a formatted string from malloc, NULL when out of memory */
char *core_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* "struct task_struct" */
char *core_type_str(const struct btf *btf, __u32 id);
/* the C-like access path of a local spec: task_struct.real_parent, s[2].x, enum foo::BAR */
char *core_access_str(const struct btf *btf, const struct bpf_core_spec *spec, __u32 kind);
/* the last "libbpf: " warning printed since log offset `from`, without prefix/newline */
char *core_last_warning(size_t from);
/* BPF_CORE_FIELD_LSHIFT_U64 of a big-endian spec, by libbpf's big-endian formula */
bool core_be_lshift_u64(const struct bpf_core_spec *spec, __u64 *val);

#endif
