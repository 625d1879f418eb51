#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End to end with libvirt (suite libvirt, issue #16): the host's unmodified
# libvirtd (Debian 12: libvirt 9.0, scripts/deps.sh) runs inside the test
# VM in a chroot of the host's root, its QEMU driver with memory_backing_dir
# on a kvmshare pool, and starts a domain of type 'qemu' (TCG, as e2e_tcg's
# guests) with <memoryBacking><source type='file'/><access mode='shared'/>
# and a virtio balloon with free page reporting:
#
#  - libvirt creates <id>-<name>/pc.ram in the pool: the partition
#    "<id>-<name>!pc.ram" of sysfs, which the libvirt hook of
#    dist/examples/libvirt-hook-qemu tunes from the domain's <metadata>;
#    kvmsharectl set and sysfs tune it further, and read back;
#  - the guest boots from it and writes and verifies a pattern (guest_mem);
#  - virsh setmem --live inflates the balloon: squeezed first to a little
#    above what the guest holds (so that the memory the guest frees next
#    stays below free page reporting's threshold, resident in the file),
#    then below that: the pages the balloon takes leave the partition
#    (punched), whose resident pages end at most the balloon's target;
#  - virsh destroy and undefine: the directory and the file are gone, the
#    pool is empty; the kernel logs are clean.
#
# The host's / is read-only in the VM: tmpfs over the directories libvirt
# writes (/run is already one, lib/e2e.sh). The daemon is this script's
# child and is stopped at the end, whatever happens (trap).

# shellcheck source-path=SCRIPTDIR source=../lib/e2e.sh
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

DOM=kvs1
POOL=lv
MB=256			# pages per MiB
# Guest RAM, kept and filled MiB (guest_mem), seconds the fill is held: in
# that time the first setmem must have reached its target (see below).
MEM=192 KEEP=16 FILL=32
HOLD=$((25 * E2E_SLACK))
# memory_backing_dir (as the chroot sees it); libvirt puts its domains'
# directories in $LVDIR/libvirt/qemu, where the pool is bind-mounted
LVDIR=/run/kvmshare-libvirt
LVQEMU=$LVDIR/libvirt/qemu
LVROOTS="etc/libvirt etc/mdevctl.d var/lib var/cache var/log tmp"
PATH_IN=$KVMSHARE_BUILD/tools/dynamic:$KVMSHARE_BUILD/tools:/usr/sbin:/usr/bin:/sbin:/bin
SYS=/sys/fs/kvmshare/$POOL

at() {		# at WHAT: a diagnostic with the seconds since e2e_setup
	echo "# +$(($(date +%s) - E2E_T0)) s: $*"
}

in_root() {	# in_root CMD...: a program of the host root, in the chroot
	chroot $E2E_ROOT env -i PATH="$PATH_IN" HOME=/root LC_ALL=C "$@"
}
# (in_root_bg CMD...) &: the same in the background, $! the program itself
# (chroot and env exec it), so that a kill reaches it and not a subshell
in_root_bg() {
	exec chroot $E2E_ROOT env -i PATH="$PATH_IN" HOME=/root LC_ALL=C "$@"
}

vsh() {		# vsh ARGS...: virsh on the system daemon
	in_root virsh -q -c qemu:///system "$@"
}

memstat() {	# memstat NAME: a field of virsh dommemstat (KiB), or empty
	vsh dommemstat $DOM 2>/dev/null | sed -n "s/^$1 \([0-9]*\)$/\1/p"
}

num() {		# num ATTR: an attribute of the domain's partition
	cat "$SYS/partitions/$PART/$1" 2>/dev/null
}

lv_logs() {	# the daemon's and QEMU's logs, as diagnostics
	tail -15 $E2E_ROOT/var/log/libvirt/libvirtd.log 2>/dev/null |
		sed 's/^/#   libvirtd: /'
	tail -5 $E2E_RUN/libvirtd.out 2>/dev/null | sed 's/^/#   libvirtd out: /'
	tail -8 $E2E_ROOT/var/log/libvirt/qemu/$DOM.log 2>/dev/null |
		sed 's/^/#   qemu: /'
}

