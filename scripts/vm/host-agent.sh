#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the test VM's agent channel (scripts/vm-run.sh --agent).
# Reads requests from the VM's third serial port and answers them:
#
#   VM -> host:  HOSTCMD <id> qmp <json>
#   host -> VM:  HOSTRES <id> <exit status> <QEMU's reply on one line>
#
# Only QMP commands to the VM's own QEMU are served (for instance
# {"execute": "human-monitor-command", "arguments": {"command-line":
# "pcie_aer_inject_error rp1 POISON_TLP"}}); anything else is refused.

set -u
out=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
ctl=${KVMSHARE_BUILD:-$top/build}/tools/kvmsharectl

exec 3< "$out/agent.out" 4> "$out/agent.in"
while IFS= read -r line <&3; do
	line=${line%$'\r'}
	case "$line" in
	"HOSTCMD "*) ;;
	*) continue ;;
	esac
	read -r _ id kind json <<< "$line"
	if [ "$kind" != qmp ] || [ -z "$json" ]; then
		echo "HOSTRES $id 2 unsupported request" >&4
		continue
	fi
	res=$("$ctl" qmp "$out/qmp.sock" "$json" 2>&1)
	rc=$?
	echo "$(date +%T) $id rc=$rc $json -> $res"
	printf 'HOSTRES %s %d %s\n' "$id" "$rc" "$(echo "$res" | tr '\n' ' ')" >&4
done
