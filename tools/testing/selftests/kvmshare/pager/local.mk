# SPDX-License-Identifier: GPL-2.0
#
# pager: user-space tests of kvmshare-pagerd's back ends and protocol layer
# (tools/kvmshare-pagerd/, built as they are), run natively.

PAGERD := $(TOP)/tools/kvmshare-pagerd
PAGERD_SRCS := $(PAGERD)/backend.c $(PAGERD)/pagerd.c $(PAGERD)/crc32c.c
PAGERD_DEPS := $(PAGERD_SRCS) $(wildcard $(PAGERD)/*.h) \
	       $(TOP)/include/uapi/linux/kvmshare_pager.h

$(OUT)/pager/pagerd_backend_test: pager/pagerd_backend_test.c $(PAGERD_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(PAGERD) -o $@ $< $(PAGERD_SRCS) $(LDFLAGS) -luring

EXTRA_PROGS += $(OUT)/pager/pagerd_backend_test

# The benchmark (make bench, in the test VM): a nested guest paged in through
# the pool and kvmshare-pagerd, against userfaultfd.
$(OUT)/pager/pager_bench: pager/pager_bench.c $(LIB_OBJS) lib/mvm.h \
			  lib/ksutil.h lib/kspager.h \
			  $(TOP)/include/uapi/linux/kvmshare_pager.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS)

EXTRA_PROGS += $(OUT)/pager/pager_bench