# wait_for SECONDS COMMAND...: until the command succeeds (times
# E2E_SLACK). Time, not tries: on a loaded machine one virsh call took
# seconds, and 480 tries of one were most of an hour.
wait_for() {
	w=$(($(date +%s) + $1 * E2E_SLACK))
	shift
	while [ "$(date +%s)" -lt "$w" ]; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

at_target() {	# at_target KIB: the balloon's actual size is KIB
	[ "$(memstat actual)" = "$1" ]
}

# setmem KIB: the balloon's target, and wait until the guest reached it
setmem() {
	vsh setmem $DOM "$1" --live 2>&1 | sed 's/^/# /'
	wait_for 120 at_target "$1"
}

# stats_fresh: wait for two new balloon statistics of the guest (every
# 2 s, <stats period='2'/>): what they say is from after this call
stats_fresh() {
	for _ in 1 2; do
		lu=$(memstat last_update)
		wait_for 30 stats_newer "$lu" || return 1
	done
}
stats_newer() {
	l=$(memstat last_update)
	[ -n "$l" ] && [ "$l" != "$1" ]
}

lv_stop() {	# stop libvirtd (SIGTERM) and wait for it
	[ -n "${LV_PID:-}" ] || return 0
	kill "$LV_PID" 2>/dev/null
	for _ in $(seq $((15 * E2E_SLACK))); do
		kill -0 "$LV_PID" 2>/dev/null || { LV_PID=; return 0; }
		sleep 1
	done
	kill -9 "$LV_PID" 2>/dev/null
	LV_PID=
	return 1
}

cleanup() {
	if [ -n "${LV_PID:-}" ]; then
		for d in $DOM ${DOM2:-}; do
			vsh destroy $d > /dev/null 2>&1
			vsh undefine $d > /dev/null 2>&1
		done
		lv_stop
	fi
	[ -n "${MD:-}" ] && [ -e "$MD" ] && echo 1 > "$MD/remove"
	[ -n "${BAL:-}" ] && kill "$BAL" 2>/dev/null
	[ -n "${PAGERD:-}" ] && kill -TERM "$PAGERD" 2>/dev/null && wait "$PAGERD"
	# a QEMU left behind (the daemon was killed)
	q=$(cat $E2E_RUN/libvirt/qemu/$DOM.pid 2>/dev/null)
	[ -n "$q" ] && kill -9 "$q" 2>/dev/null && sleep 1
	e2e_mounted $E2E_ROOT$LVQEMU && umount $E2E_ROOT$LVQEMU
	e2e_mounted $E2E_RUN/pool && umount $E2E_RUN/pool
	for r in $LVROOTS; do
		e2e_mounted "$E2E_ROOT/$r" && umount "$E2E_ROOT/$r"
	done
	for r in passwd group; do
		e2e_mounted $E2E_ROOT/etc/$r && umount $E2E_ROOT/etc/$r
	done
}

echo "TAP version 13"
echo "1..28"
e2e_setup
for f in usr/sbin/libvirtd usr/bin/virsh usr/bin/mdevctl \
	 usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so; do
	if [ ! -e $E2E_ROOT/$f ]; then
		echo "Bail out! no /$f on the host: scripts/deps.sh installs libvirt (libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients) and mdevctl"
		exit 1
	fi
done
# libvirt's own directories are fresh tmpfs mounts in the chroot: a
# checkout below one of them would vanish from under the suite
for r in $LVROOTS; do
	case "$KVMSHARE_SRCDIR/" in
	/$r/*)
		echo "Bail out! the checkout $KVMSHARE_SRCDIR is under /$r, which this suite mounts a fresh tmpfs over for libvirt: run it from a checkout elsewhere"
		exit 1
		;;
	esac
done
if [ ! -f "$E2E_ROOT$KVMSHARE_SRCDIR/dist/examples/libvirt-hook-qemu" ]; then
	echo "Bail out! no dist/examples/libvirt-hook-qemu in $KVMSHARE_SRCDIR"
	exit 1
fi
trap cleanup EXIT
trap 'exit 1' INT TERM

# 1: the pool, libvirt's writable directories and its configuration.
# tmpfs over /var/lib, /var/cache and /var/log of the host root rather
# than over their libvirt directories, which only libvirt-daemon-system
# creates; /tmp for the daemon's and QEMU's temporary files. The QEMU
# driver looks its built-in user libvirt-qemu up before it reads qemu.conf
# ("Failed to parse user 'libvirt-qemu'"), and that user, too, comes with
# libvirt-daemon-system: the host's passwd and group plus libvirt-qemu
# (Debian's uid and gid 64055) are bind-mounted over its own here.
setup() {
	for r in passwd group; do
		cp $E2E_ROOT/etc/$r $E2E_RUN/lv-$r || return 1
	done
	grep -q '^libvirt-qemu:' $E2E_RUN/lv-passwd ||
		echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" >> $E2E_RUN/lv-passwd
	grep -q '^libvirt-qemu:' $E2E_RUN/lv-group ||
		echo "libvirt-qemu:x:64055:libvirt-qemu" >> $E2E_RUN/lv-group
	for r in passwd group; do
		mount --bind $E2E_RUN/lv-$r $E2E_ROOT/etc/$r || return 1
	done
	mkdir -p $E2E_RUN/pool $E2E_ROOT$LVQEMU &&
	mount -t kvmshare -o size=$((MEM * 2 + 128))M,name=$POOL none $E2E_RUN/pool &&
	mount --bind $E2E_RUN/pool $E2E_ROOT$LVQEMU || return 1
	# (not $d: e2e_check keeps its description there)
	for r in $LVROOTS; do
		mount -t tmpfs -o size=256m,mode=755 "lv-${r##*/}" "$E2E_ROOT/$r" ||
			return 1
	done
	mkdir -p $E2E_ROOT/var/lib/libvirt $E2E_ROOT/var/cache/libvirt \
		$E2E_ROOT/var/log/libvirt $E2E_ROOT/etc/libvirt/hooks \
		$E2E_ROOT/etc/mdevctl.d/scripts.d/callouts \
		$E2E_ROOT/etc/mdevctl.d/scripts.d/notifiers &&
	chmod 1777 $E2E_ROOT/tmp || return 1
	cat > $E2E_ROOT/etc/libvirt/qemu.conf <<EOF
