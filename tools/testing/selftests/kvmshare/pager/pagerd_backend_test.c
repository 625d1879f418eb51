// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-pagerd without a pool: the back ends (a regular file through
 * pread/pwrite, and through io_uring with O_DIRECT, the engine of the
 * block device back end) and the protocol layer (ring, validation, fault
 * injection, CRC32C checks) over a ring in ordinary memory. Runs natively.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "backend.h"
#include "crc32c.h"
#include "pagerd.h"

#define BS		PB_BLOCK_SIZE
#define NBLOCKS		64
#define NBUFS		64

static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/var/tmp";
}

/* A fresh file name in tmpdir(); the file does not exist yet. */
static void tmpname(char *buf, size_t len)
{
	static int seq;

	snprintf(buf, len, "%s/pagerd-test.%d.%d", tmpdir(), getpid(), seq++);
	unlink(buf);
}

static void *aligned_bufs(unsigned int n)
{
	void *p = mmap(NULL, (size_t)n * BS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Block content: a per-block, per-generation pattern, never all zeros. */
static void fill(void *buf, uint64_t block, unsigned int gen)
{
	uint32_t *w = buf;
	unsigned int i;

	for (i = 0; i < BS / 4; i++)
		w[i] = (uint32_t)(block * 2654435761U) ^ (gen << 20) ^ i ^
		       0x5a5a0001;
}

static bool is_zero(const void *buf)
{
	const unsigned char *p = buf;
	unsigned int i;

	for (i = 0; i < BS; i++)
		if (p[i])
			return false;
	return true;
}

static void set_io(struct pb_io *io, uint32_t op, uint64_t block, void *buf)
{
	io->op = op;
	io->block = block;
	io->buf = buf;
	io->result = 1;		/* pb_run() must overwrite it */
}

/* ---- back end: both engines on a regular file ---- */

FIXTURE(store) {
	char path[256];
	struct pb_backend be;
	unsigned char *buf;	/* NBUFS aligned blocks */
	unsigned char *chk;	/* NBUFS aligned blocks */
};

FIXTURE_VARIANT(store) {
	bool uring;
};

FIXTURE_VARIANT_ADD(store, sync) {
	.uring = false,
};

FIXTURE_VARIANT_ADD(store, uring) {
	.uring = true,
};

FIXTURE_SETUP(store)
{
	char err[256] = "";
	int ret;

	tmpname(self->path, sizeof(self->path));
	ret = pb_open(&self->be, PB_FILE, self->path, NBLOCKS, variant->uring,
		      err, sizeof(err));
	if (ret == -EINVAL && variant->uring && strstr(err, "open"))
		SKIP(return, "O_DIRECT not supported in %s: %s", tmpdir(), err);
	if (ret && strstr(err, "io_uring_queue_init"))
		SKIP(return, "io_uring unavailable: %s", err);
	ASSERT_EQ(0, ret) TH_LOG("pb_open: %s", err);
	ASSERT_EQ(variant->uring, self->be.uring);
	self->buf = aligned_bufs(NBUFS);
	self->chk = aligned_bufs(NBUFS);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->chk);
}

FIXTURE_TEARDOWN(store)
{
	pb_close(&self->be);
	unlink(self->path);
}

TEST_F(store, file_is_created_with_the_capacity)
{
	struct stat st;

	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ((off_t)NBLOCKS * BS, st.st_size);
	/* Sparse: nothing allocated until written. */
	EXPECT_EQ(0, st.st_blocks);
}

TEST_F(store, writes_land_at_their_block_and_read_back)
{
	static const uint64_t blocks[] = { 0, 1, 7, 31, 32, 62, 63, 40 };
	struct pb_io io[8];
	unsigned int i;
	int fd;

	for (i = 0; i < 8; i++) {
		fill(self->buf + i * BS, blocks[i], 1);
		set_io(&io[i], PB_WRITE, blocks[i], self->buf + i * BS);
	}
	pb_run(&self->be, io, 8);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, io[i].result) TH_LOG("write %u", i);
	/* One flush for the batch, not one per write. */
	EXPECT_EQ(1, self->be.syncs);

	/* Where they are in the file, seen through another descriptor. */
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(BS, pread(fd, self->chk, BS, blocks[i] * BS));
		EXPECT_EQ(0, memcmp(self->chk, self->buf + i * BS, BS))
			TH_LOG("block %llu", (unsigned long long)blocks[i]);
	}
	close(fd);

	memset(self->chk, 0xee, 8 * BS);
	for (i = 0; i < 8; i++)
		set_io(&io[i], PB_READ, blocks[i], self->chk + i * BS);
	pb_run(&self->be, io, 8);
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, io[i].result);
		EXPECT_EQ(0, memcmp(self->chk + i * BS, self->buf + i * BS, BS))
			TH_LOG("block %llu", (unsigned long long)blocks[i]);
	}
	/* Reads need no flush. */
	EXPECT_EQ(1, self->be.syncs);

	/* A block never written reads as zeros. */
	memset(self->chk, 0xee, BS);
	set_io(&io[0], PB_READ, 5, self->chk);
	pb_run(&self->be, io, 1);
	EXPECT_EQ(0, io[0].result);
	EXPECT_TRUE(is_zero(self->chk));
}

