// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-pagerd: the reference paging service of kvmshare host paging.
 *
 *   kvmshare-pagerd --pool DIR --backend file:PATH|blockdev:PATH --blocks N
 *                   [--entries 256] [--slots 64] [--uring] [--standby]
 *                   [--fail-read BLOCK] [--fail-read-page PART:INDEX]
 *                   [--delay-read-ms N] [--stall-after N] [--die-after N]
 *                   [--no-crc] [--timing] [--pidfile F] [--verbose]
 *
 * It attaches to the pool with KVMSHARE_IOC_PAGER_ATTACH, maps the request
 * ring and the slots, and serves requests in batches. SIGTERM or SIGINT
 * asks the pool for a controlled stop (KVMSHARE_PAGER_IOC_STOP): the
 * daemon serves on until the requests in flight are done and the pool
 * hangs up, then closes the fd and exits 0 after a summary. While the
 * pool refuses the stop (pages on the backing store and no other service)
 * it says so and serves on, asking again every second. See
 * Documentation/admin-guide/paging.rst, "Reference paging service".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <linux/kvmshare_pager.h>

#include "backend.h"
#include "pagerd.h"

/* Exit statuses: 0 clean stop, 1 runtime failure, 2 bad usage. */
#define EXIT_USAGE	2
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct pagerd_opts {
	const char	*pool;
	const char	*backend;
	uint64_t	blocks;
	uint32_t	entries;
	uint32_t	slots;
	bool		uring;
	bool		standby;
	bool		verbose;
	bool		no_crc;
	bool		timing;
	unsigned int	delay_ms;
	int64_t		stall_after;	/* -1: never */
	int64_t		die_after;	/* -1: never */
	const char	*pidfile;
};

struct pagerd_main {
	struct pagerd		d;
	struct pb_backend	be;
	struct pagerd_opts	o;
	int			fd;	/* pager fd */
	int			sfd;	/* signalfd: SIGTERM, SIGINT */
	void			*map;
	size_t			map_len;
	bool			stop;		/* a signal asked for it */
	bool			stop_sent;	/* the pool took the stop */
	bool			stop_refused;	/* said once */
	bool			hung_up;	/* POLLHUP: the pool's view logged */
	bool			stalled;
	unsigned int		timing_lines;	/* --timing: printed */
	struct kvmshare_pager_req	req[PAGERD_MAX_BATCH];
	struct kvmshare_pager_cqe	cqe[PAGERD_MAX_BATCH];
};

enum {
	OPT_POOL = 256, OPT_BACKEND, OPT_BLOCKS, OPT_ENTRIES, OPT_SLOTS,
	OPT_URING, OPT_STANDBY, OPT_FAIL_READ, OPT_FAIL_READ_PAGE,
	OPT_DELAY_READ, OPT_STALL_AFTER, OPT_DIE_AFTER, OPT_NO_CRC,
	OPT_PIDFILE, OPT_VERBOSE, OPT_HELP, OPT_TIMING,
};

