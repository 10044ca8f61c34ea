#!/bin/sh
# Unpacks Debian's arm64 Python (python3.11-minimal, its standard library
# and the libraries they load) into DIR (default build/out/platforms/
# python-aarch64), for qemu-aarch64 -L DIR DIR/usr/bin/python3.11.
#
# Not `apt-get install python3:arm64`: the arm64 python3 cannot be
# installed beside the machine's amd64 one (apt would remove python3-dev,
# nodejs and what depends on them), so the packages are fetched with
# apt-get download and unpacked, never installed. Needs the arm64
# architecture in dpkg (added here) and root or sudo for that.
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-build/out/platforms/python-aarch64}
[ -x "$dir/usr/bin/python3.11" ] && exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	$sudo dpkg --add-architecture arm64
	$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
echo "build/platforms: unpacking Debian's arm64 Python into $dir"
(cd "$debs" && chmod 777 . && apt-get download -qq \
	python3.11-minimal:arm64 libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 libc6:arm64 libgcc-s1:arm64 \
	libffi8:arm64 zlib1g:arm64 libexpat1:arm64 libssl3:arm64 libuuid1:arm64 libbz2-1.0:arm64 liblzma5:arm64 libcrypt1:arm64)
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$dir.tmp"; done
rm -rf "$dir" && mv "$dir.tmp" "$dir"
