// SPDX-License-Identifier: GPL-2.0
/*
 * pager benchmark (make bench), in the test VM:
 *
 *   bench: pager.pagein_rate_vs_uffd R   pages/s paged in through the pool
 *                                        and the reference paging service,
 *                                        divided by pages/s of userfaultfd
 *   bench: pager.pageout_rate P          pages/s evicted with a target
 *
 * The workload: a nested KVM guest (mvm) with NR_VCPUS vCPUs, each from its
 * own thread, reads one qword of every page of its share of a data slot of
 * NR_PAGES pages (MVM_OP_TOUCH_RD), all of them away from memory, then the
 * whole slot is verified (not timed).
 *
 * Ours: the slot is a pool partition whose pages were written and then
 * evicted with a target (that is the page-out rate) to kvmshare-pagerd,
 * file back end on tmpfs; the guest's faults page them in.
 *
 * Baseline: the same guest over a memfd registered with userfaultfd
 * (UFFDIO_REGISTER_MODE_MISSING); one handler thread preads each faulting
 * page from a tmpfs file holding the same data and resolves the fault with
 * UFFDIO_COPY, as a post-copy VMM does.
 *
 * Both guests exist side by side and take turns, a chunk of pages at a
 * time, the order flipping every chunk, so that drift (the emulated VM
 * shares its host) hits both alike; each round starts on new files and new
 * VMs. R is the median over all chunks of the ratio of the two rates; P is
 * the median over rounds. Times under TCG are emulated and only comparable
 * within one run.
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
#include <linux/userfaultfd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../lib/ksutil.h"
#include "../lib/kspager.h"
#include "../lib/mvm.h"

#define NR_VCPUS	4
#define NR_PAGES	4096UL			/* 16 MiB */
#define POOL_MB		(2 * NR_PAGES / 256 + 16)
#define STORE_BLOCKS	(4 * NR_PAGES)
#define CHUNKS		8
#define CHUNK_PAGES	(NR_PAGES / CHUNKS)
#define ROUNDS		4
#define SEED		0x7a6eULL
#define STORE_PATH	"/dev/shm/ksbench-store"
#define DATA_PATH	"/dev/shm/ksbench-data"
#define PIDFILE		"/tmp/ksbench-pagerd.pid"
#define PAGERD_LOG	"/tmp/ksbench-pagerd.log"

static int tests, failed;

static void result(int ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", tests, what);
	fflush(stdout);
}

/* The paging service: the reference daemon, or the in-test thread. */
static pid_t pagerd_pid;
static struct ks_pager kspager = { .fd = -1 };

