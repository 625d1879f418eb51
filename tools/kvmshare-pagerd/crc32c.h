/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) in software.
 */
#ifndef KVMSHARE_PAGERD_CRC32C_H
#define KVMSHARE_PAGERD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue a CRC over @len bytes, without pre- or post-inversion: the
 * kernel's crc32c(seed, data, len). The standard CRC-32C of a buffer is
 * ~crc32c_raw(~0U, data, len).
 */
uint32_t crc32c_raw(uint32_t crc, const void *data, size_t len);

#endif /* KVMSHARE_PAGERD_CRC32C_H */
