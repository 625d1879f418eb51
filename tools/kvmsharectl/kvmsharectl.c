// SPDX-License-Identifier: GPL-2.0
/*
 * kvmsharectl: administer kvmshare memory pools and partitions.
 *
 *   kvmsharectl mount DIR [size=S] [reserve=S] [name=N] [mode=M] [umask=M]
 *                         [uid=U] [gid=G]
 *   kvmsharectl resize DIR [size=S] [reserve=S] [umask=M]
 *   kvmsharectl umount DIR
 *   kvmsharectl create FILE SIZE [entitlement=S] [limit=S] [weight=W]
 *                      [target=S]
 *   kvmsharectl set FILE [entitlement=S] [limit=S] [weight=W] [target=S]
 *   kvmsharectl remove FILE
 *   kvmsharectl status [--json] DIR
 *   kvmsharectl pager-stop DIR ID
 *   kvmsharectl pageout FILE [OFFSET LENGTH]
 *   kvmsharectl balloon QMP-SOCKET SIZE
 *   kvmsharectl qmp [--timeout=SECONDS] QMP-SOCKET JSON-COMMAND
 *   kvmsharectl metrics FILE [CONTROL-FILE|none]
 *   kvmsharectl balance DIR [--min=SIZE] [--interval=MS] [--hold=MS]
 *                       [--once] [--manual] [--libvirt[=URI]]
 *                       [--qmp=NAME=QMP-SOCKET...]
 *   kvmsharectl --version | --help | COMMAND --help
 *
 * Options are parsed by getopt_long() for each command (--opt=VALUE or
 * --opt VALUE, anywhere among the arguments); what a pool or a partition
 * is set to stays KEY=VALUE arguments. Sizes are decimal bytes with an
 * optional K, M, G or T suffix (powers of 1024): "010" and "0x10" are
 * refused, not read as octal or hexadecimal. Pool sizes may also be a
 * percentage of RAM ("25%"). Partition sizes are rounded up to whole
 * pages.
 *
 * Every path a command takes must be on a kvmshare pool (statfs()), or
 * its directory for a file to be created. A command that fails leaves
 * nothing it created behind. Exit status: 0; 1 after an error, with a
 * message naming the path or value on stderr; 2 for a usage error.
 * See Documentation/admin-guide/pool.rst.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <sys/un.h>
#include <linux/kvmshare.h>
#include <linux/kvmshare_pager.h>
#include <linux/kvmshare_metrics.h>
#include <json-c/json.h>
#ifndef KVMSHARE_STATIC
#include <dlfcn.h>
#endif

/* The package's version (dkms.conf), from tools/kvmsharectl/Makefile. */
#ifndef KVMSHARE_VERSION
#define KVMSHARE_VERSION "unknown"
#endif

#define PAGE_SZ 4096ULL
/* Seconds a whole QMP exchange may take (qmp --timeout overrides). */
#define QMP_TIMEOUT_S 30
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* A partition's path in its pool (FILE or DIR/FILE) or sysfs name. */
#define PART_NAME_MAX (2 * NAME_MAX + 2)
#define SYSFS_POOLS "/sys/fs/kvmshare"

static const char *prog = "kvmsharectl";

/*
 * A command: kvmsharectl NAME ARGS. @fn gets the command's arguments with
 * argv[0] "kvmsharectl NAME" (getopt_long()'s messages name it) and
 * parses its options itself.
 */
struct cmd {
	const char *name;
	int (*fn)(const struct cmd *c, int argc, char **argv);
	const char *args;	/* synopsis after the name */
	const char *summary;	/* one line */
	const char *help;	/* what it does, or "" */
	const char *opts;	/* its options but --help, or NULL */
};

static int vfail(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return 1;
}

/* An error: the message on stderr; returns the exit status, 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return 1;
}

static void cmd_usage(const struct cmd *c, FILE *f)
{
	fprintf(f, "Usage: %s %s %s\n%s\n", prog, c->name, c->args, c->summary);
	if (c->help[0])
		fprintf(f, "\n%s", c->help);
	fprintf(f, "\nOptions:\n%s  -h, --help  show this and exit\n",
		c->opts ? c->opts : "");
}

/* A usage error of @c: why, then its usage, on stderr; returns 2. */
static int usage_err(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_err(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", prog, c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage(c, stderr);
	return 2;
}

/*
 * What getopt_long() returned for an option every command has (-h) or
 * none has ('?', ':': getopt_long() said why): the exit status.
 */
static int common_opt(const struct cmd *c, int opt)
{
	if (opt == 'h') {
		cmd_usage(c, stdout);
		return 0;
	}
	cmd_usage(c, stderr);
	return 2;
}

#define OPT_HELP { "help", no_argument, NULL, 'h' }

/*
 * The options of a command that has none but --help. Returns -1 with
 * optind at its first argument, or the exit status.
 */
/*
 * A command without options of its own: --help or a bad option end it
 * (the return value, >= 0); -1 lets it go on, *@argc and *@argv past
 * the options.
 */
static int plain_args(const struct cmd *c, int *argc, char ***argv)
{
	static const struct option opts[] = { OPT_HELP, { } };
	int o;

	o = getopt_long(*argc, *argv, "h", opts, NULL);
	if (o != -1)
		return common_opt(c, o);
	*argc -= optind;
	*argv += optind;
	return -1;
}

/*
 * Parse a size, decimal "N[KMGT]" (also "KiB", "KB" ...), into bytes.
 * Returns NULL, or why @s is not one.
 */
static const char *parse_size(const char *s, unsigned long long *bytes)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return "not a decimal number";
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return "hexadecimal: sizes are decimal";
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return "a leading 0: sizes are decimal, not octal";
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return "too large";
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
		return "not bytes with an optional K, M, G or T suffix";
	}
	if (*end)
		end++;
	if (*end == 'i' || *end == 'B')	/* accept KiB, MB ... */
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return "not bytes with an optional K, M, G or T suffix";
	if (v && mul > ~0ULL / v)
		return "too large";
	*bytes = v * mul;
	return NULL;
}

