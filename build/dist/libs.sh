#!/usr/bin/env bash
# Cross-builds liblakelink for the platforms lakelink ships prebuilt, each
# into build/out/libs/<target>/ with the public header lakelink.h:
#
#   linux-x86_64    liblakelink.so   zig cc -target x86_64-linux-gnu.2.28
#   linux-aarch64   liblakelink.so   zig cc -target aarch64-linux-gnu.2.28
#   windows-x86_64  lakelink.dll     x86_64-w64-mingw32-gcc, with the import
#                   lakelink.lib     library (for MinGW and MSVC linkers)
#
# zig links against glibc 2.28's symbol versions, so the Linux libraries
# load on any glibc >= 2.28 (RHEL 8, Amazon Linux 2023, Ubuntu 20.04,
# Debian 10): manylinux_2_28. The script checks that no symbol asks for a
# newer glibc. Usage: build/dist/libs.sh [target...] (all three when none
# is named). Tools: build/dist/ensure-tools.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
OUT=build/out/libs
MAX_GLIBC=2.28

build/dist/ensure-tools.sh
zig=$(build/out/distvenv/bin/python -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')

# glibc_ok <library>: no versioned symbol newer than MAX_GLIBC.
glibc_ok() {
	local newest
	newest=$(readelf -W -V "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
	if [[ $(printf '%s\n%s\n' "$newest" "$MAX_GLIBC" | sort -V | tail -1) != "$MAX_GLIBC" ]]; then
		echo "$1 needs glibc $newest, newer than $MAX_GLIBC" >&2
		return 1
	fi
	echo "    $1: newest glibc symbol version $newest (<= $MAX_GLIBC)"
}

# build <target> <GOOS> <GOARCH> <CC> <library file> [extra ldflags]
build() {
	local target=$1 goos=$2 goarch=$3 cc=$4 lib=$5 extra=${6:-}
	local dir=$OUT/$target
	mkdir -p "$dir"
	echo "==> Building $dir/$lib ($goos/$goarch, CC=${cc##*/})"
	CGO_ENABLED=1 GOOS=$goos GOARCH=$goarch CC=$cc \
		"$GO" build -buildmode=c-shared -trimpath -ldflags "-s -w -extldflags '-s $extra'" -o "$dir/$lib" ./capi
	rm -f "$dir/${lib%.*}.h" # cgo's generated header; the public one is written by hand
	cp capi/lakelink.h "$dir/lakelink.h"
}

targets=("$@")
((${#targets[@]})) || targets=(linux-x86_64 linux-aarch64 windows-x86_64)
for t in "${targets[@]}"; do
	case $t in
	linux-x86_64)
		build "$t" linux amd64 "$zig cc -target x86_64-linux-gnu.$MAX_GLIBC" liblakelink.so
		glibc_ok "$OUT/$t/liblakelink.so" ;;
	linux-aarch64)
		build "$t" linux arm64 "$zig cc -target aarch64-linux-gnu.$MAX_GLIBC" liblakelink.so
		glibc_ok "$OUT/$t/liblakelink.so" ;;
	windows-x86_64)
		build "$t" windows amd64 x86_64-w64-mingw32-gcc lakelink.dll "-Wl,--out-implib,$PWD/$OUT/$t/lakelink.lib" ;;
	*)
		echo "unknown target $t (linux-x86_64, linux-aarch64, windows-x86_64)" >&2
		exit 2 ;;
	esac
done