# kvmshare suite libvirt: QEMU as root without confinement, no cgroups,
# no namespaces (the test VM has neither set up), no virtlogd
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
memory_backing_dir = "$LVDIR"
EOF
	cat > $E2E_ROOT/etc/libvirt/libvirtd.conf <<EOF
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
	cp "$E2E_ROOT$KVMSHARE_SRCDIR/dist/examples/libvirt-hook-qemu" \
		$E2E_ROOT/etc/libvirt/hooks/qemu &&
	chmod 755 $E2E_ROOT/etc/libvirt/hooks/qemu
}
e2e_check "a pool bind-mounted at memory_backing_dir/libvirt/qemu, libvirt's directories on tmpfs" setup

# 2: the daemon, in the foreground as our child
chroot $E2E_ROOT env -i PATH="$PATH_IN" HOME=/root LC_ALL=C \
	/usr/sbin/libvirtd > $E2E_RUN/libvirtd.out 2>&1 &
LV_PID=$!
t=0
ret=1
while [ $t -lt $((60 * E2E_SLACK)) ] && kill -0 $LV_PID 2>/dev/null; do
	vsh version > $E2E_RUN/virsh-version 2>&1 && { ret=0; break; }
	sleep 1
	t=$((t + 1))
done
at "libvirtd answers (after ${t} s)"
sed 's/^/# /' $E2E_RUN/virsh-version
[ $ret = 0 ] || lv_logs
e2e_tap $ret "libvirtd of the host starts in the chroot and virsh reaches it"
if [ $ret != 0 ]; then
	LV_PID=
	echo "Bail out! libvirtd did not come up"
	exit 1
fi

# domain_xml NAME MIB CMDLINE METADATA DEVICES [QEMU-ARGS]: $E2E_RUN/NAME.xml,
# a domain of type 'qemu' booting e2e.sh's guest (CMDLINE added to its
# kernel's), its RAM MIB MiB of file-backed shared memory (on the pool),
# METADATA in its <metadata>, DEVICES among its devices and QEMU-ARGS
# (<qemu:arg> lines) in its <qemu:commandline>.
# no_timer_check, as for the test VM (scripts/vm-run.sh): under two levels
# of TCG on a loaded machine the boot-time check of the timer interrupt
# failed once and the guest panicked in apic_intr_mode_init (load 8).
domain_xml() {
	cat > "$E2E_RUN/$1.xml" <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$1</name>
  <metadata>
$4
  </metadata>
  <memory unit='MiB'>$2</memory>
  <currentMemory unit='MiB'>$2</currentMemory>
  <memoryBacking>
    <source type='file'/>
    <access mode='shared'/>
  </memoryBacking>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$E2E_KERNEL</kernel>
    <initrd>$E2E_INITRD</initrd>
    <cmdline>console=ttyS0 loglevel=4 panic=-1 no_timer_check $3 cryptomgr.notests watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=300</cmdline>
  </os>
  <features>
    <acpi/>
    <tcg>
      <tb-cache unit='MiB'>256</tb-cache>
    </tcg>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='/run/$1.log'/>
      <target port='0'/>
    </serial>
$5
  </devices>
EOF
	if [ -n "${6:-}" ]; then
		printf '  <qemu:commandline>\n%s\n  </qemu:commandline>\n' "$6" \
			>> "$E2E_RUN/$1.xml"
	fi
	echo "</domain>" >> "$E2E_RUN/$1.xml"
}

# 3: the domain
domain_xml $DOM $MEM "kvmshare_job=mem kvmshare_mem=$KEEP,$FILL,1,$HOLD" \
"    <kvmshare:partition xmlns:kvmshare=\"urn:kvmshare:partition:1\"
                        entitlement=\"32M\" limit=\"256M\" weight=\"300\"/>" \
"    <memballoon model='virtio' freePageReporting='on'>
      <stats period='2'/>
    </memballoon>"
