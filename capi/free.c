/* lakelink_free is plain C: freeing a buffer the library returned costs a
 * call to free(3), not a crossing into the Go runtime (a binding frees
 * several buffers per statement). */
#include <stdlib.h>
#include "lakelink.h"

void lakelink_free(void *p) { free(p); }
