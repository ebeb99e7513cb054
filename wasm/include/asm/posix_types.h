/* wasm32 has no arch UAPI headers: use the generic one (see wasm/include/README.md). */
#include <asm-generic/posix_types.h>
