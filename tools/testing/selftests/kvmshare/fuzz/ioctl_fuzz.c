// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzing the pool's user interface: every ioctl of every kind of pool fd
 * (partition file read-write and read-only, control file, pool directory,
 * the fd of a paging service that never serves) with random and boundary
 * arguments (command numbers around ours, NULL, unmapped, kernel and
 * page-straddling pointers, random bytes with reserved fields and every
 * flag set, huge sizes), random mount option strings, and random writes
 * to the pool's and the partitions' sysfs files. Afterwards the pool must
 * still work; the suite's kernel-log step checks that the kernel said
 * nothing bad.
 *
 * Bounded by a count (IOCTL_FUZZ_COUNT, default 20000 ioctls). The seed
 * is printed; IOCTL_FUZZ_SEED=<seed> replays a run.
 *
 * huge_cut_fuzz: on a pool mounted huge=on, random stores through a
 * mapping (which make 2 MiB units where a range is empty), write()s,
 * hole punches of any size and offset, and truncations down and up,
 * checked against a model of the file: every byte reads as the model
 * says, also through the mapping (sampled), and allocated - punched -
 * truncated is resident. Partial cuts of units split them by copy (issue
 * 18, step 3), and some must have (huge_splits): the file is mapped anew
 * now and then so that units form again. HUGE_FUZZ_COUNT (default 2000)
 * operations; the seed is IOCTL_FUZZ_SEED's. Background collapse (step
 * 6) runs meanwhile at its fastest (huge_collapse_ms 10), so that ranges
 * write() filled become units under the cuts; now and then a random
 * value is written to that parameter (refused, or taken, then 10 again).
 * Deferred partial punch (step 7): huge_punch_split_pct is set now and
 * then to a random value (refused above 100, or taken: 0 splits at every
 * punch, 100 only a unit punched whole, between them at that share);
 * the model of the bytes is unchanged (a deferred hole reads zeros as a
 * freed one), and the counts must say that every deferred hole is in a
 * unit (huge_punch_pending at most 512 per unit, and at most resident),
 * none is left once the file is truncated to 0, and some were deferred.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/kvmshare.h>
#include <linux/kvmshare_metrics.h>
#include <linux/kvmshare_pager.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A value drawn from boundaries more often than from the whole range. */
static uint64_t rnd_value(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 15, 16, 17, 255, 4095, 4096, 4097, 0x7fffffff,
		0x80000000ULL, 0xffffffffULL, 0x100000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 1,
		1ULL << 29, 1ULL << 40, 1ULL << 52,
	};

	switch (rnd_below(4)) {
	case 0:
		return edge[rnd_below(ARRAY_SIZE(edge))];
	case 1:
		return rnd_below(65536);
	default:
		return rnd();
	}
}

static const unsigned int our_cmds[] = {
	KVMSHARE_IOC_GET_ATTR, KVMSHARE_IOC_SET_ATTR, KVMSHARE_IOC_GET_STATS,
	KVMSHARE_IOC_POOL_INFO, KVMSHARE_IOC_PAGER_ATTACH,
	KVMSHARE_PAGER_IOC_INFO, KVMSHARE_PAGER_IOC_STOP,
	KVMSHARE_IOC_PAGER_STOP, KVMSHARE_IOC_METRICS_BIND,
};

#define NR_CMDS	ARRAY_SIZE(our_cmds)

/* A command: one of ours, or ours with a changed size, direction or nr. */
static unsigned int rnd_cmd(void)
{
	unsigned int cmd = our_cmds[rnd_below(NR_CMDS)];

	switch (rnd_below(6)) {
	case 0:		/* another number of our magic */
		return _IOC(rnd_below(4), KVMSHARE_IOC_MAGIC, rnd_below(256),
			    rnd_below(1 << 14));
	case 1:		/* our number, another size */
		return _IOC(_IOC_DIR(cmd), KVMSHARE_IOC_MAGIC, _IOC_NR(cmd),
			    rnd_below(1 << 14));
	case 2:		/* our number, another direction */
		return _IOC(rnd_below(4), KVMSHARE_IOC_MAGIC, _IOC_NR(cmd),
			    _IOC_SIZE(cmd));
	default:
		return cmd;
	}
}

