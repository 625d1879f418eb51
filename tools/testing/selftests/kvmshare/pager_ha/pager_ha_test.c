// SPDX-License-Identifier: GPL-2.0
/*
 * Paging resilience, with in-test paging services (lib/kspager.c) sharing
 * one backing store: a standby takes over from a primary that stops
 * answering, reports an error, returns data that fails its checksum or
 * goes away, with no page lost; a service that failed rejoins as standby;
 * with no standby, an unanswered page-in
 * is a clean error (EIO, SIGBUS) and nothing is lost once the service
 * answers again; a controlled stop is refused while it would strand
 * pages, drains what is in flight (streams suspending, then suspended;
 * partitions deleted meanwhile count as completed) and hands over to a
 * standby; a standby that a primary took over from while it had requests
 * in flight is failed over if it does not answer them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define POOL_MB		16
#define POOL_PAGES	(POOL_MB * 256UL)
#define PAGES		1024UL
#define TIMEOUT_PARAM	"/sys/module/kvmshare/parameters/pager_timeout_ms"

FIXTURE(ha) {
	char dir[64];
	char name[32];
	struct ks_pager a, b;
	int fd;
	uint8_t *map;
};

FIXTURE_SETUP(ha)
{
	char opts[128];

	snprintf(self->name, sizeof(self->name), "ksha%d", getpid());
	snprintf(opts, sizeof(opts), "size=%dM,name=%s", POOL_MB, self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	self->fd = -1;
	self->a.fd = -1;
	self->b.fd = -1;
	/* Deadlines in seconds rather than the default ten. */
	ASSERT_EQ(0, ks_write_file(TIMEOUT_PARAM, "1000"));
}

FIXTURE_TEARDOWN(ha)
{
	char path[128];

	if (self->map)
		munmap(self->map, PAGES * KS_PAGE);
	if (self->fd >= 0) {
		close(self->fd);
		snprintf(path, sizeof(path), "%s/vm", self->dir);
		unlink(path);
	}
	/* Serve what is left (DISCARDs), then leave. */
	if (self->b.fd >= 0 && !self->b.running)
		ks_pager_run(&self->b);
	usleep(300000);
	ks_pager_detach(&self->a);
	ks_pager_detach(&self->b);
	if (self->a.store > 0)
		close(self->a.store);
	/* (the eviction worker may still hold the deleted file's inode) */
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "%s/used_pages", self->name));
	EXPECT_EQ(0, ks_pool_umount(self->dir));
	ks_write_file(TIMEOUT_PARAM, "10000");
}

/* Whether debugfs kvmshare/<pool>/@file has a line starting with @start. */
static int debugfs_has(struct _test_data_ha *self, const char *file,
		       const char *start)
{
	char path[256], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvmshare/%s/%s",
		 self->name, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, start, strlen(start));
	fclose(f);
	return found;
}

static uint64_t pager_id(struct ks_pager *p)
{
	return p->ring->pager_id;
}

static struct kvmshare_pager_info info(struct ks_pager *p)
{
	struct kvmshare_pager_info i;

	memset(&i, 0, sizeof(i));
	ioctl(p->fd, KVMSHARE_PAGER_IOC_INFO, &i);
	return i;
}

static long long pool_num(struct _test_data_ha *self, const char *what)
{
	return ks_sysfs_num("%s/%s", self->name, what);
}

static int read_stream_state(struct _test_data_ha *self, const char *part,
			     char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/fs/kvmshare/%s/partitions/%s/stream_state", self->name,
		 part);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int set_target(int fd, uint64_t pages)
{
	struct kvmshare_part_attr a = { .flags = KVMSHARE_ATTR_TARGET,
					.target_pages = pages };

	return ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a);
}

/* A partition "vm" of PAGES pages with a pattern, all of it paged out. */
static void make_evicted(struct __test_metadata *_metadata,
			 struct _test_data_ha *self)
{
	uint64_t i;