defined() {
	vsh define /run/$DOM.xml &&
	vsh dumpxml --inactive $DOM > $E2E_RUN/$DOM.inactive.xml &&
	grep -q "<source type='file'/>" $E2E_RUN/$DOM.inactive.xml &&
	grep -q "<access mode='shared'/>" $E2E_RUN/$DOM.inactive.xml &&
	grep -q "freePageReporting='on'" $E2E_RUN/$DOM.inactive.xml &&
	grep -q "urn:kvmshare:partition:1" $E2E_RUN/$DOM.inactive.xml
}
e2e_check "virsh define: file-backed shared memory, balloon with free page reporting, kvmshare metadata" defined
at "defined"

# 4: started; where libvirt put the guest's RAM
t0=$(date +%s)
vsh start $DOM > $E2E_RUN/start.out 2>&1
ret=$?
sed 's/^/# /' $E2E_RUN/start.out
ID=$(vsh domid $DOM 2>/dev/null)
PART="$ID-$DOM!pc.ram"
RAM=$E2E_RUN/pool/$ID-$DOM/pc.ram
at "started in $(($(date +%s) - t0)) s, id '$ID'; QEMU's memory and balloon:"
grep -o '"qom-type":"memory-backend-file"[^}]*\|"driver":"virtio-balloon-pci"[^}]*' \
	$E2E_ROOT/var/log/libvirt/qemu/$DOM.log 2>/dev/null | sed 's/^/#   /'
[ $ret = 0 ] || lv_logs
e2e_tap $ret "virsh start: libvirt starts the domain"
if [ $ret != 0 ] || [ -z "$ID" ]; then
	echo "Bail out! the domain did not start"
	exit 1
fi

placed() {
	find $E2E_RUN/pool | sed 's/^/# pool: /'
	echo "# sysfs: $(cd $SYS/partitions && echo *)"
	[ -f "$RAM" ] && [ "$(stat -c %s "$RAM")" = $((MEM * 1048576)) ] &&
	[ -d "$SYS/partitions/$PART" ] &&
	[ "$(cat $SYS/nr_partitions)" = 1 ] &&
	grep -q "\"mem-path\":\"$LVQEMU/$ID-$DOM/pc.ram\"" \
		$E2E_ROOT/var/log/libvirt/qemu/$DOM.log &&
	grep -q '"free-page-reporting":true' \
		$E2E_ROOT/var/log/libvirt/qemu/$DOM.log
}
e2e_check "guest RAM is the pool's $ID-$DOM/pc.ram ($MEM MiB), partition '$PART' in sysfs; QEMU has free page reporting" placed

# 5: the hook gave it the attributes of the domain's metadata
hooked() {
	echo "# entitlement $(num entitlement_pages) limit $(num limit_pages) weight $(num weight)"
	[ "$(num entitlement_pages)" = $((32 * MB)) ] &&
	[ "$(num limit_pages)" = $((256 * MB)) ] &&
	[ "$(num weight)" = 300 ]
}
e2e_check "the libvirt hook applied the domain's <kvmshare:partition> (entitlement 32M, limit 256M, weight 300)" hooked

# 6: the guest boots from the pool; its memory grows in the partition
e2e_booted $DOM 180
ret=$?
at "GUEST-BOOTED"
r_boot=$(num resident_pages)
[ $ret = 0 ] && e2e_wait $DOM "GUEST-FILLED 1" 180
ret=$?
r_fill=$(num resident_pages)
at "filled"
echo "# resident: $r_boot pages at GUEST-BOOTED, $r_fill with $KEEP+$FILL MiB written"
[ $ret = 0 ] && [ "${r_boot:-0}" -gt 0 ] && [ "${r_fill:-0}" -gt "$r_boot" ] &&
	[ "$r_fill" -ge $(((KEEP + FILL) * MB)) ]
e2e_tap $? "the guest boots and writes its pattern; resident_pages grows with it"

# 7: tuning the libvirt-created partition by hand: kvmsharectl, sysfs
tune() {
	kvmsharectl set "$RAM" entitlement=48M weight=500 &&
	echo $((MEM * MB)) > "$SYS/partitions/$PART/limit_pages" || return 1
	echo "# entitlement $(num entitlement_pages) limit $(num limit_pages) weight $(num weight)"
	[ "$(num entitlement_pages)" = $((48 * MB)) ] &&
	[ "$(num limit_pages)" = $((MEM * MB)) ] &&
	[ "$(num weight)" = 500 ] &&
	[ "$(cat $SYS/entitled_pages)" = $((48 * MB)) ]
}
e2e_check "kvmsharectl set on $ID-$DOM/pc.ram and a write to its sysfs limit_pages read back" tune

# 8: while the guest holds its fill, the balloon squeezes it to 12 MiB
# above what it uses (the guest's "unused" of its balloon statistics): the
# memory it frees next then keeps the guest below free page reporting's
# threshold (64 MiB free above the low watermark) and stays resident
stats_fresh
actual=$(memstat actual)
unused=$(memstat unused)
if [ -n "$unused" ] && [ "$unused" -gt $((20 * 1024)) ]; then
	T1=$((actual - unused + 12 * 1024))
