#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every kvmshare module in the VM loads, shows up, and unloads cleanly.

mods=$(ls "/lib/modules/$(uname -r)/extra/" 2>/dev/null | sed -n 's/\.ko$//p')
n=$(echo $mods | wc -w)
echo "TAP version 13"
echo "1..$((n * 2 + 1))"
i=1
if [ "$n" -gt 0 ]; then
	echo "ok $i found $n kvmshare module(s): $(echo $mods)"
else
	echo "not ok $i no kvmshare modules in the VM"
fi
for m in $mods; do
	i=$((i + 1))
	if modprobe "$m" && grep -q "^$m " /proc/modules; then
		echo "ok $i modprobe $m"
	else
		echo "not ok $i modprobe $m"
	fi
	i=$((i + 1))
	if rmmod "$m" && ! grep -q "^$m " /proc/modules; then
		echo "ok $i rmmod $m"
	else
		echo "not ok $i rmmod $m"
	fi
done
