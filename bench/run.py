"""`make bench`: lakelink against the peers users would otherwise pick.

Starts the emulator, runs every workload (workloads.py) for lakelink and its
peer side by side, each run a fresh process, repeating them interleaved
(lakelink first on even rounds, the peer first on odd ones) so that the
noise of a shared machine falls on both; then writes bench/results.json and
the generated part of bench/RESULTS.md (between its "generated" markers;
the rest of that file is written by hand).

    python bench/run.py [--reps 7] [--smoke] [--only NAME,...] [--no-write]

--smoke runs each workload once, tiny, and writes nothing: a check that the
runner and the workloads work (make test runs it). --only and --no-write
write nothing either.

Query workloads go to the emulator's PostgreSQL directly, with
AuthScheme=Password, so that the emulator's gateway does not dominate;
app and token workloads go to the emulator, and so do the pool workloads
(as an App's user, whose forwarded token the runner gets from the app's
proxy, against the App's own sessions: both through the gateway). For the "token already cached"
workload the runner signs the emulator's user in once, headless, into a
token store, and mints a Lakebase credential for psycopg. Run with the bench
virtualenv's Python (psycopg[binary], requests), as `make bench` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = REPO / "build" / "out"
NODE = BENCH / "node"
GOFETCH = OUT / "bench-gofetch"


@dataclass
class Workload:
    name: str
    peer: str
    target: float  # the highest ratio lakelink/peer that meets the target
    lakelink: list[str]  # argv of one lakelink run
    peer_cmd: list[str]  # argv of one peer run
    needs_node_binding: bool = False
    # Emulator calls (endpoint: count, as /_emulator/stats names them) each
    # lakelink run must make; endpoints not named may be called any number of times.
    lakelink_calls: Optional[dict[str, int]] = None
    times: dict[str, list[float]] = field(default_factory=lambda: {"lakelink": [], "peer": []})
    checks: dict[str, Any] = field(default_factory=dict)
    skipped: Optional[str] = None


def py(*args: str) -> list[str]:
    return [sys.executable, str(BENCH / "workloads.py"), *args]


def pysqla(*args: str) -> list[str]:
    return [sys.executable, str(BENCH / "workloads_sqla.py"), *args]


def pya(*args: str) -> list[str]:
    return [sys.executable, str(BENCH / "workloads_async.py"), *args]


def node(*args: str) -> list[str]:
    return ["node", str(NODE / "workloads.js"), *args]


def workloads(smoke: bool) -> list[Workload]:
    return [
        Workload("python: fetch 1M rows (int8, float8, text, timestamptz, numeric), fetchall", "psycopg 3 (C)", 0.8,
                 py("fetch", "lakelink"), py("fetch", "psycopg")),
        Workload("python: 10,000 single-row SELECT %s round trips, one connection", "psycopg 3 (C)", 1.0,
                 py("roundtrips", "lakelink"), py("roundtrips", "psycopg")),
        Workload("python: executemany of 20,000 three-column rows (int8, text, float8), committed", "psycopg 3 (C)",
                 0.8, py("executemany", "lakelink"), py("executemany", "psycopg")),
        Workload("python: COPY 1M three-column rows in, cursor.copy().write_row", "psycopg 3 (C) cursor.copy", 1.0,
                 py("copy-in", "lakelink"), py("copy-in", "psycopg")),
        Workload("python: COPY 1M rows out (the fetch workload's five columns), every block read",
                 "psycopg 3 (C) cursor.copy", 1.0, py("copy-out", "lakelink"), py("copy-out", "psycopg")),
        Workload("python: 10,000 single-row SELECT %s through ConnectionPool.connection(as_user=token), each "
                 "acquire + execute + fetch + give back, warm per-user pool (Lakebase gateway)",
                 "the same through the App's own sessions, connection()", 1.10,
                 py("pool", "as_user"), py("pool", "app")),
        Workload("python: import + connect + first query (no token to get: AuthScheme=Password)", "psycopg 3", 1.2,
                 py("startup", "lakelink"), py("startup", "psycopg")),
        Workload("python: import + connect + first query, token already cached (OAuthPKCE, Lakebase gateway, "
                 "verify-full; lakelink mints the credential)", "psycopg 3, credential minted beforehand", 1.2,
                 py("startup-cached", "lakelink"), py("startup-cached", "psycopg"),
                 lakelink_calls={"token": 0, "database-credentials": 1}),
        Workload("python: SQLAlchemy ORM, 10,000 objects added and committed, then selected back",
                 "postgresql+psycopg (psycopg 3)", 0.9, pysqla("orm", "lakelink"), pysqla("orm", "psycopg")),
        Workload("python: pandas.read_sql of the 1M-row fetch through an engine", "postgresql+psycopg (psycopg 3)",
                 0.8, pysqla("pandas", "lakelink"), pysqla("pandas", "psycopg")),
        Workload("python asyncio: fetch 1M rows, same columns (lakelink.aio fetchall)", "asyncpg 0.32 (fetch)", 1.0,
                 pya("async-fetch", "lakelink"), pya("async-fetch", "asyncpg")),
        Workload("python asyncio: 10,000 sequential single-row SELECT $1 round trips, one connection",
                 "asyncpg 0.32 (fetchrow)", 1.0,
                 pya("async-roundtrips", "lakelink"), pya("async-roundtrips", "asyncpg")),
        Workload("python asyncio: 10,000 single-row queries, 100 at a time, pool of 10 (acquire, run, release)",
                 "asyncpg 0.32 pool", 1.0,
                 pya("async-pool", "lakelink"), pya("async-pool", "asyncpg")),
        Workload("node: fetch 1M rows, same columns", "pg", 0.8,
                 node("fetch", "lakelink"), node("fetch", "pg"), needs_node_binding=True),
        Workload("node: COPY 1M three-column rows in (text, 1,000-row chunks), client.copyFrom",
                 "pg + pg-copy-streams", 1.0, node("copy-in", "lakelink"), node("copy-in", "pg"),
                 needs_node_binding=True),
        Workload("node: 10,000 single-row round trips, one session (Client)", "pg (Client)", 1.0,
                 node("roundtrips", "lakelink"), node("roundtrips", "pg"), needs_node_binding=True),
        Workload("node: fetch 1M rows, same columns, vs Postgres.js", "Postgres.js 3.4 (max: 1, .values())", 1.0,
                 node("fetch", "lakelink"), node("fetch", "postgres"), needs_node_binding=True),
        Workload("node: 10,000 single-row round trips, one session (Client), vs Postgres.js",
                 "Postgres.js (max: 1, prepared)", 1.0,
                 node("roundtrips", "lakelink"), node("roundtrips", "postgres"), needs_node_binding=True),
        Workload("node: 10,000 single-row SELECT $1::int, 100 at a time, pool of 10 (Pool.query)",
                 "Postgres.js (max: 10)", 1.0,
                 node("pool100", "lakelink"), node("pool100", "postgres"), needs_node_binding=True),
        Workload("node: 10,000 single-row SELECT $1::int, 100 at a time, pool of 10 (Pool.query), vs pg.Pool",
                 "pg.Pool (max: 10)", 1.0,
                 node("pool100", "lakelink"), node("pool100", "pg"), needs_node_binding=True),
        Workload("node: 10,000 single-row SELECT $1 through pool.asUser(token).query, warm per-user pool "
                 "(Lakebase gateway)", "the same through the App's own sessions, pool.query", 1.10,
                 node("pool", "as_user"), node("pool", "app"), needs_node_binding=True),
        Workload("node: 10,000 single-row SELECT $1 through a pg.Pool of 10 (10 at a time, sessions logged in "
                 "beforehand, Lakebase gateway) configured by lakelink's pgConfig (password an async function)",
                 "pg.Pool with a static password, a credential minted beforehand", 1.05,
                 node("pgconfig", "lakelink"), node("pgconfig", "pg"), needs_node_binding=True,
                 lakelink_calls={"database-credentials": 1}),
        Workload("go: fetch 1M rows through lakebase Result.NextBatch (columnar)", "raw pgx (rows.Values)", 1.05,
                 [str(GOFETCH), "-impl", "lakelink"], [str(GOFETCH), "-impl", "pgx"]),
        Workload("go: database/sql fetch 1M rows, same columns, scanned into typed variables, through "
                 "sql.Open(\"lakelink\", connection string)", "pgx stdlib (database/sql), static password", 1.05,
                 [str(GOFETCH), "-impl", "sql-lakelink"], [str(GOFETCH), "-impl", "sql-pgx"]),
        Workload("python: 10,000 GET /api/echo through lakelink.App", "requests.Session, static bearer", 0.7,
                 py("echo", "lakelink"), py("echo", "requests")),
        Workload("node: 10,000 GET /api/echo through App.fetch", "fetch, static bearer", 1.0,
                 node("echo", "lakelink"), node("echo", "fetch"), needs_node_binding=True),
    ]


# ---- the emulator ----

class Emulator:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="lakelink-bench-"))
        self.log = open(self.dir / "emulator.log", "wb")
        # User authorization on (user API scope sql): the app's proxy forwards X-Forwarded-Access-Token.
        self.proc = subprocess.Popen([str(OUT / "lakelink"), "emulator", "--state-dir", str(self.dir),
                                      "--app-user-scopes", "sql"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        info = self.dir / "emulator.json"
        deadline = time.monotonic() + 120
        self.info: Any = None
        while self.info is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "emulator.log").read_text()
                self.stop()
                sys.exit(f"bench: the emulator did not start:\n{log}")
            try:
                self.info = json.loads(info.read_text())
            except (OSError, ValueError):
                time.sleep(0.1)

    def stats(self) -> Any:
        with urllib.request.urlopen(self.info["admin_url"] + "/stats") as r:
            return json.load(r)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def config(info: Any, smoke: bool) -> dict[str, Any]:
    """What the workloads need: connection strings (secrets: passed in the environment, never shown)."""
    lb = info["lakebase"]
    u = urllib.parse.urlparse(lb["postgres_url"])
    sp = (f"Host={info['workspace_url']};OAuthClientId={info['service_principal']['client_id']};"
          f"OAuthClientSecret={info['service_principal']['client_secret']}")
    gateway = (f"Server={lb['host']};Port={lb['port']};Instance={lb['instance']};"
               f"SSLMode=verify-full;SSLServerCert={lb['ca_file']}")
    # The user's login: Host, the default client and scopes and OAuthSettingsLocation key the token store.
    user = (f"Host={info['workspace_url']};AuthScheme=OAuthPKCE;InitiateOAuth=REFRESH;"
            f"OAuthSettingsLocation={Path(info['state_dir']) / 'user-tokens.json'}")
    return {
        "pg_url": lb["postgres_url"],
        "lakelink_pg": (f"AuthScheme=Password;Server={u.hostname};Port={u.port};Database={u.path.lstrip('/')};"
                        f"User={urllib.parse.unquote(u.username or '')};"
                        f"Password={urllib.parse.unquote(u.password or '')};SSLMode=disable"),
        "sp": sp,
        "gateway": f"{sp};{gateway}",
        "user": user,
        "lakelink_user_gateway": f"{user};User={info['user']['email']};{gateway}",
        "app_url": info["app_url"],
        "app_user_email": "bench-app-user@example.com",
        "rows": 2000 if smoke else 1_000_000,
        "n": 50 if smoke else 10_000,
        "bulk_rows": 200 if smoke else 20_000,
        "connects": 20 if smoke else 200,
        "threads": 16,
    }


def env(cfg: dict[str, Any]) -> dict[str, str]:
    e = dict(os.environ)
    e["LAKELINK_BENCH_CONFIG"] = json.dumps(cfg)
    # LAKELINK_BENCH_PYTHONPATH runs another copy of the binding (an older
    # one, for before/after figures); LAKELINK_LIBRARY, another library.
    e["PYTHONPATH"] = os.environ.get("LAKELINK_BENCH_PYTHONPATH", str(REPO / "bindings" / "python"))
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    return e


def run(argv: list[str], e: dict[str, str]) -> dict[str, Any]:
    p = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:3])} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def node_binding_ready() -> Optional[str]:
    """None when bindings/node can be loaded, else why not."""
    if not (REPO / "bindings" / "node" / "package.json").exists():
        return "bindings/node does not exist yet"
    p = subprocess.run(["node", "-e", f"require({json.dumps(str(REPO / 'bindings' / 'node'))})"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.splitlines() if "Error" in ln] or p.stderr.strip().splitlines() or ["?"]
        return "bindings/node does not load: " + lines[0].strip()
    return None


# ---- the user's cached token ----

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def user_login(user: str) -> None:
    """Signs the emulator's user in once, headless, as `lakelink oauth authorize-url` and `exchange` do, so that
    the tokens land in the store of the connection string `user`. The emulator's authorize endpoint signs the
    user in at once and redirects to the callback with the code; nothing listens there: the runner reads the
    redirect and hands the callback URL to the exchange (with the PKCE verifier kept in the store, the code
    alone is of no use to anyone who sees it on the command line)."""
    e = dict(os.environ, LAKELINK_CONNECTION=user)
    cli = [str(OUT / "lakelink"), "oauth"]
    p = subprocess.run(cli + ["authorize-url"], env=e, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: lakelink oauth authorize-url failed:\n{p.stderr}")
    try:
        urllib.request.build_opener(_NoRedirect).open(p.stdout.strip(), timeout=30)
        sys.exit("bench: the emulator's authorize endpoint did not redirect to the callback")
    except urllib.error.HTTPError as err:
        if err.code // 100 != 3 or not err.headers.get("Location"):
            sys.exit(f"bench: the emulator's authorize endpoint answered {err.code}, not a redirect to the callback")
        callback = err.headers["Location"]
    p = subprocess.run(cli + ["exchange", "--code", callback], env=e, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: lakelink oauth exchange failed:\n{p.stderr}")


def access_token(connstr: str, e: dict[str, str]) -> str:
    """An access token for the connection string's identity, from lakelink.token in a child process."""
    return subprocess.run([sys.executable, "-c", "import os, lakelink; "
                           "print(lakelink.token(os.environ['LAKELINK_BENCH_IDENTITY']).access_token)"],
                          env=dict(e, LAKELINK_BENCH_IDENTITY=connstr), capture_output=True, text=True,
                          check=True).stdout.strip()


