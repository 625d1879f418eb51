// SPDX-License-Identifier: GPL-2.0
/*
 * vpa against a hostile guest: a VFIO client plays a guest driver that
 * sends the engine descriptors with addresses and sizes at the edges of
 * the address space, changes memory under a running descriptor, and races
 * the host's window resizes and unmaps. Each test is the regression test
 * of one defect (issue #13); the host must refuse cleanly and stay up.
 *
 * The last test sends all-ones destinations: before the fix it crashed
 * the host (NULL dereference in the engine), so it runs last.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "vfio_client.h"

#define ACK_PARAM	"/sys/module/vpa/parameters/ack_timeout_ms"
#define SPARE_IOVA	0x700000000ULL

/* Wait until the engine's head of queue 0 reaches our tail. */
static int wait_idle(struct vc *c, int ms)
{
	uint64_t end = vc_now_ns() + ms * 1000000ULL;

	while (vc_reg(c, VPA_REG_WQ(0) + VPA_WQ_HEAD) != c->tail) {
		if (vc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

/* Resize: write COUNT to <mdev>/vpa/nr_TYPE. */
static int set_count(const char *uuid, const char *type, const char *count)
{
	char file[32];

	snprintf(file, sizeof(file), "vpa/nr_%s", type);
	return vc_mdev_write(uuid, file, count);
}

FIXTURE(host) {
	struct vc c;
	char uuid[40];
};

FIXTURE_SETUP(host)
{
	ASSERT_EQ(0, vc_create("large", self->uuid));
	ASSERT_EQ(0, vc_open(&self->c, self->uuid));
	ASSERT_EQ(0, vc_wq_setup(&self->c, 0, 64));
}

FIXTURE_TEARDOWN(host)
{
	vc_close(&self->c);
	EXPECT_EQ(0, vc_remove(self->uuid));
}

struct flipper {
	uint8_t *byte;
	bool stop;		/* atomic */
	unsigned long flips;
};

static void *flip_thread(void *arg)
{
	struct flipper *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_xor(f->byte, 0x01, __ATOMIC_RELAXED);
		f->flips++;
	}
	return NULL;
}

/*
 * COMPARE while the guest flips the one differing byte back and forth.
 * When the engine compared guest memory in place, it could see the byte
 * differ in memcmp() and equal in its byte scan, which then ran past the
 * piece. A difference reported must be a real position inside the range
 * (here only the flipped byte), never beyond.
 */
/* (8000 descriptors: minutes on the debug lane's kernel) */
TEST_F_TIMEOUT(host, compare_bounded_while_guest_flips, 300)
{
	struct vc *c = &self->c;
	uint8_t *a = c->mem + VC_DATA_OFF, *b = a + 0x10000;
	struct flipper f = { .byte = b + 4095 };
	struct vpa_completion *cr;
	struct vpa_desc d[32];
	int i, k, n = 0, differ = 0, bad = 0;
	unsigned int slot;
	pthread_t th;

	memset(a, 0x3c, 8192);
	memset(b, 0x3c, 8192);
	/* the bytes after the page differ: a scan that runs on stops there */
	memset(a + 4096, 0x11, 4096);
	memset(b + 4096, 0x22, 4096);
	ASSERT_EQ(0, pthread_create(&th, NULL, flip_thread, &f));
	for (i = 0; i < 250 && bad < 4; i++) {
		/* 32 at a time, each with its own completion record */
		slot = c->tail;
		memset(d, 0, sizeof(d));
		for (k = 0; k < 32; k++) {
			memset(vc_compl(c, (slot + k) % 64), 0, 32);
			d[k].opcode = VPA_OP_COMPARE;
			d[k].flags = VPA_DESC_F_COMPL;
			d[k].size = 4096;
			d[k].src = vc_iova(VC_DATA_OFF);
			d[k].dst = vc_iova(VC_DATA_OFF + 0x10000);
			d[k].completion = vc_iova(VC_COMPL_OFF +
					     ((slot + k) % 64) * 32);
		}
		ASSERT_EQ(0, vc_submit(c, d, 32));
		ASSERT_EQ(0, vc_wait(c, (slot + 31) % 64, 10000));
		for (k = 0; k < 32; k++, n++) {
			cr = vc_compl(c, (slot + k) % 64);
			ASSERT_EQ(VPA_CS_SUCCESS, cr->status);
			if (cr->result) {
				differ++;
				if (cr->bytes_done == 4095)
					continue;
				bad++;
				TH_LOG("compare %d: difference at %u of 4096",
				       n, cr->bytes_done);
			} else if (cr->bytes_done != 4096) {
				bad++;
				TH_LOG("compare %d: equal, bytes_done %u", n,
				       cr->bytes_done);
			}
		}
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	TH_LOG("%d compares, %d differed, %lu flips", n, differ, f.flips);
	EXPECT_EQ(0, bad);
}

/*
 * The guest lets go of a source page (MADV_DONTNEED) after a descriptor
 * read it, and writes new data there: a MEMMOVE must copy the new data.
 * While the engine kept the pages it touched pinned in a cache, the copy
 * read the page the guest had given back (stale data; another process's
 * once the page is reused). Source and destination are small mappings:
 * no transparent huge page keeps the source page alive.
 */
TEST_F(host, memmove_reads_current_source)
{
	const uint64_t src_iova = 0x500000000ULL, dst_iova = 0x600000000ULL;
	struct vc *c = &self->c;
	struct vpa_completion cr;
	int i, round, wrong = 0;
	struct vpa_desc d;
	uint8_t *s, *dst;

	s = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	dst = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(0, vc_map(c, s, src_iova, 65536, true));
	ASSERT_EQ(0, vc_map(c, dst, dst_iova, 65536, true));
	ASSERT_EQ(0, vc_win(c, 2, dst_iova, 65536, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_win(c, 3, src_iova, 65536, VPA_WIN_ALL));

	for (round = 0; round < 8 && !wrong; round++) {
		ASSERT_EQ(0, madvise(dst, 65536, MADV_DONTNEED));
		/* the engine reads the source page once */
		memset(s, 0x11, 4096);
		memset(&d, 0, sizeof(d));
		d.opcode = VPA_OP_CRC32C;
		d.size = 4096;
		d.src = src_iova;
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		ASSERT_EQ(VPA_CS_SUCCESS, cr.status);
		EXPECT_EQ(vc_crc32c(0, s, 4096), cr.result);

		/* the guest lets go of the page and writes a new one */
		ASSERT_EQ(0, madvise(s, 4096, MADV_DONTNEED));
		memset(s, 0x22, 4096);

		memset(&d, 0, sizeof(d));
		d.opcode = VPA_OP_MEMMOVE;
		d.size = 4096;
		d.src = src_iova;
		d.dst = dst_iova;
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		ASSERT_EQ(VPA_CS_SUCCESS, cr.status);
		for (i = 0; i < 4096; i++)
			if (dst[i] != 0x22)
				wrong++;
		if (wrong)
			TH_LOG("round %d: %d bytes not the guest's, first %#x",
			       round, wrong, dst[0]);
	}
	EXPECT_EQ(0, wrong);

	vc_unmap(c, dst_iova, 65536);
	vc_unmap(c, src_iova, 65536);
	munmap(dst, 65536);
	munmap(s, 65536);
}

struct remapper {
	struct vc *c;
	uint64_t iova;
	void *m;
	bool stop;		/* atomic */
	int rounds, errors;
};

/* The VMM maps and unmaps one range, over and over. */
static void *remap_thread(void *arg)
{
	struct remapper *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (vc_map(r->c, r->m, r->iova, 65536, true) ||
		    vc_unmap(r->c, r->iova, 65536))
			r->errors++;
		r->rounds++;
	}
	return NULL;
}

/*
 * Two VMM threads unmap ranges the engine is reading and writing, at
 * once. While the engine pinned guest pages, each such unmap called our
 * dma_unmap callback under VFIO's device_list_lock, which the other
 * unmap waited for with the container's iommu->lock held, while the
 * callback's unpin waited for that iommu->lock: the two threads (and the
 * engine, which pinned under a lock the callback took) hung for good.
 * Now every descriptor completes, with success or a DMA fault, and both
 * threads keep going.
 */
TEST_F_TIMEOUT(host, concurrent_unmaps_during_descriptors, 120)
{
	struct vc *c = &self->c;
	struct remapper r[2] = {
		{ .c = c, .iova = SPARE_IOVA },
		{ .c = c, .iova = SPARE_IOVA + 0x100000 },
	};
	int i, k, ok = 0, faults = 0, wrong = 0;
	struct vpa_completion cr;
	struct vpa_desc d;
	pthread_t th[2];

	for (k = 0; k < 2; k++) {
		r[k].m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			      -1, 0);
		ASSERT_NE(MAP_FAILED, r[k].m);
		memset(r[k].m, 0x40 + k, 65536);
	}
	ASSERT_EQ(0, vc_win(c, 2, SPARE_IOVA, 0x200000, VPA_WIN_ALL));
	for (k = 0; k < 2; k++)
		ASSERT_EQ(0, pthread_create(&th[k], NULL, remap_thread, &r[k]));
	for (i = 0; i < 600; i++) {
		memset(&d, 0, sizeof(d));
		/* read one range, write the other: both pinned before */
		d.opcode = VPA_OP_MEMMOVE;
		d.size = 65536;
		d.src = r[i & 1].iova;
		d.dst = r[!(i & 1)].iova;
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		if (cr.status == VPA_CS_SUCCESS)
			ok++;
		else if (cr.status == VPA_CS_DMA_READ ||
			 cr.status == VPA_CS_DMA_WRITE)
			faults++;
		else
			wrong++;
	}
	for (k = 0; k < 2; k++) {
		__atomic_store_n(&r[k].stop, true, __ATOMIC_RELAXED);
		pthread_join(th[k], NULL);
		munmap(r[k].m, 65536);
	}
	TH_LOG("%d copies, %d faults, %d/%d remaps", ok, faults, r[0].rounds,
	       r[1].rounds);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, r[0].errors + r[1].errors);
	EXPECT_LT(0, r[0].rounds);
	EXPECT_LT(0, r[1].rounds);
	EXPECT_EQ(600, ok + faults);
}

struct churn {
	const char *uuid;
	struct vc *c;
	bool stop;		/* atomic */
	int rounds, errors;
};

/* The host resizes the windows and the VMM remaps memory, over and over. */
static void *churn_thread(void *arg)
{
	struct churn *h = arg;
	void *m;

	m = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED) {
		h->errors++;
		return NULL;
	}
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		if (set_count(h->uuid, "win", "1") ||
		    set_count(h->uuid, "win", "8"))
			h->errors++;
		/* memory the engine may be reading goes away */
		if (vc_map(h->c, m, SPARE_IOVA, 65536, true) ||
		    vc_unmap(h->c, SPARE_IOVA, 65536))
			h->errors++;
		h->rounds++;
	}
	munmap(m, 65536);
	return NULL;
}

