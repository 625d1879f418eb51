#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The emulator the test VM runs on: QEMU from Debian's bookworm-backports,
# downloaded and unpacked into a cache, never installed.
#
#   scripts/qemu.sh fetch      print the path of a qemu-system-x86_64 to run
#                              the test VM with (downloads it the first time)
#   scripts/qemu.sh version    print the version of that QEMU
#
# Why not bookworm's own QEMU 7.2: its emulated AMD SVM, on which the test
# VM's KVM runs every guest of the suites (the mini VMs of the stress and
# forkvm programs, the nested QEMU guests of e2e_tcg and the manual
# suites), has run a guest on memory other than the memory KVM gave it
# (a triple fault on a memfd, without kvmshare: suite forkvm) and has
# delivered an interrupt between VMRUN and KVM's restore of the host's
# state. QEMU 10's is newer; it is not free of such failures either, and
# the counts of both are in Documentation/dev-guide.rst, "The emulator".
# Only the test VM's emulator changes: inside the test VM the suites
# that run QEMU as a VMM keep running this machine's installed one (the
# product is tested with the QEMU that Debian's users have).
#
# KVMSHARE_QEMU=system runs the installed qemu-system-x86_64 instead (a
# machine without network access), and
# KVMSHARE_QEMU=/path/to/qemu-system-x86_64 a QEMU of your choice. The cache
# is $KVMSHARE_QCACHE (default /var/tmp/kvmshare-qemu), one directory per
# version; the newest one there is used, so the download happens once per
# machine (rm -rf the cache to take a newer backport).

set -euo pipefail

qcache=${KVMSHARE_QCACHE:-/var/tmp/kvmshare-qemu}
suite=bookworm-backports
mirror=http://deb.debian.org/debian
pkgs="qemu-system-x86 qemu-system-data qemu-system-common seabios"

# The newest unpacked version in the cache, if any.
cached() {
	local d
	d=$(ls -d "$qcache"/qemu-* 2>/dev/null | sort -V | tail -1)
	[ -n "$d" ] && [ -f "$d/.done" ] && echo "$d"
	return 0
}

# apt with its own sources list and state: the backports suite is used
# for this download only, the machine's apt configuration is untouched.
papt() {
	local tool=$1
	shift
	"$tool" -q -o Dir::Etc::SourceList="$qcache/apt/sources.list" \
		-o Dir::Etc::SourceParts="$qcache/apt/parts" \
		-o Dir::State::Lists="$qcache/apt/lists" \
		-o Dir::Cache="$qcache/apt/cache" \
		-o APT::Sandbox::User="$(id -un)" "$@"
}

download() {
	local v dir tmp p
	mkdir -p "$qcache/apt/parts" "$qcache/apt/lists/partial" \
		 "$qcache/apt/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
	     "$mirror $suite main" > "$qcache/apt/sources.list"
	echo "qemu.sh: downloading QEMU from Debian's $suite into $qcache" >&2
	papt apt-get update >/dev/null
	v=$(papt apt-cache show "qemu-system-x86/$suite" |
	    sed -n 's/^Version: //p' | head -1)
	if [ -z "$v" ]; then
		echo "qemu.sh: no qemu-system-x86 in $suite" >&2
		exit 1
	fi
	dir=$qcache/qemu-${v//[:~+]/_}
	rm -rf "$dir"
	mkdir -p "$dir/bin"
	tmp=$(mktemp -d "$qcache/dl.XXXXXX")
	for p in $pkgs; do
		(cd "$tmp" && papt apt-get download "$p/$suite" >/dev/null)
	done
	for p in "$tmp"/*.deb; do
		dpkg-deb -x "$p" "$dir/root"
	done
	rm -rf "$tmp"
	# Its own modules, firmware and option ROMs, not the installed ones.
	cat > "$dir/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU $v from Debian's $suite (scripts/qemu.sh)
export QEMU_MODULE_DIR=$dir/root/usr/lib/x86_64-linux-gnu/qemu
exec $dir/root/usr/bin/qemu-system-x86_64 -L $dir/root/usr/share/qemu \\
	-L $dir/root/usr/share/seabios "\$@"
EOF
	chmod +x "$dir/bin/qemu-system-x86_64"
	if ! "$dir/bin/qemu-system-x86_64" --version >/dev/null; then
		echo "qemu.sh: the downloaded QEMU does not run" \
		     "(missing libraries? see ldd $dir/root/usr/bin/qemu-system-x86_64)" >&2
		exit 1
	fi
	echo "$v" > "$dir/version"
	touch "$dir/.done"
}

fetch() {
	local d
	case "${KVMSHARE_QEMU:-}" in
	system) command -v qemu-system-x86_64; return ;;
	/*) echo "$KVMSHARE_QEMU"; return ;;
	"") ;;
	*) echo "qemu.sh: KVMSHARE_QEMU must be 'system' or an absolute path" >&2
	   exit 2 ;;
	esac
	d=$(cached)
	if [ -z "$d" ]; then
		mkdir -p "$qcache"
		# one download at a time (parallel make check runs)
		exec 9> "$qcache/.lock"
		flock 9
		d=$(cached)
		if [ -z "$d" ]; then
			download
			d=$(cached)
		fi
	fi
	echo "$d/bin/qemu-system-x86_64"
}

case "${1:-}" in
fetch) fetch ;;
version) "$(fetch)" --version | head -1 ;;
*) echo "usage: $0 fetch|version" >&2; exit 2 ;;
esac
