"""Fork: the library loads on first use, and a forked child of a process that
had loaded it gets a clear error instead of hanging (a Go runtime does not
survive fork). Each case runs in a fresh interpreter: this one has loaded
the library already. "libc.fork" is fork() called straight from C (as a C
extension may), which runs none of Python's at-fork hooks."""

import os
import subprocess
import sys

import pytest

import lakelink

PKG_DIR = os.path.dirname(lakelink.__path__[0])

# Runs argv[1] ("os.fork", "libc.fork" or "multiprocessing") after the parent used
# lakelink or not (argv[2] "used" / "unused"), and prints what the child got
# from App.get, then what the parent gets afterwards. A child still busy
# after 20 s is killed and reported as HANG.
SCRIPT = r"""
import ctypes, multiprocessing, os, select, signal, sys
import lakelink

how, parent, app_url, conn = sys.argv[1:5]


def use():
    try:
        return str(lakelink.App(app_url, conn).get("/api/whoami").status)
    except lakelink.Error as e:
        return f"{type(e).__name__}: {e}"


def child(send):
    send(use())


if parent == "used":
    print("parent before:", use(), flush=True)
if how != "multiprocessing":
    r, w = os.pipe()
    pid = os.fork() if how == "os.fork" else ctypes.PyDLL(None).fork()
    if pid == 0:
        os.close(r)
        child(lambda s: os.write(w, s.encode()))
        os._exit(0)
    os.close(w)
    if select.select([r], [], [], 20)[0]:
        print("child:", os.read(r, 4096).decode(), flush=True)
    else:
        print("child: HANG", flush=True)
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
else:
    ctx = multiprocessing.get_context("fork")
    q = ctx.SimpleQueue()
    p = ctx.Process(target=child, args=(q.put,))
    p.start()
    p.join(20)
    if p.is_alive():
        print("child: HANG", flush=True)
        p.kill()
        p.join()
    else:
        print("child:", q.get(), flush=True)
print("parent after:", use(), flush=True)
"""


def _run(emulator, sp_conn, how, parent):
    out = subprocess.run([sys.executable, "-c", SCRIPT, how, parent, emulator["app_url"], sp_conn],
                         capture_output=True, text=True, timeout=90, env=dict(os.environ, PYTHONPATH=PKG_DIR))
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) for line in out.stdout.splitlines())


@pytest.mark.parametrize("how", ["os.fork", "libc.fork", "multiprocessing"])
def test_child_of_a_parent_that_only_imported_uses_lakelink(emulator, sp_conn, how):
    got = _run(emulator, sp_conn, how, "unused")
    assert got == {"child": "200", "parent after": "200"}


@pytest.mark.parametrize("how", ["os.fork", "libc.fork", "multiprocessing"])
def test_child_of_a_parent_that_used_lakelink_gets_an_error_not_a_hang(emulator, sp_conn, how):
    got = _run(emulator, sp_conn, how, "used")
    assert got["parent before"] == "200"
    assert got["child"].startswith("InterfaceError: "), got
    for words in ("fork", "spawn", "in the child"):
        assert words in got["child"], got["child"]
    assert got["parent after"] == "200"  # the parent is not disturbed


def test_import_does_not_load_the_library():
    code = ("import lakelink\n"
            "def mapped(): return 'liblakelink' in open('/proc/self/maps').read()\n"
            "before = mapped(); lakelink.library_version(); print(before, mapped())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=PKG_DIR))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


# A parent thread is inside the library, holding the connection's lock (it
# reads rows that come slowly: past the first batch, one row waits 5 s),
# while the main thread forks (argv[1] as above). The child then tries each
# step and reports what it got; a step still busy after 20 s is HANG. Last,
# the child exits the ordinary way, running the finalizers a worker's exit
# runs (Connection.__del__ and Cursor.__del__).
BUSY_SCRIPT = r"""
import ctypes, os, select, signal, sys, threading, time
import lakelink

how, conn_str = sys.argv[1:3]
conn = lakelink.connect(conn_str)
cur = conn.cursor()
cur.execute("SELECT x, CASE WHEN x = 3000 THEN (SELECT 1 FROM pg_sleep(5)) END FROM generate_series(1, 4000) x")
busy = threading.Thread(target=cur.fetchall, daemon=True)
busy.start()
time.sleep(1.5)  # busy is waiting for row 3000, holding conn's lock


def attempt(name, step):
    os.write(w, f"{name}: ".encode())
    try:
        step()
        got = "returned"
    except lakelink.Error as e:
        got = f"{type(e).__name__}: {e}"
    os.write(w, f"{got}\n".encode())


r, w = os.pipe()
pid = os.fork() if how == "os.fork" else ctypes.PyDLL(None).fork()
if pid == 0:
    os.close(r)
    attempt("cursor.__del__", cur.__del__)
    attempt("cursor.close", cur.close)
    attempt("connection.close", conn.close)
    attempt("connection.__del__", conn.__del__)
    os.write(w, b"exit: ")
    sys.exit(0)
os.close(w)
out, deadline = b"", time.monotonic() + 20
while time.monotonic() < deadline and select.select([r], [], [], deadline - time.monotonic())[0]:
    chunk = os.read(r, 4096)
    if not chunk:
        break
    out += chunk
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    out += b"HANG"
print(out.decode() + (str(os.waitstatus_to_exitcode(status)) if done else ""))
busy.join()
print("parent after:", conn.execute("SELECT 1").fetchone()[0], flush=True)
"""


@pytest.mark.parametrize("how", ["os.fork", "libc.fork"])
def test_child_forked_while_a_connection_is_busy_does_not_hang(lakebase_conn, how):
    out = subprocess.run([sys.executable, "-c", BUSY_SCRIPT, how, lakebase_conn], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, PYTHONPATH=PKG_DIR))
    assert out.returncode == 0, out.stderr
    got = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert "HANG" not in out.stdout, got
    assert got["cursor.__del__"] == "returned"  # a finalizer returns quietly
    assert got["connection.__del__"] == "returned"
    for step in ("cursor.close", "connection.close"):
        assert got[step].startswith("InterfaceError: "), got
        assert "fork" in got[step], got
    assert got["exit"] == "0", got
    assert got["parent after"] == "1"  # the parent's connection is not disturbed


# A pool opened in the parent, used in a forked child: each step gets the fork
# error (no call reaches the parent's pool), the finalizer returns quietly, and
# the parent's pool keeps working.
POOL_SCRIPT = r"""
import os, sys
import lakelink

pool = lakelink.ConnectionPool(sys.argv[1], max_size=2)
with pool.connection() as conn:
    conn.execute("SELECT 1")
pid = os.fork()
if pid == 0:
    for name, step in (("getconn", pool.getconn), ("get_stats", pool.get_stats), ("close", pool.close),
                       ("__del__", pool.__del__)):
        try:
            step()
            print(f"{name}: returned", flush=True)
        except lakelink.Error as e:
            print(f"{name}: {type(e).__name__}: {e}", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
with pool.connection() as conn:
    print("parent after:", conn.execute("SELECT 1").fetchone()[0], pool.get_stats()["pool_size"], flush=True)
pool.close()
"""


def test_pool_in_a_forked_child_raises(lakebase_conn):
    out = subprocess.run([sys.executable, "-c", POOL_SCRIPT, lakebase_conn], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PYTHONPATH=PKG_DIR))
    assert out.returncode == 0, out.stderr
    got = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    for step in ("getconn", "get_stats", "close"):
        assert got[step].startswith("InterfaceError: ") and "fork" in got[step], got
    assert got["__del__"] == "returned"
    assert got["parent after"] == "1 1"