	self->fd = ks_part_create(self->dir, "vm", PAGES * KS_PAGE);
	ASSERT_GE(self->fd, 0);
	self->map = mmap(NULL, PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (i = 0; i < PAGES; i++)
		((uint64_t *)self->map)[i * 512 + 1] = i * 7 + 1;
	ASSERT_EQ(0, set_target(self->fd, 1));
	ASSERT_EQ(0, ks_wait_resident(self->fd, 1, 30));
	ASSERT_EQ(0, set_target(self->fd, 0));
}

/* Every page reads back its pattern. */
static uint64_t verify(struct _test_data_ha *self)
{
	uint64_t i, bad = 0;

	for (i = 0; i < PAGES; i++)
		if (((uint64_t *)self->map)[i * 512 + 1] != i * 7 + 1)
			bad++;
	return bad;
}

/* A primary (a) and a standby (b) on one store, both serving. */
static void attach_pair(struct __test_metadata *_metadata,
			struct _test_data_ha *self)
{
	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     0, -1));
	ASSERT_EQ(0, ks_pager_attach(&self->b, self->dir, POOL_PAGES, 64, 16,
				     KVMSHARE_PAGER_F_STANDBY, self->a.store));
	ASSERT_EQ(0, ks_pager_run(&self->a));
	ASSERT_EQ(0, ks_pager_run(&self->b));
}

static int pollhup(struct ks_pager *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

TEST_F_TIMEOUT(ha, standby_takes_over_an_unresponsive_primary, 120)
{
	struct kvmshare_pager_info ia, ib;
	struct kvmshare_part_stats st;

	attach_pair(_metadata, self);
	EXPECT_EQ(2, pool_num(self, "pagers"));
	EXPECT_EQ(pager_id(&self->a), pool_num(self, "active_pager"));
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STANDBY, info(&self->b).state);
	make_evicted(_metadata, self);

	/* The primary stops answering: its page-ins go to the standby. */
	ks_pager_stop(&self->a);
	EXPECT_EQ(0, verify(self));
	ia = info(&self->a);
	ib = info(&self->b);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_FAILED, ia.state);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_ACTIVE, ib.state);
	EXPECT_TRUE(pollhup(&self->a));
	EXPECT_EQ(1, pool_num(self, "failovers"));
	EXPECT_GE(pool_num(self, "reissued_requests"), 1);
	EXPECT_EQ(pager_id(&self->b), pool_num(self, "active_pager"));
	EXPECT_GT(self->b.ins, 0);
	EXPECT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(0, st.pagein_errors);
	EXPECT_EQ(0, st.pagein_timeouts);
	TH_LOG("failed over after %llu page-ins by the primary; standby %llu",
	       (unsigned long long)self->a.ins,
	       (unsigned long long)self->b.ins);

	/* The failed service rejoins as standby, on the same store. */
	ks_pager_detach(&self->a);
	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     KVMSHARE_PAGER_F_STANDBY, self->b.store));
	ia = info(&self->a);
	EXPECT_EQ(1, ia.role);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STANDBY, ia.state);
	EXPECT_EQ(2, pool_num(self, "pagers"));
	EXPECT_EQ(pager_id(&self->b), pool_num(self, "active_pager"));
}

/*
 * The primary fails the read of page 77 (@corrupt: answers it with a bit
 * flipped); the standby must serve it instead, nothing lost or wrong.
 */
static void primary_fails_a_read(struct __test_metadata *_metadata,
				 struct _test_data_ha *self, int corrupt)
{
	struct kvmshare_part_stats st;
	struct stat sb;

	attach_pair(_metadata, self);
	make_evicted(_metadata, self);
	ASSERT_EQ(0, fstat(self->fd, &sb));
	/* (its thread sees it at its next request) */
	self->a.fail_part = sb.st_ino;
	self->a.fail_index = 77;
	self->a.fail_corrupt = corrupt;
	__atomic_store_n(&self->a.fail_set, 1, __ATOMIC_RELEASE);

	EXPECT_EQ(0, verify(self));
	EXPECT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(0, st.pagein_errors);
	EXPECT_EQ(1, pool_num(self, "failovers"));
	EXPECT_EQ(KVMSHARE_PAGER_STATE_FAILED, info(&self->a).state);
	EXPECT_EQ(corrupt ? 1 : 0, info(&self->a).bad_checksums);
	EXPECT_EQ(0, info(&self->b).bad_checksums);
	EXPECT_EQ(pager_id(&self->b), pool_num(self, "active_pager"));
}

TEST_F_TIMEOUT(ha, an_error_fails_over_instead_of_losing_the_page, 120)
{
	primary_fails_a_read(_metadata, self, 0);
}

