// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the host paging protocol: two paging services on one backing store
 * answer the pool with random completions - right ones, wrong, unknown
 * and repeated ids, random results, bad data (crc), torn and bad writes,
 * reserved fields and flags set, completions sent late after a failover -
 * scribble on the shared ring, and call every ioctl of the pager fd (and
 * mmap and poll) with random and boundary arguments, while a thread reads
 * and writes the partition and page-outs are forced; now and then random
 * writes turn the pool's debugfs phase timers (pager_timing) on and off. Services that fail
 * over or stop are replaced.
 *
 * Afterwards the pool must still work with a well-behaved service, which
 * takes over a backlog of page-outs and is slow with it (paused while the
 * partition is punched and written anew): pages written, paged out and
 * in, verified, no backing block left in use once the files are gone, and
 * a kernel log free of warnings.
 *
 * Bounded by PAGER_FUZZ_COUNT steps (default 4000); the seed is printed,
 * and PAGER_FUZZ_SEED=<seed> replays a run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define PARAM_TIMEOUT	"/sys/module/kvmshare/parameters/pager_timeout_ms"
#define PAGES		256
#define BLOCKS		1024
#define MAXPEND		512

struct svc {
	struct ks_pager p;
	struct kvmshare_pager_req pend[MAXPEND];
	int npend;
	uint64_t done[16];		/* ids completed, for repeats */
	unsigned int ndone;
	int dead_for;			/* steps since it failed or stopped */
};

struct fuzz {
	char dir[64];
	char name[32];
	char path[96];
	int fd;
	int store;
	unsigned int seed;
	struct svc s[2];
	pthread_t reader;
	int stop;
	uint64_t stats[16];
};

/* A deterministic generator: the same seed replays the same run. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A value near a boundary, or random. */
static uint64_t rnd_edge(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 4095, 4096, 0x7fffffff, 0x80000000ULL, 0xffffffffULL,
		0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
		~0ULL, ~0ULL - 1,
	};

	if (rnd_below(3))
		return edge[rnd_below(ARRAY_SIZE(edge))];
	return rnd();
}

static int attach(struct fuzz *f, struct svc *s, uint32_t flags)
{
	memset(s, 0, sizeof(*s));
	return ks_pager_attach(&s->p, f->dir, BLOCKS, 64, 16, flags,
			       f->store);
}

static void detach(struct svc *s)
{
	ks_pager_detach(&s->p);
}

/* The partition's user: reads and writes random pages. */
static void *reader(void *arg)
{
	struct fuzz *f = arg;
	unsigned int seed = f->seed;
	uint64_t v;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		uint64_t i = rand_r(&seed) % PAGES;

		if (rand_r(&seed) % 4)
			pread(f->fd, &v, 8, i * KS_PAGE);
		else
			pwrite(f->fd, &i, 8, i * KS_PAGE + 64);
	}
	return NULL;
}

static void complete(struct svc *s, const struct kvmshare_pager_cqe *c)
{
	if (write(s->p.fd, c, sizeof(*c)) == sizeof(*c) && !c->result)
		s->done[s->ndone++ % 16] = c->id;
}

/* Do @req on the backing store, as a service should. */
static int32_t serve(struct fuzz *f, struct svc *s,
		     const struct kvmshare_pager_req *req)
{
	uint8_t *slot;

	if (req->slot >= 16 || req->block >= BLOCKS)
		return req->op == KVMSHARE_PAGER_OP_DISCARD ? 0 : -EIO;
	slot = s->p.slots + (size_t)req->slot * KS_PAGE;
	if (req->op == KVMSHARE_PAGER_OP_PAGE_OUT &&
	    pwrite(f->store, slot, KS_PAGE, req->block * KS_PAGE) != KS_PAGE)
		return -EIO;
	if (req->op == KVMSHARE_PAGER_OP_PAGE_IN &&
	    pread(f->store, slot, KS_PAGE, req->block * KS_PAGE) != KS_PAGE)
		return -EIO;
	return 0;
}