TEST_F(store, discard_punches_a_hole)
{
	struct pb_io io[16];
	struct stat st;
	blkcnt_t before;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		fill(self->buf + i * BS, i, 2);
		set_io(&io[i], PB_WRITE, i, self->buf + i * BS);
	}
	pb_run(&self->be, io, 16);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, io[i].result);
	ASSERT_EQ(0, stat(self->path, &st));
	before = st.st_blocks;
	EXPECT_LE(16 * BS / 512, before);

	for (i = 0; i < 16; i++)
		set_io(&io[i], PB_DISCARD, i, NULL);
	pb_run(&self->be, io, 16);
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, io[i].result);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_GT(before, st.st_blocks);
	EXPECT_EQ((off_t)NBLOCKS * BS, st.st_size);

	memset(self->chk, 0xee, BS);
	set_io(&io[0], PB_READ, 3, self->chk);
	pb_run(&self->be, io, 1);
	EXPECT_EQ(0, io[0].result);
	EXPECT_TRUE(is_zero(self->chk));
}

TEST_F(store, one_block_twice_in_a_batch_keeps_batch_order)
{
	unsigned char *a = self->buf, *b = self->buf + BS;
	unsigned char *r1 = self->chk, *r2 = self->chk + BS;
	unsigned char *r3 = self->chk + 2 * BS;
	struct pb_io io[7];
	unsigned int i;

	fill(a, 3, 10);
	fill(b, 3, 11);
	memset(r1, 0xee, 3 * BS);
	set_io(&io[0], PB_WRITE, 3, a);
	set_io(&io[1], PB_READ, 3, r1);		/* must see a */
	set_io(&io[2], PB_DISCARD, 3, NULL);
	set_io(&io[3], PB_READ, 3, r2);		/* must see zeros */
	set_io(&io[4], PB_WRITE, 3, b);
	set_io(&io[5], PB_WRITE, 4, a);		/* other block: any order */
	set_io(&io[6], PB_READ, 3, r3);		/* must see b */
	pb_run(&self->be, io, 7);
	for (i = 0; i < 7; i++)
		EXPECT_EQ(0, io[i].result) TH_LOG("op %u", i);
	EXPECT_EQ(0, memcmp(r1, a, BS));
	EXPECT_TRUE(is_zero(r2));
	EXPECT_EQ(0, memcmp(r3, b, BS));
	/* W | R | D | R | W W | R: six segments of distinct blocks. */
	EXPECT_EQ(6, self->be.segments);
	/* Two segments wrote: each flushed before the next ran. */
	EXPECT_EQ(2, self->be.syncs);
}

