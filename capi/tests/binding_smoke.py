"""A smoke test of the Python binding (bindings/python/lakelink, standard
library only) on the platform it runs on: it imports lakelink from the
checkout, gets a service principal's token, calls the emulator's app and
queries its Lakebase. harness_test.go runs it after smoke.py, with
PYTHONPATH at bindings/python and:

    LAKELINK_LIBRARY   the library for this platform
    LAKELINK_SP        a service principal's connection string
    LAKELINK_APP_URL   the emulator's app
    LAKELINK_LAKEBASE  a Lakebase connection string
"""

import os
import platform
import sys

import lakelink

print(f"-- Python {platform.python_version()} on {platform.machine()}, lakelink {lakelink.__version__}, "
      f"library {lakelink.library_version()}")

tok = lakelink.token(os.environ["LAKELINK_SP"])
assert tok.access_token, "no token"
print("-- a service principal's token")

app = lakelink.App(os.environ["LAKELINK_APP_URL"], os.environ["LAKELINK_SP"])
resp = app.get("/api/whoami")
assert resp.status == 200, resp.status
print("-- the app's /api/whoami:", resp.status)

with lakelink.connect(os.environ["LAKELINK_LAKEBASE"]) as conn:
    cur = conn.cursor()
    cur.execute("SELECT 1 + %s, 'é' || %s, current_user", (41, "t"))
    row = cur.fetchone()
    assert row[0] == 42 and row[1] == "ét", row
    print("-- Lakebase:", row[0], row[1], "as", row[2])

print("PASS binding_smoke.py")
sys.exit(0)
