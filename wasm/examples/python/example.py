"""lakelink.wasm from Python (wasmtime), against a running emulator:

    python example.py build/out/lakelink.wasm [STATE_DIR/emulator.json]

(the emulator.json of `lakelink emulator --state-dir STATE_DIR`; by
default $LAKELINK_TEST_EMULATOR, which wasm/examples/with-emulator.sh sets).

A service principal's token (fetched once, then from the module's cache),
an App call, a 403 with the core's diagnosis, and a Lakebase credential
minted for psql. It checks what it prints, and exits non-zero on a surprise.
"""

import base64
import json
import os
import subprocess
import sys
import time

from lakelink_wasm import Lakelink, LakelinkError, fast_config


def main(wasm: str, emulator_json: str) -> None:
    with open(emulator_json) as f:
        info = json.load(f)
    sp = info["service_principal"]
    conn = f"Host={info['workspace_url']};OAuthClientId={sp['client_id']};OAuthClientSecret={sp['client_secret']}"

    start = time.perf_counter()
    lakelink = Lakelink(wasm, config=fast_config())
    print(f"instantiated {os.path.getsize(wasm)} bytes in {time.perf_counter() - start:.2f}s")

    first = lakelink.call({"op": "token", "conn": conn})
    again = lakelink.call({"op": "token", "conn": conn})
    assert first["access_token"] == again["access_token"], "the second token call should come from the cache"
    print("token: expires at", first["expires_at"])  # RFC 3339, UTC

    who = lakelink.call({"op": "app_request", "conn": conn, "app_url": info["app_url"], "url": "/api/whoami"})
    assert who["status"] == 200
    print("whoami:", base64.b64decode(who["body"]).decode().strip())

    outsider = info["outsider"]
    other = f"Host={info['workspace_url']};OAuthClientId={outsider['client_id']};OAuthClientSecret={outsider['client_secret']}"
    try:
        lakelink.call({"op": "app_request", "conn": other, "app_url": info["app_url"], "url": "/api/whoami"})
        raise AssertionError("the outsider should get a 403")
    except LakelinkError as e:
        assert e.http_status == 403 and e.kind == "forbidden" and "CAN USE" in e.diagnosis, e
        assert outsider["client_secret"] not in str(e) + e.diagnosis
        print("outsider:", e.kind, "-", e.diagnosis)

    lb = info["lakebase"]
    login = lakelink.call({"op": "lakebase_credential",
                           "conn": f"{conn};Server={lb['host']};Port={lb['port']};Instance={lb['instance']}"})
    env = dict(os.environ, PGHOST=login["host"], PGPORT=str(login["port"]), PGDATABASE=login["database"],
               PGUSER=login["user"], PGPASSWORD=login["password"], PGSSLMODE=login["sslmode"])
    psql = subprocess.run(["psql", "-XAtc", "SELECT current_user"], env=env, capture_output=True, text=True, check=True)
    assert psql.stdout.strip() == sp["client_id"], psql.stdout
    print("psql with the minted credential: logged in as", psql.stdout.strip())

    try:
        lakelink.call({"op": "sql", "conn": conn, "sql": "SELECT 1"})
        raise AssertionError("sql should be refused")
    except LakelinkError as e:
        assert e.code == -5 and "not available in the WASI build" in str(e) and "minted credential" in str(e), e
        print("sql refused:", e)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else os.environ["LAKELINK_TEST_EMULATOR"])
