// SPDX-License-Identifier: GPL-2.0
/*
 * forkvm: a VMM that forks while its vCPUs run must keep its guests
 * running right. Two vCPUs of a mini VM (mvm) fill and verify their
 * halves of a data slot in a loop while another thread forks children
 * that dirty their copy of the VMM's memory and exit (variant fork), or
 * punches holes in the second half and faults pages back (variant punch:
 * guest memory freed and reallocated under a running vCPU; vCPU 1 only
 * fills it). The data slot is a memfd or a kvmshare partition file.
 *
 * Manual suite forkvm. It is also a check of the test VM's emulator: on
 * bookworm's QEMU 7.2 the fork variant's guests triple-faulted with the
 * memfd slot too, with the guest's memory excluded from the fork
 * (MADV_DONTFORK) and its page tables and code intact as the host sees
 * them: the emulator can do that without kvmshare. On QEMU 10
 * (scripts/qemu.sh) guests triple-faulted on the partition and on the
 * memfd, and a vCPU never came back once (Documentation/dev-guide.rst,
 * "The emulator", has the counts);
 * KVMSHARE_QEMU=system runs the suite on 7.2 for comparison. Longer runs:
 *   KVMSHARE_VM_APPEND="FORKVM_SECONDS=120" make check SUITES=forkvm
 *
 *   FORKVM_SECONDS   seconds per test (default 20)
 *   FORKVM_ONLY      run only the tests whose variant.name contains it
 *                    (e.g. "fork.memfd"), skip the others
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/mvm.h"

#define SLOT_PAGES	1024UL		/* 4 MiB, two halves */
#define BATCH		64UL

struct vthread {
	struct mvm_vcpu *vcpu;
	bool verify;			/* its half is not punched */
	pthread_t t;
	uint64_t base, pages;
	uint64_t loops;
	int err;
	uint64_t bad_addr;
	int done;			/* __atomic: vcpu_main() returned */
};

static int stop_now;		/* __atomic */
static uint8_t scratch[16 * KS_PAGE];

