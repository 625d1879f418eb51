#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what kvmshare needs to build and test, from Debian's archive.
# Idempotent: does nothing when every package is already installed.
# Usage: scripts/deps.sh [build|vm|lint|pkg|all|kernel]   (default: all;
# pkg: what make deb and the build suite's package checks need; kernel:
# all and what the debug-kernel lane's kernel build needs)

set -euo pipefail

want=${1:-all}

pkgs_build="make gcc libc6-dev kmod linux-headers-amd64 liburing-dev git
	pkg-config libjson-c-dev rsync"
pkgs_vm="qemu-system-x86 busybox-static cpio xz-utils gzip"
pkgs_lint="linux-source-6.1 sparse perl dkms g++ python3-sphinx"
# make deb (dpkg-buildpackage, dh_dkms) and the build suite's checks of
# the packages, make install and the systemd units (systemd-analyze)
pkgs_pkg="dpkg-dev build-essential debhelper dh-dkms dkms systemd"
# the debug-kernel lane (make check KERNEL=debug) builds linux-source-6.1
pkgs_kernel="flex bison libelf-dev libssl-dev bc"

case "$want" in
build) pkgs="$pkgs_build" ;;
vm) pkgs="$pkgs_build $pkgs_vm linux-source-6.1" ;;
lint) pkgs="$pkgs_build $pkgs_lint" ;;
pkg) pkgs="$pkgs_build $pkgs_pkg" ;;
all) pkgs="$pkgs_build $pkgs_vm $pkgs_lint $pkgs_pkg" ;;
kernel) pkgs="$pkgs_build $pkgs_vm $pkgs_lint $pkgs_pkg $pkgs_kernel" ;;
*) echo "deps.sh: unknown set '$want'" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	     grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
