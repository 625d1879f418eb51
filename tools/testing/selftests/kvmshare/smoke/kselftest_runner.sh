#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kselftest entry point works in the test VM (issue #19): the tree that
# `make kselftest-install` made with the kernel's selftests Makefile
# (/kvmshare/kselftest here: run_kselftest.sh, kselftest-list.txt,
# kvmshare/<dir>/) lists every kvmshare target, and its runner runs a C
# test of the harness and a shell test of this directory with a clean TAP
# summary. The summary check is then shown to fail on the runner's own
# output for a failing test and for a run of no test at all, and a
# directory's settings timeout to end a test that hangs.
#
# Run by run_kselftest.sh itself (-c kvmshare/smoke) this skips instead of
# starting the runner inside the runner.

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"

if [ -n "${KVMSHARE_KSFT_INNER:-}" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP already inside run_kselftest.sh"
	exit 4
fi

# The installed tree: two levels up when this script is the installed
# copy, else where mkinitrd.sh puts it.
ksft=${KVMSHARE_KSFT_DIR:-}
if [ -z "$ksft" ]; then
	ksft=/kvmshare/kselftest
	[ -f "$here/../../run_kselftest.sh" ] && ksft=$(cd "$here/../.." && pwd)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ksft_clean FILE: FILE is the output of run_kselftest.sh; succeed if it
# planned at least one test and every planned test passed (a skip is not a
# pass), else say why and fail. Only the runner's own lines count: a
# test's output is prefixed with "# ".
ksft_clean() {
	awk '
		/^1\.\.[0-9]+/ { plan += substr($1, 4) + 0; plans++ }
		/^ok / && / # SKIP/ { skip++; next }
		/^ok / { pass++ }
		/^not ok / { fail++; print "# failed: " $0 }
		END {
			if (plans == 0) { print "# no TAP plan from the runner"; exit 1 }
			if (plan == 0) { print "# the runner ran no test"; exit 1 }
			if (fail || skip || pass != plan) {
				printf "# %d planned, %d passed, %d failed, %d skipped\n",
				       plan, pass, fail, skip
				exit 1
			}
		}' "$1"
}

# kselftest_run TREE OUT ARGS...: run TREE's runner with ARGS into OUT (a
# test that hangs fails the check instead of the whole suite). Through a
# pipe: the runner writes a test's output to /dev/stdout opened again in
# append mode, which on a file opened without it is overwritten by the
# runner's own lines that follow.
kselftest_run() {
	dir=$1 out=$2
	shift 2
	(cd "$dir" && KVMSHARE_KSFT_INNER=1 timeout 100 ./run_kselftest.sh "$@" \
		2>&1) | cat > "$out"
}

echo "TAP version 13"
echo "1..6"

# 1: the tree lists each installed target with a settings file (the test
# directories), and the two tests run below
kselftest_listed() {
	[ -x "$ksft/run_kselftest.sh" ] || { echo "no $ksft/run_kselftest.sh"; return 1; }
	(cd "$ksft" && ./run_kselftest.sh -l) > "$tmp/list" || return 1
	for s in "$ksft"/kvmshare/*/settings; do
		t=${s#"$ksft"/}
		t=${t%/settings}
		grep -q "^$t:" "$tmp/list" || { echo "$t is not listed"; return 1; }
	done
	for t in kvmshare/smoke:kvm_smoke_test kvmshare/smoke:modules.sh; do
		grep -qx "$t" "$tmp/list" || { echo "$t is not listed"; return 1; }
	done
}
ok "run_kselftest.sh -l lists every kvmshare test directory" kselftest_listed

# 2, 3: a harness test and a shell test through the runner
kselftest_run "$ksft" "$tmp/run" -t kvmshare/smoke:kvm_smoke_test \
	-t kvmshare/smoke:modules.sh
sed 's/^/# /' "$tmp/run"
ok "run_kselftest.sh -t kvm_smoke_test -t modules.sh: 2 of 2 passed" \
	ksft_clean "$tmp/run"
has "kvm_smoke_test's harness totals came through the runner" \
	'^# # Totals: pass:[1-9][0-9]* fail:0 ' "$tmp/run"

# 4-6: the same runner and check over a copy of the tree whose list has a
# passing, a failing and a hanging test (the directory's settings give it
# 2 s), then over an empty list
neg=$tmp/neg
mkdir -p "$neg/neg"
cp -r "$ksft/run_kselftest.sh" "$ksft/kselftest" "$neg/"
printf '#!/bin/sh\necho "# passing"\n' > "$neg/neg/pass.sh"
printf '#!/bin/sh\necho "# failing"\nexit 1\n' > "$neg/neg/fail.sh"
printf '#!/bin/sh\nexec sleep 60\n' > "$neg/neg/hang.sh"
chmod 755 "$neg/neg/pass.sh" "$neg/neg/fail.sh" "$neg/neg/hang.sh"
echo "timeout=2" > "$neg/neg/settings"
printf 'neg:pass.sh\nneg:fail.sh\nneg:hang.sh\n' > "$neg/kselftest-list.txt"
kselftest_run "$neg" "$tmp/neg.out"
sed 's/^/# /' "$tmp/neg.out"
bad "a test that fails makes the check fail" ksft_clean "$tmp/neg.out"
has "the settings timeout ends a hanging test" \
	'^not ok 3 selftests: neg: hang.sh' "$tmp/neg.out"
: > "$neg/kselftest-list.txt"
kselftest_run "$neg" "$tmp/empty.out"
bad "a run of no test makes the check fail" ksft_clean "$tmp/empty.out"

[ "$fails" = 0 ]
