#!/usr/bin/env bash
# Installs from Debian's packages what lakelink's demo and tests need and
# this machine lacks: the PostgreSQL server binaries (the emulator runs a
# throwaway cluster), psql, and curl.
set -euo pipefail

missing=()
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v curl >/dev/null || missing+=(curl)

if ((${#missing[@]} == 0)); then
	echo "==> PostgreSQL server binaries, psql and curl are installed"
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