TEST_F_TIMEOUT(ha, a_bad_checksum_fails_over_instead_of_losing_the_page, 120)
{
	primary_fails_a_read(_metadata, self, 1);
}

TEST_F_TIMEOUT(ha, the_standby_takes_over_when_the_primary_goes_away, 120)
{
	attach_pair(_metadata, self);
	make_evicted(_metadata, self);
	ks_pager_detach(&self->a);
	EXPECT_EQ(1, pool_num(self, "failovers"));
	EXPECT_EQ(1, pool_num(self, "pagers"));
	EXPECT_EQ(0, verify(self));
}

static sigjmp_buf bus_jmp;
static int bus_code;
static uint64_t bus_val;	/* memory, not a register, across longjmp */

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	bus_code = si->si_code;
	siglongjmp(bus_jmp, 1);
}

TEST_F_TIMEOUT(ha, no_standby_an_unanswered_pagein_is_a_clean_error, 120)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };
	struct kvmshare_part_stats st;
	char state[32], line[64];
	struct stat sb;
	uint64_t w;
	int i;

	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     0, -1));
	ASSERT_EQ(0, ks_pager_run(&self->a));
	make_evicted(_metadata, self);
	ks_pager_stop(&self->a);

	/* read(): EIO once no service answered within the deadline. */
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, &w, 8, 5 * KS_PAGE + 8));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(pager_id(&self->a), pool_num(self, "stalled_pager"));
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("stalled", state);
	/* The page-in waits in debugfs; the service shows as stalled. */
	ASSERT_EQ(0, fstat(self->fd, &sb));
	snprintf(line, sizeof(line), "%llu 5 ", (unsigned long long)sb.st_ino);
	EXPECT_EQ(1, debugfs_has(self, "restores", line));
	snprintf(line, sizeof(line), "%llu primary active ",
		 (unsigned long long)pager_id(&self->a));
	EXPECT_EQ(1, debugfs_has(self, "pagers", line));

	/* A fault: SIGBUS, not a machine check (the page is not lost). */
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	bus_code = 0;
	bus_val = 0;
	if (!sigsetjmp(bus_jmp, 1))
		bus_val = ((uint64_t *)self->map)[600 * 512 + 1];
	signal(SIGBUS, SIG_DFL);
	EXPECT_EQ(BUS_ADRERR, bus_code);
	EXPECT_EQ(0, bus_val);
	EXPECT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_GE(st.pagein_timeouts, 2);
	EXPECT_EQ(0, st.pagein_errors);

	/* It answers again: nothing was lost. */
	ASSERT_EQ(0, ks_pager_run(&self->a));
	EXPECT_EQ(0, verify(self));
	for (i = 0; i < 40 && pool_num(self, "stalled_pager"); i++)
		usleep(100000);
	EXPECT_EQ(0, pool_num(self, "stalled_pager"));
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("active", state);
}

TEST_F_TIMEOUT(ha, stop_is_refused_while_it_would_strand_pages, 120)
{
	struct kvmshare_pager_stop stop = { 0 };
	struct kvmshare_pager_info ia;
	char state[32];
	int dfd;

	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     0, -1));
	ASSERT_EQ(0, ks_pager_run(&self->a));
	make_evicted(_metadata, self);

	EXPECT_EQ(-1, ioctl(self->a.fd, KVMSHARE_PAGER_IOC_STOP));
	EXPECT_EQ(EBUSY, errno);
	dfd = open(self->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	stop.pager_id = pager_id(&self->a);
	EXPECT_EQ(-1, ioctl(dfd, KVMSHARE_IOC_PAGER_STOP, &stop));
	EXPECT_EQ(EBUSY, errno);
	stop.pager_id = 999;
	EXPECT_EQ(-1, ioctl(dfd, KVMSHARE_IOC_PAGER_STOP, &stop));
	EXPECT_EQ(ESRCH, errno);
	stop.pager_id = pager_id(&self->a);
	stop.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(dfd, KVMSHARE_IOC_PAGER_STOP, &stop));
	EXPECT_EQ(EINVAL, errno);
	stop.reserved[1] = 0;
	EXPECT_EQ(KVMSHARE_PAGER_STATE_ACTIVE, info(&self->a).state);

	/* Once every page is back in, the stop goes through at once. */
	EXPECT_EQ(0, verify(self));
	EXPECT_EQ(0, ioctl(dfd, KVMSHARE_IOC_PAGER_STOP, &stop));
	close(dfd);
	ia = info(&self->a);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STOPPED, ia.state);
	EXPECT_EQ(1, ia.suspended_streams);
	EXPECT_TRUE(pollhup(&self->a));
	EXPECT_EQ(0, pool_num(self, "active_pager"));
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("suspended", state);

	/* A new service: the streams are active again. */
	ks_pager_detach(&self->a);
	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     0, self->a.store));
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("active", state);
}

