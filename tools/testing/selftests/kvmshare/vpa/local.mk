# SPDX-License-Identifier: GPL-2.0
#
# vpa: user-space unit tests of the pure-C core (run natively), the VFIO
# client tests and the benchmark (run in the test VM).

VPA_DRV := $(TOP)/drivers/vpa
VPA_CORE_CFLAGS := $(CFLAGS) -include vpa/core_shim.h -I$(VPA_DRV)

$(OUT)/vpa/core_unit: vpa/core_unit.c $(VPA_DRV)/vpa_core.c \
		      $(VPA_DRV)/vpa_core.h vpa/core_shim.h
	@mkdir -p $(dir $@)
	$(CC) $(VPA_CORE_CFLAGS) -o $@ vpa/core_unit.c $(VPA_DRV)/vpa_core.c \
		$(LDFLAGS)

VPA_CLIENT := vpa/vfio_client.c vpa/vfio_client.h \
	      $(TOP)/include/uapi/linux/vpa.h

$(OUT)/vpa/vpa_vfio: vpa/vpa_vfio.c $(VPA_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ vpa/vpa_vfio.c vpa/vfio_client.c $(LDFLAGS)

$(OUT)/vpa/vpa_hostile: vpa/vpa_hostile.c $(VPA_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ vpa/vpa_hostile.c vpa/vfio_client.c $(LDFLAGS)

$(OUT)/vpa/vpa_bench: vpa/vpa_bench.c $(VPA_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ vpa/vpa_bench.c vpa/vfio_client.c $(LDFLAGS) -lm

EXTRA_PROGS += $(OUT)/vpa/core_unit
EXTRA_PROGS += $(OUT)/vpa/vpa_vfio
EXTRA_PROGS += $(OUT)/vpa/vpa_hostile
EXTRA_PROGS += $(OUT)/vpa/vpa_bench

# The guest driver vpa/trace.sh drives (a helper, not a test).
$(OUT)/vpa/vpa_trace_client: vpa/vpa_trace_client.c $(VPA_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ vpa/vpa_trace_client.c vpa/vfio_client.c \
		$(LDFLAGS)

EXTRA_PROGS += $(OUT)/vpa/vpa_trace_client
