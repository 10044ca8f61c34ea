"""Fork: the library loads on first use, and a forked child of a process that
had loaded it gets a clear error instead of hanging (a Go runtime does not
survive fork). Each case runs in a fresh interpreter: this one has loaded
the library already."""

import os
import subprocess
import sys

import pytest

import lakelink

PKG_DIR = os.path.dirname(lakelink.__path__[0])

# Runs argv[1] ("os.fork" or "multiprocessing") after the parent used
# lakelink or not (argv[2] "used" / "unused"), and prints what the child got
# from App.get, then what the parent gets afterwards. A child still busy
# after 20 s is killed and reported as HANG.
SCRIPT = r"""
import multiprocessing, os, select, signal, sys
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
if how == "os.fork":
    r, w = os.pipe()
    pid = os.fork()
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


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
def test_child_of_a_parent_that_only_imported_uses_lakelink(emulator, sp_conn, how):
    got = _run(emulator, sp_conn, how, "unused")
    assert got == {"child": "200", "parent after": "200"}


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
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