/* A decimal number @min..@max into @v (no sign, no leading 0): 0 or -1. */
static int parse_num(const char *s, unsigned long long min,
		     unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]) || (s[0] == '0' && s[1]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return -1;
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

/*
 * 0 if @path is on a kvmshare pool, or with @parent its directory is (a
 * file about to be created, or unlinked); else 1 after saying why.
 */
static int on_pool(const char *path, bool parent)
{
	char buf[PATH_MAX];
	struct statfs sf;
	const char *p = path;

	if (parent) {
		if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
			return fail("%s: path too long", path);
		p = dirname(buf);
	}
	if (statfs(p, &sf))
		return fail("%s: %s", p, strerror(errno));
	if (sf.f_type != KVMSHARE_FS_MAGIC)
		return fail("%s is not on a kvmshare pool", path);
	return 0;
}

/* The pool a path is on: its name in sysfs and where it is mounted. */
struct pool_ref {
	char name[64];
	char root[PATH_MAX];
};

/* Undo /proc/self/mountinfo's octal escapes ("\040") of @s, in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = 0;
}

/*
 * Find the pool @path is on in /proc/self/mountinfo: the kvmshare mount
 * of its device whose root is the pool's root (a bind mount of a
 * directory of the pool is not). Returns 0, or -1 if there is none.
 */
static int pool_find(const char *path, struct pool_ref *p)
{
	char root[PATH_MAX], mnt[PATH_MAX], type[32], opts[1024], *line = NULL;
	unsigned int maj, min;
	size_t cap = 0;
	struct stat st;
	int ret = -1;
	FILE *f;

	if (stat(path, &st))
		return -1;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (ret && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), *name;

		if (!sep ||
		    sscanf(line, "%*d %*d %u:%u %4095s %4095s", &maj, &min,
			   root, mnt) != 4 ||
		    sscanf(sep + 3, "%31s %*s %1023s", type, opts) != 2)
			continue;
		if (strcmp(type, "kvmshare") || strcmp(root, "/") ||
		    makedev(maj, min) != st.st_dev)
			continue;
		name = strstr(opts, "name=");
		if (!name)
			continue;
		name += 5;
		snprintf(p->name, sizeof(p->name), "%.*s",
			 (int)strcspn(name, ","), name);
		unescape(mnt);
		snprintf(p->root, sizeof(p->root), "%s", mnt);
		ret = 0;
	}
	free(line);
	fclose(f);
	return ret;
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

/*
 * Mount options, for fsconfig(): sizes become decimal bytes (the kernel
 * would read "010" as octal), a percentage stays as it is.
 */
struct pool_opt {
	const char *key;
	const char *val;
	char num[24];
};

#define POOL_OPTS_MAX 16
#define POOL_KEYS "size, reserve, name, mode, umask, uid, gid"

/* Check the "key=value" pool options @argv into @o[@argc]: 0 or 1. */
static int pool_opts(int argc, char **argv, struct pool_opt *o, int max)
{
	static const char * const keys[] = {
		"name", "mode", "umask", "uid", "gid",
	};
	unsigned long long b;
	const char *why;
	unsigned int k;
	int i;

	if (argc > max)
		return fail("at most %d pool options", max);
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t l;

		if (!eq || eq == argv[i])
			return fail("bad pool option '%s' (KEY=VALUE)", argv[i]);
		*eq = 0;
		o[i].key = argv[i];
		o[i].val = eq + 1;
		l = strlen(o[i].val);
		if (strcmp(o[i].key, "size") && strcmp(o[i].key, "reserve")) {
			for (k = 0; k < ARRAY_SIZE(keys); k++)
				if (!strcmp(o[i].key, keys[k]))
					break;
			if (k == ARRAY_SIZE(keys))
				return fail("unknown pool option '%s' (%s)",
					    o[i].key, POOL_KEYS);
		} else if (l && o[i].val[l - 1] == '%') {
			/* 1% to 100% of RAM, decimal */
			if (l < 2 || l > 4 || o[i].val[0] == '0' ||
			    strspn(o[i].val, "0123456789") != l - 1 ||
			    atoi(o[i].val) > 100)
				return fail("bad %s '%s': not 1%% to 100%% of RAM (decimal)",
					    o[i].key, o[i].val);
		} else {
			why = parse_size(o[i].val, &b);
			if (why)
				return fail("bad %s '%s': %s", o[i].key,
					    o[i].val, why);
			snprintf(o[i].num, sizeof(o[i].num), "%llu", b);
			o[i].val = o[i].num;
		}
	}
	return 0;
}

/* Pass @n options to the filesystem context @fd: 0 or -1 (errno). */
static int fc_set(int fd, const struct pool_opt *o, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fsconfig(fd, FSCONFIG_SET_STRING, o[i].key, o[i].val, 0))
			return -1;
	return 0;
}

/*
 * The failure @err of the filesystem context @fd: print what the kernel
 * said about it (the "e ...", "w ..." and "i ..." messages read from the
 * context), or @err's text when it said nothing. Returns 1.
 */
static int fc_fail(int fd, const char *what, const char *path, int err)
{
	char msg[1024];
	bool said = false;
	ssize_t n;

	while ((n = read(fd, msg, sizeof(msg) - 1)) > 0) {
		msg[n] = 0;
		msg[strcspn(msg, "\n")] = 0;
		if (n > 2 && msg[1] == ' ')
			fail("%s %s: %s%s", what, path,
			     msg[0] == 'w' ? "warning: " : "", msg + 2);
		else
			fail("%s %s: %s", what, path, msg);
		said = true;
	}
	if (!said)
		fail("%s %s: %s", what, path, strerror(err));
	return 1;
}

/*
 * Mount a new pool at DIR through fsopen()/fsmount()/move_mount(): the
 * kernel's reason for refusing it can then be read and printed. DIR is
 * made once the pool exists, and removed again if mounting it fails.
 */
static int cmd_mount(const struct cmd *c, int argc, char **argv)
{
	struct pool_opt o[POOL_OPTS_MAX];
	int n, fd, mfd, ret = 1;
	const char *dir;
	bool made;

	n = plain_args(c, &argc, &argv);
	if (n >= 0)
		return n;
	if (argc < 1)
		return usage_err(c, "no DIR given");
	dir = argv[0];
	n = argc - 1;
	if (pool_opts(n, argv + 1, o, ARRAY_SIZE(o)))
		return 1;
	fd = fsopen("kvmshare", FSOPEN_CLOEXEC);
	if (fd < 0 && errno == ENODEV)
		return fail("mount %s: %s: is the kvmshare module loaded? (modprobe kvmshare)",
			    dir, strerror(errno));
	if (fd < 0)
		return fail("mount %s: %s", dir, strerror(errno));
	if (fsconfig(fd, FSCONFIG_SET_STRING, "source", "kvmshare", 0) ||
	    fc_set(fd, o, n) ||
	    fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		fc_fail(fd, "mount", dir, errno);
		goto close_fd;
	}
	mfd = fsmount(fd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0) {
		fc_fail(fd, "mount", dir, errno);
		goto close_fd;
	}
	made = !mkdir(dir, 0755);
	if (!made && errno != EEXIST) {
		fail("mkdir %s: %s", dir, strerror(errno));
		goto close_mfd;
	}
	if (move_mount(mfd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH)) {
		fail("mount %s: %s", dir, strerror(errno));
		if (made)
			rmdir(dir);
		goto close_mfd;
	}
	ret = 0;
close_mfd:
	close(mfd);
close_fd:
	close(fd);
	return ret;
}

/* Reconfigure the pool mounted at DIR (fspick()): the kernel says why not. */
static int cmd_resize(const struct cmd *c, int argc, char **argv)
{
	struct pool_opt o[POOL_OPTS_MAX];
	const char *dir;
	int ret, fd;

	ret = plain_args(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	if (argc < 2)
		return usage_err(c, "%s", argc ? "nothing to change" : "no DIR given");
	dir = argv[0];
	if (pool_opts(argc - 1, argv + 1, o, ARRAY_SIZE(o)) || on_pool(dir, false))
		return 1;
	fd = fspick(AT_FDCWD, dir, FSPICK_CLOEXEC);
	if (fd < 0)
		return fail("resize %s: %s%s", dir, strerror(errno),
			    errno == EINVAL ? " (not where the pool is mounted)" : "");
	ret = 0;
	if (fc_set(fd, o, argc - 1) ||
	    fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0))
		ret = fc_fail(fd, "resize", dir, errno);
	close(fd);
	return ret;
}

