// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-pagerd back ends: blocks in a regular file (pread/pwrite, or
 * O_DIRECT through io_uring) or on a block device (O_DIRECT through
 * io_uring). See backend.h for the ordering and durability rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "backend.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Largest capacity whose byte size fits in an off_t. */
#define PB_MAX_BLOCKS	((uint64_t)INT64_MAX / PB_BLOCK_SIZE)

static void pb_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *pb_kind_name(enum pb_kind kind)
{
	switch (kind) {
	case PB_FILE:
		return "file";
	case PB_BLOCKDEV:
		return "blockdev";
	}
	return "?";
}

int pb_parse(const char *spec, enum pb_kind *kind, const char **path)
{
	static const struct {
		const char *prefix;
		enum pb_kind kind;
	} kinds[] = {
		{ "file:", PB_FILE },
		{ "blockdev:", PB_BLOCKDEV },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(spec, kinds[i].prefix, n) || !spec[n])
			continue;
		*kind = kinds[i].kind;
		*path = spec + n;
		return 0;
	}
	return -EINVAL;
}

static int pb_open_file(struct pb_backend *b, const char *path, char *err,
			size_t errlen)
{
	uint64_t bytes = b->blocks * PB_BLOCK_SIZE;
	int flags = O_RDWR | O_CREAT | O_CLOEXEC;
	struct stat st;

	if (b->uring)
		flags |= O_DIRECT;
	b->fd = open(path, flags, 0600);
	if (b->fd < 0) {
		pb_err(err, errlen, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(b->fd, &st) < 0) {
		pb_err(err, errlen, "stat %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		pb_err(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < bytes && ftruncate(b->fd, bytes) < 0) {
		pb_err(err, errlen, "extend %s to %llu bytes: %s", path,
		       (unsigned long long)bytes, strerror(errno));
		return -errno;
	}
	return 0;
}

static int pb_open_blockdev(struct pb_backend *b, const char *path,
			    char *err, size_t errlen)
{
	uint64_t bytes = 0;
	struct stat st;
	int lbs = 0;

	b->fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (b->fd < 0) {
		pb_err(err, errlen, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(b->fd, &st) < 0) {
		pb_err(err, errlen, "stat %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISBLK(st.st_mode)) {
		pb_err(err, errlen, "%s: not a block device", path);
		return -ENOTBLK;
	}
	if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0 ||
	    ioctl(b->fd, BLKSSZGET, &lbs) < 0) {
		pb_err(err, errlen, "%s: size: %s", path, strerror(errno));
		return -errno;
	}
	if (lbs <= 0 || PB_BLOCK_SIZE % (unsigned int)lbs) {
		pb_err(err, errlen, "%s: logical block size %d does not divide %u",
		       path, lbs, PB_BLOCK_SIZE);
		return -EINVAL;
	}
	if (bytes / PB_BLOCK_SIZE < b->blocks) {
		pb_err(err, errlen, "%s: %llu bytes, %llu blocks do not fit",
		       path, (unsigned long long)bytes,
		       (unsigned long long)b->blocks);
		return -ENOSPC;
	}
	return 0;
}

int pb_open(struct pb_backend *b, enum pb_kind kind, const char *path,
	    uint64_t blocks, bool uring, char *err, size_t errlen)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->kind = kind;
	b->blocks = blocks;
	b->uring = uring || kind == PB_BLOCKDEV;
	b->can_discard = true;
	if (!blocks || blocks > PB_MAX_BLOCKS) {
		pb_err(err, errlen, "bad capacity: %llu blocks",
		       (unsigned long long)blocks);
		return -EINVAL;
	}

	switch (kind) {
	case PB_FILE:
		ret = pb_open_file(b, path, err, errlen);
		break;
	case PB_BLOCKDEV:
		ret = pb_open_blockdev(b, path, err, errlen);
		break;
	default:
		pb_err(err, errlen, "unknown back end %d", kind);
		ret = -EINVAL;
		break;
	}
	if (ret)
		goto close_fd;

	if (b->uring) {
		ret = io_uring_queue_init(PB_URING_DEPTH, &b->ring, 0);
		if (ret < 0) {
			pb_err(err, errlen, "io_uring_queue_init: %s",
			       strerror(-ret));
			goto close_fd;
		}
	}
	return 0;

close_fd:
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	return ret;
}

void pb_close(struct pb_backend *b)
{
	if (b->fd < 0)
		return;
	if (b->uring)
		io_uring_queue_exit(&b->ring);
	close(b->fd);
	b->fd = -1;
}

/* Most blocks read or written by one preadv/pwritev. */
#define PB_MAX_RUN	64U

/* Check what the store would refuse less clearly; 0 if @io can run. */
static int pb_check(const struct pb_backend *b, const struct pb_io *io)
{
	if (io->block >= b->blocks)
		return -EINVAL;
	switch (io->op) {
	case PB_READ:
	case PB_WRITE:
		if (!io->buf)
			return -EINVAL;
		if (b->uring && ((uintptr_t)io->buf & (PB_BLOCK_SIZE - 1)))
			return -EINVAL;
		return 0;
	case PB_DISCARD:
		return 0;
	}
	return -EINVAL;
}

static int pb_discard(struct pb_backend *b, uint64_t block)
{
	uint64_t range[2] = { block * PB_BLOCK_SIZE, PB_BLOCK_SIZE };
	int ret;

	if (!b->can_discard)
		return 0;
	if (b->kind == PB_BLOCKDEV)
		ret = ioctl(b->fd, BLKDISCARD, range);
	else
		ret = fallocate(b->fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)range[0], (off_t)range[1]);
	if (!ret)
		return 0;
	/* A store without discard keeps stale data: harmless. */
	if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL) {
		b->can_discard = false;
		return 0;
	}
	return -errno;
}

