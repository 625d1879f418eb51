/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small paging service for kvmshare selftests: a thread serving a pool's
 * pager fd from a memfd backing store, with fault injection; and the raw
 * pieces (attach, map, read a request, complete) for protocol tests.
 */
#ifndef KSPAGER_H
#define KSPAGER_H

#include <pthread.h>
#include <stdint.h>
#include <linux/kvmshare_pager.h>

struct ks_pager {
	int fd;
	void *map;
	size_t maplen;
	struct kvmshare_pager_ring *ring;
	struct kvmshare_pager_req *sq;
	uint8_t *slots;
	int store;			/* memfd backing store */
	uint64_t blocks;
	pthread_t thread;
	int running;
	int stop;
	/* Fault injection (set before ks_pager_run). */
	uint64_t fail_part, fail_index;	/* page-in of it fails (-EIO) */
	int fail_set;
	int fail_corrupt;	/* ... or succeeds with a byte of it flipped */
	/* Counters. */
	uint64_t outs, ins, discards;
};

/* Attach to the pool at @dir; 0 or -errno. @store < 0: make a memfd. */
int ks_pager_attach(struct ks_pager *p, const char *dir, uint64_t blocks,
		    uint32_t entries, uint32_t slots, uint32_t flags, int store);
/* Take the next request, waiting up to @ms; 1, 0 (none) or -errno. */
int ks_pager_next(struct ks_pager *p, struct kvmshare_pager_req *req, int ms);
/* Complete request @id with @result; returns write(2)'s result. */
long ks_pager_complete(struct ks_pager *p, uint64_t id, int32_t result);
/* Perform @req on the backing store and complete it. */
void ks_pager_serve(struct ks_pager *p, const struct kvmshare_pager_req *req);
/* Serve requests in a thread until ks_pager_stop(). */
int ks_pager_run(struct ks_pager *p);
void ks_pager_stop(struct ks_pager *p);
/* Close the pager fd (and the store); stops the thread first. */
void ks_pager_detach(struct ks_pager *p);

#endif /* KSPAGER_H */
