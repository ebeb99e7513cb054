/* <asm/errno.h> for wasm32.
 *
 * Emscripten's libc uses WASI errno numbers (EPERM is 63, not 1).  <linux/errno.h> would
 * pull asm-generic/errno*.h and define every E* macro a second time with Linux values;
 * instead we hand out the libc's set, so all code in the wasm build sees one errno
 * numbering (every Linux name exists in it).  Values crossing the wasm boundary (errno
 * from a host syscall) must be translated between the Linux and WASI numberings. */
#include <errno.h>
