// SPDX-License-Identifier: GPL-2.0
/*
 * A small paging service for kvmshare selftests (see kspager.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kspager.h"

int ks_pager_attach(struct ks_pager *p, const char *dir, uint64_t blocks,
		    uint32_t entries, uint32_t slots, uint32_t flags, int store)
{
	struct kvmshare_pager_attach a = {
		.version = KVMSHARE_PAGER_VERSION,
		.flags = flags,
		.sq_entries = entries,
		.nr_slots = slots,
		.backing_blocks = blocks,
	};
	int dfd, err;

	memset(p, 0, sizeof(*p));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return -errno;
	p->fd = ioctl(dfd, KVMSHARE_IOC_PAGER_ATTACH, &a);
	err = -errno;
	close(dfd);
	if (p->fd < 0)
		return err;
	p->maplen = KVMSHARE_PAGER_SLOT_OFFSET(entries) + (size_t)slots * 4096;
	p->map = mmap(NULL, p->maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->fd, 0);
	if (p->map == MAP_FAILED) {
		err = -errno;
		close(p->fd);
		return err;
	}
	p->ring = p->map;
	p->sq = (void *)((char *)p->map + KVMSHARE_PAGER_SQ_OFFSET);
	p->slots = (uint8_t *)p->map + KVMSHARE_PAGER_SLOT_OFFSET(entries);
	p->blocks = blocks;
	p->store = store;
	if (store < 0) {
		p->store = memfd_create("ks-backing", 0);
		if (p->store < 0 || ftruncate(p->store, blocks * 4096)) {
			err = -errno;
			ks_pager_detach(p);
			return err;
		}
	}
	return 0;
}

int ks_pager_next(struct ks_pager *p, struct kvmshare_pager_req *req, int ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	uint32_t head = p->ring->sq_head;

	if (head == __atomic_load_n(&p->ring->sq_tail, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, ms) < 0)
			return -errno;
		if (head == __atomic_load_n(&p->ring->sq_tail,
					    __ATOMIC_ACQUIRE))
			return 0;
	}
	*req = p->sq[head & (p->ring->sq_entries - 1)];
	__atomic_store_n(&p->ring->sq_head, head + 1, __ATOMIC_RELEASE);
	return 1;
}

long ks_pager_complete(struct ks_pager *p, uint64_t id, int32_t result)
{
	struct kvmshare_pager_cqe c = { .id = id, .result = result };

	return write(p->fd, &c, sizeof(c));
}

void ks_pager_serve(struct ks_pager *p, const struct kvmshare_pager_req *req)
{
	uint8_t *slot = p->slots + (size_t)req->slot * 4096;
	int32_t res = 0;
	int fail;

	switch (req->op) {
	case KVMSHARE_PAGER_OP_PAGE_OUT:
		if (pwrite(p->store, slot, 4096, req->block * 4096) != 4096)
			res = -EIO;
		p->outs++;
		break;
	case KVMSHARE_PAGER_OP_PAGE_IN:
		fail = p->fail_set && req->part_id == p->fail_part &&
		       req->page_index == p->fail_index;
		if (fail && !p->fail_corrupt)
			res = -EIO;
		else if (pread(p->store, slot, 4096, req->block * 4096) != 4096)
			res = -EIO;
		else if (fail)
			slot[100] ^= 0x40;	/* a bit flipped on the way */
		p->ins++;
		break;
	case KVMSHARE_PAGER_OP_DISCARD:
		p->discards++;
		break;
	default:
		res = -EINVAL;
	}
	ks_pager_complete(p, req->id, res);
}

static void *ks_pager_thread(void *arg)
{
	struct ks_pager *p = arg;
	struct kvmshare_pager_req req;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		if (ks_pager_next(p, &req, 50) == 1)
			ks_pager_serve(p, &req);
	}
	return NULL;
}

int ks_pager_run(struct ks_pager *p)
{
	p->stop = 0;
	if (pthread_create(&p->thread, NULL, ks_pager_thread, p))
		return -1;
	p->running = 1;
	return 0;
}

void ks_pager_stop(struct ks_pager *p)
{
	if (!p->running)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	pthread_join(p->thread, NULL);
	p->running = 0;
}

void ks_pager_detach(struct ks_pager *p)
{
	ks_pager_stop(p);
	if (p->map && p->map != MAP_FAILED)
		munmap(p->map, p->maplen);
	p->map = NULL;
	if (p->fd > 0)
		close(p->fd);
	p->fd = -1;
}
