"""The library's operations, each runnable blocking or started and collected asynchronously.

An operation (``Op``) is one call of liblakelink: ``run()`` calls the
blocking export; ``start(queue)`` calls its ``*_start`` export, returning a
call handle at once, and ``collect(call)`` reads the answer once the call
completed (lakelink.h, "Asynchronous calls"). Both forms give the same
answer and raise the same errors, so statement logic is written once, as
generators that yield operations (:func:`execute`, :func:`next_rows`), and
driven by :func:`run` (sync) or :meth:`lakelink.aio._loop.Completions.drive`
(asyncio). Connection and cursor classes use these, never ctypes.
"""

from __future__ import annotations

import ctypes
import json
from collections.abc import Generator
from typing import Any, Generic, NamedTuple, Optional, TypeVar

from . import _batch, _native, _params, errors

T = TypeVar("T")

BATCH_ROWS = 2000  # rows per batch read from the library


class Column(NamedTuple):
    """One item of ``Cursor.description`` (a 7-item sequence, as PEP 249 wants)."""

    name: str
    type_code: int
    display_size: Optional[int] = None
    internal_size: Optional[int] = None
    precision: Optional[int] = None
    scale: Optional[int] = None
    null_ok: Optional[bool] = None


_descriptions: dict[str, Optional[tuple[Column, ...]]] = {}


def _description(columns_json: str) -> Optional[tuple[Column, ...]]:
    """The description for a result's columns JSON (None for a statement without rows), cached per JSON text."""
    if columns_json not in _descriptions:
        if len(_descriptions) >= 512:
            _descriptions.clear()
        cols = json.loads(columns_json or "[]")
        _descriptions[columns_json] = tuple(Column(str(c["name"]), int(c["type_oid"])) for c in cols) or None
    return _descriptions[columns_json]


# lakelink.h's LAKELINK_STEP_* values.
BEGIN, COMMIT, ROLLBACK, CANCEL, AUTOCOMMIT_ON, AUTOCOMMIT_OFF, CLOSE, DISCARD = range(1, 9)
_STEP_EXPORTS = {BEGIN: "lakelink_begin", COMMIT: "lakelink_commit", ROLLBACK: "lakelink_rollback",
                 CANCEL: "lakelink_cancel", CLOSE: "lakelink_close", DISCARD: "lakelink_discard"}


class Op(Generic[T]):
    """One library call: blocking (run) or started on a queue and collected (start, collect)."""

    def run(self) -> T:
        raise NotImplementedError

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        raise NotImplementedError

    def start(self, queue: int) -> int:
        """Starts the call on queue; returns its call handle. Argument errors raise here."""
        call, err = ctypes.c_uint64(), _native.error_out()
        _native.raise_for(self._start(_native.lib(), queue, ctypes.byref(call), ctypes.byref(err)), err)
        return int(call.value)

    def start_wait(self, queue: int, timeout_us: int) -> tuple[int, Any]:
        """Starts the call on queue and waits for it at most timeout_us microseconds on this thread (the
        thread yields between looks): (0, answer) if it completed (raising its error), else (call, None), the
        call to collect once the queue says it completed."""
        call = self.start(queue)
        done, err = ctypes.c_int32(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_call_wait(call, timeout_us, ctypes.byref(done), ctypes.byref(err)),
                          err)
        return (0, self.collect(call)) if done.value else (call, None)

    def collect(self, call: int) -> T:
        """The completed call's answer (raises its error)."""
        raise NotImplementedError

    def abandon(self, value: T) -> None:
        """Releases what a call whose awaiting task was cancelled opened (a connection, a result)."""


class _HandleOp(Op[int]):
    """An operation whose answer is a new handle (connection or pool)."""

    def _run(self, lib: Any, out: Any, err: Any) -> int:
        raise NotImplementedError

    def run(self) -> int:
        h, err = ctypes.c_uint64(), _native.error_out()
        _native.raise_for(self._run(_native.lib(), ctypes.byref(h), ctypes.byref(err)), err)
        return int(h.value)

    def collect(self, call: int) -> int:
        h, err = ctypes.c_uint64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_call_handle(call, ctypes.byref(h), ctypes.byref(err)), err)
        return int(h.value)


class Connect(_HandleOp):
    """lakelink_connect: a session of its own."""

    def __init__(self, conn_str: str) -> None:
        self.conn_str = _native.cstr(conn_str)

    def _run(self, lib: Any, out: Any, err: Any) -> int:
        return int(lib.lakelink_connect(self.conn_str, out, err))

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_connect_start(queue, self.conn_str, call, err))

    def abandon(self, value: int) -> None:
        Step(value, CLOSE).run()


