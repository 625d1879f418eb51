#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Ask the host for a QMP command on this test VM's own QEMU (suites with
# VM_AGENT=1; scripts/vm/host-agent.sh answers). Sourced by test scripts.
#
#   hostcmd_qmp JSON     prints QEMU's reply; returns its exit status
#   hostcmd_hmp COMMAND  the same for a human monitor command line

HOSTCMD_TTY=/dev/ttyS2
HOSTCMD_ID=0

hostcmd_qmp() {
	HOSTCMD_ID=$((HOSTCMD_ID + 1))
	if ! grep -q kvmshare_agent=1 /proc/cmdline; then
		echo "hostcmd: no agent channel (VM_AGENT=1 in the suite)" >&2
		return 2
	fi
	if [ -z "${HOSTCMD_OPEN:-}" ]; then
		exec 5<> $HOSTCMD_TTY
		stty raw -echo <&5 2>/dev/null
		HOSTCMD_OPEN=1
	fi
	echo "HOSTCMD $$.$HOSTCMD_ID qmp $1" >&5
	while IFS= read -r line <&5; do
		line=$(echo "$line" | tr -d '\r')
		case "$line" in
		"HOSTRES $$.$HOSTCMD_ID "*)
			set -- $line
			rc=$3
			shift 3
			echo "$*"
			return "$rc"
			;;
		esac
	done
	return 1
}

hostcmd_hmp() {
	hostcmd_qmp "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"$1\"}}"
}
