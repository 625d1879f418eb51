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
#   make install [DESTDIR=...] [PREFIX=/usr/local] [INSTALL_MOD_DIR=extra]
#                     modules (Kbuild's modules_install), tools, systemd
#                     units, modules-load.d and modprobe.d files, examples;
#                     install-modules, install-tools, install-host,
#                     install-src (the dkms source tree) one part only
#   make uninstall    remove what make install installed (same variables)
#   make deb          kvmshare-dkms and kvmshare-tools .deb packages in
#                     build/deb (dpkg-buildpackage -us -uc -b on a copy)
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

# make install: DESTDIR is prepended to every path. Modules go where
# Kbuild's modules_install puts external modules, with its variables:
# $(DESTDIR)/lib/modules/$(KREL)/$(INSTALL_MOD_DIR)/ (INSTALL_MOD_PATH is
# DESTDIR). Without DESTDIR, depmod runs for $(KREL).
DESTDIR ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
MODPROBEDIR ?= $(PREFIX)/lib/modprobe.d
DOCDIR ?= $(PREFIX)/share/doc/kvmshare
SRCDIR ?= $(PREFIX)/src
INSTALL_MOD_DIR ?= extra
# Debian's headers carry no signing key: modules_install does not sign
# unless MODULE_SIG_ALL=y (with CONFIG_MODULE_SIG_KEY= a key of one's own).
MODULE_SIG_ALL ?=
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)
# What install-src copies: what dkms.conf's build needs.
KSRC := Kbuild $(shell cd $(TOP) && find kvm drivers include \( -name Kbuild \
	-o -name '*.[ch]' \) ! -name '*.mod.c' | LC_ALL=C sort)
# The modules install-modules installs (vpa_bench.ko is for make bench).
INST_MODS := kvm/kvmshare.ko drivers/vpa/vpa.ko \
	drivers/guest/kvmshare_guest.ko drivers/vpa_guest/vpa_guest.ko
TOOLS_BIN := kvmsharectl kvmshare-sim
TOOLS_SBIN := kvmshare-pagerd
UNITS := kvmshare-pagerd@.service kvmshare-balance@.service
EXAMPLES := $(notdir $(wildcard $(TOP)/dist/examples/*))
SUBST := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: all modules samples selftests tools kselftest-install check demo \
	bench lint deps clean help install install-modules install-tools \
	install-host install-src uninstall deb

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

install: install-modules install-tools install-host

install-modules: modules
	$(MAKE) -C $(KDIR) M=$(TOP) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		CONFIG_MODULE_SIG_ALL=$(MODULE_SIG_ALL) modules_install
	rm -f $(DESTDIR)/lib/modules/$(KREL)/$(INSTALL_MOD_DIR)/drivers/vpa/vpa_bench.ko
	[ -n "$(DESTDIR)" ] || depmod -a $(KREL)

# The tools are built here without scripts/deps.sh (a package build runs
# this and must not install packages).
install-tools:
	@$(MAKE) -C $(TOP)/tools OUT=$(BUILD)/tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 755 $(addprefix $(BUILD)/tools/,$(filter-out kvmsharectl,$(TOOLS_BIN))) $(DESTDIR)$(BINDIR)/
	# kvmsharectl linked dynamically (json-c; libvirt with dlopen())
	install -m 755 $(BUILD)/tools/dynamic/kvmsharectl $(DESTDIR)$(BINDIR)/
	install -m 755 $(addprefix $(BUILD)/tools/,$(TOOLS_SBIN)) $(DESTDIR)$(SBINDIR)/

# systemd units (paths substituted), modules-load.d, modprobe.d, examples.
install-host:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MODULESLOADDIR) \
		$(DESTDIR)$(MODPROBEDIR) $(DESTDIR)$(DOCDIR)/examples
	for u in $(UNITS); do \
		$(SUBST) $(TOP)/dist/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 644 $(TOP)/dist/modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/kvmshare.conf
	install -m 644 $(TOP)/dist/modprobe.conf $(DESTDIR)$(MODPROBEDIR)/kvmshare.conf
	install -m 644 $(addprefix $(TOP)/dist/examples/,$(EXAMPLES)) $(DESTDIR)$(DOCDIR)/examples/

# The module sources as dkms wants them: $(SRCDIR)/kvmshare-$(VERSION).
install-src:
	for f in $(KSRC) dkms.conf; do \
		install -D -m 644 $(TOP)/$$f $(DESTDIR)$(SRCDIR)/kvmshare-$(VERSION)/$$f || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)/lib/modules/$(KREL)/$(INSTALL_MOD_DIR)/,$(INST_MODS))
	[ -n "$(DESTDIR)" ] || depmod -a $(KREL)
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS_BIN)) \
		$(addprefix $(DESTDIR)$(SBINDIR)/,$(TOOLS_SBIN)) \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(MODULESLOADDIR)/kvmshare.conf \
		$(DESTDIR)$(MODPROBEDIR)/kvmshare.conf \
		$(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(EXAMPLES))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	rm -rf $(DESTDIR)$(SRCDIR)/kvmshare-$(VERSION)

deb:
	@$(TOP)/scripts/deps.sh pkg
	@$(TOP)/scripts/build-deb.sh $(BUILD)/deb

clean:
	-[ -d "$(KDIR)" ] && $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

help:
	@sed -n '3,29p' $(TOP)/Makefile