else
	T1=${actual:-0}
fi
echo "# balloon: actual $actual KiB, guest unused $unused KiB -> target $T1 KiB"
p_hold=$(num punched_pages)
setmem "$T1"
ret=$?
at "balloon at $T1 KiB"
freed_before=1
grep -q "GUEST-FREED 1" $E2E_RUN/$DOM.log && freed_before=0
echo "# at $T1 KiB: resident $(num resident_pages), punched $p_hold -> $(num punched_pages)"
[ $freed_before = 0 ] &&
	echo "# the guest freed its fill before the balloon reached $T1 KiB (hold $HOLD s): free page reporting may have taken it"
[ $ret = 0 ] && [ $freed_before = 1 ]
e2e_tap $? "virsh setmem --live $T1: the balloon reaches it while the guest holds its pattern"

# 9: the guest verifies and frees its fill, then what it keeps
e2e_wait $DOM "GUEST-DONE" $((HOLD + 120))
at "GUEST-DONE"
grep -h 'GUEST-FREED\|GUEST-ROUND\|GUEST-DONE' $E2E_RUN/$DOM.log | tr -d '\r' |
	sed 's/^/# /'
grep -q 'GUEST-DONE rounds=1 bad=0' $E2E_RUN/$DOM.log &&
	! grep -q 'GUEST-FREED.*BAD\|GUEST-ROUND.*BAD' $E2E_RUN/$DOM.log
e2e_tap $? "every word the guest wrote and kept was right"

# 10: below that the balloon takes what the guest freed: resident pages
# go down, punched up, and the partition holds at most the target
sleep $((5 * E2E_SLACK))
r1=$(num resident_pages)
p1=$(num punched_pages)
T2=$((T1 - FILL * 3 * 1024 / 4))
setmem "$T2"
ret=$?
sleep 2
at "balloon at $T2 KiB"
r2=$(num resident_pages)
p2=$(num punched_pages)
echo "# balloon to $T2 KiB: resident $r1 -> $r2, punched $p1 -> $p2 pages;" \
     "actual $(memstat actual) KiB"
[ $ret = 0 ] && [ "$r2" -le $((T2 / 4)) ] &&
	[ $((r1 - r2)) -ge $((FILL * MB / 4)) ] && [ $((p2 - p1)) -ge $((r1 - r2)) ]
e2e_tap $? "virsh setmem --live $T2: resident pages go down by the pages punched, to at most the target"

# 11: kvmsharectl balance --libvirt (the dynamically linked kvmsharectl,
# first on the chroot's PATH) finds the domain by its partition and moves
# its balloon through libvirt; --manual follows target_pages, set here.
# Its errors first: libvirt unreachable, and a partition named as
# libvirt's for a domain libvirt does not run (99-ghost/pc.ram: said,
# left out, the domain balanced anyway).
bal() {		# bal ARGS...: kvmsharectl balance on the pool, in the chroot
	in_root kvmsharectl balance $LVQEMU "$@" > $E2E_RUN/balance.out 2>&1
	r=$?
	sed 's/^/#   balance: /' $E2E_RUN/balance.out
	return $r
}
bal_errors() {
	bal --once --libvirt='qemu+unix:///system?socket=/run/nosuch.sock'
	[ $? = 1 ] &&
	grep -q "cannot connect to libvirt at qemu+unix:///system?socket=/run/nosuch.sock: .*/run/nosuch.sock" \
		$E2E_RUN/balance.out || return 1
	mkdir $E2E_RUN/pool/99-ghost &&
	kvmsharectl create $E2E_RUN/pool/99-ghost/pc.ram 4M || return 1
	kvmsharectl set "$RAM" target="$(memstat actual)K" &&
	bal --once --manual --libvirt
	r=$?
	rm -r $E2E_RUN/pool/99-ghost
	[ $r = 0 ] &&
	grep -q "99-ghost!pc.ram: no running libvirt domain 99" $E2E_RUN/balance.out &&
	grep -q "^balance: $DOM ($ID-$DOM/pc.ram): libvirt domain $ID, balloon" \
		$E2E_RUN/balance.out
}
e2e_check "kvmsharectl balance --libvirt: libvirt unreachable is an error; a partition of no running domain is said and left out" bal_errors

