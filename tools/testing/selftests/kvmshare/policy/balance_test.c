// SPDX-License-Identifier: GPL-2.0
/*
 * kvmsharectl balance against two fake QEMUs: each answers QMP on a unix
 * socket and plays a guest that uses at once all the memory its balloon
 * gives it (writes it into its partition) and gives back what an inflation
 * takes (punches it). The pool has no paging service and no room to
 * spare: a guest grown before the other one shrank would have its memory
 * refused. Checked: balance makes before it breaks (the shrink first, the
 * growth in steps as memory comes free, no write refused), a lower target
 * waits for --hold unless a growth waits for it, and `--manual` follows
 * the administrator's target_pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"

#define MIB		(1ULL << 20)
#define POOL_MB		64
#define PART_MB		48
#define ENT_MB		8
#define MAX_LOG		256

/* One fake QEMU and its guest. */
struct fake {
	const char *name;
	char sock[108];
	int lfd;			/* listening socket */
	int part;			/* the partition file */
	uint64_t filled;		/* bytes the guest wrote */
	uint64_t size;			/* bytes its balloon leaves it */
	uint64_t want;			/* bytes its workload would use */
	pthread_t thread;
};

/* Balloon commands in the order the fakes got them (under log_lock). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *name;
	uint64_t bytes;
} blog[MAX_LOG];
static int nlog, write_errors, stop;

static int log_find(const char *name, uint64_t bytes)
{
	int i, at = -1;

	pthread_mutex_lock(&log_lock);
	for (i = 0; i < nlog && at < 0; i++)
		if (!strcmp(blog[i].name, name) && blog[i].bytes == bytes)
			at = i;
	pthread_mutex_unlock(&log_lock);
	return at;
}

/* The guest follows its new size: gives back, or fills what it may. */
static void fake_resize(struct fake *f, uint64_t bytes)
{
	static const char buf[1 << 16];

	f->size = bytes;
	if (f->filled > bytes) {
		if (fallocate(f->part, FALLOC_FL_PUNCH_HOLE |
			      FALLOC_FL_KEEP_SIZE, bytes, f->filled - bytes))
			__atomic_add_fetch(&write_errors, 1, __ATOMIC_RELAXED);
		f->filled = bytes;
	}
	while (f->filled < bytes && f->filled < f->want) {
		if (pwrite(f->part, buf, sizeof(buf), f->filled) !=
		    sizeof(buf)) {
			__atomic_add_fetch(&write_errors, 1, __ATOMIC_RELAXED);
			break;
		}
		f->filled += sizeof(buf);
	}
}

/*
 * One QMP connection: greeting, capabilities, one command. Each reply
 * carries its command's "id", as QEMU's do (kvmsharectl waits for it).
 */
static void fake_serve(struct fake *f, int fd)
{
	char line[4096], *v, *id;
	FILE *io = fdopen(fd, "r+");

	if (!io) {
		close(fd);
		return;
	}
	fprintf(io, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n");
	fflush(io);
	while (fgets(line, sizeof(line), io)) {
		v = strstr(line, "\"value\":");
		if (strstr(line, "\"balloon\"") && v) {
			uint64_t bytes = strtoull(v + 8, NULL, 10);

			pthread_mutex_lock(&log_lock);
			if (nlog < MAX_LOG) {
				blog[nlog].name = f->name;
				blog[nlog].bytes = bytes;
				nlog++;
			}
			pthread_mutex_unlock(&log_lock);
			fake_resize(f, bytes);
		}
		id = strstr(line, "\"id\":");
		fprintf(io, "{\"return\": {}, \"id\": %lu}\n",
			id ? strtoul(id + 5, NULL, 10) : 0);
		fflush(io);
	}
	fclose(io);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(f->lfd, NULL, NULL);
		if (fd >= 0)
			fake_serve(f, fd);
	}
	return NULL;
}

static int fake_start(struct fake *f, const char *dir, const char *name,
		      uint64_t filled, uint64_t want)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[512];

	f->name = name;
	f->want = want;
	f->size = PART_MB * MIB;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f->part = open(path, O_RDWR);
	if (f->part < 0)
		return -1;
	fake_resize(f, filled);
	f->size = PART_MB * MIB;
	snprintf(f->sock, sizeof(f->sock), "/tmp/kbal%d.%s.qmp", getpid(),
		 name);
	strcpy(sa.sun_path, f->sock);
	unlink(f->sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(f->lfd, 4))
		return -1;
	return pthread_create(&f->thread, NULL, fake_main, f) ? -1 : 0;
}

static int set_target(const char *pool, const char *name, uint64_t bytes)
{
	char path[256], v[32];

	snprintf(path, sizeof(path),
		 "/sys/fs/kvmshare/%s/partitions/%s/target_pages", pool, name);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(bytes / KS_PAGE));
	return ks_write_file(path, v);
}

