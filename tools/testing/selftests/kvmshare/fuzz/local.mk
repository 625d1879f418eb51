# SPDX-License-Identifier: GPL-2.0
#
# fuzz: hostile-input programs, one per component (run in the test VM).
# vpa_fuzz drives a virtual adapter through the vpa suite's VFIO client.

$(OUT)/fuzz/vpa_fuzz: fuzz/vpa_fuzz.c vpa/vfio_client.c vpa/vfio_client.h \
			 $(TOP)/include/uapi/linux/vpa.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ivpa -o $@ fuzz/vpa_fuzz.c vpa/vfio_client.c $(LDFLAGS)

EXTRA_PROGS += $(OUT)/fuzz/vpa_fuzz
