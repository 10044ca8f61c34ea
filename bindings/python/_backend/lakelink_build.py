"""The in-tree PEP 517 build backend of the lakelink Python package.

Why a backend of our own: the wheel carries ``liblakelink.so`` (a Go
c-shared library), so it is a *platform* wheel, but it holds no Python
extension module and works with any Python 3 -- the right tag is
``py3-none-<platform>``, which setuptools does not produce without patching
``bdist_wheel``. This module is standard library only (``tomli`` only on
Python < 3.11, to read pyproject.toml), so ``pip install bindings/python``
needs no network and no build dependency besides Go and a C compiler.

What it does:

* ``build_wheel``: runs ``go build -buildmode=c-shared -ldflags '-s -w'
  -o <tmp>/<library> ./capi`` in the Go source tree (an sdist's ``go/``;
  in a checkout the directory two levels above this package's source, the
  one holding go.mod and capi/; ``LAKELINK_SOURCE_ROOT`` overrides both,
  ``GO`` names the go command), then zips ``lakelink/*.py``, ``py.typed``
  and the library as ``lakelink/<library>`` into
  ``lakelink-<version>-py3-none-<platform>.whl``. ``<library>`` is the
  building OS's name for it (``liblakelink.so``, ``liblakelink.dylib``,
  ``lakelink.dll``; ``lakelink/_native.py`` loads the same names) and
  ``<platform>`` is ``sysconfig.get_platform()`` of the building
  interpreter with ``-`` and ``.`` turned into ``_`` (e.g. ``linux_x86_64``,
  ``macosx_14_0_arm64``): a wheel for the machine it was built on.
* ``LAKELINK_PREBUILT_LIBRARY=path`` packs that file instead of building,
  and the wheel's platform is the one the library was built for, read from
  its header (see ``library_target``): an ELF library for x86-64 or
  aarch64 gives ``manylinux_<glibc>_<arch>`` where ``<glibc>`` is the
  newest glibc symbol version it needs, 2.28 at least (what
  ``build/dist/libs.sh`` builds against: ``manylinux_2_28_x86_64``); a PE
  DLL for x86-64 gives ``win_amd64``. This is how ``make dist`` builds the
  wheels of every platform on one Linux machine.
* ``build_editable``: a wheel holding a ``.pth`` pointing at this source
  tree; the library is then found in the checkout's ``build/out`` (see
  ``lakelink/_native.py``), so run ``make build`` there.
* ``build_sdist``: the Python sources, this backend, and under ``go/`` the
  Go sources the library is built from (go.mod, go.sum, VERSION, the root
  package, core/, capi/, internal/ without tests; see ``go_sources``), so
  that ``pip install lakelink-<version>.tar.gz`` builds the library where
  no wheel fits (macOS) with Go and a C compiler.

Name, description, Python requirement, license, classifiers and extras
come from pyproject.toml's [project] table. The version is the checkout's
``VERSION`` file (in an sdist, the one its ``PKG-INFO`` was written with),
the one place it is written: the Go build compiles the same file in, so
the wheel's version and its library's ``lakelink_version()`` agree. The
wheel and the sdist carry ``lakelink/_version.py`` with the version
written in; in the checkout that module reads ``VERSION``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Optional

SRC = Path(__file__).resolve().parent.parent  # bindings/python
PACKAGE = "lakelink"
# The library's file name by the OS it is built for (lakelink/_native.py loads the same names).
LIBRARY_NAMES = {"linux": "liblakelink.so", "darwin": "liblakelink.dylib", "windows": "lakelink.dll"}
# The oldest glibc a prebuilt Linux library's wheel claims: build/dist/libs.sh links against 2.28's symbols and
# nothing older is tested, even when the newest symbol version the library asks for is older.
MANYLINUX_FLOOR = (2, 28)
# Where an sdist keeps the Go sources (go_sources) the library is built from.
SDIST_GO = "go"
VERSION_MODULE = "_version.py"  # reads the checkout's VERSION; packed with the version written in

__all__ = ["build_wheel", "build_sdist", "build_editable", "prepare_metadata_for_build_wheel",
           "prepare_metadata_for_build_editable", "get_requires_for_build_wheel",
           "get_requires_for_build_sdist", "get_requires_for_build_editable"]


# --- PEP 517 / 660 hooks -------------------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[dict[str, Any]] = None) -> list[str]:
    return [] if sys.version_info >= (3, 11) else ["tomli>=1.1"]


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    meta = _project()
    with tempfile.TemporaryDirectory(prefix="lakelink-wheel-") as tmp:
        library = _library(Path(tmp))
        name, platform = library_target(library) if _prebuilt() else (_host_library_name(), _host_platform_tag())
        files: list[tuple[str, bytes, int]] = []
        for p in _package_files():
            data = _version_module(meta["version"]) if p == SRC / PACKAGE / VERSION_MODULE else p.read_bytes()
            files.append((p.relative_to(SRC).as_posix(), data, 0o644))
        files.append((f"{PACKAGE}/{name}", library.read_bytes(), 0o755))
        return _write_wheel(Path(wheel_directory), meta, f"py3-none-{platform}", files)


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[dict[str, Any]] = None) -> str:
    # Without this hook pip would build the wheel (and the library) twice.
    meta = _project()
    dist_info = Path(metadata_directory) / f"{_dist_name(meta['name'])}-{meta['version']}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(_metadata(meta), encoding="utf-8")
    prebuilt = _prebuilt()
    tag = f"py3-none-{library_target(prebuilt)[1] if prebuilt else _host_platform_tag()}"
    (dist_info / "WHEEL").write_text(_wheel_file(tag), encoding="utf-8")
    return dist_info.name


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_editable(wheel_directory: str, config_settings: Optional[dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    meta = _project()
    files = [(f"__editable__.{PACKAGE}.pth", (str(SRC) + "\n").encode(), 0o644)]
    return _write_wheel(Path(wheel_directory), meta, "py3-none-any", files)


def build_sdist(sdist_directory: str, config_settings: Optional[dict[str, Any]] = None) -> str:
    meta = _project()
    base = f"{_dist_name(meta['name'])}-{meta['version']}"
    out = Path(sdist_directory) / f"{base}.tar.gz"
    members = [SRC / "pyproject.toml", SRC / "README.md", SRC / "_backend" / "lakelink_build.py"]
    members += [p for p in _package_files() if p != SRC / PACKAGE / VERSION_MODULE]
    root = source_root()
    written = {f"{PACKAGE}/{VERSION_MODULE}": _version_module(meta["version"]), "PKG-INFO": _metadata(meta).encode()}
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for p in members:
            tar.add(str(p), arcname=f"{base}/{p.relative_to(SRC).as_posix()}")
        for p in go_sources(root):
            tar.add(str(p), arcname=f"{base}/{SDIST_GO}/{p.relative_to(root).as_posix()}")
        for name, data in written.items():
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.name


def _package_files() -> list[Path]:
    """The package's modules and py.typed, its subpackages' (lakelink.sqlalchemy, lakelink.django ...) included."""
    return sorted(p for p in (SRC / PACKAGE).rglob("*") if p.is_file() and (p.suffix == ".py" or p.name == "py.typed")
                  and "__pycache__" not in p.parts)


# --- the version ---------------------------------------------------------------------------------------------------

def version() -> str:
    """The version: the VERSION file of the checkout holding bindings/python, or an sdist's PKG-INFO's."""
    pkg_info = SRC / "PKG-INFO"
    if pkg_info.is_file():  # an sdist, written by build_sdist
        m = re.search(r"^Version: (\S+)$", pkg_info.read_text(encoding="utf-8"), re.M)
        if not m:
            raise RuntimeError(f"lakelink: {pkg_info} has no Version line")
        return m[1]
    path = SRC.parent.parent / "VERSION"
    if not path.is_file():
        raise RuntimeError(f"lakelink: {path} is missing, so the version is unknown; build from bindings/python "
                           "inside the lakelink checkout, or from an sdist of it")
    return path.read_text(encoding="utf-8").strip()


def _version_module(v: str) -> bytes:
    return (f'"""The package\'s version (written by the build backend from the lakelink checkout\'s VERSION file)."""'
            f"\n\nversion = {v!r}\n").encode()


