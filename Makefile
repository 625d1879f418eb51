# SPDX-License-Identifier: GPL-2.0
#
# kvmshare: top-level make targets (see README and
# Documentation/dev-guide.rst). The kernel build itself is described by the
# Kbuild files; this Makefile only drives it.
#
#   make              build the modules against the newest Debian 6.1 headers
#   make demo         boot the test VM with the modules and show them at work
#   make check        every test suite; ends with "N passed, N failed, ..."
#   make check SUITES="a b"
#   make check KERNEL=debug [SUITES=...]
#                     the same on a debug kernel built from linux-source-6.1
#                     (KASAN, lockdep, kmemleak ...; scripts/debug-kernel.config)
#   make bench [SUITES=...]
#   make lint         checkpatch --strict, sparse, uapi headers, ABI, Sphinx
#   make selftests tools
#   make kselftest-install
#                     the selftests as a kselftest tree (the kernel's
#                     run_kselftest.sh) in build/kselftest
#   make samples      the kernel's mtty sample mdev driver (a benchmark baseline)
#   make clean

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
# KERNEL=debug: build and test against the debug kernel (see
# Documentation/dev-guide.rst); empty: Debian's prebuilt kernel.
KERNEL ?= $(KVMSHARE_KERNEL_LANE)
export KVMSHARE_KERNEL_LANE := $(KERNEL)
ifeq ($(KERNEL),)
KREL = $(shell $(TOP)/scripts/kernel.sh krel)
KDIR ?= /usr/src/linux-headers-$(KREL)
else
KDIR ?= $(shell $(TOP)/scripts/kernel.sh kdir)
endif
SUITES ?=
# W=1: extra compiler warnings; the build suite requires zero of them.
KBUILD_OPTS ?= W=1

export KVMSHARE_BUILD := $(BUILD)

.PHONY: all modules samples selftests tools kselftest-install check demo \
	bench lint deps clean help

all: modules

deps:
	@$(TOP)/scripts/deps.sh all

modules:
	@$(TOP)/scripts/deps.sh build
	@[ -z "$(KERNEL)" ] || $(TOP)/scripts/kernel.sh fetch > /dev/null
	$(MAKE) -C $(KDIR) M=$(TOP) $(KBUILD_OPTS) modules

# The kernel's sample mdev driver mtty, a baseline of the vpa benchmark.
samples:
	@$(TOP)/scripts/deps.sh build
	@[ -z "$(KERNEL)" ] || $(TOP)/scripts/kernel.sh fetch > /dev/null
	@$(TOP)/scripts/build-samples.sh $(KDIR)

selftests tools:
	@$(TOP)/scripts/deps.sh build
	@$(MAKE) -C $(TOP)/tools OUT=$(BUILD)/tools
	@$(MAKE) -C $(TOP)/tools/testing/selftests/kvmshare OUT=$(BUILD)/selftests

# Every directory of tools/testing/selftests/kvmshare is a kselftest target
# (kvmshare/<dir>); this installs them all with the kernel's selftests
# Makefile from linux-source-6.1 (Documentation/dev-guide.rst).
kselftest-install: selftests
	@$(MAKE) -C $(TOP)/tools/testing/selftests/kvmshare OUT=$(BUILD)/selftests \
		KSFT_INSTALL_PATH=$(BUILD)/kselftest kselftest-install

check:
	@$(TOP)/scripts/check.sh --mode check $(SUITES)

demo:
	@$(TOP)/scripts/check.sh --mode demo $(SUITES)

bench:
	@$(TOP)/scripts/check.sh --mode bench $(SUITES)

lint:
	@$(TOP)/scripts/check.sh --mode check lint

clean:
	-[ -d "$(KDIR)" ] && $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

help:
	@sed -n '3,21p' $(TOP)/Makefile
