/* wasm32 is little-endian; there is no arch <asm/byteorder.h> for it. */
#include <linux/byteorder/little_endian.h>
