/* The registry of parsed target kernel BTFs (target.c), by the handles the host holds. */
#ifndef COREBPF_TARGET_H
#define COREBPF_TARGET_H

struct btf;

/* the BTF of handle h, or NULL when h names none */
struct btf *target_get(int h);

#endif
