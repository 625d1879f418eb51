// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for kvmshare selftests (see ksutil.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <time.h>

#include "ksutil.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

int ks_pool_mount(char *dir, size_t dirlen, const char *opts)
{
	snprintf(dir, dirlen, "/tmp/kspool.XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	if (mount("none", dir, "kvmshare", 0, opts)) {
		int err = -errno;

		rmdir(dir);
		return err;
	}
	return 0;
}

int ks_pool_umount(const char *dir)
{
	if (umount(dir))
		return -errno;
	if (rmdir(dir))
		return -errno;
	return 0;
}

int ks_pool_remount(const char *dir, const char *opts)
{
	if (mount("none", dir, "kvmshare", MS_REMOUNT, opts))
		return -errno;
	return 0;
}

int ks_part_create(const char *dir, const char *name, uint64_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size)) {
		int err = -errno;

		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

int ks_pool_info(const char *dir, struct kvmshare_pool_info *info)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, KVMSHARE_IOC_POOL_INFO, info) ? -errno : 0;
	close(fd);
	return ret;
}

int ks_part_stats(int fd, struct kvmshare_part_stats *st)
{
	return ioctl(fd, KVMSHARE_IOC_GET_STATS, st) ? -errno : 0;
}

int ks_part_set(int fd, uint32_t flags, uint64_t ent, uint64_t limit,
		uint32_t weight)
{
	struct kvmshare_part_attr a = {
		.flags = flags,
		.entitlement_pages = ent,
		.limit_pages = limit,
		.weight = weight,
	};

	return ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a) ? -errno : 0;
}

static int ks_sysfs_path(char *path, size_t len, const char *fmt, va_list ap)
{
	int n = snprintf(path, len, "/sys/fs/kvmshare/");

	vsnprintf(path + n, len - n, fmt, ap);
	return 0;
}

long long ks_sysfs_num(const char *fmt, ...)
{
	char path[512], buf[64];
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	ks_sysfs_path(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 0);
}

int ks_timeout_factor(void)
{
	const char *factor = getenv("KVMSHARE_TIMEOUT_FACTOR");

	return factor && atoi(factor) > 1 ? atoi(factor) : 1;
}

long long ks_sysfs_settle(long long want, int secs, const char *fmt, ...)
{
	char rel[512];
	long long v = -1;
	va_list ap;
	int i;

	/* a slower kernel (the debug lane) stretches the wait */
	secs *= ks_timeout_factor();
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	for (i = 0; i <= secs * 10; i++) {
		v = ks_sysfs_num("%s", rel);
		if (v == want)
			break;
		usleep(100000);
	}
	return v;
}

int ks_sysfs_exists(const char *fmt, ...)
{
	char path[512];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	ks_sysfs_path(path, sizeof(path), fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0;
}

static sigjmp_buf ks_jmp;
/* Pages done; stored to memory each step so that it survives siglongjmp. */
static uint64_t ks_touched;

static void ks_sigbus(int sig)
{
	siglongjmp(ks_jmp, 1);
}

uint64_t ks_touch(uint8_t *p, uint64_t len, int write)
{
	struct sigaction sa = { .sa_handler = ks_sigbus }, old;
	uint64_t i;

	__atomic_store_n(&ks_touched, 0, __ATOMIC_SEQ_CST);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(ks_jmp, 1) == 0) {
		for (i = 0; i < len / KS_PAGE; i++) {
			if (write)
				__atomic_store_n(&p[i * KS_PAGE],
						 (uint8_t)(i + 1),
						 __ATOMIC_RELAXED);
			else
				(void)__atomic_load_n(&p[i * KS_PAGE],
						      __ATOMIC_RELAXED);
			__atomic_store_n(&ks_touched, i + 1, __ATOMIC_SEQ_CST);
		}
	}
	sigaction(SIGBUS, &old, NULL);
	return __atomic_load_n(&ks_touched, __ATOMIC_SEQ_CST);
}

uint64_t ks_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int ks_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double ks_median(const double *in, int n)
{
	double *v, m;

	if (n <= 0)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return 0;
	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), ks_cmp_double);
	m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	free(v);
	return m;
}

static int ks_tests, ks_nfailed;

void ks_result(int ok, const char *what)
{
	ks_tests++;
	if (!ok)
		ks_nfailed++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", ks_tests, what);
	fflush(stdout);
}

int ks_failed(void)
{
	return ks_nfailed;
}

long long ks_file_num(const char *path, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	char line[512];
	long long v = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (klen && strncmp(line, key, klen))
			continue;
		v = strtoll(line + klen, NULL, 10);
		break;
	}
	if (f)
		fclose(f);
	return v;
}

int ks_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void ks_pool_debugfs_path(char *path, size_t len, const char *name,
				 const char *file)
{
	snprintf(path, len, "/sys/kernel/debug/kvmshare/%s/%s", name, file);
}

