"""The ``postgresql+lakelink`` dialect: SQLAlchemy's PostgreSQL dialect over lakelink's PEP 249 driver.

Built as SQLAlchemy's own psycopg and pg8000 dialects are: PGDialect with the
driver's types. lakelink sends parameters as text for the type the server
infers (TYPES.md, "Parameters"), as pg8000 does, so binds get a cast
(``$1::INTEGER``) where SQLAlchemy knows their type; results come back as
Python objects (numeric as Decimal, timestamptz aware, json parsed, arrays as
lists), as from psycopg.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import exc, util
from sqlalchemy.dialects.postgresql import ranges
from sqlalchemy.dialects.postgresql.array import ARRAY as PGARRAY
from sqlalchemy.dialects.postgresql.base import (INTERVAL, PGCompiler, PGDialect, PGExecutionContext,
                                                 PGIdentifierPreparer)
from sqlalchemy.dialects.postgresql.json import JSON, JSONB, JSONPathType
from sqlalchemy.dialects.postgresql.pg_catalog import INT2VECTOR, OIDVECTOR
from sqlalchemy.dialects.postgresql.types import CITEXT
from sqlalchemy.engine import URL, processors
from sqlalchemy.engine.interfaces import ConnectArgsType, DBAPIConnection, DBAPICursor, IsolationLevel
from sqlalchemy.sql import sqltypes

_FLOAT_OIDS = frozenset((700, 701, 1021, 1022))
_DECIMAL_OIDS = frozenset((1231, 1700))
_INT_OIDS = frozenset((20, 21, 23, 26, 1005, 1007, 1016))

_Processor = Optional[Callable[[Any], Any]]
_TO_FLOAT: _Processor = processors.to_float


class _Numeric(sqltypes.NumericCommon):  # type: ignore[type-arg]
    """numeric comes back as Decimal and float8 as float (as from psycopg); binds pass as they are."""

    render_bind_cast = True

    def bind_processor(self, dialect: Any) -> _Processor:
        return None

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        if self.asdecimal:
            if coltype in _FLOAT_OIDS:
                return processors.to_decimal_processor_factory(decimal.Decimal, self._effective_decimal_return_scale)
            if coltype in _DECIMAL_OIDS or coltype in _INT_OIDS:
                return None
        else:
            if coltype in _FLOAT_OIDS:
                return None
            if coltype in _DECIMAL_OIDS or coltype in _INT_OIDS:
                return _TO_FLOAT
        raise exc.InvalidRequestError(f"Unknown PG numeric type: {coltype}")


class _LLNumeric(_Numeric, sqltypes.Numeric):  # type: ignore[type-arg]
    pass


class _LLFloat(_Numeric, sqltypes.Float):  # type: ignore[type-arg]
    pass


def _json_result(dialect: Any) -> _Processor:
    """lakelink parses json itself; a custom json_deserializer gets the document's text back."""
    load = dialect._json_deserializer
    if load is None:
        return None

    def process(value: Any) -> Any:
        return None if value is None else load(json.dumps(value))
    return process


class _LLJSON(JSON):
    render_bind_cast = True

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        return _json_result(dialect)


class _LLJSONB(JSONB):
    render_bind_cast = True

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        return _json_result(dialect)


class _LLJSONIntIndexType(sqltypes.JSON.JSONIntIndexType):
    __visit_name__ = "json_int_index"
    render_bind_cast = True


class _LLJSONStrIndexType(sqltypes.JSON.JSONStrIndexType):
    __visit_name__ = "json_str_index"
    render_bind_cast = True


class _LLJSONPathType(JSONPathType):
    pass


class _LLString(sqltypes.String):
    render_bind_cast = True


class _LLChar(sqltypes.CHAR):
    render_bind_cast = True


class _SpaceVector:
    """int2vector and oidvector come back as their text ("1 2 3"): a list of ints, as from psycopg."""

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        def process(value: Any) -> Any:
            if value is None or isinstance(value, list):
                return value
            return [int(p) for p in value.split()]
        return process


class _LLINT2VECTOR(_SpaceVector, INT2VECTOR):
    pass


class _LLOIDVECTOR(_SpaceVector, OIDVECTOR):
    pass


