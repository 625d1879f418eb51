# SPDX-License-Identifier: GPL-2.0
# demo: programs of make demo (not tests).
$(OUT)/demo/guest_demo: demo/guest_demo.c $(LIB_OBJS) lib/mvm.h lib/ksutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS)

EXTRA_PROGS += $(OUT)/demo/guest_demo