class PoolOpen(_HandleOp):
    """lakelink_pool_open."""

    def __init__(self, conn_str: str) -> None:
        self.conn_str = _native.cstr(conn_str)

    def _run(self, lib: Any, out: Any, err: Any) -> int:
        return int(lib.lakelink_pool_open(self.conn_str, out, err))

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_pool_open_start(queue, self.conn_str, call, err))

    def abandon(self, value: int) -> None:
        pool_close(value)


class Acquire(_HandleOp):
    """lakelink_pool_acquire: a pool's session (an App user's, given their token)."""

    def __init__(self, pool: int, user_token: Optional[str]) -> None:
        self.pool, self.token = pool, _native.cstr(user_token)

    def _run(self, lib: Any, out: Any, err: Any) -> int:
        return int(lib.lakelink_pool_acquire(self.pool, self.token, out, err))

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_pool_acquire_start(queue, self.pool, self.token, call, err))

    def abandon(self, value: int) -> None:
        Step(value, CLOSE).run()


class Step(Op[None]):
    """A step on a session without an answer: begin, commit, rollback, cancel, autocommit, close, discard."""

    def __init__(self, conn: int, step: int) -> None:
        self.conn, self.step = conn, step

    def run(self) -> None:
        lib, err = _native.lib(), _native.error_out()
        if self.step in (AUTOCOMMIT_ON, AUTOCOMMIT_OFF):
            rc = lib.lakelink_set_autocommit(self.conn, 1 if self.step == AUTOCOMMIT_ON else 0, ctypes.byref(err))
        else:
            rc = getattr(lib, _STEP_EXPORTS[self.step])(self.conn, ctypes.byref(err))
        _native.raise_for(rc, err)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_session_start(queue, self.conn, self.step, call, err))

    def collect(self, call: int) -> None:
        _collect_done(call)


def _collect_done(call: int) -> None:
    err = _native.error_out()
    _native.raise_for(_native.lib().lakelink_call_done(call, ctypes.byref(err)), err)


class QueryAnswer(NamedTuple):
    """What a statement's call gives: its columns, first batch (still encoded: the cursor decodes it, and
    drops the result if that fails), and (when complete) status."""

    description: Optional[tuple[Column, ...]]
    raw: bytes  # the first batch, b"" for none
    result: int  # the open result's handle, 0 when the rows all came
    statusmessage: Optional[str]  # set when result is 0
    rowcount: int  # set when result is 0, else -1


class QueryOutputs:
    """lakelink_query's out-parameters (a cursor keeps one: a call holds the connection's lock)."""

    __slots__ = ("cols", "batch", "tag", "blen", "count", "res", "refs")

    def __init__(self) -> None:
        self.cols, self.batch, self.tag = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        self.blen, self.count, self.res = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_uint64()
        self.refs = tuple(ctypes.byref(x) for x in (self.cols, self.batch, self.blen, self.tag, self.count, self.res))

    def answer(self) -> QueryAnswer:
        """Takes (and frees) the outputs."""
        result = int(self.res.value)
        columns_json = _native.take_string(self.cols)
        raw = _native.take_bytes(self.batch, self.blen.value)
        tag = _native.take_string(self.tag)
        try:
            description = _description(columns_json)
        except BaseException:
            if result:
                close_result(result)
            raise
        if result:
            return QueryAnswer(description, raw, result, None, -1)
        return QueryAnswer(description, raw, 0, tag or None, int(self.count.value))


class Query(Op[QueryAnswer]):
    """lakelink_query: runs a statement and reads its columns and first batch."""

    def __init__(self, conn: int, sql: str, params: Optional[bytes], outputs: Optional[QueryOutputs] = None,
                 max_rows: int = BATCH_ROWS) -> None:
        self.conn, self.sql, self.params, self.max_rows = conn, _native.cstr(sql), params, max_rows
        self.outputs = outputs

    def run(self) -> QueryAnswer:
        o, err = self.outputs or QueryOutputs(), _native.error_out()
        p = self.params
        _native.raise_for(_native.lib().lakelink_query(self.conn, self.sql, p, len(p) if p else 0, self.max_rows,
                                                       _batch.FORMAT_C, *o.refs, ctypes.byref(err)), err)
        return o.answer()

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        p = self.params
        return int(lib.lakelink_query_start(queue, self.conn, self.sql, p, len(p) if p else 0, self.max_rows,
                                            _batch.FORMAT_C, call, err))

    def start_wait(self, queue: int, timeout_us: int) -> tuple[int, Any]:
        # One crossing: lakelink_query_start_wait starts, waits and, if the statement completed, collects.
        o, err = self.outputs or QueryOutputs(), _native.error_out()
        call, done, p = ctypes.c_uint64(), ctypes.c_int32(), self.params
        rc = _native.lib().lakelink_query_start_wait(queue, self.conn, self.sql, p, len(p) if p else 0, self.max_rows,
                                                     _batch.FORMAT_C, timeout_us, ctypes.byref(call),
                                                     ctypes.byref(done), *o.refs, ctypes.byref(err))
        _native.raise_for(rc, err)
        return (0, o.answer()) if done.value else (int(call.value), None)

    def collect(self, call: int) -> QueryAnswer:
        o, err = self.outputs or QueryOutputs(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_call_query(call, *o.refs, ctypes.byref(err)), err)
        return o.answer()

    def abandon(self, value: QueryAnswer) -> None:
        if value.result:
            close_result(value.result)