# balance_to KIB: target_pages KIB, balance --once, and the balloon there
# (virsh dommemstat's actual and dominfo's used memory)
balance_to() {
	kvmsharectl set "$RAM" target="$1"K &&
	bal --once --manual --libvirt &&
	grep -q "^balance: $DOM ($ID-$DOM/pc.ram) target $(($1 / 4)) pages: balloon $(($1 / 1024)) MiB" \
		$E2E_RUN/balance.out &&
	wait_for 120 at_target "$1" || return 1
	vsh dominfo $DOM | grep "memory" | sed 's/^/#   dominfo: /'
	vsh dominfo $DOM | grep -q "^Used memory: *$1 KiB"
}
T3=$((T2 + 32 * 1024))
r3=$(num resident_pages)
p3=$(num punched_pages)
e2e_check "kvmsharectl balance --libvirt: target_pages $T3 KiB, the balloon follows (dommemstat, dominfo)" \
	balance_to $T3
at "balance at $T3 KiB"
balanced_down() {
	balance_to $T2 || return 1
	sleep 2
	r4=$(num resident_pages)
	p4=$(num punched_pages)
	echo "# balance back to $T2 KiB: resident $r3 -> $r4, punched $p3 -> $p4 pages"
	[ "$r4" -le $((T2 / 4)) ] && [ "$p4" -gt "$p3" ]
}
e2e_check "kvmsharectl balance --libvirt back to $T2 KiB: resident pages at most the target, more punched" \
	balanced_down
at "balance at $T2 KiB"
kvmsharectl set "$RAM" target=0

# 14
e2e_alive $DOM
e2e_tap $? "the guest keeps verifying every word it keeps"

# 15: destroyed: libvirt removes the directory, the pool is empty
vsh destroy $DOM 2>&1 | sed 's/^/# /'
vsh domstate $DOM 2>&1 | sed 's/^/# state: /'
vsh domstate $DOM 2>/dev/null | grep -q 'shut off'
ret=$?
gone() {
	[ ! -e "$E2E_RUN/pool/$ID-$DOM" ] && [ ! -e "$SYS/partitions/$PART" ] &&
	[ "$(cat $SYS/nr_partitions)" = 0 ] &&
	[ "$(cat $SYS/used_pages)" = 0 ] && [ "$(cat $SYS/entitled_pages)" = 0 ]
}
wait_for 10 gone
ret2=$?
echo "# pool after destroy: [$(cd $E2E_RUN/pool && echo *)], partitions" \
     "$(cat $SYS/nr_partitions), used $(cat $SYS/used_pages)," \
     "entitled $(cat $SYS/entitled_pages) pages"
[ $ret = 0 ] && [ $ret2 = 0 ]
e2e_tap $? "virsh destroy: $ID-$DOM and pc.ram are gone, nr_partitions and used_pages are 0"

# 16
undefined() {
	vsh undefine $DOM &&
	! vsh list --all --name | grep -qx $DOM &&
	[ ! -e $E2E_ROOT/etc/libvirt/qemu/$DOM.xml ]
}
e2e_check "virsh undefine: the domain is gone" undefined

# 17: mdev through mdevctl and libvirt. mdevctl (its configuration
# directory on tmpfs) defines and starts a virtual adapter of vpa's
# software adapter vpa0 from the shipped dist/examples/mdevctl-vpa.json
# (type vpa-small, its attribute vpa/nr_eng 10 applied as it starts)
U=$(cat /proc/sys/kernel/random/uuid)
MD=/sys/bus/mdev/devices/$U
mdev_started() {
	in_root mdevctl define -u "$U" -p vpa0 \
		--jsonfile "$KVMSHARE_SRCDIR/dist/examples/mdevctl-vpa.json" &&
	in_root mdevctl start -u "$U" || return 1
	in_root mdevctl list -d | sed 's/^/# mdevctl list -d: /'
	in_root mdevctl list | sed 's/^/# mdevctl list: /'
	echo "# $MD: type $(basename "$(readlink $MD/mdev_type)"), nr_eng $(cat $MD/vpa/nr_eng 2>&1), state $(cat $MD/vpa/state 2>&1)"
	[ -d $MD ] && [ "$(basename "$(readlink $MD/mdev_type)")" = vpa-small ] &&
	[ "$(cat $MD/vpa/nr_eng)" = 10 ] && [ "$(cat $MD/vpa/state)" = idle ] &&
	in_root mdevctl list | grep -q "^$U vpa0 vpa-small"
}
e2e_check "mdevctl define --jsonfile mdevctl-vpa.json and start: a vpa-small virtual adapter of vpa0 with nr_eng 10" mdev_started

