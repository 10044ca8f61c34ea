"""PEP 249 exceptions, and the mapping from the C ABI's errors to them.

Server errors carry ``sqlstate`` (``pgcode`` is an alias, as in psycopg2)
and the server's message. Messages come from the core, which never puts a
secret in them.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError", "AppError", "Diagnostic",
]

# The C ABI's status codes (lakelink.h).
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_INVALID_HANDLE = -2
ERR_CONNECTION_STRING = -3
ERR_AUTH = -4
ERR_DATABASE = -5
ERR_APP = -6
ERR_INTERNAL = -7


class Warning(Exception):  # noqa: A001 - the PEP 249 name
    """Important warnings (PEP 249)."""


class Diagnostic:
    """The server's fields of an error, under psycopg's names (``e.diag``).

    ``sqlstate``, ``message_detail`` (the DETAIL, such as "Key (id)=(1)
    already exists.") and ``message_hint``; None when the server sent none.
    """

    __slots__ = ("sqlstate", "message_detail", "message_hint")

    def __init__(self, sqlstate: Optional[str] = None, detail: Optional[str] = None,
                 hint: Optional[str] = None) -> None:
        self.sqlstate: Optional[str] = sqlstate or None
        self.message_detail: Optional[str] = detail or None
        self.message_hint: Optional[str] = hint or None

    def __repr__(self) -> str:
        return (f"Diagnostic(sqlstate={self.sqlstate!r}, message_detail={self.message_detail!r}, "
                f"message_hint={self.message_hint!r})")


class Error(Exception):
    """The base class of every lakelink error (PEP 249).

    ``diag`` holds the server's SQLSTATE, DETAIL and HINT (psycopg's
    ``e.diag.message_detail`` and ``message_hint``).
    """

    def __init__(self, message: str = "", *, sqlstate: Optional[str] = None, code: int = 0,
                 detail: Optional[str] = None, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.sqlstate: Optional[str] = sqlstate or None
        self.code: int = code
        self.diag: Diagnostic = Diagnostic(sqlstate, detail, hint)

    @property
    def pgcode(self) -> Optional[str]:
        """The SQLSTATE, under psycopg2's name."""
        return self.sqlstate

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = f", sqlstate={self.sqlstate!r}" if self.sqlstate else ""
        return f"{type(self).__name__}({self.message!r}{extra})"


class InterfaceError(Error):
    """An error of the interface (the binding or library) rather than the database."""


class DatabaseError(Error):
    """An error of the database."""


class DataError(DatabaseError):
    """A problem with the data: division by zero, a value out of range, a value Python cannot hold."""


class OperationalError(DatabaseError):
    """An error in the database's operation: lost connection, authentication, cancellation."""


class IntegrityError(DatabaseError):
    """A constraint was violated (SQLSTATE class 23)."""


class InternalError(DatabaseError):
    """The database (or lakelink) is in an inconsistent state."""


class ProgrammingError(DatabaseError):
    """A mistake in the program: SQL syntax, a missing table, wrong parameters."""


class NotSupportedError(DatabaseError):
    """A feature the database does not support."""


class AppError(Error):
    """A failed Databricks App call.

    ``status`` is the HTTP status (0 for a network error), ``message`` what
    failed, ``diagnosis`` why and what to check, ``kind`` one of
    unauthorized, forbidden, not_found, login_redirect, network,
    not_api_path, other_host, too_large (an answer over 64 MiB), http.
    ``response`` is the app's response when there was one (its body may
    explain).
    """

    def __init__(self, message: str, *, status: int = 0, diagnosis: str = "", kind: str = "",
                 response: Optional[object] = None, code: int = ERR_APP) -> None:
        super().__init__(message, code=code)
        self.status: int = status
        self.diagnosis: str = diagnosis
        self.kind: str = kind
        self.response: Optional[object] = response

    def __str__(self) -> str:
        if self.diagnosis:
            return f"{self.message}\n{self.diagnosis}"
        return self.message

    def __repr__(self) -> str:
        return f"AppError(status={self.status}, kind={self.kind!r}, message={self.message!r})"


class ConnectionErrors:
    """PEP 249's optional extension, for the sync and async connections: the exceptions as attributes
    (``except conn.IntegrityError``)."""

    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError


_CLASSES: dict[str, type[DatabaseError]] = {
    "01": DatabaseError,  # warnings are not raised as errors; keep generic
    "02": DatabaseError,
    "03": ProgrammingError, "0A": NotSupportedError,
    "08": OperationalError, "09": InternalError, "0B": InternalError, "0F": InternalError,
    "0L": ProgrammingError, "0P": ProgrammingError, "0Z": InternalError,
    "20": ProgrammingError, "21": ProgrammingError, "22": DataError, "23": IntegrityError,
    "24": InternalError, "25": InternalError, "26": InternalError, "27": OperationalError,
    "28": OperationalError, "2B": InternalError, "2D": InternalError, "2F": InternalError,
    "34": ProgrammingError, "38": InternalError, "39": InternalError, "3B": InternalError,
    "3D": ProgrammingError, "3F": ProgrammingError, "40": OperationalError, "42": ProgrammingError,
    "44": ProgrammingError, "53": OperationalError, "54": OperationalError, "55": OperationalError,
    "57": OperationalError, "58": OperationalError, "72": InternalError, "F0": InternalError,
    "HV": OperationalError, "P0": InternalError, "XX": InternalError,
}


def class_for_sqlstate(sqlstate: str) -> type[DatabaseError]:
    """The PEP 249 class for a SQLSTATE, by its two-character class."""
    return _CLASSES.get(sqlstate[:2].upper(), DatabaseError)


def from_native(code: int, message: str, sqlstate: str = "", diagnosis: str = "", http_status: int = 0,
                kind: str = "", detail: str = "", hint: str = "") -> Error:
    """Builds the exception for a failed C ABI call."""
    if code == ERR_APP:
        return AppError(message, status=http_status, diagnosis=diagnosis, kind=kind)
    if sqlstate:
        return class_for_sqlstate(sqlstate)(message, sqlstate=sqlstate, code=code, detail=detail, hint=hint)
    if code in (ERR_INVALID_ARGUMENT, ERR_INVALID_HANDLE):
        return InterfaceError(message, code=code)
    if code == ERR_CONNECTION_STRING:
        return ProgrammingError(message, code=code)
    if code in (ERR_AUTH, ERR_DATABASE):
        return OperationalError(message, code=code)
    if code == ERR_INTERNAL:
        return InternalError(message, code=code)
    return Error(message, code=code)