static int pb_sync_rw(struct pb_backend *b, struct pb_io *io)
{
	off_t off = (off_t)(io->block * PB_BLOCK_SIZE);
	char *p = io->buf;
	size_t done = 0;
	ssize_t n;

	while (done < PB_BLOCK_SIZE) {
		if (io->op == PB_READ)
			n = pread(b->fd, p + done, PB_BLOCK_SIZE - done,
				  off + done);
		else
			n = pwrite(b->fd, p + done, PB_BLOCK_SIZE - done,
				   off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the store shrank under us */
		done += n;
	}
	return 0;
}

/* Sort key of a read or write: by operation, then block. */
static int pb_cmp(const void *a, const void *b)
{
	const struct pb_io *x = *(const struct pb_io * const *)a;
	const struct pb_io *y = *(const struct pb_io * const *)b;

	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return 0;
}

/*
 * Run @n reads or writes of one kind on consecutive blocks, @run[0]'s
 * first, with one preadv/pwritev; what it does not finish (a short
 * transfer, an error) goes block by block.
 */
static void pb_sync_run(struct pb_backend *b, struct pb_io **run,
			unsigned int n)
{
	struct iovec iov[PB_MAX_RUN];
	off_t off = (off_t)(run[0]->block * PB_BLOCK_SIZE);
	unsigned int i, done;
	ssize_t ret;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = run[i]->buf;
		iov[i].iov_len = PB_BLOCK_SIZE;
	}
	do {
		if (run[0]->op == PB_READ)
			ret = preadv(b->fd, iov, (int)n, off);
		else
			ret = pwritev(b->fd, iov, (int)n, off);
	} while (ret < 0 && errno == EINTR);
	done = ret > 0 ? (unsigned int)(ret / PB_BLOCK_SIZE) : 0;
	for (i = done; i < n; i++)
		run[i]->result = pb_sync_rw(b, run[i]);
}

/*
 * Run one segment with pread/pwrite; returns the number of writes done.
 * The blocks of a segment are all different, so its operations run in
 * any order: reads and writes sorted by block, and each run of
 * consecutive blocks (a fault's read-ahead window, an eviction's batch)
 * is one system call.
 */
static unsigned int pb_segment_sync(struct pb_backend *b, struct pb_io *io,
				    unsigned int n)
{
	struct pb_io *rw[PB_URING_DEPTH];
	unsigned int i, j, k = 0, writes = 0;

	for (i = 0; i < n; i++) {
		if (io[i].result)
			continue;
		if (io[i].op == PB_DISCARD)
			io[i].result = pb_discard(b, io[i].block);
		else
			rw[k++] = &io[i];
	}
	qsort(rw, k, sizeof(rw[0]), pb_cmp);
	for (i = 0; i < k; i = j) {
		for (j = i + 1; j < k && j - i < PB_MAX_RUN &&
		     rw[j]->op == rw[i]->op &&
		     rw[j]->block == rw[j - 1]->block + 1; j++)
			;
		pb_sync_run(b, rw + i, j - i);
	}
	for (i = 0; i < k; i++)
		if (!rw[i]->result && rw[i]->op == PB_WRITE)
			writes++;
	return writes;
}

