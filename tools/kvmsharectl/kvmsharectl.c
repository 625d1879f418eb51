// SPDX-License-Identifier: GPL-2.0
/*
 * kvmsharectl: administer kvmshare memory pools and partitions.
 *
 *   kvmsharectl mount DIR [size=S] [reserve=S] [name=N] [mode=M]
 *   kvmsharectl resize DIR [size=S] [reserve=S]
 *   kvmsharectl umount DIR
 *   kvmsharectl create FILE SIZE [entitlement=S] [limit=S] [weight=W]
 *   kvmsharectl set FILE [entitlement=S] [limit=S] [weight=W] [target=S]
 *   kvmsharectl remove FILE
 *   kvmsharectl status DIR
 *   kvmsharectl balloon QMP-SOCKET SIZE
 *   kvmsharectl qmp [--timeout SECONDS] QMP-SOCKET JSON-COMMAND
 *   kvmsharectl metrics FILE [CONTROL-FILE|none]
 *   kvmsharectl balance DIR [--min SIZE] [--interval MS] [--hold MS] [--once]
 *                       [--manual]
 *                       --qmp NAME=QMP-SOCKET...
 *
 * Sizes are bytes with an optional K, M, G or T suffix (powers of 1024);
 * pool sizes may also be a percentage of RAM ("25%"). Partition sizes are
 * rounded up to whole pages. See Documentation/admin-guide/pool.rst.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <sys/un.h>
#include <linux/kvmshare.h>
#include <linux/kvmshare_pager.h>
#include <linux/kvmshare_metrics.h>
#include <json-c/json.h>

#define PAGE_SZ 4096ULL
/* Seconds a whole QMP exchange may take (qmp --timeout overrides). */
#define QMP_TIMEOUT_S 30
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *prog = "kvmsharectl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  %s mount DIR [size=S] [reserve=S] [name=N] [mode=M]\n"
		"  %s resize DIR [size=S] [reserve=S]\n"
		"  %s umount DIR\n"
		"  %s create FILE SIZE [entitlement=S] [limit=S] [weight=W]\n"
		"  %s set FILE [entitlement=S] [limit=S] [weight=W] [target=S]\n"
		"  %s remove FILE\n"
		"  %s status DIR\n"
		"  %s pager-stop DIR ID           (controlled stop of a paging service)\n"
		"  %s pageout FILE [OFFSET LENGTH] (page a range out now)\n"
		"  %s balloon QMP-SOCKET SIZE    (guest RAM target, QEMU)\n"
		"  %s qmp [--timeout S] QMP-SOCKET JSON-COMMAND\n"
		"      print the command's \"return\" value as JSON (QEMU's error:\n"
		"      \"qmp: CLASS: DESC\" on stderr, exit 1); default timeout 30 s\n"
		"  %s metrics FILE [CONTROL-FILE|none]\n"
		"      create FILE.metrics (or CONTROL-FILE), 1 MiB, and bind it\n"
		"      to partition FILE as its guest metrics control file\n"
		"  %s balance DIR [--min SIZE] [--interval MS] [--hold MS] [--once]\n"
		"          [--manual] --qmp NAME=QMP-SOCKET...\n"
		"      apply the policy targets of partitions NAME of the pool\n"
		"      mounted at DIR through their QEMU's balloon\n"
		"Sizes: bytes with K, M, G or T suffix; pool sizes also N%%.\n",
		prog, prog, prog, prog, prog, prog, prog, prog, prog, prog,
		prog, prog, prog);
}

static int vfail(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return 1;
}

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return 1;
}

/* Parse "N[KMGT]" into bytes; returns 0 or -1. */
static int parse_size(const char *s, unsigned long long *bytes)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'T': case 't':
		mul = 1ULL << 40;
		break;
	case 'G': case 'g':
		mul = 1ULL << 30;
		break;
	case 'M': case 'm':
		mul = 1ULL << 20;
		break;
	case 'K': case 'k':
		mul = 1ULL << 10;
		break;
	case 0:
		break;
	default:
		return -1;
	}
	if (*end)
		end++;
	if (*end == 'i' || *end == 'B')	/* accept KiB, MB ... */
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || (v && mul > ~0ULL / v))
		return -1;
	*bytes = v * mul;
	return 0;
}

static unsigned long long to_pages(unsigned long long bytes)
{
	return (bytes + PAGE_SZ - 1) / PAGE_SZ;
}

