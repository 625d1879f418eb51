# SPDX-License-Identifier: GPL-2.0
# smoke: sysfs_abi.sh compares the VM's sysfs with Documentation/ABI, which
# it finds next to itself in abi/.
ABI_DOCS := $(wildcard $(TOP)/Documentation/ABI/testing/sysfs-*)

$(OUT)/smoke/abi/%: $(TOP)/Documentation/ABI/testing/%
	@mkdir -p $(dir $@)
	install -m 644 $< $@

EXTRA_PROGS += $(patsubst $(TOP)/Documentation/ABI/testing/%,$(OUT)/smoke/abi/%,$(ABI_DOCS))
