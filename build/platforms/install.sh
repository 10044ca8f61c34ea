#!/bin/sh
# Installs the cross compilers (C, and C++ for the header check) and the
# emulators build/platforms/run.sh needs (Debian packages; needs root or
# sudo). Quick when they are there already.
set -eu
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
need=""
command -v qemu-aarch64 >/dev/null || need="$need qemu-user"
[ -x /usr/lib/wine/wine64 ] && command -v wine >/dev/null || need="$need wine64 wine"
command -v x86_64-w64-mingw32-gcc >/dev/null || need="$need gcc-mingw-w64-x86-64"
command -v x86_64-w64-mingw32-g++ >/dev/null || need="$need g++-mingw-w64-x86-64"
command -v aarch64-linux-gnu-gcc >/dev/null || need="$need gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
command -v aarch64-linux-gnu-g++ >/dev/null || need="$need g++-aarch64-linux-gnu"
if [ -n "$need" ]; then
	echo "build/platforms: installing$need"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $need >/dev/null
fi