class NextBatch(Op[Optional[bytes]]):
    """lakelink_result_next_batch: the next encoded rows, None at the end."""

    def __init__(self, result: int, max_rows: int = BATCH_ROWS) -> None:
        self.result, self.max_rows = result, max_rows

    def run(self) -> Optional[bytes]:
        p, n, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_result_next_batch(self.result, self.max_rows, _batch.FORMAT_C,
                                                                   ctypes.byref(p), ctypes.byref(n),
                                                                   ctypes.byref(err)), err)
        return _native.take_bytes(p, n.value) if p.value else None

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_result_next_batch_start(queue, self.result, self.max_rows, _batch.FORMAT_C, call,
                                                        err))

    def collect(self, call: int) -> Optional[bytes]:
        return _collect_bytes(call)


def _collect_bytes(call: int) -> Optional[bytes]:
    """lakelink_call_batch: the bytes a completed call gave (a batch, a COPY's block), None for none."""
    p, n, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_call_batch(call, ctypes.byref(p), ctypes.byref(n), ctypes.byref(err)),
                      err)
    return _native.take_bytes(p, n.value) if p.value else None


class CloseResult(Op[None]):
    """lakelink_result_close: discards the rows not read (reading them from the server)."""

    def __init__(self, result: int) -> None:
        self.result = result

    def run(self) -> None:
        close_result(self.result)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_result_close_start(queue, self.result, call, err))

    def collect(self, call: int) -> None:
        try:
            _collect_done(call)
        except errors.Error:
            pass  # as close_result: the rows' error was (or will not be) reported by a read


class TokenAnswer(NamedTuple):
    """lakelink_token's answer."""

    token: str  # a secret: left out of repr (a traceback that shows locals shows it)
    expires: int  # Unix seconds, 0 when unknown

    def __repr__(self) -> str:
        return f"TokenAnswer(token='***', expires={self.expires})"


class GetToken(Op[TokenAnswer]):
    """lakelink_token."""

    def __init__(self, conn_str: str) -> None:
        self.conn_str = _native.cstr(conn_str)

    def run(self) -> TokenAnswer:
        p, exp, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_token(self.conn_str, ctypes.byref(p), ctypes.byref(exp),
                                                       ctypes.byref(err)), err)
        return TokenAnswer(_native.take_string(p), int(exp.value))

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_token_start(queue, self.conn_str, call, err))

    def collect(self, call: int) -> TokenAnswer:
        p, exp, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_call_token(call, ctypes.byref(p), ctypes.byref(exp),
                                                            ctypes.byref(err)), err)
        return TokenAnswer(_native.take_string(p), int(exp.value))


class AppAnswer(NamedTuple):
    """An app call's answer: set on an HTTP failure too, with the error to raise (after reading them)."""

    status: int
    headers: dict[str, list[str]]
    content: bytes
    error: Optional[BaseException]


