"""No secret in logging output: the core's Logfile at Verbosity 5 (request and response bodies) and Python's logging
at DEBUG.

The flow runs in a fresh Python process so that its token cache is empty and the token exchange itself is logged
(this process's other tests have already fetched tokens for the same principals).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import PKG

FLOW = r"""
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="PYLOG %(name)s %(levelname)s %(message)s")
logging.getLogger().setLevel(logging.DEBUG)
import lakelink

args = json.loads(sys.argv[1])
sp, outsider, lakebase, app_url = args["sp"], args["outsider"], args["lakebase"], args["app_url"]
token = lakelink.token(sp)
logging.getLogger("flow").debug("token %r app %r", token, lakelink.App(app_url, sp))
assert lakelink.App(app_url, sp).get("/api/whoami").status == 200
lakelink.App(app_url, sp).post("/api/echo", json={"hello": "log"})
try:
    lakelink.App(app_url, outsider).get("/api/whoami")
except lakelink.AppError as e:
    logging.getLogger("flow").debug("outsider: %s (%r)", e, e)
else:
    raise SystemExit("the outsider's call should fail")
with lakelink.connect(lakebase) as conn:
    cur = conn.cursor()
    cur.execute("SELECT %s::int AS n", (1,))
    assert cur.fetchall() == [(1,)]
    logging.getLogger("flow").debug("connection %r cursor %r", conn, cur)
    try:
        cur.execute("SELECT no_such_column")
    except lakelink.ProgrammingError as e:
        logging.getLogger("flow").debug("error: %s (%r)", e, e)
        conn.rollback()
print(json.dumps({"token": token.access_token}))
"""


def test_no_secret_in_logs(emulator: dict[str, Any], tmp_path: Path) -> None:
    logfile = tmp_path / "lakelink.log"
    log_props = f"Logfile={logfile};Verbosity=5"
    m2m = {who: (f"Host={emulator['workspace_url']};OAuthClientId={emulator[who]['client_id']};"
                 f"OAuthClientSecret={emulator[who]['client_secret']};{log_props}")
           for who in ("service_principal", "outsider")}
    lb = emulator["lakebase"]
    args = {
        "sp": m2m["service_principal"], "outsider": m2m["outsider"], "app_url": emulator["app_url"],
        "lakebase": (f"{m2m['service_principal']};Server={lb['host']};Port={lb['port']};Instance={lb['instance']};"
                     f"SSLMode=verify-full;SSLServerCert={lb['ca_file']}"),
    }
    env = dict(os.environ, PYTHONPATH=str(PKG), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, "-c", FLOW, json.dumps(args)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"the flow failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    token = json.loads(r.stdout.strip().splitlines()[-1])["token"]
    assert len(token) > 20

    log = logfile.read_text()
    # The log is really at body level, and the token exchange is in it (so the token's absence means something).
    assert 'msg="http request"' in log and "body=" in log, log
    assert "token obtained" in log and "/oidc/v1/token" in log, log
    assert "PYLOG flow DEBUG" in r.stderr  # Python's logging was live at DEBUG

    secrets = {
        "the service principal's client secret": emulator["service_principal"]["client_secret"],
        "the outsider's client secret": emulator["outsider"]["client_secret"],
        "the access token": token,
    }
    for where, text in (("the Logfile", log), ("stderr (Python logging)", r.stderr),
                        ("stdout before the result", "\n".join(r.stdout.strip().splitlines()[:-1]))):
        for what, secret in secrets.items():
            assert secret not in text, f"{what} is in {where}"
        # Every token the emulator issues (access tokens, Lakebase credentials) is a JWT: none may show.
        assert "eyJhbGci" not in text, f"a JWT is in {where}"
