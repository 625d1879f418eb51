#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmsharectl's policy commands: metrics (create and bind a control file,
# unbind), balance (argument checks, an unreachable QEMU retried and
# reported) and status's TARGET column, with bad input refused with a
# message and a non-zero exit.

# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

echo "TAP version 13"
echo "1..18"
pd=/tmp/kpol$$
S=/sys/fs/kvmshare/kpol$$/partitions
ok "mount a pool" kvmsharectl mount $pd size=64M name=kpol$$
ok "create two partitions, 4 MiB of vm1 in memory" sh -c \
	"kvmsharectl create $pd/vm1 16M && kvmsharectl create $pd/vm2 16M &&
	 dd if=/dev/zero of=$pd/vm1 bs=1M count=4 conv=notrunc 2>/dev/null"
ok "metrics creates vm1.metrics and binds it" kvmsharectl metrics $pd/vm1
is "the binding is in sysfs" vm1.metrics "$(cat $S/vm1/metrics_file)"
is "the control file is 1 MiB" 1048576 "$(stat -c %s $pd/vm1.metrics)"
ok "metrics binds an existing file of another name" sh -c \
	"kvmsharectl create $pd/ctl2 4K && kvmsharectl metrics $pd/vm2 $pd/ctl2"
is "vm2's binding is in sysfs" ctl2 "$(cat $S/vm2/metrics_file)"
bad "a control file serves one partition" \
	kvmsharectl metrics $pd/vm2 $pd/vm1.metrics
bad "a file outside the pool cannot be bound" \
	kvmsharectl metrics $pd/vm1 /proc/self/status
ok "metrics ... none unbinds" kvmsharectl metrics $pd/vm1 none
is "the binding is gone from sysfs" "" "$(cat $S/vm1/metrics_file)"
bad "balance wants --qmp" kvmsharectl balance $pd
bad "balance wants a pool" kvmsharectl balance /tmp --qmp vm1=/nonexistent
bad "balance refuses a bad NAME=SOCKET" kvmsharectl balance $pd --qmp vm1
kvmsharectl status $pd > /tmp/kpol$$.status 2>&1
has "status: no policy target while the policy is off" '^vm1 .* -$' \
	/tmp/kpol$$.status
echo 1 > /sys/fs/kvmshare/kpol$$/policy_enabled
t=0
while [ "$(cat $S/vm1/policy_target_pages)" = 0 ] && [ $t -lt 20 ]; do
	sleep 1
	t=$((t + 1))
done
bad "balance --once reports a QEMU it cannot reach" \
	kvmsharectl balance $pd --once --qmp vm1=/nonexistent.qmp
kvmsharectl status $pd > /tmp/kpol$$.status 2>&1
has "status shows vm1's policy target" '^vm1 .* [0-9.]+ (KiB|MiB)$' \
	/tmp/kpol$$.status
rm -f /tmp/kpol$$.status
echo 0 > /sys/fs/kvmshare/kpol$$/policy_enabled
ok "remove the files and unmount" sh -c \
	"kvmsharectl remove $pd/vm1.metrics && kvmsharectl remove $pd/ctl2 &&
	 kvmsharectl remove $pd/vm1 && kvmsharectl remove $pd/vm2 &&
	 kvmsharectl umount $pd && rmdir $pd"
[ $fails = 0 ]
