// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-pagerd: requests in, completions out (see pagerd.h).
 *
 * Nothing the pool writes is trusted: the ring indices are checked, every
 * request is validated and a bad one is completed with -EINVAL, never
 * acted on. CRC32Cs given with page-outs are checked against the data and
 * kept per block, so that a page-in of data the store has corrupted fails
 * with -EIO instead of handing a guest a wrong page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "crc32c.h"
#include "pagerd.h"

/* pagerd_warn(): at most WARN_BURST messages per WARN_INTERVAL seconds. */
#define WARN_INTERVAL	5
#define WARN_BURST	10

static void pagerd_vlog(const char *fmt, va_list ap)
{
	fputs("kvmshare-pagerd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pagerd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pagerd_vlog(fmt, ap);
	va_end(ap);
}

void pagerd_warn(const char *fmt, ...)
{
	static time_t start;
	static unsigned int printed, missed;
	struct timespec now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - start >= WARN_INTERVAL) {
		if (missed)
			pagerd_log("%u messages suppressed", missed);
		start = now.tv_sec;
		printed = 0;
		missed = 0;
	}
	if (printed >= WARN_BURST) {
		missed++;
		return;
	}
	printed++;
	va_start(ap, fmt);
	pagerd_vlog(fmt, ap);
	va_end(ap);
}