static void *vcpu_main(void *arg)
{
	struct vthread *v = arg;
	struct mvm_result res;
	uint64_t seed = 0x5eed0000ULL + v->vcpu->id, off = 0;

	while (!__atomic_load_n(&stop_now, __ATOMIC_RELAXED) && !v->err) {
		uint64_t gpa = v->base + off * KS_PAGE;

		seed += 0x10000;
		v->err = mvm_call(v->vcpu, MVM_OP_FILL, gpa, BATCH, seed, &res);
		if (!v->err && res.status)
			v->err = -EBADMSG;
		if (!v->err && v->verify)
			v->err = mvm_call(v->vcpu, MVM_OP_VERIFY, gpa, BATCH,
					  seed, &res);
		if (!v->err && res.status) {
			v->err = -EBADMSG;
			v->bad_addr = res.addr;
		}
		off = (off + BATCH) % v->pages;
		v->loops++;
	}
	__atomic_store_n(&v->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A vCPU call takes milliseconds: a vCPU thread not back within
 * STUCK_SECS of the stop is stuck. Print what it, KVM and the other
 * threads are doing (mvm_dump_threads(), the threads' kernel stacks, one
 * second of KVM's trace, the CPUs' stacks on the console). Returns true
 * if all returned.
 */
#define STUCK_SECS	60

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static bool vcpus_returned(struct vthread *v, int n)
{
	pthread_t stuck[2];
	int i, k = 0, s;

	for (s = 0; s < STUCK_SECS * 10; s++) {
		for (i = 0, k = 0; i < n; i++)
			if (!__atomic_load_n(&v[i].done, __ATOMIC_ACQUIRE))
				k++;
		if (!k)
			return true;
		usleep(100000);
	}
	for (i = 0, k = 0; i < n; i++)
		if (!__atomic_load_n(&v[i].done, __ATOMIC_ACQUIRE)) {
			diag("vCPU %d: not back from its call %d s after the stop (%lu loops done)",
			     v[i].vcpu->id, STUCK_SECS, v[i].loops);
			stuck[k++] = v[i].t;
		}
	mvm_dump_threads(stuck, k);
	ks_dump_tasks(diag);
	ks_dump_kvm_trace(diag);
	ks_write_file("/proc/sysrq-trigger", "l");
	return false;
}

/*
 * Punch holes in the second half of the slot (vCPU 1 fills it, without
 * verifying) and fault pages back from the host: guest memory freed and
 * reallocated under a running vCPU.
 */
static uint64_t punch_loop(int fd, uint8_t *map, double secs)
{
	struct timespec t0, t;
	uint64_t n = 0, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		i = SLOT_PAGES / 2 + (n * 7) % (SLOT_PAGES / 2 - 16);
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  i * KS_PAGE, 16 * KS_PAGE);
		map[(i + 3) * KS_PAGE] = 1;
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	return n;
}

/* Fork children that dirty the parent's private memory and exit. */
static uint64_t fork_loop(struct mvm *vm, double secs)
{
	struct timespec t0, t;
	uint64_t forks = 0;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		pid = fork();
		if (pid == 0) {
			/*
			 * The child has no guest memory (MADV_DONTFORK): it
			 * writes its copy of the VMM's other memory.
			 */
			memset(scratch, 0x5a, sizeof(scratch));
			_exit(0);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			forks++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	return forks;
}

static void run(struct __test_metadata *_metadata, int fd, const char *what,
		bool punch)
{
	double secs = getenv("FORKVM_SECONDS") ?
		      atof(getenv("FORKVM_SECONDS")) : 20;
	const char *only = getenv("FORKVM_ONLY");
	char name[64];
	struct vthread v[2];
	struct mvm *vm;
	uint64_t forks;
	uint8_t *map;
	int i;

	snprintf(name, sizeof(name), "%s.%s", punch ? "punch" : "fork", what);
	if (only && !strstr(name, only))
		SKIP(return, "FORKVM_ONLY=%s", only);
	map = mmap(NULL, SLOT_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	vm = mvm_create();
	ASSERT_NE(NULL, vm);
	ASSERT_EQ(0, mvm_set_slot(vm, 1, MVM_DATA_GPA, map,
				  SLOT_PAGES * KS_PAGE));
	__atomic_store_n(&stop_now, 0, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].vcpu = mvm_vcpu_create(vm, i);
		ASSERT_NE(NULL, v[i].vcpu);
		v[i].base = MVM_DATA_GPA + i * (SLOT_PAGES / 2) * KS_PAGE;
		v[i].pages = SLOT_PAGES / 2;
		v[i].verify = !punch || i == 0;
		ASSERT_EQ(0, pthread_create(&v[i].t, NULL, vcpu_main, &v[i]));
	}
	forks = punch ? punch_loop(fd, map, secs) : fork_loop(vm, secs);
	__atomic_store_n(&stop_now, 1, __ATOMIC_RELAXED);
	/* A stuck vCPU thread is left behind: the test's process ends. */
	ASSERT_TRUE(vcpus_returned(v, 2));
	for (i = 0; i < 2; i++) {
		pthread_join(v[i].t, NULL);
		ksft_print_msg("%s: vCPU %d: %lu loops, result %d (bad address 0x%lx)\n",
			       what, i, v[i].loops, v[i].err, v[i].bad_addr);
		EXPECT_EQ(0, v[i].err);
		mvm_vcpu_destroy(v[i].vcpu);
	}
	ksft_print_msg("%s: %lu %s in %.0f s\n", what, forks,
		       punch ? "punches" : "forks", secs);
	mvm_destroy(vm);
	munmap(map, SLOT_PAGES * KS_PAGE);
}

FIXTURE(forkvm) {
	int unused;
};

FIXTURE_VARIANT(forkvm) {
	bool punch;
};

FIXTURE_VARIANT_ADD(forkvm, fork) {
	.punch = false,
};

FIXTURE_VARIANT_ADD(forkvm, punch) {
	.punch = true,
};

/* A triple fault says where it was (mvm_trace_shutdowns()). */
FIXTURE_SETUP(forkvm)
{
	mvm_trace_shutdowns(true);
}

FIXTURE_TEARDOWN(forkvm)
{
	mvm_trace_shutdowns(false);
}

TEST_F_TIMEOUT(forkvm, memfd_slot, 600)
{
	int fd = memfd_create("forkvm", MFD_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, SLOT_PAGES * KS_PAGE));
	run(_metadata, fd, "memfd", variant->punch);
	close(fd);
}

TEST_F_TIMEOUT(forkvm, pool_slot, 600)
{
	char dir[64], path[128];
	int fd;

	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir), "size=16M"));
	fd = ks_part_create(dir, "vm", SLOT_PAGES * KS_PAGE);
	ASSERT_GE(fd, 0);
	run(_metadata, fd, "pool", variant->punch);
	close(fd);
	snprintf(path, sizeof(path), "%s/vm", dir);
	unlink(path);
	EXPECT_EQ(0, ks_pool_umount(dir));
}

TEST_HARNESS_MAIN