# --- the library ---------------------------------------------------------------------------------------------------

def source_root() -> Path:
    """The Go source tree the library is built from (go.mod and capi/ in it): an sdist's go/, else the checkout."""
    env = os.environ.get("LAKELINK_SOURCE_ROOT")
    root = Path(env).resolve() if env else SRC / SDIST_GO if (SRC / SDIST_GO / "go.mod").is_file() else SRC.parent.parent
    if not ((root / "go.mod").is_file() and (root / "capi").is_dir()):
        raise RuntimeError(
            f"lakelink: {root} is not a lakelink checkout (no go.mod and capi/), so the library cannot be built; "
            "build from bindings/python inside the checkout or from an sdist, or set LAKELINK_SOURCE_ROOT to the "
            "checkout, or LAKELINK_PREBUILT_LIBRARY to a built library")
    return root


def go_sources(root: Path) -> list[Path]:
    """What building ./capi needs from the checkout, tests left out: go.mod, go.sum, VERSION, the root package's
    files, and the .go, .c and .h files of core/, capi/ and internal/ (not capi/tests/, not testdata/)."""
    files = [root / n for n in ("go.mod", "go.sum", "VERSION")]
    files += [p for p in root.glob("*.go") if not p.name.endswith("_test.go")]
    for top in ("core", "capi", "internal"):
        for p in (root / top).rglob("*"):
            rel = p.relative_to(root).parts
            if (p.is_file() and p.suffix in (".go", ".c", ".h") and not p.name.endswith("_test.go")
                    and "testdata" not in rel and rel[:2] != ("capi", "tests")):
                files.append(p)
    missing = [str(p) for p in files[:3] if not p.is_file()]
    if missing:
        raise RuntimeError(f"lakelink: {', '.join(missing)} missing: {root} is not a whole lakelink checkout")
    return sorted(files)