/*
 * Page-outs in flight when the last service stops: the stream is
 * suspending until they are done, and their pages stay in memory (no
 * service is left to bring them back); a partition deleted meanwhile is a
 * completed stream.
 */
TEST_F_TIMEOUT(ha, stop_drains_in_flight_page_outs_and_keeps_the_pages, 120)
{
	struct kvmshare_part_stats st;
	struct kvmshare_pager_info ia;
	char state[32], path[128];
	uint64_t i;
	int gone;
	uint8_t *gmap;

	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 64,
				     0, -1));
	self->fd = ks_part_create(self->dir, "vm", PAGES * KS_PAGE);
	ASSERT_GE(self->fd, 0);
	self->map = mmap(NULL, PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	gone = ks_part_create(self->dir, "gone", 64 * KS_PAGE);
	ASSERT_GE(gone, 0);
	gmap = mmap(NULL, 64 * KS_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    gone, 0);
	ASSERT_NE(MAP_FAILED, gmap);
	for (i = 0; i < PAGES; i++)
		((uint64_t *)self->map)[i * 512 + 1] = i * 7 + 1;
	for (i = 0; i < 64; i++)
		gmap[i * KS_PAGE] = 1;

	/* Nobody answers: the page-outs stay in flight. */
	ASSERT_EQ(0, set_target(self->fd, 1));
	ASSERT_EQ(0, set_target(gone, 1));
	for (i = 0; i < 50 && info(&self->a).inflight < 64; i++)
		usleep(100000);
	ASSERT_EQ(64, info(&self->a).inflight);
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	ASSERT_EQ(0, st.paged_out_pages);

	EXPECT_EQ(0, ioctl(self->a.fd, KVMSHARE_PAGER_IOC_STOP));
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STOPPING, info(&self->a).state);
	EXPECT_EQ(0, pool_num(self, "active_pager"));
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("suspending", state);

	/* The other partition goes while the stop drains. */
	munmap(gmap, 64 * KS_PAGE);
	close(gone);
	snprintf(path, sizeof(path), "%s/gone", self->dir);
	ASSERT_EQ(0, unlink(path));

	/* It answers what it has; then it is stopped. */
	ASSERT_EQ(0, ks_pager_run(&self->a));
	for (i = 0; i < 50 && info(&self->a).state !=
	     KVMSHARE_PAGER_STATE_STOPPED; i++)
		usleep(100000);
	ia = info(&self->a);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STOPPED, ia.state);
	EXPECT_EQ(1, ia.suspended_streams);
	EXPECT_EQ(1, ia.completed_streams);
	ASSERT_EQ(0, read_stream_state(self, "vm", state, sizeof(state)));
	EXPECT_STREQ("suspended", state);
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(0, st.paged_out_pages);
	EXPECT_EQ(PAGES, st.resident_pages);
	EXPECT_EQ(0, verify(self));
	ASSERT_EQ(0, set_target(self->fd, 0));
}

struct reader {
	pthread_t t;
	uint64_t *word;
	uint64_t val;
};