static const struct option pagerd_options[] = {
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "blocks", required_argument, NULL, OPT_BLOCKS },
	{ "entries", required_argument, NULL, OPT_ENTRIES },
	{ "slots", required_argument, NULL, OPT_SLOTS },
	{ "uring", no_argument, NULL, OPT_URING },
	{ "standby", no_argument, NULL, OPT_STANDBY },
	{ "fail-read", required_argument, NULL, OPT_FAIL_READ },
	{ "fail-read-page", required_argument, NULL, OPT_FAIL_READ_PAGE },
	{ "delay-read-ms", required_argument, NULL, OPT_DELAY_READ },
	{ "stall-after", required_argument, NULL, OPT_STALL_AFTER },
	{ "die-after", required_argument, NULL, OPT_DIE_AFTER },
	{ "no-crc", no_argument, NULL, OPT_NO_CRC },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "timing", no_argument, NULL, OPT_TIMING },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmshare-pagerd --pool DIR --backend file:PATH|blockdev:PATH --blocks N\n"
		"         [--entries N] [--slots N] [--uring] [--standby] [--no-crc]\n"
		"         [--fail-read BLOCK] [--fail-read-page PART:INDEX]\n"
		"         [--delay-read-ms N] [--stall-after N] [--die-after N]\n"
		"         [--timing] [--pidfile FILE] [--verbose]\n"
		"  --pool DIR          the pool's directory (a kvmshare mount)\n"
		"  --backend SPEC      file:PATH (created, sparse) or blockdev:PATH (O_DIRECT)\n"
		"  --blocks N          capacity of the backing store in 4 KiB blocks\n"
		"  --entries N         request ring size, power of two %u..%u (256)\n"
		"  --slots N           data buffers, 1..min(entries, %u) (64)\n"
		"  --uring             file back end through io_uring with O_DIRECT\n"
		"  --standby           attach as standby (KVMSHARE_PAGER_F_STANDBY)\n"
		"  --no-crc            no CRC32C of our own: page-outs' not checked or kept,\n"
		"                      page-ins' not checked (the pool checks them)\n"
		"  --timing            time the batches' phases; SIGUSR1 prints the sums\n"
		"Fault injection (tests):\n"
		"  --fail-read BLOCK   page-ins of BLOCK complete with -EIO (repeatable)\n"
		"  --fail-read-page PART:INDEX\n"
		"                      page-ins of that page complete with -EIO (repeatable)\n"
		"  --delay-read-ms N   hold every batch with page-ins N ms before its I/O\n"
		"  --stall-after N     complete N requests, then stop answering (fd kept)\n"
		"  --die-after N       complete N requests, take the next ones, _exit(1)\n",
		KVMSHARE_PAGER_MIN_ENTRIES, KVMSHARE_PAGER_MAX_ENTRIES,
		KVMSHARE_PAGER_MAX_SLOTS);
}

