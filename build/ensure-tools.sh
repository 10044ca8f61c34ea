#!/usr/bin/env bash
# Installs from Debian's packages what lakelink's demo and tests need and
# this machine lacks: the PostgreSQL server binaries (the emulator runs a
# throwaway cluster), psql, curl, python3 with venv (build/demo.sh reads
# JSON with it; the Python binding's tests run in a virtualenv), and a C
# compiler with the C library's headers (`go test -race` needs
# cgo).
set -euo pipefail

missing=()
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v curl >/dev/null || missing+=(curl)
if command -v python3 >/dev/null; then # the Python binding's tests run in a virtualenv
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
else
	missing+=(python3 python3-venv)
fi
command -v cc >/dev/null || missing+=(gcc libc6-dev)

if ((${#missing[@]} == 0)); then
	echo "==> PostgreSQL server binaries, psql, curl, python3 (with venv) and a C compiler are installed"
	exit 0
fi
echo "==> Installing from Debian's packages: ${missing[*]}"
sudo=()
if [[ $(id -u) != 0 ]]; then
	command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "==> Installed: ${missing[*]}"
