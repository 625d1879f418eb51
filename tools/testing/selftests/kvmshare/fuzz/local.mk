# SPDX-License-Identifier: GPL-2.0
#
# fuzz: fuzzers of the modules' user interfaces, run in the test VM (suite
# fuzz). Every *.c here is one program.

FUZZ_PROGS := $(patsubst %.c,$(OUT)/%,$(wildcard fuzz/*.c))

$(OUT)/fuzz/%: fuzz/%.c $(LIB_OBJS) lib/ksutil.h lib/kspager.h \
	       $(wildcard $(TOP)/include/uapi/linux/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS)

EXTRA_PROGS += $(FUZZ_PROGS)
