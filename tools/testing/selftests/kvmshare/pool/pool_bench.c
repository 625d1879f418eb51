// SPDX-License-Identifier: GPL-2.0
/*
 * pool benchmark (make bench), in the test VM:
 *
 *   bench: pool.fault_time_vs_shmem R
 *
 * A nested KVM guest (mvm) writes one qword into every page of a fresh
 * RAM slot (MVM_OP_TOUCH_WR: first-touch faults only) backed by a pool
 * partition file; a second guest of the same layout does the same over a
 * memfd (shmem) file. Both guests exist side by side and take turns, a
 * chunk of pages at a time, the order flipping every chunk, so that drift
 * (the emulated VM shares its host) hits both alike; each round starts on
 * new files and new VMs. R is the median over all chunks of the ratio of
 * the time on the partition to the time on shmem. Times under TCG are
 * emulated and only comparable within one run. Lower is better; 1.0 is
 * parity.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../lib/ksutil.h"
#include "../lib/mvm.h"

#define RAM_MB		64
#define RAM_PAGES	(RAM_MB * 256UL)
#define POOL_MB		(RAM_MB + 16)
#define CHUNKS		16
#define CHUNK_PAGES	(RAM_PAGES / CHUNKS)
#define ROUNDS		6
#define SEED		0x5eedULL

static int tests, failed;

static void result(int ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", tests, what);
	fflush(stdout);
}

/* A guest whose data slot is a fresh file, mapped shared. */
struct side {
	const char *what;
	int fd;
	uint8_t *ram;
	struct mvm *vm;
	struct mvm_vcpu *vcpu;
	uint64_t total_ns;
};

static int side_open(struct side *s)
{
	struct mvm_result res;

	s->ram = mmap(NULL, RAM_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, s->fd, 0);
	if (s->ram == MAP_FAILED) {
		printf("# %s: mmap: %s\n", s->what, strerror(errno));
		s->ram = NULL;
		return -1;
	}
	s->vm = mvm_create();
	if (!s->vm ||
	    mvm_set_slot(s->vm, 1, MVM_DATA_GPA, s->ram, RAM_PAGES * KS_PAGE))
		return -1;
	s->vcpu = mvm_vcpu_create(s->vm, 0);
	/* First entry and the guest's own pages, outside the timing. */
	if (!s->vcpu || mvm_call(s->vcpu, MVM_OP_PING, 1, 0, 0, &res) ||
	    res.value != 2)
		return -1;
	return 0;
}

/* The guest writes chunk @c; its time in ns, or 0 on error. */
static uint64_t side_touch(struct side *s, int c)
{
	uint64_t gpa = MVM_DATA_GPA + c * CHUNK_PAGES * KS_PAGE, t0, ns;
	struct mvm_result res;

	t0 = ks_now_ns();
	if (mvm_call(s->vcpu, MVM_OP_TOUCH_WR, gpa, CHUNK_PAGES, SEED, &res))
		return 0;
	ns = ks_now_ns() - t0;
	if (res.status != MVM_OK) {
		printf("# %s: guest status %llu\n", s->what,
		       (unsigned long long)res.status);
		return 0;
	}
	s->total_ns += ns;
	return ns;
}

/* The host sees every write in the file. */
static int side_check(struct side *s)
{
	uint64_t i, v;

	for (i = 0; i < RAM_PAGES; i++) {
		v = *(uint64_t *)(s->ram + i * KS_PAGE);
		if (v != mvm_pattern(MVM_DATA_GPA + i * KS_PAGE, SEED)) {
			printf("# %s: page %llu reads 0x%llx\n", s->what,
			       (unsigned long long)i, (unsigned long long)v);
			return -1;
		}
	}
	return 0;
}

static void side_close(struct side *s)
{
	mvm_vcpu_destroy(s->vcpu);
	mvm_destroy(s->vm);
	if (s->ram)
		munmap(s->ram, RAM_PAGES * KS_PAGE);
	if (s->fd >= 0)
		close(s->fd);
}

/*
 * One round: a fresh partition of the pool at @dir and a fresh memfd,
 * written chunk by chunk in turns. Fills @ratio with CHUNKS ratios and
 * adds the total times; returns 0 or -1.
 */
static int one_round(const char *dir, int round, double *ratio,
		     double *t_pool, double *t_shmem)
{
	struct side part = { .what = "partition" };
	struct side shm = { .what = "shmem" };
	char name[32], path[128];
	int c, ret = -1;

	snprintf(name, sizeof(name), "vm%d", round);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	part.fd = ks_part_create(dir, name, RAM_PAGES * KS_PAGE);
	shm.fd = memfd_create("pool-bench", MFD_CLOEXEC);
	if (part.fd < 0 || shm.fd < 0 ||
	    ftruncate(shm.fd, RAM_PAGES * KS_PAGE)) {
		printf("# partition or memfd: %s\n", strerror(errno));
		goto out;
	}
	if (side_open(&part) || side_open(&shm))
		goto out;
	for (c = 0; c < CHUNKS; c++) {
		uint64_t a, b;

		/* Take turns; who goes first flips every chunk. */
		if ((c + round) % 2) {
			b = side_touch(&shm, c);
			a = b ? side_touch(&part, c) : 0;
		} else {
			a = side_touch(&part, c);
			b = a ? side_touch(&shm, c) : 0;
		}
		if (!a || !b)
			goto out;
		ratio[c] = (double)a / b;
	}
	if (side_check(&part) || side_check(&shm))
		goto out;
	*t_pool = part.total_ns / 1e6;
	*t_shmem = shm.total_ns / 1e6;
	ret = 0;
out:
	side_close(&part);
	side_close(&shm);
	if (part.fd >= 0)
		unlink(path);
	return ret;
}

int main(void)
{
	double ratio[ROUNDS * CHUNKS], t_pool[ROUNDS], t_shmem[ROUNDS];
	char dir[64], opts[128];
	int r, ok = 1, ret;

	printf("TAP version 13\n1..3\n");
	snprintf(opts, sizeof(opts), "size=%dM,name=ksbench%d", POOL_MB,
		 getpid());
	ret = ks_pool_mount(dir, sizeof(dir), opts);
	result(!ret, "mount a pool");
	if (ret) {
		printf("# mount: %s\n", strerror(-ret));
		return 1;
	}

	for (r = 0; r < ROUNDS && ok; r++) {
		ok = !one_round(dir, r, ratio + r * CHUNKS, &t_pool[r],
				&t_shmem[r]);
		if (ok)
			printf("# round %d: partition %.0f ms, shmem %.0f ms, ratio %.3f\n",
			       r, t_pool[r], t_shmem[r],
			       ks_median(ratio + r * CHUNKS, CHUNKS));
	}
	result(ok, "guest first-touch faults on a partition and on shmem, every write seen");
	result(ks_pool_umount(dir) == 0, "nothing left in the pool");
	if (ok) {
		printf("# %d MiB, %d rounds, chunks of %lu pages\n", RAM_MB,
		       ROUNDS, CHUNK_PAGES);
		printf("# partition %.0f pages/s, shmem %.0f pages/s\n",
		       RAM_PAGES * 1e3 / ks_median(t_pool, ROUNDS),
		       RAM_PAGES * 1e3 / ks_median(t_shmem, ROUNDS));
		printf("bench: pool.fault_time_vs_shmem %.3f\n",
		       ks_median(ratio, ROUNDS * CHUNKS));
	}
	return failed ? 1 : 0;
}
