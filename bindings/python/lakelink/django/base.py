"""The backend: Django's postgresql DatabaseWrapper whose every new connection logs in with a fresh credential.

Settings (``DATABASES["default"]``)::

    "ENGINE": "lakelink.django",
    "OPTIONS": {"connection_string": "Host=...;OAuthClientId=...;OAuthClientSecret=...;Server=...;Instance=..."},

or, inside a Databricks App (the identity from DATABRICKS_*), ``NAME`` and
``HOST`` (and ``PORT``) name the database as for Django's own backend, and
the connection string may be left out. ``NAME``, ``HOST``, ``PORT`` and
``USER``, when given, override the connection string's Database, Server,
Port and User. ``PASSWORD`` must stay empty: the password is the credential.
Django's other OPTIONS apply as with its postgresql backend, ``"pool"``
included (each connection the pool opens gets a fresh credential).
"""

from __future__ import annotations

from typing import Any, Optional

from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.db.backends.base.base import NO_DB_ALIAS  # type: ignore[import-untyped]
from django.db.backends.postgresql import base as _postgresql  # type: ignore[import-untyped]
from django.db.backends.postgresql import client as _client

from .._connstr import Masked
from ..credential import LakebaseCredential, lakebase_credential, psycopg_connection_class

__all__ = ["DatabaseWrapper", "DatabaseClient"]

#: The OPTIONS key of the lakelink connection string (not passed to psycopg).
CONNECTION_STRING = "connection_string"


def mask_connection_string(settings_dict: dict[str, Any]) -> None:
    """Replaces OPTIONS["connection_string"] in place (Django's settings.DATABASES entry itself) by the same string
    whose repr is the normalized one, secrets as ***: Django's debug page (DEBUG=True) hides only settings named
    like API, KEY, SECRET, PASS..., and shows the rest with repr."""
    options: dict[str, Any] = settings_dict.get("OPTIONS") or {}
    value = options.get(CONNECTION_STRING)
    if isinstance(value, str) and not isinstance(value, Masked):
        options[CONNECTION_STRING] = Masked(value)


def lakebase_settings(settings_dict: dict[str, Any]) -> tuple[Optional[str], dict[str, Any]]:
    """The connection string and overrides a DATABASES entry gives lakelink."""
    if settings_dict.get("PASSWORD"):
        raise ImproperlyConfigured(
            "lakelink.django: leave PASSWORD empty: the password is the Lakebase credential lakelink mints "
            "(give the identity in OPTIONS['connection_string'] or DATABRICKS_*)")
    overrides: dict[str, Any] = {}
    name = settings_dict.get("NAME")
    if name is None:  # Django's connection without a database (creating the test database): 'postgres'
        overrides["Database"] = "postgres"
    elif name:
        overrides["Database"] = name
    for setting, key in (("HOST", "Server"), ("PORT", "Port"), ("USER", "User")):
        if settings_dict.get(setting):
            overrides[key] = settings_dict[setting]
    return settings_dict.get("OPTIONS", {}).get(CONNECTION_STRING), overrides


def credential(settings_dict: dict[str, Any]) -> LakebaseCredential:
    """The current credential for a DATABASES entry."""
    conn_str, overrides = lakebase_settings(settings_dict)
    return lakebase_credential(conn_str, **overrides)


class DatabaseClient(_client.DatabaseClient):  # type: ignore[misc]
    """``manage.py dbshell``: psql with the current credential (PGPASSWORD) and TLS settings."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict: dict[str, Any], parameters: list[str]) -> Any:
        cred = credential(settings_dict)
        options = {k: v for k, v in settings_dict["OPTIONS"].items() if k != CONNECTION_STRING}
        options.update(sslmode=cred.sslmode, sslrootcert=cred.sslrootcert)
        return super().settings_to_cmd_args_env(
            {**settings_dict, "NAME": cred.database, "USER": cred.user, "PASSWORD": cred.password,
             "HOST": cred.host, "PORT": cred.port, "OPTIONS": options}, parameters)


class DatabaseWrapper(_postgresql.DatabaseWrapper):  # type: ignore[misc]
    """Django's postgresql backend, logging in with the current Lakebase credential at every new connection."""

    display_name = "Lakebase (lakelink)"
    client_class = DatabaseClient
    settings_dict: dict[str, Any]

    def __init__(self, settings_dict: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        mask_connection_string(settings_dict)  # the first time the backend sees the settings
        super().__init__(settings_dict, *args, **kwargs)

    def get_connection_params(self) -> dict[str, Any]:
        cred = credential(self.settings_dict)
        if self.settings_dict["NAME"] == "":  # the database from the connection string: Django reads NAME too
            self.settings_dict["NAME"] = cred.database
        params: dict[str, Any] = super().get_connection_params()
        params.pop(CONNECTION_STRING, None)
        params.update(cred.psycopg_kwargs())
        return params

    @property
    def pool(self) -> Any:
        """Django's pool (OPTIONS "pool"), its connections of a class that logs in with a fresh credential: the
        password in the pool's kwargs would expire. A connection_class given in OPTIONS["pool"] is kept."""
        options = self.settings_dict["OPTIONS"]
        pool_options = options.get("pool")
        if pool_options and self.alias != NO_DB_ALIAS and self.alias not in self._connection_pools:
            pool_options = {} if pool_options is True else pool_options
            if "connection_class" not in pool_options:
                conn_str, overrides = lakebase_settings(self.settings_dict)
                pool_options = {**pool_options, "connection_class": psycopg_connection_class(conn_str, **overrides)}
                # This wrapper's copy: the pool is made from it once, for every thread's wrapper of the alias.
                self.settings_dict = {**self.settings_dict, "OPTIONS": {**options, "pool": pool_options}}
        return super().pool