static int pagerd_start(const char *dir)
{
	char blocks[32], backend[64];
	int i, status;

	unlink(PIDFILE);
	snprintf(blocks, sizeof(blocks), "%lu", STORE_BLOCKS);
	snprintf(backend, sizeof(backend), "file:%s", STORE_PATH);
	pagerd_pid = fork();
	if (pagerd_pid < 0)
		return -errno;
	if (!pagerd_pid) {
		int log = open(PAGERD_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* Its messages are not TAP: shown as comments at the end. */
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
			close(log);
		}
		execlp("kvmshare-pagerd", "kvmshare-pagerd", "--pool", dir,
		       "--backend", backend, "--blocks", blocks,
		       "--pidfile", PIDFILE, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if (!access(PIDFILE, F_OK))
			return 0;
		if (waitpid(pagerd_pid, &status, WNOHANG) == pagerd_pid) {
			printf("# kvmshare-pagerd exited with status %d\n",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			pagerd_pid = 0;
			return -ENOENT;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void pager_stop(void)
{
	char line[256];
	FILE *f;
	int status;

	if (pagerd_pid > 0) {
		kill(pagerd_pid, SIGTERM);
		waitpid(pagerd_pid, &status, 0);
		pagerd_pid = 0;
	}
	f = fopen(PAGERD_LOG, "r");
	while (f && fgets(line, sizeof(line), f))
		printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
	if (f)
		fclose(f);
	unlink(PAGERD_LOG);
	if (kspager.fd >= 0)
		ks_pager_detach(&kspager);
	unlink(STORE_PATH);
}

/* The userfaultfd handler: one thread, as a post-copy VMM has. */
struct uffd_handler {
	int uffd;
	int stop;			/* eventfd */
	int data;			/* the backing data */
	uint64_t base;			/* start of the registered range */
	uint64_t copies;
	int err;
	int running;
	pthread_t thread;
};

/* One side: a guest of NR_VCPUS vCPUs, data slot at MVM_DATA_GPA. */
struct side {
	const char *what;
	int fd;
	char path[128];			/* a partition's, to unlink */
	uint8_t *ram;
	struct mvm *vm;
	struct mvm_vcpu *vcpu[NR_VCPUS];
	struct uffd_handler h;
	uint64_t total_ns;
};

static void side_init(struct side *s, const char *what)
{
	memset(s, 0, sizeof(*s));
	s->what = what;
	s->fd = -1;
	s->h.uffd = -1;
	s->h.stop = -1;
}

static int side_map(struct side *s)
{
	s->ram = mmap(NULL, NR_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, s->fd, 0);
	if (s->ram == MAP_FAILED) {
		printf("# %s: mmap: %s\n", s->what, strerror(errno));
		s->ram = NULL;
		return -1;
	}
	return 0;
}

static int side_guest(struct side *s)
{
	struct mvm_result res;
	int i;

	s->vm = mvm_create();
	if (!s->vm ||
	    mvm_set_slot(s->vm, 1, MVM_DATA_GPA, s->ram, NR_PAGES * KS_PAGE))
		return -1;
	for (i = 0; i < NR_VCPUS; i++) {
		s->vcpu[i] = mvm_vcpu_create(s->vm, i);
		if (!s->vcpu[i])
			return -1;
		/* First entry, and each vCPU has its own mailbox. */
		if (mvm_call(s->vcpu[i], MVM_OP_PING, 100 + i, 0, 0, &res) ||
		    res.value != 101 + (uint64_t)i) {
			printf("# %s: vCPU %d: bad PING answer\n", s->what, i);
			return -1;
		}
	}
	return 0;
}

static void side_close(struct side *s)
{
	uint64_t one = 1;
	int i;

	for (i = 0; i < NR_VCPUS; i++)
		mvm_vcpu_destroy(s->vcpu[i]);
	mvm_destroy(s->vm);
	if (s->h.running) {
		if (write(s->h.stop, &one, sizeof(one)) == sizeof(one))
			pthread_join(s->h.thread, NULL);
	}
	if (s->h.stop >= 0)
		close(s->h.stop);
	if (s->h.uffd >= 0)
		close(s->h.uffd);
	if (s->ram)
		munmap(s->ram, NR_PAGES * KS_PAGE);
	if (s->fd >= 0)
		close(s->fd);
	if (s->path[0])
		unlink(s->path);
}

struct vcpu_job {
	struct mvm_vcpu *vcpu;
	pthread_barrier_t *start;
	uint64_t gpa, pages;
	int ret;
	uint64_t status;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_job *j = arg;
	struct mvm_result res;

	pthread_barrier_wait(j->start);
	j->ret = mvm_call(j->vcpu, MVM_OP_TOUCH_RD, j->gpa, j->pages, 0, &res);
	j->status = res.status;
	return NULL;
}

/*
 * Every vCPU reads its share of chunk @c, all at once, each from its own
 * thread. Returns the time in ns, or 0 on error.
 */
static uint64_t side_read(struct side *s, int c)
{
	uint64_t share = CHUNK_PAGES / NR_VCPUS, t0, ns;
	struct vcpu_job job[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	pthread_barrier_t start;
	int i, ok = 1;

	pthread_barrier_init(&start, NULL, NR_VCPUS + 1);
	for (i = 0; i < NR_VCPUS; i++) {
		job[i].vcpu = s->vcpu[i];
		job[i].start = &start;
		job[i].gpa = MVM_DATA_GPA +
			     (c * CHUNK_PAGES + i * share) * KS_PAGE;
		job[i].pages = share;
		pthread_create(&th[i], NULL, vcpu_thread, &job[i]);
	}
	pthread_barrier_wait(&start);
	t0 = ks_now_ns();
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(th[i], NULL);
	ns = ks_now_ns() - t0;
	pthread_barrier_destroy(&start);
	for (i = 0; i < NR_VCPUS; i++) {
		if (job[i].ret || job[i].status != MVM_OK) {
			printf("# %s: vCPU %d: ret %d status %llu\n", s->what,
			       i, job[i].ret,
			       (unsigned long long)job[i].status);
			ok = 0;
		}
	}
	s->total_ns += ns;
	return ok ? ns : 0;
}

/* The guest checks every page of its slot (not timed). */
static int side_verify(struct side *s)
{
	struct mvm_result res;

	if (mvm_call(s->vcpu[0], MVM_OP_VERIFY, MVM_DATA_GPA, NR_PAGES, SEED,
		     &res) || res.status != MVM_OK) {
		printf("# %s: guest verify failed at 0x%llx\n", s->what,
		       (unsigned long long)res.addr);
		return -1;
	}
	return 0;
}

/*
 * Ours: a partition written with the data, then evicted with a target,
 * all but one page, while the service runs. Fills @out_ns with the time
 * of the page-out; 0 or -1.
 */
static int setup_pool(struct side *s, const char *dir, int round,
		      const uint8_t *data, double *out_ns,
		      struct kvmshare_part_stats *st0)
{
	struct kvmshare_part_attr a = { .flags = KVMSHARE_ATTR_TARGET };
	struct kvmshare_part_stats st;
	char name[32];
	uint64_t t0, ns;
	int i;

	snprintf(name, sizeof(name), "vm%d", round);
	s->fd = ks_part_create(dir, name, NR_PAGES * KS_PAGE);
	if (s->fd < 0) {
		printf("# partition: %s\n", strerror(-s->fd));
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s", dir, name);
	if (side_map(s))
		return -1;
	memcpy(s->ram, data, NR_PAGES * KS_PAGE);
	if (side_guest(s) || ks_part_stats(s->fd, st0))
		return -1;

	a.target_pages = 1;
	t0 = ks_now_ns();
	if (ioctl(s->fd, KVMSHARE_IOC_SET_ATTR, &a))
		return -1;
	for (i = 0; i < 600000; i++) {
		if (!ks_part_stats(s->fd, &st) && st.resident_pages <= 1)
			break;
		usleep(500);
	}
	ns = ks_now_ns() - t0;
	/* No target any more: what is paged in stays. */
	a.target_pages = 0;
	if (ioctl(s->fd, KVMSHARE_IOC_SET_ATTR, &a) ||
	    ks_part_stats(s->fd, &st))
		return -1;
	if (st.resident_pages > 1 ||
	    st.pageouts - st0->pageouts < NR_PAGES - 1) {
		printf("# page-out: resident %llu, %llu pageouts, %llu zero\n",
		       (unsigned long long)st.resident_pages,
		       (unsigned long long)(st.pageouts - st0->pageouts),
		       (unsigned long long)st.zero_pages);
		return -1;
	}
	*out_ns = (double)ns * NR_PAGES / (st.pageouts - st0->pageouts);
	*st0 = st;
	return 0;
}

static void *uffd_thread(void *arg)
{
	struct uffd_handler *h = arg;
	struct uffd_msg msg[64];
	uint8_t *buf;

	buf = aligned_alloc(KS_PAGE, KS_PAGE);
	if (!buf) {
		h->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = h->uffd, .events = POLLIN },
			{ .fd = h->stop, .events = POLLIN },
		};
		ssize_t n;
		int i;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			h->err = errno;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(h->uffd, msg, sizeof(msg));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			h->err = errno;
			break;
		}
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			uint64_t addr = msg[i].arg.pagefault.address &
					~(KS_PAGE - 1);
			struct uffdio_copy c = {
				.dst = addr, .src = (uintptr_t)buf,
				.len = KS_PAGE,
			};

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			if (pread(h->data, buf, KS_PAGE, addr - h->base) !=
			    (ssize_t)KS_PAGE) {
				h->err = EIO;
				continue;
			}
			/* EEXIST: another fault on the page won the race. */
			if (ioctl(h->uffd, UFFDIO_COPY, &c) && errno != EEXIST)
				h->err = errno;
			else
				h->copies++;
		}
	}
	free(buf);
	return NULL;
}

/* Baseline: a memfd registered with userfaultfd, a handler thread. */
static int setup_uffd(struct side *s, int datafd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	s->fd = memfd_create("pager-bench", MFD_CLOEXEC);
	if (s->fd < 0 || ftruncate(s->fd, NR_PAGES * KS_PAGE)) {
		printf("# memfd: %s\n", strerror(errno));
		return -1;
	}
	if (side_map(s))
		return -1;
	s->h.data = datafd;
	s->h.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (s->h.uffd < 0 || ioctl(s->h.uffd, UFFDIO_API, &api)) {
		printf("# userfaultfd: %s\n", strerror(errno));
		return -1;
	}
	s->h.base = (uintptr_t)s->ram;
	reg.range.start = s->h.base;
	reg.range.len = NR_PAGES * KS_PAGE;
	if (ioctl(s->h.uffd, UFFDIO_REGISTER, &reg)) {
		printf("# UFFDIO_REGISTER: %s\n", strerror(errno));
		return -1;
	}
	s->h.stop = eventfd(0, EFD_CLOEXEC);
	if (s->h.stop < 0 ||
	    pthread_create(&s->h.thread, NULL, uffd_thread, &s->h))
		return -1;
	s->h.running = 1;
	return side_guest(s);
}

/*
 * One round: both sides set up, then read chunk by chunk in turns. Fills
 * @ratio with CHUNKS ratios of rates (ours / userfaultfd), and @in_pool,
 * @in_uffd, @out_pool with the round's rates in pages/s; 0 or -1.
 */
static int one_round(const char *dir, int round, const uint8_t *data,
		     int datafd, double *ratio, double *in_pool,
		     double *in_uffd, double *out_pool)
{
	struct kvmshare_part_stats st0, st;
	struct side pool, uffd;
	double out_ns;
	int c, ret = -1;

	side_init(&pool, "partition");
	side_init(&uffd, "userfaultfd");
	if (setup_pool(&pool, dir, round, data, &out_ns, &st0) ||
	    setup_uffd(&uffd, datafd))
		goto out;
	for (c = 0; c < CHUNKS; c++) {
		uint64_t a, b;

		/* Take turns; who goes first flips every chunk. */
		if ((c + round) % 2) {
			b = side_read(&uffd, c);
			a = b ? side_read(&pool, c) : 0;
		} else {
			a = side_read(&pool, c);
			b = a ? side_read(&uffd, c) : 0;
		}
		if (!a || !b)
			goto out;
		ratio[c] = (double)b / a;
	}
	if (ks_part_stats(pool.fd, &st))
		goto out;
	if (st.pageins - st0.pageins < NR_PAGES - 1 || st.pagein_errors ||
	    uffd.h.err || uffd.h.copies < NR_PAGES) {
		printf("# %llu page-ins, %llu errors; %llu UFFDIO_COPY, error %d\n",
		       (unsigned long long)(st.pageins - st0.pageins),
		       (unsigned long long)st.pagein_errors,
		       (unsigned long long)uffd.h.copies, uffd.h.err);
		goto out;
	}
	if (side_verify(&pool) || side_verify(&uffd))
		goto out;
	*out_pool = NR_PAGES * 1e9 / out_ns;
	*in_pool = NR_PAGES * 1e9 / pool.total_ns;
	*in_uffd = NR_PAGES * 1e9 / uffd.total_ns;
	ret = 0;
out:
	side_close(&pool);
	side_close(&uffd);
	return ret;
}

/* The pages' data, as the guest's FILL would write it, in a tmpfs file. */
static int make_data(uint8_t **data)
{
	uint64_t i, q;
	int fd;

	fd = open(DATA_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, NR_PAGES * KS_PAGE))
		return -1;
	*data = mmap(NULL, NR_PAGES * KS_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fd, 0);
	if (*data == MAP_FAILED)
		return -1;
	for (i = 0; i < NR_PAGES; i++) {
		uint64_t *p = (uint64_t *)(*data + i * KS_PAGE);

		for (q = 0; q < KS_PAGE / 8; q++)
			p[q] = mvm_pattern(MVM_DATA_GPA + i * KS_PAGE, SEED);
	}
	return fd;
}

/* Wait until the pool's store holds nothing (DISCARDs served). */
static void wait_store_empty(const char *name)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (ks_sysfs_num("%s/blocks_used", name) == 0)
			return;
		usleep(5000);
	}
}