struct fuzz_env {
	char dir[64];
	char name[32];
	int fds[8];
	int nfds;
	uint8_t *buf;		/* two pages, the second one unmapped */
	int pager;		/* the pager fd, or -1 */
};

/* Fill an argument: random bytes, some fields made plausible. */
static void fill_arg(struct fuzz_env *e, unsigned int cmd, uint8_t *arg,
		     size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		arg[i] = rnd();
	if (cmd == KVMSHARE_IOC_SET_ATTR && rnd_below(2)) {
		struct kvmshare_part_attr *a = (void *)arg;

		a->flags = rnd_below(2) ? KVMSHARE_ATTR_ALL : rnd();
		a->entitlement_pages = rnd_below(3) ? rnd_below(8192) :
						      rnd_value();
		a->limit_pages = rnd_below(2) ? 0 : rnd_value();
		a->target_pages = rnd_value();
		a->weight = rnd_value();
		if (rnd_below(2))
			memset(a->reserved, 0, sizeof(a->reserved));
	} else if (cmd == KVMSHARE_IOC_METRICS_BIND && rnd_below(2)) {
		struct kvmshare_metrics_bind *b = (void *)arg;

		b->fd = rnd_below(3) ? e->fds[rnd_below(e->nfds)] :
				       (int)rnd_value();
		if (rnd_below(2)) {
			b->flags = 0;
			memset(b->reserved, 0, sizeof(b->reserved));
		}
	} else if (cmd == KVMSHARE_IOC_PAGER_ATTACH && rnd_below(2)) {
		struct kvmshare_pager_attach *a = (void *)arg;

		a->version = rnd_below(4) ? KVMSHARE_PAGER_VERSION : rnd();
		a->flags = rnd_below(2) ? 0 : rnd();
		a->sq_entries = rnd_below(2) ? 16 << rnd_below(9) : rnd_value();
		a->nr_slots = rnd_below(2) ? rnd_below(64) : rnd_value();
		a->backing_blocks = rnd_below(2) ? 4096 : rnd_value();
		if (rnd_below(2))
			memset(a->reserved, 0, sizeof(a->reserved));
	} else if (cmd == KVMSHARE_IOC_PAGER_STOP && rnd_below(2)) {
		struct kvmshare_pager_stop *s = (void *)arg;

		s->pager_id = rnd_below(8);
		if (rnd_below(2))
			memset(s->reserved, 0, sizeof(s->reserved));
	}
}

static void fuzz_one_ioctl(struct fuzz_env *e)
{
	int fd = e->fds[rnd_below(e->nfds)];
	unsigned int cmd = rnd_cmd();
	size_t len = _IOC_SIZE(cmd);
	unsigned long arg;
	long ret;

	switch (rnd_below(8)) {
	case 0:
		arg = 0;
		break;
	case 1:			/* unmapped */
		arg = (unsigned long)e->buf + 4096 + rnd_below(4096);
		break;
	case 2:			/* kernel addresses */
		arg = rnd_below(2) ? 0xffff888000000000UL + rnd_below(1 << 30) :
				     0xffffffff81000000UL;
		break;
	case 3:			/* straddles into the unmapped page */
		arg = (unsigned long)e->buf + 4096 - 1 - rnd_below(len ? len : 1);
		break;
	case 4:			/* any value */
		arg = rnd();
		break;
	default:		/* a valid buffer, random or plausible */
		if (len > 4096)
			len = 4096;
		fill_arg(e, cmd, e->buf, len);
		arg = (unsigned long)e->buf + (4096 - (len ? len : 1)) *
		      rnd_below(2);
		break;
	}
	ret = ioctl(fd, cmd, arg);
	/* Another attach that succeeded: a second service, let go at once. */
	if (ret > 2 && cmd == KVMSHARE_IOC_PAGER_ATTACH)
		close(ret);
}

static const char * const mount_keys[] = {
	"size", "reserve", "name", "mode", "uid", "gid", "umask", "bogus",
	"", "size=", "=",
};

