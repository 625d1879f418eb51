#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmsharectl end to end: mount a pool, create and tune partitions (also
# in a directory of the pool), show status, as text and as JSON (checked
# with json_get), refuse bad input with a message and exit status 1 (2 for
# a usage error), refuse paths that are not on a pool, leave nothing
# behind when a command fails, print the kernel's reason when it refuses
# a mount and a modprobe hint without the module, clean up.

# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
here=$(cd "$(dirname "$0")" && pwd)

P=/tmp/ctlpool
sys=/sys/fs/kvmshare/ctlpool
none=/tmp/ctl-none.qmp
echo "TAP version 13"
echo "1..75"

# The command line: --version, --help, usage errors (exit status 2).
exits "--version prints the version" 0 '^kvmsharectl [0-9]' \
	kvmsharectl --version
exits "--help lists the commands" 0 '^  balance DIR' kvmsharectl --help
nohelp=
for c in mount resize umount create set remove status pager-stop pageout \
	 balloon qmp metrics balance; do
	kvmsharectl $c --help 2>/dev/null | grep -q "^Usage: kvmsharectl $c " ||
		nohelp="$nohelp $c"
done
is "COMMAND --help prints the command's usage on stdout, exit status 0" \
	"" "$nohelp"
exits "an unknown option: exit status 2, said on stderr" 2 \
	"unrecognized option '--bogus'" \
	sh -c "kvmsharectl create --bogus $P/x 4M 2>&1 >/dev/null"
exits "an unknown option: the command's usage on stderr" 2 \
	'^Usage: kvmsharectl create FILE SIZE' \
	sh -c "kvmsharectl create --bogus $P/x 4M 2>&1 >/dev/null"
exits "an option without its value is a usage error" 2 \
	"'--timeout' requires an argument" kvmsharectl qmp --timeout
exits "an unknown command is a usage error" 2 "unknown command 'frob'" \
	kvmsharectl frob
exits "a missing argument is a usage error" 2 \
	'^Usage: kvmsharectl create ' kvmsharectl create $P/x

# Mount: the kernel's own reason, no mount point left behind.
exits "a pool larger than RAM: the kernel's reason" 1 \
	"mount /tmp/ctlbig: kvmshare: size \([0-9]+ pages\) is more than the host's memory" \
	kvmsharectl mount /tmp/ctlbig size=1T name=ctlbig
exits "a reserve above the size: the kernel's reason" 1 \
	"reserve \([0-9]+ pages\) must be below size" \
	kvmsharectl mount /tmp/ctlbig size=4M reserve=8M name=ctlbig
absent "the failed mounts made no mount point, no pool" /tmp/ctlbig \
	/sys/fs/kvmshare/ctlbig
mkdir -p /tmp/ctlkeep
exits "a failed mount on an existing directory" 1 "more than the host" \
	kvmsharectl mount /tmp/ctlkeep size=1T
is "keeps the directory it did not make" yes \
	"$([ -d /tmp/ctlkeep ] && echo yes)"
rmdir /tmp/ctlkeep
exits "an octal pool size is refused" 1 "bad size '010M': a leading 0" \
	kvmsharectl mount /tmp/ctlbig size=010M
exits "an octal percentage is refused" 1 "bad size '010%'" \
	kvmsharectl mount /tmp/ctlbig size=010%
bad "bad mount option is refused" kvmsharectl mount /tmp/x size=lots
absent "refused options made nothing" /tmp/x /tmp/ctlbig

ok "mount a 32M pool" kvmsharectl mount $P size=32M reserve=1M name=ctlpool
ok "create a partition with attributes" \
	kvmsharectl create $P/vm1 16M entitlement=4M limit=12M weight=200
has "entitlement is set" '^1024$' $sys/partitions/vm1/entitlement_pages
has "limit is set" '^3072$' $sys/partitions/vm1/limit_pages
has "weight is set" '^200$' $sys/partitions/vm1/weight
ok "create a second partition" kvmsharectl create $P/vm2 8M
ok "set an attribute" kvmsharectl set $P/vm2 weight=50
has "weight changed" '^50$' $sys/partitions/vm2/weight
mkdir $P/d
ok "create a partition in a directory of the pool" \
	kvmsharectl create $P/d/vm3 4M weight=300
has "its sysfs name is d!vm3" '^300$' "$sys/partitions/d!vm3/weight"
kvmsharectl status $P > /tmp/status.out 2>&1
has "status shows the pool" 'pages: size 8192 used 0' /tmp/status.out
has "status lists vm1" '^vm1 +16.0 MiB .* 200 ' /tmp/status.out
has "status lists vm2" '^vm2 +8.0 MiB' /tmp/status.out
has "status lists d/vm3" '^d/vm3 +4.0 MiB .* 300 ' /tmp/status.out

