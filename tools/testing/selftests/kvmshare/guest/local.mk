# SPDX-License-Identifier: GPL-2.0
#
# guest: programs for the nested guests of the end-to-end tests, built
# static and copied into the guest initramfs by scripts/mkinitrd.sh.

EXTRA_PROGS += $(OUT)/guest/guest_apf

$(OUT)/guest/guest_apf: guest/guest_apf.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

EXTRA_PROGS += $(OUT)/guest/guest_mem

$(OUT)/guest/guest_mem: guest/guest_mem.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)
