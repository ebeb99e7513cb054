/* CB_EXPORT marks the glue's entry points: kept by emscripten, and the one list of them
 * (scripts/gen-exports.mjs reads these definitions for the Makefile and the worker's
 * TypeScript declarations). Native builds (the oracle, the fuzzers) call them directly. */
#ifndef CB_EXPORT_H
#define CB_EXPORT_H
#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define CB_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define CB_EXPORT
#endif

/* the name of an errno of this build's C library (wasm/corebpf.c): the status of a result
 * (wasm/cb_result.h), the same text in both builds */
const char *cb_errno_name(int e);
#endif
