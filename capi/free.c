/* lakelink_free is plain C: freeing a buffer the library returned costs a
 * call to free(3), not a crossing into the Go runtime (a binding frees
 * several buffers per statement). */
#include <stdlib.h>
#include "lakelink.h"

/* Go exports only its //export functions from a Windows DLL: this one is
 * marked for export too. */
#ifdef _WIN32
__declspec(dllexport)
#endif
void lakelink_free(void *p) { free(p); }
