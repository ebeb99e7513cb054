/* corebpf's glue: run libbpf's open -> load on an object given as bytes against the
 * virtual kernel (vk*.c), then turn the recording into a load plan (JSON, see
 * docs/load-plan.md). The same files are the core of the wasm module and of the native
 * oracle (native/main.c). Inputs are set with cb_set_* (inputs.c), targets registered in
 * target.c; cb_run() (run.c) returns the result. Here: the entry points outside a run
 * (libbpf's features and version, errno names, the C heap, a self-test). */
#include <errno.h>
#include <stdlib.h>
#include <malloc.h>

#include "libbpf.h"

#include "cb_export.h"
#include "libbpf/libbpf_units.h"

CB_EXPORT int cb_feature_count(void) { return vk_feature_count(); }
CB_EXPORT const char *cb_feature_name(int id) { return vk_feature_name(id); }
CB_EXPORT const char *cb_feature_desc(int id) { return vk_feature_desc(id); }
CB_EXPORT const char *cb_libbpf_version(void) { return libbpf_version_string(); }

/* errno by name: wasm's libc numbers errnos differently from Linux, names agree (the
 * worker maps the numbers in libbpf's messages to Linux's through this) */
CB_EXPORT const char *cb_errno_name(int e)
{
	switch (e) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(ENOEXEC);
	E(EBADF); E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST);
	E(ENODEV); E(ENOTDIR); E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY);
	E(EFBIG); E(ENOSPC); E(ERANGE); E(ENOSYS); E(ENODATA); E(EOVERFLOW); E(EOPNOTSUPP);
	E(ELOOP); E(ENAMETOOLONG); E(EPROTO); E(EBADMSG);
#undef E
	case LIBBPF_ERRNO__LIBELF: return "LIBBPF_ERRNO__LIBELF";
	case LIBBPF_ERRNO__FORMAT: return "LIBBPF_ERRNO__FORMAT";
	case LIBBPF_ERRNO__KVERSION: return "LIBBPF_ERRNO__KVERSION";
	case LIBBPF_ERRNO__ENDIAN: return "LIBBPF_ERRNO__ENDIAN";
	case LIBBPF_ERRNO__INTERNAL: return "LIBBPF_ERRNO__INTERNAL";
	case LIBBPF_ERRNO__RELOC: return "LIBBPF_ERRNO__RELOC";
	case LIBBPF_ERRNO__LOAD: return "LIBBPF_ERRNO__LOAD";
	case LIBBPF_ERRNO__VERIFY: return "LIBBPF_ERRNO__VERIFY";
	case LIBBPF_ERRNO__PROG2BIG: return "LIBBPF_ERRNO__PROG2BIG";
	case LIBBPF_ERRNO__KVER: return "LIBBPF_ERRNO__KVER";
	case LIBBPF_ERRNO__PROGTYPE: return "LIBBPF_ERRNO__PROGTYPE";
	case LIBBPF_ERRNO__WRNGPID: return "LIBBPF_ERRNO__WRNGPID";
	case LIBBPF_ERRNO__INVSEQ: return "LIBBPF_ERRNO__INVSEQ";
	case LIBBPF_ERRNO__NLPARSE: return "LIBBPF_ERRNO__NLPARSE";
	default: return "unknown";
	}
}

/* for tests of what the glue keeps and frees: bytes of the C heap in use */
CB_EXPORT size_t cb_heap_used(void)
{
#ifdef __EMSCRIPTEN__
	return mallinfo().uordblks;
#else
	return mallinfo2().uordblks;
#endif
}

/* for the test of the worker's trap handling: a wasm trap on purpose */
CB_EXPORT void cb_selftest_trap(void)
{
	__builtin_trap();
}

CB_EXPORT void cb_free(void *p)
{
	free(p);
}

CB_EXPORT void *cb_malloc(size_t n)
{
	return malloc(n);
}
