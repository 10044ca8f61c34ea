#!/usr/bin/env bash
# Writes every release artifact into build/out/dist/ (emptied first), from
# the libraries build/dist/libs.sh wrote to build/out/libs/<target>/ and
# build/out/lakelink.wasm (`make build`); `make dist` builds those first.
# For each target in $DIST_TARGETS (all three when unset):
#
#   lakelink-<v>-py3-none-<platform>.whl   the Python package with the library
#                                          (manylinux_2_28_x86_64, manylinux_2_28_aarch64, win_amd64)
#   lakelink-<target-npm>-<v>.tgz          the npm package carrying the library
#                                          (lakelink-linux-x64-gnu ...: bindings/node/lib/platforms.js)
#   liblakelink-<v>-<target>.tar.gz        the C library and lakelink.h (and lakelink.lib on Windows)
#
# and once: lakelink-<v>.tar.gz (the Python sdist, which builds the library
# from its Go sources where no wheel fits), lakelink-<v>.tgz (the main npm
# package: JavaScript and lakelink.wasm), SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIST=build/out/dist
read -ra targets <<<"${DIST_TARGETS:-linux-x86_64 linux-aarch64 windows-x86_64}"
version=$(cat VERSION)
build/dist/ensure-tools.sh
py=$PWD/build/out/distvenv/bin/python

rm -rf "$DIST"
mkdir -p "$DIST"
for t in "${targets[@]}"; do
	case $t in
	windows-*) lib=lakelink.dll extra=(lakelink.lib) ;;
	*) lib=liblakelink.so extra=() ;;
	esac
	dir=build/out/libs/$t
	[[ -f $dir/$lib ]] || { echo "$dir/$lib is missing: run build/dist/libs.sh $t" >&2; exit 1; }
	echo "==> $t: wheel, npm package, C library archive"
	LAKELINK_PREBUILT_LIBRARY=$PWD/$dir/$lib "$py" -m pip wheel -q --disable-pip-version-check --no-index --no-deps \
		-w "$DIST" bindings/python
	node build/dist/npm-platform.js "$t" "$DIST" >/dev/null
	tar -czf "$DIST/liblakelink-$version-$t.tar.gz" -C "$dir" "$lib" "${extra[@]}" lakelink.h
done
echo "==> Python sdist"
(cd bindings/python/_backend && "$py" -c 'import sys, lakelink_build; lakelink_build.build_sdist(sys.argv[1])' "$PWD/../../../$DIST" >/dev/null)
echo "==> npm main package"
(cd bindings/node && npm pack --silent --pack-destination "../../$DIST" >/dev/null)
(cd "$DIST" && sha256sum -- * >SHA256SUMS)
ls -l "$DIST" | awk 'NR > 1 {printf "    %-55s %6.1f MB\n", $9, $5 / 1e6}'
