/* bcryptprimitives.c: ProcessPrng for Wine 8.0 (Debian 12's), which lacks
 * bcryptprimitives.dll. Go's Windows runtime (Go 1.22 and later) needs
 * ProcessPrng and stops at start-up without it; Windows 10 and later have
 * it. build/platforms/run.sh builds this DLL with mingw-w64 and puts it on
 * WINEPATH, for the tests under wine only: it is never shipped. It fills
 * the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine
 * reads from the host's random source. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
