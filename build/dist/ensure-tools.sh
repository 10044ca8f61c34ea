#!/usr/bin/env bash
# Installs what build/dist/libs.sh and `make dist` need and this machine
# lacks: zig and auditwheel (build/dist/requirements.txt) in the virtualenv
# build/out/distvenv, and the MinGW-w64 C compiler (lakelink.dll) from
# Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=build/out/distvenv
if ! cmp -s build/dist/requirements.txt "$venv/requirements.txt" 2>/dev/null; then
	echo "==> Installing $venv (build/dist/requirements.txt: zig, auditwheel)"
	test -x "$venv/bin/python" || python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r build/dist/requirements.txt
	cp build/dist/requirements.txt "$venv/requirements.txt"
fi

missing=()
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
((${#missing[@]} == 0)) && exit 0
echo "==> Installing from Debian's packages: ${missing[*]}"
sudo=()
if [[ $(id -u) != 0 ]]; then
	command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "==> Installed: ${missing[*]}"
