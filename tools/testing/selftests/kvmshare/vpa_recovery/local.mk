# SPDX-License-Identifier: GPL-2.0
#
# vpa_recovery: lifecycle events of the partitioned adapter, driven by the
# vpa suite's VFIO client (run in the test VM).

$(OUT)/vpa_recovery/recov_vfio: vpa_recovery/recov_vfio.c $(VPA_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ivpa -o $@ vpa_recovery/recov_vfio.c vpa/vfio_client.c \
		$(LDFLAGS)

EXTRA_PROGS += $(OUT)/vpa_recovery/recov_vfio
