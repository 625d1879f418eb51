// SPDX-License-Identifier: GPL-2.0
/*
 * vpa_bench.ko: vpa built as one unit with VPA_BENCH_BYPASS, for the
 * benchmark only (see Kbuild). Its debugfs file vpa_bench/bypass_checks
 * turns off the DMA window and requester-id checks so that their cost
 * can be measured against the same engine in the same run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define VPA_BENCH_BYPASS

#include "vpa_core.c"
#include "vpa_engine.c"
#include "vpa_mdev.c"
#include "vpa_main.c"
#include "vpa_nvme.c"
#include "vpa_recov.c"
#include "vpa_sriov.c"
#include "vpa_sysfs.c"
