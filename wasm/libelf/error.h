/* <error.h> shim for elfutils' lib/system.h.
 *
 * musl (emscripten) has no <error.h>; glibc does.  This declaration-only header is found
 * first by both builds (wasm and native), so both see the same thing.  libelf itself never
 * calls error(); if anything ever does, the link fails loudly instead of silently
 * picking different implementations on the two sides. */
#ifndef COREBPF_ERROR_H_SHIM
#define COREBPF_ERROR_H_SHIM 1

extern unsigned int error_message_count;
void error (int status, int errnum, const char *format, ...)
  __attribute__ ((__format__ (__printf__, 3, 4)));

#endif