/*
 * Window 1 lets the engine write a completion page outside window 0. The
 * host shrinks the adapter to one window (window 1 is revoked) and grows
 * it back to two while long descriptors run whose completion records go
 * to that page. The grown window 1 is cleared: no completion may land
 * there. Before the fix the engine checked its snapshot of one window
 * with the new count of two, so the stale copy of the revoked window
 * let the completion through.
 */
TEST_F(host, window_grow_during_descriptor)
{
	struct vc *c = &self->c;
	const uint32_t cpl_off = 0x300000;
	uint8_t *cpl = c->mem + cpl_off;
	char old_ack[32] = "2000\n";
	struct vpa_completion *mark;
	struct vpa_desc d[3];
	uint64_t end;
	int i, k, leaked = 0, ran = 0;

	vc_read_str(ACK_PARAM, old_ack, sizeof(old_ack));
	ASSERT_EQ(0, vc_write_file(ACK_PARAM, "10"));
	/* window 0: ring, completions and data, not the completion page */
	ASSERT_EQ(0, vc_win(c, 0, VC_MEM_IOVA, cpl_off, VPA_WIN_ALL));
	for (i = 0; i < 24; i++) {
		ASSERT_EQ(0, vc_win(c, 1, vc_iova(cpl_off), 4096,
				    VPA_WIN_ALL));
		/* a NOP takes the engine's snapshot of both windows */
		memset(d, 0, sizeof(d));
		ASSERT_EQ(0, vc_submit(c, d, 1));
		ASSERT_EQ(0, wait_idle(c, 5000));
		ASSERT_EQ(0, set_count(self->uuid, "win", "1"));
		memset(cpl, 0, 4096);
		/* a marker NOP, then long copies completing to that page */
		mark = vc_compl(c, c->tail);
		memset(mark, 0, 32);
		d[0].flags = VPA_DESC_F_COMPL;
		d[0].completion = vc_iova(VC_COMPL_OFF + c->tail * 32);
		for (k = 1; k < 3; k++) {
			d[k].opcode = VPA_OP_MEMMOVE;
			d[k].flags = VPA_DESC_F_COMPL;
			d[k].size = VPA_MAX_XFER;
			d[k].src = vc_iova(VC_DATA_OFF);
			d[k].dst = vc_iova(VC_DATA_OFF + VPA_MAX_XFER);
			d[k].completion = vc_iova(cpl_off + k * 32);
		}
		ASSERT_EQ(0, vc_submit(c, d, 3));
		/* grow while the first copy runs */
		end = vc_now_ns() + 5000000000ULL;
		while (!__atomic_load_n(&mark->status, __ATOMIC_ACQUIRE) &&
		       vc_now_ns() < end)
			;
		ASSERT_EQ(0, set_count(self->uuid, "win", "2"));
		ASSERT_EQ(0, wait_idle(c, 10000));
		for (k = 1; k < 3; k++)
			if (__atomic_load_n(&cpl[k * 32], __ATOMIC_ACQUIRE)) {
				leaked++;
				TH_LOG("round %d: completion %d written through the revoked window",
				       i, k);
			}
		ran += 3;
		vc_wr(c, 0, VPA_REG_ERR, 1);
		vc_wr(c, 0, VPA_REG_EVENT, VPA_EVT_ALL);
	}
	EXPECT_EQ(0, leaked);
	EXPECT_EQ(0, set_count(self->uuid, "win", "8"));
	vc_write_file(ACK_PARAM, old_ack);
	TH_LOG("%d descriptors", ran);
}

/*
 * Descriptors run while the host resizes the windows and the VMM maps
 * and unmaps memory (pins dropped) without end; all copies must be right
 * or refused, never wrong, and the adapter must keep working.
 */
TEST_F(host, descriptors_under_resize_and_unmap)
{
	struct vc *c = &self->c;
	struct churn h = { .uuid = self->uuid, .c = c };
	uint8_t *src = c->mem + VC_DATA_OFF, *dst = src + 0x100000;
	char old_ack[32] = "2000\n";
	struct vpa_completion cr;
	struct vpa_desc d;
	int i, ok = 0, refused = 0, wrong = 0;
	pthread_t th;

	vc_read_str(ACK_PARAM, old_ack, sizeof(old_ack));
	ASSERT_EQ(0, vc_write_file(ACK_PARAM, "10"));
	ASSERT_EQ(0, pthread_create(&th, NULL, churn_thread, &h));
	for (i = 0; i < 150; i++) {
		memset(src, i, 0x10000);
		memset(dst, ~i, 0x10000);
		memset(&d, 0, sizeof(d));
		d.opcode = VPA_OP_MEMMOVE;
		d.size = 0x10000;
		d.src = vc_iova(VC_DATA_OFF);
		d.dst = vc_iova(VC_DATA_OFF + 0x100000);
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		if (cr.status == VPA_CS_SUCCESS) {
			ok++;
			if (memcmp(src, dst, 0x10000))
				wrong++;
		} else {
			refused++;
		}
		/* and a CRC over memory the VMM maps and unmaps meanwhile */
		vc_win(c, 2, SPARE_IOVA, 65536, VPA_WIN_ALL);
		memset(&d, 0, sizeof(d));
		d.opcode = VPA_OP_CRC32C;
		d.size = 65536;
		d.src = SPARE_IOVA;
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		if (cr.status != VPA_CS_SUCCESS && cr.status != VPA_CS_DMA_READ)
			wrong++;
	}
	__atomic_store_n(&h.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	vc_write_file(ACK_PARAM, old_ack);
	TH_LOG("%d copies right, %d refused, %d wrong, %d resize rounds",
	       ok, refused, wrong, h.rounds);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, h.errors);
	EXPECT_LT(0, ok);
	/* the adapter still works */
	memset(src, 0x5a, 4096);
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 4096;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = vc_iova(VC_DATA_OFF + 0x100000);
	ASSERT_EQ(0, set_count(self->uuid, "win", "8"));
	ASSERT_EQ(0, vc_win(c, 0, VC_MEM_IOVA, VC_MEM_SIZE, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(0x5a, dst[4095]);
}

/*
 * Give the engines a long list of turns: every queue of @c gets a ring
 * (one page each, from the start of its memory) of 63 CRCs of 1 MiB and
 * is rung. Returns the number of queues.
 */
static int keep_busy(struct vc *c)
{
	uint32_t n = vc_reg(c, VPA_REG_NR_WQS), q, i, qr;
	struct vpa_desc *ring;
	uint64_t iova;

	for (q = 0; q < n && q < 16; q++) {
		qr = VPA_REG_WQ(q);
		iova = vc_iova(q * 4096);
		ring = (struct vpa_desc *)(c->mem + q * 4096);
		memset(ring, 0, 4096);
		for (i = 0; i < 63; i++) {
			ring[i].opcode = VPA_OP_CRC32C;
			ring[i].size = VPA_MAX_XFER;
			ring[i].src = vc_iova(VC_DATA_OFF);
		}
		if (vc_wr(c, 0, qr + VPA_WQ_CTRL, 0) ||
		    vc_wr(c, 0, qr + VPA_WQ_RING_LO, (uint32_t)iova) ||
		    vc_wr(c, 0, qr + VPA_WQ_RING_HI, iova >> 32) ||
		    vc_wr(c, 0, qr + VPA_WQ_SIZE, 64) ||
		    vc_wr(c, 0, qr + VPA_WQ_DB, q) ||
		    vc_wr(c, 0, qr + VPA_WQ_CTRL, VPA_WQ_CTRL_ENABLE))
			return -EIO;
	}
	__sync_synchronize();
	for (q = 0; q < n && q < 16; q++)
		if (vc_wr(c, 2, q * VPA_BAR2_PAGE, 63))
			return -EIO;
	return q;
}

/* Queues of @c whose head is not at 63 yet. */
static int busy_left(struct vc *c, int n)
{
	int q, left = 0;

	for (q = 0; q < n; q++)
		left += vc_reg(c, VPA_REG_WQ(q) + VPA_WQ_HEAD) != 63;
	return left;
}

/*
 * A queue the host takes by a resize while a turn of it waits for an
 * engine: the guest rang it and disabled it again, so the resize found
 * nothing to quiesce or freeze. Then the guest closes the device and the
 * host removes it. The queued turn must be cancelled with the device's
 * other work (it was not: only the queues the device still owned were),
 * or it runs on a freed device. Another virtual adapter's 16 queues keep
 * the engines busy so that the turn is still queued when the device
 * goes; new virtual adapters are then created and memory is written so
 * that the freed device's memory is reused.
 */
/* (16 queues of 1 MiB CRCs and 256 MiB written: minutes on the debug lane) */
FIXTURE(busy) {};
FIXTURE_SETUP(busy) {}
FIXTURE_TEARDOWN(busy) {}

TEST_F_TIMEOUT(busy, taken_queue_turn_cancelled_on_release, 300)
{
	char ua[40], ub[40], us[4][40];
	struct vpa_completion cr;
	struct vpa_desc d;
	struct vc a, b;
	uint64_t t0, t1;
	struct vpa_desc *ring3;
	const uint32_t ring3_off = 0x8000;
	size_t big = 256u << 20;
	int nb, left, k;
	uint8_t *m;

	ASSERT_EQ(0, vc_create("half", ub));
	ASSERT_EQ(0, vc_create("fcfs", ua));
	ASSERT_EQ(0, vc_open(&b, ub));
	ASSERT_EQ(0, vc_open(&a, ua));
	ASSERT_EQ(0, vc_wq_setup(&b, 0, 64));
	ASSERT_EQ(0, vc_wq_setup(&a, 0, 64));
	ASSERT_EQ(4, vc_reg(&a, VPA_REG_NR_WQS));
	/* queue 3 of a: one NOP in its ring, doorbell 3 */
	ring3 = (struct vpa_desc *)(a.mem + ring3_off);
	memset(ring3, 0, 64 * sizeof(*ring3));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_RING_LO,
			   (uint32_t)vc_iova(ring3_off)));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_RING_HI,
			   vc_iova(ring3_off) >> 32));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_SIZE, 64));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_DB, 3));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_CTRL,
			   VPA_WQ_CTRL_ENABLE));

	/* the engines busy with b's queues */
	nb = keep_busy(&b);
	ASSERT_EQ(16, nb);
	t0 = vc_now_ns();
	/* a's queue 3: rung (its turn waits), disabled, taken, a gone */
	ASSERT_EQ(0, vc_wr(&a, 2, 3 * VPA_BAR2_PAGE, 1));
	ASSERT_EQ(0, vc_wr(&a, 0, VPA_REG_WQ(3) + VPA_WQ_CTRL, 0));
	ASSERT_EQ(0, set_count(ua, "wq", "3"));
	vc_close(&a);
	ASSERT_EQ(0, vc_remove(ua));
	t1 = vc_now_ns();
	left = busy_left(&b, nb);
	/* reuse what was freed: new virtual adapters, then memory */
	for (k = 0; k < 4; k++)
		ASSERT_EQ(0, vc_create("small", us[k]));
	m = mmap(NULL, big, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	madvise(m, big, MADV_NOHUGEPAGE);
	memset(m, 0x6b, big);
	munmap(m, big);
	TH_LOG("a gone %llu ms after its doorbell, %d of b's %d queues busy then",
	       (unsigned long long)(t1 - t0) / 1000000, left, nb);
	/* b stops its queues: the turns queued behind them run now */
	for (k = 0; k < nb; k++)
		EXPECT_EQ(0, vc_wr(&b, 0, VPA_REG_WQ(k) + VPA_WQ_CTRL, 0));
	usleep(200000);
	/* the engines still work for b */
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_CRC32C;
	d.size = 4096;
	d.src = vc_iova(VC_DATA_OFF);
	ASSERT_EQ(0, vc_wq_setup(&b, 0, 64));
	ASSERT_EQ(0, vc_run(&b, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	vc_close(&b);
	EXPECT_EQ(0, vc_remove(ub));
	for (k = 0; k < 4; k++)
		EXPECT_EQ(0, vc_remove(us[k]));
}

/*
 * Addresses and sizes at the edges of the address space, with windows
 * that reach its top: every one must be refused before a page is touched,
 * with the faulting address reported. dst = ~0 once meant "no
 * destination" to the engine: FILL wrote through a NULL pointer.
 */
struct uffd_writer {
	pthread_t t;
	struct vc *c;
	void *buf;
	ssize_t ret;
	int err;
};

/* A register write from a buffer whose page fault the VMM never serves. */
static void *uffd_write_thread(void *arg)
{
	struct uffd_writer *w = arg;

	w->ret = pwrite(w->c->dev, w->buf, 4,
			w->c->reg_off[VFIO_PCI_BAR0_REGION_INDEX] +
			VPA_REG_CTRL);
	w->err = errno;
	return NULL;
}

struct destroyer {
	pthread_t t;
	const char *uuid;
	int ret;
	bool done;		/* atomic */
};

static void *destroy_thread(void *arg)
{
	struct destroyer *d = arg;
	char path[256];

	snprintf(path, sizeof(path), "%s/vpa_destroy", vc_parent());
	d->ret = vc_write_file(path, d->uuid);
	__atomic_store_n(&d->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A VMM hands the device a buffer whose page fault it never serves (a
 * userfaultfd region; FUSE would do the same): the access must not sleep
 * in the fault holding the device's lock, or direct destroy, reassign and
 * error recovery of the adapter wait on it for as long as the VMM wants.
 * Before the fix the destroy hung here until the fault was served.
 */
TEST_F_TIMEOUT(host, destroy_while_a_vmm_buffer_faults, 60)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffd_writer w = { .c = &self->c };
	struct destroyer d = { .uuid = self->uuid };
	struct pollfd pfd;
	struct uffd_msg msg;
	long page = sysconf(_SC_PAGESIZE);
	int uffd, i;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	w.buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, w.buf);
	reg.range.start = (uintptr_t)w.buf;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, pthread_create(&w.t, NULL, uffd_write_thread, &w));
	/* The write is in the fault: its message arrives, unserved. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ(0, pthread_create(&d.t, NULL, destroy_thread, &d));
	for (i = 0; i < 50 && !__atomic_load_n(&d.done, __ATOMIC_ACQUIRE);
	     i++)
		usleep(100000);
	EXPECT_TRUE(__atomic_load_n(&d.done, __ATOMIC_ACQUIRE));
	/* Closed, the region faults as ordinary memory: the write goes on. */
	close(uffd);
	pthread_join(w.t, NULL);
	pthread_join(d.t, NULL);
	EXPECT_EQ(0, d.ret);
	/* It found the device destroyed. */
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ENODEV, w.err);
	munmap(w.buf, page);
}

TEST_F(host, zz_edge_addresses_refused)
{
	static const uint64_t top = 0xfffffffffffff000ULL;
	static const struct {
		uint8_t op;
		uint64_t src, dst;
		uint32_t size;
		uint8_t status;
	} cases[] = {
		{ VPA_OP_FILL, 0, ~0ULL, 1, VPA_CS_DMA_WRITE },
		{ VPA_OP_FILL, 0, ~0ULL, 4096, VPA_CS_DMA_WRITE },
		{ VPA_OP_MEMMOVE, 0x100100000ULL, ~0ULL, 64, VPA_CS_DMA_WRITE },
		{ VPA_OP_COMPARE, 0x100100000ULL, ~0ULL, 64, VPA_CS_DMA_READ },
		{ VPA_OP_MEMMOVE, ~0ULL, 0x100100000ULL, 64, VPA_CS_DMA_READ },
		{ VPA_OP_CRC32C, ~0ULL, 0, 1, VPA_CS_DMA_READ },
		/* in the top window, but wrapping past 2^64 */
		{ VPA_OP_FILL, 0, top, 4096, VPA_CS_DMA_WRITE },
		{ VPA_OP_FILL, 0, top + 0x800, 0x1000, VPA_CS_DMA_WRITE },
		{ VPA_OP_FILL, 0, ~0ULL - 7, VPA_MAX_XFER, VPA_CS_DMA_WRITE },
		{ VPA_OP_CRC32C, top + 0xf00, 0, 0x200, VPA_CS_DMA_READ },
		{ VPA_OP_MEMMOVE, 0x100100000ULL, top + 0xfff, 2,
		  VPA_CS_DMA_WRITE },
		/* in the wrapping window 3, wrapping itself */
		{ VPA_OP_FILL, 0, 0xffffffffffff0000ULL, 0x20000,
		  VPA_CS_DMA_WRITE },
		/* inside the top window, not mapped in the container */
		{ VPA_OP_FILL, 0, top, 0xfff, VPA_CS_DMA_WRITE },
	};
	struct vc *c = &self->c;
	struct vpa_completion cr;
	struct vpa_desc d;
	unsigned int i;

	/* window 1 at the very top, window 3 wraps past 2^64 */
	ASSERT_EQ(0, vc_win(c, 1, top, 0x1000, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_win(c, 3, 0xffffffffffff0000ULL, 0x20000,
			    VPA_WIN_ALL));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&d, 0, sizeof(d));
		d.opcode = cases[i].op;
		d.src = cases[i].src;
		d.dst = cases[i].dst;
		d.size = cases[i].size;
		d.pattern = 0x4141414141414141ULL;
		ASSERT_EQ(0, vc_run(c, &d, &cr)) TH_LOG("case %u", i);
		EXPECT_EQ(cases[i].status, cr.status) TH_LOG("case %u", i);
		EXPECT_EQ(0, cr.bytes_done) TH_LOG("case %u", i);
	}
	/* the adapter still works */
	memset(c->mem + VC_DATA_OFF, 0x6b, 4096);
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 4096;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = vc_iova(VC_DATA_OFF + 0x100000);
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(0x6b, c->mem[VC_DATA_OFF + 0x100000 + 4095]);
}

TEST_HARNESS_MAIN
