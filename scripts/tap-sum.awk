# SPDX-License-Identifier: GPL-2.0
#
# Sum the results of one suite run from the marker stream written by
# scripts/vm/run-progs.sh (see scripts/vm/init for the markers).
#
#   awk -v suite=NAME -v countfile=FILE -f tap-sum.awk results.log
#
# Prints every result line prefixed with the suite name, and writes
# "passed failed skipped" to countfile. Anything that is not a clean run is
# a failure: a program that exits non-zero without a failing result, fewer
# or more results than the plan announced, a program that never ended (the VM hung
# or panicked) and a run without the final KVMSHARE-DONE marker.

function finish_prog(rc,   msg) {
	msg = ""
	if (bail != "")
		msg = bail " (exit status " (rc == "" ? "none" : rc) ")"
	else if (rc == "")
		msg = "did not finish (VM hung, panicked or timed out)"
	else if (rc + 0 != 0 && fail_in_prog == 0)
		msg = "exited with status " rc " without a failing result"
	else if (plan >= 0 && seen < plan)
		msg = "reported " seen " of " plan " planned results"
	else if (plan >= 0 && seen > plan)
		msg = "reported " seen " results, more than the " plan " planned"
	else if (seen == 0 && rc + 0 == 0)
		msg = "reported no result"
	if (msg != "") {
		failed++
		printf("[%s] not ok  %s: %s\n", suite, prog, msg)
	}
	inprog = 0
}

BEGIN {
	passed = failed = skipped = 0
	inprog = 0
	done = 0
}

/^KVMSHARE-BEGIN / {
	if (inprog)
		finish_prog("")
	prog = $2
	inprog = 1
	plan = -1
	seen = 0
	fail_in_prog = 0
	bail = ""
	next
}

/^KVMSHARE-END / {
	if (inprog)
		finish_prog($3)
	next
}

/^KVMSHARE-DONE/ {
	done = 1
	next
}

!inprog {
	next
}

/^1\.\.[0-9]+/ {
	if (plan < 0) {
		sub(/^1\.\./, "")
		plan = $0 + 0
	}
	next
}

/^ok / {
	seen++
	if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) {
		skipped++
		printf("[%s] skip    %s: %s\n", suite, prog, substr($0, 4))
	} else {
		passed++
		printf("[%s] ok      %s: %s\n", suite, prog, substr($0, 4))
	}
	next
}

/^not ok / {
	seen++
	if ($0 ~ /# *[Tt][Oo][Dd][Oo]/) {
		skipped++
		printf("[%s] todo    %s: %s\n", suite, prog, substr($0, 8))
	} else {
		failed++
		fail_in_prog++
		printf("[%s] not ok  %s: %s\n", suite, prog, substr($0, 8))
	}
	next
}

/^Bail out!/ {
	bail = $0
	next
}

/^bench: / {
	print
	next
}

/^# / {
	if (verbose)
		printf("[%s]         %s\n", suite, $0)
	next
}

END {
	if (inprog)
		finish_prog("")
	if (!done) {
		failed++
		printf("[%s] not ok  suite did not complete\n", suite)
	}
	printf("%d %d %d\n", passed, failed, skipped) > countfile
}