/* Answer one pending request of @s, in one of many ways. */
static void answer(struct fuzz *f, struct svc *s, struct svc *other)
{
	struct kvmshare_pager_cqe c = { 0 };
	struct kvmshare_pager_req req;
	int k, keep = 0;

	if (!s->npend)
		return;
	k = rnd_below(s->npend);
	req = s->pend[k];
	c.id = req.id;
	switch (rnd_below(12)) {
	case 0: case 1: case 2: case 3: case 4:	/* right */
		c.result = serve(f, s, &req);
		break;
	case 5:					/* a random error */
		c.result = -(int32_t)(1 + rnd_below(4095));
		break;
	case 6:					/* out of range: refused */
		c.result = rnd_below(2) ? (int32_t)(1 + rnd_below(1000)) :
			   -4096 - (int32_t)rnd_below(100000);
		keep = 1;
		break;
	case 7:					/* bad data */
		c.result = serve(f, s, &req);
		if (req.slot < 16)
			s->p.slots[(size_t)req.slot * KS_PAGE +
				   rnd_below(KS_PAGE)] ^= 1 + rnd_below(255);
		break;
	case 8:					/* reserved, flags */
		if (rnd_below(2))
			c.flags = 1U << rnd_below(32);
		else
			c.reserved[rnd_below(2)] = rnd() | 1;
		keep = 1;
		break;
	case 9:					/* wrong id */
		c.id = req.id ^ (1ULL << rnd_below(64));
		keep = 1;
		break;
	case 10:				/* the other's, or repeated */
		if (other->npend && rnd_below(2))
			c.id = other->pend[rnd_below(other->npend)].id;
		else if (s->ndone)
			c.id = s->done[rnd_below(s->ndone < 16 ? s->ndone :
						 16)];
		else
			c.id = rnd_edge();
		keep = 1;
		break;
	default:				/* later */
		return;
	}
	complete(s, &c);
	f->stats[0]++;
	if (!keep)
		s->pend[k] = s->pend[--s->npend];
}

/* Bad writes: torn, empty, from bad memory, many entries at once. */
static void bad_write(struct svc *s)
{
	struct kvmshare_pager_cqe c[8];
	unsigned int i;

	memset(c, 0, sizeof(c));
	for (i = 0; i < 8; i++)
		c[i].id = rnd_edge();
	switch (rnd_below(5)) {
	case 0:
		write(s->p.fd, c, 1 + rnd_below(sizeof(c) - 1));
		break;
	case 1:
		write(s->p.fd, c, 0);
		break;
	case 2:
		write(s->p.fd, (void *)(uintptr_t)rnd_edge(), 32 * (1 +
		      rnd_below(4)));
		break;
	case 3:
		/* The second entry is on an unmapped page. */
		{
			uint8_t *m = mmap(NULL, 2 * KS_PAGE,
					  PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (m == MAP_FAILED)
				break;
			munmap(m + KS_PAGE, KS_PAGE);
			memcpy(m + KS_PAGE - 32, c, 32);
			write(s->p.fd, m + KS_PAGE - 32, 64);
			munmap(m, KS_PAGE);
		}
		break;
	default:
		write(s->p.fd, c, sizeof(c));
		break;
	}
}

/* Every ioctl of the pager fd, and others, with odd arguments. */
static void bad_ioctl(struct svc *s)
{
	static const unsigned long cmds[] = {
		KVMSHARE_PAGER_IOC_INFO, KVMSHARE_PAGER_IOC_STOP,
		KVMSHARE_IOC_PAGER_ATTACH, KVMSHARE_IOC_PAGER_STOP,
	};
	struct kvmshare_pager_info info;
	unsigned long cmd, arg;

	switch (rnd_below(4)) {
	case 0:
		cmd = cmds[rnd_below(4)];
		break;
	case 1:		/* the right number, other direction or size */
		cmd = _IOC(rnd_below(4), KVMSHARE_IOC_MAGIC, 0x10 +
			   rnd_below(4), rnd_below(1 << 14));
		break;
	default:
		cmd = (unsigned long)rnd_edge();
		break;
	}
	/* A stop is rare: it ends the service. */
	if (cmd == KVMSHARE_PAGER_IOC_STOP && rnd_below(8))
		cmd = KVMSHARE_PAGER_IOC_INFO;
	switch (rnd_below(4)) {
	case 0:
		arg = (unsigned long)&info;
		break;
	case 1:
		arg = 0;
		break;
	case 2:		/* read-only memory */
		arg = (unsigned long)"";
		break;
	default:
		arg = (unsigned long)rnd_edge();
		break;
	}
	ioctl(s->p.fd, cmd, arg);
}

/* mmap with odd offsets and sizes, poll, and a scribbled ring. */
static void bad_map(struct svc *s)
{
	struct pollfd pfd = { .fd = s->p.fd, .events = POLLIN | POLLOUT };
	size_t len = KS_PAGE * (1 + rnd_below(64));
	void *m;

	switch (rnd_below(3)) {
	case 0:
		/* Unmapped whole: a mapping left would hold the service. */
		m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 rnd_below(2) ? MAP_SHARED : MAP_PRIVATE, s->p.fd,
			 KS_PAGE * rnd_below(128));
		if (m != MAP_FAILED)
			munmap(m, len);
		break;
	case 1:
		poll(&pfd, 1, 0);
		break;
	default:
		s->p.ring->sq_head = (uint32_t)rnd_edge();
		if (rnd_below(4) == 0)
			s->p.ring->sq_tail = (uint32_t)rnd();
		break;
	}
}

