"""lakelink.django against short_ttl_emulator: the test project in django_project/ (an app with a model) migrates,
and ORM create/read/update/delete work, also on a connection opened after the first one's credential expired;
as a connection string, as inside a Databricks App (DATABRICKS_* and NAME/HOST/PORT), with Django's pool; dbshell.

Django runs in subprocesses (manage.py): its settings are the process's.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
from typing import Any, Optional

import pytest
from conftest import PKG, SHORT_TTL

PROJECT = PKG / "tests" / "django_project"


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Runs manage.py with args in the test project, lakelink from this checkout; fails on a non-zero exit."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "LAKELINK_TEST_"))}
    base["PYTHONPATH"] = os.pathsep.join([str(PKG), str(PROJECT)])
    r = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env={**base, **env}, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, f"manage.py {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def crud_across_expiry(env: dict[str, str], prefix: str) -> dict[str, Any]:
    manage(env, "migrate", "--noinput")
    seen: dict[str, Any] = json.loads(manage(env, "crud", prefix, "--wait", str(SHORT_TTL + 0.5)).stdout)
    assert seen["after"]["user"] == seen["first"]["user"]
    return seen


@pytest.fixture(scope="module")
def sp_id(short_ttl_emulator: dict[str, Any]) -> str:
    client_id: str = short_ttl_emulator["service_principal"]["client_id"]
    return client_id


def test_connection_string(short_ttl_conn: str, sp_id: str) -> None:
    seen = crud_across_expiry({"LAKELINK_TEST_CONN": short_ttl_conn}, "cs")
    assert seen["first"]["user"] == sp_id and not seen["pooled"]
    assert seen["after"]["pid"] != seen["first"]["pid"]  # a new session, logged in with a fresh credential


def test_app_environment(short_ttl_emulator: dict[str, Any], sp_id: str) -> None:
    """Inside an App: no connection string; the identity from DATABRICKS_*, the database from NAME/HOST/PORT (the
    workspace token is the password)."""
    lb, sp = short_ttl_emulator["lakebase"], short_ttl_emulator["service_principal"]
    env = {"DATABRICKS_HOST": short_ttl_emulator["workspace_url"], "DATABRICKS_CLIENT_ID": sp["client_id"],
           "DATABRICKS_CLIENT_SECRET": sp["client_secret"], "LAKELINK_TEST_NAME": lb["database"],
           "LAKELINK_TEST_HOST": lb["host"], "LAKELINK_TEST_PORT": str(lb["port"])}
    seen = crud_across_expiry(env, "app")
    assert seen["first"]["user"] == sp_id and seen["after"]["pid"] != seen["first"]["pid"]


def test_pool(short_ttl_conn: str) -> None:
    """Django's pool (OPTIONS "pool") opens a connection after expiry with a fresh credential."""
    seen = crud_across_expiry({"LAKELINK_TEST_CONN": short_ttl_conn, "LAKELINK_TEST_POOL": "1"}, "pool")
    assert seen["pooled"] and len(set(seen["pids"])) == 3 and seen["opened_before"] <= 2
    assert seen["pool_stats"]["connections_num"] > seen["opened_before"]
    assert seen["pool_stats"].get("connections_errors", 0) == 0


def _psql_dir() -> Optional[str]:
    if shutil.which("psql"):
        return None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return os.path.dirname(found[-1]) if found else None


def test_dbshell(short_ttl_conn: str, sp_id: str) -> None:
    """manage.py dbshell runs psql with the current credential."""
    env = {"LAKELINK_TEST_CONN": short_ttl_conn}
    where = _psql_dir()
    if where:
        env["PATH"] = where + os.pathsep + os.environ.get("PATH", "")
    elif not shutil.which("psql"):
        pytest.skip("no psql")
    out = manage(env, "dbshell", "--", "-At", "-c", "SELECT current_user").stdout
    assert out.strip() == sp_id


def test_settings_mapping() -> None:
    pytest.importorskip("django")
    from django.core.exceptions import ImproperlyConfigured

    from lakelink.django.base import lakebase_settings

    assert lakebase_settings({"NAME": "db", "HOST": "h", "PORT": 5433, "USER": "", "PASSWORD": "",
                              "OPTIONS": {"connection_string": "Instance=i"}}) == \
        ("Instance=i", {"Database": "db", "Server": "h", "Port": 5433})
    assert lakebase_settings({"NAME": None, "OPTIONS": {}}) == (None, {"Database": "postgres"})
    with pytest.raises(ImproperlyConfigured, match="PASSWORD"):
        lakebase_settings({"NAME": "db", "PASSWORD": "static", "OPTIONS": {}})


def test_debug_page_hides_the_connection_string_secret() -> None:
    """Django's technical 500 page (DEBUG=True) shows settings.DATABASES, hiding only keys named like SECRET or
    PASS: once the backend has the settings, OPTIONS["connection_string"] shows normalized, secrets as ***, and so
    does the connection string in the local variables of lakelink's frames when the login fails."""
    pytest.importorskip("django")
    secret = "s3cr3t-xyzzy-4711"
    script = textwrap.dedent("""
        import sys
        import django
        from django.conf import settings
        urlpatterns = []
        databases = {"default": {"ENGINE": "lakelink.django", "NAME": "db",
                                 "OPTIONS": {"connection_string": sys.argv[1]}}}
        settings.configure(DEBUG=True, SECRET_KEY="k", ALLOWED_HOSTS=["*"], ROOT_URLCONF="__main__",
                           DATABASES=databases)
        django.setup()
        from django.db import connections
        from django.test import RequestFactory
        from django.views.debug import ExceptionReporter, technical_500_response

        wrapper = connections["default"]
        request = RequestFactory().get("/")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
        print(technical_500_response(request, *exc_info).content.decode())
        print(ExceptionReporter(request, *exc_info).get_traceback_text())
        try:  # the login fails in the core: the page shows the local variables of lakelink's frames
            wrapper.get_connection_params()
        except Exception:
            print(technical_500_response(request, *sys.exc_info()).content.decode())
        print(repr(settings.DATABASES))
        print(wrapper.settings_dict["OPTIONS"]["connection_string"] == sys.argv[1])
    """)
    conn = f"Host=https://ws.example;OAuthClientSecret={secret};AuthScheme=Token;Server=db.example;Instance=my-db"
    env = {**os.environ, "PYTHONPATH": str(PKG)}
    r = subprocess.run([sys.executable, "-c", script, conn], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout and secret not in r.stderr
    assert r.stdout.count("OAuthClientSecret=***") >= 4 and "Instance=my-db" in r.stdout
    assert "AuthScheme=Token needs Token" in r.stdout
    assert r.stdout.rstrip().endswith("True")  # the backend reads the string as given
