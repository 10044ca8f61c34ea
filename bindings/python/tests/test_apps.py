"""Apps, tokens and the OAuth procedures, against the emulator."""

import datetime as dt
import importlib.util
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import lakelink


def test_whoami(emulator, sp_conn):
    app = lakelink.App(emulator["app_url"], sp_conn)
    r = app.get("/api/whoami")
    assert r.status == 200 and r.ok
    body = r.json()
    assert emulator["service_principal"]["client_id"] in r.text
    assert isinstance(body, dict)
    assert "content-type" in r.headers and r.headers["Content-Type"].startswith("application/json")


def test_echo_post_json(emulator, sp_conn):
    app = lakelink.App(emulator["app_url"], sp_conn)
    r = app.post("/api/echo", json={"hello": "wörld", "n": [1, 2]}, headers={"X-Test": "1"})
    assert r.status == 200
    echoed = r.json()
    assert json.loads(echoed["body"]) == {"hello": "wörld", "n": [1, 2]}
    assert echoed["headers"]["X-Test"] == ["1"]
    assert echoed["headers"]["Content-Type"] == ["application/json"]
    r2 = app.request("POST", "/api/echo", data=b"raw-bytes")
    assert b"raw-bytes" in r2.content


def test_outsider_forbidden(emulator, outsider_conn):
    secret = emulator["outsider"]["client_secret"]
    app = lakelink.App(emulator["app_url"], outsider_conn)
    with pytest.raises(lakelink.AppError) as e:
        app.get("/api/whoami")
    err = e.value
    assert err.status == 403 and err.kind == "forbidden"
    assert "CAN USE" in err.diagnosis
    assert err.response is not None and err.response.status == 403
    for t in (str(err), repr(err), err.message, err.diagnosis):
        assert secret not in t


def test_not_found(emulator, sp_conn):
    with pytest.raises(lakelink.AppError) as e:
        lakelink.App(emulator["app_url"], sp_conn).get("/api/no-such-route")
    assert e.value.status == 404 and e.value.kind == "not_found"
    assert e.value.diagnosis


def test_unauthorized_token(emulator):
    app = lakelink.App(emulator["app_url"], "AuthScheme=Token;Token=not-a-real-token")
    with pytest.raises(lakelink.AppError) as e:
        app.get("/api/whoami")
    assert e.value.status == 401 and e.value.kind == "unauthorized"
    assert "not-a-real-token" not in str(e.value) + repr(e.value)


def test_non_api_path_refused(emulator, sp_conn):
    with pytest.raises(lakelink.AppError) as e:
        lakelink.App(emulator["app_url"], sp_conn).get("/index.html")
    assert e.value.kind == "not_api_path"


ROUTING_TABLE = Path(__file__).resolve().parents[3] / "core" / "apps" / "testdata" / "routing.json"


def _routing_rows() -> list:
    return json.loads(ROUTING_TABLE.read_text(encoding="utf-8"))["rows"]


@pytest.mark.parametrize("row", _routing_rows(), ids=lambda r: r["why"])
def test_routing_table(emulator, sp_conn, row):
    """The core decides where the token goes, for every row of the table every binding reads."""
    port = urllib.parse.urlsplit(emulator["app_url"]).port
    app_url, url = (row[k].replace("{port}", str(port)) for k in ("app", "url"))
    try:
        lakelink.App(app_url, sp_conn).get(url)
        got = "allowed"
    except lakelink.AppError as e:
        got = e.kind if e.kind in ("other_host", "not_api_path") else "allowed"  # sent: the answer failed
    except lakelink.InterfaceError:
        got = "invalid"
    assert got == row["want"], f"app {app_url!r}, url {url!r}"


def test_token_never_reaches_another_host(emulator, sp_conn):
    """The issue's case: an absolute URL of another host is refused before anything is sent to it."""
    with socket.socket() as other:
        other.bind(("127.0.0.2", 0))
        other.listen()
        other.settimeout(0.5)
        with pytest.raises(lakelink.AppError) as e:
            lakelink.App(emulator["app_url"], sp_conn).get(f"http://127.0.0.2:{other.getsockname()[1]}/api/x")
        assert e.value.kind == "other_host"
        with pytest.raises(socket.timeout):
            other.accept()


def test_query_with_scheme_is_a_relative_reference(emulator, sp_conn):
    r = lakelink.App(emulator["app_url"], sp_conn).get("/api/echo?next=http://x", params={"b": "1"})
    assert r.json()["query"] == {"next": ["http://x"], "b": ["1"]}


def test_repr_hides_what_the_url_must_not_carry(sp_conn):
    app = lakelink.App("https://alice:pw-s3cret@my-app.example.com/?token=q-s3cret", sp_conn)
    assert repr(app) == "<lakelink.App https://my-app.example.com/?[REDACTED]>"
    with pytest.raises(lakelink.InterfaceError) as e:
        app.get("/api/x")
    assert "s3cret" not in str(e.value)


def test_cleartext_to_the_internet_refused(sp_conn):
    with pytest.raises(lakelink.InterfaceError, match="only for a local emulator"):
        lakelink.App("http://my-app-123.databricksapps.com", sp_conn).get("/api/x")


def test_properties_as_keywords(emulator):
    sp = emulator["service_principal"]
    app = lakelink.App(emulator["app_url"], Host=emulator["workspace_url"], OAuthClientId=sp["client_id"],
                       OAuthClientSecret=sp["client_secret"])
    assert app.get("/api/whoami").status == 200
    assert sp["client_secret"] not in repr(app)