/* Parse an unsigned decimal or 0x number up to @max; returns 0 or -1. */
static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse_opts(struct pagerd_opts *o, struct pagerd_fault *f,
		      int argc, char **argv)
{
	uint64_t v, w;
	char *colon;
	int c;

	memset(o, 0, sizeof(*o));
	o->entries = 256;
	o->slots = 64;
	o->stall_after = -1;
	o->die_after = -1;

	while ((c = getopt_long(argc, argv, "", pagerd_options, NULL)) != -1) {
		switch (c) {
		case OPT_POOL:
			o->pool = optarg;
			break;
		case OPT_BACKEND:
			o->backend = optarg;
			break;
		case OPT_BLOCKS:
			if (parse_u64(optarg, UINT64_MAX, &o->blocks) ||
			    !o->blocks)
				goto bad;
			break;
		case OPT_ENTRIES:
			if (parse_u64(optarg, KVMSHARE_PAGER_MAX_ENTRIES, &v) ||
			    v < KVMSHARE_PAGER_MIN_ENTRIES || (v & (v - 1)))
				goto bad;
			o->entries = v;
			break;
		case OPT_SLOTS:
			if (parse_u64(optarg, KVMSHARE_PAGER_MAX_SLOTS, &v) ||
			    !v)
				goto bad;
			o->slots = v;
			break;
		case OPT_URING:
			o->uring = true;
			break;
		case OPT_STANDBY:
			o->standby = true;
			break;
		case OPT_NO_CRC:
			o->no_crc = true;
			break;
		case OPT_TIMING:
			o->timing = true;
			break;
		case OPT_FAIL_READ:
			if (f->nr_fail_block >= PAGERD_MAX_FAULTS ||
			    parse_u64(optarg, UINT64_MAX, &v))
				goto bad;
			f->fail_block[f->nr_fail_block++] = v;
			break;
		case OPT_FAIL_READ_PAGE:
			colon = strchr(optarg, ':');
			if (!colon || f->nr_fail_page >= PAGERD_MAX_FAULTS)
				goto bad;
			*colon = '\0';
			if (parse_u64(optarg, UINT64_MAX, &v) ||
			    parse_u64(colon + 1, UINT64_MAX, &w)) {
				*colon = ':';
				goto bad;
			}
			*colon = ':';
			f->fail_part[f->nr_fail_page] = v;
			f->fail_index[f->nr_fail_page++] = w;
			break;
		case OPT_DELAY_READ:
			if (parse_u64(optarg, 3600 * 1000, &v))
				goto bad;
			o->delay_ms = v;
			break;
		case OPT_STALL_AFTER:
			if (parse_u64(optarg, INT64_MAX, &v))
				goto bad;
			o->stall_after = v;
			break;
		case OPT_DIE_AFTER:
			if (parse_u64(optarg, INT64_MAX, &v))
				goto bad;
			o->die_after = v;
			break;
		case OPT_PIDFILE:
			o->pidfile = optarg;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		pagerd_log("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->pool || !o->backend || !o->blocks) {
		pagerd_log("--pool, --backend and --blocks are required");
		usage(stderr);
		return -1;
	}
	if (o->slots > o->entries) {
		pagerd_log("--slots %u is more than --entries %u", o->slots,
			   o->entries);
		return -1;
	}
	return 0;

bad:
	pagerd_log("bad value for --%s: '%s'",
		   pagerd_options[c - OPT_POOL].name, optarg);
	return -1;
}

static int write_pidfile(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f)) {
		unlink(tmp);
		return -EIO;
	}
	/* Appears complete or not at all: tests wait for it. */
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

/* The pool's state of this service, or 0. */
static unsigned int print_info(struct pagerd_main *m)
{
	struct kvmshare_pager_info info;
	static const char * const states[] = {
		[KVMSHARE_PAGER_STATE_ACTIVE] = "active",
		[KVMSHARE_PAGER_STATE_STANDBY] = "standby",
		[KVMSHARE_PAGER_STATE_STOPPING] = "stopping",
		[KVMSHARE_PAGER_STATE_STOPPED] = "stopped",
		[KVMSHARE_PAGER_STATE_FAILED] = "failed over",
	};
	const char *state = "?";

	memset(&info, 0, sizeof(info));
	if (ioctl(m->fd, KVMSHARE_PAGER_IOC_INFO, &info) < 0) {
		pagerd_log("pager %llu: KVMSHARE_PAGER_IOC_INFO: %s",
			   (unsigned long long)m->d.ring->pager_id,
			   strerror(errno));
		return 0;
	}
	if (info.state < ARRAY_SIZE(states) &&
	    states[info.state])
		state = states[info.state];
	pagerd_log("pager %llu: %s, %s; requests %llu completions %llu refused %llu inflight %llu",
		   (unsigned long long)info.pager_id,
		   info.role ? "standby" : "primary", state,
		   (unsigned long long)info.requests,
		   (unsigned long long)info.completions,
		   (unsigned long long)info.bad_completions,
		   (unsigned long long)info.inflight);
	if (info.bad_checksums)
		pagerd_log("pager %llu: %llu page-ins failed the pool's checksum",
			   (unsigned long long)info.pager_id,
			   (unsigned long long)info.bad_checksums);
	if (info.state == KVMSHARE_PAGER_STATE_STOPPED)
		pagerd_log("pager %llu: streams suspended %llu, completed %llu",
			   (unsigned long long)info.pager_id,
			   (unsigned long long)info.suspended_streams,
			   (unsigned long long)info.completed_streams);
	return info.state;
}

static int pool_attach(struct pagerd_main *m)
{
	struct kvmshare_pager_attach a;
	int dfd, ret;

	dfd = open(m->o.pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		pagerd_log("open %s: %s", m->o.pool, strerror(errno));
		return -errno;
	}
	memset(&a, 0, sizeof(a));
	a.version = KVMSHARE_PAGER_VERSION;
	a.flags = m->o.standby ? KVMSHARE_PAGER_F_STANDBY : 0;
	a.sq_entries = m->o.entries;
	a.nr_slots = m->o.slots;
	a.backing_blocks = m->o.blocks;
	m->fd = ioctl(dfd, KVMSHARE_IOC_PAGER_ATTACH, &a);
	ret = -errno;
	close(dfd);
	if (m->fd < 0) {
		pagerd_log("attach to %s: %s", m->o.pool, strerror(-ret));
		return ret;
	}

	m->map_len = pagerd_map_len(m->o.entries, m->o.slots);
	m->map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->fd, 0);
	if (m->map == MAP_FAILED) {
		ret = -errno;
		pagerd_log("mmap of the pager fd (%zu bytes): %s", m->map_len,
			   strerror(errno));
		goto close_fd;
	}
	ret = pagerd_map(&m->d, m->map, m->map_len, m->o.entries,
			 m->o.slots);
	if (ret)
		goto unmap;
	return 0;

unmap:
	munmap(m->map, m->map_len);
	m->map = NULL;
close_fd:
	close(m->fd);
	m->fd = -1;
	return ret;
}