/* Fail every operation not done (@done may be NULL: none done). */
static void pb_fail_rest(struct pb_io *io, unsigned int n, const bool *done,
			 int err)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!(done && done[i]) && !io[i].result)
			io[i].result = err;
}

/*
 * Run one segment through io_uring: reads and writes are submitted at
 * once, discards run synchronously meanwhile (they touch other blocks).
 */
static unsigned int pb_segment_uring(struct pb_backend *b, struct pb_io *io,
				     unsigned int n)
{
	bool done[PB_URING_DEPTH] = { false };
	unsigned int i, queued = 0, submitted = 0, writes = 0;
	struct io_uring_cqe *cqe;
	int ret;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe;
		off_t off = (off_t)(io[i].block * PB_BLOCK_SIZE);

		if (io[i].result || io[i].op == PB_DISCARD)
			continue;
		sqe = io_uring_get_sqe(&b->ring);
		if (!sqe) {		/* cannot happen: n <= depth */
			io[i].result = -EBUSY;
			continue;
		}
		if (io[i].op == PB_READ)
			io_uring_prep_read(sqe, b->fd, io[i].buf,
					   PB_BLOCK_SIZE, off);
		else
			io_uring_prep_write(sqe, b->fd, io[i].buf,
					    PB_BLOCK_SIZE, off);
		io_uring_sqe_set_data64(sqe, i);
		queued++;
	}

	while (submitted < queued) {
		ret = io_uring_submit(&b->ring);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret <= 0) {
			/* SQEs left in the ring would run later: give up. */
			b->broken = true;
			break;
		}
		submitted += ret;
	}

	for (i = 0; i < n; i++)
		if (!io[i].result && io[i].op == PB_DISCARD) {
			io[i].result = pb_discard(b, io[i].block);
			done[i] = true;
		}

	while (submitted) {
		unsigned int k;

		ret = io_uring_wait_cqe(&b->ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			b->broken = true;
			break;
		}
		submitted--;
		k = (unsigned int)io_uring_cqe_get_data64(cqe);
		if (k < n && !done[k]) {
			if (cqe->res == (int)PB_BLOCK_SIZE)
				io[k].result = 0;
			else if (cqe->res < 0)
				io[k].result = cqe->res;
			else
				io[k].result = -EIO;	/* short I/O */
			done[k] = true;
			if (!io[k].result && io[k].op == PB_WRITE)
				writes++;
		}
		io_uring_cqe_seen(&b->ring, cqe);
	}
	pb_fail_rest(io, n, done, -EIO);
	return writes;
}

/* Make the segment's writes durable; a failure fails all of them. */
static void pb_flush(struct pb_backend *b, struct pb_io *io, unsigned int n)
{
	unsigned int i;
	int ret;

	do {
		ret = fdatasync(b->fd);
	} while (ret < 0 && errno == EINTR);
	b->syncs++;
	if (!ret)
		return;
	ret = -errno;
	for (i = 0; i < n; i++)
		if (io[i].op == PB_WRITE && !io[i].result)
			io[i].result = ret;
}

/* Length of the run of distinct blocks at the start of @io. */
static unsigned int pb_segment_len(const struct pb_io *io, unsigned int n)
{
	unsigned int i, j;

	if (n > PB_URING_DEPTH)
		n = PB_URING_DEPTH;
	for (i = 1; i < n; i++)
		for (j = 0; j < i; j++)
			if (io[j].block == io[i].block)
				return i;
	return n;
}

void pb_run(struct pb_backend *b, struct pb_io *io, unsigned int n)
{
	unsigned int i, len, writes;

	for (i = 0; i < n; i++)
		io[i].result = b->broken ? -EIO : pb_check(b, &io[i]);

	for (i = 0; i < n; i += len) {
		len = pb_segment_len(io + i, n - i);
		if (b->broken) {
			pb_fail_rest(io + i, len, NULL, -EIO);
			continue;
		}
		if (b->uring)
			writes = pb_segment_uring(b, io + i, len);
		else
			writes = pb_segment_sync(b, io + i, len);
		b->segments++;
		if (writes)
			pb_flush(b, io + i, len);
	}
}
