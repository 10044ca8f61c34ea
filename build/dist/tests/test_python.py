"""The Python artifacts of `make dist`: the wheels are tagged for the platform their library was built for (and
auditwheel agrees for manylinux_2_28), the x86_64 wheel and the sdist install offline into fresh venvs and connect to
the emulator; the sdist builds the library from the Go sources it carries, with the module cache only."""

from __future__ import annotations

import json
import re
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import DIST, REPO, TARGETS, VERSION, artifact, run

WHEEL_PLATFORMS = {"linux-x86_64": "manylinux_2_28_x86_64", "linux-aarch64": "manylinux_2_28_aarch64",
                   "windows-x86_64": "win_amd64"}
NPM_PACKAGES = {"linux-x86_64": "lakelink-linux-x64-gnu", "linux-aarch64": "lakelink-linux-arm64-gnu",
                "windows-x86_64": "lakelink-win32-x64"}
AUDITWHEEL = REPO / "build" / "out" / "distvenv" / "bin" / "auditwheel"

# Connects as the installed package, and says what it loaded.
SMOKE = r"""
import json, os, lakelink
conn = lakelink.connect(os.environ["LAKELINK_TEST_CONN"])
cur = conn.cursor()
cur.execute("SELECT 41 + %s", (1,))
maps = [l.split()[-1] for l in open("/proc/self/maps") if l.rstrip().endswith("liblakelink.so")]
print(json.dumps({"file": lakelink.__file__, "version": lakelink.__version__, "library_version": lakelink.library_version(),
                  "answer": cur.fetchone()[0], "loaded": sorted(set(maps))}))
conn.close()
"""


def wheel(target: str) -> Path:
    return artifact(f"lakelink-{VERSION}-py3-none-{WHEEL_PLATFORMS[target]}.whl")


def test_make_dist_wrote_every_artifact() -> None:
    expected = {"SHA256SUMS", f"lakelink-{VERSION}.tar.gz", f"lakelink-{VERSION}.tgz"}
    for t in TARGETS:
        expected |= {wheel(t).name, f"{NPM_PACKAGES[t]}-{VERSION}.tgz", f"liblakelink-{VERSION}-{t}.tar.gz"}
    assert {p.name for p in DIST.iterdir()} == expected
    sums = (DIST / "SHA256SUMS").read_text().split("\n")
    assert sorted(line.split()[-1] for line in sums if line) == sorted(expected - {"SHA256SUMS"})


@pytest.mark.parametrize("target", [t for t in TARGETS if t.startswith("linux-")])
def test_linux_wheels_are_manylinux_2_28(target: str) -> None:
    whl = wheel(target)
    arch = target.split("-")[1]
    with zipfile.ZipFile(whl) as z:
        assert f"Tag: py3-none-manylinux_2_28_{arch}\n" in z.read(f"lakelink-{VERSION}.dist-info/WHEEL").decode()
        lib = z.read("lakelink/liblakelink.so")
    assert lib[:4] == b"\x7fELF" and int.from_bytes(lib[18:20], "little") == {"x86_64": 62, "aarch64": 183}[arch]
    # auditwheel names the most compatible tag the library's symbols allow: manylinux_2_28 or older.
    out = run([AUDITWHEEL, "show", whl], cwd=DIST)
    m = re.search(r'consistent with\s+the following platform tag:\s+"manylinux_(\d+)_(\d+)_' + arch + '"', out)
    assert m, out
    assert (int(m[1]), int(m[2])) <= (2, 28), out
    assert "requires no external shared libraries" in out, out


@pytest.mark.skipif("windows-x86_64" not in TARGETS, reason="make dist built no Windows artifacts (DIST_TARGETS)")
def test_windows_wheel_carries_lakelink_dll() -> None:
    with zipfile.ZipFile(wheel("windows-x86_64")) as z:
        assert "Tag: py3-none-win_amd64\n" in z.read(f"lakelink-{VERSION}.dist-info/WHEEL").decode()
        dll = z.read("lakelink/lakelink.dll")
        assert not [n for n in z.namelist() if n.endswith(".so")]
    pe = int.from_bytes(dll[0x3C:0x40], "little")
    assert dll[:2] == b"MZ" and dll[pe:pe + 4] == b"PE\0\0" and int.from_bytes(dll[pe + 4:pe + 6], "little") == 0x8664


def fresh_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return where / "bin" / "python"


def check_installed(py: Path, cwd: Path, conn: str) -> None:
    info = json.loads(run([py, "-c", SMOKE], cwd=cwd, LAKELINK_TEST_CONN=conn).strip().splitlines()[-1])
    pkg = Path(info["file"]).resolve().parent
    assert py.parent.parent.resolve() in pkg.parents, f"lakelink imported from {pkg}, not from the venv"
    assert info["loaded"] == [str(pkg / "liblakelink.so")], info
    assert (info["version"], info["library_version"], info["answer"]) == (VERSION, VERSION, 42), info


def test_x86_64_wheel_installs_offline_and_connects(tmp_path: Path, outside: Path, lakebase_conn: str) -> None:
    py = fresh_venv(tmp_path / "venv")
    run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel("linux-x86_64")], cwd=outside)
    check_installed(py, outside, lakebase_conn)


def test_sdist_builds_the_library_offline_with_go_and_connects(tmp_path: Path, outside: Path, lakebase_conn: str) -> None:
    # As on a Mac with Go: pip builds the library from the sdist's Go sources (no checkout around), here with the
    # module cache only (GOPROXY=off), and no Python package index.
    py = fresh_venv(tmp_path / "venv")
    run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", artifact(f"lakelink-{VERSION}.tar.gz")],
        cwd=outside, GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local")
    check_installed(py, outside, lakebase_conn)