class AppRequest(Op[AppAnswer]):
    """lakelink_app_request. Its answer carries the error rather than raising it: the caller attaches the
    response to it."""

    def __init__(self, conn_str: str, app_url: str, method: str, url: str, headers_json: Optional[str],
                 body: Optional[bytes]) -> None:
        self.args = (_native.cstr(conn_str), _native.cstr(app_url), _native.cstr(method), _native.cstr(url),
                     _native.cstr(headers_json))
        self.body: Any = None
        self.body_len = len(body) if body else 0
        if body:
            self.body = ctypes.cast((ctypes.c_uint8 * len(body)).from_buffer_copy(body), _native.U8P)

    def _outputs(self) -> tuple[Any, ...]:
        return ctypes.c_int32(), ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()

    def _answer(self, rc: int, status: Any, hp: Any, bp: Any, blen: Any, err: Any) -> AppAnswer:
        headers_json = _native.take_string(hp)
        content = _native.take_bytes(bp, blen.value)
        error: Optional[BaseException] = None
        try:
            _native.raise_for(rc, err)
        except errors.Error as e:
            error = e
        return AppAnswer(int(status.value), json.loads(headers_json) if headers_json else {}, content, error)

    def run(self) -> AppAnswer:
        status, hp, bp, blen, err = self._outputs()
        rc = _native.lib().lakelink_app_request(*self.args, self.body, self.body_len, ctypes.byref(status),
                                                ctypes.byref(hp), ctypes.byref(bp), ctypes.byref(blen),
                                                ctypes.byref(err))
        return self._answer(rc, status, hp, bp, blen, err)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_app_request_start(queue, *self.args, self.body, self.body_len, call, err))

    def collect(self, call: int) -> AppAnswer:
        status, hp, bp, blen, err = self._outputs()
        rc = _native.lib().lakelink_call_app_response(call, ctypes.byref(status), ctypes.byref(hp), ctypes.byref(bp),
                                                      ctypes.byref(blen), ctypes.byref(err))
        return self._answer(rc, status, hp, bp, blen, err)


class ExecuteMany(Op[int]):
    """lakelink_execute_many: one statement over parameter rows, one pipelined batch; the rows affected."""

    def __init__(self, conn: int, sql: str, rows: bytes) -> None:
        self.conn, self.sql, self.rows = conn, _native.cstr(sql), rows

    def run(self) -> int:
        n, err = ctypes.c_int64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_execute_many(self.conn, self.sql, self.rows, len(self.rows),
                                                              ctypes.byref(n), ctypes.byref(err)), err)
        return int(n.value)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_execute_many_start(queue, self.conn, self.sql, self.rows, len(self.rows), call, err))

    def collect(self, call: int) -> int:
        return _collect_count(call)


def _collect_count(call: int) -> int:
    n, err = ctypes.c_int64(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_call_count(call, ctypes.byref(n), ctypes.byref(err)), err)
    return int(n.value)


class CopyStart(_HandleOp):
    """lakelink_copy_from ("in") or lakelink_copy_to ("out"): the COPY's handle."""

    def __init__(self, conn: int, sql: str, direction: str) -> None:
        self.conn, self.sql, self.out = conn, _native.cstr(sql), direction == "out"

    def _run(self, lib: Any, out: Any, err: Any) -> int:
        return int((lib.lakelink_copy_to if self.out else lib.lakelink_copy_from)(self.conn, self.sql, out, err))

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        f = lib.lakelink_copy_to_start if self.out else lib.lakelink_copy_from_start
        return int(f(queue, self.conn, self.sql, call, err))

    def abandon(self, value: int) -> None:
        try:
            CopyEnd(value, "cancelled").run()
        except errors.Error:
            pass


class CopyWrite(Op[None]):
    """lakelink_copy_write_rows (rows in format "pickle" or "params") or, format None, lakelink_copy_write
    (bytes in the COPY's own format)."""

    def __init__(self, copy: int, data: bytes, format: Optional[bytes]) -> None:
        self.copy, self.data, self.format = copy, data, format

    def _args(self) -> tuple[Any, ...]:
        if self.format is None:
            return self.copy, self.data, len(self.data)
        return self.copy, self.format, self.data, len(self.data)

    def run(self) -> None:
        lib, err = _native.lib(), _native.error_out()
        f = lib.lakelink_copy_write if self.format is None else lib.lakelink_copy_write_rows
        _native.raise_for(f(*self._args(), ctypes.byref(err)), err)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        f = lib.lakelink_copy_write_start if self.format is None else lib.lakelink_copy_write_rows_start
        return int(f(queue, *self._args(), call, err))

    def collect(self, call: int) -> None:
        _collect_done(call)


class CopyRead(Op[bytes]):
    """lakelink_copy_read: the next chunk of whole rows, b"" at the end."""

    def __init__(self, copy: int) -> None:
        self.copy = copy

    def run(self) -> bytes:
        p, n, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
        _native.raise_for(_native.lib().lakelink_copy_read(self.copy, ctypes.byref(p), ctypes.byref(n),
                                                           ctypes.byref(err)), err)
        return _native.take_bytes(p, n.value)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_copy_read_start(queue, self.copy, call, err))

    def collect(self, call: int) -> bytes:
        return _collect_bytes(call) or b""