uint64_t pagerd_clock(const struct pagerd *d)
{
	struct timespec ts;

	if (!d->timing)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *pagerd_op_name(uint32_t op)
{
	switch (op) {
	case KVMSHARE_PAGER_OP_PAGE_OUT:
		return "page-out";
	case KVMSHARE_PAGER_OP_PAGE_IN:
		return "page-in";
	case KVMSHARE_PAGER_OP_DISCARD:
		return "discard";
	}
	return "unknown";
}

size_t pagerd_map_len(uint32_t sq_entries, uint32_t nr_slots)
{
	return KVMSHARE_PAGER_SLOT_OFFSET(sq_entries) +
	       (uint64_t)nr_slots * KVMSHARE_PAGER_BLOCK_SIZE;
}

int pagerd_map(struct pagerd *d, void *map, size_t len, uint32_t sq_entries,
	       uint32_t nr_slots)
{
	struct kvmshare_pager_ring *ring = map;
	uint32_t tail;

	if (len < pagerd_map_len(sq_entries, nr_slots) || !sq_entries ||
	    (sq_entries & (sq_entries - 1))) {
		pagerd_log("ring: bad geometry (%u entries, %u slots)",
			   sq_entries, nr_slots);
		return -EPROTO;
	}
	if (ring->sq_entries != sq_entries || ring->nr_slots != nr_slots) {
		pagerd_log("ring: header says %u entries, %u slots; asked for %u, %u",
			   ring->sq_entries, ring->nr_slots, sq_entries,
			   nr_slots);
		return -EPROTO;
	}
	d->ring = ring;
	d->sq = (const void *)((char *)map + KVMSHARE_PAGER_SQ_OFFSET);
	d->slots = (unsigned char *)map +
		   KVMSHARE_PAGER_SLOT_OFFSET(sq_entries);
	d->sq_entries = sq_entries;
	d->nr_slots = nr_slots;
	d->head = __atomic_load_n(&ring->sq_head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&ring->sq_tail, __ATOMIC_ACQUIRE);
	if (tail - d->head > sq_entries) {
		pagerd_log("ring: head %u tail %u: more than %u entries",
			   d->head, tail, sq_entries);
		return -EPROTO;
	}
	return 0;
}

int pagerd_crc_init(struct pagerd *d)
{
	void *p;

	d->crc = true;
	d->crc_len = d->blocks * sizeof(uint32_t);
	/* Untouched pages cost nothing: a sparse table. */
	p = mmap(NULL, d->crc_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		d->crc_of = NULL;
		d->crc_len = 0;
		return -errno;
	}
	d->crc_of = p;
	return 0;
}

void pagerd_crc_exit(struct pagerd *d)
{
	if (d->crc_of)
		munmap(d->crc_of, d->crc_len);
	d->crc_of = NULL;
	d->crc_len = 0;
}

bool pagerd_pending(struct pagerd *d)
{
	return __atomic_load_n(&d->ring->sq_tail, __ATOMIC_ACQUIRE) != d->head;
}

int pagerd_take(struct pagerd *d, struct kvmshare_pager_req *req,
		unsigned int max)
{
	uint32_t tail = __atomic_load_n(&d->ring->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t avail = tail - d->head;
	unsigned int i;

	if (avail > d->sq_entries) {
		pagerd_log("ring: head %u tail %u: more than %u entries",
			   d->head, tail, d->sq_entries);
		return -EPROTO;
	}
	if (max > avail)
		max = avail;
	for (i = 0; i < max; i++) {
		memcpy(&req[i], &d->sq[d->head & (d->sq_entries - 1)],
		       sizeof(*req));
		d->head++;
		/* The entry is copied: the pool may reuse it. */
		__atomic_store_n(&d->ring->sq_head, d->head, __ATOMIC_RELEASE);
	}
	d->st.requests += max;
	return (int)max;
}

int pagerd_validate(const struct pagerd *d,
		    const struct kvmshare_pager_req *req, const char **why)
{
	*why = NULL;
	if (req->op != KVMSHARE_PAGER_OP_PAGE_OUT &&
	    req->op != KVMSHARE_PAGER_OP_PAGE_IN &&
	    req->op != KVMSHARE_PAGER_OP_DISCARD)
		*why = "unknown operation";
	else if (req->flags)
		*why = "unknown flags";
	else if (req->reserved[0] || req->reserved[1])
		*why = "reserved fields set";
	else if (req->block >= d->blocks)
		*why = "block beyond the backing store";
	else if (req->op == KVMSHARE_PAGER_OP_DISCARD &&
		 req->slot != KVMSHARE_PAGER_NO_SLOT)
		*why = "discard with a slot";
	else if (req->op != KVMSHARE_PAGER_OP_DISCARD &&
		 req->slot >= d->nr_slots)
		*why = "slot out of range";
	return *why ? -EINVAL : 0;
}

static bool pagerd_fail_read(const struct pagerd *d,
			     const struct kvmshare_pager_req *req)
{
	const struct pagerd_fault *f = &d->fault;
	unsigned int i;

	for (i = 0; i < f->nr_fail_block; i++)
		if (f->fail_block[i] == req->block)
			return true;
	for (i = 0; i < f->nr_fail_page; i++)
		if (f->fail_part[i] == req->part_id &&
		    f->fail_index[i] == req->page_index)
			return true;
	return false;
}

/*
 * The header does not say whether the pool sends the standard CRC-32C
 * (inverted at both ends) or the kernel's crc32c(~0, ...) without the
 * final inversion: either is accepted.
 */
static bool pagerd_crc_ok(const void *data, uint32_t crc)
{
	uint32_t raw = crc32c_raw(~0U, data, KVMSHARE_PAGER_BLOCK_SIZE);

	return crc == raw || crc == ~raw;
}

/* pagerd_crc_ok(), its time counted with --timing. */
static bool pagerd_crc_check(struct pagerd *d, const void *data, uint32_t crc)
{
	uint64_t t0 = pagerd_clock(d);
	bool ok = pagerd_crc_ok(data, crc);

	if (t0)
		d->tm.crc += pagerd_clock(d) - t0;
	return ok;
}

static void *pagerd_slot(const struct pagerd *d, uint32_t slot)
{
	return d->slots + (size_t)slot * KVMSHARE_PAGER_BLOCK_SIZE;
}

static void pagerd_count(struct pagerd *d, uint32_t op)
{
	if (op == KVMSHARE_PAGER_OP_PAGE_OUT)
		d->st.page_out++;
	else if (op == KVMSHARE_PAGER_OP_PAGE_IN)
		d->st.page_in++;
	else
		d->st.discard++;
}

static uint32_t pagerd_pb_op(uint32_t op)
{
	if (op == KVMSHARE_PAGER_OP_PAGE_OUT)
		return PB_WRITE;
	if (op == KVMSHARE_PAGER_OP_PAGE_IN)
		return PB_READ;
	return PB_DISCARD;
}

/* Validate, inject faults, check CRCs; returns 0 if @req is to run. */
static int pagerd_prepare(struct pagerd *d,
			  const struct kvmshare_pager_req *req,
			  uint64_t *slots_used)
{
	const char *why;

	if (pagerd_validate(d, req, &why)) {
		d->st.invalid++;
		pagerd_warn("request %llu refused: %s (op %u slot %u block %llu)",
			    (unsigned long long)req->id, why, req->op,
			    req->slot, (unsigned long long)req->block);
		return -EINVAL;
	}
	pagerd_count(d, req->op);
	if (req->op == KVMSHARE_PAGER_OP_DISCARD)
		return 0;

	/* A slot is its request's until completed: one user per batch. */
	if (slots_used[req->slot / 64] & (1ULL << (req->slot % 64))) {
		d->st.invalid++;
		pagerd_warn("request %llu refused: slot %u used twice in a batch",
			    (unsigned long long)req->id, req->slot);
		return -EINVAL;
	}
	slots_used[req->slot / 64] |= 1ULL << (req->slot % 64);

	if (req->op == KVMSHARE_PAGER_OP_PAGE_IN && pagerd_fail_read(d, req)) {
		d->st.injected++;
		if (d->verbose)
			pagerd_log("request %llu: injected -EIO (part %llu page %llu block %llu)",
				   (unsigned long long)req->id,
				   (unsigned long long)req->part_id,
				   (unsigned long long)req->page_index,
				   (unsigned long long)req->block);
		return -EIO;
	}
	if (req->op == KVMSHARE_PAGER_OP_PAGE_OUT && d->crc && req->crc32c &&
	    !pagerd_crc_check(d, pagerd_slot(d, req->slot), req->crc32c)) {
		d->st.crc_errors++;
		pagerd_warn("request %llu: page-out data does not match crc32c %#x (part %llu page %llu)",
			    (unsigned long long)req->id, req->crc32c,
			    (unsigned long long)req->part_id,
			    (unsigned long long)req->page_index);
		return -EIO;
	}
	return 0;
}

/* Account a request that ran; returns its final result. */
static int pagerd_finish(struct pagerd *d,
			 const struct kvmshare_pager_req *req, int result)
{
	uint32_t *crc = d->crc_of ? &d->crc_of[req->block] : NULL;

	if (result) {
		d->st.io_errors++;
		pagerd_warn("request %llu: %s of block %llu failed: %s",
			    (unsigned long long)req->id,
			    pagerd_op_name(req->op),
			    (unsigned long long)req->block, strerror(-result));
	}
	switch (req->op) {
	case KVMSHARE_PAGER_OP_PAGE_OUT:
		if (!result)
			d->st.bytes_out += KVMSHARE_PAGER_BLOCK_SIZE;
		if (crc)
			*crc = result ? 0 : req->crc32c;
		break;
	case KVMSHARE_PAGER_OP_PAGE_IN:
		if (result)
			break;
		d->st.bytes_in += KVMSHARE_PAGER_BLOCK_SIZE;
		if (crc && *crc &&
		    !pagerd_crc_check(d, pagerd_slot(d, req->slot), *crc)) {
			d->st.crc_errors++;
			pagerd_warn("request %llu: block %llu does not match its crc32c %#x (part %llu page %llu)",
				    (unsigned long long)req->id,
				    (unsigned long long)req->block, *crc,
				    (unsigned long long)req->part_id,
				    (unsigned long long)req->page_index);
			result = -EIO;
		}
		break;
	case KVMSHARE_PAGER_OP_DISCARD:
		if (crc)
			*crc = 0;
		break;
	}
	return result;
}

void pagerd_process(struct pagerd *d, const struct kvmshare_pager_req *req,
		    unsigned int n, struct kvmshare_pager_cqe *cqe)
{
	uint64_t slots_used[KVMSHARE_PAGER_MAX_SLOTS / 64] = { 0 };
	struct pb_io io[PAGERD_MAX_BATCH];
	unsigned int idx[PAGERD_MAX_BATCH];
	unsigned int i, j, k = 0, page_ins = 0;
	uint64_t t0 = pagerd_clock(d), t1, crc0 = d->tm.crc;

	if (n > PAGERD_MAX_BATCH)
		n = PAGERD_MAX_BATCH;	/* callers take at most this many */
	for (i = 0; i < n; i++) {
		memset(&cqe[i], 0, sizeof(cqe[i]));
		cqe[i].id = req[i].id;
		cqe[i].result = pagerd_prepare(d, &req[i], slots_used);
		if (cqe[i].result)
			continue;
		io[k].op = pagerd_pb_op(req[i].op);
		io[k].block = req[i].block;
		io[k].buf = req[i].op == KVMSHARE_PAGER_OP_DISCARD ? NULL :
			    pagerd_slot(d, req[i].slot);
		io[k].result = 0;
		idx[k++] = i;
		if (req[i].op == KVMSHARE_PAGER_OP_PAGE_IN)
			page_ins++;
	}
	t1 = pagerd_clock(d);
	if (t0)
		d->tm.validate += t1 - t0;

	if (page_ins && d->before_read)
		d->before_read(d, page_ins);
	/* --delay-read-ms is not the service's own time: not counted. */
	t0 = pagerd_clock(d);
	if (k)
		pb_run(d->be, io, k);
	t1 = pagerd_clock(d);
	if (t0)
		d->tm.io += t1 - t0;

	for (j = 0; j < k; j++) {
		i = idx[j];
		cqe[i].result = pagerd_finish(d, &req[i], io[j].result);
	}
	if (t1) {
		/* The CRC32C checks of both loops are counted apart. */
		d->tm.validate += pagerd_clock(d) - t1;
		d->tm.validate -= d->tm.crc - crc0;
		d->tm.batches++;
		d->tm.requests += n;
	}

	for (i = 0; i < n; i++) {
		if (cqe[i].result)
			d->st.errors++;
		if (d->verbose)
			pagerd_log("request %llu: %s part %llu page %llu block %llu slot %u: %d",
				   (unsigned long long)req[i].id,
				   pagerd_op_name(req[i].op),
				   (unsigned long long)req[i].part_id,
				   (unsigned long long)req[i].page_index,
				   (unsigned long long)req[i].block,
				   req[i].slot, cqe[i].result);
	}
	d->st.batches++;
	if (n > d->st.max_batch)
		d->st.max_batch = n;
}
