// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C. With SSE4.2 the CPU's crc32 instruction, 8 bytes at a time;
 * else slicing by 8: eight tables of 256 entries, built on first use, let
 * the loop take 8 bytes per step (a 4 KiB page in a few microseconds, some
 * times the instruction's on hardware). Which one runs is timed once, on
 * first use: an emulator (QEMU's TCG) may run the instruction slower than
 * the tables. The static binary has no library that offers it (Debian's
 * ISA-L ships no static archive), hence these few lines.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "crc32c.h"

#define CRC32C_POLY	0x82f63b78U

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

static uint32_t crc32c_by_tables(uint32_t crc, const void *data,
				 size_t len);
#if defined(__x86_64__)
static bool crc32c_cpu_faster(void);
#endif

static void crc32c_init(void)
{
	uint32_t crc;
	unsigned int i, j;

	for (i = 0; i < 256; i++) {
		crc = i;
		for (j = 0; j < 8; j++)
			crc = (crc >> 1) ^ (crc & 1 ? CRC32C_POLY : 0);
		crc32c_table[0][i] = crc;
	}
	for (i = 0; i < 256; i++) {
		crc = crc32c_table[0][i];
		for (j = 1; j < 8; j++) {
			crc = (crc >> 8) ^ crc32c_table[0][crc & 0xff];
			crc32c_table[j][i] = crc;
		}
	}
#if defined(__x86_64__)
	crc32c_hw = __builtin_cpu_supports("sse4.2") && crc32c_cpu_faster();
#endif
}

#if defined(__x86_64__)
/* The instruction updates a reflected CRC-32C without inverting it. */
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p,
			     size_t len)
{
	uint64_t c = crc, w;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}

static uint64_t crc32c_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The least of a few runs over 4 KiB: the instruction against the tables. */
static bool crc32c_cpu_faster(void)
{
	static unsigned char page[4096];
	uint64_t best[2] = { UINT64_MAX, UINT64_MAX }, t;
	uint32_t sink = 0;
	unsigned int i, k;

	for (i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 131 + (i >> 7));
	for (i = 0; i < 8; i++) {
		for (k = 0; k < 2; k++) {
			t = crc32c_now_ns();
			sink += k ? crc32c_sse42(~0U, page, sizeof(page)) :
				    crc32c_by_tables(~0U, page, sizeof(page));
			t = crc32c_now_ns() - t;
			if (t < best[k])
				best[k] = t;
		}
	}
	/* (sink keeps the calls; either answer is correct, only slower) */
	return best[1] <= best[0] || !sink;
}
#endif

bool crc32c_uses_cpu(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_hw;
}

uint32_t crc32c_raw(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
	if (crc32c_hw)
		return crc32c_sse42(crc, data, len);
#endif
	return crc32c_by_tables(crc, data, len);
}

uint32_t crc32c_tables(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return crc32c_by_tables(crc, data, len);
}

static uint32_t crc32c_by_tables(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t w;

	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		w ^= crc;	/* little endian: the CRC meets the first bytes */
		crc = crc32c_table[7][w & 0xff] ^
		      crc32c_table[6][(w >> 8) & 0xff] ^
		      crc32c_table[5][(w >> 16) & 0xff] ^
		      crc32c_table[4][(w >> 24) & 0xff] ^
		      crc32c_table[3][(w >> 32) & 0xff] ^
		      crc32c_table[2][(w >> 40) & 0xff] ^
		      crc32c_table[1][(w >> 48) & 0xff] ^
		      crc32c_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}
