/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare-pagerd back ends: a store of 4 KiB blocks in a regular file or
 * on a block device.
 *
 * pb_run() performs a batch of block operations. Operations on different
 * blocks may run in any order and concurrently; operations on the same
 * block run in the order of the batch (the batch is cut into segments of
 * distinct blocks, run one after the other). A segment's writes are durable
 * (fdatasync, a cache flush on a block device) before pb_run() returns:
 * one flush per segment, not per write.
 *
 * Engines: "sync" uses pread/pwrite on a file opened normally; "uring" uses
 * io_uring (liburing) on a file or device opened with O_DIRECT, so its
 * buffers must be 4 KiB aligned (the pager's slots are page aligned).
 */
#ifndef KVMSHARE_PAGERD_BACKEND_H
#define KVMSHARE_PAGERD_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

#define PB_BLOCK_SIZE	4096U
/* Most operations submitted to io_uring at once. */
#define PB_URING_DEPTH	256U

enum pb_kind {
	PB_FILE = 1,		/* regular file, created and sized if needed */
	PB_BLOCKDEV,		/* block device: O_DIRECT, io_uring */
};

enum pb_op {
	PB_READ = 1,		/* block -> buf */
	PB_WRITE,		/* buf -> block, durable on return */
	PB_DISCARD,		/* block content no longer needed */
};

struct pb_io {
	uint32_t	op;		/* enum pb_op */
	uint64_t	block;
	void		*buf;		/* PB_BLOCK_SIZE bytes, or NULL */
	int		result;		/* out: 0 or a negative errno */
};

struct pb_backend {
	enum pb_kind	kind;
	bool		uring;		/* io_uring engine (O_DIRECT) */
	bool		can_discard;	/* cleared when the store refuses */
	bool		broken;		/* io_uring failed: refuse all I/O */
	int		fd;
	uint64_t	blocks;		/* capacity in blocks */
	struct io_uring	ring;		/* valid when uring is set */

	/* Counters. */
	uint64_t	syncs;		/* fdatasync / flushes issued */
	uint64_t	segments;	/* segments run */
};

/* Split "file:PATH" or "blockdev:PATH". Returns 0 or -EINVAL. */
int pb_parse(const char *spec, enum pb_kind *kind, const char **path);

/*
 * Open @path as a store of @blocks blocks. A file is created if missing
 * and extended (sparse) to the size; a block device must be large enough.
 * @uring selects the io_uring engine for a file (always on for a device).
 * Returns 0 or a negative errno, with a message in @err.
 */
int pb_open(struct pb_backend *b, enum pb_kind kind, const char *path,
	    uint64_t blocks, bool uring, char *err, size_t errlen);
void pb_close(struct pb_backend *b);

/* Run @n operations; each gets its result in io[i].result. */
void pb_run(struct pb_backend *b, struct pb_io *io, unsigned int n);

const char *pb_kind_name(enum pb_kind kind);

#endif /* KVMSHARE_PAGERD_BACKEND_H */
