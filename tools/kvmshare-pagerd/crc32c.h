/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78): the CPU's
 * instruction where there is one, else tables.
 */
#ifndef KVMSHARE_PAGERD_CRC32C_H
#define KVMSHARE_PAGERD_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Continue a CRC over @len bytes, without pre- or post-inversion: the
 * kernel's crc32c(seed, data, len). The standard CRC-32C of a buffer is
 * ~crc32c_raw(~0U, data, len).
 */
uint32_t crc32c_raw(uint32_t crc, const void *data, size_t len);
/* Whether crc32c_raw() uses the CPU's crc32 instruction (SSE4.2). */
bool crc32c_uses_cpu(void);
/* crc32c_raw() by tables always (what it does without the instruction). */
uint32_t crc32c_tables(uint32_t crc, const void *data, size_t len);

#endif /* KVMSHARE_PAGERD_CRC32C_H */
