"""The npm artifacts of `make dist`: each platform package declares the os/cpu/libc npm matches and carries its
library; the main package and the linux-x64 one install into an empty project offline (an empty npm cache, the
tarballs only, with koffi's from build/dist/npm-deps.sh), load the platform package's library and query the emulator;
without a library for the platform the error says which platforms there are."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO, TARGETS, VERSION, artifact, clean_env, run

PACKAGES = {"linux-x86_64": ("lakelink-linux-x64-gnu", "linux", "x64", "glibc", "liblakelink.so"),
            "linux-aarch64": ("lakelink-linux-arm64-gnu", "linux", "arm64", "glibc", "liblakelink.so"),
            "windows-x86_64": ("lakelink-win32-x64", "win32", "x64", None, "lakelink.dll")}
NPM_DEPS = REPO / "build" / "out" / "npm-deps"

SMOKE = r"""
const { Pool, libraryPath, libraryVersion } = require('lakelink')
const pool = new Pool(process.env.LAKELINK_TEST_CONN)
pool.query('SELECT 41 + $1::int AS n', [1]).then(async (r) => {
  console.log(JSON.stringify({ path: libraryPath(), version: libraryVersion(), n: r.rows[0].n }))
  await pool.end()
})
"""


def manifest(tgz: Path) -> tuple[dict[str, object], list[str]]:
    with tarfile.open(tgz) as tar:
        f = tar.extractfile("package/package.json")
        assert f
        return json.load(f), tar.getnames()


@pytest.mark.parametrize("target", TARGETS)
def test_platform_package_declares_its_platform_and_carries_the_library(target: str) -> None:
    pkg, os_, cpu, libc, library = PACKAGES[target]
    m, names = manifest(artifact(f"{pkg}-{VERSION}.tgz"))
    assert (m["name"], m["version"], m["os"], m["cpu"], m.get("libc")) == (pkg, VERSION, [os_], [cpu], [libc] if libc else None)
    assert sorted(names) == sorted(f"package/{n}" for n in ("package.json", "index.js", "README.md", library))


def test_main_package_names_every_platform_package() -> None:
    m, names = manifest(artifact(f"lakelink-{VERSION}.tgz"))
    assert m["optionalDependencies"] == {PACKAGES[t][0]: VERSION for t in PACKAGES}
    assert "os" not in m and "package/lakelink.wasm" in names and not [n for n in names if n.endswith((".so", ".dll"))]


@pytest.fixture()
def project(tmp_path: Path, outside: Path) -> Path:
    """An empty project with lakelink installed offline from make dist's tarballs (and koffi's), an empty cache."""
    (outside / "package.json").write_text('{"name": "app", "version": "1.0.0", "private": true}')
    tarballs = [artifact(f"lakelink-{VERSION}.tgz"), artifact(f"lakelink-linux-x64-gnu-{VERSION}.tgz"),
                *sorted(NPM_DEPS.glob("*.tgz"))]
    assert len(tarballs) == 4, f"{NPM_DEPS} lacks koffi's tarballs: run build/dist/npm-deps.sh"
    run(["npm", "install", "--offline", "--cache", tmp_path / "npm-cache", "--no-audit", "--no-fund", *tarballs],
        cwd=outside, timeout=300)
    return outside


def test_main_and_linux_x64_packages_install_offline_and_query(project: Path, lakebase_conn: str) -> None:
    out = run(["node", "-e", SMOKE], cwd=project, LAKELINK_TEST_CONN=lakebase_conn, UV_THREADPOOL_SIZE="64")
    info = json.loads(out.strip().splitlines()[-1])
    assert info == {"path": str(project.resolve() / "node_modules" / "lakelink-linux-x64-gnu" / "liblakelink.so"),
                    "version": VERSION, "n": 42}
    esm = run(["node", "--input-type=module", "-e", "import { libraryVersion } from 'lakelink'; console.log(libraryVersion())"],
              cwd=project, UV_THREADPOOL_SIZE="64")
    assert esm.strip() == VERSION


def test_without_a_library_for_the_platform_the_error_lists_the_platforms(project: Path) -> None:
    def error(code: str) -> str:
        r = subprocess.run(["node", "-e", code], cwd=project, env=clean_env(UV_THREADPOOL_SIZE="64"),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, r.stdout
        return r.stderr

    # Another CPU (after koffi has loaded its own library): no package fits; the message names those there are.
    other = error("require('koffi'); Object.defineProperty(process, 'arch', { value: 'riscv64' }); "
                  "require('lakelink').libraryVersion()")
    assert "no native library for linux-riscv64-glibc" in other, other
    assert "linux-x64-glibc, linux-arm64-glibc, win32-x64" in other and "lakelink/wasm" in other, other
    # The platform's package left out (npm install --omit=optional): says which package is missing.
    shutil.rmtree(project / "node_modules" / "lakelink-linux-x64-gnu")
    missing = error("require('lakelink').libraryVersion()")
    assert "lakelink-linux-x64-gnu, the package with the library for linux-x64-glibc, is not installed" in missing, missing