class _LLInterval(INTERVAL):
    render_bind_cast = True

    @classmethod
    def adapt_emulated_to_native(cls, interval: Any, **kw: Any) -> _LLInterval:  # type: ignore[override]
        return _LLInterval(precision=interval.second_precision)


class _LLTimeStamp(sqltypes.DateTime):
    render_bind_cast = True


class _LLDate(sqltypes.Date):
    render_bind_cast = True


class _LLTime(sqltypes.Time):
    render_bind_cast = True


class _LLInteger(sqltypes.Integer):
    render_bind_cast = True


class _LLSmallInteger(sqltypes.SmallInteger):
    render_bind_cast = True


class _LLBigInteger(sqltypes.BigInteger):
    render_bind_cast = True


class _LLBoolean(sqltypes.Boolean):
    render_bind_cast = True


class _LLLargeBinary(sqltypes.LargeBinary):
    render_bind_cast = True  # where the server cannot infer bytea (INSERT ... SELECT FROM VALUES)


class _LLARRAY(PGARRAY):  # type: ignore[type-arg]
    render_bind_cast = True


class _LLRange(ranges.AbstractSingleRangeImpl):  # type: ignore[type-arg]
    """Ranges travel as PostgreSQL's text form ("[1,5)") both ways."""

    render_bind_cast = True

    def bind_processor(self, dialect: Any) -> _Processor:
        def process(value: Any) -> Any:
            return _range_text(value) if isinstance(value, ranges.Range) else value
        return process

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        subtype = _subtype_parser(self)

        def process(value: Any) -> Any:
            return None if value is None else _parse_range(value, subtype)
        return process


class _LLMultiRange(ranges.AbstractMultiRangeImpl):  # type: ignore[type-arg]
    """Multiranges travel as PostgreSQL's text form ("{[1,5), [7,9)}") both ways."""

    render_bind_cast = True

    def bind_processor(self, dialect: Any) -> _Processor:
        def process(value: Any) -> Any:
            if isinstance(value, (list, tuple)):
                return "{" + ",".join(_range_text(r) if isinstance(r, ranges.Range) else str(r) for r in value) + "}"
            return value
        return process

    def result_processor(self, dialect: Any, coltype: Any) -> _Processor:
        subtype = _subtype_parser(self)

        def process(value: Any) -> Any:
            if value is None:
                return None
            return ranges.MultiRange(_parse_range(part, subtype) for part in _split_multirange(value))
        return process


def _subtype_parser(range_type: Any) -> Callable[[str], Any]:
    """The parser of a range type's bounds, by its SQL name (INT4RANGE, TSTZMULTIRANGE...)."""
    return _SUBTYPE_PARSERS.get(str(range_type.__visit_name__).upper().replace("MULTIRANGE", "RANGE"), str)


def _range_text(r: ranges.Range[Any]) -> str:
    if r.empty:
        return "empty"
    lower = "" if r.lower is None else _quote_bound(r.lower)
    upper = "" if r.upper is None else _quote_bound(r.upper)
    return f"{r.bounds[0]}{lower},{upper}{r.bounds[1]}"


def _quote_bound(v: Any) -> str:
    text = v.isoformat(sep=" ") if hasattr(v, "hour") and hasattr(v, "date") else str(v)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_range(text: str, subtype: Callable[[str], Any]) -> ranges.Range[Any]:
    if text == "empty":
        return ranges.Range(empty=True)
    lower_text, upper_text = text[1:-1].split(",", 1)
    lower = subtype(lower_text.strip('"')) if lower_text else None
    upper = subtype(upper_text.strip('"')) if upper_text else None
    return ranges.Range(lower, upper, bounds=text[0] + text[-1])  # type: ignore[arg-type]


