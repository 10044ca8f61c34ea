"""Loading the library (liblakelink.so; see library_name) and calling its C ABI (lakelink.h) through ctypes.

The library is found, in order: at ``$LAKELINK_LIBRARY``; next to this
module (the copy a wheel carries); in ``build/out`` of the source checkout
this package sits in (``bindings/python/lakelink`` -> ``../../../build/out``).

It is loaded on first use, not at import: it holds a Go runtime, whose
threads do not survive fork, so a parent may import lakelink and fork
children that use it, but a child forked after the parent loaded it gets
an InterfaceError (rather than a call that hangs): lib() compares the pid,
and a connection's Lock calls lib() before it waits.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from . import errors

ABI_VERSION = 4


def library_name(platform: str = sys.platform) -> str:
    """The library's file name on ``platform`` (a ``sys.platform`` value):
    lakelink.dll on Windows, liblakelink.dylib on macOS, liblakelink.so
    elsewhere, as the wheel's build backend names the copy it carries."""
    if platform == "win32":
        return "lakelink.dll"
    if platform == "darwin":
        return "liblakelink.dylib"
    return "liblakelink.so"


LIBRARY_NAME = library_name()


class _Error(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_int32),
        ("message", ctypes.c_char_p),
        ("sqlstate", ctypes.c_char_p),
        ("diagnosis", ctypes.c_char_p),
        ("http_status", ctypes.c_int32),
        ("kind", ctypes.c_char_p),
        ("detail", ctypes.c_char_p),
        ("hint", ctypes.c_char_p),
    ]


ErrPtr = ctypes.POINTER(_Error)
U8P = ctypes.POINTER(ctypes.c_uint8)
_u64, _i32, _i64, _cp, _vp = ctypes.c_uint64, ctypes.c_int32, ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p
_P = ctypes.POINTER

_SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "lakelink_version": ([], _cp),
    "lakelink_abi_version": ([], _i32),
    "lakelink_set_user_agent": ([_cp, _P(ErrPtr)], _i32),
    "lakelink_free": ([_vp], None),
    "lakelink_error_free": ([ErrPtr], None),
    "lakelink_connstr_normalize": ([_cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_connstr_merge": ([_cp, _cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_token": ([_cp, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_app_request": ([_cp, _cp, _cp, _cp, _cp, U8P, _i64, _P(_i32), _P(_vp), _P(_vp), _P(_i64),
                              _P(ErrPtr)], _i32),
    "lakelink_oauth_authorization_url": ([_cp, _cp, _cp, _cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_oauth_access_token": ([_cp, _cp, _cp, _cp, _cp, _cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_oauth_refresh": ([_cp, _cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_lakebase_credential": ([_cp, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_connect": ([_cp, _P(_u64), _P(ErrPtr)], _i32),
    # params as _cp: a bytes object passes as its const uint8_t* without a copy (its length goes alongside).
    "lakelink_query": ([_u64, _cp, _cp, _i64, _i32, _cp, _P(_vp), _P(_vp), _P(_i64), _P(_vp), _P(_i64), _P(_u64),
                        _P(ErrPtr)], _i32),
    "lakelink_result_next_batch": ([_u64, _i32, _cp, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_result_status": ([_u64, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_result_close": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_set_autocommit": ([_u64, _i32, _P(ErrPtr)], _i32),
    "lakelink_begin": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_commit": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_rollback": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_cancel": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_close": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_discard": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_session_idle": ([_u64, _P(_i32), _P(ErrPtr)], _i32),
    "lakelink_pool_open": ([_cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_pool_acquire": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_pool_stats": ([_u64, _P(_vp), _P(ErrPtr)], _i32),
    "lakelink_pool_close": ([_u64, _P(ErrPtr)], _i32),
    # Bulk: executemany and COPY (buffers as _cp, as lakelink_query's params).
    "lakelink_execute_many": ([_u64, _cp, _cp, _i64, _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_copy_from": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_write": ([_u64, _cp, _i64, _P(ErrPtr)], _i32),
    "lakelink_copy_write_rows": ([_u64, _cp, _cp, _i64, _P(ErrPtr)], _i32),
    "lakelink_copy_to": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_read": ([_u64, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_copy_end": ([_u64, _cp, _P(_i64), _P(ErrPtr)], _i32),
    # Asynchronous calls (lakelink.h, "Asynchronous calls"): _proto's operations start and collect them.
    "lakelink_queue_open": ([_P(_i32), _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_queue_take": ([_u64, _P(_u64), _i32, _P(_i32), _P(ErrPtr)], _i32),
    "lakelink_queue_close": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_connect_start": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_pool_open_start": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_pool_acquire_start": ([_u64, _u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_query_start": ([_u64, _u64, _cp, _cp, _i64, _i32, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_query_start_wait": ([_u64, _u64, _cp, _cp, _i64, _i32, _cp, _i32, _P(_u64), _P(_i32), _P(_vp), _P(_vp),
                                  _P(_i64), _P(_vp), _P(_i64), _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_result_next_batch_start": ([_u64, _u64, _i32, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_result_close_start": ([_u64, _u64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_session_start": ([_u64, _u64, _i32, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_token_start": ([_u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_app_request_start": ([_u64, _cp, _cp, _cp, _cp, _cp, U8P, _i64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_execute_many_start": ([_u64, _u64, _cp, _cp, _i64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_from_start": ([_u64, _u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_to_start": ([_u64, _u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_write_start": ([_u64, _u64, _cp, _i64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_write_rows_start": ([_u64, _u64, _cp, _cp, _i64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_read_start": ([_u64, _u64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_copy_end_start": ([_u64, _u64, _cp, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_call_count": ([_u64, _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_call_wait": ([_u64, _i32, _P(_i32), _P(ErrPtr)], _i32),
    "lakelink_call_done": ([_u64, _P(ErrPtr)], _i32),
    "lakelink_call_handle": ([_u64, _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_call_query": ([_u64, _P(_vp), _P(_vp), _P(_i64), _P(_vp), _P(_i64), _P(_u64), _P(ErrPtr)], _i32),
    "lakelink_call_batch": ([_u64, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_call_token": ([_u64, _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
    "lakelink_call_app_response": ([_u64, _P(_i32), _P(_vp), _P(_vp), _P(_i64), _P(ErrPtr)], _i32),
}


def candidates() -> list[Path]:
    """The paths tried, in order."""
    env = os.environ.get("LAKELINK_LIBRARY")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    return [here / LIBRARY_NAME, here.parent.parent.parent / "build" / "out" / LIBRARY_NAME]


_loaded: Optional[tuple[ctypes.CDLL, int]] = None  # the library, and the pid of the process that loaded it
_opened_by: Optional[int] = None  # the pid of the process that began to load it
_load_lock = threading.Lock()


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, once per process).

    In a process forked after its parent began loading it, raises
    InterfaceError: the pid tells, so this holds after any fork, also one
    that ran no Python at-fork hooks (fork() called from C).
    """
    loaded = _loaded
    if loaded is not None and loaded[1] == os.getpid():
        return loaded[0]
    return _load_once()


def _load_once() -> ctypes.CDLL:
    global _loaded, _opened_by
    if _opened_by is not None and _opened_by != os.getpid():
        # Its Go runtime's threads are gone in this child: any call could wait forever.
        raise _forked_error(_opened_by)
    path = _find()
    with _load_lock:
        if _loaded is None:
            _opened_by = os.getpid()
            _loaded = (_open(path), _opened_by)
        return _loaded[0]


def _new_load_lock() -> None:
    # A thread of the parent may have held it at fork; it is not there to release it.
    global _load_lock
    _load_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_load_lock)


class Lock:
    """A re-entrant lock for the calls of one connection, giving the library.

    It checks that this process may use the library before it waits, so
    in a process forked while another thread held it (a thread fork did not
    copy, which will never release it) it raises InterfaceError instead of
    waiting forever.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> ctypes.CDLL:
        loaded = lib()
        self._lock.acquire()
        return loaded

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self._lock.release()


def _forked_error(parent: int) -> errors.InterfaceError:
    return errors.InterfaceError(
        f"lakelink: this process was forked from process {parent} after that one had loaded {LIBRARY_NAME}, "
        "whose Go runtime does not survive fork (a call would hang). Use lakelink only in the child: do not call "
        "it in the parent before forking (with gunicorn --preload, create Apps and connections in the worker, "
        "not at import), or start children with multiprocessing's 'spawn' or 'forkserver' method")


def _find() -> Path:
    tried = candidates()
    path = next((p for p in tried if p.is_file()), None)
    if path is None:
        where = ", ".join(str(p) for p in tried)
        raise errors.InterfaceError(
            f"lakelink: {LIBRARY_NAME} not found (tried {where}); set LAKELINK_LIBRARY to its path, "
            "or run `make build` in the lakelink checkout")
    return path


def _open(path: Path) -> ctypes.CDLL:
    try:
        cdll = ctypes.CDLL(str(path))
    except OSError as e:
        raise errors.InterfaceError(f"lakelink: cannot load {path}: {e}") from None
    for name, (args, res) in _SIGNATURES.items():
        try:
            f = getattr(cdll, name)
        except AttributeError:
            raise errors.InterfaceError(f"lakelink: {path} has no {name}: a library too old for this binding") from None
        f.argtypes, f.restype = args, res
    abi = int(cdll.lakelink_abi_version())
    if abi != ABI_VERSION:
        raise errors.InterfaceError(
            f"lakelink: {path} has ABI version {abi}; this binding needs version {ABI_VERSION}")
    # Once per process: the binding and runtime in the User-Agent of the library's HTTP requests.
    cdll.lakelink_set_user_agent(f"binding/python python/{platform.python_version()}".encode(), None)
    return cdll


def version() -> str:
    """The library's version."""
    v: bytes = lib().lakelink_version()
    return v.decode()


def _s(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "replace") if b else ""


def raise_for(rc: int, err: Any) -> None:
    """Raises the exception for a failed call (freeing the error); returns on success."""
    if rc == errors.OK:
        if err:
            lib().lakelink_error_free(err)
        return
    if not err:
        raise errors.InternalError(f"lakelink: status {rc} without an error", code=rc)
    try:
        e = err.contents
        exc = errors.from_native(int(e.code) or rc, _s(e.message), _s(e.sqlstate), _s(e.diagnosis),
                                 int(e.http_status), _s(e.kind), _s(e.detail), _s(e.hint))
    finally:
        lib().lakelink_error_free(err)
    raise exc


def error_out() -> Any:
    """A fresh out-parameter for a lakelink_error*."""
    return ErrPtr()


def take_string(p: ctypes.c_void_p) -> str:
    """Copies a returned NUL-terminated string and frees it."""
    if not p.value:
        return ""
    try:
        return ctypes.string_at(p.value).decode("utf-8")
    finally:
        lib().lakelink_free(p)


def take_bytes(p: ctypes.c_void_p, n: int) -> bytes:
    """Copies a returned buffer of n bytes and frees it."""
    if not p.value:
        return b""
    try:
        return ctypes.string_at(p.value, n)
    finally:
        lib().lakelink_free(p)


def cstr(s: Optional[str]) -> Optional[bytes]:
    """A Python string as a C string argument (None stays NULL)."""
    if s is None:
        return None
    if "\x00" in s:
        raise errors.InterfaceError("lakelink: a string argument holds a NUL character")
    return s.encode("utf-8")


class Queue:
    """A queue of completed asynchronous calls (lakelink_queue_*): ``fd`` becomes readable when calls
    complete; :meth:`take` returns their handles."""

    __slots__ = ("handle", "fd", "_ids", "_n", "_refs", "_take")

    TAKE = 256  # call handles taken per crossing

    def __init__(self) -> None:
        fd, h, err = ctypes.c_int32(), ctypes.c_uint64(), error_out()
        lib_ = lib()
        raise_for(lib_.lakelink_queue_open(ctypes.byref(fd), ctypes.byref(h), ctypes.byref(err)), err)
        self.handle, self.fd = int(h.value), int(fd.value)
        self._ids = (ctypes.c_uint64 * self.TAKE)()
        self._n = ctypes.c_int32()
        self._refs = (self._ids, self.TAKE, ctypes.byref(self._n))
        self._take = lib_.lakelink_queue_take

    def take(self) -> list[int]:
        """The handles of the calls completed since the last take (every one: until none is left)."""
        out: list[int] = []
        while True:
            err = ErrPtr()
            raise_for(self._take(self.handle, *self._refs, ctypes.byref(err)), err)
            n = self._n.value
            out.extend(self._ids[:n])
            if n < self.TAKE:
                return out

    def close(self) -> None:
        """Closes the queue and its descriptor (calls still running complete unannounced)."""
        h, self.handle = self.handle, 0
        if h:
            err = error_out()
            raise_for(lib().lakelink_queue_close(h, ctypes.byref(err)), err)