static void pool_detach(struct pagerd_main *m)
{
	if (m->map)
		munmap(m->map, m->map_len);
	m->map = NULL;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

/*
 * --timing: the sums since the start, one line numbered from 1 (a reader
 * that sent SIGUSR1 waits for the next number). Per request, divide by
 * requests; per batch, by batches.
 */
static void print_timing(struct pagerd_main *m)
{
	const struct pagerd_times *t = &m->d.tm;
	char line[256];
	int len;

	len = snprintf(line, sizeof(line), "timing %u: batches %llu requests %llu",
		       ++m->timing_lines, (unsigned long long)t->batches,
		       (unsigned long long)t->requests);
	snprintf(line + len, sizeof(line) - len,
		 " ns take %llu validate %llu io %llu crc %llu complete %llu",
		 (unsigned long long)t->take,
		 (unsigned long long)t->validate, (unsigned long long)t->io,
		 (unsigned long long)t->crc, (unsigned long long)t->complete);
	pagerd_log("%s", line);
}

/*
 * Drain the signalfd; a SIGTERM or SIGINT asks for a clean stop, a
 * SIGUSR1 (taken with --timing only) prints the timing sums.
 */
static void read_signals(struct pagerd_main *m)
{
	struct signalfd_siginfo si;

	while (read(m->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			print_timing(m);
			continue;
		}
		if (!m->stop)
			pagerd_log("signal %u: stopping", si.ssi_signo);
		m->stop = true;
	}
}

/* --delay-read-ms: wait before the I/O; a signal cuts the wait short. */
static void delay_read(struct pagerd *d, unsigned int page_ins)
{
	struct pagerd_main *m = d->priv;
	struct pollfd p = { .fd = m->sfd, .events = POLLIN };

	(void)page_ins;
	if (m->stop || !m->o.delay_ms)
		return;
	if (poll(&p, 1, (int)m->o.delay_ms) > 0)
		read_signals(m);
}

/*
 * Write completions, all in one write(). Should the pool refuse the batch
 * (-EINVAL: it names no request in flight, or a field is bad), send them
 * one by one so that only the bad ones are lost.
 */
static int complete(struct pagerd_main *m, struct kvmshare_pager_cqe *cqe,
		    unsigned int n)
{
	size_t len = n * sizeof(*cqe), done = 0;
	unsigned int i;
	ssize_t ret;

	while (done < len) {
		ret = write(m->fd, (char *)cqe + done, len - done);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && errno == EINVAL && len - done > sizeof(*cqe))
			break;
		if (ret < 0) {
			if (errno == EINVAL) {
				m->d.st.refused++;
				pagerd_warn("completion of request %llu refused",
					    (unsigned long long)cqe[done / sizeof(*cqe)].id);
				return 0;
			}
			pagerd_log("write completions: %s", strerror(errno));
			return -errno;
		}
		if (!ret || ret % sizeof(*cqe)) {
			pagerd_log("write completions: short write (%zd)", ret);
			return -EIO;
		}
		done += ret;
		m->d.st.completions += ret / sizeof(*cqe);
	}
	for (i = done / sizeof(*cqe); i < n; i++) {
		do {
			ret = write(m->fd, &cqe[i], sizeof(cqe[i]));
		} while (ret < 0 && errno == EINTR);
		if (ret == sizeof(cqe[i])) {
			m->d.st.completions++;
		} else if (ret < 0 && errno == EINVAL) {
			m->d.st.refused++;
			pagerd_warn("completion of request %llu refused",
				    (unsigned long long)cqe[i].id);
		} else {
			pagerd_log("write completion: %s",
				   ret < 0 ? strerror(errno) : "short write");
			return ret < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* Requests this run may still take before --stall-after/--die-after. */
static unsigned int quota(struct pagerd_main *m)
{
	int64_t limit = -1, left;

	if (m->o.stall_after >= 0)
		limit = m->o.stall_after;
	if (m->o.die_after >= 0 && (limit < 0 || m->o.die_after < limit))
		limit = m->o.die_after;
	if (limit < 0)
		return PAGERD_MAX_BATCH;
	left = limit - (int64_t)m->d.st.requests;
	if (left <= 0)
		return 0;
	return left < PAGERD_MAX_BATCH ? (unsigned int)left : PAGERD_MAX_BATCH;
}

/* One batch: take, perform, complete. Returns 0 or a negative errno. */
static int serve_batch(struct pagerd_main *m)
{
	unsigned int max = quota(m);
	uint64_t t0;
	int n, ret;

	if (!pagerd_pending(&m->d))
		return 0;
	if (!max) {
		if (m->o.die_after >= 0 &&
		    (int64_t)m->d.st.requests >= m->o.die_after) {
			n = pagerd_take(&m->d, m->req, PAGERD_MAX_BATCH);
			pagerd_log("--die-after %lld: exiting with %d request(s) taken",
				   (long long)m->o.die_after, n);
			_exit(1);
		}
		pagerd_log("--stall-after %lld: no longer answering",
			   (long long)m->o.stall_after);
		m->stalled = true;
		return 0;
	}
	if (max > m->o.entries)
		max = m->o.entries;
	t0 = pagerd_clock(&m->d);
	n = pagerd_take(&m->d, m->req, max);
	if (t0)
		m->d.tm.take += pagerd_clock(&m->d) - t0;
	if (n <= 0)
		return n;
	pagerd_process(&m->d, m->req, n, m->cqe);
	t0 = pagerd_clock(&m->d);
	ret = complete(m, m->cqe, n);
	if (t0)
		m->d.tm.complete += pagerd_clock(&m->d) - t0;
	return ret;
}

/*
 * A signal asked for a stop: ask the pool for a controlled one. Returns
 * true when the daemon should close at once (the pool cannot stop it).
 */
static bool request_stop(struct pagerd_main *m)
{
	unsigned long long id = m->d.ring->pager_id;

	if (!ioctl(m->fd, KVMSHARE_PAGER_IOC_STOP)) {
		m->stop_sent = true;
		pagerd_log("pager %llu: stopping: finishing the requests in flight",
			   id);
		return false;
	}
	if (errno == EBUSY) {
		if (!m->stop_refused)
			pagerd_log("pager %llu: the pool refuses the stop: %s; %s",
				   id, "pages are out, no other service",
				   "serving on, asking every second");
		m->stop_refused = true;
		return false;
	}
	pagerd_log("pager %llu: KVMSHARE_PAGER_IOC_STOP: %s: closing",
		   id, strerror(errno));
	return true;
}

static int serve(struct pagerd_main *m)
{
	struct pollfd p[2];
	int ret;

	for (;;) {
		bool pending = !m->stalled && pagerd_pending(&m->d);
		int timeout = pending ? 0 : -1;

		/* A stalled service (fault injection) just goes. */
		if (m->stop && m->stalled)
			return 0;
		if (m->stop && !m->stop_sent) {
			if (request_stop(m))
				return 0;
			if (!m->stop_sent && !pending)
				timeout = 1000;
		}

		p[0].fd = m->sfd;
		p[0].events = POLLIN;
		p[1].fd = m->fd;
		p[1].events = POLLIN;
		p[0].revents = 0;
		p[1].revents = 0;
		ret = poll(p, m->stalled ? 1 : 2, timeout);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			pagerd_log("poll: %s", strerror(errno));
			return -errno;
		}
		if (p[0].revents & POLLIN)
			read_signals(m);
		if (m->stalled)
			continue;
		if (p[1].revents & (POLLERR | POLLNVAL)) {
			pagerd_log("pager fd error (poll events %#x)",
				   p[1].revents);
			return -EIO;
		}
		if (p[1].revents & POLLHUP) {
			/* Stopped (asked for), or failed over (not). */
			m->hung_up = true;
			if (print_info(m) == KVMSHARE_PAGER_STATE_FAILED) {
				pagerd_log("the pool failed this service over to another");
				return -EIO;
			}
			pagerd_log("the pool hung up");
			return 0;
		}
		ret = serve_batch(m);
		if (ret)
			return ret;
	}
	return 0;
}

static void print_summary(struct pagerd_main *m)
{
	const struct pagerd_stats *s = &m->d.st;

	pagerd_log("summary: requests %llu: page-out %llu page-in %llu discard %llu invalid %llu",
		   (unsigned long long)s->requests,
		   (unsigned long long)s->page_out,
		   (unsigned long long)s->page_in,
		   (unsigned long long)s->discard,
		   (unsigned long long)s->invalid);
	pagerd_log("summary: errors %llu: I/O %llu, injected %llu, crc32c %llu",
		   (unsigned long long)s->errors,
		   (unsigned long long)s->io_errors,
		   (unsigned long long)s->injected,
		   (unsigned long long)s->crc_errors);
	pagerd_log("summary: written %llu B, read %llu B; batches %llu (max %llu), flushes %llu",
		   (unsigned long long)s->bytes_out,
		   (unsigned long long)s->bytes_in,
		   (unsigned long long)s->batches,
		   (unsigned long long)s->max_batch,
		   (unsigned long long)m->be.syncs);
	pagerd_log("summary: completions accepted %llu, refused %llu",
		   (unsigned long long)s->completions,
		   (unsigned long long)s->refused);
}

int main(int argc, char **argv)
{
	static struct pagerd_main m;
	char err[512] = "";
	const char *path;
	enum pb_kind kind;
	sigset_t set;
	int ret;

	m.fd = -1;
	m.sfd = -1;
	if (parse_opts(&m.o, &m.d.fault, argc, argv))
		return EXIT_USAGE;
	if (pb_parse(m.o.backend, &kind, &path)) {
		pagerd_log("bad --backend '%s': file:PATH or blockdev:PATH",
			   m.o.backend);
		return EXIT_USAGE;
	}

	/* Signals are only taken between batches, through the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (m.o.timing)
		sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m.sfd < 0) {
		pagerd_log("signalfd: %s", strerror(errno));
		return 1;
	}

	ret = pb_open(&m.be, kind, path, m.o.blocks, m.o.uring, err,
		      sizeof(err));
	if (ret) {
		pagerd_log("back end: %s", err);
		return 1;
	}
	m.d.be = &m.be;
	m.d.blocks = m.o.blocks;
	m.d.verbose = m.o.verbose;
	m.d.timing = m.o.timing;
	m.d.priv = &m;
	if (m.o.delay_ms)
		m.d.before_read = delay_read;
	if (!m.o.no_crc && pagerd_crc_init(&m.d))
		pagerd_log("no memory for the crc32c table: not keeping them");

	ret = pool_attach(&m);
	if (ret)
		goto close_backend;
	pagerd_log("serving %s with %s:%s%s, %llu blocks, %u entries, %u slots",
		   m.o.pool, pb_kind_name(kind), path,
		   m.be.uring ? " (io_uring, O_DIRECT)" : "",
		   (unsigned long long)m.o.blocks, m.o.entries, m.o.slots);
	print_info(&m);
	if (m.o.pidfile) {
		ret = write_pidfile(m.o.pidfile);
		if (ret) {
			pagerd_log("pidfile %s: %s", m.o.pidfile,
				   strerror(-ret));
			goto detach;
		}
	}

	ret = serve(&m);
	if (!ret && !m.hung_up)
		print_info(&m);	/* the pool's view: requests, refusals */
	if (m.o.pidfile)
		unlink(m.o.pidfile);
detach:
	pool_detach(&m);
	print_summary(&m);
	if (m.o.timing)
		print_timing(&m);
close_backend:
	pagerd_crc_exit(&m.d);
	pb_close(&m.be);
	close(m.sfd);
	return ret ? 1 : 0;
}