static void *fault_read(void *arg)
{
	struct reader *r = arg;

	r->val = __atomic_load_n(r->word, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * Issue #13: a standby serving alone (no primary) holds page-ins it never
 * answers; a primary attaches and takes over. The standby, demoted but
 * still holding the requests, had no deadline: the faulting reader waited
 * for ever. It must be failed over after pager_timeout_ms like an active
 * service: its page-ins reissued to the primary, its late answers fenced.
 */
TEST_F_TIMEOUT(ha, a_demoted_standby_that_never_answers_is_failed_over, 120)
{
	struct kvmshare_pager_req req[16];
	struct kvmshare_pager_info ib;
	struct reader rd = { 0 };
	struct timespec until;
	uint64_t start, ms;
	int n = 0, i, joined, held;

	/* Deadlines of 3 s: the primary attaches well before. */
	ASSERT_EQ(0, ks_write_file(TIMEOUT_PARAM, "3000"));
	ASSERT_EQ(0, ks_pager_attach(&self->b, self->dir, POOL_PAGES, 64, 16,
				     KVMSHARE_PAGER_F_STANDBY, -1));
	ASSERT_EQ(0, ks_pager_run(&self->b));
	EXPECT_EQ(pager_id(&self->b), pool_num(self, "active_pager"));
	make_evicted(_metadata, self);
	ks_pager_stop(&self->b);

	/* A fault whose page-ins the standby takes and sits on. */
	rd.word = (uint64_t *)self->map + 300 * 512 + 1;
	start = ks_now_ns();
	ASSERT_EQ(0, pthread_create(&rd.t, NULL, fault_read, &rd));
	while (n < 16 && ks_pager_next(&self->b, &req[n], 500) == 1)
		n++;
	ASSERT_GT(n, 0);
	EXPECT_EQ(KVMSHARE_PAGER_OP_PAGE_IN, req[0].op);
	EXPECT_EQ(n, info(&self->b).inflight);

	/* A primary takes over: the standby is demoted, requests and all. */
	ASSERT_EQ(0, ks_pager_attach(&self->a, self->dir, POOL_PAGES, 64, 16,
				     0, self->b.store));
	ASSERT_EQ(0, ks_pager_run(&self->a));
	EXPECT_EQ(pager_id(&self->a), pool_num(self, "active_pager"));
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STANDBY, info(&self->b).state);

	/* The reader gets its page from the primary, after the deadline. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	joined = !pthread_timedjoin_np(rd.t, NULL, &until);
	ms = (ks_now_ns() - start) / 1000000;
	EXPECT_TRUE(joined);
	held = n;
	if (!joined) {
		/* The standby answers after all, so the reader ends. */
		for (i = 0; i < n; i++)
			ks_pager_serve(&self->b, &req[i]);
		pthread_join(rd.t, NULL);
		n = 0;
	}
	TH_LOG("reader done after %llu ms (%d page-ins held by the standby)",
	       (unsigned long long)ms, held);
	EXPECT_EQ(300 * 7 + 1, rd.val);
	EXPECT_GE(ms, 2900);
	ib = info(&self->b);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_FAILED, ib.state);
	EXPECT_EQ(0, ib.inflight);
	EXPECT_TRUE(pollhup(&self->b));
	EXPECT_EQ(1, pool_num(self, "failovers"));
	EXPECT_GE(pool_num(self, "reissued_requests"), n);
	EXPECT_EQ(pager_id(&self->a), pool_num(self, "active_pager"));
	EXPECT_GE(self->a.ins, 1);
	EXPECT_EQ(1, pool_num(self, "pagers"));

	/* Its late answers are refused. */
	for (i = 0; i < n; i++)
		ks_pager_serve(&self->b, &req[i]);
	ib = info(&self->b);
	EXPECT_EQ(n, ib.fenced_completions);
	EXPECT_EQ(n, ib.bad_completions);
	EXPECT_EQ(0, verify(self));
	EXPECT_GE(self->a.ins, n);
	EXPECT_EQ(0, pool_num(self, "pending_requests"));
	ks_pager_detach(&self->b);
}

/* With a standby, a stop hands over: not a failover, nothing lost. */
TEST_F_TIMEOUT(ha, stop_hands_over_to_the_standby, 120)
{
	struct kvmshare_pager_info ia;
	int i;

	attach_pair(_metadata, self);
	make_evicted(_metadata, self);
	EXPECT_EQ(0, ioctl(self->a.fd, KVMSHARE_PAGER_IOC_STOP));
	for (i = 0; i < 50 && info(&self->a).state !=
	     KVMSHARE_PAGER_STATE_STOPPED; i++)
		usleep(100000);
	ia = info(&self->a);
	EXPECT_EQ(KVMSHARE_PAGER_STATE_STOPPED, ia.state);
	EXPECT_EQ(pager_id(&self->b), pool_num(self, "active_pager"));
	EXPECT_EQ(0, pool_num(self, "failovers"));
	EXPECT_EQ(0, verify(self));
	EXPECT_GT(self->b.ins, 0);
}

TEST_HARNESS_MAIN