int ks_pool_inject(const char *name, int point, int ms, int count)
{
	static const char * const files[] = {
		"inject_ms", "inject_count", "inject_point",
	};
	int vals[] = { ms, count, point };
	char path[160], v[16];
	int i, ret;

	/* The point last: the hook is armed whole when it matches. */
	for (i = 0; i < 3; i++) {
		ks_pool_debugfs_path(path, sizeof(path), name, files[i]);
		snprintf(v, sizeof(v), "%d", vals[i]);
		ret = ks_write_file(path, v);
		if (ret)
			return ret;
	}
	return 0;
}

long long ks_pool_debugfs_num(const char *name, const char *file)
{
	char path[160];

	ks_pool_debugfs_path(path, sizeof(path), name, file);
	return ks_file_num(path, NULL);
}

int ks_pool_inject_wait(const char *name, int ms)
{
	int i;

	for (i = 0; i <= ms / 10; i++) {
		if (ks_pool_debugfs_num(name, "inject_count") == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

int ks_wait_resident(int fd, uint64_t max, int secs)
{
	struct kvmshare_part_stats st;
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (!ks_part_stats(fd, &st) && st.resident_pages <= max)
			return 0;
		usleep(100000);
	}
	return -1;
}

int ks_evict_all(int fd)
{
	struct kvmshare_part_attr a = { .flags = KVMSHARE_ATTR_TARGET,
					.target_pages = 1 };
	struct kvmshare_part_stats st;
	int ret, i;

	if (ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a))
		return -errno;
	ret = ks_wait_resident(fd, 1, 30);
	a.target_pages = 0;
	if (ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a))
		return -errno;
	for (i = 0; !ret && i < 100; i++) {
		if (ks_part_stats(fd, &st))
			return -1;
		if (!st.resident_pages)
			return 0;
		ret = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		usleep(100000);
	}
	return -1;
}

/* Lines of the kernel log that contain one of @pat[0..@n). */
static int ks_klog_match(const char *const *pat, unsigned int n)
{
	int len = klogctl(10, NULL, 0), got, count = 0;
	char *buf, *line, *save;
	unsigned int i;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	got = klogctl(3, buf, len);
	if (got < 0) {
		free(buf);
		return -1;
	}
	buf[got] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < n; i++)
			if (strstr(line, pat[i])) {
				count++;
				break;
			}
	free(buf);
	return count;
}

int ks_klog_bad(void)
{
	static const char *const pat[] = {
		"WARNING:", "BUG:", "Oops", "general protection",
		"list_add corruption", "list_del corruption", "refcount_t:",
		"kernel BUG",
	};

	return ks_klog_match(pat, ARRAY_SIZE(pat));
}

int ks_klog_count(const char *needle)
{
	return ks_klog_match(&needle, 1);
}

void ks_dump_file(ks_out_fn out, const char *path, const char *prefix,
		  int tail)
{
	char lines[64][1024];
	int n = 0, i;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (tail > 64)
		tail = 64;
	while (fgets(lines[n % 64], sizeof(lines[0]), f))
		n++;
	fclose(f);
	for (i = n > tail ? n - tail : 0; i < n; i++) {
		lines[i % 64][strcspn(lines[i % 64], "\n")] = 0;
		out("%s%s", prefix, lines[i % 64]);
	}
}

void ks_dump_tasks(ks_out_fn out)
{
	static const char *const what[] = { "stack", "stat", "syscall" };
	static const char *const pre[] = { "  ", "  stat: ", "  syscall: " };
	static const int tail[] = { 16, 1, 1 };
	char path[320];
	struct dirent *de;
	unsigned int i;
	DIR *d;

	d = opendir("/proc/self/task");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		out("task %s:", de->d_name);
		for (i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/%s",
				 de->d_name, what[i]);
			ks_dump_file(out, path, pre[i], tail[i]);
		}
	}
	if (d)
		closedir(d);
}

static void ks_kvm_events(const char *on)
{
	static const char *const ev[] = { "kvm_exit", "kvm_page_fault",
					  "kvm_inj_exception" };
	char path[160];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/tracing/events/kvm/%s/enable",
			 ev[i]);
		ks_write_file(path, on);
	}
}

void ks_dump_kvm_trace(ks_out_fn out)
{
	const char *trace = "/sys/kernel/debug/tracing/trace";

	ks_write_file(trace, "");
	/* all exits, not only the shutdowns of mvm_trace_shutdowns() */
	ks_write_file("/sys/kernel/debug/tracing/events/kvm/kvm_exit/filter",
		      "0");
	ks_kvm_events("1");
	sleep(1);
	ks_kvm_events("0");
	ks_dump_file(out, trace, "kvm trace: ", 40);
}
