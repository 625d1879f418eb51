#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test VM's initramfs: busybox-static, the in-tree modules the
# tests need (with their dependencies) from the Debian kernel image package,
# our modules, the test programs and the suite descriptions.
#
#   scripts/mkinitrd.sh OUT.gz [GUEST-OUT.gz]
#
# With GUEST-OUT.gz it also builds the initramfs of the nested Linux guest
# that end-to-end tests boot inside the VM with the host's QEMU
# (scripts/vm/guest-init; busybox, the virtio drivers and our modules).
#
# Expects `make modules` and `make selftests` to have run.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${KVMSHARE_BUILD:-$top/build}
out=$1
guest_out=${2:-}

kdir=$("$top/scripts/kernel.sh" fetch)
krel=$("$top/scripts/kernel.sh" krel)
kroot=$kdir/root
ours="$top/kvm $top/drivers $build/samples"

# In-tree modules the tests use; dependencies are resolved by modprobe.
intree="kvm_amd kvm_intel vfio_iommu_type1 vfio_pci mdev 9pnet_virtio 9p
	virtio_pci virtio_balloon virtio_net aer_inject hwpoison_inject
	mce-inject msr nvme crc32c_intel"

stage=$(mktemp -d "$build/initrd.XXXXXX")
gstage=$(mktemp -d "$build/ginitrd.XXXXXX")
trap 'rm -rf "$stage" "$gstage"' EXIT

# Copy in-tree modules $2... (with dependencies) of the kernel $kroot,
# $krel, into the tree at $1, with our modules from the directories $ours.
add_intree() {
	local dst=$1 m f rel
	shift
	for m in "$@"; do
		# (the debug kernel has no kvm_intel: skipped, with a note)
		modprobe -d "$kroot" -S "$krel" --show-depends "$m" \
			2>/dev/null || echo "mkinitrd.sh: no $m in $krel" >&2
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		rel=${f#"$kroot"}
		mkdir -p "$dst/$(dirname "$rel")"
		cp "$f" "$dst/$rel"
	done
	mkdir -p "$dst/lib/modules/$krel/extra"
	cp "$kroot/lib/modules/$krel/modules.order" \
	   "$kroot/lib/modules/$krel/modules.builtin" \
	   "$kroot/lib/modules/$krel/modules.builtin.modinfo" \
	   "$dst/lib/modules/$krel/"
	# Our modules (every .ko the Kbuild tree produced), and the kernel's
	# samples the benchmarks compare against if built (make samples).
	# shellcheck disable=SC2086
	find $ours -name '*.ko' \
		-exec cp {} "$dst/lib/modules/$krel/extra/" \; 2>/dev/null || true
	depmod -b "$dst" "$krel"
}

pack() {	# pack DIR OUT (atomically: concurrent runs may share OUT)
	local tmp

	tmp=$(mktemp "$2.XXXXXX")
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
		gzip -1 > "$tmp"
	mv "$tmp" "$2"
}

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,kvmshare/bin}
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$top/scripts/vm/init" "$stage/init"
chmod 755 "$stage/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
echo "root:x:0:" > "$stage/etc/group"

# shellcheck disable=SC2086
add_intree "$stage" $intree

# Test programs, suite descriptions and the in-VM runner.
cp "$top/scripts/vm/run-progs.sh" "$top/scripts/vm/dmesg-check.sh" \
   "$stage/kvmshare/"
cp -r "$top/scripts/suites" "$stage/kvmshare/suites"
if [ -d "$build/selftests" ]; then
	cp -r "$build/selftests/." "$stage/kvmshare/bin/"
