#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The agent channel: a test in the VM asks the host for QMP commands on
# the VM's own QEMU, and a refused command is reported as such.

# shellcheck source=../lib/hostcmd.sh
. "$(dirname "$0")/../lib/hostcmd.sh"

echo "TAP version 13"
echo "1..2"
out=$(hostcmd_qmp '{"execute": "query-status"}')
rc=$?
echo "# $out"
if [ $rc = 0 ] && echo "$out" | grep -q '"running"'; then
	echo "ok 1 QMP query-status through the agent says running"
else
	echo "not ok 1 QMP query-status through the agent (rc $rc)"
fi
out=$(hostcmd_qmp '{"execute": "no-such-command"}')
rc=$?
echo "# $out"
if [ $rc != 0 ] && echo "$out" | grep -q CommandNotFound; then
	echo "ok 2 an unknown QMP command fails with QEMU's error"
else
	echo "not ok 2 unknown QMP command (rc $rc)"
fi