/* Wait up to @secs for @name to have been resized to @bytes. */
static int wait_log(const char *name, uint64_t bytes, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (log_find(name, bytes) >= 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

FIXTURE(bal) {
	char dir[64];
	char pool[32];
	struct fake f[2];
	pid_t balance;
};

FIXTURE_SETUP(bal)
{
	char opts[128];
	int fd, i;

	/*
	 * A fake answers after kvmsharectl gave up on it (its QMP timeout,
	 * on a loaded machine): the reply must fail with EPIPE, not kill
	 * the test with SIGPIPE.
	 */
	signal(SIGPIPE, SIG_IGN);
	memset(self->f, 0, sizeof(self->f));
	for (i = 0; i < 2; i++) {
		self->f[i].lfd = -1;
		self->f[i].part = -1;
	}
	self->balance = 0;
	snprintf(self->pool, sizeof(self->pool), "kbal%d", getpid());
	snprintf(opts, sizeof(opts), "size=%uM,name=%s", POOL_MB, self->pool);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	for (i = 0; i < 2; i++) {
		fd = ks_part_create(self->dir, i ? "b" : "a", PART_MB * MIB);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ks_part_set(fd, KVMSHARE_ATTR_ENTITLEMENT,
					 ENT_MB * MIB / KS_PAGE, 0, 0));
		close(fd);
	}
}

FIXTURE_TEARDOWN(bal)
{
	char path[512];
	int i;

	if (self->balance > 0) {
		kill(self->balance, SIGTERM);
		waitpid(self->balance, NULL, 0);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++) {
		if (self->f[i].lfd >= 0) {
			pthread_join(self->f[i].thread, NULL);
			close(self->f[i].lfd);
			unlink(self->f[i].sock);
		}
		if (self->f[i].part >= 0)
			close(self->f[i].part);
		snprintf(path, sizeof(path), "%s/%s", self->dir, i ? "b" : "a");
		unlink(path);
	}
	ks_pool_umount(self->dir);
}

/*
 * a holds 40 MiB, b 8 MiB of a 64 MiB pool: 16 MiB free. Then b's target
 * goes to 40 MiB and a's to 24 MiB: b may grow by 16 MiB at once, the
 * rest only once a gave back.
 */
TEST_F(bal, make_before_break)
{
	struct kvmshare_pool_info pi;
	char qa[160], qb[160];
	uint64_t f0;
	int i, a24, b40, partial = 0;

	ASSERT_EQ(0, fake_start(&self->f[0], self->dir, "a", 40 * MIB,
				40 * MIB));
	ASSERT_EQ(0, fake_start(&self->f[1], self->dir, "b", 8 * MIB,
				PART_MB * MIB));
	ASSERT_EQ(0, set_target(self->pool, "a", 40 * MIB));
	ASSERT_EQ(0, set_target(self->pool, "b", 8 * MIB));
	ASSERT_EQ(0, ks_pool_info(self->dir, &pi));
	f0 = pi.fault_failures;

	snprintf(qa, sizeof(qa), "a=%s", self->f[0].sock);
	snprintf(qb, sizeof(qb), "b=%s", self->f[1].sock);
	self->balance = fork();
	ASSERT_LE(0, self->balance);
	if (!self->balance) {
		execlp("kvmsharectl", "kvmsharectl", "balance", self->dir,
		       "--manual", "--interval", "100", "--hold", "60000",
		       "--qmp", qa, "--qmp", qb, (char *)NULL);
		_exit(127);
	}
	/* QEMU starts a guest whole: both come down to their targets. */
	ASSERT_EQ(0, wait_log("a", 40 * MIB, 10));
	ASSERT_EQ(0, wait_log("b", 8 * MIB, 10));

	ASSERT_EQ(0, set_target(self->pool, "b", 40 * MIB));
	ASSERT_EQ(0, set_target(self->pool, "a", 24 * MIB));
	ASSERT_EQ(0, wait_log("b", 40 * MIB, 10)) TH_LOG("b never got 40 MiB");
	a24 = log_find("a", 24 * MIB);
	b40 = log_find("b", 40 * MIB);
	pthread_mutex_lock(&log_lock);
	for (i = 0; i < nlog; i++) {
		TH_LOG("balloon %s %llu MiB", blog[i].name,
		       (unsigned long long)(blog[i].bytes / MIB));
		if (!strcmp(blog[i].name, "b") && blog[i].bytes > 8 * MIB &&
		    blog[i].bytes < 40 * MIB)
			partial = 1;
	}
	pthread_mutex_unlock(&log_lock);
	/* a gave back before b got all: at once, despite the 60 s hold */
	ASSERT_LE(0, a24);
	EXPECT_LT(a24, b40);
	/* b grew first by what was free */
	EXPECT_TRUE(partial);
	EXPECT_EQ(0, __atomic_load_n(&write_errors, __ATOMIC_RELAXED));
	ASSERT_EQ(0, ks_pool_info(self->dir, &pi));
	EXPECT_EQ(f0, pi.fault_failures);

	/* Nothing waits for memory: a lower target waits for --hold. */
	ASSERT_EQ(0, set_target(self->pool, "a", 20 * MIB));
	sleep(2);
	EXPECT_GT(0, log_find("a", 20 * MIB));
}

TEST_HARNESS_MAIN