fi
# The kselftest tree of `make kselftest-install` (the kernel's
# run_kselftest.sh over every kvmshare target) in /kvmshare/kselftest. Its
# programs are copies of those in /kvmshare/bin: hard links to them, so
# that the archive holds each once.
if [ -d "$build/kselftest" ]; then
	cp -r "$build/kselftest" "$stage/kvmshare/kselftest"
	(cd "$stage/kvmshare/kselftest/kvmshare" && find . -type f) |
	while read -r f; do
		f=${f#./}
		if cmp -s "$stage/kvmshare/bin/$f" \
			"$stage/kvmshare/kselftest/kvmshare/$f"; then
			ln -f "$stage/kvmshare/bin/$f" \
				"$stage/kvmshare/kselftest/kvmshare/$f"
		fi
	done
	# The kselftest runner enforces a directory's settings timeout
	# through /usr/bin/timeout, called the GNU way: busybox's takes
	# the same arguments but --foreground.
	mkdir -p "$stage/usr/bin"
	cat > "$stage/usr/bin/timeout" <<'EOT'
#!/bin/sh
[ "$1" = --foreground ] && shift
exec /bin/busybox timeout "$@"
EOT
	chmod 755 "$stage/usr/bin/timeout"
fi
# The tools (kvmsharectl, paging service ...), on the VM's PATH.
if [ -d "$build/tools" ]; then
	find "$build/tools" -maxdepth 1 -type f -perm -u+x \
		-exec cp {} "$stage/kvmshare/bin/" \;
fi

pack "$stage" "$out"

[ -n "$guest_out" ] || exit 0
mkdir -p "$gstage"/{bin,dev,proc,sys,tmp,etc}
cp /bin/busybox "$gstage/bin/busybox"
ln -s busybox "$gstage/bin/sh"
cp "$top/scripts/vm/guest-init" "$gstage/init"
# Programs the nested guests run (tools/testing/selftests/kvmshare/guest/).
if [ -d "$build/selftests/guest" ]; then
	cp "$build/selftests/guest/"* "$gstage/bin/"
fi
chmod 755 "$gstage/init"
add_intree "$gstage" virtio_pci virtio_balloon zram msr nvme
pack "$gstage" "$guest_out"

# The kernel and initramfs of guests under TCG (e2e.sh, TCG mode):
# guest-vmlinux and guest-tcg-initrd.gz. In the debug lane they are
# Debian's kernel, not the debug one: a guest two levels of emulation deep
# booting a KASAN kernel took more than its 12-minute limit where Debian's
# takes about 4 minutes in the same lane, and the lane checks the host's
# modules, in the test VM's kernel. The
# guest's modules (ours from drivers/guest and drivers/vpa_guest, built
# for it here against Debian's headers in a copy of their sources, since
# the tree's own objects are the debug kernel's) come with that kernel.
# Guests on KVM keep the test VM's kernel and guest-initrd.gz.
tcg_initrd=$(dirname "$guest_out")/guest-tcg-initrd.gz
tkdir=$kdir
if [ -n "${KVMSHARE_KERNEL_LANE:-}" ]; then
	tkdir=$(KVMSHARE_KERNEL_LANE='' "$top/scripts/kernel.sh" fetch)
	krel=$(KVMSHARE_KERNEL_LANE='' "$top/scripts/kernel.sh" krel)
	kroot=$tkdir/root
	src=$build/guest-std
	rm -rf "$src"
	mkdir -p "$src/drivers/vpa"
	cp -r "$top/include" "$src/"
	cp "$top/drivers/vpa/"*.h "$src/drivers/vpa/"	# (vpa_guest's)
	for d in guest vpa_guest; do
		mkdir -p "$src/drivers/$d"
		cp "$top/drivers/$d/Kbuild" "$top/drivers/$d/"*.c "$src/drivers/$d/"
		make -s -C "/usr/src/linux-headers-$krel" M="$src/drivers/$d" \
			modules
	done
	ours=$src/drivers
	tstage=$(mktemp -d "$build/tinitrd.XXXXXX")
	trap 'rm -rf "$stage" "$gstage" "$tstage"' EXIT
	cp -a "$gstage/." "$tstage/"
	rm -rf "$tstage/lib/modules"
	add_intree "$tstage" virtio_pci virtio_balloon zram msr nvme
	pack "$tstage" "$tcg_initrd"
else
	ln -f "$guest_out" "$tcg_initrd"
fi

# The TCG guests' kernel uncompressed: QEMU boots it through its PVH entry
# point, which saves the bzImage decompression, most of a guest's boot
# under TCG inside the TCG test VM. Debian's bzImage holds an xz stream;
# made once per kernel (the name of the image it came from is kept
# beside it). Without one, the bzImage itself.
vmlinux=$(dirname "$guest_out")/guest-vmlinux
if [ ! -s "$vmlinux" ] || [ "$tkdir/vmlinuz" -nt "$vmlinux" ] ||
   [ "$(cat "$vmlinux.from" 2>/dev/null)" != "$tkdir/vmlinuz" ]; then
	rm -f "$vmlinux" "$vmlinux.from"
	off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$tkdir/vmlinuz" |
	      cut -d: -f1 | sed -n 1p)
	# (xz stops after its stream: tail's SIGPIPE is not a failure)
	if [ -n "$off" ] &&
	   xz -dcq --single-stream > "$vmlinux.tmp" \
		< <(tail -c +$((off + 1)) "$tkdir/vmlinuz") &&
	   [ "$(head -c 4 "$vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
		mv "$vmlinux.tmp" "$vmlinux"
	else
		rm -f "$vmlinux.tmp"
		echo "mkinitrd.sh: no xz-packed ELF kernel in $tkdir/vmlinuz;" \
		     "guests boot the bzImage"
		cp "$tkdir/vmlinuz" "$vmlinux"
	fi
	echo "$tkdir/vmlinuz" > "$vmlinux.from"
fi
