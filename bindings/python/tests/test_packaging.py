"""Packaging: the wheel carries liblakelink.so and loads it from an installed copy; `pip install bindings/python` builds
it with Go.

Each test builds with pip (no network: the in-tree backend needs no build dependency on Python >= 3.11) and installs
into a fresh venv, then imports lakelink there without LAKELINK_LIBRARY, from a directory outside the checkout, and
checks that the library mapped into the process is the installed one.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import PKG, REPO

PLATFORM = sysconfig.get_platform().replace("-", "_").replace(".", "_")
VERSION = (REPO / "VERSION").read_text(encoding="utf-8").strip()  # the one place it is written

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="liblakelink.so: Linux only for now")

# Prints what was loaded: the module's file, both versions, and the liblakelink.so mapped into the process.
CHECK = r"""
import json, lakelink
v = lakelink.library_version()
maps = [l.split()[-1] for l in open("/proc/self/maps") if l.rstrip().endswith("liblakelink.so")]
print(json.dumps({"file": lakelink.__file__, "version": lakelink.__version__, "library_version": v,
                  "loaded": sorted(set(maps))}))
"""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LAKELINK_LIBRARY", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _fresh_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    py = where / "bin" / "python"
    assert py.is_file()
    return py


def _check_installed(py: Path, cwd: Path) -> dict[str, object]:
    import json

    out = _run([py, "-c", CHECK], cwd=cwd)
    info: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    pkg_dir = Path(str(info["file"])).resolve().parent
    venv_dir = py.parent.parent.resolve()
    assert venv_dir in pkg_dir.parents, f"lakelink imported from {pkg_dir}, not from the venv {venv_dir}"
    assert info["loaded"] == [str(pkg_dir / "liblakelink.so")], info
    assert info["version"] == VERSION and info["library_version"] == VERSION, info
    return info


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    assert REPO.resolve() not in tmp_path.resolve().parents
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_wheel_tag_contents_and_install(tmp_path: Path, outside: Path) -> None:
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-index", "--no-deps", "-w", wheels, PKG], cwd=outside)
    built = sorted(wheels.glob("*.whl"))
    assert [w.name for w in built] == [f"lakelink-{VERSION}-py3-none-{PLATFORM}.whl"]
    whl = built[0]
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        wheel_meta = z.read(f"lakelink-{VERSION}.dist-info/WHEEL").decode()
        metadata = z.read(f"lakelink-{VERSION}.dist-info/METADATA").decode()
        lib = z.getinfo("lakelink/liblakelink.so")
        assert z.read("lakelink/liblakelink.so")[:4] == b"\x7fELF"
    assert {"lakelink/__init__.py", "lakelink/_native.py", "lakelink/py.typed",
            f"lakelink-{VERSION}.dist-info/METADATA", f"lakelink-{VERSION}.dist-info/RECORD"} <= names
    assert not any(n.startswith(("tests/", "_backend/")) for n in names)
    assert f"Tag: py3-none-{PLATFORM}" in wheel_meta and "Root-Is-Purelib: false" in wheel_meta
    assert lib.file_size > 0
    assert f"\nVersion: {VERSION}\n" in metadata

    py = _fresh_venv(tmp_path / "venv")
    _run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", whl], cwd=outside)
    _check_installed(py, outside)


def test_install_from_source_builds_with_go(tmp_path: Path, outside: Path) -> None:
    py = _fresh_venv(tmp_path / "venv")
    _run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", PKG], cwd=outside)
    _check_installed(py, outside)
    assert not (PKG / "lakelink" / "liblakelink.so").exists(), "the build wrote into the source tree"


def test_sdist_carries_the_version_and_a_wheel_built_from_it_too(tmp_path: Path, outside: Path) -> None:
    import tarfile

    dist = tmp_path / "dist"
    dist.mkdir()
    _run([sys.executable, "-c", "import sys, lakelink_build; print(lakelink_build.build_sdist(sys.argv[1]))", dist],
         cwd=PKG / "_backend")
    sdist = dist / f"lakelink-{VERSION}.tar.gz"
    with tarfile.open(sdist) as tar:
        version_module = tar.extractfile(f"lakelink-{VERSION}/lakelink/_version.py").read().decode()  # type: ignore
        assert f"\nVersion: {VERSION}\n" in tar.extractfile(f"lakelink-{VERSION}/PKG-INFO").read().decode()  # type: ignore
        names = tar.getnames()
    assert f"version = {VERSION!r}" in version_module
    # The Go sources the library is built from (where no wheel fits), without tests.
    go = f"lakelink-{VERSION}/go/"
    assert {go + n for n in ("go.mod", "go.sum", "VERSION", "version.go", "capi/exports.go", "capi/lakelink.h")} <= set(names)
    assert not [n for n in names if n.endswith("_test.go") or "/testdata/" in n or n.startswith(go + "capi/tests/")]

    # Built from the sdist (no checkout around it), with the library already built by `make build`.
    library = os.environ.get("LAKELINK_LIBRARY") or str(REPO / "build" / "out" / "liblakelink.so")
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-index", "--no-deps", "-w", str(wheels),
                        str(sdist)], cwd=outside, env=dict(_clean_env(), LAKELINK_PREBUILT_LIBRARY=library),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # A prebuilt library's wheel is tagged for the glibc it needs (this machine's, as `make build` links it).
    [whl] = wheels.glob("*.whl")
    assert re.fullmatch(rf"lakelink-{re.escape(VERSION)}-py3-none-manylinux_2_\d+_{platform.machine()}\.whl", whl.name)
    with zipfile.ZipFile(whl) as z:
        assert z.read("lakelink/_version.py").decode() == version_module


def test_prebuilt_library_target_is_read_from_its_header(tmp_path: Path) -> None:
    sys.path.insert(0, str(PKG / "_backend"))
    try:
        import lakelink_build
    finally:
        sys.path.remove(str(PKG / "_backend"))

    def target(data: bytes) -> tuple[str, str]:
        p = tmp_path / "lib"
        p.write_bytes(data)
        return lakelink_build.library_target(p)  # type: ignore[no-any-return]

    elf = bytearray(64)
    elf[:6] = b"\x7fELF\x02\x01"  # 64-bit, little-endian
    for machine, arch in ((62, "x86_64"), (183, "aarch64")):
        elf[18:20] = machine.to_bytes(2, "little")
        # The newest GLIBC_ version named decides, but never below 2.28 (what build/dist/libs.sh targets).
        assert target(bytes(elf) + b"GLIBC_2.2.5\0GLIBC_2.17\0") == ("liblakelink.so", f"manylinux_2_28_{arch}")
        assert target(bytes(elf) + b"GLIBC_2.17\0GLIBC_2.34\0") == ("liblakelink.so", f"manylinux_2_34_{arch}")
    elf[18:20] = (40).to_bytes(2, "little")  # 32-bit ARM
    with pytest.raises(RuntimeError, match="x86_64 and aarch64 only"):
        target(bytes(elf))
    pe = bytearray(0x100)
    pe[:2], pe[0x3C:0x40], pe[0x80:0x84] = b"MZ", (0x80).to_bytes(4, "little"), b"PE\0\0"
    pe[0x84:0x86] = (0x8664).to_bytes(2, "little")
    assert target(bytes(pe)) == ("lakelink.dll", "win_amd64")
    pe[0x84:0x86] = (0xAA64).to_bytes(2, "little")  # Windows on Arm
    with pytest.raises(RuntimeError, match="not an x86-64 Windows DLL"):
        target(bytes(pe))
    with pytest.raises(RuntimeError, match="build the library from the sdist"):
        target(b"\xcf\xfa\xed\xfe" + bytes(60))  # Mach-O