static int cmd_umount(const struct cmd *c, int argc, char **argv)
{
	int ret = plain_args(c, &argc, &argv);

	if (ret >= 0)
		return ret;
	if (argc != 1)
		return usage_err(c, "wrong number of arguments");
	if (on_pool(argv[0], false))
		return 1;
	if (umount(argv[0]))
		return fail("umount %s: %s%s", argv[0], strerror(errno),
			    errno == EINVAL ? " (not where the pool is mounted)" : "");
	return 0;
}

/* Parse "entitlement=S limit=S weight=W target=S" into @a: 0 or 1. */
static int part_attrs(int argc, char **argv, struct kvmshare_part_attr *a)
{
	unsigned long long b, *pages;
	const char *why;
	unsigned int flag;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			return fail("bad attribute '%s' (KEY=VALUE)", argv[i]);
		if (!strncmp(argv[i], "weight=", 7)) {
			if (parse_num(eq + 1, KVMSHARE_WEIGHT_MIN,
				      KVMSHARE_WEIGHT_MAX, &b))
				return fail("bad weight '%s' (%u..%u)", eq + 1,
					    KVMSHARE_WEIGHT_MIN,
					    KVMSHARE_WEIGHT_MAX);
			a->flags |= KVMSHARE_ATTR_WEIGHT;
			a->weight = b;
			continue;
		}
		if (!strncmp(argv[i], "entitlement=", 12)) {
			flag = KVMSHARE_ATTR_ENTITLEMENT;
			pages = (unsigned long long *)&a->entitlement_pages;
		} else if (!strncmp(argv[i], "limit=", 6)) {
			flag = KVMSHARE_ATTR_LIMIT;
			pages = (unsigned long long *)&a->limit_pages;
		} else if (!strncmp(argv[i], "target=", 7)) {
			flag = KVMSHARE_ATTR_TARGET;
			pages = (unsigned long long *)&a->target_pages;
		} else {
			return fail("unknown attribute '%s' (entitlement, limit, weight, target)",
				    argv[i]);
		}
		why = parse_size(eq + 1, &b);
		if (why)
			return fail("bad size in '%s': %s", argv[i], why);
		a->flags |= flag;
		*pages = to_pages(b);
	}
	return 0;
}

/* Set the attributes @a on partition @path (open as @fd): 0 or 1. */
static int part_set(int fd, const char *path,
		    const struct kvmshare_part_attr *a)
{
	if (!a->flags || !ioctl(fd, KVMSHARE_IOC_SET_ATTR, a))
		return 0;
	return fail("set attributes of %s: %s%s", path, strerror(errno),
		    errno == ENOSPC ?
		    " (the pool cannot guarantee that entitlement)" :
		    errno == EINVAL ? " (entitlement above limit?)" : "");
}

/* Create a partition; any failure once it exists removes it again. */
static int cmd_create(const struct cmd *c, int argc, char **argv)
{
	struct kvmshare_part_attr a;
	unsigned long long size;
	const char *why, *path;
	int fd, ret;

	ret = plain_args(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	if (argc < 2)
		return usage_err(c, "%s", argc ? "no SIZE given" : "no FILE given");
	path = argv[0];
	why = parse_size(argv[1], &size);
	if (why)
		return fail("bad size '%s': %s", argv[1], why);
	if (part_attrs(argc - 2, argv + 2, &a) || on_pool(path, true))
		return 1;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("create %s: %s", path, strerror(errno));
	if (ftruncate(fd, to_pages(size) * PAGE_SZ)) {
		ret = fail("size %s: %s", path, strerror(errno));
		goto unlink;
	}
	ret = part_set(fd, path, &a);
	if (ret)
		goto unlink;
	close(fd);
	return 0;
unlink:
	close(fd);
	unlink(path);
	return ret;
}

static int cmd_set(const struct cmd *c, int argc, char **argv)
{
	struct kvmshare_part_attr a;
	int fd, ret;

	ret = plain_args(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	if (argc < 2)
		return usage_err(c, "%s", argc ? "nothing to set" : "no FILE given");
	if (part_attrs(argc - 1, argv + 1, &a) || on_pool(argv[0], false))
		return 1;
	fd = open(argv[0], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	ret = part_set(fd, argv[0], &a);
	close(fd);
	return ret;
}

static int cmd_remove(const struct cmd *c, int argc, char **argv)
{
	int ret = plain_args(c, &argc, &argv);

	if (ret >= 0)
		return ret;
	if (argc != 1)
		return usage_err(c, "wrong number of arguments");
	if (on_pool(argv[0], true))
		return 1;
	if (unlink(argv[0]))
		return fail("remove %s: %s", argv[0], strerror(errno));
	return 0;
}

/* A partition file found in a pool's directories. */
struct part_ent {
	const char *path;	/* where it was found */
	const char *rel;	/* its path in the pool: FILE or DIR/FILE */
	const char *sysname;	/* its sysfs name: FILE or DIR!FILE */
	struct kvmshare_part_stats st;
	struct kvmshare_part_attr at;
};

/*
 * Call @fn for every partition in directory @sub of the pool mounted at
 * @root (@sub NULL: the root and its directories), in name order.
 */
static int walk_parts(const char *root, const char *sub,
		      void (*fn)(void *ctx, const struct part_ent *e),
		      void *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 1];
	char rel[PART_NAME_MAX], sysname[PART_NAME_MAX];
	struct dirent **de;
	struct part_ent e;
	struct stat st;
	int i, n, fd;

	snprintf(dir, sizeof(dir), "%s%s%s", root, sub ? "/" : "",
		 sub ? sub : "");
	n = scandir(dir, &de, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *name = de[i]->d_name;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			goto next;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (lstat(path, &st))
			goto next;
		if (S_ISDIR(st.st_mode) && !sub) {
			walk_parts(root, name, fn, ctx);
			goto next;
		}
		if (!S_ISREG(st.st_mode))
			goto next;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			goto next;
		if (!ioctl(fd, KVMSHARE_IOC_GET_STATS, &e.st) &&
		    !ioctl(fd, KVMSHARE_IOC_GET_ATTR, &e.at)) {
			snprintf(rel, sizeof(rel), "%s%s%s", sub ? sub : "",
				 sub ? "/" : "", name);
			snprintf(sysname, sizeof(sysname), "%s%s%s",
				 sub ? sub : "", sub ? "!" : "", name);
			e.path = path;
			e.rel = rel;
			e.sysname = sysname;
			fn(ctx, &e);
		}
		close(fd);
next:
		free(de[i]);
	}
	free(de);
	return 0;
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
		 SYSFS_POOLS "/%s/partitions/%s/policy_target_pages", pool, part);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ret = read_ull(fd, &pages);
	close(fd);
	if (!ret && pages)
		human(buf, len, pages);
}

/* One line of status: partition @e of the pool named @ctx. */
static void status_line(void *ctx, const struct part_ent *e)
{
	char a[32], b[32], c[32], d[32], t[32];

	human(a, sizeof(a), e->st.size_pages);
	human(b, sizeof(b), e->st.resident_pages);
	human(c, sizeof(c), e->at.entitlement_pages);
	if (e->at.limit_pages)
		human(d, sizeof(d), e->at.limit_pages);
	else
		snprintf(d, sizeof(d), "-");
	policy_target(ctx, e->sysname, t, sizeof(t));
	printf("%-16s %10s %10s %10s %10s %6u %10llu %8llu %10llu %10s\n",
	       e->rel, a, b, c, d, e->at.weight,
	       (unsigned long long)e->st.faults,
	       (unsigned long long)e->st.fault_failures,
	       (unsigned long long)e->st.punched_pages, t);
}

/*
 * Add every file of sysfs directory @dir to @obj: a decimal number as a
 * number, anything else as a string; with @sub, each directory in it
 * as an object of its files.
 */
static int sysfs_values(const char *dir, struct json_object *obj, bool sub)
{
	char path[PATH_MAX], buf[4096], *end;
	struct json_object *v;
	struct dirent **de;
	struct stat st;
	int i, n, fd;
	ssize_t len;

	n = scandir(dir, &de, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *name = de[i]->d_name;

		v = NULL;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (name[0] == '.' || lstat(path, &st))
			goto next;
		if (S_ISDIR(st.st_mode) && sub) {
			v = json_object_new_object();
			sysfs_values(path, v, false);
			json_object_object_add(obj, name, v);
			goto next;
		}
		fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0)
			goto next;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len < 0)
			goto next;
		while (len && buf[len - 1] == '\n')
			len--;
		buf[len] = 0;
		errno = 0;
		if (isdigit((unsigned char)buf[0]))
			v = json_object_new_uint64(strtoull(buf, &end, 10));
		else if (buf[0] == '-' && isdigit((unsigned char)buf[1]))
			v = json_object_new_int64(strtoll(buf, &end, 10));
		if (v && (errno || *end)) {
			json_object_put(v);
			v = NULL;
		}
		if (!v)
			v = json_object_new_string(buf);
		json_object_object_add(obj, name, v);
next:
		free(de[i]);
	}
	free(de);
	return 0;
}

