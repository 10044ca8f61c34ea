"""The Python side of `make demo`: the lakelink binding (bindings/python) against the emulator.

An App call with the service principal's connection string, an outsider's call failing with lakelink's diagnosis,
then PEP 249 on Lakebase: a pyformat-parameterized query whose rows come back as Python values.

Usage (from the checkout, as build/demo.sh runs it):
    PYTHONPATH=bindings/python LAKELINK_LIBRARY=build/out/liblakelink.so python3 build/demo/demo.py emulator.json
"""

from __future__ import annotations

import json
import sys

import lakelink


def main(state_file: str) -> None:
    with open(state_file) as f:
        info = json.load(f)

    def m2m(who: str) -> str:
        p = info[who]
        return f"Host={info['workspace_url']};OAuthClientId={p['client_id']};OAuthClientSecret={p['client_secret']}"

    sp, outsider = m2m("service_principal"), m2m("outsider")
    lb = info["lakebase"]
    lakebase = (f"{sp};Server={lb['host']};Port={lb['port']};Instance={lb['instance']};"
                f"SSLMode=verify-full;SSLServerCert={lb['ca_file']}")
    print(f"    lakelink {lakelink.__version__} over liblakelink {lakelink.library_version()}")

    print('    lakelink.App(app_url, "Host=...;OAuthClientId=...;OAuthClientSecret=...").get("/api/whoami")')
    r = lakelink.App(info["app_url"], sp).get("/api/whoami")
    print(f"      -> {r.status} {r.headers.get('Content-Type')}: {json.dumps(r.json())}")

    print("    the outsider (no CAN USE on the app): the same call raises lakelink.AppError")
    try:
        lakelink.App(info["app_url"], outsider).get("/api/whoami")
        raise SystemExit("demo: the outsider's call should have failed")
    except lakelink.AppError as e:
        print(f"      -> status {e.status}, kind {e.kind!r}: {e.message}")
        for line in e.diagnosis.splitlines():
            print(f"         {line}")

    print('    lakelink.connect("...;Server=...;Instance=...") and a cursor, parameters in pyformat:')
    sql = ("SELECT current_user AS principal, %(n)s * 7 AS answer, %(price)s::numeric * 2 AS price, "
           "now() AS at, gen_random_uuid() AS id, '{\"a\": [1, 2]}'::jsonb AS doc, ARRAY[1, 2, 3] AS arr, "
           "%(note)s AS note, NULL::text AS nothing")
    params = {"n": 6, "price": "19.99", "note": "50% off; it's 'quoted'"}
    print(f"      cur.execute({sql!r},\n                  {params!r})")
    with lakelink.connect(lakebase) as conn:
        cur = conn.cursor()
        cur.execute(sql, params)
        assert cur.description is not None
        names = [d[0] for d in cur.description]
        for row in cur:
            for name, value in zip(names, row):
                print(f"      {name:>9} = {value!r:<50} {type(value).__module__}.{type(value).__qualname__}"
                      .replace("builtins.", ""))
        cur.execute("SELECT g AS n, g * 1.5 AS half_again FROM generate_series(1, %s) AS g", (3,))
        print(f"      cur.execute('SELECT ... generate_series(1, %s)', (3,)).fetchall() -> {cur.fetchall()!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: demo.py path/to/emulator.json")
    main(sys.argv[1])
