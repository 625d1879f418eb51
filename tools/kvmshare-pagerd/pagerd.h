/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare-pagerd: the protocol side of the paging service. It takes
 * requests from the shared ring, validates them, applies fault injection,
 * runs them on a back end and fills in their completions. The daemon
 * (kvmshare-pagerd.c) owns the pager fd, the mapping, poll() and signals;
 * everything here works on memory, so the tests drive it without a pool.
 */
#ifndef KVMSHARE_PAGERD_H
#define KVMSHARE_PAGERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvmshare_pager.h>

#include "backend.h"

/* Most requests taken from the ring and completed together. */
#define PAGERD_MAX_BATCH	256U
/* Most --fail-read / --fail-read-page options. */
#define PAGERD_MAX_FAULTS	16U

struct pagerd_fault {
	uint64_t	fail_block[PAGERD_MAX_FAULTS];	/* page-ins of block */
	unsigned int	nr_fail_block;
	uint64_t	fail_part[PAGERD_MAX_FAULTS];	/* page-ins of part: */
	uint64_t	fail_index[PAGERD_MAX_FAULTS];	/*   page index */
	unsigned int	nr_fail_page;
};

struct pagerd_stats {
	uint64_t	requests;	/* taken from the ring */
	uint64_t	page_out;	/* valid requests by operation */
	uint64_t	page_in;
	uint64_t	discard;
	uint64_t	invalid;	/* refused by validation (-EINVAL) */
	uint64_t	errors;		/* completed with any error */
	uint64_t	io_errors;	/* errors of the back end */
	uint64_t	injected;	/* page-ins failed on purpose */
	uint64_t	crc_errors;	/* data did not match its CRC32C */
	uint64_t	bytes_out;	/* written durably */
	uint64_t	bytes_in;	/* read */
	uint64_t	batches;
	uint64_t	max_batch;
	uint64_t	completions;	/* accepted by the pool */
	uint64_t	refused;	/* completions the pool refused */
};

/*
 * --timing: time spent per phase of the batches, in ns (CLOCK_MONOTONIC),
 * summed since the start. take and complete are the daemon's (the ring
 * copied out, the completions written); validate, io and crc are
 * pagerd_process()'s: validation, fault injection and accounting; the
 * back end's I/O; the CRC32C checks (none with --no-crc).
 */
struct pagerd_times {
	uint64_t	batches;
	uint64_t	requests;
	uint64_t	take;
	uint64_t	validate;
	uint64_t	io;
	uint64_t	crc;
	uint64_t	complete;
};

struct pagerd {
	/* The shared mapping of the pager fd (see kvmshare_pager.h). */
	struct kvmshare_pager_ring	*ring;
	const struct kvmshare_pager_req	*sq;
	unsigned char			*slots;
	uint32_t			sq_entries;
	uint32_t			nr_slots;
	uint32_t			head;	/* our sq_head, free running */

	uint64_t		blocks;		/* capacity of the store */
	struct pb_backend	*be;
	struct pagerd_fault	fault;
	bool			verbose;	/* log every request */
	bool			crc;		/* check and keep CRC32Cs */
	uint32_t		*crc_of;	/* per block, 0: unknown */
	size_t			crc_len;	/* bytes mapped at crc_of */
	bool			timing;		/* --timing: fill @tm */
	struct pagerd_times	tm;

	/* Called before a batch's I/O when it has page-ins (a delay). */
	void	(*before_read)(struct pagerd *d, unsigned int page_ins);
	void	*priv;

	struct pagerd_stats	st;
};

/*
 * Point @d at a mapping of @len bytes holding a ring of @sq_entries
 * entries and @nr_slots slots; check the ring header against them.
 * Returns 0 or -EPROTO (with a message).
 */
int pagerd_map(struct pagerd *d, void *map, size_t len, uint32_t sq_entries,
	       uint32_t nr_slots);
size_t pagerd_map_len(uint32_t sq_entries, uint32_t nr_slots);

/* Keep a CRC32C per block (lazily allocated). Returns 0 or -errno. */
int pagerd_crc_init(struct pagerd *d);
void pagerd_crc_exit(struct pagerd *d);

/* Requests waiting in the ring. */
bool pagerd_pending(struct pagerd *d);

/*
 * Copy up to @max requests out of the ring into @req, advancing sq_head
 * after each. Returns how many, or -EPROTO if the ring's indices are
 * impossible.
 */
int pagerd_take(struct pagerd *d, struct kvmshare_pager_req *req,
		unsigned int max);

/* 0, or -EINVAL with the reason in @why. */
int pagerd_validate(const struct pagerd *d,
		    const struct kvmshare_pager_req *req, const char **why);

/* Perform @n requests; completion i is for request i. */
void pagerd_process(struct pagerd *d, const struct kvmshare_pager_req *req,
		    unsigned int n, struct kvmshare_pager_cqe *cqe);

const char *pagerd_op_name(uint32_t op);

/* With d->timing, CLOCK_MONOTONIC in ns; without, 0. */
uint64_t pagerd_clock(const struct pagerd *d);

/* Messages on stderr; pagerd_warn() is rate limited. */
void pagerd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pagerd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KVMSHARE_PAGERD_H */