/* Remember where partition @e is: ctx[sysname] = { path, size_pages }. */
static void status_found(void *ctx, const struct part_ent *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "size_pages",
			       json_object_new_uint64(e->st.size_pages));
	json_object_object_add(ctx, e->sysname, o);
}

/*
 * status --json: the pool (its sysfs files) and every partition of it in
 * sysfs (also those deleted but still in use, with no path) as one JSON
 * document on stdout.
 */
static int status_json(const struct pool_ref *p)
{
	struct json_object *doc, *pool, *parts, *found, *part, *f;
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 1];
	struct dirent **de;
	int i, n, ret = 0;

	doc = json_object_new_object();
	pool = json_object_new_object();
	parts = json_object_new_array();
	found = json_object_new_object();
	json_object_object_add(doc, "pool", pool);
	json_object_object_add(doc, "partitions", parts);
	json_object_object_add(pool, "name", json_object_new_string(p->name));
	json_object_object_add(pool, "path", json_object_new_string(p->root));
	json_object_object_add(pool, "page_size",
			       json_object_new_uint64(PAGE_SZ));
	snprintf(dir, sizeof(dir), SYSFS_POOLS "/%s", p->name);
	if (sysfs_values(dir, pool, false)) {
		ret = fail("read %s: %s", dir, strerror(errno));
		goto out;
	}
	walk_parts(p->root, NULL, status_found, found);
	snprintf(dir, sizeof(dir), SYSFS_POOLS "/%s/partitions", p->name);
	n = scandir(dir, &de, NULL, alphasort);
	if (n < 0) {
		ret = fail("read %s: %s", dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *name = de[i]->d_name;

		if (name[0] == '.')
			goto next;
		part = json_object_new_object();
		json_object_object_add(part, "name",
				       json_object_new_string(name));
		/* "path" and "size_pages", null if it has no name now */
		if (json_object_object_get_ex(found, name, &f)) {
			json_object_object_foreach(f, key, v)
				json_object_object_add(part, key,
						       json_object_get(v));
		} else {
			json_object_object_add(part, "path", NULL);
			json_object_object_add(part, "size_pages", NULL);
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		sysfs_values(path, part, true);
		json_object_array_add(parts, part);
next:
		free(de[i]);
	}
	free(de);
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(found);
	json_object_put(doc);
	return ret;
}

static int cmd_status(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		OPT_HELP,
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	struct kvmshare_pool_info pi;
	char a[32], b[32], d[32], e[32], f[32];
	struct pool_ref p = { };
	bool json = false;
	int o, fd;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o != 'j')
			return common_opt(c, o);
		json = true;
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return usage_err(c, "wrong number of arguments");
	if (on_pool(argv[0], false))
		return 1;
	if (pool_find(argv[0], &p)) {
		if (json)
			return fail("%s: no kvmshare pool in /proc/self/mountinfo",
				    argv[0]);
		/* the partitions below DIR, with no policy target */
		snprintf(p.root, sizeof(p.root), "%s", argv[0]);
	}
	if (json)
		return status_json(&p);
	fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	if (ioctl(fd, KVMSHARE_IOC_POOL_INFO, &pi)) {
		o = errno;
		close(fd);
		return fail("pool info %s: %s", argv[0], strerror(o));
	}
	close(fd);
	human(a, sizeof(a), pi.size_pages);
	human(b, sizeof(b), pi.used_pages);
	human(d, sizeof(d), pi.available_pages);
	human(e, sizeof(e), pi.reserve_pages);
	human(f, sizeof(f), pi.entitled_pages);
	printf("pool %s: size %s, used %s, available %s, reserve %s, entitled %s\n",
	       argv[0], a, b, d, e, f);
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
	if (walk_parts(p.root, NULL, status_line, p.name))
		return fail("read %s: %s", p.root, strerror(errno));
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
		return qmp_fail("%s: socket path too long", sock);
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

static int cmd_qmp(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		OPT_HELP,
		{ "timeout", required_argument, NULL, 't' },
		{ }
	};
	unsigned long long s;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o != 't')
			return common_opt(c, o);
		if (parse_num(optarg, 1, 86400, &s))
			return fail("bad --timeout '%s' (seconds, 1-86400)",
				    optarg);
		qmp_timeout_s = s;
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return usage_err(c, "wrong number of arguments");
	return qmp_run(argv[0], argv[1]);
}

/* Ask QEMU's virtio-balloon for a guest RAM size (QMP "balloon"). */
static int cmd_balloon(const struct cmd *c, int argc, char **argv)
{
	unsigned long long bytes;
	const char *why;
	char cmd[128];
	int ret;

	ret = plain_args(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	if (argc != 2)
		return usage_err(c, "wrong number of arguments");
	why = parse_size(argv[1], &bytes);
	if (!why && !bytes)
		why = "a guest needs some memory";
	if (why)
		return fail("bad size '%s': %s", argv[1], why);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
		 bytes);
	return qmp_run(argv[0], cmd);
}