# 18: from here on the pool runs as the operator's guide sets it up
# (Documentation/admin-guide/libvirt.rst): a paging service attached,
# the policy on, and kvmsharectl balance --libvirt running as
# kvmshare-balance@.service would, following libvirt's domains (--min:
# the policy starts a partition from what it holds, little while its
# guest boots, and the guest's job needs no more than that to run)
pager_up() {	# a paging service is attached to the pool
	[ "$(cat $SYS/active_pager)" != 0 ]
}
pool_service() {
	kvmshare-pagerd --pool $E2E_RUN/pool \
		--backend file:$E2E_RUN/pagerd.store --blocks $((256 * MB)) \
		--pidfile $E2E_RUN/pagerd.pid > $E2E_RUN/pagerd.log 2>&1 &
	PAGERD=$!
	if ! wait_for 30 pager_up; then
		sed 's/^/# pagerd: /' $E2E_RUN/pagerd.log
		return 1
	fi
	echo 1 > $SYS/policy_enabled || return 1
	(in_root_bg kvmsharectl balance $LVQEMU --libvirt --min=128M) \
		> $E2E_RUN/balanced.out 2>&1 &
	BAL=$!
	sleep 2
	echo "# active_pager $(cat $SYS/active_pager), policy_enabled $(cat $SYS/policy_enabled)"
	kill -0 $BAL
}
e2e_check "kvmshare-pagerd attached, policy_enabled 1, kvmsharectl balance --libvirt running" pool_service

# 19: a second domain (its RAM on the pool as well) gets the adapter
# through <hostdev mode='subsystem' type='mdev'>: QEMU's vfio-pci opens it.
# Its guest publishes its metrics (kvmshare_guest) into an ivshmem-plain
# device on the control file kvs2.metrics in the pool's root, given in
# <qemu:commandline>, which the hook binds to its RAM (metrics=).
DOM2=kvs2
domain_xml $DOM2 160 "kvmshare_job=vpa kvmshare_metrics=1" \
"    <kvmshare:partition xmlns:kvmshare=\"urn:kvmshare:partition:1\"
                        metrics=\"$DOM2.metrics\"/>" \
"    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
      <source>
        <address uuid='$U'/>
      </source>
    </hostdev>
    <memballoon model='virtio'>
      <stats period='2'/>
    </memballoon>" \
"    <qemu:arg value='-object'/>
    <qemu:arg value='memory-backend-file,id=kvmshare-metrics,mem-path=$LVQEMU/$DOM2.metrics,size=1M,share=on'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='{\"driver\":\"ivshmem-plain\",\"id\":\"kvmshare-metrics0\",\"memdev\":\"kvmshare-metrics\"}'/>"
mdev_domain() {
	vsh define /run/$DOM2.xml && vsh start $DOM2 || { lv_logs; return 1; }
	ID2=$(vsh domid $DOM2)
	at "$DOM2 started, id $ID2; QEMU's vfio-pci:"
	grep -o '"driver":"vfio-pci"[^}]*' \
		$E2E_ROOT/var/log/libvirt/qemu/$DOM2.log | sed 's/^/#   /'
	echo "# $MD: state $(cat $MD/vpa/state); pool: $(cd $E2E_RUN/pool && echo */*)"
	grep -q "\"sysfsdev\":\"$MD\"" $E2E_ROOT/var/log/libvirt/qemu/$DOM2.log &&
	[ "$(cat $MD/vpa/state)" = open ] &&
	[ -d "$SYS/partitions/$ID2-$DOM2!pc.ram" ]
}
e2e_check "virsh start of $DOM2 with <hostdev type='mdev'> $U: vfio-pci sysfsdev, the adapter open, its RAM on the pool" mdev_domain

# 20: the guest's vpa_guest runs verified descriptors on it
vpa_dma() {
	e2e_wait $DOM2 "GUEST-VPA 2 ok" 300 || return 1
	at "$DOM2: GUEST-VPA 2"
	grep -a "GUEST-VPA-READY\|GUEST-VPA [0-9]* " $E2E_RUN/$DOM2.log | tr -d '\r' |
		head -3 | sed 's/^/# /'
	echo "# audit: $(cd $MD/vpa_audit && grep . * | tr '\n' ' ')"
	! grep -q "GUEST-VPA [0-9]* BAD" $E2E_RUN/$DOM2.log &&
	[ "$(cat $MD/vpa_audit/completed)" -gt 0 ] &&
	[ "$(cat $MD/vpa_audit/dma_unmapped)" = 0 ] &&
	[ "$(cat $MD/vpa_audit/dma_window)" = 0 ]
}
e2e_check "$DOM2's vpa_guest runs verified DMA on the virtual adapter (audit: completed, nothing refused)" vpa_dma