static void rnd_word(char *s, size_t len)
{
	static const char chars[] = "0123456789KMGTPE%-+xX,=/. abcz";
	size_t i, n = rnd_below(len - 1);

	if (rnd_below(3) == 0) {
		snprintf(s, len, "%llu%s", (unsigned long long)rnd_value(),
			 (const char *[]){ "", "K", "M", "G", "T", "%", "E" }
			 [rnd_below(7)]);
		return;
	}
	for (i = 0; i < n; i++)
		s[i] = chars[rnd_below(sizeof(chars) - 1)];
	s[n] = 0;
}

static void fuzz_one_mount(void)
{
	char opts[512] = "", word[64], dir[64];
	int i, n = 1 + rnd_below(5);
	size_t off = 0;

	for (i = 0; i < n && off < sizeof(opts) - 80; i++) {
		const char *key = mount_keys[rnd_below(ARRAY_SIZE(mount_keys))];

		rnd_word(word, sizeof(word));
		off += snprintf(opts + off, sizeof(opts) - off, "%s%s=%s",
				i ? "," : "", key, word);
	}
	/* Keep it small when it would succeed. */
	if (rnd_below(2))
		snprintf(opts + off, sizeof(opts) - off, ",size=%lluK",
			 (unsigned long long)rnd_below(65536));
	snprintf(dir, sizeof(dir), "/tmp/fuzzmnt");
	mkdir(dir, 0700);
	if (!mount("none", dir, "kvmshare", 0, opts)) {
		int fd = open("/tmp/fuzzmnt/f", O_RDWR | O_CREAT, 0600);

		if (fd >= 0)
			close(fd);
		if (umount(dir))
			fprintf(stderr, "# umount after '%s': %s\n", opts,
				strerror(errno));
	}
}

/* All regular writable files below @dir, up to @max. */
static int list_writable(const char *dir, char (*out)[320], int n, int max,
			 int depth)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return n;
	while ((de = readdir(d)) && n < max) {
		char path[320];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path) || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0)
			n = list_writable(path, out, n, max, depth - 1);
		else if (S_ISREG(st.st_mode) && (st.st_mode & 0200))
			snprintf(out[n++], 320, "%s", path);
	}
	closedir(d);
	return n;
}