TEST_F(store, bad_operations_fail_alone)
{
	struct pb_io io[6];

	fill(self->buf, 9, 3);
	set_io(&io[0], PB_WRITE, NBLOCKS, self->buf);		/* beyond */
	set_io(&io[1], 77, 1, self->buf);			/* no such op */
	set_io(&io[2], PB_READ, 1, NULL);			/* no buffer */
	set_io(&io[3], PB_WRITE, 9, self->buf);			/* good */
	set_io(&io[4], PB_DISCARD, UINT64_MAX, NULL);		/* beyond */
	set_io(&io[5], PB_WRITE, 10, self->buf + 8);		/* misaligned */
	pb_run(&self->be, io, 6);
	EXPECT_EQ(-EINVAL, io[0].result);
	EXPECT_EQ(-EINVAL, io[1].result);
	EXPECT_EQ(-EINVAL, io[2].result);
	EXPECT_EQ(0, io[3].result);
	EXPECT_EQ(-EINVAL, io[4].result);
	/* O_DIRECT needs aligned buffers; pread/pwrite does not. */
	EXPECT_EQ(variant->uring ? -EINVAL : 0, io[5].result);

	set_io(&io[0], PB_READ, 9, self->chk);
	pb_run(&self->be, io, 1);
	EXPECT_EQ(0, io[0].result);
	EXPECT_EQ(0, memcmp(self->chk, self->buf, BS));
}

TEST_F(store, store_errors_are_returned)
{
	struct pb_io io[2];
	int rw_fd, ro_fd;

	/* Writes on a descriptor that cannot write. */
	ro_fd = open(self->path, O_RDONLY | (variant->uring ? O_DIRECT : 0));
	ASSERT_LE(0, ro_fd);
	rw_fd = self->be.fd;
	self->be.fd = ro_fd;
	fill(self->buf, 1, 4);
	set_io(&io[0], PB_WRITE, 1, self->buf);
	set_io(&io[1], PB_READ, 2, self->chk);
	pb_run(&self->be, io, 2);
	EXPECT_EQ(-EBADF, io[0].result);
	EXPECT_EQ(0, io[1].result);
	self->be.fd = rw_fd;
	close(ro_fd);

	/* The store shrinks under the back end: reads past its end fail. */
	ASSERT_EQ(0, truncate(self->path, 2 * BS));
	set_io(&io[0], PB_READ, 10, self->chk);
	set_io(&io[1], PB_READ, 1, self->chk + BS);
	pb_run(&self->be, io, 2);
	EXPECT_EQ(-EIO, io[0].result);
	EXPECT_EQ(0, io[1].result);
}

TEST_F(store, random_batches_match_a_model)
{
	static unsigned int gen[24];	/* 0: zeros */
	struct pb_io io[64];
	unsigned int round, i, n, ok = 0;

	srandom(42);
	for (round = 0; round < 60; round++) {
		unsigned int want[64];

		n = 1 + random() % 64;
		for (i = 0; i < n; i++) {
			uint64_t block = random() % 24;
			unsigned int r = random() % 8;

			want[i] = gen[block];
			if (r < 3) {
				gen[block] = round * 64 + i + 1;
				fill(self->buf + i * BS, block, gen[block]);
				set_io(&io[i], PB_WRITE, block,
				       self->buf + i * BS);
			} else if (r < 4) {
				gen[block] = 0;
				set_io(&io[i], PB_DISCARD, block, NULL);
			} else {
				memset(self->chk + i * BS, 0xee, BS);
				set_io(&io[i], PB_READ, block,
				       self->chk + i * BS);
			}
		}
		pb_run(&self->be, io, n);
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, io[i].result);
			if (io[i].op != PB_READ)
				continue;
			if (!want[i]) {
				ASSERT_TRUE(is_zero(self->chk + i * BS))
					TH_LOG("round %u op %u", round, i);
			} else {
				fill(self->buf + 63 * BS, io[i].block, want[i]);
				ASSERT_EQ(0, memcmp(self->chk + i * BS,
						    self->buf + 63 * BS, BS))
					TH_LOG("round %u op %u block %llu",
					       round, i,
					       (unsigned long long)io[i].block);
			}
			ok++;
		}
	}
	EXPECT_LT(100, ok);
}