/*
 * Random writes to the pool's debugfs pager_timing (the phase timers'
 * knob): booleans in their spellings, numbers, words, bytes, empty and
 * long; then a read of the whole file. Returns the file's "enabled", -1.
 */
static long long fuzz_timing(struct fuzz *f)
{
	static const char * const vals[] = {
		"1", "0", "y", "N\n", "on", "off", "oN", "2", "-1", "",
		"yes please", "\n",
	};
	char path[160], buf[512];
	size_t len = 0;
	unsigned int i;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/pager_timing",
		 f->name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		switch (rnd_below(3)) {
		case 0:
			len = (size_t)snprintf(buf, sizeof(buf), "%s",
					       vals[rnd_below(ARRAY_SIZE(vals))]);
			break;
		case 1:
			len = rnd_below(sizeof(buf));
			for (i = 0; i < len; i++)
				buf[i] = (char)rnd();
			break;
		default:
			len = (size_t)snprintf(buf, sizeof(buf), "%llu",
					       (unsigned long long)rnd_edge());
			break;
		}
		if (write(fd, buf, len) < 0 && errno == EFAULT)
			fprintf(stderr, "# %s: EFAULT\n", path);
		close(fd);
	}
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	return ks_file_num(path, "enabled ");
}

static uint32_t state_of(struct svc *s)
{
	struct kvmshare_pager_info info;

	if (ioctl(s->p.fd, KVMSHARE_PAGER_IOC_INFO, &info))
		return 0;
	return info.state;
}

/* Take what the ring has (our own head: the scribbles do not count). */
static void drain(struct svc *s, uint32_t *head)
{
	uint32_t tail = __atomic_load_n(&s->p.ring->sq_tail,
					__ATOMIC_ACQUIRE);

	while (*head != tail && s->npend < MAXPEND) {
		s->pend[s->npend++] = s->p.sq[*head & 63];
		(*head)++;
	}
	s->p.ring->sq_head = *head;
}

/* Page-ins under way (lines of debugfs restores), or -1. */
static int pageins_under_way(struct fuzz *f)
{
	char path[160], buf[8192];
	int fd, n, lines = 0;
	char *p;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/restores",
		 f->name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines - 1;	/* the header */
}

/*
 * Whether the pool has a request under way: queued, in flight at the
 * service @p (the only one left) or a page-in not ended.
 */
static int busy(struct fuzz *f, struct ks_pager *p)
{
	struct kvmshare_pool_info pinfo;
	struct kvmshare_pager_info info;

	if (ks_pool_info(f->dir, &pinfo) || pinfo.pending_requests)
		return 1;
	if (ioctl(p->fd, KVMSHARE_PAGER_IOC_INFO, &info) || info.inflight)
		return 1;
	return pageins_under_way(f) != 0;
}

/* What the pool still has under way (for a failure's log). */
static void dump(struct fuzz *f)
{
	struct kvmshare_pool_info info;
	struct kvmshare_part_stats st;
	char path[160], buf[4096];
	int fd, n;

	if (!ks_pool_info(f->dir, &info))
		printf("# pool: pending %llu blocks_used %llu pagers %llu active %llu\n",
		       (unsigned long long)info.pending_requests,
		       (unsigned long long)info.blocks_used,
		       (unsigned long long)info.nr_pagers,
		       (unsigned long long)info.active_pager);
	if (f->fd >= 0 && !ks_part_stats(f->fd, &st))
		printf("# part: resident %llu out %llu zero %llu pinned_skips %llu\n",
		       (unsigned long long)st.resident_pages,
		       (unsigned long long)st.paged_out_pages,
		       (unsigned long long)st.zero_pages,
		       (unsigned long long)st.pinned_skips);
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/restores",
		 f->name);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	printf("# restores:\n%s", buf);
	fflush(stdout);
}

FIXTURE(fuzz) {
	struct fuzz f;
	char old_timeout[16];
	int klog;
};

