"""The library's file name per OS (issue 19): what the wheel's build
backend names the copy it carries, and what _native looks for."""

import sys

from lakelink import _native


def test_library_name_per_platform():
    assert _native.library_name("win32") == "lakelink.dll"
    assert _native.library_name("darwin") == "liblakelink.dylib"
    assert _native.library_name("linux") == "liblakelink.so"
    assert _native.library_name("freebsd14") == "liblakelink.so"
    assert _native.LIBRARY_NAME == _native.library_name(sys.platform)