def _prebuilt() -> Optional[Path]:
    """$LAKELINK_PREBUILT_LIBRARY, when set: a library to pack instead of building one."""
    prebuilt = os.environ.get("LAKELINK_PREBUILT_LIBRARY")
    if not prebuilt:
        return None
    p = Path(prebuilt)
    if not p.is_file():
        raise RuntimeError(f"lakelink: LAKELINK_PREBUILT_LIBRARY={prebuilt} is not a file")
    return p


def _library(tmp: Path) -> Path:
    prebuilt = _prebuilt()
    if prebuilt:
        return prebuilt
    root = source_root()
    go = os.environ.get("GO") or shutil.which("go")
    name = _host_library_name()
    if not go:
        raise RuntimeError(f"lakelink: building {name} needs Go (https://go.dev/dl/) on PATH, "
                           "or GO set to the go command")
    out = tmp / name
    cmd = [go, "build", "-buildmode=c-shared", "-ldflags", "-s -w", "-o", str(out), "./capi"]
    print(f"lakelink: building {name} in {root}: {' '.join(cmd)}", file=sys.stderr)
    env = dict(os.environ, CGO_ENABLED="1")
    r = subprocess.run(cmd, cwd=root, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"lakelink: `{' '.join(cmd)}` failed ({r.returncode}); it needs cgo (a C compiler)")
    out.with_suffix(".h").unlink(missing_ok=True)  # cgo's generated header
    return out


def _host_library_name() -> str:
    system = "windows" if sys.platform == "win32" else "darwin" if sys.platform == "darwin" else "linux"
    return LIBRARY_NAMES[system]


