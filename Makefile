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
#   make bench [SUITES=...]
#   make lint         checkpatch --strict and sparse
#   make selftests tools
#   make clean

TOP := $(CURDIR)
BUILD ?= $(TOP)/build
KREL = $(shell $(TOP)/scripts/kernel.sh krel)
KDIR ?= /usr/src/linux-headers-$(KREL)
SUITES ?=
# W=1: extra compiler warnings; the build suite requires zero of them.
KBUILD_OPTS ?= W=1

export KVMSHARE_BUILD := $(BUILD)

.PHONY: all modules selftests tools check demo bench lint deps clean help

all: modules

deps:
	@$(TOP)/scripts/deps.sh all

modules:
	@$(TOP)/scripts/deps.sh build
	$(MAKE) -C $(KDIR) M=$(TOP) $(KBUILD_OPTS) modules

selftests tools:
	@$(TOP)/scripts/deps.sh build
	@$(MAKE) -C $(TOP)/tools OUT=$(BUILD)/tools
	@$(MAKE) -C $(TOP)/tools/testing/selftests/kvmshare OUT=$(BUILD)/selftests

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
	@sed -n '3,16p' $(TOP)/Makefile