/* pageout FILE [OFFSET LENGTH]: page the range (default all) out now. */
static int cmd_pageout(const struct cmd *c, int argc, char **argv)
{
	unsigned long long off = 0, len = 0;
	const char *why = NULL;
	int fd, err;

	err = plain_args(c, &argc, &argv);
	if (err >= 0)
		return err;
	if (argc != 1 && argc != 3)
		return usage_err(c, "wrong number of arguments");
	if (argc == 3) {
		why = parse_size(argv[1], &off);
		if (why)
			return fail("bad offset '%s': %s", argv[1], why);
		why = parse_size(argv[2], &len);
		if (why)
			return fail("bad length '%s': %s", argv[2], why);
		if (off > INT64_MAX || len > INT64_MAX)
			return fail("bad range '%s %s'", argv[1], argv[2]);
	}
	if (on_pool(argv[0], false))
		return 1;
	/* Paging out needs a writable fd (the pool refuses EBADF). */
	fd = open(argv[0], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	err = posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
	close(fd);
	if (err)
		return fail("page out %s: %s", argv[0], strerror(err));
	return 0;
}

/* pager-stop DIR ID: the pool stops service ID once its requests are done. */
static int cmd_pager_stop(const struct cmd *c, int argc, char **argv)
{
	struct kvmshare_pager_stop st;
	unsigned long long id;
	int fd, err;

	err = plain_args(c, &argc, &argv);
	if (err >= 0)
		return err;
	if (argc != 2)
		return usage_err(c, "wrong number of arguments");
	if (parse_num(argv[1], 1, ULLONG_MAX, &id))
		return fail("bad paging service id '%s' (a decimal number)",
			    argv[1]);
	if (on_pool(argv[0], false))
		return 1;
	memset(&st, 0, sizeof(st));
	st.pager_id = id;
	fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", argv[0], strerror(errno));
	err = ioctl(fd, KVMSHARE_IOC_PAGER_STOP, &st) ? errno : 0;
	close(fd);
	if (err == EBUSY)
		return fail("service %s not stopped: %s", argv[1],
			    "pages are out and no other service is attached");
	if (err == ESRCH)
		return fail("no paging service %s on %s", argv[1], argv[0]);
	if (err)
		return fail("stop service %s: %s", argv[1], strerror(err));
	printf("paging service %s stopping: it finishes its requests, then the pool hangs up\n",
	       argv[1]);
	return 0;
}

/*
 * Bind a control file to partition FILE: CONTROL-FILE, or FILE.metrics by
 * default, created (1 MiB) if it does not exist; "none" unbinds. If the
 * bind fails, a control file made for it is removed again and one that
 * was grown gets its size back.
 */
static int cmd_metrics(const struct cmd *c, int argc, char **argv)
{
	struct kvmshare_metrics_bind b;
	char ctl[PATH_MAX] = "";
	bool made = false, grown = false;
	const char *part;
	struct stat st;
	int fd, cfd = -1, ret, err;

	ret = plain_args(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	if (argc < 1 || argc > 2)
		return usage_err(c, "wrong number of arguments");
	part = argv[0];
	if (argc == 1) {
		if (snprintf(ctl, sizeof(ctl), "%s.metrics", part) >=
		    (int)sizeof(ctl))
			return fail("%s.metrics: path too long", part);
	} else if (strcmp(argv[1], "none")) {
		if (snprintf(ctl, sizeof(ctl), "%s", argv[1]) >=
		    (int)sizeof(ctl))
			return fail("%s: path too long", argv[1]);
	}
	if (on_pool(part, false) || (ctl[0] && on_pool(ctl, true)))
		return 1;
	memset(&b, 0, sizeof(b));
	b.fd = -1;
	fd = open(part, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", part, strerror(errno));
	ret = 1;
	if (ctl[0]) {
		cfd = open(ctl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		made = cfd >= 0;
		if (cfd < 0 && errno == EEXIST)
			cfd = open(ctl, O_RDWR | O_CLOEXEC);
		if (cfd < 0) {
			fail("open %s: %s", ctl, strerror(errno));
			goto close_fd;
		}
		if (fstat(cfd, &st)) {
			fail("stat %s: %s", ctl, strerror(errno));
			goto undo;
		}
		/* ivshmem-plain wants a power of two; 1 MiB like the docs. */
		if (st.st_size < 4096) {
			if (ftruncate(cfd, 1 << 20)) {
				fail("size %s: %s", ctl, strerror(errno));
				goto undo;
			}
			grown = true;
		}
		b.fd = cfd;
	}
	if (ioctl(fd, KVMSHARE_IOC_METRICS_BIND, &b)) {
		err = errno;
		fail("bind %s: %s%s", part, strerror(err),
		     err == EBUSY ?
		     " (the control file serves another partition)" :
		     err == EINVAL ?
		     " (not a file of the same pool, or a control file; see dmesg)" :
		     "");
		goto undo;
	}
	ret = 0;
	goto close_cfd;
undo:
	if (made)
		unlink(ctl);
	else if (grown && ftruncate(cfd, st.st_size))
		fail("%s: size %lld not restored: %s", ctl,
		     (long long)st.st_size, strerror(errno));
close_cfd:
	if (cfd >= 0)
		close(cfd);
close_fd:
	close(fd);
	return ret;
}

struct lv_dom;

struct balance_guest {
	char name[PART_NAME_MAX + 64];	/* for messages */
	char sysname[PART_NAME_MAX];	/* in sysfs: FILE or DIR!FILE */
	const char *qmp;		/* its QEMU's QMP socket, or NULL */
	struct lv_dom *dom;		/* or its libvirt domain */
	int seen;			/* libvirt's: found by this scan */
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

static int lv_setmem(struct balance_guest *g, unsigned long long pages);

/*
 * Resize @g's guest to @pages through QMP or libvirt; 0 or -1 (why is
 * reported once, until it succeeds again).
 */
static int balance_apply(struct balance_guest *g, unsigned long long pages)
{
	char cmd[160];
	int rc;

	if (g->dom) {
		rc = lv_setmem(g, pages);
	} else {
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\": \"balloon\", \"arguments\": {\"value\": %llu}}",
			 pages * PAGE_SZ);
		qmp_quiet = g->failed;
		rc = qmp_run_to(g->qmp, cmd, NULL);
		qmp_quiet = 0;
	}
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

/* @n bytes of @s are a name in a directory (not "." or ".."). */
static bool name_ok(const char *s, size_t n)
{
	return n && n <= NAME_MAX && !memchr(s, '/', n) &&
	       !(n <= 2 && !strncmp(s, "..", n));
}

/* @n bytes of @s name a partition in its pool: FILE or DIR/FILE. */
static bool part_name_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);

	if (!slash)
		return name_ok(s, n);
	return name_ok(s, slash - s) &&
	       name_ok(slash + 1, n - (slash - s) - 1);
}

/*
 * libvirt, for balance --libvirt. It is loaded with dlopen() when asked
 * for: kvmsharectl runs on hosts without libvirt, and its package does
 * not depend on it. The calls used are declared here, from libvirt's
 * public API (stable since libvirt 1.0: virDomainInfo's layout, the
 * constants). The statically linked build (KVMSHARE_STATIC, the test
 * VM's) cannot load a shared library, and says so.
 */
struct lv_conn;				/* virConnect */

/* virDomainInfo */
struct lv_dom_info {
	unsigned char state;
	unsigned long max_kib;
	unsigned long kib;		/* the balloon's size */
	unsigned short vcpus;
	unsigned long long cpu_ns;
};

#define LV_AFFECT_LIVE	1U		/* VIR_DOMAIN_AFFECT_LIVE */
#define LV_LIB		"libvirt.so.0"
#define LV_URI		"qemu:///system"
/* libvirt's directory of a domain: "<id>-<name>", the name cut to this */
#define LV_SHORT_NAME	20

static struct {
	struct lv_conn *(*open)(const char *uri);
	int (*close)(struct lv_conn *c);
	int (*alive)(struct lv_conn *c);
	struct lv_dom *(*by_id)(struct lv_conn *c, int id);
	const char *(*name)(struct lv_dom *d);
	int (*info)(struct lv_dom *d, struct lv_dom_info *info);
	int (*setmem)(struct lv_dom *d, unsigned long kib, unsigned int flags);
	int (*free)(struct lv_dom *d);
	const char *(*error)(void);
	void (*error_func)(void *data, void (*fn)(void *data, void *err));
} lv;

#ifdef KVMSHARE_STATIC
static int lv_load(void)
{
	return fail("balance --libvirt: %s %s; use %s", "linked statically and cannot load",
		    LV_LIB, "the dynamically linked kvmsharectl (make install, kvmshare-tools)");
}
#else
/* libvirt prints every error on stderr by default; we print ours. */
static void lv_quiet(void *data, void *err)
{
	(void)data;
	(void)err;
}

static int lv_load(void)
{
	static const struct {
		const char *sym;
		void **fn;
	} syms[] = {
		{ "virConnectOpen", (void **)&lv.open },
		{ "virConnectClose", (void **)&lv.close },
		{ "virConnectIsAlive", (void **)&lv.alive },
		{ "virDomainLookupByID", (void **)&lv.by_id },
		{ "virDomainGetName", (void **)&lv.name },
		{ "virDomainGetInfo", (void **)&lv.info },
		{ "virDomainSetMemoryFlags", (void **)&lv.setmem },
		{ "virDomainFree", (void **)&lv.free },
		{ "virGetLastErrorMessage", (void **)&lv.error },
		{ "virSetErrorFunc", (void **)&lv.error_func },
	};
	unsigned int i;
	void *h;

	h = dlopen(LV_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return fail("balance --libvirt: cannot load libvirt: %s (%s)",
			    dlerror(), "Debian: apt install libvirt0");
	for (i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].fn = dlsym(h, syms[i].sym);
		if (!*syms[i].fn) {
			fail("balance --libvirt: %s has no %s", LV_LIB,
			     syms[i].sym);
			dlclose(h);
			return 1;
		}
	}
	lv.error_func(NULL, lv_quiet);
	return 0;
}
#endif

#define BALANCE_MAX 64

/* What balance follows. */
struct balance {
	struct balance_guest g[BALANCE_MAX];
	int n;
	struct pool_ref p;
	const char *follow;		/* the sysfs file of the targets */
	const char *uri;		/* --libvirt's URI, or NULL */
	struct lv_conn *conn;		/* while connected */
	int lv_failed;			/* connecting failed, said so */
	/* libvirt's partitions left out: why is said once */
	char told[BALANCE_MAX][PART_NAME_MAX], now[BALANCE_MAX][PART_NAME_MAX];
	int ntold, nnow;
};

/* Partition @rel of the pool (FILE or DIR/FILE) for @g; 0 or -1. */
static int balance_open(struct balance *b, struct balance_guest *g,
			const char *rel)
{
	char path[PATH_MAX + PART_NAME_MAX], *slash;
	struct stat st;
	int err;

	snprintf(g->sysname, sizeof(g->sysname), "%s", rel);
	/* DIR/FILE is DIR!FILE in sysfs */
	slash = strchr(g->sysname, '/');
	if (slash)
		*slash = '!';
	snprintf(path, sizeof(path), "%s/%s", b->p.root, rel);
	g->part = open(path, O_RDONLY | O_CLOEXEC);
	if (g->part < 0 || fstat(g->part, &st)) {
		err = errno;
		if (g->part >= 0)
			close(g->part);
		return -fail("%s: %s", path, strerror(err));
	}
	g->size = st.st_size / PAGE_SZ;
	snprintf(path, sizeof(path), SYSFS_POOLS "/%s/partitions/%s/%s",
		 b->p.name, g->sysname, b->follow);
	g->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0) {
		err = errno;
		close(g->part);
		return -fail("open %s: %s", path, strerror(err));
	}
	g->applied = -1;
	/* QEMU starts a guest with all its memory */
	g->balloon = g->size;
	g->changed_ms = 0;
	g->failed = 0;
	return 0;
}

/* Stop following guest @i (its domain stopped). */
static void balance_drop(struct balance *b, int i)
{
	struct balance_guest *g = &b->g[i];

	close(g->fd);
	close(g->part);
	if (g->dom)
		lv.free(g->dom);
	b->n--;
	if (i != b->n)
		*g = b->g[b->n];
}

/* Why libvirt's partition @sysname is left out: said once, while it is. */
static void lv_tell(struct balance *b, const char *sysname,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lv_tell(struct balance *b, const char *sysname,
		    const char *fmt, ...)
{
	va_list ap;
	int i;

	if (b->nnow == BALANCE_MAX)
		return;
	snprintf(b->now[b->nnow++], PART_NAME_MAX, "%s", sysname);
	for (i = 0; i < b->ntold; i++)
		if (!strcmp(b->told[i], sysname))
			return;
	fprintf(stderr, "%s: balance: %s: ", prog, sysname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * A partition of the pool: follow it if libvirt made it for a running
 * domain, <id>-<name>/pc.ram (<name> cut to LV_SHORT_NAME characters).
 */
static void lv_found(void *ctx, const struct part_ent *e)
{
	const char *slash = strchr(e->rel, '/'), *dname, *name;
	struct balance *b = ctx;
	struct balance_guest *g;
	struct lv_dom_info info;
	struct lv_dom *dom;
	size_t dlen;
	char *end;
	long id;
	int i;

	for (i = 0; i < b->n; i++) {
		if (!strcmp(b->g[i].sysname, e->sysname)) {
			b->g[i].seen = 1;
			return;
		}
	}
	if (!slash || !isdigit((unsigned char)e->rel[0]))
		return;
	errno = 0;
	id = strtol(e->rel, &end, 10);
	if (errno || *end != '-' || id <= 0 || id > INT_MAX)
		return;
	dname = end + 1;
	dlen = slash - dname;
	if (!dlen)
		return;
	if (!strncmp(slash + 1, "ram-node", 8)) {
		lv_tell(b, e->sysname, "%s", "a file per NUMA node: domain not balanced");
		return;
	}
	if (strcmp(slash + 1, "pc.ram"))
		return;
	dom = lv.by_id(b->conn, id);
	if (!dom) {
		lv_tell(b, e->sysname, "no running libvirt domain %ld: %s",
			id, lv.error());
		return;
	}
	name = lv.name(dom);
	if (!name || strncmp(name, dname, dlen) ||
	    (name[dlen] && dlen < LV_SHORT_NAME)) {
		lv_tell(b, e->sysname, "libvirt's domain %ld is '%s', not '%.*s'",
			id, name ? name : "?", (int)dlen, dname);
		goto free_dom;
	}
	if (b->n == BALANCE_MAX) {
		lv_tell(b, e->sysname, "not balanced: at most %d guests",
			BALANCE_MAX);
		goto free_dom;
	}
	if (lv.info(dom, &info)) {
		lv_tell(b, e->sysname, "domain %s: %s", name, lv.error());
		goto free_dom;
	}
	g = &b->g[b->n];
	memset(g, 0, sizeof(*g));
	if (balance_open(b, g, e->rel))
		goto free_dom;
	g->dom = dom;
	g->seen = 1;
	snprintf(g->name, sizeof(g->name), "%s (%s)", name, e->rel);
	/* libvirt knows the balloon's size (KiB) */
	if (info.kib && info.kib / (PAGE_SZ / 1024) < g->size)
		g->balloon = info.kib / (PAGE_SZ / 1024);
	b->n++;
	printf("balance: %s: libvirt domain %ld, balloon %llu MiB\n", g->name,
	       id, g->balloon * PAGE_SZ >> 20);
	fflush(stdout);
	return;
free_dom:
	lv.free(dom);
}

/*
 * Follow the pool's partitions of libvirt's running domains: new ones
 * are added, those of stopped domains dropped (their file is gone).
 * Connects (again) first if needed; 0, or -1 if libvirt is unreachable.
 */
static int lv_scan(struct balance *b)
{
	int i;

	if (b->conn && lv.alive(b->conn) != 1) {
		fprintf(stderr, "%s: balance: lost the connection to %s, reconnecting\n",
			prog, b->uri);
		for (i = b->n - 1; i >= 0; i--)
			if (b->g[i].dom)
				balance_drop(b, i);
		lv.close(b->conn);
		b->conn = NULL;
	}
	if (!b->conn) {
		b->conn = lv.open(b->uri);
		if (!b->conn) {
			if (!b->lv_failed)
				fail("balance: cannot connect to libvirt at %s: %s",
				     b->uri, lv.error());
			b->lv_failed = 1;
			return -1;
		}
		if (b->lv_failed)
			fprintf(stderr, "%s: balance: connected to %s\n", prog,
				b->uri);
		b->lv_failed = 0;
	}
	for (i = 0; i < b->n; i++)
		b->g[i].seen = 0;
	b->nnow = 0;
	if (walk_parts(b->p.root, NULL, lv_found, b))
		return -fail("read %s: %s", b->p.root, strerror(errno));
	memcpy(b->told, b->now, sizeof(b->told));
	b->ntold = b->nnow;
	for (i = b->n - 1; i >= 0; i--) {
		if (!b->g[i].dom || b->g[i].seen)
			continue;
		printf("balance: %s: gone\n", b->g[i].name);
		fflush(stdout);
		balance_drop(b, i);
	}
	return 0;
}

static int lv_setmem(struct balance_guest *g, unsigned long long pages)
{
	if (!lv.setmem(g->dom, pages * (PAGE_SZ / 1024), LV_AFFECT_LIVE))
		return 0;
	if (!g->failed)
		fail("balance: %s: libvirt: %s", g->name, lv.error());
	return -1;
}

/*
 * Follow the policy targets of some partitions (with --manual: the
 * administrator's target_pages) and apply each through the guest's
 * virtio-balloon: QEMU's QMP (--qmp), or libvirt's API for the pool's
 * partitions of libvirt's domains (--libvirt). poll() on their sysfs
 * files (notified when a policy target changes), re-check every
 * --interval ms, retry failures there.
 */
static int cmd_balance(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		OPT_HELP,
		{ "min", required_argument, NULL, 'm' },
		{ "interval", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'H' },
		{ "once", no_argument, NULL, 'o' },
		{ "manual", no_argument, NULL, 'M' },
		{ "qmp", required_argument, NULL, 'q' },
		{ "libvirt", optional_argument, NULL, 'l' },
		{ }
	};
	int i, o, nq = 0, once = 0, interval = 1000, hold = 10000, left;
	int pool_fd, ret = 1;
	const char *qmp[BALANCE_MAX][2];
	struct pollfd pfd[BALANCE_MAX];
	unsigned long long min = 0, v;
	struct balance *b;
	const char *why;
	char *eq;

	b = calloc(1, sizeof(*b));
	if (!b)
		return fail("out of memory");
	b->follow = "policy_target_pages";
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			once = 1;
			break;
		case 'M':
			b->follow = "target_pages";
			break;
		case 'm':
			why = parse_size(optarg, &min);
			if (why) {
				fail("bad --min '%s': %s", optarg, why);
				goto out;
			}
			break;
		case 'H':
			if (parse_num(optarg, 0, 3600000, &v)) {
				fail("bad --hold '%s' (0..3600000 ms)", optarg);
				goto out;
			}
			hold = v;
			break;
		case 'i':
			if (parse_num(optarg, 10, 3600000, &v)) {
				fail("bad --interval '%s' (10..3600000 ms)",
				     optarg);
				goto out;
			}
			interval = v;
			break;
		case 'q':
			eq = strchr(optarg, '=');
			if (!eq || !eq[1] || !part_name_ok(optarg, eq - optarg)) {
				fail("bad --qmp '%s' (%s)", optarg,
				     "NAME=QMP-SOCKET, NAME a partition: FILE or DIR/FILE");
				goto out;
			}
			if (nq == BALANCE_MAX) {
				fail("at most %d guests", BALANCE_MAX);
				goto out;
			}
			*eq = 0;
			qmp[nq][0] = optarg;
			qmp[nq][1] = eq + 1;
			nq++;
			break;
		case 'l':
			b->uri = optarg && optarg[0] ? optarg : LV_URI;
			break;
		default:
			ret = common_opt(c, o);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		ret = usage_err(c, "wrong number of arguments");
		goto out;
	}
	if (!nq && !b->uri) {
		ret = usage_err(c, "no --qmp NAME=QMP-SOCKET and no --libvirt given");
		goto out;
	}
	if (on_pool(argv[0], false))
		goto out;
	if (pool_find(argv[0], &b->p)) {
		fail("%s: no kvmshare pool in /proc/self/mountinfo", argv[0]);
		goto out;
	}
	if (b->uri && lv_load())
		goto out;
	pool_fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pool_fd < 0) {
		fail("open %s: %s", argv[0], strerror(errno));
		goto out;
	}
	for (i = 0; i < nq; i++) {
		if (balance_open(b, &b->g[i], qmp[i][0]))
			goto close_pool;
		snprintf(b->g[i].name, sizeof(b->g[i].name), "%s", qmp[i][0]);
		b->g[i].qmp = qmp[i][1];
		b->n++;
	}
	/* libvirt unreachable at the start is an error; later, retried */
	if (b->uri && lv_scan(b))
		goto close_pool;
	for (;;) {
		left = balance_pass(b->g, b->n, pool_fd, min, once ? 0 : hold);
		if (once) {
			ret = left ? 1 : 0;
			break;
		}
		for (i = 0; i < b->n; i++) {
			pfd[i].fd = b->g[i].fd;
			pfd[i].events = POLLPRI;
		}
		if (poll(pfd, b->n, interval) < 0 && errno != EINTR) {
			fail("poll: %s", strerror(errno));
			break;
		}
		if (b->uri)
			lv_scan(b);
	}
close_pool:
	while (b->n)
		balance_drop(b, b->n - 1);
	if (b->conn)
		lv.close(b->conn);
	close(pool_fd);
out:
	free(b);
	return ret;
}

#define SIZES_HELP \
	"Sizes are decimal bytes with an optional K, M, G or T suffix (powers of\n" \
	"1024): 010 and 0x10 are refused.\n"

static const struct cmd cmds[] = {
	{
		.name = "mount", .fn = cmd_mount,
		.args = "DIR [size=S] [reserve=S] [name=N] [mode=M] [umask=M] [uid=U] [gid=G]",
		.summary = "Mount a new pool at DIR.",
		.help = "DIR is made if it does not exist, and removed again if the mount\n"
			"fails. size= (default 50% of RAM) and reserve= are sizes or a\n"
			"percentage of RAM (size=25%); name= is the pool's name in\n"
			"/sys/fs/kvmshare; mode=, umask= (octal), uid= and gid= say who may\n"
			"use the pool. When the kernel refuses the pool, its reason is\n"
			"printed.\n" SIZES_HELP,
	}, {
		.name = "resize", .fn = cmd_resize,
		.args = "DIR [size=S] [reserve=S] [umask=M]",
		.summary = "Change the size, reserve or umask of the pool mounted at DIR.",
		.help = "A size below what partitions use or are entitled to is refused,\n"
			"with the kernel's reason.\n" SIZES_HELP,
	}, {
		.name = "umount", .fn = cmd_umount,
		.args = "DIR",
		.summary = "Unmount the pool mounted at DIR.",
		.help = "",
	}, {
		.name = "create", .fn = cmd_create,
		.args = "FILE SIZE [entitlement=S] [limit=S] [weight=W] [target=S]",
		.summary = "Create partition FILE of SIZE bytes (rounded up to pages).",
		.help = "FILE is in a pool or in a directory of one. The attributes are as\n"
			"for set; if one is refused, the file is removed again.\n"
			SIZES_HELP,
	}, {
		.name = "set", .fn = cmd_set,
		.args = "FILE [entitlement=S] [limit=S] [weight=W] [target=S]",
		.summary = "Set attributes of partition FILE.",
		.help = "entitlement= is guaranteed to it, limit= is the most it may hold\n"
			"(0: no limit), weight= (1..10000) its share of spare memory,\n"
			"target= what host paging pages it down to.\n" SIZES_HELP,
	}, {
		.name = "remove", .fn = cmd_remove,
		.args = "FILE",
		.summary = "Remove partition FILE.",
		.help = "",
	}, {
		.name = "status", .fn = cmd_status,
		.args = "[--json] DIR",
		.summary = "Show the pool DIR is on and its partitions.",
		.help = "With --json, one JSON document: \"pool\" (name, path, page_size and\n"
			"its sysfs files) and \"partitions\", each with its sysfs name, path\n"
			"(null once deleted while in use), size_pages and its sysfs files,\n"
			"numbers as in sysfs (pages, counts).\n",
		.opts = "      --json  print JSON\n",
	}, {
		.name = "pager-stop", .fn = cmd_pager_stop,
		.args = "DIR ID",
		.summary = "Stop paging service ID of the pool at DIR.",
		.help = "The service finishes its requests, then the pool hangs up; refused\n"
			"while pages are out and no other service is attached.\n",
	}, {
		.name = "pageout", .fn = cmd_pageout,
		.args = "FILE [OFFSET LENGTH]",
		.summary = "Page a range of partition FILE (default: all of it) out now.",
		.help = SIZES_HELP,
	}, {
		.name = "balloon", .fn = cmd_balloon,
		.args = "QMP-SOCKET SIZE",
		.summary = "Ask QEMU's virtio-balloon for a guest RAM size of SIZE.",
		.help = SIZES_HELP,
	}, {
		.name = "qmp", .fn = cmd_qmp,
		.args = "[--timeout=SECONDS] QMP-SOCKET JSON-COMMAND",
		.summary = "Run a QMP command and print its \"return\" value as JSON.",
		.help = "QEMU's error is \"qmp: CLASS: DESC\" on stderr, exit status 1.\n",
		.opts = "      --timeout=SECONDS  for the whole exchange (default 30)\n",
	}, {
		.name = "metrics", .fn = cmd_metrics,
		.args = "FILE [CONTROL-FILE|none]",
		.summary = "Bind a guest metrics control file to partition FILE.",
		.help = "CONTROL-FILE (default FILE.metrics) is made, 1 MiB, if it does not\n"
			"exist, and removed again if the bind fails; none unbinds.\n",
	}, {
		.name = "balance", .fn = cmd_balance,
		.args = "DIR [--min=SIZE] [--interval=MS] [--hold=MS] [--once]\n"
			"          [--manual] [--libvirt[=URI]] [--qmp=NAME=QMP-SOCKET...]",
		.summary = "Apply partitions' policy targets through their guest's balloon.",
		.help = "With --qmp, NAME is a partition of the pool mounted at DIR (FILE or\n"
			"DIR/FILE), one --qmp for each, its guest's QEMU at QMP-SOCKET. With\n"
			"--libvirt, every partition <id>-<name>/pc.ram of the pool (libvirt's\n"
			"memory_backing_dir) whose running domain libvirt knows is followed as\n"
			"domains start and stop, its balloon set through libvirt\n"
			"(virDomainSetMemoryFlags, live); libvirt0 is loaded when asked for.\n"
			SIZES_HELP,
		.opts = "      --min=SIZE     no guest below SIZE\n"
			"      --interval=MS  check every MS ms (10..3600000, default 1000)\n"
			"      --hold=MS      keep a guest's size MS ms before lowering it\n"
			"                     (0..3600000, default 10000)\n"
			"      --once         one pass; exit status 1 if work is left\n"
			"      --manual       follow target_pages, not the policy's targets\n"
			"      --libvirt[=URI]\n"
			"                     libvirt's domains on the pool, through URI\n"
			"                     (default " LV_URI ")\n"
			"      --qmp=NAME=QMP-SOCKET\n"
			"                     partition NAME's guest is QEMU at QMP-SOCKET\n",
	},
};

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "Usage: %s COMMAND [ARGS...]\n"
		"       %s COMMAND --help\n"
		"       %s --help | --version\n\nCommands:\n", prog, prog, prog);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args,
			cmds[i].summary);
	fprintf(f, "\nSizes: decimal bytes with an optional K, M, G or T suffix; pool sizes\n"
		"also N%% of RAM. See Documentation/admin-guide/pool.rst.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ }
	};
	char name[64];
	unsigned int i;
	int o;

	/* "+": the options before the command only */
	while ((o = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", prog, KVMSHARE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "%s: no command given\n", prog);
		usage(stderr);
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			break;
	if (i == ARRAY_SIZE(cmds)) {
		fail("unknown command '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* The command's getopt_long() starts afresh, at its arguments. */
	snprintf(name, sizeof(name), "%s %s", prog, cmds[i].name);
	argv += optind;
	argc -= optind;
	argv[0] = name;
	optind = 0;
	return cmds[i].fn(&cmds[i], argc, argv);
}
