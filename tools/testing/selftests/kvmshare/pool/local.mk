# SPDX-License-Identifier: GPL-2.0
#
# pool: the benchmark (make bench), not a test: it has its own rule.

$(OUT)/pool/pool_bench: pool/pool_bench.c $(LIB_OBJS) lib/mvm.h lib/ksutil.h \
			$(TOP)/include/uapi/linux/kvmshare.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS)

EXTRA_PROGS += $(OUT)/pool/pool_bench