int main(void)
{
	double in_pool[ROUNDS], in_uffd[ROUNDS], out_pool[ROUNDS];
	double ratio[ROUNDS * CHUNKS];
	char dir[64], name[32], opts[128];
	uint8_t *data = NULL;
	int r, ok = 1, ret, datafd;
	const char *service;

	printf("TAP version 13\n1..4\n");
	snprintf(name, sizeof(name), "kspgb%d", getpid());
	snprintf(opts, sizeof(opts), "size=%luM,name=%s",
		 (unsigned long)POOL_MB, name);
	ret = ks_pool_mount(dir, sizeof(dir), opts);
	datafd = make_data(&data);
	result(!ret && datafd >= 0, "mount a pool, write the backing data");
	if (ret || datafd < 0)
		return 1;

	service = "kvmshare-pagerd, file back end on tmpfs";
	ret = pagerd_start(dir);
	if (ret) {
		/* The product cannot run here: the in-test service. */
		printf("# kvmshare-pagerd did not start (%s): using lib/kspager.c\n",
		       strerror(-ret));
		service = "lib/kspager.c thread, memfd store";
		ret = ks_pager_attach(&kspager, dir, STORE_BLOCKS, 256, 64, 0,
				      -1);
		if (!ret)
			ret = ks_pager_run(&kspager);
	}
	result(!ret, "a paging service serves the pool");
	printf("# service: %s\n", service);
	printf("# %d vCPUs, %lu pages, %d rounds, chunks of %lu pages\n",
	       NR_VCPUS, NR_PAGES, ROUNDS, CHUNK_PAGES);
	if (ret)
		return 1;

	for (r = 0; r < ROUNDS && ok; r++) {
		ok = !one_round(dir, r, data, datafd, ratio + r * CHUNKS,
				&in_pool[r], &in_uffd[r], &out_pool[r]);
		if (!ok)
			break;
		wait_store_empty(name);
		printf("# round %d: in %.0f/s, uffd %.0f/s, ratio %.3f, out %.0f/s\n",
		       r, in_pool[r], in_uffd[r],
		       ks_median(ratio + r * CHUNKS, CHUNKS), out_pool[r]);
	}
	result(ok, "the guest reads back every page, paged in by the service and by userfaultfd");
	pager_stop();
	munmap(data, NR_PAGES * KS_PAGE);
	close(datafd);
	unlink(DATA_PATH);
	result(ks_pool_umount(dir) == 0, "the pool unmounts");
	if (ok) {
		printf("# medians: page-in %.0f pages/s, userfaultfd %.0f pages/s\n",
		       ks_median(in_pool, ROUNDS), ks_median(in_uffd, ROUNDS));
		printf("bench: pager.pagein_rate_vs_uffd %.3f\n",
		       ks_median(ratio, ROUNDS * CHUNKS));
		printf("bench: pager.pageout_rate %.0f\n",
		       ks_median(out_pool, ROUNDS));
	}
	return failed ? 1 : 0;
}