FIXTURE_SETUP(fuzz)
{
	char opts[128];
	const char *env = getenv("PAGER_FUZZ_SEED");
	int pfd;

	memset(&self->f, 0, sizeof(self->f));
	self->f.seed = env ? strtoul(env, NULL, 0) :
		       (unsigned int)(time(NULL) ^ getpid());
	printf("# PAGER_FUZZ_SEED=%u\n", self->f.seed);
	fflush(stdout);
	rnd_state = self->f.seed * 0x9e3779b97f4a7c15ULL + 1;
	strcpy(self->old_timeout, "10000");
	pfd = open(PARAM_TIMEOUT, O_RDONLY);
	if (pfd >= 0) {
		int n = read(pfd, self->old_timeout,
			     sizeof(self->old_timeout) - 1);

		self->old_timeout[n > 0 ? strcspn(self->old_timeout, "\n") :
				  5] = 0;
		close(pfd);
	}
	self->klog = ks_klog_bad();
	snprintf(self->f.name, sizeof(self->f.name), "ksfz%d", getpid());
	snprintf(opts, sizeof(opts), "size=8M,name=%s", self->f.name);
	ASSERT_EQ(0, ks_pool_mount(self->f.dir, sizeof(self->f.dir), opts));
	snprintf(self->f.path, sizeof(self->f.path), "%s/vm", self->f.dir);
	self->f.fd = -1;
	self->f.store = memfd_create("ks-fuzz", 0);
	ASSERT_GE(self->f.store, 0);
	ASSERT_EQ(0, ftruncate(self->f.store, BLOCKS * KS_PAGE));
}

FIXTURE_TEARDOWN(fuzz)
{
	ks_write_file(PARAM_TIMEOUT, self->old_timeout);
	if (self->f.fd >= 0)
		close(self->f.fd);
	unlink(self->f.path);
	detach(&self->f.s[0]);
	detach(&self->f.s[1]);
	EXPECT_EQ(0, ks_pool_umount(self->f.dir));
	close(self->f.store);
	usleep(100000);
	EXPECT_EQ(self->klog, ks_klog_bad());
}

