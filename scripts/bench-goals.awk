# SPDX-License-Identifier: GPL-2.0
#
# Judge the figures of a benchmark run (make bench) against their goals.
#
#   awk -f bench-goals.awk SUITE.sum...
#
# A figure is a line "bench: NAME VALUE (goal OP X)" with OP one of
# <=, <, >=, >, == (anything after the closing parenthesis, such as the
# simulator's "MISSED", is ignored: the goal is judged here again). A line
# "bench: NAME VALUE (no goal)" or without a goal is listed as a figure
# without one. Prints each missed goal and the figures without a goal, and
# last "goals: N of M met". The exit status is 0.

function met(v, op, x) {
	if (op == "<=")
		return v <= x
	if (op == "<")
		return v < x
	if (op == ">=")
		return v >= x
	if (op == ">")
		return v > x
	if (op == "==")
		return v == x
	return 0
}

BEGIN {
	goals = 0
	nmet = 0
	nogoal = ""
	missed = ""
}

# The simulator's own tally ("policy.goals_met N of M") is no figure.
/^bench: [^ ]*goals_met / {
	next
}

/^bench: / {
	name = $2
	if (match($0, /\(goal [<>=]+ [-+0-9.eE]+\)/)) {
		split(substr($0, RSTART + 1, RLENGTH - 2), g, " ")
		goals++
		if ($3 ~ /^[-+]?[0-9]/ && met($3 + 0, g[2], g[3] + 0))
			nmet++
		else
			missed = missed sprintf("  %s %s (goal %s %s)\n", name,
						$3, g[2], g[3])
	} else {
		nogoal = nogoal " " name
	}
}

END {
	if (missed != "")
		printf("goals missed:\n%s", missed)
	if (nogoal != "")
		printf("figures without a goal:%s\n", nogoal)
	printf("goals: %d of %d met\n", nmet, goals)
}