/* ---- opening ---- */

TEST(backend_spec_parsing)
{
	const char *path;
	enum pb_kind kind;

	ASSERT_EQ(0, pb_parse("file:/var/tmp/x", &kind, &path));
	EXPECT_EQ(PB_FILE, kind);
	EXPECT_STREQ("/var/tmp/x", path);
	ASSERT_EQ(0, pb_parse("blockdev:/dev/vdb", &kind, &path));
	EXPECT_EQ(PB_BLOCKDEV, kind);
	EXPECT_STREQ("/dev/vdb", path);
	EXPECT_EQ(-EINVAL, pb_parse("file:", &kind, &path));
	EXPECT_EQ(-EINVAL, pb_parse("/dev/vdb", &kind, &path));
	EXPECT_EQ(-EINVAL, pb_parse("nbd:/dev/nbd0", &kind, &path));
	EXPECT_EQ(-EINVAL, pb_parse("", &kind, &path));
}

TEST(open_refuses_what_is_not_a_store)
{
	struct pb_backend be;
	char path[256], err[256];
	struct stat st;
	int fd;

	tmpname(path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 100 * BS));
	close(fd);

	/* A regular file is no block device. */
	EXPECT_EQ(-ENOTBLK, pb_open(&be, PB_BLOCKDEV, path, 10, false, err,
				    sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not a block device"));
	EXPECT_EQ(-1, be.fd);
	/* Nor is a directory a file. */
	EXPECT_GT(0, pb_open(&be, PB_FILE, tmpdir(), 10, false, err,
			     sizeof(err)));
	/* Capacities of nothing, or beyond what a file offset holds. */
	EXPECT_EQ(-EINVAL, pb_open(&be, PB_FILE, path, 0, false, err,
				   sizeof(err)));
	EXPECT_EQ(-EINVAL, pb_open(&be, PB_FILE, path, UINT64_MAX / 2, false,
				   err, sizeof(err)));

	/* A larger existing file is used as it is, not truncated. */
	ASSERT_EQ(0, pb_open(&be, PB_FILE, path, 10, false, err, sizeof(err)));
	pb_close(&be);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(100 * BS, st.st_size);
	unlink(path);
}

/* ---- CRC32C ---- */

TEST(crc32c_known_values)
{
	static const char check[] = "123456789";
	unsigned char *buf = aligned_bufs(1);
	uint32_t one, parts;
	unsigned int i;

	ASSERT_NE(NULL, buf);
	/* The check value of CRC-32C (iSCSI, ext4, btrfs). */
	EXPECT_EQ(0xe3069283U, ~crc32c_raw(~0U, check, 9));
	/* 32 bytes of zeros: RFC 3720, B.4. */
	memset(buf, 0, 32);
	EXPECT_EQ(0x8a9136aaU, ~crc32c_raw(~0U, buf, 32));
	memset(buf, 0xff, 32);
	EXPECT_EQ(0x62a8ab43U, ~crc32c_raw(~0U, buf, 32));

	/* Any split, any alignment, the same CRC. */
	for (i = 0; i < BS; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 8));
	one = crc32c_raw(~0U, buf, BS);
	for (i = 1; i < 40; i += 3) {
		parts = crc32c_raw(~0U, buf, i);
		parts = crc32c_raw(parts, buf + i, BS - i);
		EXPECT_EQ(one, parts) TH_LOG("split at %u", i);
	}
	buf[100] ^= 1;
	EXPECT_NE(one, crc32c_raw(~0U, buf, BS));
}

/*
 * The CPU's instruction (SSE4.2, used where this CPU has it and it beats
 * the tables on a page, timed on first use) and the tables agree at every
 * length and alignment.
 */
