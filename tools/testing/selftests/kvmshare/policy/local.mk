# SPDX-License-Identifier: GPL-2.0
#
# policy: user-space tests of the policy engine and of the metrics page
# reader (kvm/kvmshare_policy.c, kvm/kvmshare_metrics.c, built as they
# are), the simulator check over the shipped traces, and the simulator
# bench. All run natively (scripts/suites/policy.conf).

POLICY_KVM := $(TOP)/kvm
POLICY_SIM := $(TOP)/tools/kvmshare-sim
POLICY_CFLAGS := $(CFLAGS) -I$(POLICY_KVM) -I$(POLICY_SIM) \
		 -DKVMSHARE_SRCDIR_DEFAULT=\"$(TOP)\"
POLICY_KSRCS := $(POLICY_KVM)/kvmshare_policy.c $(POLICY_KVM)/kvmshare_metrics.c
POLICY_DEPS := $(POLICY_KSRCS) $(POLICY_KVM)/kvmshare_policy.h \
	       $(POLICY_KVM)/kvmshare_metrics.h $(POLICY_KVM)/kvmshare_compat.h \
	       $(TOP)/include/uapi/linux/kvmshare_metrics.h policy/testutil.h
POLICY_SIMSRCS := $(POLICY_SIM)/sim.c $(POLICY_SIM)/trace.c \
		  $(POLICY_SIM)/report.c $(POLICY_SIM)/gen.c $(POLICY_SIM)/bench.c
POLICY_SIMDEPS := $(POLICY_SIMSRCS) $(POLICY_SIM)/sim.h policy/simtraces.h

$(OUT)/policy/engine_unit: policy/engine_unit.c $(POLICY_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(POLICY_CFLAGS) -o $@ $< $(POLICY_KSRCS) $(LDFLAGS)

$(OUT)/policy/metrics_fuzz: policy/metrics_fuzz.c policy/metrics_check.h \
			    $(POLICY_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(POLICY_CFLAGS) -o $@ $< $(POLICY_KSRCS) $(LDFLAGS)

$(OUT)/policy/sim_check $(OUT)/policy/sim_bench: $(OUT)/policy/%: \
		policy/%.c $(POLICY_DEPS) $(POLICY_SIMDEPS)
	@mkdir -p $(dir $@)
	$(CC) $(POLICY_CFLAGS) -o $@ $< $(POLICY_SIMSRCS) $(POLICY_KSRCS) \
		$(LDFLAGS) -lm

EXTRA_PROGS += $(OUT)/policy/engine_unit $(OUT)/policy/metrics_fuzz \
	       $(OUT)/policy/sim_check $(OUT)/policy/sim_bench

# libFuzzer (clang), on demand only: make policy-libfuzzer
$(OUT)/policy/metrics_libfuzzer: policy/metrics_libfuzzer.c \
				 policy/metrics_check.h $(POLICY_DEPS)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(POLICY_KVM) \
		-I$(TOP)/include/uapi -o $@ $< $(POLICY_KSRCS)

policy-libfuzzer: $(OUT)/policy/metrics_libfuzzer

.PHONY: policy-libfuzzer

# The guest module's test runs in the VM (PROGS) and checks the page with
# the host's reader: linked with kvm/kvmshare_metrics.c as it is.
$(OUT)/policy/guest_metrics_test: policy/guest_metrics_test.c $(POLICY_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(POLICY_CFLAGS) -o $@ $< $(POLICY_KVM)/kvmshare_metrics.c \
		$(LDFLAGS)

# kvmsharectl's QMP client against a fake QEMU, natively (HOST_PROGS); it
# runs the built CLI, build/tools/kvmsharectl.
$(OUT)/policy/qmp_cli: policy/qmp_cli.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

EXTRA_PROGS += $(OUT)/policy/qmp_cli
