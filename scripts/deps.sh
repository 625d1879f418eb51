#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what kvmshare needs to build and test, from Debian's archive.
# Idempotent: does nothing when every package is already installed.
# Usage: scripts/deps.sh [build|vm|lint|pkg|all|kernel]   (default: all;
# pkg: what make deb and the build suite's package checks need; kernel:
# all and what the debug-kernel lane's kernel build needs)
#
# Recommended packages are never installed (--no-install-recommends): in
# particular libvirt's daemon comes without libvirt-daemon-system, whose
# maintainer scripts would enable and start it on this machine. The test VM
# runs it from this machine's / (suite libvirt, VM_HOSTROOT=1).

set -euo pipefail

want=${1:-all}

pkgs_build="make gcc libc6-dev kmod linux-headers-amd64 liburing-dev git
	pkg-config libjson-c-dev rsync"
pkgs_vm="qemu-system-x86 busybox-static cpio xz-utils gzip"
# libvirtd with its QEMU driver and virsh, and mdevctl (suite libvirt:
# started inside the test VM only, in a chroot of the host's /). These
# packages have no maintainer script that starts a service (mdevctl brings
# a udev rule that starts defined mdevs when their parent appears).
pkgs_libvirt="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients mdevctl"
# nvme-cli: the NVMe admin commands (Identify, Virtualization Management,
# Namespace Attachment) of the SR-IOV suites, run in the test VM from this
# machine's / (VM_HOSTROOT=1). Its nvmf-autoconnect unit is enabled by
# the package for the next boot and does nothing without a fabrics config.
pkgs_nvme="nvme-cli"
pkgs_lint="linux-source-6.1 sparse perl dkms g++ python3-sphinx shellcheck"
# make deb (dpkg-buildpackage, dh_dkms) and the build suite's checks of
# the packages, make install and the systemd units (systemd-analyze)
pkgs_pkg="dpkg-dev build-essential debhelper dh-dkms dkms systemd"
# the debug-kernel lane (make check KERNEL=debug) builds linux-source-6.1
pkgs_kernel="flex bison libelf-dev libssl-dev bc"

case "$want" in
build) pkgs="$pkgs_build" ;;
vm) pkgs="$pkgs_build $pkgs_vm $pkgs_libvirt $pkgs_nvme linux-source-6.1" ;;
lint) pkgs="$pkgs_build $pkgs_lint" ;;
pkg) pkgs="$pkgs_build $pkgs_pkg" ;;
all) pkgs="$pkgs_build $pkgs_vm $pkgs_libvirt $pkgs_nvme $pkgs_lint $pkgs_pkg" ;;
kernel) pkgs="$pkgs_build $pkgs_vm $pkgs_libvirt $pkgs_nvme $pkgs_lint $pkgs_pkg $pkgs_kernel" ;;
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