static void fuzz_sysfs(struct fuzz_env *e, int rounds)
{
	static char files[128][320];
	char path[128], val[80];
	int n, i;

	snprintf(path, sizeof(path), "/sys/fs/kvmshare/%s", e->name);
	n = list_writable(path, files, 0, 128, 3);
	for (i = 0; i < rounds && n; i++) {
		const char *f = files[rnd_below(n)];
		int fd = open(f, O_WRONLY);

		if (fd < 0)
			continue;
		switch (rnd_below(4)) {
		case 0:
			snprintf(val, sizeof(val), "%llu",
				 (unsigned long long)rnd_value());
			break;
		case 1:
			snprintf(val, sizeof(val), "-%llu\n",
				 (unsigned long long)rnd_below(100));
			break;
		case 2:
			rnd_word(val, sizeof(val));
			break;
		default:
			snprintf(val, sizeof(val), "%llu\n",
				 (unsigned long long)rnd_below(4096));
			break;
		}
		if (write(fd, val, strlen(val)) < 0 && errno == EFAULT)
			fprintf(stderr, "# %s: EFAULT\n", f);
		close(fd);
	}
	/* Leave the tunables sane for the check below. */
	for (i = 0; i < n; i++)
		if (strstr(files[i], "policy_enabled"))
			ks_write_file(files[i], "0");
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

TEST(ioctl_fuzz)
{
	uint64_t seed = env_u64("IOCTL_FUZZ_SEED", 0);
	uint64_t i, count = env_u64("IOCTL_FUZZ_COUNT", 20000);
	struct kvmshare_metrics_bind b = { 0 };
	struct kvmshare_part_stats st;
	struct kvmshare_pager_attach pa = {
		.version = KVMSHARE_PAGER_VERSION, .sq_entries = 16,
		.nr_slots = 4, .backing_blocks = 4096,
	};
	struct fuzz_env e = { .pager = -1 };
	char opts[96], path[128];
	uint8_t *p;
	int fd, ro, ctl;

	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (ts.tv_sec * 1000000007ULL) ^ ts.tv_nsec ^ getpid();
	}
	printf("# seed: IOCTL_FUZZ_SEED=%llu IOCTL_FUZZ_COUNT=%llu\n",
	       (unsigned long long)seed, (unsigned long long)count);
	fflush(stdout);
	rng = seed | 1;

	snprintf(e.name, sizeof(e.name), "fuzz%d", getpid());
	snprintf(opts, sizeof(opts), "size=64M,reserve=1M,name=%s", e.name);
	ASSERT_EQ(0, ks_pool_mount(e.dir, sizeof(e.dir), opts));
	fd = ks_part_create(e.dir, "g", 8 << 20);
	ASSERT_LE(0, fd);
	ctl = ks_part_create(e.dir, "g.metrics", KS_PAGE);
	ASSERT_LE(0, ctl);
	b.fd = ctl;
	ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_METRICS_BIND, &b));
	snprintf(path, sizeof(path), "%s/g", e.dir);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);
	e.fds[e.nfds++] = fd;
	e.fds[e.nfds++] = ro;
	e.fds[e.nfds++] = ctl;
	e.fds[e.nfds] = open(e.dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, e.fds[e.nfds]);
	e.nfds++;
	/* A paging service's fd, never served: its ioctls are fuzzed too. */
	e.pager = ioctl(e.fds[3], KVMSHARE_IOC_PAGER_ATTACH, &pa);
	ASSERT_LE(0, e.pager);
	e.fds[e.nfds++] = e.pager;
	e.buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e.buf);
	ASSERT_EQ(0, munmap(e.buf + 4096, 4096));
	/* Some pages to act on. */
	ASSERT_EQ(0, fallocate(fd, 0, 0, 1 << 20));

	for (i = 0; i < count; i++) {
		fuzz_one_ioctl(&e);
		if (i % 200 == 0)
			fuzz_one_mount();
		if (i % 1000 == 0)
			fuzz_sysfs(&e, 20);
	}

	/* The pool still works: a new partition takes, keeps, gives pages. */
	close(e.pager);
	{
		struct kvmshare_part_attr zero = { .flags = KVMSHARE_ATTR_ALL,
						   .weight = 100 };
		int g2;

		ASSERT_EQ(0, ioctl(fd, KVMSHARE_IOC_SET_ATTR, &zero));
		ASSERT_EQ(0, ioctl(ctl, KVMSHARE_IOC_SET_ATTR, &zero));
		g2 = ks_part_create(e.dir, "after", 1 << 20);
		ASSERT_LE(0, g2);
		p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED,
			 g2, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(256, ks_touch(p, 1 << 20, 1));
		EXPECT_EQ(17, p[16 * 4096]);
		ASSERT_EQ(0, ks_part_stats(g2, &st));
		EXPECT_EQ(256, st.resident_pages);
		munmap(p, 1 << 20);
		close(g2);
		snprintf(path, sizeof(path), "%s/after", e.dir);
		EXPECT_EQ(0, unlink(path));
	}
	close(fd);
	close(ro);
	close(ctl);
	close(e.fds[3]);
	EXPECT_EQ(0, ks_pool_umount(e.dir));
	rmdir("/tmp/fuzzmnt");
}

#define HF_SIZE		(8ULL << 20)	/* four units */

/* Every byte of @fd below @size as @model says; the first bad, or -1. */
static long long hf_verify(int fd, const uint8_t *model, uint64_t size)
{
	static uint8_t buf[1 << 16];
	uint64_t off, i;
	ssize_t n;

	for (off = 0; off < size; off += n) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n <= 0)
			return off;
		for (i = 0; i < (uint64_t)n; i++)
			if (buf[i] != model[off + i])
				return off + i;
	}
	return pread(fd, buf, 1, size) == 0 ? -1 : (long long)size;
}

/*
 * @n random pages below @size through the mapping @map as @model says
 * (a read fault may make a page or a unit: the counts still hold); the
 * first bad byte, or -1.
 */
