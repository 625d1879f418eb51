# SPDX-License-Identifier: GPL-2.0
#
# fuzz: hostile-input programs, one per component, run in the test VM
# (suite fuzz). Every *.c here is one program linked with the selftest
# library; vpa_fuzz drives a virtual adapter through the vpa suite's VFIO
# client instead.

FUZZ_PROGS := $(patsubst %.c,$(OUT)/%,$(wildcard fuzz/*.c))

$(OUT)/fuzz/vpa_fuzz: fuzz/vpa_fuzz.c vpa/vfio_client.c vpa/vfio_client.h \
			 $(TOP)/include/uapi/linux/vpa.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ivpa -o $@ fuzz/vpa_fuzz.c vpa/vfio_client.c $(LDFLAGS)

$(OUT)/fuzz/%: fuzz/%.c $(LIB_OBJS) lib/ksutil.h lib/kspager.h \
	       $(wildcard $(TOP)/include/uapi/linux/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS)

EXTRA_PROGS += $(FUZZ_PROGS)