static void human(char *buf, size_t len, unsigned long long pages)
{
	double v = (double)pages * PAGE_SZ;
	static const char * const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

/* Check "key=value" pool options; build the mount data string. */
static int pool_opts(int argc, char **argv, char *data, size_t len)
{
	unsigned long long b;
	int i;

	data[0] = 0;
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t n = strlen(data);

		if (!eq)
			return fail("bad option '%s' (key=value)", argv[i]);
		if (!strncmp(argv[i], "size=", 5) ||
		    !strncmp(argv[i], "reserve=", 8)) {
			size_t l = strlen(eq + 1);

			if (!(l > 1 && eq[l] == '%') &&
			    parse_size(eq + 1, &b))
				return fail("bad size in '%s'", argv[i]);
		} else if (strncmp(argv[i], "name=", 5) &&
			   strncmp(argv[i], "mode=", 5) &&
			   strncmp(argv[i], "uid=", 4) &&
			   strncmp(argv[i], "gid=", 4)) {
			return fail("unknown pool option '%s'", argv[i]);
		}
		if (n + strlen(argv[i]) + 2 > len)
			return fail("options too long");
		snprintf(data + n, len - n, "%s%s", n ? "," : "", argv[i]);
	}
	return 0;
}

static int cmd_mount(int argc, char **argv)
{
	char data[512];

	if (argc < 1)
		return usage(stderr), 2;
	if (pool_opts(argc - 1, argv + 1, data, sizeof(data)))
		return 1;
	if (mkdir(argv[0], 0755) && errno != EEXIST)
		return fail("mkdir %s: %s", argv[0], strerror(errno));
	if (mount("kvmshare", argv[0], "kvmshare", 0, data))
		return fail("mount %s: %s (see dmesg)", argv[0],
			    strerror(errno));
	return 0;
}

static int cmd_resize(int argc, char **argv)
{
	char data[512];

	if (argc < 2)
		return usage(stderr), 2;
	if (pool_opts(argc - 1, argv + 1, data, sizeof(data)))
		return 1;
	if (mount("kvmshare", argv[0], "kvmshare", MS_REMOUNT, data))
		return fail("resize %s: %s%s", argv[0], strerror(errno),
			    errno == EBUSY ?
			    " (below what is in use or entitled)" : "");
	return 0;
}

static int cmd_umount(int argc, char **argv)
{
	if (argc != 1)
		return usage(stderr), 2;
	if (umount(argv[0]))
		return fail("umount %s: %s", argv[0], strerror(errno));
	return 0;
}