def _host_platform_tag() -> str:
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def library_target(path: Path) -> tuple[str, str]:
    """A prebuilt library's file name in the wheel and the wheel's platform tag, from the library's header:
    ELF x86-64/aarch64 -> manylinux_<glibc>_<arch> (<glibc> the newest GLIBC_x.y symbol version it needs, at
    least MANYLINUX_FLOOR), PE x86-64 -> win_amd64."""
    data = path.read_bytes()
    if data[:4] == b"\x7fELF":
        arch = {62: "x86_64", 183: "aarch64"}.get(int.from_bytes(data[18:20], "little"))
        if data[4] != 2 or data[5] != 1 or arch is None:  # 64-bit, little-endian
            raise RuntimeError(f"lakelink: {path} is an ELF library for a machine lakelink has no wheel for "
                               "(x86_64 and aarch64 only)")
        needed = [(int(a), int(b)) for a, b in re.findall(rb"GLIBC_(\d+)\.(\d+)", data)]
        major, minor = max(needed + [MANYLINUX_FLOOR])
        return LIBRARY_NAMES["linux"], f"manylinux_{major}_{minor}_{arch}"
    if data[:2] == b"MZ":
        pe = int.from_bytes(data[0x3C:0x40], "little")
        machine = int.from_bytes(data[pe + 4:pe + 6], "little") if data[pe:pe + 4] == b"PE\0\0" else None
        if machine != 0x8664:
            raise RuntimeError(f"lakelink: {path} is not an x86-64 Windows DLL (the only Windows wheel lakelink has)")
        return LIBRARY_NAMES["windows"], "win_amd64"
    raise RuntimeError(f"lakelink: {path} is neither an ELF library nor a Windows DLL; other platforms (macOS) "
                       "build the library from the sdist")


# --- metadata and the wheel file -----------------------------------------------------------------------------------

def _project() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - get_requires_for_build_* asks for it
        import tomli as tomllib
    with open(SRC / "pyproject.toml", "rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    if "version" in project:
        raise RuntimeError("lakelink: pyproject.toml must not set the version: it is the checkout's VERSION file")
    return dict(project, version=version())


def _dist_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def _metadata(meta: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {meta['name']}", f"Version: {meta['version']}"]
    if meta.get("description"):
        lines.append(f"Summary: {meta['description']}")
    lic = meta.get("license")
    if isinstance(lic, dict) and lic.get("text"):
        lines.append(f"License: {lic['text']}")
    if meta.get("requires-python"):
        lines.append(f"Requires-Python: {meta['requires-python']}")
    lines += [f"Classifier: {c}" for c in meta.get("classifiers", [])]
    lines += [f"Requires-Dist: {d}" for d in meta.get("dependencies", [])]
    for extra, deps in meta.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    body = ""
    readme = meta.get("readme")
    if isinstance(readme, str) and (SRC / readme).is_file():
        lines.append("Description-Content-Type: text/markdown")
        body = "\n" + (SRC / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


def _entry_points(meta: dict[str, Any]) -> str:
    """entry_points.txt from pyproject's [project.entry-points] (how SQLAlchemy finds the dialects)."""
    groups = meta.get("entry-points", {})
    return "".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
                   for group, points in groups.items())


def _wheel_file(tag: str) -> str:
    pure = "true" if tag.endswith("-any") else "false"
    return f"Wheel-Version: 1.0\nGenerator: lakelink_build\nRoot-Is-Purelib: {pure}\nTag: {tag}\n"


def _write_wheel(directory: Path, meta: dict[str, Any], tag: str, files: list[tuple[str, bytes, int]]) -> str:
    name = f"{_dist_name(meta['name'])}-{meta['version']}-{tag}.whl"
    dist_info = f"{_dist_name(meta['name'])}-{meta['version']}.dist-info"
    wheel_file = _wheel_file(tag)
    files = files + [(f"{dist_info}/METADATA", _metadata(meta).encode(), 0o644),
                     (f"{dist_info}/WHEEL", wheel_file.encode(), 0o644)]
    entry_points = _entry_points(meta)
    if entry_points:
        files.append((f"{dist_info}/entry_points.txt", entry_points.encode(), 0o644))
    record = []
    for path, data, _ in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), 0o644))
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, data, mode in files:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, directory / name)
    return name
