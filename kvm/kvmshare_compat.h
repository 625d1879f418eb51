/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: the few types and helpers that the pure-C parts (policy engine,
 * metrics parser) need, from the kernel when built into a module and from
 * the C library when built into a user-space test or the simulator. Those
 * files include nothing else.
 */
#ifndef _KVMSHARE_COMPAT_H
#define _KVMSHARE_COMPAT_H

#ifdef __KERNEL__

#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/types.h>
#include <asm/barrier.h>

/* Orders the reads of a seqcount against the reads of what it guards. */
#define kvmshare_rmb()			smp_rmb()
/* One untorn load of a word that another agent may write at any time. */
#define kvmshare_read_u32(p)		READ_ONCE(*(p))
#define kvmshare_read_u64(p)		READ_ONCE(*(p))

#else /* !__KERNEL__ */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

#ifndef BIT
#define BIT(nr)			(1UL << (nr))
#endif
#ifndef BIT_ULL
#define BIT_ULL(nr)		(1ULL << (nr))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* Orders the reads of a seqcount against the reads of what it guards. */
#define kvmshare_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
/* One untorn load of a word that another agent may write at any time. */
#define kvmshare_read_u32(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define kvmshare_read_u64(p)	__atomic_load_n((p), __ATOMIC_RELAXED)

static inline u64 div64_u64(u64 dividend, u64 divisor)
{
	return dividend / divisor;
}

#endif /* __KERNEL__ */

#endif /* _KVMSHARE_COMPAT_H */