# status --json, parsed back with json-c (json_get).
kvmsharectl status --json $P > /tmp/status.json 2>&1
ok "status --json is one JSON document" "$here/json_get" /tmp/status.json
j() { "$here/json_get" /tmp/status.json "$@" 2>/dev/null | tr '\n' ' '; }
is "the pool: name, path, size, reserve, partitions" \
	"ctlpool $P 8192 256 3 0 " \
	"$(j /pool/name /pool/path /pool/size_pages /pool/reserve_pages \
	     /pool/nr_partitions /pool/fault_failures)"
is "d!vm3: path, size, weight" "d!vm3 $P/d/vm3 1024 300 " \
	"$(j /partitions/0/name /partitions/0/path /partitions/0/size_pages \
	     /partitions/0/weight)"
is "vm1: path, size and the sysfs values" \
	"vm1 $P/vm1 4096 0 1024 3072 200 0 0 0 " \
	"$(j /partitions/1/name /partitions/1/path /partitions/1/size_pages \
	     /partitions/1/resident_pages /partitions/1/entitlement_pages \
	     /partitions/1/limit_pages /partitions/1/weight \
	     /partitions/1/target_pages /partitions/1/policy_target_pages \
	     /partitions/1/paged_out_pages)"
is "vm2 last, and no fourth" "vm2 1" "$(j /partitions/2/name)$(
	"$here/json_get" /tmp/status.json /partitions/3 > /dev/null 2>&1
	echo $?)"

bad "entitlement above the pool is refused" \
	kvmsharectl set $P/vm2 entitlement=64M
bad "entitlement above the limit is refused" \
	kvmsharectl set $P/vm1 entitlement=13M
exits "bad weight is refused" 1 "bad weight '0'" \
	kvmsharectl set $P/vm1 weight=0
bad "bad size is refused" kvmsharectl create $P/vm3 12X
exits "an octal size is refused" 1 "bad size '010M': a leading 0" \
	kvmsharectl create $P/vm3 010M
exits "a hexadecimal size is refused" 1 "bad size '0x10M': hexadecimal" \
	kvmsharectl create $P/vm3 0x10M
exits "an octal attribute is refused" 1 "'entitlement=010M': a leading 0" \
	kvmsharectl set $P/vm1 entitlement=010M
exits "create with an unknown attribute is refused" 1 \
	"unknown attribute 'colour=blue'" kvmsharectl create $P/vm3 4M colour=blue
exits "create with an entitlement the pool refuses" 1 \
	"set attributes of $P/vm3" kvmsharectl create $P/vm3 4M entitlement=64M
absent "a failed create leaves no file" $P/vm3 "$sys/partitions/vm3"
bad "unknown attribute is refused" kvmsharectl set $P/vm1 colour=blue
exits "shrinking below entitlements: the kernel's reason" 1 \
	"resize $P: kvmshare: pool ctlpool: .*below use or entitlements" \
	kvmsharectl resize $P size=2M
ok "resize grows the pool" kvmsharectl resize $P size=40M
has "to 40M" '^10240$' $sys/size_pages

# Paths that are not on a pool: refused, and nothing is touched.
exits "create on tmpfs is refused" 1 \
	"^kvmsharectl: /tmp/ctlfile is not on a kvmshare pool$" \
	kvmsharectl create /tmp/ctlfile 4M
absent "and creates nothing" /tmp/ctlfile
echo data > /tmp/ctlnot
mkdir -p /tmp/ctltmpfs
mount -t tmpfs -o size=1M none /tmp/ctltmpfs
notpool=
for c in "set /tmp/ctlnot weight=10" "remove /tmp/ctlnot" \
	 "pageout /tmp/ctlnot" "metrics /tmp/ctlnot" "status /tmp/ctltmpfs" \
	 "status --json /tmp/ctltmpfs" "resize /tmp/ctltmpfs size=2M" \
	 "umount /tmp/ctltmpfs" "pager-stop /tmp/ctltmpfs 1" \
	 "balance /tmp/ctltmpfs --once --qmp=vm1=$none" \
	 "metrics $P/vm1 /tmp/ctlctl"; do
	# shellcheck disable=SC2086
	out=$(kvmsharectl $c 2>&1)
	rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q 'is not on a kvmshare pool$' ||
		notpool="$notpool [$c: $rc: $out]"
done
is "every command refuses a path not on a pool" "" "$notpool"
is "and leaves it alone" "data mounted 1024k" \
	"$(cat /tmp/ctlnot) $(grep -q ' /tmp/ctltmpfs tmpfs ' /proc/mounts &&
	   echo mounted) $(sed -n 's|.* /tmp/ctltmpfs tmpfs .*size=\([0-9]*k\).*|\1|p' /proc/mounts)"
