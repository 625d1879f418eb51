# SPDX-License-Identifier: GPL-2.0
#
# The part every suite directory's Makefile shares. A suite's Makefile sets
# the kselftest lists, includes this file, then adds rules of its own:
#
#   TEST_GEN_PROGS           C tests (run by run_kselftest.sh, in order)
#   TEST_PROGS               shell tests (run after them)
#   TEST_GEN_PROGS_EXTENDED  built and installed, not run as tests
#                            (benchmarks, helpers, tests run on the host)
#   TEST_PROGS_EXTENDED      the same for scripts (end-to-end scenarios
#                            run by manual suites, sourced helpers)
#   TEST_GEN_FILES           generated data the tests read
#   NO_MVM := 1              the programs are not linked with the mvm
#                            library (lib/)
#
# plus `config` (kernel options the tests need) and `settings`
# (timeout=<seconds per test>, the suite's TIMEOUT) in the directory.
#
# The rules come from the kernel's kselftest lib.mk, taken at build time
# from Debian's linux-source-6.1 (scripts/kernel-tools.sh), so each
# directory is a kselftest target of that kernel tree:
#
#   make -C <linux-tools>/tools/testing/selftests TARGETS=kvmshare/smoke \
#        install KSFT_INSTALL_PATH=DIR
#
# Programs are linked statically: the test VM has only busybox.
#
# Where the output goes: OUTPUT when the caller sets it (`make selftests`
# passes build/selftests/<suite>; the kernel's Makefile with O= passes a
# directory below O). A build in place, which is what the kernel's Makefile
# asks for without O=, would write into this source tree: it goes to
# $(KVMSHARE_SELFTESTS)/<suite> instead (build/selftests/<suite>), the
# directory `make selftests` fills, so neither entry point builds what the
# other has built.

KSFT_KVMSHARE := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
TOP := $(abspath $(KSFT_KVMSHARE)/../../../..)
SUITE := $(notdir $(CURDIR))
KTOOLS := $(shell $(TOP)/scripts/kernel-tools.sh)
ifeq ($(KTOOLS),)
$(error scripts/kernel-tools.sh failed: is linux-source-6.1 installed?)
endif

KVMSHARE_SELFTESTS ?= $(or $(KVMSHARE_BUILD),$(TOP)/build)/selftests
ifeq ($(OUTPUT),)
override OUTPUT := $(KVMSHARE_SELFTESTS)/$(SUITE)
else ifeq ($(realpath $(OUTPUT)),$(CURDIR))
override OUTPUT := $(KVMSHARE_SELFTESTS)/$(SUITE)
endif
# (lib.mk's rules expect the directory to be there)
$(shell mkdir -p $(OUTPUT))

.DEFAULT_GOAL := all

CFLAGS += -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	  -Wno-missing-field-initializers -std=gnu11 \
	  -I$(KTOOLS)/tools/testing/selftests -I$(TOP)/include/uapi \
	  -I$(KSFT_KVMSHARE)/lib
LDFLAGS += -static -pthread

# Headers every program may include: prerequisites that lib.mk's compile
# rule leaves off the command line.
LOCAL_HDRS += $(wildcard $(KSFT_KVMSHARE)/lib/*.h) \
	      $(wildcard $(TOP)/include/uapi/linux/*.h)

# Every *_test.c and every script here must be in one of the lists, so
# that none is silently left out of the build, the install and the runs.
KSFT_UNLISTED := $(filter-out $(TEST_GEN_PROGS) $(TEST_GEN_PROGS_EXTENDED), \
		   $(basename $(wildcard *_test.c))) \
		 $(filter-out $(TEST_PROGS) $(TEST_PROGS_EXTENDED), \
		   $(wildcard *.sh))
ifneq ($(strip $(KSFT_UNLISTED)),)
$(error $(SUITE)/Makefile: not in a kselftest list: $(KSFT_UNLISTED))
endif

# Scripts are used where they are by lib.mk; `make selftests` has always
# put them next to the programs, and run-progs.sh runs them from there.
KSFT_SCRIPTS := $(addprefix $(OUTPUT)/,$(TEST_PROGS) $(TEST_PROGS_EXTENDED))

include $(KTOOLS)/tools/testing/selftests/lib.mk

all: $(KSFT_SCRIPTS)

$(OUTPUT)/%.sh: %.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

# The mvm library, built once for all suites next to their directories
# (build/selftests/lib).
KSFT_LIB := $(abspath $(OUTPUT)/../lib)
LIB_OBJS := $(addprefix $(KSFT_LIB)/,mvm.o guest.o ksutil.o kspager.o)

$(KSFT_LIB)/%.o: $(KSFT_KVMSHARE)/lib/%.c $(LOCAL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(KSFT_LIB)/%.o: $(KSFT_KVMSHARE)/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

ifneq ($(NO_MVM),1)
$(TEST_GEN_PROGS) $(TEST_GEN_PROGS_EXTENDED): $(LIB_OBJS)
endif

EXTRA_CLEAN += $(KSFT_SCRIPTS)

# The tests load kvmshare modules and run KVM guests: `run_tests` runs
# them on the machine that built them, whose kernel they would change.
# It is refused except in the test VM (KVMSHARE_VM=1, set by its /init)
# or when asked for (KVMSHARE_RUN_ON_HOST=1, on a dedicated test host).
run_tests: kvmshare-run-guard

kvmshare-run-guard:
	@if [ "$(KVMSHARE_VM)$(KVMSHARE_RUN_ON_HOST)" = "" ]; then \
		echo "kvmshare/$(SUITE): run_tests loads modules into this" \
		     "machine's kernel; refused. Run the installed" \
		     "run_kselftest.sh in the test VM" \
		     "(Documentation/dev-guide.rst), or set" \
		     "KVMSHARE_RUN_ON_HOST=1 on a dedicated test host." >&2; \
		exit 1; \
	fi

.PHONY: kvmshare-run-guard
.SECONDARY:
