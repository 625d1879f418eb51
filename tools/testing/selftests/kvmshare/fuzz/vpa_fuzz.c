// SPDX-License-Identifier: GPL-2.0
/*
 * vpa_fuzz: a hostile guest driver for a virtual adapter of vpa, driven
 * from a VFIO client as the VMM would (vpa/vfio_client.c).
 *
 *   descriptors  random and boundary descriptors of every opcode and of
 *                invalid ones: all-ones and wrapping addresses and sizes,
 *                zero, huge and misaligned sizes, bad flags and reserved
 *                fields, completion records anywhere; random doorbell
 *                values; a thread rewrites the ring entries the engine is
 *                reading while it reads them.
 *   registers    every BAR and config-space offset read at every width,
 *                random writes at every offset, random MSI/MSI-X/request
 *                interrupt setups and triggers, resets, while another
 *                thread keeps the engine busy.
 *
 * After each, a known-good MEMMOVE must still work. The suite's kernel-log
 * check then fails the run on any warning, BUG or oops.
 *
 * Bounded by counts, not time. The seed is printed first; set
 * VPA_FUZZ_SEED=N to replay (the single-threaded parts replay exactly,
 * the concurrent threads only as far as timing allows). VPA_FUZZ_COUNT
 * scales the number of operations (default 1, e.g. 10 for a long run).
 * In the test VM both come through the kernel command line, which hands
 * NAME=VALUE words to init's environment:
 *
 *   KVMSHARE_VM_APPEND="VPA_FUZZ_SEED=42 VPA_FUZZ_COUNT=10" \
 *	make check SUITES=fuzz
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vfio_client.h"

#define RING		64
#define DESCS		3000	/* descriptors per VPA_FUZZ_COUNT */
#define REG_OPS		6000	/* random register operations, same */
#define TOP_PAGE	0xfffffffffffff000ULL
/*
 * Completion records go to a page of their own that no fuzzed address
 * reaches (window 1 over it), so that what is found there was written by
 * the engine as a completion.
 */
#define CPL_IOVA	0x200000000ULL

static uint64_t seed;
static unsigned int scale = 1;

/* xorshift64*: small, and the same sequence everywhere for one seed */
struct rng {
	uint64_t s;
};

static void rng_init(struct rng *r, uint64_t salt)
{
	r->s = seed ^ (salt * 0x9e3779b97f4a7c15ULL);
	if (!r->s)
		r->s = 1;
}

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? rnd(r) % n : 0;
}

static void __attribute__((constructor)) fuzz_seed(void)
{
	const char *e = getenv("VPA_FUZZ_SEED"), *n = getenv("VPA_FUZZ_COUNT");
	struct timespec ts;

	if (e) {
		seed = strtoull(e, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ts.tv_sec * 1000000007ULL ^ ts.tv_nsec ^
		       ((uint64_t)getpid() << 32);
	}
	if (n && atoi(n) > 0)
		scale = atoi(n);
	printf("# vpa_fuzz: seed %llu (VPA_FUZZ_SEED=%llu to replay), count %u\n",
	       (unsigned long long)seed, (unsigned long long)seed, scale);
	fflush(stdout);
}

/* A boundary or random size. */
static uint32_t fuzz_size(struct rng *r)
{
	static const uint32_t edge[] = {
		0, 1, 2, 3, 7, 8, 31, 32, 63, 64, 65, 4095, 4096, 4097, 8191,
		65536, VPA_MAX_XFER - 1, VPA_MAX_XFER, VPA_MAX_XFER + 1,
		0x7fffffff, 0x80000000, 0xfffff000, 0xffffffff,
	};

	switch (below(r, 4)) {
	case 0:
		return edge[below(r, ARRAY_SIZE(edge))];
	case 1:
		return rnd(r);
	default:		/* mostly sizes that run */
		return 1 + below(r, below(r, 2) ? 8192 : VPA_MAX_XFER);
	}
}

/* A boundary, wrapping, misaligned or plain address. */
static uint64_t fuzz_addr(struct rng *r)
{
	uint64_t mem = VC_MEM_IOVA;

	switch (below(r, 12)) {
	case 0:
		return ~0ULL - below(r, 4);
	case 1:
		return TOP_PAGE + below(r, 4096);
	case 2:
		return rnd(r);
	case 3:
		return below(r, 2) ? 0 : below(r, 8192);
	case 4:		/* just below, at and beyond the end of our memory */
		return mem + VC_MEM_SIZE - 4096 + below(r, 8192);
	case 5:		/* just before our memory */
		return mem - below(r, 8192);
	case 6:		/* the ring itself */
		return mem + VC_RING_OFF + below(r, RING * 64 + 64);
	default:	/* the data area, any alignment */
		return mem + VC_DATA_OFF + below(r, VC_MEM_SIZE - VC_DATA_OFF);
	}
}

static void fuzz_desc(struct rng *r, struct vpa_desc *d, unsigned int slot)
{
	memset(d, 0, sizeof(*d));
	d->opcode = below(r, 8) ? below(r, VPA_OP_MAX + 1) : rnd(r);
	d->flags = below(r, 8) ? VPA_DESC_F_COMPL | below(r, 4) : rnd(r);
	d->size = fuzz_size(r);
	d->src = fuzz_addr(r);
	d->dst = fuzz_addr(r);
	/*
	 * completions: mostly our slot, else anywhere but the slots we
	 * check (the first RING * 32 bytes of the completion page)
	 */
	if (below(r, 6))
		d->completion = CPL_IOVA + slot * 32;
	else
		d->completion = below(r, 2) ? fuzz_addr(r) :
			   CPL_IOVA + 0x800 + below(r, 0x800);
	d->pattern = rnd(r);
	d->crc_seed = rnd(r);
	if (!below(r, 16))
		d->rsvd0 = rnd(r);
	if (!below(r, 16))
		d->rsvd1 = rnd(r);
	if (!below(r, 16))
		d->rsvd2[below(r, 2)] = rnd(r);
}

static bool status_valid(uint8_t st)
{
	switch (st) {
	case VPA_CS_SUCCESS:
	case VPA_CS_BAD_OPCODE:
	case VPA_CS_BAD_FLAGS:
	case VPA_CS_BAD_RSVD:
	case VPA_CS_BAD_SIZE:
	case VPA_CS_DMA_READ:
	case VPA_CS_DMA_WRITE:
		return true;
	default:
		return false;
	}
}

/* Random windows, some at the top of the address space or wrapping. */
static void fuzz_windows(struct rng *r, struct vc *c, int nwin)
{
	int i;

	/* window 0 gives the engine our memory, 1 the completion page */
	vc_win(c, 0, VC_MEM_IOVA, VC_MEM_SIZE, VPA_WIN_ALL);
	vc_win(c, 1, CPL_IOVA, 4096, VPA_WIN_ALL);
	for (i = 2; i < nwin; i++) {
		switch (below(r, 4)) {
		case 0:
			vc_win(c, i, TOP_PAGE - below(r, 4) * 4096,
			       (1 + below(r, 8)) * 4096, below(r, 4));
			break;
		case 1:
			vc_win(c, i, rnd(r) & ~4095ULL, rnd(r) & ~4095ULL,
			       below(r, 4));
			break;
		default:
			vc_win(c, i, VC_MEM_IOVA + below(r, 1024) * 4096,
			       below(r, 1024) * 4096, below(r, 4));
			break;
		}
	}
}

/* Wait until the engine's head reaches our tail, or the queue stopped. */
static int wait_idle(struct vc *c, int ms)
{
	uint64_t end = vc_now_ns() + ms * 1000000ULL;
	uint32_t head, ctrl;

	for (;;) {
		if (vc_rd(c, 0, VPA_REG_WQ(0) + VPA_WQ_HEAD, &head) ||
		    vc_rd(c, 0, VPA_REG_WQ(0) + VPA_WQ_CTRL, &ctrl))
			return -EIO;
		if (head == c->tail || !(ctrl & VPA_WQ_CTRL_ENABLE))
			return 0;
		if (vc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(200);
	}
}

/* Put the adapter back to a known setup: reset, window 0, queue 0. */
static int restart(struct vc *c)
{
	if (ioctl(c->dev, VFIO_DEVICE_RESET))
		return -errno;
	return vc_wq_setup(c, 0, RING);
}

/* The adapter still does its job: a MEMMOVE with a known result. */
static int known_good(struct vc *c)
{
	uint8_t *src = c->mem + VC_DATA_OFF, *dst = src + 0x100000;
	struct vpa_completion cr;
	struct vpa_desc d;
	uint32_t i;
	int ret;

	ret = restart(c);
	if (ret)
		return ret;
	for (i = 0; i < 0x12345; i++)
		src[i] = i * 7 + 3;
	memset(dst, 0, 0x12345 + 1);
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 0x12345;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = vc_iova(VC_DATA_OFF + 0x100000);
	ret = vc_run(c, &d, &cr);
	if (ret)
		return ret;
	if (cr.status != VPA_CS_SUCCESS || cr.bytes_done != 0x12345 ||
	    memcmp(src, dst, 0x12345) || dst[0x12345])
		return -EIO;
	return 0;
}

/* The ring rewriter: random bytes into the entries the engine reads. */
struct rewriter {
	struct vc *c;
	bool stop;		/* atomic */
	unsigned long writes;
};

static void *rewrite_thread(void *arg)
{
	struct rewriter *w = arg;
	struct vpa_desc *ring = (struct vpa_desc *)(w->c->mem + VC_RING_OFF);
	struct rng r;
	uint32_t head, slot;

	rng_init(&r, 2);
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		/* the entries just before our tail: the engine is on them */
		head = __atomic_load_n(&w->c->tail, __ATOMIC_RELAXED);
		slot = (head - below(&r, 4)) & (RING - 1);
		switch (below(&r, 4)) {
		case 0:		/* one field of it */
			__atomic_store_n((uint64_t *)&ring[slot] +
					 below(&r, 8), rnd(&r),
					 __ATOMIC_RELAXED);
			break;
		case 1:		/* its size, to something huge */
			ring[slot].size = below(&r, 2) ? ~0u : VPA_MAX_XFER;
			break;
		case 2:		/* its destination to all ones */
			ring[slot].dst = ~0ULL;
			break;
		default:	/* flip its opcode */
			ring[slot].opcode = below(&r, VPA_OP_MAX + 2);
			break;
		}
		w->writes++;
		if (!below(&r, 64))
			usleep(10);
	}
	return NULL;
}

FIXTURE(fuzz) {
	struct vc c;
	char uuid[40];
	int nwin;
	uint8_t *cpl;
};

FIXTURE_SETUP(fuzz)
{
	ASSERT_EQ(0, vc_create("large", self->uuid));
	ASSERT_EQ(0, vc_open(&self->c, self->uuid));
	ASSERT_EQ(0, vc_wq_setup(&self->c, 0, RING));
	self->nwin = vc_reg(&self->c, VPA_REG_NR_WINS);
	ASSERT_LE(2, self->nwin);
	self->cpl = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->cpl);
	ASSERT_EQ(0, vc_map(&self->c, self->cpl, CPL_IOVA, 4096, true));
}

FIXTURE_TEARDOWN(fuzz)
{
	vc_close(&self->c);
	munmap(self->cpl, 4096);
	EXPECT_EQ(0, vc_remove(self->uuid));
}

TEST_F(fuzz, descriptors)
{
	struct vc *c = &self->c;
	struct rewriter w = { .c = c };
	struct vpa_desc d[RING];
	unsigned int i, n, k, slot, total = DESCS * scale;
	unsigned int done = 0, bad_status = 0, stopped = 0, restarts = 0;
	unsigned int rung = 0;
	struct vpa_completion *cr;
	struct rng r;
	pthread_t th;

	rng_init(&r, 1);
	fuzz_windows(&r, c, self->nwin);
	ASSERT_EQ(0, pthread_create(&th, NULL, rewrite_thread, &w));
	while (done < total) {
		n = 1 + below(&r, below(&r, 4) ? 8 : RING - 1);
		slot = c->tail;
		memset(self->cpl, 0, RING * 32);
		for (i = 0; i < n; i++)
			fuzz_desc(&r, &d[i], (slot + i) % RING);
		ASSERT_EQ(0, vc_submit(c, d, n)) {
			TH_LOG("doorbell refused after %u descriptors", done);
		}
		/* sometimes random doorbell values on top */
		if (!below(&r, 8)) {
			uint32_t off, val;

			k = below(&r, 3);
			off = k ? below(&r, VPA_BAR2_SIZE) & ~3u : 0;
			val = k == 2 ? rnd(&r) : below(&r, RING + 2);
			/* taken: the engine runs up to that tail now */
			if (!vc_wr(c, 2, off, val) && !off)
				c->tail = val;
			rung++;
		}
		ASSERT_EQ(0, wait_idle(c, 20000)) {
			TH_LOG("engine stuck after %u descriptors", done);
		}
		for (i = 0; i < RING; i++) {
			cr = (struct vpa_completion *)(self->cpl + i * 32);
			if (cr->status && (!status_valid(cr->status) ||
					   cr->bytes_done > VPA_MAX_XFER)) {
				bad_status++;
				TH_LOG("completion %u: status %#x bytes_done %u",
				       i, cr->status, cr->bytes_done);
			}
		}
		done += n;
		/* a stopped queue (ring fault) or a random doorbell: again */
		if (!(vc_reg(c, VPA_REG_WQ(0) + VPA_WQ_CTRL) &
		      VPA_WQ_CTRL_ENABLE) ||
		    vc_reg(c, VPA_REG_WQ(0) + VPA_WQ_HEAD) != c->tail) {
			stopped++;
			ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_CTRL, 0));
			ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_CTRL,
					   VPA_WQ_CTRL_ENABLE));
			c->tail = 0;
		}
		vc_wr(c, 0, VPA_REG_ERR, 1);
		if (!below(&r, 16)) {
			fuzz_windows(&r, c, self->nwin);
			if (!below(&r, 4)) {
				ASSERT_EQ(0, restart(c));
				restarts++;
			}
		}
	}
	__atomic_store_n(&w.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	TH_LOG("%u descriptors, %u doorbells, %u stops, %u restarts, %lu rewrites",
	       done, rung, stopped, restarts, w.writes);
	TH_LOG("audit: completed %ld bad %ld window %ld unmapped %ld",
	       vc_audit(self->uuid, "completed"),
	       vc_audit(self->uuid, "bad_descriptor"),
	       vc_audit(self->uuid, "dma_window"),
	       vc_audit(self->uuid, "dma_unmapped"));
	EXPECT_EQ(0, bad_status);
	EXPECT_EQ(0, known_good(c));
}

/* Keeps the engine busy with valid work while registers are fuzzed. */
struct busy {
	struct vc *c;
	bool stop;		/* atomic */
	unsigned long rounds;
};

static void *busy_thread(void *arg)
{
	struct busy *b = arg;
	struct vpa_desc d[8];
	int i;

	memset(d, 0, sizeof(d));
	for (i = 0; i < 8; i++) {
		d[i].opcode = 1 + i % VPA_OP_MAX;
		d[i].flags = VPA_DESC_F_COMPL | VPA_DESC_F_IRQ;
		d[i].size = 0x10000;
		d[i].src = vc_iova(VC_DATA_OFF);
		d[i].dst = vc_iova(VC_DATA_OFF + 0x100000);
		d[i].completion = vc_iova(VC_COMPL_OFF + 0x800 + i * 32);
	}
	while (!__atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
		/* the queue may be reset under us: errors are expected */
		b->c->tail &= RING - 1;
		vc_submit(b->c, d, 8);
		usleep(500);
		b->rounds++;
	}
	return NULL;
}

/* One read or write of @len bytes at @off of region @idx. */
static void reg_access(struct vc *c, int idx, uint64_t off, int len,
		       bool write, uint64_t val)
{
	uint64_t pos = c->reg_off[idx] + off;
	uint8_t buf[8];

	if (write) {
		memcpy(buf, &val, 8);
		if (pwrite(c->dev, buf, len, pos) < 0)
			return;
	} else {
		if (pread(c->dev, buf, len, pos) < 0)
			return;
	}
}

static void fuzz_irqs(struct rng *r, struct vc *c, int *efd, int nefd)
{
	char buf[sizeof(struct vfio_irq_set) + 40 * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	static const uint32_t idx[] = {
		VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
		VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX,
		VFIO_PCI_REQ_IRQ_INDEX, 7, 0xffffffff,
	};
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	int32_t *fds = (int32_t *)set->data;
	uint32_t i, count;

	ii.index = idx[below(r, 7)];
	ioctl(c->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii);

	memset(buf, 0, sizeof(buf));
	set->argsz = below(r, 8) ? sizeof(buf) : rnd(r);
	if (below(r, 2)) {
		/* a setup a VMM would make: MSI-X vectors or the MSI one */
		set->index = below(r, 3) ? VFIO_PCI_MSIX_IRQ_INDEX :
			     VFIO_PCI_MSI_IRQ_INDEX;
		set->start = set->index == VFIO_PCI_MSI_IRQ_INDEX ? 0 :
			     below(r, 8);
		count = set->index == VFIO_PCI_MSI_IRQ_INDEX ? 1 :
			1 + below(r, 8 - set->start);
	} else {
		set->index = idx[below(r, 7)];
		set->start = below(r, 4) ? below(r, 10) : rnd(r);
		count = below(r, 4) ? below(r, 10) : rnd(r);
	}
	set->count = count;
	switch (below(r, 5)) {
	case 0:
		set->flags = VFIO_IRQ_SET_DATA_NONE;
		break;
	case 1:
		set->flags = VFIO_IRQ_SET_DATA_BOOL;
		break;
	case 2:
		set->flags = rnd(r);
		break;
	default:
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD;
		break;
	}
	if (below(r, 8))
		set->flags = (set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
	for (i = 0; i < 40; i++)
		fds[i] = below(r, 4) ? efd[below(r, nefd)] :
			 below(r, 2) ? -1 : (int32_t)rnd(r);
	ioctl(c->dev, VFIO_DEVICE_SET_IRQS, set);
}

TEST_F(fuzz, registers_and_interrupts)
{
	static const int regions[] = {
		VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR2_REGION_INDEX,
		VFIO_PCI_BAR4_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
	};
	static const uint64_t rsize[] = {
		VPA_BAR0_SIZE, VPA_BAR2_SIZE, VPA_BAR4_SIZE, 256,
	};
	struct vc *c = &self->c;
	struct busy b = { .c = c };
	unsigned int i, ops = REG_OPS * scale, resets = 0;
	uint64_t off, val, drained = 0, cnt;
	int efd[6], w, k, len;
	struct rng r;
	pthread_t th;
	void *m;

	rng_init(&r, 3);
	for (k = 0; k < 6; k++) {
		efd[k] = eventfd(0, EFD_NONBLOCK);
		ASSERT_LE(0, efd[k]);
	}
	ASSERT_EQ(0, pthread_create(&th, NULL, busy_thread, &b));

	/* every offset of every region read at every width, and beyond */
	for (k = 0; k < 4; k++)
		for (off = 0; off < rsize[k] + 8; off += k == 1 ? 4 : 1)
			for (w = 1; w <= 8; w *= 2)
				reg_access(c, regions[k], off, w, false, 0);
	/* every config-space offset written at every width */
	for (off = 0; off < 256 + 4; off++)
		for (w = 1; w <= 4; w *= 2)
			reg_access(c, VFIO_PCI_CONFIG_REGION_INDEX, off, w,
				   true, rnd(&r));
	/* every BAR0 register written with a random value */
	for (off = 0; off < VPA_BAR0_SIZE; off += 4) {
		val = below(&r, 2) ? rnd(&r) : below(&r, 4);
		if (off == VPA_REG_CTRL && (val & VPA_CTRL_RESET))
			resets++;
		reg_access(c, VFIO_PCI_BAR0_REGION_INDEX, off, 4, true, val);
	}
	ASSERT_EQ(0, restart(c));

	for (i = 0; i < ops; i++) {
		switch (below(&r, 16)) {
		case 0:
			fuzz_irqs(&r, c, efd, 6);
			break;
		case 1:		/* unaligned, odd widths, other regions */
			reg_access(c, below(&r, VFIO_PCI_NUM_REGIONS + 2),
				   below(&r, 2) ? below(&r, 0x10000) : rnd(&r),
				   1 + below(&r, 8), below(&r, 2), rnd(&r));
			break;
		case 2:		/* doorbells */
			reg_access(c, VFIO_PCI_BAR2_REGION_INDEX,
				   below(&r, VPA_BAR2_SIZE + 8) & ~3u, 4, true,
				   below(&r, 2) ? below(&r, RING + 2) : rnd(&r));
			break;
		case 3:		/* config space */
			len = 1 << below(&r, 3);
			reg_access(c, VFIO_PCI_CONFIG_REGION_INDEX,
				   below(&r, 260) & ~(len - 1), len,
				   below(&r, 2), rnd(&r));
			break;
		case 4:		/* resets, now and then */
			if (!below(&r, 16)) {
				ASSERT_EQ(0, restart(c));
				resets++;
			}
			break;
		case 5:		/* the status page mapped, read, unmapped */
			m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, c->dev,
				 c->reg_off[VFIO_PCI_BAR4_REGION_INDEX]);
			if (m != MAP_FAILED) {
				val = __atomic_load_n((uint32_t *)m,
						      __ATOMIC_RELAXED);
				munmap(m, 4096);
			}
			break;
		default:	/* BAR0 registers: mostly those that exist */
			off = below(&r, 4) ? below(&r, 0x800) & ~3u :
				  below(&r, VPA_BAR0_SIZE) & ~3u;
			val = below(&r, 3) ? below(&r, 70) : rnd(&r);
			if (off == VPA_REG_CTRL && (val & VPA_CTRL_RESET))
				resets++;
			reg_access(c, VFIO_PCI_BAR0_REGION_INDEX, off, 4,
				   below(&r, 2), val);
			break;
		}
		/* our queue back when it was changed, mostly */
		if (!below(&r, 64))
			vc_wq_setup(c, 0, RING);
	}
	__atomic_store_n(&b.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	for (k = 0; k < 6; k++) {
		if (read(efd[k], &cnt, 8) == 8)
			drained += cnt;
		close(efd[k]);
	}
	TH_LOG("%u operations, %u resets, %lu busy rounds, %llu interrupts",
	       ops, resets, b.rounds, (unsigned long long)drained);
	TH_LOG("audit: bad_mmio %ld config_readonly %ld",
	       vc_audit(self->uuid, "bad_mmio"),
	       vc_audit(self->uuid, "config_readonly"));
	/* interrupts off again, then the known-good copy */
	{
		struct vfio_irq_set off_set = {
			.argsz = sizeof(off_set),
			.flags = VFIO_IRQ_SET_DATA_NONE |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSIX_IRQ_INDEX,
		};

		ioctl(c->dev, VFIO_DEVICE_SET_IRQS, &off_set);
		off_set.index = VFIO_PCI_MSI_IRQ_INDEX;
		ioctl(c->dev, VFIO_DEVICE_SET_IRQS, &off_set);
	}
	EXPECT_EQ(0, known_good(c));
}

TEST_HARNESS_MAIN