def _split_multirange(text: str) -> list[str]:
    parts: list[str] = []
    body = text.strip()[1:-1]
    depth_start = None
    quoted = False
    for i, ch in enumerate(body):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[(":
            depth_start = i
        elif not quoted and ch in "])" and depth_start is not None:
            parts.append(body[depth_start:i + 1])
            depth_start = None
    return parts


def _parse_datetime(text: str) -> dt.datetime:
    if len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit():  # "+00": Python < 3.11 wants "+00:00"
        text += ":00"
    return dt.datetime.fromisoformat(text)


_SUBTYPE_PARSERS: dict[str, Callable[[str], Any]] = {
    "INT4RANGE": int, "INT8RANGE": int, "NUMRANGE": decimal.Decimal,
    "DATERANGE": dt.date.fromisoformat, "TSRANGE": _parse_datetime, "TSTZRANGE": _parse_datetime,
}


def _refuse_secret(key: str, given: str) -> None:
    """Refuses a URL query property that holds a secret, by lakelink's own rule: one whose value
    lakelink_connstr_normalize shows masked (a secret property such as OAuthClientSecret, Token or
    Password as ***, a URL's password in Host...). SQLAlchemy masks only the URL's password: its
    query shows in repr(engine), str(engine.url) and echo logs. The error never shows the value."""
    import lakelink
    from lakelink import _connstr, _proto
    try:
        shown: dict[str, str] = _proto.normalize(_connstr.build("", {key: given}))["properties"]
    except lakelink.Error as e:  # the core's errors never show a secret value
        raise exc.ArgumentError(f"postgresql+lakelink: the URL's query parameter {key!r}: {e}") from e
    for name, value in shown.items():
        if value != given and "***" in value:
            raise exc.ArgumentError(
                f"postgresql+lakelink: the URL's query gives the property {name}, which holds a secret: "
                "SQLAlchemy shows the query (repr(engine), str(engine.url), echo logs), masking only the URL's "
                f'password; give it in connect_args={{"connection_string": "...;{name}=..."}} or, for the '
                "identity, in DATABRICKS_* in the environment")


class LakelinkExecutionContext(PGExecutionContext):
    """Execution context: a "server side" cursor is a lakelink cursor, which always streams (see the README)."""

    def create_server_side_cursor(self) -> DBAPICursor:
        return self._dbapi_connection.cursor()


class LakelinkCompiler(PGCompiler):
    pass


class LakelinkIdentifierPreparer(PGIdentifierPreparer):
    pass


class LakelinkDialect(PGDialect):
    """SQLAlchemy's PostgreSQL dialect over lakelink (``postgresql+lakelink://``).

    The URL names the server and the connection-string properties:
    ``postgresql+lakelink://SERVER:PORT/DATABASE?Instance=my-db`` (any property as a query
    parameter; the identity from DATABRICKS_* as inside an App, or from
    properties such as ``OAuthClientId``), or ``postgresql+lakelink://`` with
    ``connect_args={"connection_string": "Host=...;..."}`` (both may be combined:
    URL parts override the string's properties). A user and password in the
    URL become ``User`` and ``Password``. A secret property (OAuthClientSecret,
    Token...) in the URL's query is refused (ArgumentError): SQLAlchemy shows the
    query; give it in the connection string of ``connect_args``.
    """

    driver = "lakelink"
    supports_statement_cache = True
    supports_server_side_cursors = True
    default_paramstyle = "pyformat"
    supports_sane_multi_rowcount = True
    supports_native_json_serialization = False
    supports_native_json_deserialization = True
    dialect_injects_custom_json_deserializer = True  # _json_result applies it
    render_bind_cast = True
    execution_ctx_cls = LakelinkExecutionContext
    statement_compiler = LakelinkCompiler
    preparer = LakelinkIdentifierPreparer

    colspecs = util.update_copy(
        PGDialect.colspecs,
        {
            sqltypes.String: _LLString,
            sqltypes.CHAR: _LLChar,
            INT2VECTOR: _LLINT2VECTOR,
            OIDVECTOR: _LLOIDVECTOR,
            sqltypes.Numeric: _LLNumeric,
            sqltypes.Float: _LLFloat,
            sqltypes.JSON: _LLJSON,
            JSON: _LLJSON,
            JSONB: _LLJSONB,
            CITEXT: CITEXT,
            sqltypes.JSON.JSONPathType: _LLJSONPathType,
            sqltypes.JSON.JSONIntIndexType: _LLJSONIntIndexType,
            sqltypes.JSON.JSONStrIndexType: _LLJSONStrIndexType,
            sqltypes.Interval: _LLInterval,
            INTERVAL: _LLInterval,
            sqltypes.Date: _LLDate,
            sqltypes.DateTime: _LLTimeStamp,
            sqltypes.Time: _LLTime,
            sqltypes.Integer: _LLInteger,
            sqltypes.SmallInteger: _LLSmallInteger,
            sqltypes.BigInteger: _LLBigInteger,
            sqltypes.Boolean: _LLBoolean,
            sqltypes.LargeBinary: _LLLargeBinary,
            sqltypes.ARRAY: _LLARRAY,
            ranges.AbstractSingleRange: _LLRange,
            ranges.AbstractMultiRange: _LLMultiRange,
        },
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        if self._native_inet_types:
            raise exc.ArgumentError("lakelink returns inet and cidr as text: native_inet_types=True is not supported")

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        import lakelink
        return lakelink

    @classmethod
    def get_async_dialect_cls(cls, url: URL) -> type[PGDialect]:
        """create_async_engine("postgresql+lakelink://...") gets the async dialect, as with psycopg."""
        from .asyncio import LakelinkAsyncDialect
        return LakelinkAsyncDialect

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """lakelink.connect(**properties): the URL's host, port, database, user and password, and its query."""
        props: dict[str, Any] = {}
        for key, value in (("Server", url.host), ("Port", url.port), ("Database", url.database),
                           ("User", url.username), ("Password", url.password)):
            if value is not None and value != "":
                props[key] = value
        for key, given in url.query.items():
            if not isinstance(given, str):
                raise exc.ArgumentError(f"the URL gives the property {key!r} more than once")
            _refuse_secret(key, given)
            props[key] = given
        return [], props

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        """A lost session: lakelink's own rule (SQLSTATE 08/57P, no answer from the server), or a closed connection."""
        import lakelink
        from lakelink.connection import _lost
        if not isinstance(e, lakelink.Error):
            return False
        return _lost(e) or bool(getattr(connection, "closed", False))

    def get_isolation_level_values(self, dbapi_connection: DBAPIConnection) -> Sequence[IsolationLevel]:
        return ("AUTOCOMMIT", "READ COMMITTED", "READ UNCOMMITTED", "REPEATABLE READ", "SERIALIZABLE")

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: IsolationLevel) -> None:
        if level == "AUTOCOMMIT":
            dbapi_connection.autocommit = True
            return
        dbapi_connection.autocommit = False
        self._set_session(dbapi_connection, f"ISOLATION LEVEL {level}")

    def _set_session(self, dbapi_connection: DBAPIConnection, characteristic: str) -> None:
        """SET SESSION CHARACTERISTICS, committed through the driver (never a COMMIT statement under its feet)."""
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION {characteristic}")
        finally:
            cur.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()

    def _show(self, dbapi_connection: DBAPIConnection, setting: str) -> Any:
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"SHOW {setting}")
            row = cur.fetchone()
        finally:
            cur.close()
        return row[0] if row else None

    def detect_autocommit_setting(self, dbapi_conn: DBAPIConnection) -> bool:
        return bool(dbapi_conn.autocommit)

    def set_readonly(self, connection: Any, value: bool) -> None:
        self._set_session(connection, "READ ONLY" if value else "READ WRITE")

    def get_readonly(self, connection: Any) -> bool:
        return bool(self._show(connection, "transaction_read_only") == "on")

    def set_deferrable(self, connection: Any, value: bool) -> None:
        self._set_session(connection, "DEFERRABLE" if value else "NOT DEFERRABLE")

    def get_deferrable(self, connection: Any) -> bool:
        return bool(self._show(connection, "transaction_deferrable") == "on")

    def do_ping(self, dbapi_connection: DBAPIConnection) -> bool:
        """SELECT 1 in autocommit mode (as the psycopg dialect), so that the ping opens no transaction."""
        before = dbapi_connection.autocommit
        if not before:
            dbapi_connection.autocommit = True
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SELECT 1")
        finally:
            cur.close()
            if not before and not dbapi_connection.closed:
                dbapi_connection.autocommit = False
        return True


dialect = LakelinkDialect