class CopyEnd(Op[int]):
    """lakelink_copy_end: ends a COPY (aborting a COPY FROM with a reason); the rows copied."""

    def __init__(self, copy: int, abort: Optional[str]) -> None:
        self.copy, self.abort = copy, _native.cstr(abort)

    def run(self) -> int:
        n, err = ctypes.c_int64(-1), _native.error_out()
        _native.raise_for(_native.lib().lakelink_copy_end(self.copy, self.abort, ctypes.byref(n), ctypes.byref(err)),
                          err)
        return int(n.value)

    def _start(self, lib: Any, queue: int, call: Any, err: Any) -> int:
        return int(lib.lakelink_copy_end_start(queue, self.copy, self.abort, call, err))

    def collect(self, call: int) -> int:
        return _collect_count(call)


# ---- quick calls (no waiting on the network): always blocking ----

def close_result(result: int) -> None:
    """Closes a result whose rows were all read (or whose error is known), ignoring its error."""
    err = _native.error_out()
    _native.lib().lakelink_result_close(result, ctypes.byref(err))
    if err:
        _native.lib().lakelink_error_free(err)


def normalize(conn_str: str) -> dict[str, Any]:
    """lakelink_connstr_normalize's answer: {"normalized": ..., "properties": {...}} (secrets as ***)."""
    p, err = ctypes.c_void_p(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_connstr_normalize(_native.cstr(conn_str), ctypes.byref(p),
                                                               ctypes.byref(err)), err)
    answer: dict[str, Any] = json.loads(_native.take_string(p))
    return answer


def result_status(result: int) -> tuple[Optional[str], int]:
    """A finished result's command tag (None when empty) and rows affected."""
    tag, count, err = ctypes.c_void_p(), ctypes.c_int64(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_result_status(result, ctypes.byref(tag), ctypes.byref(count),
                                                           ctypes.byref(err)), err)
    return _native.take_string(tag) or None, int(count.value)


def pool_stats(pool: int) -> dict[str, Any]:
    """lakelink_pool_stats's counts and settings."""
    p, err = ctypes.c_void_p(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_pool_stats(pool, ctypes.byref(p), ctypes.byref(err)), err)
    stats: dict[str, Any] = json.loads(_native.take_string(p))
    return stats


def session_idle(conn: int) -> bool:
    """lakelink_session_idle: whether the session could serve another holder as it is (it does not wait)."""
    idle, err = ctypes.c_int32(), _native.error_out()
    _native.raise_for(_native.lib().lakelink_session_idle(conn, ctypes.byref(idle), ctypes.byref(err)), err)
    return bool(idle.value)


def pool_close(pool: int) -> None:
    """lakelink_pool_close (it does not wait: acquired sessions close when given back)."""
    err = _native.error_out()
    _native.raise_for(_native.lib().lakelink_pool_close(pool, ctypes.byref(err)), err)


# ---- statement logic, shared by the sync and async drivers ----

Gen = Generator[Op[Any], Any, T]


def execute(conn: int, operation: str, parameters: Optional[_params.Params],
            outputs: Optional[QueryOutputs] = None) -> Gen[QueryAnswer]:
    """Runs operation (``%s`` / ``%(name)s`` placeholders) with parameters on session conn: one crossing
    runs the statement and returns its columns and first batch; a result with more rows stays open."""
    sql, values = _params.convert(operation, parameters)
    buf = _params.encode(values) if parameters is not None else None
    answer: QueryAnswer = yield Query(conn, sql, buf, outputs)
    return answer


class Status(NamedTuple):
    """A result read to its end: its command tag and rows affected."""

    statusmessage: Optional[str]
    rowcount: int


def execute_many(conn: int, operation: str, seq_of_parameters: Any) -> Gen[int]:
    """Runs operation once per parameter set as one pipelined batch; the rows affected (0 for no sets)."""
    sql, rows, n = _params.encode_rows(operation, seq_of_parameters)
    if n == 0:
        return 0
    count: int = yield ExecuteMany(conn, sql, rows)
    return count


def finish(result: int) -> Status:
    """Reads a result's status once its rows ended, and closes it."""
    try:
        return Status(*result_status(result))
    finally:
        close_result(result)


def run(gen: Gen[T]) -> T:
    """Drives a statement generator with blocking calls."""
    try:
        op = next(gen)
        while True:
            try:
                value = op.run()
            except BaseException as e:
                op = gen.throw(e)
            else:
                op = gen.send(value)
    except StopIteration as stop:
        result: T = stop.value
        return result
