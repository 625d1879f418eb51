#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: host integration and packaging (issue #16), on this machine, no VM,
# nothing loaded:
#  - make install into a DESTDIR puts the modules where Kbuild's
#    modules_install does, the tools, the systemd units (paths filled in),
#    the modules-load.d and modprobe.d files and the examples; make
#    uninstall takes them all away again;
#  - systemd-analyze verify accepts the units (installed with a PREFIX
#    that exists, so their commands are checked) and the example .mount;
#  - kmod reads the modprobe.d file: with Debian's own modules of the
#    kernel, modprobe --show-depends vpa loads vfio_iommu_type1 before
#    vpa, and every module of the modules-load.d file resolves;
#  - make deb builds kvmshare-dkms and kvmshare-tools, whose contents and
#    control data are as expected, and dkms builds the modules from the
#    dkms package's own sources for this kernel and refuses a non-6.1 one.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
krel=$("$top/scripts/kernel.sh" krel) || exit 1
build=${KVMSHARE_BUILD:-$top/build}
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

echo "TAP version 13"
echo "1..9"
n=0 bad=0

# result OK DESCRIPTION: OK is 1 or 0; on failure the log's tail is shown.
result() {
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n $2"
	else
		tail -25 "$log" | sed 's/^/# /'
		echo "not ok $n $2"
		bad=1
	fi
}

# missing ROOT FILE...: the files not in ROOT, one a line, into the log.
missing() {
	local root=$1 f
	shift
	for f in "$@"; do
		[ -f "$root/$f" ] || echo "missing: $f"
	done
}

mods=(kvm/kvmshare.ko drivers/vpa/vpa.ko drivers/guest/kvmshare_guest.ko
      drivers/vpa_guest/vpa_guest.ko)
host_files=(lib/systemd/system/kvmshare-pagerd@.service
	    lib/systemd/system/kvmshare-balance@.service
	    lib/modules-load.d/kvmshare.conf lib/modprobe.d/kvmshare.conf
	    share/doc/kvmshare/examples/dev-kvmshare-pool0.mount
	    share/doc/kvmshare/examples/fstab
	    share/doc/kvmshare/examples/pagerd-pool0.conf
	    share/doc/kvmshare/examples/balance-pool0.conf)

# 1: make install DESTDIR=... (PREFIX /usr/local)
dest=$tmp/dest
ok=0
if make -s install DESTDIR="$dest" > "$log" 2>&1; then
	want=()
	for m in "${mods[@]}"; do
		want+=("lib/modules/$krel/extra/$m")
	done
	for f in bin/kvmsharectl bin/kvmshare-sim sbin/kvmshare-pagerd \
		 "${host_files[@]}"; do
		want+=("usr/local/$f")
	done
	missing "$dest" "${want[@]}" > "$log"
	bench=$dest/lib/modules/$krel/extra/drivers/vpa/vpa_bench.ko
	[ -e "$bench" ] && echo "installed: $bench" >> "$log"
	[ -s "$log" ] || ok=1
fi
result $ok "make install DESTDIR: modules in lib/modules/$krel/extra, tools, units, modules-load.d, modprobe.d, examples"