TEST(crc32c_instruction_matches_tables)
{
	unsigned char *buf = aligned_bufs(2);
	unsigned int i, off, len;
	uint32_t seed = ~0U;
	FILE *f;
	char line[4096];
	bool sse42 = false;

	ASSERT_NE(NULL, buf);
	f = fopen("/proc/cpuinfo", "r");
	ASSERT_NE(NULL, f);
	while (!sse42 && fgets(line, sizeof(line), f))
		sse42 = !strncmp(line, "flags", 5) && strstr(line, " sse4_2");
	fclose(f);
	if (!sse42)
		EXPECT_FALSE(crc32c_uses_cpu());
	TH_LOG("crc32c by %s (SSE4.2: %s)",
	       crc32c_uses_cpu() ? "instruction" : "tables",
	       sse42 ? "yes" : "no");

	srandom(42);
	for (i = 0; i < 2 * BS; i++)
		buf[i] = (unsigned char)random();
	for (i = 0; i < 2000; i++) {
		off = random() % 16;
		len = i < 64 ? i : (unsigned int)(random() % (2 * BS - 16));
		EXPECT_EQ(crc32c_tables(seed, buf + off, len),
			  crc32c_raw(seed, buf + off, len))
			TH_LOG("offset %u length %u", off, len);
		seed = crc32c_raw(seed, buf + off, len);
	}
	EXPECT_EQ(0xe3069283U, ~crc32c_tables(~0U, "123456789", 9));
}

/* ---- protocol layer over a ring in memory ---- */

#define P_ENTRIES	16
#define P_SLOTS		8
#define P_BLOCKS	32

FIXTURE(proto) {
	char path[256];
	struct pb_backend be;
	struct pagerd d;
	void *map;
	size_t len;
	struct kvmshare_pager_ring *ring;
	struct kvmshare_pager_req *sq;
	unsigned char *slots;
	unsigned int reads_hooked;
	struct kvmshare_pager_req req[PAGERD_MAX_BATCH];
	struct kvmshare_pager_cqe cqe[PAGERD_MAX_BATCH];
};

FIXTURE_SETUP(proto)
{
	char err[256] = "";

	tmpname(self->path, sizeof(self->path));
	ASSERT_EQ(0, pb_open(&self->be, PB_FILE, self->path, P_BLOCKS, false,
			     err, sizeof(err))) TH_LOG("%s", err);
	self->len = pagerd_map_len(P_ENTRIES, P_SLOTS);
	EXPECT_EQ(4096 + 4096 + P_SLOTS * 4096, self->len);
	self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->ring = self->map;
	self->ring->sq_entries = P_ENTRIES;
	self->ring->nr_slots = P_SLOTS;
	self->sq = (void *)((char *)self->map + KVMSHARE_PAGER_SQ_OFFSET);
	self->slots = (unsigned char *)self->map +
		      KVMSHARE_PAGER_SLOT_OFFSET(P_ENTRIES);
	memset(&self->d, 0, sizeof(self->d));
	self->d.be = &self->be;
	self->d.blocks = P_BLOCKS;
	ASSERT_EQ(0, pagerd_map(&self->d, self->map, self->len, P_ENTRIES,
				P_SLOTS));
	ASSERT_EQ(0, pagerd_crc_init(&self->d));
}

FIXTURE_TEARDOWN(proto)
{
	pagerd_crc_exit(&self->d);
	pb_close(&self->be);
	unlink(self->path);
}

/* What the pool does: fill the entry at sq_tail, then advance sq_tail. */
static void post(struct kvmshare_pager_ring *ring,
		 struct kvmshare_pager_req *sq, const struct kvmshare_pager_req *r)
{
	uint32_t tail = ring->sq_tail;