def test_token(emulator, sp_conn):
    tok, expires = lakelink.token(sp_conn)
    assert len(tok) > 20
    assert expires is not None and expires > dt.datetime.now(dt.timezone.utc)
    t = lakelink.token(sp_conn)
    assert t.access_token == tok  # cached
    assert tok not in repr(t) and tok not in str(t)


def test_inside_a_databricks_app(emulator):
    """DATABRICKS_* injected: App(url).get(...) with no connection string (a child process, clean env)."""
    sp = emulator["service_principal"]
    env = dict(os.environ, DATABRICKS_HOST=emulator["workspace_url"], DATABRICKS_CLIENT_ID=sp["client_id"],
               DATABRICKS_CLIENT_SECRET=sp["client_secret"], PYTHONPATH=os.path.dirname(lakelink.__path__[0]))
    for k in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_TOKEN"):
        env.pop(k, None)
    code = ("import lakelink,sys; r=lakelink.App(sys.argv[1]).get('/api/whoami'); "
            "print(r.status); tok, exp = lakelink.token(); print(len(tok) > 20)")
    out = subprocess.run([sys.executable, "-c", code, emulator["app_url"]], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200", "True"]


def _sign_in(authorization_url):
    """Plays the browser at the emulator (which signs the user in at once): the callback URL it is sent to."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(authorization_url, timeout=10)
    assert e.value.code // 100 == 3
    return e.value.headers["Location"]


def test_oauth_procedures_end_to_end(emulator):
    host = f"Host={emulator['workspace_url']}"
    callback = "http://127.0.0.1:8765/callback"
    a = lakelink.get_oauth_authorization_url(host, callback_url=callback)
    assert set(a) >= {"URL", "State", "PKCEVerifier"}
    loc = _sign_in(a["URL"])
    assert loc.startswith(callback + "?")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    assert q["state"] == [a["State"]]
    code = q["code"][0]

    t = lakelink.get_oauth_access_token(host, verifier=code, auth_mode="WEB", callback_url=callback,
                                        pkce_verifier=a["PKCEVerifier"])
    assert set(t) >= {"OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn", "Scope"}
    assert int(t["ExpiresIn"]) > 60
    with pytest.raises(lakelink.OperationalError) as e2:  # codes are single use
        lakelink.get_oauth_access_token(host, verifier=code, callback_url=callback, pkce_verifier=a["PKCEVerifier"])
    assert code not in str(e2.value)

    r = lakelink.refresh_oauth_access_token(host, t["OAuthRefreshToken"])
    assert r["OAuthRefreshToken"] != t["OAuthRefreshToken"]
    r2 = lakelink.refresh_oauth_access_token(host, OAuthRefreshToken=r["OAuthRefreshToken"])
    assert r2["OAuthAccessToken"]
    with pytest.raises(lakelink.OperationalError) as e3:  # rotated out
        lakelink.refresh_oauth_access_token(host, t["OAuthRefreshToken"])
    assert t["OAuthRefreshToken"] not in str(e3.value) + repr(e3.value)


def test_oauth_verifier_is_the_code_or_the_whole_callback_url(emulator):
    host = f"Host={emulator['workspace_url']}"
    callback = "http://127.0.0.1:8765/callback"
    a = lakelink.get_oauth_authorization_url(host, callback_url=callback)
    back = _sign_in(a["URL"])
    code = urllib.parse.parse_qs(urllib.parse.urlparse(back).query)["code"][0]
    with pytest.raises(lakelink.OperationalError) as e:  # another sign-in's callback: refused before the code is sent
        lakelink.get_oauth_access_token(host, verifier=back, callback_url=callback, state="another-sign-in",
                                        pkce_verifier=a["PKCEVerifier"])
    assert "state" in str(e.value) and code not in str(e.value)
    denied = callback + "?error=access_denied&error_description=the+user+denied+the+request&state=" + a["State"]
    with pytest.raises(lakelink.OperationalError, match="access_denied: the user denied the request"):
        lakelink.get_oauth_access_token(host, verifier=denied, callback_url=callback, state=a["State"],
                                        pkce_verifier=a["PKCEVerifier"])
    t = lakelink.get_oauth_access_token(host, verifier=back, callback_url=callback, state=a["State"],
                                        pkce_verifier=a["PKCEVerifier"])
    assert t["OAuthAccessToken"] and t["OAuthRefreshToken"]


def test_oauth_through_callproc(emulator, conn):
    cur = conn.cursor()
    cur.callproc("GetOAuthAuthorizationUrl", {"ConnectionString": f"Host={emulator['workspace_url']}",
                                              "CallbackURL": "http://127.0.0.1:8765/callback"})
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert "URL" in names and row[names.index("URL")].startswith(emulator["workspace_url"])


@pytest.mark.skipif(importlib.util.find_spec("requests") is None, reason="requests is not installed")
def test_requests_bearer_auth(emulator, sp_conn):
    import requests

    auth = lakelink.BearerAuth(sp_conn)
    assert isinstance(auth, requests.auth.AuthBase)
    r = requests.get(emulator["app_url"] + "/api/whoami", auth=auth, timeout=30)
    assert r.status_code == 200
    assert emulator["service_principal"]["client_secret"] not in repr(auth)


@pytest.mark.skipif(importlib.util.find_spec("httpx") is None, reason="httpx is not installed")
def test_httpx_auth(emulator, sp_conn):
    import httpx

    auth = lakelink.HttpxAuth(sp_conn)
    r = httpx.get(emulator["app_url"] + "/api/whoami", auth=auth, timeout=30)
    assert r.status_code == 200


def test_adapters_not_imported_at_load():
    code = "import sys, lakelink; print('requests' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=os.path.dirname(lakelink.__path__[0])))
    assert out.stdout.split() == ["False", "False"], out.stderr