# 2: the units name the installed programs, nothing left to substitute
units=$dest/usr/local/lib/systemd/system
ok=0
{
	grep -n '@[A-Z]*@' "$units"/*.service
	grep -q '^ExecStart=/usr/local/sbin/kvmshare-pagerd --pool /dev/kvmshare/%i' \
		"$units/kvmshare-pagerd@.service" ||
		echo "kvmshare-pagerd@.service: no ExecStart=/usr/local/sbin/kvmshare-pagerd"
	grep -q '^ExecStart=/usr/local/bin/kvmsharectl balance /dev/kvmshare/%i' \
		"$units/kvmshare-balance@.service" ||
		echo "kvmshare-balance@.service: no ExecStart=/usr/local/bin/kvmsharectl"
	grep -q '^EnvironmentFile=/etc/kvmshare/pagerd/%i.conf' \
		"$units/kvmshare-pagerd@.service" ||
		echo "kvmshare-pagerd@.service: no EnvironmentFile=/etc/kvmshare/pagerd/%i.conf"
} > "$log" 2>&1
[ -s "$log" ] || ok=1
result $ok "units: paths substituted for PREFIX=/usr/local and SYSCONFDIR=/etc"

# 3: systemd-analyze verify (commands must exist: a PREFIX of its own)
pre=$tmp/prefix
if ! command -v systemd-analyze > /dev/null; then
	n=$((n + 1))
	echo "ok $n systemd-analyze verify of the units # SKIP systemd-analyze is not installed"
else
	ok=0
	if make -s install-tools install-host PREFIX="$pre" > "$log" 2>&1 &&
	   systemd-analyze verify --man=no \
		"$pre/lib/systemd/system/kvmshare-pagerd@.service" \
		"$pre/lib/systemd/system/kvmshare-balance@.service" \
		"$pre/share/doc/kvmshare/examples/dev-kvmshare-pool0.mount" \
		> "$log" 2>&1 && [ ! -s "$log" ]; then
		ok=1
	fi
	result $ok "systemd-analyze verify: kvmshare-pagerd@.service, kvmshare-balance@.service, dev-kvmshare-pool0.mount"
fi

# 4: kmod reads modprobe.d/kvmshare.conf; vfio_iommu_type1 before vpa
#    with Debian's modules; every modules-load.d line resolves.
ok=0
if kdir=$("$top/scripts/kernel.sh" fetch 2> "$log"); then
	kroot=$kdir/root
	for m in vfio_iommu_type1 mdev; do
		modprobe -d "$kroot" -S "$krel" --show-depends "$m"
	done 2>> "$log" | awk '$1 == "insmod" { print $2 }' | sort -u |
	while read -r f; do
		rel=${f#"$kroot"}
		mkdir -p "$dest/$(dirname "$rel")"
		cp "$f" "$dest/$rel"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		cp "$kroot/lib/modules/$krel/$f" "$dest/lib/modules/$krel/"
	done
	conf=$dest/usr/local/lib/modprobe.d/kvmshare.conf
	# (each step says in the log why it failed: the result shows it)
	if ! depmod -b "$dest" "$krel" >> "$log" 2>&1; then
		echo "depmod -b $dest $krel failed" >> "$log"
	elif ! modprobe -d "$dest" -S "$krel" -C "$conf" --showconfig \
		> "$tmp/showconfig" 2>> "$log" ||
	     ! grep -qx 'softdep vpa pre: vfio_iommu_type1' "$tmp/showconfig"; then
		{ echo "no 'softdep vpa pre: vfio_iommu_type1' in modprobe --showconfig with $conf:"
		  grep -i 'softdep\|vpa' "$tmp/showconfig"; ls -l "$conf"; } >> "$log" 2>&1
	elif ! modprobe -d "$dest" -S "$krel" -C "$conf" --show-depends vpa \
		> "$tmp/vpa.deps" 2>> "$log"; then
		echo "modprobe --show-depends vpa failed" >> "$log"
	else
		cat "$tmp/vpa.deps" >> "$log"
		t1=$(grep -n '/vfio_iommu_type1\.ko' "$tmp/vpa.deps" | head -1 | cut -d: -f1)
		v=$(grep -n '/extra/drivers/vpa/vpa\.ko' "$tmp/vpa.deps" | cut -d: -f1)
		[ -n "$t1" ] && [ -n "$v" ] && [ "$t1" -lt "$v" ] && ok=1
		[ "$ok" = 1 ] || echo "vfio_iommu_type1 at line '$t1', vpa at line '$v' of the list" >> "$log"
		while read -r m; do
			case "$m" in ''|'#'*) continue ;; esac
			modprobe -d "$dest" -S "$krel" -C "$conf" --show-depends \
				"$m" >> "$log" 2>&1 || ok=0
		done < "$dest/usr/local/lib/modules-load.d/kvmshare.conf"
	fi
fi
result $ok "modprobe.d: kmod reads the softdep, vfio_iommu_type1 loads before vpa; modules-load.d modules resolve"

# 5: make uninstall removes every file make install put there
ok=0
if make -s uninstall DESTDIR="$dest" > "$log" 2>&1 &&
   make -s uninstall PREFIX="$pre" >> "$log" 2>&1; then
	rm -rf "$dest/lib/modules/$krel/kernel"
	rm -f "$dest/lib/modules/$krel"/modules.*
	find "$dest" "$pre" -type f > "$log"
	[ -s "$log" ] || ok=1
fi
result $ok "make uninstall removes what make install installed"

# 6: make deb: both packages
debs=$build/deb
ok=0
if make -s deb > "$log" 2>&1; then
	dkms_deb=$(ls "$debs"/kvmshare-dkms_*_all.deb 2>/dev/null)
	tools_deb=$(ls "$debs"/kvmshare-tools_*_amd64.deb 2>/dev/null)
	[ -f "$dkms_deb" ] && [ -f "$tools_deb" ] && ok=1
	ls -l "$debs" >> "$log"
fi
result $ok "make deb (dpkg-buildpackage -us -uc -b): kvmshare-dkms and kvmshare-tools"

# contents DEB: the paths the package holds, without the leading "./"
contents() {
	dpkg-deb -c "$1" | awk '{ sub(/^\.\//, "", $6); print $6 }'
}

# 7: kvmshare-dkms: the sources and dkms.conf, nothing built, dkms hooks
ok=0
if [ -f "${dkms_deb:-}" ]; then
	s=usr/src/kvmshare-$ver
	contents "$dkms_deb" > "$tmp/dkms.list"
	{
		for f in "$s/dkms.conf" "$s/Kbuild" "$s/kvm/Kbuild" \
			 "$s/kvm/pool_main.c" "$s/drivers/vpa/vpa_main.c" \
			 "$s/drivers/guest/kvmshare_guest.c" \
			 "$s/drivers/vpa_guest/vpa_guest.c" \
			 "$s/include/uapi/linux/kvmshare.h"; do
			grep -qx "$f" "$tmp/dkms.list" || echo "not in the package: $f"
		done
		grep -E '\.(o|ko|mod\.c|cmd)$' "$tmp/dkms.list"
		dpkg-deb -f "$dkms_deb" Depends | grep -q 'dkms' ||
			echo "Depends has no dkms"
		dpkg-deb -I "$dkms_deb" postinst | grep -q 'common.postinst' ||
			echo "postinst does not run dkms"
	} > "$log" 2>&1
	[ -s "$log" ] || ok=1
fi
result $ok "kvmshare-dkms: usr/src/kvmshare-$ver (sources, dkms.conf), no build products, dkms postinst"

# 8: kvmshare-tools: programs, units, host configuration, examples
ok=0
if [ -f "${tools_deb:-}" ]; then
	contents "$tools_deb" > "$tmp/tools.list"
	x=usr/share/doc/kvmshare-tools/examples
	{
		for f in usr/bin/kvmsharectl usr/bin/kvmshare-sim \
			 usr/sbin/kvmshare-pagerd \
			 lib/systemd/system/kvmshare-pagerd@.service \
			 lib/systemd/system/kvmshare-balance@.service \
			 lib/modprobe.d/kvmshare.conf \
			 usr/lib/modules-load.d/kvmshare.conf \
			 "$x/dev-kvmshare-pool0.mount" "$x/fstab" \
			 "$x/pagerd-pool0.conf" "$x/balance-pool0.conf"; do
			grep -qx "$f" "$tmp/tools.list" || echo "not in the package: $f"
		done
		mkdir "$tmp/tools"
		dpkg-deb -x "$tools_deb" "$tmp/tools"
		grep -q '^ExecStart=/usr/sbin/kvmshare-pagerd ' \
			"$tmp/tools/lib/systemd/system/kvmshare-pagerd@.service" ||
			echo "kvmshare-pagerd@.service does not run /usr/sbin/kvmshare-pagerd"
		# kvmsharectl: shared json-c, libvirt loaded when asked for
		# (dlopen), so Depends has json-c and Suggests libvirt0
		needed=$(readelf -d "$tmp/tools/usr/bin/kvmsharectl" |
			 sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
		case " $needed" in
		*" libjson-c.so."*) ;;
		*) echo "kvmsharectl does not link libjson-c.so: NEEDED $needed" ;;
		esac
		case "$needed" in
		*libvirt*) echo "kvmsharectl links libvirt: NEEDED $needed" ;;
		esac
		dpkg-deb -f "$tools_deb" Depends | grep -q 'libjson-c5' ||
			echo "Depends has no libjson-c5: $(dpkg-deb -f "$tools_deb" Depends)"
		dpkg-deb -f "$tools_deb" Suggests | grep -q 'libvirt0' ||
			echo "Suggests has no libvirt0"
		LC_ALL=C "$tmp/tools/usr/bin/kvmsharectl" balance --help |
			grep -q -- '--libvirt' ||
			echo "kvmsharectl balance --help has no --libvirt"
	} > "$log" 2>&1
	[ -s "$log" ] || ok=1
fi
result $ok "kvmshare-tools: programs, units, modprobe.d, modules-load.d, examples; kvmsharectl with shared json-c, libvirt0 suggested"

# 9: dkms builds the package's sources for $krel, refuses other series
ok=0
if [ -f "${dkms_deb:-}" ] && command -v dkms > /dev/null; then
	mkdir -p "$tmp/dkms/x" "$tmp/dkms/tree"
	dpkg-deb -x "$dkms_deb" "$tmp/dkms/x"
	d=(--dkmstree "$tmp/dkms/tree" --sourcetree "$tmp/dkms/x/usr/src"
	   -m kvmshare -v "$ver")
	if dkms add "${d[@]}" > "$log" 2>&1 &&
	   dkms build "${d[@]}" -k "$krel" >> "$log" 2>&1 &&
	   [ -n "$(find "$tmp/dkms/tree" -name 'kvmshare.ko*' -path "*/$krel/*")" ] &&
	   [ -n "$(find "$tmp/dkms/tree" -name 'vpa.ko*' -path "*/$krel/*")" ]; then
		dkms build "${d[@]}" -k 6.2.0-1-amd64 \
			--kernelsourcedir "/usr/src/linux-headers-$krel" \
			>> "$log" 2>&1
		[ $? = 77 ] && grep -q BUILD_EXCLUSIVE "$log" && ok=1
	fi
fi
result $ok "dkms builds kvmshare-dkms's sources for $krel and skips a 6.2 kernel (BUILD_EXCLUSIVE_KERNEL)"
exit $bad