static long long hf_verify_map(const unsigned char *map,
			       const unsigned char *model, size_t size,
			       unsigned int n)
{
	size_t pages = (size + KS_PAGE - 1) / KS_PAGE, off, len, i;

	while (pages && n--) {
		off = rnd_below(pages) * KS_PAGE;
		len = size - off < KS_PAGE ? size - off : KS_PAGE;
		for (i = 0; i < len; i++)
			if (map[off + i] != model[off + i])
				return off + i;
	}
	return -1;
}

/* The counter @what of partition h of pool hfuzz<pid>. */
static long long hf_cnt(const char *what)
{
	return ks_sysfs_num("hfuzz%d/partitions/h/%s", getpid(), what);
}

#define HF_COLLAPSE_MS	"/sys/module/kvmshare/parameters/huge_collapse_ms"

/*
 * huge_collapse_ms as this process found it, put back at its exit
 * whatever happened to the test's child (review s27 h6, L8: a failed
 * ASSERT or a crash left the host at 10 ms, 100 passes a second).
 */
static char hf_ms_was[32];

static void __attribute__((constructor)) hf_ms_save(void)
{
	FILE *f = fopen("/sys/module/kvmshare/parameters/huge_collapse_ms",
			"r");

	if (f && !fgets(hf_ms_was, sizeof(hf_ms_was), f))
		hf_ms_was[0] = 0;
	if (f)
		fclose(f);
}

static void __attribute__((destructor)) hf_ms_restore(void)
{
	if (hf_ms_was[0])
		ks_write_file("/sys/module/kvmshare/parameters/huge_collapse_ms",
			      hf_ms_was);
}

/* A random value for huge_collapse_ms, then its fastest again. */
static void hf_fuzz_collapse_ms(void)
{
	char val[80];

	switch (rnd_below(3)) {
	case 0:
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)rnd_value());
		break;
	case 1:
		rnd_word(val, sizeof(val));
		break;
	default:
		snprintf(val, sizeof(val), "%llu\n",
			 (unsigned long long)rnd_below(20000));
		break;
	}
	ks_write_file(HF_COLLAPSE_MS, val);
	ks_write_file(HF_COLLAPSE_MS, "10");
}

#define HF_PUNCH_PCT	"/sys/module/kvmshare/parameters/huge_punch_split_pct"

/* huge_punch_split_pct as this process found it, put back at its exit. */
static char hf_pct_was[32];

static void __attribute__((constructor)) hf_pct_save(void)
{
	FILE *f = fopen(HF_PUNCH_PCT, "r");

	if (f && !fgets(hf_pct_was, sizeof(hf_pct_was), f))
		hf_pct_was[0] = 0;
	if (f)
		fclose(f);
}

static void __attribute__((destructor)) hf_pct_restore(void)
{
	if (hf_pct_was[0])
		ks_write_file(HF_PUNCH_PCT, hf_pct_was);
}

/*
 * A random value for huge_punch_split_pct: garbage or out of range
 * (refused), or one the test keeps (0, 100, or between).
 */
static void hf_fuzz_punch_pct(void)
{
	char val[80];

	switch (rnd_below(6)) {
	case 0:
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)rnd_value());
		ks_write_file(HF_PUNCH_PCT, val);
		break;
	case 1:
		rnd_word(val, sizeof(val));
		ks_write_file(HF_PUNCH_PCT, val);
		break;
	default:
		break;
	}
	switch (rnd_below(4)) {
	case 0:
		ks_write_file(HF_PUNCH_PCT, "0");
		break;
	case 1:
		ks_write_file(HF_PUNCH_PCT, "100");
		break;
	default:
		snprintf(val, sizeof(val), "%llu\n",
			 (unsigned long long)(1 + rnd_below(99)));
		ks_write_file(HF_PUNCH_PCT, val);
		break;
	}
}

static void hf_check_counts(struct __test_metadata *_metadata, int fd)
{
	struct kvmshare_part_stats st;

	ASSERT_EQ(0, ks_part_stats(fd, &st));
	EXPECT_EQ(st.resident_pages, st.allocated_pages - st.punched_pages -
		  st.truncated_pages);
	EXPECT_LE(st.resident_pages, HF_SIZE / KS_PAGE);
	/*
	 * Deferred holes are in units, at most a whole one each (512 splits
	 * it, unless a passing reference made the split zero in place).
	 */
	if (hf_pct_was[0]) {
		EXPECT_LE(hf_cnt("huge_punch_pending"),
			  512 * hf_cnt("huge_units"));
		EXPECT_LE(hf_cnt("huge_punch_pending"),
			  (long long)st.resident_pages);
	}
}