# 20b: the hook bound the control file that QEMU made to the domain's RAM;
# the policy reads the guest's metrics from it. The hook refuses a
# metrics= that is not a plain name in the pool's root.
num2() {
	cat "$SYS/partitions/$ID2-$DOM2!pc.ram/$1" 2>/dev/null
}
published() {
	echo "# $ID2-$DOM2!pc.ram: metrics_file '$(num2 metrics_file)'," \
	     "metrics: $(cd "$SYS/partitions/$ID2-$DOM2!pc.ram/metrics" &&
			grep . ok torn stale bad_magic bad_version absent | tr '\n' ' ')"
	grep -a "GUEST-METRICS" $E2E_RUN/$DOM2.log | tr -d '\r' | head -1 | sed 's/^/# /'
	grep -aq "GUEST-METRICS on" $E2E_RUN/$DOM2.log &&
	[ "$(num2 metrics_file)" = $DOM2.metrics ] &&
	[ "$(num2 metrics/ok)" -ge 3 ] && [ "$(num2 metrics/bad_magic)" = 0 ] &&
	[ "$(num2 metrics/bad_version)" = 0 ]
}
metrics_ok() {
	[ "$(num2 metrics/ok 2>/dev/null)" -ge 3 ] 2>/dev/null
}
bad_name() {
	printf '<domain type="qemu" id="99">\n<kvmshare:partition xmlns:kvmshare="urn:kvmshare:partition:1" metrics="%s"/>\n</domain>\n' "$1" |
		in_root /etc/libvirt/hooks/qemu kvsX started begin - 2> $E2E_RUN/hook.err
	r=$?
	sed 's/^/#   hook: /' $E2E_RUN/hook.err
	[ $r != 0 ] && grep -q "bad metrics=" $E2E_RUN/hook.err
}
metrics_bound() {
	wait_for 60 metrics_ok
	published && bad_name ../x && bad_name .hidden && bad_name 'a b'
}
e2e_check "the hook bound $DOM2.metrics (QEMU's ivshmem-plain) to $DOM2's RAM; the policy reads its guest's metrics; bad names refused" metrics_bound

# 21: balance found the domain by itself; the policy gives it a target
followed() {
	sed 's/^/#   balance: /' $E2E_RUN/balanced.out
	echo "# $ID2-$DOM2!pc.ram: policy_target_pages $(num2 policy_target_pages), resident $(num2 resident_pages)"
	kill -0 $BAL &&
	grep -q "^balance: $DOM2 ($ID2-$DOM2/pc.ram): libvirt domain $ID2, balloon 160 MiB" \
		$E2E_RUN/balanced.out &&
	[ "$(num2 policy_target_pages)" -gt 0 ]
}
e2e_check "kvmsharectl balance --libvirt follows $DOM2 (started after it), which has a policy target" followed

# 22: destroyed: the adapter is closed and idle, the pool empty (the hook
# removed the control file at "release"); mdevctl stops and undefines it
mdev_gone() {
	vsh destroy $DOM2 > /dev/null && vsh undefine $DOM2 > /dev/null || return 1
	wait_for 10 gone || return 1
	echo "# $MD after destroy: state $(cat $MD/vpa/state)"
	[ "$(cat $MD/vpa/state)" = idle ] &&
	in_root mdevctl stop -u "$U" && in_root mdevctl undefine -u "$U" &&
	[ ! -e $MD ] && [ -z "$(in_root mdevctl list -d)" ]
}
e2e_check "virsh destroy $DOM2: the adapter is idle again, the pool empty; mdevctl stop and undefine remove it" mdev_gone

# 23: balance lets the stopped domain go and stops on SIGTERM; the
# paging service stops cleanly, the store empty; the policy off
services_stop() {
	grep -q "^balance: $DOM2 ($ID2-$DOM2/pc.ram): gone" $E2E_RUN/balanced.out ||
		{ sed 's/^/#   balance: /' $E2E_RUN/balanced.out; return 1; }
	kill $BAL && wait $BAL
	BAL=
	echo 0 > $SYS/policy_enabled
	kill -TERM $PAGERD
	wait $PAGERD
	r=$?
	PAGERD=
	sed 's/^/# pagerd: /' $E2E_RUN/pagerd.log | tail -3
	[ $r = 0 ] && [ "$(cat $SYS/blocks_used)" = 0 ]
}
e2e_check "balance drops the stopped domain; kvmshare-pagerd stops cleanly, no block used" services_stop

# 24
e2e_logs_clean

# 25
lv_stop
e2e_tap $? "libvirtd stops on SIGTERM"

# 26
# what holds a mount busy: open files, mappings and working directories
# of processes, and mounts below it
holders() {
	for p in /proc/[0-9]*; do
		h=$( (ls -l $p/fd; readlink $p/cwd $p/root; cat $p/maps) 2>/dev/null |
		    grep -c -F "$1")
		[ "$h" -gt 0 ] &&
			echo "#   busy: pid ${p#/proc/} ($(cat $p/comm 2>/dev/null)): $h references to $1"
	done
	grep -F " $1/" /proc/self/mountinfo | sed 's/^/#   below: /'
}
unmounted() {
	umount $E2E_ROOT$LVQEMU || { holders $E2E_ROOT$LVQEMU; return 1; }
	umount $E2E_RUN/pool || { holders $E2E_RUN/pool; return 1; }
}
unmounted
e2e_tap $? "the pool unmounts"
[ $E2E_FAILS = 0 ]
