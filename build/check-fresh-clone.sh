#!/usr/bin/env bash
# Runs `make test` (or the make targets given) as CI and a newcomer do: in a
# fresh clone of this checkout's HEAD, with empty npm, pip and Go caches
# (module and build), so that a test relying on something only this
# machine's caches hold fails here rather than on CI. Registry access is
# used as on a fresh machine. Debian packages are installed only when
# missing (build/ensure-*.sh), as on CI.
#
#   build/check-fresh-clone.sh            # make test
#   build/check-fresh-clone.sh test-node  # other targets
#
# The clone and the caches are removed afterwards unless KEEP=1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/lakelink-fresh-XXXXXX)
cleanup() {
	if [[ ${KEEP:-} == 1 ]]; then
		echo "==> kept $work"
	else
		chmod -R u+w "$work" 2>/dev/null || true # Go's module cache is read-only
		rm -rf "$work"
	fi
}
trap cleanup EXIT

echo "==> Cloning $(git -C "$repo" rev-parse --short HEAD) into $work/clone"
git clone -q "$repo" "$work/clone"
mkdir -p "$work"/{npm,pip,gomod,gocache}

cd "$work/clone"
env npm_config_cache="$work/npm" PIP_CACHE_DIR="$work/pip" \
	GOMODCACHE="$work/gomod" GOCACHE="$work/gocache" \
	make "${@:-test}"
