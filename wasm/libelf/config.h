/* Hand-written config.h for elfutils 0.192 libelf/ (replaces configure's output).
 *
 * Used by BOTH builds -- emcc (wasm32) and gcc (native oracle) -- so that the two
 * compile the same code paths: every HAVE_* choice below is one that emscripten's musl
 * and glibc both satisfy, or one we turn off for both.  Only the libelf sources and the
 * lib/ helpers it needs are compiled; see mk/libelf.mk.
 */
#ifndef COREBPF_ELFUTILS_CONFIG_H
#define COREBPF_ELFUTILS_CONFIG_H 1

#define PACKAGE            "elfutils"
#define PACKAGE_NAME       "elfutils"
#define PACKAGE_TARNAME    "elfutils"
#define PACKAGE_VERSION    "0.192"
#define PACKAGE_STRING     "elfutils 0.192"
#define PACKAGE_BUGREPORT  "https://sourceware.org/bugzilla"
#define PACKAGE_URL        "http://elfutils.org/"
#define VERSION            "0.192"

/* Single-threaded: the worker never calls libelf from two threads.  With USE_LOCKS
   undefined, lib/locks.h expands the rwlock macros to nothing (and needs neither
   pthread nor glibc's assert_perror). */
#undef USE_LOCKS

/* Compression: zlib only (libelf's elf_compress.c needs it); no zstd. */
#define USE_ZLIB 1
#undef USE_ZSTD
#undef USE_ZSTD_COMPRESS
#undef USE_BZLIB
#undef USE_LZMA

/* Declarations present in both musl (with _GNU_SOURCE) and glibc. */
#define HAVE_DECL_MEMPCPY      1
#define HAVE_DECL_MEMRCHR      1
#define HAVE_DECL_POWEROF2     1
#define HAVE_DECL_REALLOCARRAY 1
/* musl has no rawmemchr: use libelf's fallback (memchr) in both builds. */
#define HAVE_DECL_RAWMEMCHR    0
#define HAVE_DECL_STRERROR_R   1

/* No mremap in emscripten: elf_update grows mmapped output by the portable path,
   also natively. */
#undef HAVE_MREMAP

/* lib/system.h requires <error.h> or <err.h>; musl has no error.h, so
   wasm/libelf/error.h (a declaration-only shim, found first in both builds) is used. */
#define HAVE_ERROR_H 1

#define HAVE_VISIBILITY  1
#define HAVE_FALLTHROUGH 1
#undef HAVE_GCC_STRUCT      /* x86-only attribute; clang/wasm32 does not support it */

#define HAVE_STDINT_H    1
#define HAVE_INTTYPES_H  1
#define HAVE_STDLIB_H    1
#define HAVE_STRING_H    1
#define HAVE_STRINGS_H   1
#define HAVE_SYS_STAT_H  1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H    1
#define STDC_HEADERS     1

#define DEFAULT_AR_DETERMINISTIC 1
#define CHECK_UNDEFINED 0
#undef ENABLE_NLS

#include <eu-config.h>

/* eu-config.h sets ALLOW_UNALIGNED to 1 on x86 only.  Force the strict-alignment code
   paths (the ones wasm32 takes) in the native build too, so the oracle runs the same
   code as the wasm build. */
#undef ALLOW_UNALIGNED
#define ALLOW_UNALIGNED 0

/* No message catalogs: libelf's error strings are returned untranslated (what
   dgettext returns in the C locale anyway), with no locale or filesystem lookups. */
#undef _
#define _(Str) (Str)

#endif /* COREBPF_ELFUTILS_CONFIG_H */