def sp_login(info: Any, token: str) -> dict[str, Any]:
    """The service principal's Lakebase login, written by hand, with a credential minted now with its token (POST
    /api/2.0/database/credentials): what a pg user without lakelink obtains some other way."""
    lb = info["lakebase"]
    req = urllib.request.Request(info["workspace_url"] + "/api/2.0/database/credentials", method="POST",
                                 data=json.dumps({"instance_names": [lb["instance"]],
                                                  "request_id": str(uuid.uuid4())}).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        credential = json.load(r)["token"]
    return {"host": lb["host"], "port": lb["port"], "database": lb["database"],
            "user": info["service_principal"]["client_id"], "password": credential, "ca_file": lb["ca_file"]}


def app_user_token(info: Any, email: str) -> str:
    """The token an App receives for a user: adds the user (POST /_emulator/users: CAN USE on the app and a
    Lakebase role), calls the app's /api/echo with the user's own token as a browser session would, and reads
    the X-Forwarded-Access-Token the app's proxy added."""
    req = urllib.request.Request(info["admin_url"] + "/users", data=json.dumps({"email": email}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        user_token = json.load(r)["access_token"]
    req = urllib.request.Request(info["app_url"] + "/api/echo", headers={"Authorization": "Bearer " + user_token})
    with urllib.request.urlopen(req, timeout=30) as r:
        forwarded = json.load(r)["headers"].get("X-Forwarded-Access-Token") or []
    if len(forwarded) != 1:
        sys.exit(f"bench: the app received {len(forwarded)} X-Forwarded-Access-Token headers, not 1 "
                 "(is the emulator's user authorization on?)")
    token: str = forwarded[0]
    return token


def psycopg_gateway(info: Any, token: str) -> str:
    """psycopg's conninfo for the Lakebase gateway as the user, with a credential minted now with the user's token
    (POST /api/2.0/database/credentials, as databricks-sdk-go calls it): what a psycopg user obtains some other way."""
    import psycopg  # the bench virtualenv's

    lb = info["lakebase"]
    req = urllib.request.Request(info["workspace_url"] + "/api/2.0/database/credentials", method="POST",
                                 data=json.dumps({"instance_names": [lb["instance"]],
                                                  "request_id": str(uuid.uuid4())}).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        credential = json.load(r)["token"]
    conninfo: str = psycopg.conninfo.make_conninfo(host=lb["host"], port=lb["port"], dbname=lb["database"],
                                                   user=info["user"]["email"], password=credential,
                                                   sslmode="verify-full", sslrootcert=lb["ca_file"])
    return conninfo


def check_calls(w: Workload, before: Any, after: Any) -> None:
    """Raises when a lakelink run did not make the emulator calls its workload expects."""
    assert w.lakelink_calls is not None
    made = {k: after["calls"].get(k, 0) - before["calls"].get(k, 0) for k in w.lakelink_calls}
    if made != w.lakelink_calls:
        raise RuntimeError(f"{w.name}:\nthe lakelink run made the emulator calls {made}, not {w.lakelink_calls}")


# ---- the token workload ----

def connects(emu: Emulator, cfg: dict[str, Any], e: dict[str, str]) -> dict[str, Any]:
    """200 connect() + SELECT + close() (a server session each) from 16 threads in a fresh process with a cold
    token cache: the token and credential requests they made, which should be one each."""
    before = emu.stats()
    out = run(py("connects", "lakelink"), e)
    after = emu.stats()
    if out["check"] is not True:
        raise RuntimeError("connects: wrong rows")
    token = after["tokens_issued"] - before["tokens_issued"]
    cred = after["credentials_issued"] - before["credentials_issued"]
    return {"seconds": out["seconds"], "token_requests": token, "credential_requests": cred}


# ---- facts about the library and the machine ----

def sizes() -> list[tuple[str, int, int]]:
    out = []
    for name in ("liblakelink.so", "lakelink.wasm"):
        p = OUT / name
        if p.exists():
            raw = p.read_bytes()
            out.append((name, len(raw), len(gzip.compress(raw, 9))))
    return out


LOAD_SNIPPET = ("import ctypes, sys, time; t = time.perf_counter(); ctypes.CDLL(sys.argv[1]); "
                "print(time.perf_counter() - t)")


def load_times(reps: int) -> list[float]:
    """Seconds to dlopen liblakelink.so (and start its Go runtime) in a fresh Python."""
    return [float(subprocess.run([sys.executable, "-c", LOAD_SNIPPET, str(OUT / "liblakelink.so")],
                                 capture_output=True, text=True, check=True).stdout) for _ in range(reps)]


# Compiles lakelink.wasm and instantiates it (with _initialize) in Node's own
# WASI, every import but WASI's a stub that start-up never calls.
WASM_SNIPPET = """
const { WASI } = require('node:wasi')
const bytes = require('node:fs').readFileSync(process.argv[1])
let t = performance.now()
WebAssembly.compile(bytes).then(async (mod) => {
  const compile = (performance.now() - t) / 1000
  const wasi = new WASI({ version: 'preview1' })
  const imports = { wasi_snapshot_preview1: wasi.wasiImport }
  for (const i of WebAssembly.Module.imports(mod)) {
    if (i.module !== 'wasi_snapshot_preview1') (imports[i.module] ??= {})[i.name] = () => { throw new Error('not at start') }
  }
  t = performance.now()
  wasi.initialize(await WebAssembly.instantiate(mod, imports))
  console.log(JSON.stringify([compile, (performance.now() - t) / 1000]))
})
"""


def wasm_start_times(reps: int) -> list[tuple[float, float]]:
    """Seconds to compile lakelink.wasm and to instantiate and initialize it, in a fresh Node."""
    wasm = OUT / "lakelink.wasm"
    if not wasm.exists():
        return []
    runs = [subprocess.run(["node", "--no-warnings", "-e", WASM_SNIPPET, str(wasm)], capture_output=True, text=True,
                           check=True).stdout for _ in range(reps)]
    return [(float(c), float(i)) for c, i in map(json.loads, runs)]


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "absent"

    import psycopg  # the bench virtualenv's

    def npm_version(name: str) -> str:
        p = NODE / "node_modules" / name / "package.json"
        return str(json.loads(p.read_text())["version"]) if p.exists() else "absent"

    return {
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "os": f"{platform.system()} {platform.release()}",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "go": version(["go", "env", "GOVERSION"]),
        "python": platform.python_version(),
        "node": version(["node", "--version"]),
        "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
        "pg (npm)": npm_version("pg"),
        "postgres (npm, Postgres.js)": npm_version("postgres"),
    }


def commit() -> str:
    rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "bench", "bindings/python", "core", "capi"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    return rev.stdout.strip() + ("+uncommitted" if dirty else "")


# ---- the report ----

def ratio(w: Workload) -> Optional[float]:
    if w.skipped or not w.times["lakelink"] or not w.times["peer"]:
        return None
    return statistics.median(w.times["lakelink"]) / statistics.median(w.times["peer"])


def connects_name(conn: dict[str, Any]) -> str:
    return (f"python: {conn['n']} connect() + SELECT + close(), a server session each, from {conn['threads']} "
            "threads, cold token cache")


def results_json(ws: list[Workload], conn: dict[str, Any], when: str, rev: str) -> dict[str, Any]:
    rows = []
    for w in ws:
        r = ratio(w)
        rows.append({
            "name": w.name, "peer": w.peer,
            "lakelink_median_s": statistics.median(w.times["lakelink"]) if r is not None else None,
            "peer_median_s": statistics.median(w.times["peer"]) if r is not None else None,
            "ratio": round(r, 3) if r is not None else None,
            "target": w.target,
            "met": (r <= w.target) if r is not None else None,
        })
    rows.append({
        "name": connects_name(conn), "peer": None,
        "lakelink_median_s": statistics.median(conn["seconds"]), "peer_median_s": None, "ratio": None,
        "target": "exactly 1 token request and 1 credential request",
        "met": all(t == 1 for t in conn["token_requests"]) and all(c == 1 for c in conn["credential_requests"]),
    })
    return {"commit": rev, "date": when, "workloads": rows}


def paired(w: Workload) -> Optional[float]:
    """The median of each round's lakelink/peer ratio: the two ran back to back, so the load drifts less between them."""
    if w.skipped or not w.times["lakelink"]:
        return None
    return statistics.median(a / b for a, b in zip(w.times["lakelink"], w.times["peer"]))


def fmt_s(xs: list[float]) -> str:
    return f"{min(xs):.3f} / {statistics.median(xs):.3f}"


def markdown(ws: list[Workload], conn: dict[str, Any], facts: dict[str, str], when: str, rev: str, reps: int,
             libs: list[tuple[str, int, int]], loads: list[float], wasm_starts: list[tuple[float, float]]) -> str:
    lines = [f"Run {when}, commit `{rev}`, {reps} rounds, lakelink and peer interleaved.", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines += ["", "Ratio: median(lakelink) / median(peer), as results.json has it; paired: the median of the "
                  "rounds' own ratios.", "",
              "| workload | peer | ratio | paired | target | met | lakelink min / median s | peer min / median s |",
              "|---|---|---|---|---|---|---|---|"]
    for w in ws:
        r, p = ratio(w), paired(w)
        if r is None or p is None:
            lines.append(f"| {w.name} | {w.peer} | not run | | ≤ {w.target} | — | {w.skipped or ''} | |")
            continue
        lines.append(f"| {w.name} | {w.peer} | **{r:.2f}** | {p:.2f} | ≤ {w.target} | {'yes' if r <= w.target else 'NO'} "
                     f"| {fmt_s(w.times['lakelink'])} | {fmt_s(w.times['peer'])} |")
    ok = all(t == 1 for t in conn["token_requests"]) and all(c == 1 for c in conn["credential_requests"])
    lines.append(f"| {connects_name(conn)} | — | token requests "
                 f"{conn['token_requests']}, credential requests {conn['credential_requests']} | | exactly 1 and 1 "
                 f"| {'yes' if ok else 'NO'} | {fmt_s(conn['seconds'])} | |")
    lines += ["", "| artifact | bytes | gzip -9 |", "|---|---|---|"]
    lines += [f"| {n} | {raw:,} | {gz:,} |" for n, raw, gz in libs]
    if not any(n == "lakelink.wasm" for n, _, _ in libs):
        lines.append("| lakelink.wasm | not built (build/out/lakelink.wasm absent) | |")
    lines += ["", f"Loading liblakelink.so (dlopen, Go runtime start) in a fresh Python: min / median "
                  f"{min(loads) * 1000:.1f} / {statistics.median(loads) * 1000:.1f} ms."]
    if wasm_starts:
        compiles, starts = [c for c, _ in wasm_starts], [i for _, i in wasm_starts]
        lines.append(f"Starting lakelink.wasm in a fresh Node 20 (V8): compile min / median {min(compiles) * 1000:.0f} / "
                     f"{statistics.median(compiles) * 1000:.0f} ms, then instantiate + _initialize "
                     f"{min(starts) * 1000:.0f} / {statistics.median(starts) * 1000:.0f} ms "
                     "(wazero and wasmtime: wasm/README.md).")
    return "\n".join(lines)


BEGIN, END = "<!-- generated by bench/run.py: begin -->", "<!-- generated by bench/run.py: end -->"


def write_markdown(text: str) -> None:
    path = BENCH / "RESULTS.md"
    old = path.read_text() if path.exists() else f"# lakelink against its peers\n\n{BEGIN}\n{END}\n"
    head, rest = old.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated substrings of workload names")
    ap.add_argument("--no-write", action="store_true", help="print the table, write no file")
    args = ap.parse_args()
    reps = 1 if args.smoke else args.reps
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))  # stops the emulator too
    subprocess.run(["go", "build", "-o", str(GOFETCH), "./bench/gofetch"], cwd=REPO, check=True)
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rev = commit()
    emu = Emulator()
    try:
        cfg = config(emu.info, args.smoke)
        e = env(cfg)
        cfg["token"] = access_token(cfg["sp"], e)
        cfg["login"] = sp_login(emu.info, cfg["token"])
        user_login(cfg["user"])
        cfg["psycopg_gateway"] = psycopg_gateway(emu.info, access_token(cfg["user"], e))
        cfg["app_user_token"] = app_user_token(emu.info, cfg["app_user_email"])
        e = env(cfg)
        ws = workloads(args.smoke)
        if args.only:
            keys = args.only.split(",")
            ws = [w for w in ws if any(k in w.name for k in keys)]
        why = node_binding_ready()
        for w in ws:
            if w.needs_node_binding and why:
                w.skipped = why
        facts = machine()
        conn: dict[str, Any] = {"n": cfg["connects"], "threads": cfg["threads"], "seconds": [],
                                "token_requests": [], "credential_requests": []}
        for rep in range(reps):
            for w in ws:
                if w.skipped:
                    continue
                order = [("lakelink", w.lakelink), ("peer", w.peer_cmd)]
                try:
                    for side, argv in order if rep % 2 == 0 else order[::-1]:
                        watch = side == "lakelink" and w.lakelink_calls is not None
                        before = emu.stats() if watch else None
                        out = run(argv, e)
                        if watch:
                            check_calls(w, before, emu.stats())
                        w.times[side].append(out["seconds"])
                        w.checks.setdefault(side, out["check"])
                except RuntimeError as err:  # reported in the table; the other workloads go on
                    print(err, file=sys.stderr)
                    lines = str(err).splitlines()
                    w.skipped = "failed: " + (lines[1] if len(lines) > 1 else lines[0])[:200]
                    continue
                r = w.times["lakelink"][-1] / w.times["peer"][-1]
                print(f"round {rep + 1}/{reps}  {w.name}: {w.times['lakelink'][-1]:.3f}s / "
                      f"{w.times['peer'][-1]:.3f}s = {r:.2f}", flush=True)
            c = connects(emu, cfg, e)
            for k in ("seconds", "token_requests", "credential_requests"):
                conn[k].append(c[k])
            print(f"round {rep + 1}/{reps}  connects: {c}", flush=True)
        for w in ws:
            if not w.skipped and w.checks["lakelink"] != w.checks["peer"]:
                w.skipped = f"failed: lakelink got {w.checks['lakelink']}, the peer {w.checks['peer']}"
        libs = sizes()
        loads = load_times(1 if args.smoke else max(reps, 5))
        wasm_starts = wasm_start_times(1 if args.smoke else max(reps, 5))
    finally:
        emu.stop()
    text = markdown(ws, conn, facts, when, rev, reps, libs, loads, wasm_starts)
    print(text)
    if not (args.smoke or args.only or args.no_write):
        (BENCH / "results.json").write_text(json.dumps(results_json(ws, conn, when, rev), indent=2) + "\n")
        write_markdown(text)
        print("wrote bench/results.json and bench/RESULTS.md")
    failed = [w.name for w in ws if w.skipped and w.skipped.startswith("failed")]
    if failed:
        sys.exit(f"bench: failed: {'; '.join(failed)}")


if __name__ == "__main__":
    main()
