#!/usr/bin/env bash
# Makes sure Node 20+ and npm are installed (Debian's nodejs and npm
# packages when node is missing), for the Node binding's tests.
set -euo pipefail

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "==> Installing Node and npm from Debian's packages (nodejs, npm)"
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || { echo "need root (or sudo) to install nodejs and npm" >&2; exit 1; }
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
	echo "the Node binding needs Node 20 or later; this machine has $(node --version) (install a newer nodejs)" >&2
	exit 1
fi
