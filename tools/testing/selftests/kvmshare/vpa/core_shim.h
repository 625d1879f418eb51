/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What drivers/vpa/vpa_core.c needs from the kernel, for building it in
 * user space (passed with -include).
 */
#ifndef _VPA_CORE_SHIM_H
#define _VPA_CORE_SHIM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define u8	uint8_t
#define u16	uint16_t
#define u32	uint32_t
#define u64	uint64_t

#endif /* _VPA_CORE_SHIM_H */