/* A number from the start of the open (sysfs) file @fd; 0 or -1. */
static int read_ull(int fd, unsigned long long *v)
{
	char buf[32];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

/* The name= option of the kvmshare pool mounted at @dir. */
static int pool_name(const char *dir, char *name, size_t len)
{
	char real[PATH_MAX], line[4096], mnt[PATH_MAX], type[64], opts[3072];
	FILE *f;
	int ret = -1;

	if (!realpath(dir, real))
		return -1;
	f = fopen("/proc/mounts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (sscanf(line, "%*s %4095s %63s %3071s", mnt, type, opts) != 3)
			continue;
		if (strcmp(type, "kvmshare") || strcmp(mnt, real))
			continue;
		p = strstr(opts, "name=");
		if (!p)
			continue;
		p += 5;
		snprintf(name, len, "%.*s", (int)strcspn(p, ","), p);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * The policy target of partition @part of pool @pool, human-readable, into
 * @buf: "-" when the policy has not set one (off, or a control file).
 */
static void policy_target(const char *pool, const char *part, char *buf,
			  size_t len)
{
	char path[PATH_MAX];
	unsigned long long pages = 0;
	int fd, ret;

	snprintf(buf, len, "-");
	if (!pool[0])
		return;
	snprintf(path, sizeof(path),
		 "/sys/fs/kvmshare/%s/partitions/%s/policy_target_pages",
		 pool, part);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ret = read_ull(fd, &pages);
	close(fd);
	if (!ret && pages)
		human(buf, len, pages);
}

/* Apply "entitlement=S limit=S weight=W target=S" to an open partition. */
static int part_attrs(int fd, int argc, char **argv)
{
	struct kvmshare_part_attr a;
	unsigned long long b;
	int i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			return fail("bad attribute '%s' (key=value)", argv[i]);
		if (!strncmp(argv[i], "entitlement=", 12)) {
			if (parse_size(eq + 1, &b))
				return fail("bad size in '%s'", argv[i]);
			a.flags |= KVMSHARE_ATTR_ENTITLEMENT;
			a.entitlement_pages = to_pages(b);
		} else if (!strncmp(argv[i], "limit=", 6)) {
			if (parse_size(eq + 1, &b))
				return fail("bad size in '%s'", argv[i]);
			a.flags |= KVMSHARE_ATTR_LIMIT;
			a.limit_pages = to_pages(b);
		} else if (!strncmp(argv[i], "target=", 7)) {
			if (parse_size(eq + 1, &b))
				return fail("bad size in '%s'", argv[i]);
			a.flags |= KVMSHARE_ATTR_TARGET;
			a.target_pages = to_pages(b);
		} else if (!strncmp(argv[i], "weight=", 7)) {
			char *end;
			unsigned long w = strtoul(eq + 1, &end, 10);

			if (*end || !eq[1] || w < KVMSHARE_WEIGHT_MIN ||
			    w > KVMSHARE_WEIGHT_MAX)
				return fail("weight must be %u..%u",
					    KVMSHARE_WEIGHT_MIN,
					    KVMSHARE_WEIGHT_MAX);
			a.flags |= KVMSHARE_ATTR_WEIGHT;
			a.weight = w;
		} else {
			return fail("unknown attribute '%s'", argv[i]);
		}
	}
	if (a.flags && ioctl(fd, KVMSHARE_IOC_SET_ATTR, &a))
		return fail("set attributes: %s%s", strerror(errno),
			    errno == ENOSPC ?
			    " (the pool cannot guarantee that entitlement)" :
			    errno == EINVAL ? " (entitlement above limit?)" :
			    "");
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	unsigned long long size;
	int fd, ret;

	if (argc < 2)
		return usage(stderr), 2;
	if (parse_size(argv[1], &size))
		return fail("bad size '%s'", argv[1]);
	fd = open(argv[0], O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return fail("create %s: %s", argv[0], strerror(errno));
	if (ftruncate(fd, to_pages(size) * PAGE_SZ)) {
		ret = fail("size %s: %s", argv[0], strerror(errno));
		goto err;
	}
	ret = part_attrs(fd, argc - 2, argv + 2);
	if (ret)
		goto err;
	close(fd);
	return 0;
err:
	close(fd);
	unlink(argv[0]);
	return ret;
}

static int cmd_set(int argc, char **argv)
{
	int fd, ret;

	if (argc < 2)
		return usage(stderr), 2;
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	ret = part_attrs(fd, argc - 1, argv + 1);
	close(fd);
	return ret;
}

static int cmd_remove(int argc, char **argv)
{
	if (argc != 1)
		return usage(stderr), 2;
	if (unlink(argv[0]))
		return fail("remove %s: %s", argv[0], strerror(errno));
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	struct kvmshare_pool_info pi;
	struct dirent *de;
	struct statfs sf;
	char a[32], b[32], c[32], d[32], e[32], pool[64];
	DIR *dir;
	int fd;

	if (argc != 1)
		return usage(stderr), 2;
	if (statfs(argv[0], &sf) || sf.f_type != KVMSHARE_FS_MAGIC)
		return fail("%s is not a kvmshare pool", argv[0]);
	fd = open(argv[0], O_RDONLY | O_DIRECTORY);
	if (fd < 0 || ioctl(fd, KVMSHARE_IOC_POOL_INFO, &pi))
		return fail("pool info %s: %s", argv[0], strerror(errno));
	close(fd);
	human(a, sizeof(a), pi.size_pages);
	human(b, sizeof(b), pi.used_pages);
	human(c, sizeof(c), pi.available_pages);
	human(d, sizeof(d), pi.reserve_pages);
	human(e, sizeof(e), pi.entitled_pages);
	printf("pool %s: size %s, used %s, available %s, reserve %s, entitled %s\n",
	       argv[0], a, b, c, d, e);
	printf("  pages: size %llu used %llu free %llu available %llu;",
	       (unsigned long long)pi.size_pages,
	       (unsigned long long)pi.used_pages,
	       (unsigned long long)pi.free_pages,
	       (unsigned long long)pi.available_pages);
	printf(" partitions %llu; fault failures %llu\n",
	       (unsigned long long)pi.nr_partitions,
	       (unsigned long long)pi.fault_failures);
	if (pi.nr_pagers || pi.blocks_used) {
		printf("  paging: services %llu, active %llu%s,",
		       (unsigned long long)pi.nr_pagers,
		       (unsigned long long)pi.active_pager,
		       pi.stalled_pager ? " (stalled)" : "");
		printf(" blocks %llu/%llu, pending %llu,",
		       (unsigned long long)pi.blocks_used,
		       (unsigned long long)pi.backing_blocks,
		       (unsigned long long)pi.pending_requests);
		printf(" failovers %llu, reissued %llu\n",
		       (unsigned long long)pi.failovers,
		       (unsigned long long)pi.reissued_requests);
	}
	printf("%-16s %10s %10s %10s %10s %6s %10s %8s %10s %10s\n",
	       "PARTITION", "SIZE", "RESIDENT", "ENTITLED", "LIMIT", "WEIGHT",
	       "FAULTS", "FAILED", "PUNCHED", "TARGET");
	if (pool_name(argv[0], pool, sizeof(pool)))
		pool[0] = 0;

	dir = opendir(argv[0]);
	if (!dir)
		return fail("read %s: %s", argv[0], strerror(errno));
	while ((de = readdir(dir))) {
		struct kvmshare_part_stats st;
		struct kvmshare_part_attr at;
		int pf;

		if (de->d_name[0] == '.')
			continue;
		pf = openat(dirfd(dir), de->d_name, O_RDONLY);
		if (pf < 0)
			continue;
		if (!ioctl(pf, KVMSHARE_IOC_GET_STATS, &st) &&
		    !ioctl(pf, KVMSHARE_IOC_GET_ATTR, &at)) {
			human(a, sizeof(a), st.size_pages);
			human(b, sizeof(b), st.resident_pages);
			human(c, sizeof(c), at.entitlement_pages);
			if (at.limit_pages)
				human(d, sizeof(d), at.limit_pages);
			else
				snprintf(d, sizeof(d), "-");
			policy_target(pool, de->d_name, e, sizeof(e));
			printf("%-16s %10s %10s %10s %10s %6u %10llu %8llu %10llu %10s\n",
			       de->d_name, a, b, c, d, at.weight,
			       (unsigned long long)st.faults,
			       (unsigned long long)st.fault_failures,
			       (unsigned long long)st.punched_pages, e);
		}
		close(pf);
	}
	closedir(dir);
	return 0;
}

/*
 * QMP client. Replies are parsed with json-c as a stream of top-level
 * objects: several may arrive in one read, one may span many reads. The
 * whole exchange (greeting, capabilities, command) has one deadline.
 */
#define QMP_MAX_MSG (16 << 20)	/* bytes of one message, at most */
#define QMP_DEPTH 64		/* nesting of one message, at most */

static int qmp_timeout_s = QMP_TIMEOUT_S;
/* Set by balance while a guest keeps failing: its errors are shown once. */
static int qmp_quiet;

struct qmp {
	const char *sock;
	int fd;
	struct json_tokener *tok;
	long long deadline_ms;
	size_t msg_bytes;	/* bytes of the message being parsed */
	size_t pos, len;	/* unparsed bytes: buf[pos..len) */
	unsigned int next_id;
	char buf[65536];
};

/* fail() unless qmp_quiet; returns 1. */
static int qmp_fail(const char *fmt, ...)
{
	va_list ap;

	if (qmp_quiet)
		return 1;
	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return 1;
}

static long long qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for @events on the socket until the deadline; 0 or -1 (reported). */
static int qmp_wait(struct qmp *q, short events)
{
	struct pollfd p = { .fd = q->fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = q->deadline_ms - qmp_now_ms();
		if (left <= 0)
			return qmp_fail("%s: QEMU did not answer within %d s",
					q->sock, qmp_timeout_s);
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return qmp_fail("%s: poll: %s", q->sock, strerror(errno));
	}
}

static int qmp_send(struct qmp *q, const char *s)
{
	size_t len = strlen(s), done = 0;
	ssize_t n;

	while (done < len) {
		if (qmp_wait(q, POLLOUT))
			return -1;
		n = send(q->fd, s + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		/*
		 * QEMU runs a command as soon as its JSON is complete and may
		 * close at once (quit): what it answered is still to be read.
		 */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		if (n < 0)
			return qmp_fail("%s: send: %s", q->sock, strerror(errno));
		done += n;
	}
	return 0;
}

/* The next top-level JSON object from QEMU (a new reference), or NULL. */
static struct json_object *qmp_next(struct qmp *q)
{
	enum json_tokener_error err;
	struct json_object *obj;
	ssize_t n;
	size_t used;

	for (;;) {
		if (q->pos < q->len) {
			obj = json_tokener_parse_ex(q->tok, q->buf + q->pos,
						    q->len - q->pos);
			err = json_tokener_get_error(q->tok);
			used = json_tokener_get_parse_end(q->tok);
			q->pos += used;
			q->msg_bytes += used;
			if (err == json_tokener_success) {
				json_tokener_reset(q->tok);
				q->msg_bytes = 0;
				if (json_object_is_type(obj, json_type_object))
					return obj;
				json_object_put(obj);
				qmp_fail("%s: QEMU sent JSON that is not an object",
					 q->sock);
				return NULL;
			}
			if (err != json_tokener_continue) {
				qmp_fail("%s: bad JSON from QEMU: %s", q->sock,
					 json_tokener_error_desc(err));
				return NULL;
			}
			if (q->msg_bytes > QMP_MAX_MSG) {
				qmp_fail("%s: message from QEMU larger than %d MiB",
					 q->sock, QMP_MAX_MSG >> 20);
				return NULL;
			}
			continue;
		}
		if (qmp_wait(q, POLLIN))
			return NULL;
		n = recv(q->fd, q->buf, sizeof(q->buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			qmp_fail("%s: recv: %s", q->sock, strerror(errno));
			return NULL;
		}
		if (!n) {
			qmp_fail("%s: QEMU closed the connection%s", q->sock,
				 q->msg_bytes ? " in the middle of a message" : "");
			return NULL;
		}
		q->pos = 0;
		q->len = n;
	}
}

/* @o as compact JSON on one line (valid until @o changes or is freed). */
static const char *qmp_json(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *qmp_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "?";
	return json_object_get_string(v);
}

/*
 * Send @cmd (a JSON object; an "id" is added) and wait for its reply,
 * skipping events and replies to other ids. On success *@ret is a new
 * reference to the reply's "return" value. QEMU's error is printed as
 * "qmp: CLASS: DESC". Returns 0, or 1 after printing why.
 */
static int qmp_exec(struct qmp *q, struct json_object *cmd,
		    struct json_object **ret)
{
	struct json_object *reply, *id, *v;
	unsigned int want = ++q->next_id;
	char *line;
	int rc;

	json_object_object_add(cmd, "id", json_object_new_int64(want));
	/* One send: QEMU may close right after the command (quit). */
	if (asprintf(&line, "%s\n", qmp_json(cmd)) < 0)
		return qmp_fail("out of memory");
	rc = qmp_send(q, line);
	free(line);
	if (rc)
		return 1;
	while ((reply = qmp_next(q))) {
		if (json_object_object_get_ex(reply, "event", NULL)) {
			json_object_put(reply);
			continue;
		}
		/*
		 * A reply carries the id of its command; QEMU leaves it out
		 * only when it could not parse the command (then an error).
		 */
		if (json_object_object_get_ex(reply, "id", &id) ?
		    !json_object_is_type(id, json_type_int) ||
		    json_object_get_int64(id) != want :
		    !json_object_object_get_ex(reply, "error", NULL)) {
			json_object_put(reply);
			continue;
		}
		if (json_object_object_get_ex(reply, "error", &v)) {
			rc = qmp_fail("qmp: %s: %s", qmp_str(v, "class"),
				      qmp_str(v, "desc"));
		} else if (json_object_object_get_ex(reply, "return", &v)) {
			*ret = json_object_get(v);
			rc = 0;
		} else {
			rc = qmp_fail("%s: reply with neither return nor error",
				      q->sock);
		}
		json_object_put(reply);
		return rc;
	}
	return 1;
}

/*
 * Run one QMP command: connect, read the greeting, negotiate capabilities,
 * send @cmd and print its "return" value as one line of JSON on @out (if
 * not NULL). Exit status 0 on "return", 1 on an error (QEMU's or ours).
 */
static int qmp_run_to(const char *sock, const char *cmd, FILE *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *c, *greeting, *ret = NULL;
	enum json_tokener_error err;
	struct qmp *q;
	int rc = 1;

	c = json_tokener_parse_verbose(cmd, &err);
	if (!c || !json_object_is_type(c, json_type_object)) {
		json_object_put(c);
		return qmp_fail("bad QMP command '%s': %s", cmd,
				c ? "not a JSON object" :
				err == json_tokener_continue ? "incomplete JSON" :
				json_tokener_error_desc(err));
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		json_object_put(c);
		return qmp_fail("socket path too long");
	}
	strcpy(sa.sun_path, sock);
	q = calloc(1, sizeof(*q));
	if (!q) {
		json_object_put(c);
		return qmp_fail("out of memory");
	}
	q->sock = sock;
	q->deadline_ms = qmp_now_ms() + qmp_timeout_s * 1000LL;
	q->tok = json_tokener_new_ex(QMP_DEPTH);
	if (!q->tok) {
		qmp_fail("out of memory");
		goto free_q;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		qmp_fail("socket: %s", strerror(errno));
		goto free_tok;
	}
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		qmp_fail("connect %s: %s", sock, strerror(errno));
		goto close_fd;
	}
	greeting = qmp_next(q);
	if (!greeting)
		goto close_fd;
	if (!json_object_object_get_ex(greeting, "QMP", NULL)) {
		json_object_put(greeting);
		qmp_fail("%s: no QMP greeting", sock);
		goto close_fd;
	}
	json_object_put(greeting);
	greeting = json_object_new_object();
	json_object_object_add(greeting, "execute",
			       json_object_new_string("qmp_capabilities"));
	rc = qmp_exec(q, greeting, &ret);
	json_object_put(greeting);
	json_object_put(ret);
	ret = NULL;
	if (!rc)
		rc = qmp_exec(q, c, &ret);
	if (!rc && out) {
		fprintf(out, "%s\n", qmp_json(ret));
		fflush(out);
	}
	json_object_put(ret);
close_fd:
	close(q->fd);
free_tok:
	json_tokener_free(q->tok);
free_q:
	free(q);
	json_object_put(c);
	return rc;
}

static int qmp_run(const char *sock, const char *cmd)
{
	return qmp_run_to(sock, cmd, stdout);
}

/* qmp [--timeout SECONDS] SOCKET JSON-COMMAND */
static int cmd_qmp(int argc, char **argv)
{
	char *end;
	long s;

	if (argc == 4 && !strcmp(argv[0], "--timeout")) {
		errno = 0;
		s = strtol(argv[1], &end, 10);
		if (errno || *end || end == argv[1] || s <= 0 || s > 86400)
			return fail("bad --timeout '%s' (seconds, 1-86400)",
				    argv[1]);
		qmp_timeout_s = s;
		argc -= 2;
		argv += 2;
	}
	if (argc != 2)
		return usage(stderr), 2;
	return qmp_run(argv[0], argv[1]);
}

/* Ask QEMU's virtio-balloon for a guest RAM size (QMP "balloon"). */
static int cmd_balloon(int argc, char **argv)
{
	unsigned long long bytes;
	char cmd[128];

	if (argc != 2)
		return usage(stderr), 2;
	if (parse_size(argv[1], &bytes) || !bytes)
		return fail("bad size '%s'", argv[1]);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 bytes);
	return qmp_run(argv[0], cmd);
}

/* pageout FILE [OFFSET LENGTH]: page the range (default all) out now. */
static int cmd_pageout(int argc, char **argv)
{
	unsigned long long off = 0, len = 0;
	int fd, err;

	if (argc != 1 && argc != 3)
		return usage(stderr), 2;
	if (argc == 3 && (parse_size(argv[1], &off) ||
			  parse_size(argv[2], &len) ||
			  off > INT64_MAX || len > INT64_MAX))
		return fail("bad range '%s %s'", argv[1], argv[2]);
	/* Paging out needs a writable fd (the pool refuses EBADF). */
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("%s: %s", argv[0], strerror(errno));
	err = posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
	close(fd);
	if (err)
		return fail("page out %s: %s", argv[0], strerror(err));
	return 0;
}

/* pager-stop DIR ID: the pool stops service ID once its requests are done. */
static int cmd_pager_stop(int argc, char **argv)
{
	struct kvmshare_pager_stop st;
	char *end;
	int fd;

	if (argc != 2)
		return usage(stderr), 2;
	memset(&st, 0, sizeof(st));
	errno = 0;
	st.pager_id = strtoull(argv[1], &end, 0);
	if (errno || *end || !st.pager_id || argv[1][0] == '-')
		return fail("bad paging service id '%s'", argv[1]);
	fd = open(argv[0], O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fail("%s: %s", argv[0], strerror(errno));
	if (ioctl(fd, KVMSHARE_IOC_PAGER_STOP, &st)) {
		int err = errno;

		close(fd);
		if (err == EBUSY)
			return fail("service %s not stopped: %s", argv[1],
				    "pages are out and no other service is attached");
		if (err == ESRCH)
			return fail("no paging service %s on %s", argv[1],
				    argv[0]);
		return fail("stop service %s: %s", argv[1], strerror(err));
	}
	close(fd);
	printf("paging service %s stopping: it finishes its requests, then the pool hangs up\n",
	       argv[1]);
	return 0;
}

/*
 * Bind a control file to partition @argv[0]: @argv[1], or FILE.metrics by
 * default, created (1 MiB) if it does not exist; "none" unbinds.
 */
static int cmd_metrics(int argc, char **argv)
{
	struct kvmshare_metrics_bind b;
	char ctl[PATH_MAX];
	struct stat st;
	int fd, cfd = -1, ret = 0;

	if (argc < 1 || argc > 2)
		return usage(stderr), 2;
	memset(&b, 0, sizeof(b));
	b.fd = -1;
	fd = open(argv[0], O_RDWR);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	if (argc < 2 || strcmp(argv[1], "none")) {
		if (argc == 2)
			snprintf(ctl, sizeof(ctl), "%s", argv[1]);
		else if (snprintf(ctl, sizeof(ctl), "%s.metrics", argv[0]) >=
			 (int)sizeof(ctl))
			return close(fd), fail("path too long");
		cfd = open(ctl, O_RDWR | O_CREAT, 0600);
		if (cfd < 0) {
			ret = fail("open %s: %s", ctl, strerror(errno));
			goto out;
		}
		/* ivshmem-plain wants a power of two; 1 MiB like the docs. */
		if (!fstat(cfd, &st) && st.st_size < 4096 &&
		    ftruncate(cfd, 1 << 20)) {
			ret = fail("size %s: %s", ctl, strerror(errno));
			goto out;
		}
		b.fd = cfd;
	}
	if (ioctl(fd, KVMSHARE_IOC_METRICS_BIND, &b))
		ret = fail("bind %s: %s%s", argv[0], strerror(errno),
			   errno == EBUSY ?
			   " (the control file serves another partition)" :
			   errno == EINVAL ?
			   " (not a file of the same pool, or a control file; see dmesg)" :
			   "");
out:
	if (cfd >= 0)
		close(cfd);
	close(fd);
	return ret;
}

struct balance_guest {
	const char *name;
	const char *qmp;
	int fd;				/* .../policy_target_pages */
	int part;			/* the partition file, read-only */
	unsigned long long size;	/* partition size, pages */
	unsigned long long target;	/* policy target read this pass */
	unsigned long long resident;	/* resident pages, this pass */
	unsigned long long entitled;	/* entitlement, pages */
	unsigned long long want;	/* guest size for the target */
	unsigned long long more;	/* pages growing to it may take */
	long long applied;		/* target applied, pages; -1: none */
	unsigned long long balloon;	/* guest size applied, pages */
	long long changed_ms;		/* when it was applied */
	int failed;			/* the last attempt failed */
	int skip;			/* nothing to do for it this pass */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The guest size, pages, that carries out @target. */
static unsigned long long balance_size(const struct balance_guest *g,
				       unsigned long long target,
				       unsigned long long min)
{
	unsigned long long pages = target;

	if (pages > g->size)
		pages = g->size;
	if (pages < min / PAGE_SZ)
		pages = min / PAGE_SZ;
	return pages;
}

/*
 * Pages of the pool @g may still take without a new page from others:
 * what its guest may touch (its size) beyond what it holds and what the
 * pool keeps for it anyway (its entitlement).
 */
static unsigned long long balance_owed(const struct balance_guest *g,
				       unsigned long long size)
{
	unsigned long long has = g->resident > g->entitled ? g->resident :
				 g->entitled;

	return size > has ? size - has : 0;
}

/* Resize @g's guest to @pages through QMP; 0 or -1 (reported once). */
static int balance_apply(struct balance_guest *g, unsigned long long pages)
{
	char cmd[160];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 pages * PAGE_SZ);
	/* Why a guest's balloon fails is shown once, not every round. */
	qmp_quiet = g->failed;
	rc = qmp_run_to(g->qmp, cmd, NULL);
	qmp_quiet = 0;
	if (rc) {
		if (!g->failed)
			fprintf(stderr, "%s: balance: %s: balloon to %llu MiB failed, retrying\n",
				prog, g->name, pages * PAGE_SZ >> 20);
		g->failed = 1;
		return -1;
	}
	g->failed = 0;
	g->balloon = pages;
	g->changed_ms = now_ms();
	printf("balance: %s target %llu pages: balloon %llu MiB\n", g->name,
	       g->target, pages * PAGE_SZ >> 20);
	fflush(stdout);
	return 0;
}

/* This pass's inputs of @g: its target, residency and entitlement. */
static int balance_read(struct balance_guest *g)
{
	struct kvmshare_part_stats st;
	struct kvmshare_part_attr at;

	if (read_ull(g->fd, &g->target) ||
	    ioctl(g->part, KVMSHARE_IOC_GET_STATS, &st) ||
	    ioctl(g->part, KVMSHARE_IOC_GET_ATTR, &at))
		return -1;
	g->resident = st.resident_pages;
	g->entitled = at.entitlement_pages;
	return 0;
}

/*
 * One pass over the guests; returns the number with work left.
 *
 * Targets sum to at most the pool, but balloons move one after another
 * and a guest fills what its balloon gives it at once: a pool without a
 * paging service that lets a guest grow before another shrank would have
 * to refuse its faults (and QEMU stops the VM). So a guest grows only by
 * what the pool has available beyond what the other guests may still
 * take (balance_owed()), the rest on a later pass; lower targets are
 * applied first, and while a growth waits for memory, without the hold
 * (a lower target otherwise waits @hold_ms after the last change:
 * inflating a balloon costs the guest and QEMU, and a target that comes
 * back up soon after is not worth it).
 */
static int balance_pass(struct balance_guest *g, int n, int pool_fd,
			unsigned long long min, long long hold_ms)
{
	struct kvmshare_pool_info pi;
	unsigned long long room, owed = 0;
	int i, left = 0, waiting = 0;

	if (ioctl(pool_fd, KVMSHARE_IOC_POOL_INFO, &pi))
		return n;
	/* A guest whose inputs cannot be read takes all it may (no room). */
	for (i = 0; i < n; i++) {
		g[i].skip = balance_read(&g[i]) != 0;
		if (g[i].skip) {
			left++;
			g[i].resident = 0;
			g[i].entitled = 0;
		}
		owed += balance_owed(&g[i], g[i].balloon);
	}
	room = pi.available_pages > owed ? pi.available_pages - owed : 0;
	for (i = 0; i < n; i++) {
		g[i].want = balance_size(&g[i], g[i].target, min);
		g[i].more = 0;
		/* Unreadable, no target yet, or applied: nothing to do. */
		if (g[i].skip || !g[i].target ||
		    (long long)g[i].target == g[i].applied)
			g[i].skip = 1;
		else if (g[i].want > g[i].balloon)
			g[i].more = balance_owed(&g[i], g[i].want) -
				    balance_owed(&g[i], g[i].balloon);
		if (!g[i].skip && g[i].more > room)
			waiting = 1;
	}

	/* Shrink first; the growth that waits for it takes no hold. */
	for (i = 0; i < n; i++) {
		if (g[i].skip || g[i].want > g[i].balloon)
			continue;
		if (!waiting && g[i].applied >= 0 &&
		    now_ms() - g[i].changed_ms < hold_ms)
			continue;
		if (g[i].want == g[i].balloon) {
			g[i].applied = g[i].target;
			continue;
		}
		if (balance_apply(&g[i], g[i].want))
			left++;
		else
			g[i].applied = g[i].target;
	}

	/* Grow by what the pool can give now. */
	for (i = 0; i < n; i++) {
		unsigned long long want = g[i].want, more = g[i].more;

		if (g[i].skip || want <= g[i].balloon)
			continue;
		if (more > room) {
			want -= more - room;
			left++;
			if (want <= g[i].balloon)
				continue;
			more = room;
		}
		if (balance_apply(&g[i], want)) {
			left++;
			continue;
		}
		room -= more;
		if (want == g[i].want)
			g[i].applied = g[i].target;
	}
	return left;
}

/*
 * Follow the policy targets of some partitions (with --manual: the
 * administrator's target_pages) and apply each through QEMU's
 * virtio-balloon: poll() on their sysfs files (notified when a policy
 * target changes), re-check every --interval ms, retry failures there.
 */
static int cmd_balance(int argc, char **argv)
{
	struct balance_guest g[64];
	struct pollfd pfd[64];
	unsigned long long min = 0;
	char pool[64], path[PATH_MAX];
	int i, n = 0, once = 0, interval = 1000, hold = 10000, left, pool_fd;
	const char *follow = "policy_target_pages";
	struct stat st;

	if (argc < 1)
		return usage(stderr), 2;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			once = 1;
		} else if (!strcmp(argv[i], "--manual")) {
			follow = "target_pages";
		} else if (!strcmp(argv[i], "--min") && i + 1 < argc) {
			if (parse_size(argv[++i], &min))
				return fail("bad size '%s'", argv[i]);
		} else if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
			hold = atoi(argv[++i]);
			if (hold < 0 || hold > 3600000)
				return fail("hold must be 0..3600000 ms");
		} else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			interval = atoi(argv[++i]);
			if (interval < 10 || interval > 3600000)
				return fail("interval must be 10..3600000 ms");
		} else if (!strcmp(argv[i], "--qmp") && i + 1 < argc) {
			char *eq = strchr(argv[++i], '=');

			if (!eq || eq == argv[i] || !eq[1] ||
			    memchr(argv[i], '/', eq - argv[i]))
				return fail("bad --qmp '%s' (NAME=SOCKET)", argv[i]);
			if (n == (int)ARRAY_SIZE(g))
				return fail("at most %zu guests", ARRAY_SIZE(g));
			*eq = 0;
			g[n].name = argv[i];
			g[n].qmp = eq + 1;
			n++;
		} else {
			return usage(stderr), 2;
		}
	}
	if (!n)
		return fail("no --qmp NAME=SOCKET given");
	if (pool_name(argv[0], pool, sizeof(pool)))
		return fail("%s: not a kvmshare pool mount point", argv[0]);
	pool_fd = open(argv[0], O_RDONLY | O_DIRECTORY);
	if (pool_fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[0], g[i].name);
		g[i].part = open(path, O_RDONLY);
		if (g[i].part < 0 || fstat(g[i].part, &st))
			return fail("%s: %s", path, strerror(errno));
		g[i].size = st.st_size / PAGE_SZ;
		snprintf(path, sizeof(path),
			 "/sys/fs/kvmshare/%s/partitions/%s/%s", pool, g[i].name,
			 follow);
		g[i].fd = open(path, O_RDONLY);
		if (g[i].fd < 0)
			return fail("open %s: %s", path, strerror(errno));
		g[i].applied = -1;
		/* QEMU starts a guest with all its memory */
		g[i].balloon = g[i].size;
		g[i].changed_ms = 0;
		g[i].failed = 0;
		pfd[i].fd = g[i].fd;
		pfd[i].events = POLLPRI;
	}
	for (;;) {
		left = balance_pass(g, n, pool_fd, min, once ? 0 : hold);
		if (once)
			return left ? 1 : 0;
		if (poll(pfd, n, interval) < 0 && errno != EINTR)
			return fail("poll: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "mount", cmd_mount },
		{ "resize", cmd_resize },
		{ "umount", cmd_umount },
		{ "create", cmd_create },
		{ "set", cmd_set },
		{ "remove", cmd_remove },
		{ "status", cmd_status },
		{ "balloon", cmd_balloon },
		{ "qmp", cmd_qmp },
		{ "pager-stop", cmd_pager_stop },
		{ "pageout", cmd_pageout },
		{ "metrics", cmd_metrics },
		{ "balance", cmd_balance },
	};
	unsigned int i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	fail("unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