absent "no control file outside the pool" /tmp/ctlctl
umount /tmp/ctltmpfs
rm -rf /tmp/ctlnot /tmp/ctltmpfs

# metrics: a control file made for a failed bind is removed again.
ok "metrics creates vm1.metrics and binds it" kvmsharectl metrics $P/vm1
exits "a control file cannot have a control file" 1 \
	"bind $P/vm1.metrics: Invalid argument" kvmsharectl metrics $P/vm1.metrics
absent "the failed bind left no control file" $P/vm1.metrics.metrics \
	"$sys/partitions/vm1.metrics.metrics"
exits "a control file serves one partition" 1 "serves another partition" \
	kvmsharectl metrics $P/vm2 $P/vm1.metrics
is "the failed bind left the control file it did not make" "vm1.metrics" \
	"$(cat $sys/partitions/vm1/metrics_file)"
ok "unbind and remove the control file" sh -c \
	"kvmsharectl metrics $P/vm1 none && kvmsharectl remove $P/vm1.metrics"

# balance and qmp options: --opt=VALUE and --opt VALUE, before or after
# the arguments. With a target set, balance asks the guest's QEMU (there
# is none: exit status 1, "connect", not a usage error).
ok "targets for vm1 and d/vm3" sh -c \
	"kvmsharectl set $P/vm1 target=8M && kvmsharectl set $P/d/vm3 target=2M"
exits "balance --opt=VALUE, options before DIR" 1 "connect $none" \
	kvmsharectl balance --manual --once --min=4M --interval=100 --hold=0 \
	--qmp=vm1=$none $P
exits "balance --opt VALUE, options after DIR" 1 "connect $none" \
	kvmsharectl balance $P --manual --once --min 4M --interval 100 \
	--qmp vm1=$none
exits "balance a partition in a directory (DIR/FILE)" 1 "connect $none" \
	kvmsharectl balance $P --manual --once --qmp=d/vm3=$none
exits "balance refuses a bad --interval" 1 "bad --interval '5'" \
	kvmsharectl balance $P --once --interval=5 --qmp=vm1=$none
exits "balance refuses NAME=SOCKET outside the pool" 1 "bad --qmp '../vm1=" \
	kvmsharectl balance $P --once --qmp=../vm1=$none
# The test VM's kvmsharectl is linked statically: it cannot load libvirt
# (the dynamically linked one does, suite libvirt).
exits "balance --libvirt: the static build says it cannot load libvirt" 1 \
	"linked statically and cannot load libvirt.so.0" \
	kvmsharectl balance $P --once --libvirt
exits "qmp --timeout=S" 1 "connect $none" \
	kvmsharectl qmp --timeout=2 $none '{"execute": "query-status"}'
exits "qmp SOCKET JSON --timeout S" 1 "connect $none" \
	kvmsharectl qmp $none '{"execute": "query-status"}' --timeout 2
exits "qmp refuses a bad --timeout" 1 "bad --timeout '010'" \
	kvmsharectl qmp --timeout=010 $none '{"execute": "query-status"}'

ok "remove partitions" sh -c "kvmsharectl remove $P/vm1 &&
	kvmsharectl remove $P/vm2 && kvmsharectl remove $P/d/vm3 && rmdir $P/d"
ok "umount" kvmsharectl umount $P
absent "pool left sysfs" $sys

# Without the module there is no kvmshare filesystem: kvmsharectl says to
# load it. The kernel's own attempt to load it is held off meanwhile
# (kernel.modprobe), and the module is loaded again for the next tests.
n=$((n + 1))
mp=$(cat /proc/sys/kernel/modprobe)
if rmmod kvmshare 2>/dev/null; then
	echo /nonexistent/modprobe > /proc/sys/kernel/modprobe
	out=$(kvmsharectl mount /tmp/ctlnomod size=4M 2>&1)
	rc=$?
	echo "$mp" > /proc/sys/kernel/modprobe
	modprobe kvmshare
	if [ $rc = 1 ] && [ ! -e /tmp/ctlnomod ] && echo "$out" |
	   grep -q 'is the kvmshare module loaded? (modprobe kvmshare)$'; then
		echo "# $out"
		echo "ok $n mount without the module: a modprobe hint"
	else
		echo "$out" | sed 's/^/# /'
		echo "not ok $n mount without the module: a modprobe hint (exit status $rc)"
		fails=$((fails + 1))
	fi
else
	echo "ok $n mount without the module: a modprobe hint # SKIP kvmshare cannot be unloaded"
fi
[ "$fails" = 0 ]
