#!/usr/bin/env bash
# Installs what lakelink's real-browser login test (cmd/lakelink/browser_test.go)
# needs and this machine lacks: Debian's chromium package, and playwright-core
# (pinned in build/browser/package-lock.json) to drive it headless.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
browser_dir=$here/browser

if [[ -x /usr/bin/chromium ]]; then
	echo "==> Chromium is installed"
else
	echo "==> Installing Chromium from Debian's packages"
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || { echo "need root (or sudo) to install: chromium" >&2; exit 1; }
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
	echo "==> Installed: chromium ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
fi

command -v npm >/dev/null || { echo "need Node.js and npm (Debian: apt-get install nodejs npm) for build/browser" >&2; exit 1; }
if [[ ! -d $browser_dir/node_modules || $browser_dir/package-lock.json -nt $browser_dir/node_modules ]]; then
	echo "==> Installing build/browser's npm packages (npm ci: playwright-core, as pinned in package-lock.json)"
	(cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
	touch "$browser_dir/node_modules" # npm ci may keep an older mtime; mark it as installed now
else
	echo "==> build/browser's npm packages are installed"
fi