TEST_F_TIMEOUT(fuzz, protocol, 300)
{
	struct fuzz *f = &self->f;
	const char *env = getenv("PAGER_FUZZ_COUNT");
	long count = env ? strtol(env, NULL, 0) : 4000, step;
	struct kvmshare_part_stats st, st0;
	struct ks_pager good;
	uint32_t head[2] = { 0, 0 };
	uint64_t i, v;
	char tpath[160];
	int k, ret;

	ASSERT_EQ(0, ks_write_file(PARAM_TIMEOUT, "300"));
	ASSERT_EQ(0, attach(f, &f->s[0], 0));
	ASSERT_EQ(0, attach(f, &f->s[1], KVMSHARE_PAGER_F_STANDBY));
	f->fd = ks_part_create(f->dir, "vm", PAGES * KS_PAGE);
	ASSERT_GE(f->fd, 0);
	for (i = 0; i < PAGES; i++)
		pwrite(f->fd, &i, 8, i * KS_PAGE);
	ASSERT_EQ(0, pthread_create(&f->reader, NULL, reader, f));

	for (step = 0; step < count; step++) {
		struct svc *s;

		k = rnd_below(2);
		s = &f->s[k];
		/* A failed or stopped service answers late, then goes. */
		if (s->p.fd > 0) {
			uint32_t st_ = state_of(s);

			if (st_ == KVMSHARE_PAGER_STATE_FAILED ||
			    st_ == KVMSHARE_PAGER_STATE_STOPPED)
				s->dead_for++;
		}
		if (s->p.fd <= 0 || s->dead_for > 20) {
			detach(s);
			head[k] = 0;
			ret = attach(f, s, rnd_below(2) ?
				     KVMSHARE_PAGER_F_STANDBY : 0);
			ASSERT_EQ(0, ret);
			f->stats[1]++;
			continue;
		}
		switch (rnd_below(20)) {
		case 0: case 1:
			i = rnd_below(PAGES);
			posix_fadvise(f->fd, i * KS_PAGE,
				      (1 + rnd_below(32)) * KS_PAGE,
				      POSIX_FADV_DONTNEED);
			break;
		case 2: case 3: case 4: case 5:
			drain(s, &head[k]);
			break;
		case 6: case 7: case 8: case 9: case 10: case 11:
		case 12: case 13:
			answer(f, s, &f->s[!k]);
			break;
		case 14:
			bad_write(s);
			break;
		case 15: case 16:
			bad_ioctl(s);
			break;
		case 17:
			bad_map(s);
			break;
		case 18:
			usleep(rnd_below(20000));
			/* Now and then the phase timers' knob, while paging. */
			if (!rnd_below(4))
				fuzz_timing(f);
			break;
		default:
			/* Forget a request: the deadline fails it over. */
			if (s->npend) {
				int j = rnd_below(s->npend);

				s->pend[j] = s->pend[--s->npend];
			}
			break;
		}
	}
	TH_LOG("%ld steps: %llu completions sent, %llu services replaced",
	       count, (unsigned long long)f->stats[0],
	       (unsigned long long)f->stats[1]);

	/* The knob still takes a boolean, and only one. */
	snprintf(tpath, sizeof(tpath), "/sys/kernel/debug/kvmshare/%s/pager_timing",
		 f->name);
	if (!access(tpath, F_OK)) {
		EXPECT_EQ(0, ks_write_file(tpath, "1"));
		EXPECT_EQ(1, ks_file_num(tpath, "enabled "));
		EXPECT_EQ(-EINVAL, ks_write_file(tpath, "x"));
		EXPECT_EQ(0, ks_write_file(tpath, "0"));
		EXPECT_EQ(0, ks_file_num(tpath, "enabled "));
	}

	/*
	 * End with the whole partition's page-outs queued or in flight at
	 * the fuzzing services: the service that takes over gets them all.
	 */
	posix_fadvise(f->fd, 0, PAGES * KS_PAGE, POSIX_FADV_DONTNEED);

	/* A well-behaved service takes over; the pool must work. */
	ASSERT_EQ(0, ks_write_file(PARAM_TIMEOUT, self->old_timeout));
	ASSERT_EQ(0, ks_pager_attach(&good, f->dir, BLOCKS, 64, 16, 0,
				     f->store));
	ASSERT_EQ(0, ks_pager_run(&good));
	detach(&f->s[0]);
	detach(&f->s[1]);
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->reader, NULL);

	/* Page-ins still under way hold their pages (charged) until done. */
	for (k = 0; k < 100 && pageins_under_way(f) > 0; k++)
		usleep(100000);
	/*
	 * The service is slow to get through a backlog: paused, it gets
	 * the page-outs of the whole partition, still under way while the
	 * partition is punched and written anew below (as in a failed run,
	 * where the backlog reissued at the takeover was).
	 */
	ks_pager_stop(&good);
	posix_fadvise(f->fd, 0, PAGES * KS_PAGE, POSIX_FADV_DONTNEED);

	/* Lost pages (bad data) are forgotten with the rest. */
	ASSERT_EQ(0, fallocate(f->fd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, 0, PAGES * KS_PAGE));
	st0 = (struct kvmshare_part_stats){ 0 };
	ASSERT_EQ(0, ks_part_stats(f->fd, &st0));
	EXPECT_EQ(0, st0.resident_pages + st0.paged_out_pages +
		  st0.zero_pages);
	if (st0.resident_pages + st0.paged_out_pages + st0.zero_pages)
		dump(f);
	for (i = 0; i < PAGES; i++) {
		v = i * 7 + 1;
		ASSERT_EQ(8, pwrite(f->fd, &v, 8, i * KS_PAGE + 8));
	}
	ASSERT_EQ(0, ks_pager_run(&good));
	/*
	 * A page with a request still under way (of the backlog, for the
	 * page it held before the punch) is not paged out until that ends:
	 * wait for the service to be through with it.
	 */
	for (k = 0; k < 100 && busy(f, &good); k++)
		usleep(100000);
	EXPECT_EQ(0, busy(f, &good));
	/*
	 * fadvise pages out what it can at once and skips pages busy at
	 * that moment (locked, under I/O): ask again, as a VMM would, for
	 * what is still in memory.
	 */
	for (k = 0; k < 100; k++) {
		ASSERT_EQ(0, posix_fadvise(f->fd, 0, PAGES * KS_PAGE,
					   POSIX_FADV_DONTNEED));
		usleep(100000);
		ASSERT_EQ(0, ks_part_stats(f->fd, &st));
		if (st.paged_out_pages == PAGES)
			break;
	}
	EXPECT_EQ(PAGES, st.paged_out_pages);
	if (st.paged_out_pages != PAGES)
		dump(f);
	for (i = 0; i < PAGES; i++) {
		v = 0;
		ASSERT_EQ(8, pread(f->fd, &v, 8, i * KS_PAGE + 8));
		ASSERT_EQ(i * 7 + 1, v);
	}
	ASSERT_EQ(0, ks_part_stats(f->fd, &st));
	EXPECT_EQ(st0.pagein_errors, st.pagein_errors);
	/* No block stays taken once the file is gone. */
	close(f->fd);
	f->fd = -1;
	ASSERT_EQ(0, unlink(f->path));
	for (k = 0; k < 50; k++) {
		if (ks_sysfs_num("%s/blocks_used", f->name) == 0)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, ks_sysfs_num("%s/blocks_used", f->name));
	ks_pager_detach(&good);
}

TEST_HARNESS_MAIN