	sq[tail & (ring->sq_entries - 1)] = *r;
	__atomic_store_n(&ring->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

static struct kvmshare_pager_req mkreq(uint64_t id, uint32_t op,
				       uint32_t slot, uint64_t block)
{
	struct kvmshare_pager_req r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.op = op;
	r.slot = slot;
	r.block = block;
	r.part_id = 1;
	r.page_index = block + 1000;
	return r;
}

static uint32_t std_crc(const void *buf)
{
	return ~crc32c_raw(~0U, buf, BS);
}

TEST_F(proto, map_checks_the_ring_header)
{
	struct pagerd d2;

	memset(&d2, 0, sizeof(d2));
	/* Other geometry than asked for. */
	EXPECT_EQ(-EPROTO, pagerd_map(&d2, self->map, self->len, 32, P_SLOTS));
	EXPECT_EQ(-EPROTO, pagerd_map(&d2, self->map, self->len, P_ENTRIES, 4));
	/* A mapping too short for the slots. */
	EXPECT_EQ(-EPROTO, pagerd_map(&d2, self->map, self->len - 1,
				      P_ENTRIES, P_SLOTS));
	/* Indices that cannot be. */
	self->ring->sq_tail = P_ENTRIES + 1;
	EXPECT_EQ(-EPROTO, pagerd_map(&d2, self->map, self->len, P_ENTRIES,
				      P_SLOTS));
	self->ring->sq_tail = P_ENTRIES;
	EXPECT_EQ(0, pagerd_map(&d2, self->map, self->len, P_ENTRIES,
				P_SLOTS));
}

TEST_F(proto, take_copies_in_order_and_wraps)
{
	struct kvmshare_pager_req r;
	uint32_t start = 0xfffffff9U;	/* the indices wrap past 2^32 */
	unsigned int i, got = 0;
	int n;

	self->ring->sq_head = start;
	self->ring->sq_tail = start;
	ASSERT_EQ(0, pagerd_map(&self->d, self->map, self->len, P_ENTRIES,
				P_SLOTS));
	EXPECT_FALSE(pagerd_pending(&self->d));
	EXPECT_EQ(0, pagerd_take(&self->d, self->req, 8));

	for (i = 0; i < P_ENTRIES; i++) {
		r = mkreq(100 + i, KVMSHARE_PAGER_OP_DISCARD,
			  KVMSHARE_PAGER_NO_SLOT, i);
		post(self->ring, self->sq, &r);
	}
	EXPECT_TRUE(pagerd_pending(&self->d));
	n = pagerd_take(&self->d, self->req, 5);
	ASSERT_EQ(5, n);
	EXPECT_EQ(start + 5, self->ring->sq_head);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(100 + i, self->req[i].id);
	got = 5;
	/* The pool reuses the freed entries while the rest wait. */
	for (i = 0; i < 5; i++) {
		r = mkreq(200 + i, KVMSHARE_PAGER_OP_DISCARD,
			  KVMSHARE_PAGER_NO_SLOT, i);
		post(self->ring, self->sq, &r);
	}
	n = pagerd_take(&self->d, self->req, PAGERD_MAX_BATCH);
	ASSERT_EQ(P_ENTRIES, n);
	for (i = 0; i < P_ENTRIES; i++)
		EXPECT_EQ(i < P_ENTRIES - 5 ? 105 + i : 200 + i - 11,
			  self->req[i].id) TH_LOG("entry %u", i);
	got += n;
	EXPECT_EQ(start + got, self->ring->sq_head);
	EXPECT_EQ(start + got, self->ring->sq_tail);
	EXPECT_FALSE(pagerd_pending(&self->d));
	EXPECT_EQ(got, self->d.st.requests);

	/* A tail more than a ring ahead of the head is refused. */
	self->ring->sq_tail = self->ring->sq_head + P_ENTRIES + 1;
	EXPECT_EQ(-EPROTO, pagerd_take(&self->d, self->req, 4));
	EXPECT_EQ(start + got, self->ring->sq_head);
}

TEST_F(proto, bad_requests_get_einval)
{
	struct kvmshare_pager_req *r = self->req;
	unsigned int i;

	memset(self->slots, 0x11, P_SLOTS * BS);
	r[0] = mkreq(1, 0, 0, 0);				/* no op 0 */
	r[1] = mkreq(2, 4, 0, 0);				/* no op 4 */
	r[2] = mkreq(3, KVMSHARE_PAGER_OP_PAGE_OUT, P_SLOTS, 0);
	r[3] = mkreq(4, KVMSHARE_PAGER_OP_PAGE_IN, 0, P_BLOCKS);
	r[4] = mkreq(5, KVMSHARE_PAGER_OP_DISCARD, 0, 1);	/* a slot */
	r[5] = mkreq(6, KVMSHARE_PAGER_OP_PAGE_OUT, 1, 2);
	r[5].flags = 1;
	r[6] = mkreq(7, KVMSHARE_PAGER_OP_PAGE_OUT, 1, 2);
	r[6].reserved[1] = 1;
	r[7] = mkreq(8, KVMSHARE_PAGER_OP_PAGE_OUT, 2, 3);	/* good */
	r[8] = mkreq(9, KVMSHARE_PAGER_OP_PAGE_IN, 2, 4);	/* slot 2 again */
	r[9] = mkreq(10, KVMSHARE_PAGER_OP_DISCARD, KVMSHARE_PAGER_NO_SLOT,
		     5);						/* good */
	r[10] = mkreq(11, KVMSHARE_PAGER_OP_PAGE_IN, KVMSHARE_PAGER_NO_SLOT, 5);
	pagerd_process(&self->d, r, 11, self->cqe);
	for (i = 0; i < 11; i++) {
		EXPECT_EQ(r[i].id, self->cqe[i].id);
		EXPECT_EQ(0, self->cqe[i].flags);
		EXPECT_EQ(0, self->cqe[i].reserved[0]);
		EXPECT_EQ(0, self->cqe[i].reserved[1]);
		EXPECT_EQ(i == 7 || i == 9 ? 0 : -EINVAL, self->cqe[i].result)
			TH_LOG("req %u", i);
	}
	EXPECT_EQ(9, self->d.st.invalid);
	EXPECT_EQ(9, self->d.st.errors);
	EXPECT_EQ(0, self->d.st.io_errors);
	EXPECT_EQ(BS, self->d.st.bytes_out);
	EXPECT_EQ(1, self->d.st.batches);
}

TEST_F(proto, page_out_then_page_in_with_crc32c)
{
	struct kvmshare_pager_req *r = self->req;
	unsigned char *s0 = self->slots, *s1 = self->slots + BS;
	unsigned char want[BS];
	int fd;

	/* Standard CRC-32C. */
	fill(s0, 7, 1);
	memcpy(want, s0, BS);
	r[0] = mkreq(1, KVMSHARE_PAGER_OP_PAGE_OUT, 0, 7);
	r[0].crc32c = std_crc(s0);
	/* The kernel's crc32c(~0, ...) without final inversion. */
	fill(s1, 8, 1);
	r[1] = mkreq(2, KVMSHARE_PAGER_OP_PAGE_OUT, 1, 8);
	r[1].crc32c = crc32c_raw(~0U, s1, BS);
	pagerd_process(&self->d, r, 2, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
	EXPECT_EQ(0, self->cqe[1].result);
	EXPECT_EQ(2 * BS, self->d.st.bytes_out);
	EXPECT_EQ(1, self->be.syncs);

	memset(self->slots, 0, 2 * BS);
	r[0] = mkreq(3, KVMSHARE_PAGER_OP_PAGE_IN, 1, 7);
	r[1] = mkreq(4, KVMSHARE_PAGER_OP_PAGE_IN, 0, 8);
	pagerd_process(&self->d, r, 2, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
	EXPECT_EQ(0, self->cqe[1].result);
	EXPECT_EQ(0, memcmp(s1, want, BS));
	EXPECT_EQ(2 * BS, self->d.st.bytes_in);

	/* A page-out whose data does not match its CRC is not stored. */
	fill(s0, 9, 1);
	r[0] = mkreq(5, KVMSHARE_PAGER_OP_PAGE_OUT, 0, 9);
	r[0].crc32c = std_crc(s0) ^ 1;
	pagerd_process(&self->d, r, 1, self->cqe);
	EXPECT_EQ(-EIO, self->cqe[0].result);
	EXPECT_EQ(1, self->d.st.crc_errors);
	r[0] = mkreq(6, KVMSHARE_PAGER_OP_PAGE_IN, 0, 9);
	pagerd_process(&self->d, r, 1, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
	EXPECT_TRUE(is_zero(s0));

	/* Data the store corrupted fails its page-in. */
	fd = open(self->path, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pwrite(fd, "X", 1, 7 * BS + 123));
	close(fd);
	r[0] = mkreq(7, KVMSHARE_PAGER_OP_PAGE_IN, 3, 7);
	pagerd_process(&self->d, r, 1, self->cqe);
	EXPECT_EQ(-EIO, self->cqe[0].result);
	EXPECT_EQ(2, self->d.st.crc_errors);

	/* After a discard the block's CRC is forgotten. */
	r[0] = mkreq(8, KVMSHARE_PAGER_OP_DISCARD, KVMSHARE_PAGER_NO_SLOT, 7);
	r[1] = mkreq(9, KVMSHARE_PAGER_OP_PAGE_IN, 3, 7);
	pagerd_process(&self->d, r, 2, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
	EXPECT_EQ(0, self->cqe[1].result);
	EXPECT_TRUE(is_zero(self->slots + 3 * BS));
	EXPECT_EQ(1, self->d.st.discard);
}

TEST_F(proto, no_crc_means_no_checks)
{
	struct kvmshare_pager_req *r = self->req;

	pagerd_crc_exit(&self->d);
	self->d.crc = false;
	fill(self->slots, 1, 1);
	r[0] = mkreq(1, KVMSHARE_PAGER_OP_PAGE_OUT, 0, 1);
	r[0].crc32c = 12345;
	pagerd_process(&self->d, r, 1, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
	EXPECT_EQ(0, self->d.st.crc_errors);
}

static void count_reads(struct pagerd *d, unsigned int page_ins)
{
	unsigned int *n = d->priv;

	*n += page_ins * 100 + 1;
}

TEST_F(proto, injected_read_faults)
{
	struct kvmshare_pager_req *r = self->req;
	unsigned int i;

	self->d.fault.fail_block[0] = 4;
	self->d.fault.nr_fail_block = 1;
	self->d.fault.fail_part[0] = 1;
	self->d.fault.fail_index[0] = 1006;	/* mkreq: block 6 */
	self->d.fault.nr_fail_page = 1;
	self->d.priv = &self->reads_hooked;
	self->d.before_read = count_reads;

	for (i = 0; i < 8; i++)
		fill(self->slots + i * BS, i, 5);
	for (i = 0; i < 8; i++)
		r[i] = mkreq(i + 1, KVMSHARE_PAGER_OP_PAGE_OUT, i, i);
	pagerd_process(&self->d, r, 8, self->cqe);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, self->cqe[i].result) TH_LOG("page-out %u", i);
	/* No page-in, no delay. */
	EXPECT_EQ(0, self->reads_hooked);

	for (i = 0; i < 8; i++)
		r[i] = mkreq(i + 11, KVMSHARE_PAGER_OP_PAGE_IN, i, i);
	pagerd_process(&self->d, r, 8, self->cqe);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(i == 4 || i == 6 ? -EIO : 0, self->cqe[i].result)
			TH_LOG("page-in %u", i);
	EXPECT_EQ(2, self->d.st.injected);
	EXPECT_EQ(2, self->d.st.errors);
	EXPECT_EQ(0, self->d.st.io_errors);
	/* Called once for the batch, with the 6 page-ins that run. */
	EXPECT_EQ(601, self->reads_hooked);

	/* Same page in another partition: not failed. */
	r[0] = mkreq(30, KVMSHARE_PAGER_OP_PAGE_IN, 0, 6);
	r[0].part_id = 2;
	pagerd_process(&self->d, r, 1, self->cqe);
	EXPECT_EQ(0, self->cqe[0].result);
}

TEST_HARNESS_MAIN