TEST(huge_cut_fuzz)
{
	uint64_t seed = env_u64("IOCTL_FUZZ_SEED", 0) ?: (uint64_t)getpid();
	uint64_t i, off, len, size = HF_SIZE;
	uint64_t count = env_u64("HUGE_FUZZ_COUNT", 2000);
	char dir[64], opts[96], path[128], ms[32] = "";
	uint8_t *model, *map, c;
	long long bad;
	FILE *f;
	int fd;

	printf("# huge_cut_fuzz seed: IOCTL_FUZZ_SEED=%llu\n",
	       (unsigned long long)seed);
	rng = seed | 1;
	snprintf(opts, sizeof(opts), "size=64M,huge=on,name=hfuzz%d",
		 getpid());
	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), opts));
	fd = ks_part_create(dir, "h", HF_SIZE);
	ASSERT_LE(0, fd);
	map = mmap(NULL, HF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	model = calloc(1, HF_SIZE);
	ASSERT_NE(NULL, model);
	f = fopen(HF_COLLAPSE_MS, "r");
	if (f && fgets(ms, sizeof(ms), f))
		ks_write_file(HF_COLLAPSE_MS, "10");
	if (f)
		fclose(f);
	/* Deferred punches from the start (the default share). */
	if (hf_pct_was[0])
		ks_write_file(HF_PUNCH_PCT, "50");

	for (i = 0; i < count; i++) {
		off = rnd_below(size);
		c = rnd() | 1;
		switch (rnd_below(8)) {
		case 0: case 1: case 2:	/* stores: whole units at times */
			len = rnd_below(8) ? rnd_below(3 * KS_PAGE) :
			      rnd_below(5 << 19);
			len = len < size - off ? len : size - off;
			memset(map + off, c, len);
			memset(model + off, c, len);
			break;
		case 3:
			len = rnd_below(3 * KS_PAGE);
			len = len < size - off ? len : size - off;
			memset(model + off, c, len);
			ASSERT_EQ((ssize_t)len, pwrite(fd, model + off, len, off));
			break;
		case 4: case 5:		/* holes: 4 KiB to 2.5 MiB, any byte */
			len = rnd_below(2) ? KS_PAGE : 1 + rnd_below(5 << 19);
			ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE, off, len));
			len = len < size - off ? len : size - off;
			memset(model + off, 0, len);
			break;
		case 6:			/* down, and back up later */
			ASSERT_EQ(0, ftruncate(fd, off));
			memset(model + off, 0, size - off);
			size = off;
			break;
		default:
			if (size == HF_SIZE)
				break;
			ASSERT_EQ(0, ftruncate(fd, HF_SIZE));
			size = HF_SIZE;
			break;
		}
		if (i % 100 == 99) {
			bad = hf_verify(fd, model, size);
			ASSERT_EQ(-1, bad)
				TH_LOG("op %llu: byte %lld",
				       (unsigned long long)i, bad);
			bad = hf_verify_map(map, model, size, 32);
			ASSERT_EQ(-1, bad)
				TH_LOG("op %llu: byte %lld through the map",
				       (unsigned long long)i, bad);
			hf_check_counts(_metadata, fd);
		}
		/*
		 * A new mapping now and then: once a range was split, the
		 * old one keeps its PTE table (pool_huge_test's
		 * pte_table_is_kept), and only an empty PMD gets a unit.
		 */
		if (ms[0] && i % 50 == 49)
			hf_fuzz_collapse_ms();
		if (hf_pct_was[0] && i % 50 == 24)
			hf_fuzz_punch_pct();
		if (i % 150 == 149) {
			ASSERT_EQ(0, munmap(map, HF_SIZE));
			map = mmap(NULL, HF_SIZE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
			ASSERT_NE(MAP_FAILED, map);
		}
	}
	EXPECT_EQ(-1, hf_verify(fd, model, size));
	EXPECT_EQ(-1, hf_verify_map(map, model, size, 256));
	hf_check_counts(_metadata, fd);
	TH_LOG("units made %lld, now %lld, splits %lld, split failures %lld, held cuts %lld",
	       hf_cnt("huge_faults"), hf_cnt("huge_units"),
	       hf_cnt("huge_splits"), hf_cnt("huge_split_failures"),
	       hf_cnt("huge_pinned_cuts"));
	TH_LOG("collapses %lld, collapse failures %lld (no block %lld), retries %lld",
	       hf_cnt("huge_collapses"), hf_cnt("huge_collapse_failures"),
	       hf_cnt("huge_collapse_nomem"), hf_cnt("huge_collapse_retries"));
	TH_LOG("deferred punches %lld (pending %lld), their splits %lld",
	       hf_cnt("huge_punch_deferred"), hf_cnt("huge_punch_pending"),
	       hf_cnt("huge_punch_splits"));
	/*
	 * Some 4 KiB holes met a unit with the share at neither 0 nor
	 * absent: a regression that splits at every punch shows here.
	 */
	if (hf_pct_was[0] && count >= 1000 && hf_cnt("huge_faults") >= 8)
		EXPECT_LT(0, hf_cnt("huge_punch_deferred"));
	if (ms[0]) {
		/*
		 * Review s27 h6, L8: ranges write() filled become units in
		 * the background. The last unit, removed whole (its hints
		 * go, pte_seen too) and unmapped, filled by pwrite(): the
		 * work must collapse it, unless it found no 2 MiB block.
		 */
		long long was = hf_cnt("huge_collapses");
		long long nomem = hf_cnt("huge_collapse_nomem");
		uint64_t u = HF_SIZE - (2UL << 20);

		ASSERT_EQ(0, munmap(map, HF_SIZE));
		ASSERT_EQ(0, ftruncate(fd, HF_SIZE));
		size = HF_SIZE;
		ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, u, 2UL << 20));
		memset(model + u, 0x5a, 2UL << 20);
		ASSERT_EQ((ssize_t)(2UL << 20),
			  pwrite(fd, model + u, 2UL << 20, u));
		ks_write_file(HF_COLLAPSE_MS, "10");
		/* (10 s: three tries through the back-off after no block) */
		for (i = 0; i < 500 && hf_cnt("huge_collapses") == was; i++)
			usleep(20000);
		if (hf_cnt("huge_collapses") == was &&
		    hf_cnt("huge_collapse_nomem") > nomem)
			TH_LOG("no free 2 MiB block: background collapse not checked");
		else
			EXPECT_LT(was, hf_cnt("huge_collapses"));
		EXPECT_EQ(-1, hf_verify(fd, model, size));
		map = mmap(NULL, HF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		EXPECT_EQ(-1, hf_verify_map(map, model, size, 256));
		ks_write_file(HF_COLLAPSE_MS, ms);
	}
	/*
	 * Cuts split units: a regression that makes every split fall back
	 * keeps the bytes and the counts right, and shows only here. (No
	 * unit made: no free 2 MiB block on the host, nothing to say.)
	 */
	if (count >= 1000 && hf_cnt("huge_faults") >= 8)
		EXPECT_LT(0, hf_cnt("huge_splits"));
	ASSERT_EQ(0, ftruncate(fd, 0));
	hf_check_counts(_metadata, fd);
	if (hf_pct_was[0])
		EXPECT_EQ(0, hf_cnt("huge_punch_pending"));
	EXPECT_EQ(0, ks_sysfs_num("hfuzz%d/partitions/h/resident_pages",
				  getpid()));
	munmap(map, HF_SIZE);
	close(fd);
	free(model);
	snprintf(path, sizeof(path), "%s/h", dir);
	EXPECT_EQ(0, unlink(path));
	EXPECT_EQ(0, ks_sysfs_settle(0, 5, "hfuzz%d/used_pages", getpid()));
	EXPECT_EQ(0, ks_pool_umount(dir));
}

TEST_HARNESS_MAIN
