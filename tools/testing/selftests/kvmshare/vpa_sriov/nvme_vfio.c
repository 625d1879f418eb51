// SPDX-License-Identifier: GPL-2.0
/*
 * nvme_vfio: an L1 VFIO client of the NVMe VFs that vpa's SR-IOV back end
 * brings online (Documentation/plans/sriov.md, step 5). It owns a VF
 * through vfio-pci (type1 IOMMU, a container of its own per VF) and drives
 * it as a minimal NVMe host: BAR0 through the VFIO region, the controller
 * disabled and enabled (CC/CSTS), an admin queue, Identify, one polled I/O
 * queue pair (no interrupts), Write and Read with every DMA buffer mapped
 * with VFIO_IOMMU_MAP_DMA at a chosen IOVA.
 *
 *   nvme_vfio io BDF NSID ROUNDS      ROUNDS rounds of writes and verified
 *                                      reads of NV_PAGES pages of NSID;
 *                                      round ROUNDS's data is left there
 *   nvme_vfio verify BDF NSID ROUND   read and check round ROUND's data
 *   nvme_vfio isolate BDF_A BDF_B NSID
 *                                      A (namespace NSID) aims DMA at an
 *                                      IOVA only B's container maps
 *   nvme_vfio io BDF NSID 0            rounds until SIGTERM
 *   nvme_vfio hold BDF SECONDS         the VF open through VFIO (its
 *                                      user, as vpa sees it), nothing
 *                                      else, until SIGTERM or SECONDS
 *   nvme_vfio eperm VFDIR              without CAP_SYS_ADMIN, every
 *                                      write of vpa's VFDIR/ is refused
 *                                      (EPERM)
 *   nvme_vfio owner BDF NSID VFDIR ack|silent COUNT
 *                                      the VF's owner in vpa's owner
 *                                      protocol (step 6; VFDIR is its
 *                                      vpa_vfs/<n>/): verified I/O, then
 *                                      COUNT requests answered (ack:
 *                                      quiesce, then ack) or not
 *                                      (silent), each followed by the
 *                                      checks of what the VF has after;
 *                                      an error recovery of the PF
 *                                      (event_kind "error", step 7) is
 *                                      one such request: event reading
 *                                      0 again is its resume, after
 *                                      which the owner re-initialises
 *                                      the VF's config (Command; its
 *                                      IRQs if it had any: it polls),
 *                                      which nothing restores after
 *                                      the bus reset
 *   nvme_vfio bench BDF NSID SECONDS   the bench (step 9): throughput of
 *                                      NSID through this client's queue
 *                                      (its completions busy-polled),
 *                                      every read checked
 *   nvme_vfio blkbench DEV SECONDS     the same loop on a block device
 *                                      (stock nvme) with O_DIRECT
 *
 * Output: "# " diagnostics and one line per check, "PASS <name>: ..." or
 * "FAIL <name>: ...", which the calling script (sriov_vfio.sh) turns into
 * TAP results. Exit status 0 when every check passed, 1 when one failed,
 * 2 when the VF could not be set up (the step and errno are printed), 3 on
 * a usage error.
 *
 * The NVMe structures are the few this client needs, written from the
 * NVMe 1.4 base specification (<linux/nvme.h> is not uapi).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/capability.h>
#include <linux/pci_regs.h>

#include "vfio_client.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* controller registers (BAR0) */
#define NV_REG_CAP	0x00	/* 64 bit */
#define NV_REG_VS	0x08
#define NV_REG_INTMS	0x0c	/* interrupt mask set (pin interrupts) */
#define NV_REG_CC	0x14
#define NV_REG_CSTS	0x1c
#define NV_REG_AQA	0x24
#define NV_REG_ASQ	0x28	/* 64 bit */
#define NV_REG_ACQ	0x30	/* 64 bit */
#define NV_REG_DB	0x1000	/* doorbells, CAP.DSTRD apart */

#define NV_CAP_TO(cap)		(((cap) >> 24) & 0xff)	/* 500 ms units */
#define NV_CAP_DSTRD(cap)	(((cap) >> 32) & 0xf)
#define NV_CAP_MPSMIN(cap)	(((cap) >> 48) & 0xf)
#define NV_CAP_MQES(cap)	((cap) & 0xffff)
#define NV_CC_EN		0x1
#define NV_CC_IOSQES		(6u << 16)	/* 64-byte entries */
#define NV_CC_IOCQES		(4u << 20)	/* 16-byte entries */
#define NV_CSTS_RDY		0x1
#define NV_CSTS_CFS		0x2

/* opcodes */
#define NV_ADM_CREATE_SQ	0x01
#define NV_ADM_CREATE_CQ	0x05
#define NV_ADM_IDENTIFY		0x06
#define NV_IO_WRITE		0x01
#define NV_IO_READ		0x02

/* command status (CQE status field without the phase bit) */
#define NV_SC(st)		((st) & 0xff)
#define NV_SCT(st)		(((st) >> 8) & 0x7)
#define NV_SC_DATA_XFER_ERR	0x04	/* SCT 0: Data Transfer Error */
#define NV_ST_TIMEOUT		0xffff	/* ours: no completion */

struct nv_sqe {				/* submission queue entry */
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint32_t rsvd2[2];
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nv_cqe {				/* completion queue entry */
	uint32_t result;
	uint32_t rsvd;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;		/* bit 0: phase */
};

static_assert(sizeof(struct nv_sqe) == 64, "SQE size");
static_assert(sizeof(struct nv_cqe) == 16, "CQE size");

/*
 * The client's memory (vc_open_pci(): VC_MEM_SIZE bytes at VC_MEM_IOVA),
 * one 4 KiB page per queue and buffer.
 */
#define NV_PAGE		4096u
#define NV_QD		32		/* entries per queue */
#define NV_OFF_ASQ	0x0000
#define NV_OFF_ACQ	0x1000
#define NV_OFF_SQ	0x2000
#define NV_OFF_CQ	0x3000
#define NV_OFF_ID	0x4000		/* Identify data */
#define NV_OFF_LIST	0x5000		/* a PRP list */
#define NV_OFF_DATA	0x10000		/* data pages from here */
#define NV_PAGES	8		/* pages per round */
#define NV_LIST_PAGES	4		/* pages per PRP-list command */
#define NV_CMD_MS	5000		/* a command's timeout */

/*
 * The isolation test: an IOVA above everything A maps, mapped only in B's
 * container (page aligned: the DMAR fault address is printed by page), and
 * A's namespace block used by its Write from there, beyond the io pages.
 */
#define NV_B_IOVA	0x200000000ULL
#define NV_ISO_PAGE	64
/*
 * Between two cases: the kernel prints DMAR faults through one rate limit
 * (10 lines in 5 s, two lines a fault interrupt); each case gets its own.
 */
#define NV_DMAR_GAP_S	6

struct nv {
	struct vc c;
	const char *bdf;
	uint64_t cap;
	uint32_t dstrd;			/* doorbell stride, bytes */
	uint32_t lba_shift;		/* log2 of the namespace's block size */
	uint64_t nsze;			/* namespace size, blocks */
	uint32_t nsid;
	uint16_t cid;
	struct {			/* 0: admin, 1: the I/O pair */
		uint32_t sq_off, cq_off;
		uint16_t tail, head;
		uint8_t phase;
	} q[2];
};

static int fails;
/* a command's timeout; the owner mode shortens it where one must fail */
static unsigned int cmd_ms = NV_CMD_MS;
/*
 * The bench polls the completion queue without sleeping (within cmd_ms):
 * the other modes' usleep(20) rounds every command up to a timer's step
 * (20 us, the timer slack and a wakeup), which at queue depth 1 would be
 * most of what the bench measures (the review s27 s8's M4).
 */
static bool nv_spin;

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		fails++;
}

static uint64_t nv_rd64(struct nv *n, uint32_t off)
{
	return vc_reg(&n->c, off) | (uint64_t)vc_reg(&n->c, off + 4) << 32;
}

static int nv_wr64(struct nv *n, uint32_t off, uint64_t v)
{
	return vc_wr(&n->c, 0, off, (uint32_t)v) ?:
	       vc_wr(&n->c, 0, off + 4, v >> 32);
}

static void *nv_mem(struct nv *n, uint32_t off)
{
	return n->c.mem + off;
}

static const char *nv_status_str(uint32_t st)
{
	static char buf[64];

	if (st == NV_ST_TIMEOUT)
		return "no completion (timeout)";
	snprintf(buf, sizeof(buf), "SCT %u SC 0x%02x%s%s", NV_SCT(st),
		 NV_SC(st), st & 0x4000 ? " DNR" : "",
		 !st ? " (success)" :
		 !NV_SCT(st) && NV_SC(st) == NV_SC_DATA_XFER_ERR ?
		 " (Data Transfer Error)" : "");
	return buf;
}

/* Wait until CSTS.RDY is @rdy, within CAP.TO (at least 2 s). */
static int nv_wait_rdy(struct nv *n, uint32_t rdy)
{
	uint64_t ms = NV_CAP_TO(n->cap) * 500 + 2000;
	uint64_t end = vc_now_ns() + ms * 1000000;
	uint32_t csts;

	for (;;) {
		csts = vc_reg(&n->c, NV_REG_CSTS);
		if (csts != 0xffffffff && (csts & NV_CSTS_RDY) == rdy)
			return 0;
		if (vc_now_ns() > end) {
			printf("# %s: CSTS 0x%x after %llu ms, RDY %u expected\n",
			       n->bdf, csts, (unsigned long long)ms, rdy);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

static uint32_t nv_db(struct nv *n, int qid, bool cq)
{
	return NV_REG_DB + (2 * qid + cq) * n->dstrd;
}

/*
 * Submit @cmd on queue @qid and poll its completion (no interrupts): the
 * status without the phase bit (0 = success), NV_ST_TIMEOUT without one.
 */
static uint32_t nv_cmd(struct nv *n, int qid, struct nv_sqe *cmd,
		       uint32_t *res)
{
	struct nv_sqe *sq = nv_mem(n, n->q[qid].sq_off);
	struct nv_cqe *cq = nv_mem(n, n->q[qid].cq_off);
	uint64_t end = vc_now_ns() + cmd_ms * 1000000ULL;
	struct nv_cqe *e;
	uint16_t st;

	cmd->cid = ++n->cid;
	sq[n->q[qid].tail] = *cmd;
	n->q[qid].tail = (n->q[qid].tail + 1) % NV_QD;
	__sync_synchronize();
	if (vc_wr(&n->c, 0, nv_db(n, qid, false), n->q[qid].tail))
		return NV_ST_TIMEOUT;
	for (;;) {
		e = &cq[n->q[qid].head];
		st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
		if ((st & 1) == n->q[qid].phase)
			break;
		if (vc_now_ns() > end) {
			printf("# %s: q%d: opcode 0x%02x cid %u: no completion in %d ms; CSTS %x\n",
			       n->bdf, qid, cmd->opcode, cmd->cid,
			       cmd_ms, vc_reg(&n->c, NV_REG_CSTS));
			return NV_ST_TIMEOUT;
		}
		if (!nv_spin)
			usleep(20);
	}
	if (e->cid != cmd->cid)
		printf("# %s: queue %d: completion for cid %u, %u expected\n",
		       n->bdf, qid, e->cid, cmd->cid);
	if (res)
		*res = e->result;
	if (++n->q[qid].head == NV_QD) {
		n->q[qid].head = 0;
		n->q[qid].phase ^= 1;
	}
	vc_wr(&n->c, 0, nv_db(n, qid, true), n->q[qid].head);
	return st >> 1;
}

static uint32_t nv_identify(struct nv *n, uint32_t nsid, uint32_t cns)
{
	struct nv_sqe c = {
		.opcode = NV_ADM_IDENTIFY,
		.nsid = nsid,
		.prp1 = vc_iova(NV_OFF_ID),
		.cdw10 = cns,
	};

	memset(nv_mem(n, NV_OFF_ID), 0, NV_PAGE);
	return nv_cmd(n, 0, &c, NULL);
}

/* Disable the controller, then enable it with a fresh admin queue. */
static int nv_enable(struct nv *n)
{
	uint32_t cc;

	if (vc_wr(&n->c, 0, NV_REG_CC, 0) || nv_wait_rdy(n, 0))
		return -EIO;
	memset(n->q, 0, sizeof(n->q));
	n->q[0].sq_off = NV_OFF_ASQ;
	n->q[0].cq_off = NV_OFF_ACQ;
	n->q[0].phase = 1;
	n->q[1].sq_off = NV_OFF_SQ;
	n->q[1].cq_off = NV_OFF_CQ;
	n->q[1].phase = 1;
	memset(nv_mem(n, 0), 0, NV_OFF_ID);
	cc = NV_CC_EN | NV_CC_IOSQES | NV_CC_IOCQES;	/* NVM, 4 KiB pages */
	/*
	 * Polled, no MSI-X: the admin queue's completions would raise the
	 * pin interrupt, which a VF does not have (QEMU's VFs raised it
	 * until the end of 2024); masked, whatever the device.
	 */
	if (vc_wr(&n->c, 0, NV_REG_INTMS, 0xffffffff) ||
	    vc_wr(&n->c, 0, NV_REG_AQA, (NV_QD - 1) << 16 | (NV_QD - 1)) ||
	    nv_wr64(n, NV_REG_ASQ, vc_iova(NV_OFF_ASQ)) ||
	    nv_wr64(n, NV_REG_ACQ, vc_iova(NV_OFF_ACQ)) ||
	    vc_wr(&n->c, 0, NV_REG_CC, cc) || nv_wait_rdy(n, 1))
		return -EIO;
	if (vc_reg(&n->c, NV_REG_CSTS) & NV_CSTS_CFS) {
		printf("# %s: CSTS.CFS set after enable\n", n->bdf);
		return -EIO;
	}
	return 0;
}

/* Create the polled I/O queue pair 1. */
static int nv_io_queues(struct nv *n)
{
	struct nv_sqe cq = {
		.opcode = NV_ADM_CREATE_CQ,
		.prp1 = vc_iova(NV_OFF_CQ),
		.cdw10 = (NV_QD - 1) << 16 | 1,
		.cdw11 = 1,				/* contiguous, no IRQ */
	};
	struct nv_sqe sq = {
		.opcode = NV_ADM_CREATE_SQ,
		.prp1 = vc_iova(NV_OFF_SQ),
		.cdw10 = (NV_QD - 1) << 16 | 1,
		.cdw11 = 1 << 16 | 1,			/* CQ 1, contiguous */
	};
	uint32_t st;

	st = nv_cmd(n, 0, &cq, NULL);
	if (st) {
		printf("# %s: Create I/O CQ: %s\n", n->bdf, nv_status_str(st));
		return -EIO;
	}
	st = nv_cmd(n, 0, &sq, NULL);
	if (st) {
		printf("# %s: Create I/O SQ: %s\n", n->bdf, nv_status_str(st));
		return -EIO;
	}
	return 0;
}

/*
 * Controller and namespace: enable, Identify Controller, Identify
 * Namespace @nsid (its size and block size), the I/O queues.
 */
static int nv_start(struct nv *n)
{
	uint8_t *id = nv_mem(n, NV_OFF_ID);
	uint32_t st, flbas, lbads;
	char sn[21], mn[41];

	if (nv_enable(n))
		return -EIO;
	st = nv_identify(n, 0, 1);
	if (st) {
		printf("# %s: Identify Controller: %s\n", n->bdf,
		       nv_status_str(st));
		return -EIO;
	}
	memcpy(sn, id + 4, 20);
	sn[20] = 0;
	memcpy(mn, id + 24, 40);
	mn[40] = 0;
	printf("# %s: controller id %u, vid 0x%04x, sn '%s', mn '%.20s'\n",
	       n->bdf, id[78] | id[79] << 8, id[0] | id[1] << 8, sn, mn);
	st = nv_identify(n, n->nsid, 0);
	if (st) {
		printf("# %s: Identify Namespace %u: %s\n", n->bdf, n->nsid,
		       nv_status_str(st));
		return -EIO;
	}
	memcpy(&n->nsze, id, 8);
	flbas = id[26] & 0xf;
	lbads = id[128 + 4 * flbas + 2];
	printf("# %s: namespace %u: %llu blocks of %u bytes\n", n->bdf,
	       n->nsid, (unsigned long long)n->nsze, 1u << lbads);
	if (!n->nsze) {
		printf("# %s: namespace %u is not attached to this controller (size 0)\n",
		       n->bdf, n->nsid);
		return -ENXIO;
	}
	if (lbads < 9 || lbads > 12 ||
	    n->nsze < (uint64_t)(NV_ISO_PAGE + 1) << (12 - lbads)) {
		printf("# %s: namespace %u: block size or size not usable\n",
		       n->bdf, n->nsid);
		return -EINVAL;
	}
	n->lba_shift = lbads;
	return nv_io_queues(n);
}

/*
 * The VF's Command register as the hardware has it (sysfs config: vfio's
 * config region shows its virtual copy), or -1.
 */
static int nv_phys_cmd(struct nv *n)
{
	char path[96];
	uint16_t cmd;
	int fd, got;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", n->bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	got = pread(fd, &cmd, 2, PCI_COMMAND);
	close(fd);
	return got == 2 ? cmd : -1;
}

/*
 * Memory decoding and bus mastering on, through the config region. After
 * an error recovery of the PF this is the owner's job
 * (Documentation/userspace-api/vpa.rst): the bus reset cleared the VF's
 * Command (and its MSI-X enable and table), vfio-pci 6.1 restores
 * nothing, and its virtual copy still says "on"; a write of the bits
 * reaches the hardware.
 */
static int nv_pci_on(struct nv *n)
{
	uint64_t cfg = n->c.reg_off[VFIO_PCI_CONFIG_REGION_INDEX] +
		       PCI_COMMAND;
	uint16_t cmd;

	if (pread(n->c.dev, &cmd, 2, cfg) != 2)
		return -EIO;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(n->c.dev, &cmd, 2, cfg) != 2) {
		printf("# %s: PCI_COMMAND: %s\n", n->bdf, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Open @bdf (bound to vfio-pci), enable bus mastering, start @nsid. */
static int nv_open(struct nv *n, const char *bdf, uint32_t nsid)
{
	int ret;

	memset(n, 0, sizeof(*n));
	n->bdf = bdf;
	n->nsid = nsid;
	ret = vc_open_pci(&n->c, bdf);
	if (ret) {
		printf("# %s: VFIO: %s: %s (errno %d); group %s\n", bdf,
		       n->c.step, strerror(-ret), -ret,
		       n->c.group_path[0] ? n->c.group_path : "unknown");
		return ret;
	}
	printf("# %s: VFIO group %s, a container of its own\n", bdf,
	       n->c.group_path);
	if (nv_pci_on(n))
		return -EIO;
	n->cap = nv_rd64(n, NV_REG_CAP);
	printf("# %s: CAP 0x%016llx VS 0x%08x CSTS 0x%08x\n", bdf,
	       (unsigned long long)n->cap, vc_reg(&n->c, NV_REG_VS),
	       vc_reg(&n->c, NV_REG_CSTS));
	if (!n->cap || n->cap == ~0ULL) {
		printf("# %s: no registers: is its secondary online (a vpa group)?\n",
		       bdf);
		return -ENODEV;
	}
	if (NV_CAP_MPSMIN(n->cap) || NV_CAP_MQES(n->cap) + 1 < NV_QD) {
		printf("# %s: needs 4 KiB pages and %u entries per queue\n",
		       bdf, NV_QD);
		return -EOPNOTSUPP;
	}
	n->dstrd = 4u << NV_CAP_DSTRD(n->cap);
	return nv_start(n);
}

/* Read or write @npages pages from data page @buf at namespace page @pg. */
static uint32_t nv_rw(struct nv *n, uint8_t op, uint32_t pg, uint32_t buf,
		      uint32_t npages)
{
	uint32_t shift = 12 - n->lba_shift;
	uint64_t *list = nv_mem(n, NV_OFF_LIST);
	struct nv_sqe c = {
		.opcode = op,
		.nsid = n->nsid,
		.prp1 = vc_iova(NV_OFF_DATA + buf * NV_PAGE),
		.cdw10 = pg << shift,
		.cdw12 = (npages << shift) - 1,
	};
	uint32_t i;

	if (npages == 2) {
		c.prp2 = c.prp1 + NV_PAGE;
	} else if (npages > 2) {
		for (i = 1; i < npages; i++)
			list[i - 1] = c.prp1 + i * NV_PAGE;
		c.prp2 = vc_iova(NV_OFF_LIST);
	}
	return nv_cmd(n, 1, &c, NULL);
}

static uint8_t *nv_data(struct nv *n, uint32_t buf)
{
	return nv_mem(n, NV_OFF_DATA + buf * NV_PAGE);
}

/* The data of namespace @nsid's page @pg in round @round. */
static void nv_fill(uint32_t *w, uint32_t nsid, uint32_t round, uint32_t pg)
{
	uint32_t i;

	for (i = 0; i < NV_PAGE / 4; i++)
		w[i] = (nsid << 24 ^ round << 16 ^ pg << 12 ^ i) * 2654435761u +
		       round;
}

/* The first word of @pg (in data page @buf) that is not round @round's. */
static int nv_check(struct nv *n, uint32_t buf, uint32_t round, uint32_t pg)
{
	uint32_t want[NV_PAGE / 4], *got = (uint32_t *)nv_data(n, buf);
	uint32_t i;

	nv_fill(want, n->nsid, round, pg);
	for (i = 0; i < NV_PAGE / 4; i++)
		if (got[i] != want[i]) {
			printf("# %s: ns %u page %u word %u: 0x%08x, round %u's 0x%08x\n",
			       n->bdf, n->nsid, pg, i, got[i], round, want[i]);
			return -1;
		}
	return 0;
}

/*
 * Read the NV_PAGES pages (as commands of NV_LIST_PAGES pages: a PRP list)
 * and check that they hold round @round's data.
 */
static int nv_verify(struct nv *n, uint32_t round)
{
	uint32_t pg, st;

	memset(nv_data(n, 0), 0xa5, NV_PAGES * NV_PAGE);
	for (pg = 0; pg < NV_PAGES; pg += NV_LIST_PAGES) {
		st = nv_rw(n, NV_IO_READ, pg, pg, NV_LIST_PAGES);
		if (st) {
			printf("# %s: Read of pages %u-%u: %s\n", n->bdf, pg,
			       pg + NV_LIST_PAGES - 1, nv_status_str(st));
			return -1;
		}
	}
	for (pg = 0; pg < NV_PAGES; pg++)
		if (nv_check(n, pg, round, pg))
			return -1;
	return 0;
}

/* Round @round: write every page alone, then verify them all. */
static int nv_round(struct nv *n, uint32_t round)
{
	uint32_t pg, st;

	for (pg = 0; pg < NV_PAGES; pg++) {
		nv_fill((uint32_t *)nv_data(n, pg), n->nsid, round, pg);
		st = nv_rw(n, NV_IO_WRITE, pg, pg, 1);
		if (st) {
			printf("# %s: Write of page %u: %s\n", n->bdf, pg,
			       nv_status_str(st));
			return -1;
		}
	}
	return nv_verify(n, round);
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || !*s || *end || x > 0xffffffffUL)
		return -1;
	*v = x;
	return 0;
}

/* SIGTERM: modes io (0 rounds) and hold stop at the end of a round */
static int stop;	/* set by the handler, read with __atomic loads */

static void on_term(int sig)
{
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

static int stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void catch_term(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
}

static int mode_io(const char *bdf, uint32_t nsid, uint32_t rounds,
		   bool write)
{
	uint64_t t0 = vc_now_ns();
	struct nv n;
	uint32_t r;
	int ret;

	catch_term();
	ret = nv_open(&n, bdf, nsid);
	if (ret) {
		vc_close(&n.c);
		return 2;
	}
	if (write && !rounds) {
		/* until SIGTERM: every round must work, at least one */
		for (r = 1; !stopped(); r++)
			if (nv_round(&n, r))
				break;
		result(stopped() && r > 1, "io",
		       "%s: %u rounds of %u pages written and read back from namespace %u in %llu ms, %s",
		       bdf, r - 1, NV_PAGES, nsid,
		       (unsigned long long)((vc_now_ns() - t0) / 1000000),
		       stopped() ? "until stopped" : "then one failed");
	} else if (write) {
		for (r = 1; r <= rounds; r++)
			if (nv_round(&n, r))
				break;
		result(r > rounds, "io",
		       "%s: %u of %u rounds of %u pages written and read back from namespace %u",
		       bdf, r - 1, rounds, NV_PAGES, nsid);
	} else {
		result(!nv_verify(&n, rounds), "verify",
		       "%s: namespace %u holds round %u's %u pages", bdf, nsid,
		       rounds, NV_PAGES);
	}
	vc_close(&n.c);
	return fails ? 1 : 0;
}

/* B's page at NV_B_IOVA: bytes A must neither read nor change. */
static void b_fill(uint8_t *p)
{
	uint32_t *w = (uint32_t *)p, i;

	for (i = 0; i < NV_PAGE / 4; i++)
		w[i] = 0xb0b0b0b0 ^ i;
}

static bool b_intact(const uint8_t *p)
{
	uint8_t want[NV_PAGE];

	b_fill(want);
	return !memcmp(p, want, NV_PAGE);
}

/* Does A's data page @buf hold any word of B's page? */
static bool holds_b(struct nv *a, uint32_t buf)
{
	uint32_t *w = (uint32_t *)nv_data(a, buf), i;

	for (i = 0; i < NV_PAGE / 4; i++)
		if (w[i] == (0xb0b0b0b0 ^ i))
			return true;
	return false;
}

/* After a command timed out, start A's controller again. */
static void iso_restart(struct nv *a, uint32_t st)
{
	if (st == NV_ST_TIMEOUT && nv_start(a))
		printf("# %s: the controller did not start again\n", a->bdf);
}

static int mode_isolate(const char *bdf_a, const char *bdf_b, uint32_t nsid)
{
	struct nv a, b;
	uint8_t *bpage = NULL;
	uint32_t st, list_pages = 3, shift;
	struct nv_sqe c = { .opcode = NV_IO_READ };
	int err, ret = 2;

	memset(&b, 0, sizeof(b));
	if (nv_open(&a, bdf_a, nsid))
		goto out_a;
	/*
	 * B: its own container; its controller is not needed, only its
	 * IOMMU domain, where NV_B_IOVA is mapped to bpage
	 */
	b.bdf = bdf_b;
	err = vc_open_pci(&b.c, bdf_b);
	if (err) {
		printf("# %s: VFIO: %s: %s (errno %d); group %s\n", bdf_b,
		       b.c.step, strerror(-err), -err,
		       b.c.group_path[0] ? b.c.group_path : "unknown");
		goto out;
	}
	bpage = aligned_alloc(NV_PAGE, NV_PAGE);
	if (!bpage)
		goto out;
	b_fill(bpage);
	if (vc_map(&b.c, bpage, NV_B_IOVA, NV_PAGE, true)) {
		printf("# %s: VFIO_IOMMU_MAP_DMA at 0x%llx: %s\n", bdf_b,
		       NV_B_IOVA, strerror(errno));
		goto out;
	}
	result(strcmp(a.c.group_path, b.c.group_path), "groups",
	       "A %s in %s, B %s in %s: two groups, two containers", bdf_a,
	       a.c.group_path, bdf_b, b.c.group_path);
	printf("# b-iova 0x%llx (mapped in B's container only)\n",
	       NV_B_IOVA);
	ret = 0;

	/* 1: A's device writes to memory at B's IOVA (a Read, PRP1 there) */
	shift = 12 - a.lba_shift;
	c.nsid = nsid;
	c.prp1 = NV_B_IOVA;
	c.cdw12 = (1u << shift) - 1;
	st = nv_cmd(&a, 1, &c, NULL);
	printf("# Read into B's IOVA: %s\n", nv_status_str(st));
	result(b_intact(bpage), "read-into-b",
	       "a Read of A's namespace with PRP1 at B's IOVA left B's page unchanged (status: %s)",
	       nv_status_str(st));
	iso_restart(&a, st);
	sleep(NV_DMAR_GAP_S);

	/*
	 * 2: A's device reads memory at B's IOVA (a Write, PRP1 there) into
	 * A's namespace page NV_ISO_PAGE, which A then reads back
	 */
	c.opcode = NV_IO_WRITE;
	c.cdw10 = NV_ISO_PAGE << shift;
	st = nv_cmd(&a, 1, &c, NULL);
	printf("# Write from B's IOVA: %s\n", nv_status_str(st));
	iso_restart(&a, st);
	memset(nv_data(&a, 0), 0, NV_PAGE);
	if (nv_rw(&a, NV_IO_READ, NV_ISO_PAGE, 0, 1)) {
		result(false, "write-from-b",
		       "A cannot read back its namespace page %u",
		       NV_ISO_PAGE);
	} else {
		result(!holds_b(&a, 0) && b_intact(bpage), "write-from-b",
		       "a Write to A's namespace from B's IOVA put none of B's data there (status: %s)",
		       nv_status_str(st));
	}
	sleep(NV_DMAR_GAP_S);

	/*
	 * 3: a PRP list at B's IOVA: the device cannot fetch it, so the
	 * command must fail (QEMU: Data Transfer Error) or not complete
	 */
	memset(&c, 0, sizeof(c));
	c.opcode = NV_IO_READ;
	c.nsid = nsid;
	c.prp1 = vc_iova(NV_OFF_DATA);
	c.prp2 = NV_B_IOVA;
	c.cdw12 = (list_pages << shift) - 1;
	st = nv_cmd(&a, 1, &c, NULL);
	result(st != 0 && b_intact(bpage), "prp-list-in-b",
	       "a Read whose PRP list is at B's IOVA failed, B's page unchanged (status: %s)",
	       nv_status_str(st));
	iso_restart(&a, st);

	/* A still works: a verified page beyond the io pages */
	nv_fill((uint32_t *)nv_data(&a, 0), nsid, 0, NV_ISO_PAGE);
	st = nv_rw(&a, NV_IO_WRITE, NV_ISO_PAGE, 0, 1);
	memset(nv_data(&a, 0), 0, NV_PAGE);
	if (!st)
		st = nv_rw(&a, NV_IO_READ, NV_ISO_PAGE, 0, 1);
	result(!st && !nv_check(&a, 0, 0, NV_ISO_PAGE), "a-works",
	       "A writes and reads back its page %u afterwards (status: %s)",
	       NV_ISO_PAGE, nv_status_str(st));
	ret = fails ? 1 : 0;
out:
	free(bpage);
	vc_close(&b.c);
out_a:
	vc_close(&a.c);
	return ret;
}

/*
 * The owner protocol (vpa_vfs/<n>/: event, event_kind, event_nr_wq,
 * event_nr_vec, ack, state): sysfs files of one value.
 */

/* Read @dir/@name into @buf (the value, newline dropped); -errno. */
static int vf_read(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, len - 1);
	close(fd);
	if (got < 0)
		return -errno;
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Write @val to @dir/@name: 0 or -errno (the kernel's refusal). */
static int vf_write(const char *dir, const char *name, const char *val)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Wait until @dir/event reads non-zero (@open) or 0 (!@open), at most
 * @ms: poll() on it (sysfs_notify() wakes it), and a read every second
 * besides, so that a wake-up missed between the read and the poll costs
 * one second. Returns the value read, or -1 at the timeout.
 */
static long vf_wait_event(const char *dir, bool open_, unsigned int ms)
{
	uint64_t end = vc_now_ns() + ms * 1000000ULL;
	char path[512], buf[32];
	struct pollfd p;
	ssize_t got;
	long v;
	int fd;

	snprintf(path, sizeof(path), "%s/event", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		got = pread(fd, buf, sizeof(buf) - 1, 0);
		if (got < 0) {
			printf("# %s: %s\n", path, strerror(errno));
			v = -1;
			break;
		}
		buf[got] = 0;
		v = strtol(buf, NULL, 10);
		if (!!v == open_)
			break;
		if (vc_now_ns() > end) {
			v = -1;
			break;
		}
		p.fd = fd;
		p.events = POLLPRI | POLLERR;
		poll(&p, 1, 1000);
	}
	close(fd);
	return v;
}

/* A request's deadline is at most 60 s (vpa's ack_timeout_ms) */
#define NV_OWNER_WAIT_MS	90000
#define NV_FAIL_CMD_MS		2000

/*
 * One request: wait for it, answer it (@ack: the controller quiesced,
 * i.e. disabled, then the number written to ack) or not, wait until the
 * change is over, then check what the VF has: online, the data of round
 * @round is there and a new round works; offline (destroyed), the
 * controller does not come back. A silent owner's next command on its
 * old queue must fail first, and its late ack be refused (ESTALE).
 */
static void owner_one(struct nv *n, const char *dir, bool ack, uint32_t k,
		      uint32_t *round)
{
	char kind[32] = "?", wq[16] = "?", vec[16] = "?", state[32] = "?";
	char seqs[24];
	long seq, end;
	uint64_t t0;
	uint32_t st;
	int ret;

	seq = vf_wait_event(dir, true, NV_OWNER_WAIT_MS);
	if (seq < 0) {
		result(false, "request", "%u: no request in %u ms", k,
		       NV_OWNER_WAIT_MS);
		return;
	}
	vf_read(dir, "event_kind", kind, sizeof(kind));
	vf_read(dir, "event_nr_wq", wq, sizeof(wq));
	vf_read(dir, "event_nr_vec", vec, sizeof(vec));
	printf("# %s: request %ld: %s, after it %s VQ %s VI\n", n->bdf, seq,
	       kind, wq, vec);
	snprintf(seqs, sizeof(seqs), "%ld", seq);
	t0 = vc_now_ns();
	if (ack) {
		/* quiesce: nothing in flight (commands are polled); stop */
		ret = vc_wr(&n->c, 0, NV_REG_CC, 0) ?: nv_wait_rdy(n, 0);
		if (!ret)
			ret = vf_write(dir, "ack", seqs);
		result(!ret, "ack", "%u: request %ld (%s) acked, its controller stopped (%s)",
		       k, seq, kind, ret ? strerror(-ret) : "ok");
	}
	end = vf_wait_event(dir, false, NV_OWNER_WAIT_MS);
	vf_read(dir, "state", state, sizeof(state));
	printf("# %s: request %ld over after %llu ms: state %s\n", n->bdf,
	       seq, (unsigned long long)((vc_now_ns() - t0) / 1000000),
	       state);
	if (end < 0) {
		result(false, "done", "%u: request %ld not over in %u ms", k,
		       seq, NV_OWNER_WAIT_MS);
		return;
	}
	if (!ack) {
		/* the old queues are gone: a Read must not complete well */
		cmd_ms = NV_FAIL_CMD_MS;
		st = nv_rw(n, NV_IO_READ, 0, 0, 1);
		cmd_ms = NV_CMD_MS;
		result(st != 0, "io-fails",
		       "%u: after the forced %s a Read on the old queue failed (%s; CSTS 0x%x)",
		       k, kind, nv_status_str(st),
		       vc_reg(&n->c, NV_REG_CSTS));
		ret = vf_write(dir, "ack", seqs);
		result(ret == -ESTALE, "late-ack",
		       "%u: a late ack of request %ld refused (%s)", k, seq,
		       ret ? strerror(-ret) : "accepted");
	}
	if (strcmp(state, "online")) {
		/* destroyed (or left offline): no controller any more */
		ret = nv_enable(n);
		result(ret != 0, "gone",
		       "%u: state %s: the controller cannot be enabled again (%s; CSTS 0x%x)",
		       k, state, ret ? "refused" : "it came up",
		       vc_reg(&n->c, NV_REG_CSTS));
		return;
	}
	/*
	 * (the secondary's reset may have reset its command register too;
	 * after an error the bus reset did: re-initialise, see nv_pci_on())
	 */
	if (!strcmp(kind, "error")) {
		int pc = nv_phys_cmd(n);

		printf("# %s: after the error: VF Command 0x%x (bus master %s)\n",
		       n->bdf, pc,
		       pc >= 0 && (pc & PCI_COMMAND_MASTER) ? "on" : "off");
	}
	ret = nv_pci_on(n) ?: nv_start(n);
	if (!ret)
		ret = nv_verify(n, *round);
	if (!ret)
		ret = nv_round(n, *round + 1);
	result(!ret, "after",
	       "%u: after the %s (online, %s VQ %s VI): restarted, round %u's data, round %u",
	       k, kind, wq, vec, *round, *round + 1);
	if (!ret)
		(*round)++;
}

static int mode_owner(const char *bdf, uint32_t nsid, const char *dir,
		      bool ack, uint32_t count)
{
	uint32_t k, round = 1;
	struct nv n;

	if (nv_open(&n, bdf, nsid)) {
		vc_close(&n.c);
		return 2;
	}
	result(!nv_round(&n, round), "before",
	       "%s: round %u written and read back from namespace %u", bdf,
	       round, nsid);
	/* the calling script waits for this line to make its changes */
	printf("# owner ready\n");
	for (k = 1; k <= count; k++)
		owner_one(&n, dir, ack, k, &round);
	vc_close(&n.c);
	return fails ? 1 : 0;
}

/*
 * hold: open @bdf through VFIO (vfio-pci enables the device: vpa then
 * sees a user to ask) and do nothing else until SIGTERM or @secs pass;
 * the calling script answers vpa's requests.
 */
static int mode_hold(const char *bdf, uint32_t secs)
{
	uint64_t end = vc_now_ns() + secs * 1000000000ULL;
	struct vc c;

	catch_term();
	if (vc_open_pci(&c, bdf)) {
		vc_close(&c);
		return 2;
	}
	printf("# holder ready: %s open\n", bdf);
	while (!stopped() && vc_now_ns() < end)
		usleep(100000);
	vc_close(&c);
	printf("# holder: %s closed (%s)\n", bdf,
	       stopped() ? "stopped" : "its time is up");
	return 0;
}

/*
 * eperm: drop CAP_SYS_ADMIN (effective and permitted; uid 0 keeps the
 * others, so the files still open), then every write of @dir's files that
 * change something must fail with EPERM (the review s26's T2).
 */
static int mode_eperm(const char *dir)
{
	static const char * const files[] = {
		"nr_wq", "nr_vec", "give_to", "give_wq", "give_vec", "ack",
		"destroy", "ns",
	};
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	unsigned int i;
	int ret;

	if (syscall(SYS_capget, &h, d)) {
		printf("# capget: %s\n", strerror(errno));
		return 2;
	}
	d[0].effective &= ~(1u << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
	d[0].inheritable &= ~(1u << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d)) {
		printf("# capset: %s\n", strerror(errno));
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		ret = vf_write(dir, files[i], "1");
		result(ret == -EPERM, "eperm", "%s/%s without CAP_SYS_ADMIN: %s",
		       dir, files[i], ret ? strerror(-ret) : "accepted");
	}
	return fails ? 1 : 0;
}

/*
 * The bench (Documentation/plans/sriov.md, step 9): one loop, the same
 * sizes, offsets and data, through one of two back ends: this client's
 * polled queue pair (bench: a PF or a VF on vfio-pci; the completion
 * queue busy-polled) or a block device opened with O_DIRECT (blkbench:
 * stock nvme's disk of the namespace). One command at a time in both
 * (queue depth 1, synchronous), over the first NV_BENCH_REGION bytes of
 * the namespace, which an untimed sequential write fills first (a sparse
 * image's first write costs the emulator's host more than an overwrite).
 *
 * The data: every 4 KiB block of the region has its own, known content.
 * A Write at offset OFF sends the part of one NV_BENCH_SEQ buffer that
 * matches OFF (wbuf + OFF % NV_BENCH_SEQ), whose first and last words
 * are stamped just before with the block's tag (its number and this
 * run's nonce); every Read lands in a buffer of its own (rbuf), whose tag
 * words are cleared before and checked after it, block by block (a wrong
 * block, no transfer, zeros, another run's or another namespace's data
 * fail; the tags are two words a block, so the check costs nothing next
 * to a command). After the four patterns the whole region is read back
 * and compared word by word. A failed check fails the pattern, which
 * prints no rate.
 *
 * Each pattern runs for at least the given seconds and prints
 *   RATE <pattern> <bytes per second> <commands> <ms> <us per command>
 * The script (sriov_bench.sh) makes the ratios of two functions.
 */
#define NV_BENCH_REGION	(16u << 20)	/* bytes at the namespace's start */
#define NV_BENCH_SEQ	(128u << 10)	/* sequential: 128 KiB commands */
#define NV_BENCH_RAND	4096u		/* random: 4 KiB commands */
#define NV_BENCH_MIN	16		/* commands per pattern, at least */
#define NV_BENCH_SEED	0x2545f4914f6cdd1dULL
#define NV_BENCH_WORDS	(NV_PAGE / 4)	/* words per 4 KiB block */
/* bench: data pages 0 to 31 are wbuf, 32 to 63 rbuf */
#define NV_BENCH_RPAGE	(NV_BENCH_SEQ / NV_PAGE)

struct bench {
	/* one synchronous command: 0 or -EIO */
	int (*rw)(struct bench *b, bool write, uint64_t off, uint32_t len);
	uint8_t *wbuf;		/* NV_BENCH_SEQ bytes: what the Writes send */
	uint8_t *rbuf;		/* NV_BENCH_SEQ bytes: where the Reads land */
	uint32_t nonce;		/* this run's, in every block's tag */
	struct nv *n;		/* bench */
	int fd;			/* blkbench */
	const char *name;
};

static int bench_nv_rw(struct bench *b, bool write, uint64_t off,
		       uint32_t len)
{
	uint32_t buf = write ? off % NV_BENCH_SEQ / NV_PAGE : NV_BENCH_RPAGE;
	uint32_t st = nv_rw(b->n, write ? NV_IO_WRITE : NV_IO_READ,
			    off / NV_PAGE, buf, len / NV_PAGE);

	if (st)
		printf("# %s: %s of %u bytes at %llu: %s\n", b->name,
		       write ? "Write" : "Read", len, (unsigned long long)off,
		       nv_status_str(st));
	return st ? -EIO : 0;
}

static int bench_blk_rw(struct bench *b, bool write, uint64_t off,
			uint32_t len)
{
	ssize_t got = write ?
		      pwrite(b->fd, b->wbuf + off % NV_BENCH_SEQ, len, off) :
		      pread(b->fd, b->rbuf, len, off);

	if (got == (ssize_t)len)
		return 0;
	printf("# %s: %s of %u bytes at %llu: %s\n", b->name,
	       write ? "pwrite" : "pread", len, (unsigned long long)off,
	       got < 0 ? strerror(errno) : "short");
	return -EIO;
}

/* The first word of block @blk (NV_PAGE bytes at @blk * NV_PAGE); ~ last. */
static uint32_t bench_tag(const struct bench *b, uint64_t blk)
{
	return b->nonce ^ (uint32_t)((blk + 1) * 0x9e3779b1u);
}

/* Word @i (0 to NV_BENCH_SEQ / 4) of the write buffer, tags aside. */
static uint32_t bench_word(uint32_t i)
{
	return (i + 1) * 2654435761u;
}

/* What block @blk holds once written: @want, NV_BENCH_WORDS words. */
static void bench_expect(const struct bench *b, uint64_t blk, uint32_t *want)
{
	uint32_t first = blk * NV_BENCH_WORDS % (NV_BENCH_SEQ / 4), i;

	for (i = 0; i < NV_BENCH_WORDS; i++)
		want[i] = bench_word(first + i);
	want[0] = bench_tag(b, blk);
	want[NV_BENCH_WORDS - 1] = ~want[0];
}

/*
 * Block by block, the Read of @len bytes at @off in rbuf against what the
 * region holds: the tag words only (@full false: in the timed loops) or
 * every word; 0, or -EIO after printing the first difference.
 */
static int bench_check(struct bench *b, uint64_t off, uint32_t len, bool full)
{
	uint32_t want[NV_BENCH_WORDS], *got, j, i;
	uint64_t blk;

	for (j = 0; j < len / NV_PAGE; j++) {
		got = (uint32_t *)(b->rbuf + j * NV_PAGE);
		blk = off / NV_PAGE + j;
		if (full) {
			bench_expect(b, blk, want);
		} else {
			want[0] = bench_tag(b, blk);
			want[NV_BENCH_WORDS - 1] = ~want[0];
		}
		for (i = 0; i < NV_BENCH_WORDS; i++) {
			if (!full && i && i < NV_BENCH_WORDS - 1)
				continue;
			if (got[i] == want[i])
				continue;
			printf("# %s: Read at %llu: block %llu word %u: 0x%08x, 0x%08x expected\n",
			       b->name, (unsigned long long)off,
			       (unsigned long long)blk, i, got[i], want[i]);
			return -EIO;
		}
	}
	return 0;
}

/*
 * One command of the loop with its data: a Write stamps its blocks' tags
 * in the part of wbuf it sends; a Read clears rbuf's tag words (a Read
 * that transfers nothing cannot pass) and checks them after.
 */
static int bench_io(struct bench *b, bool write, uint64_t off, uint32_t len,
		    bool full)
{
	uint32_t *w, j;
	int ret;

	for (j = 0; j < len / NV_PAGE; j++) {
		w = (uint32_t *)((write ? b->wbuf + off % NV_BENCH_SEQ :
				  b->rbuf) + j * NV_PAGE);
		w[0] = write ? bench_tag(b, off / NV_PAGE + j) : 0;
		w[NV_BENCH_WORDS - 1] = write ? ~w[0] : 0;
	}
	ret = b->rw(b, write, off, len);
	if (!ret && !write)
		ret = bench_check(b, off, len, full);
	return ret;
}

/*
 * One pattern for at least @secs seconds (and NV_BENCH_MIN commands):
 * sequential commands of NV_BENCH_SEQ bytes through the region (wrapping),
 * or random ones of NV_BENCH_RAND at offsets from a fixed sequence.
 */
static int bench_one(struct bench *b, const char *pat, bool write, bool seq,
		     uint32_t secs)
{
	uint32_t len = seq ? NV_BENCH_SEQ : NV_BENCH_RAND;
	uint64_t x = NV_BENCH_SEED, next = 0, off, ops = 0, t0, dt;

	t0 = vc_now_ns();
	do {
		if (seq) {
			off = next;
			next = (next + len) % NV_BENCH_REGION;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			off = x % (NV_BENCH_REGION / len) * len;
		}
		if (bench_io(b, write, off, len, false)) {
			printf("# %s: %s: failed after %llu commands: no rate\n",
			       b->name, pat, (unsigned long long)ops);
			return -EIO;
		}
		ops++;
		dt = vc_now_ns() - t0;
	} while (dt < secs * 1000000000ULL || ops < NV_BENCH_MIN);
	printf("RATE %s %.0f %llu %llu %.1f\n", pat,
	       (double)ops * len * 1e9 / dt, (unsigned long long)ops,
	       (unsigned long long)(dt / 1000000), dt / 1e3 / ops);
	printf("# %s: %s: %.2f MiB/s, %llu commands of %u bytes in %llu ms, %.1f us a command\n",
	       b->name, pat, (double)ops * len * 1e9 / dt / 1048576,
	       (unsigned long long)ops, len,
	       (unsigned long long)(dt / 1000000), dt / 1e3 / ops);
	return 0;
}

/* Fill the region, the four patterns, then the whole region read back. */
static int bench_all(struct bench *b, uint32_t secs)
{
	uint32_t i, *w = (uint32_t *)b->wbuf;
	uint64_t off;
	int ret = 0;

	b->nonce = (uint32_t)(vc_now_ns() ^ (uint64_t)getpid() << 16);
	for (i = 0; i < NV_BENCH_SEQ / 4; i++)
		w[i] = bench_word(i);
	printf("# %s: nonce 0x%08x\n", b->name, b->nonce);
	for (off = 0; off < NV_BENCH_REGION && !ret; off += NV_BENCH_SEQ)
		ret = bench_io(b, true, off, NV_BENCH_SEQ, false);
	if (!ret)
		ret = bench_one(b, "seq_write", true, true, secs) ?:
		      bench_one(b, "seq_read", false, true, secs) ?:
		      bench_one(b, "rand_write", true, false, secs) ?:
		      bench_one(b, "rand_read", false, false, secs);
	/* every block holds what its last Write sent: read it all back */
	for (off = 0; off < NV_BENCH_REGION && !ret; off += NV_BENCH_SEQ)
		ret = bench_io(b, false, off, NV_BENCH_SEQ, true);
	result(!ret, "bench",
	       "%s: %u MiB filled, four patterns of %u s at queue depth 1, every read checked, all %u MiB read back (%s)",
	       b->name, NV_BENCH_REGION >> 20, secs, NV_BENCH_REGION >> 20,
	       ret ? strerror(-ret) : "ok");
	return ret;
}

static int mode_bench(const char *bdf, uint32_t nsid, uint32_t secs)
{
	struct bench b = { .rw = bench_nv_rw, .name = bdf };
	struct nv n;
	int ret;

	if (nv_open(&n, bdf, nsid)) {
		vc_close(&n.c);
		return 2;
	}
	if (n.nsze << n.lba_shift < NV_BENCH_REGION) {
		printf("# %s: namespace %u is smaller than %u MiB\n", bdf,
		       nsid, NV_BENCH_REGION >> 20);
		vc_close(&n.c);
		return 2;
	}
	b.n = &n;
	b.wbuf = nv_data(&n, 0);
	b.rbuf = nv_data(&n, NV_BENCH_RPAGE);
	nv_spin = true;
	ret = bench_all(&b, secs);
	nv_spin = false;
	vc_close(&n.c);
	return ret ? 1 : 0;
}

static int mode_blkbench(const char *dev, uint32_t secs)
{
	struct bench b = { .rw = bench_blk_rw, .name = dev };
	uint64_t size = 0;
	int ret;

	b.fd = open(dev, O_RDWR | O_DIRECT);
	if (b.fd < 0) {
		printf("# %s: %s\n", dev, strerror(errno));
		return 2;
	}
	if (ioctl(b.fd, BLKGETSIZE64, &size) || size < NV_BENCH_REGION ||
	    posix_memalign((void **)&b.wbuf, NV_PAGE, 2 * NV_BENCH_SEQ)) {
		printf("# %s: size %llu (%u MiB needed) or no buffer\n", dev,
		       (unsigned long long)size, NV_BENCH_REGION >> 20);
		close(b.fd);
		return 2;
	}
	b.rbuf = b.wbuf + NV_BENCH_SEQ;
	ret = bench_all(&b, secs);
	free(b.wbuf);
	close(b.fd);
	return ret ? 1 : 0;
}

static int bad_args(void)
{
	fprintf(stderr,
		"usage: nvme_vfio io BDF NSID ROUNDS\n"
		"       nvme_vfio verify BDF NSID ROUND\n"
		"       nvme_vfio isolate BDF_A BDF_B NSID\n"
		"       nvme_vfio hold BDF SECONDS\n"
		"       nvme_vfio eperm VFDIR\n"
		"       nvme_vfio owner BDF NSID VFDIR ack|silent COUNT\n"
		"       nvme_vfio bench BDF NSID SECONDS\n"
		"       nvme_vfio blkbench DEV SECONDS\n");
	return 3;
}

int main(int argc, char **argv)
{
	uint32_t nsid, k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7 && !strcmp(argv[1], "owner")) {
		if (parse_u32(argv[3], &nsid) || parse_u32(argv[6], &k) ||
		    !nsid || !k || k > 64 ||
		    (strcmp(argv[5], "ack") && strcmp(argv[5], "silent")))
			return bad_args();
		return mode_owner(argv[2], nsid, argv[4],
				  !strcmp(argv[5], "ack"), k);
	}
	if (argc == 4 && !strcmp(argv[1], "hold")) {
		if (parse_u32(argv[3], &k) || !k)
			return bad_args();
		return mode_hold(argv[2], k);
	}
	if (argc == 3 && !strcmp(argv[1], "eperm"))
		return mode_eperm(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "blkbench")) {
		if (parse_u32(argv[3], &k) || !k || k > 600)
			return bad_args();
		return mode_blkbench(argv[2], k);
	}
	if (argc == 5 && !strcmp(argv[1], "bench")) {
		if (parse_u32(argv[3], &nsid) || parse_u32(argv[4], &k) ||
		    !nsid || !k || k > 600)
			return bad_args();
		return mode_bench(argv[2], nsid, k);
	}
	if (argc != 5)
		return bad_args();
	if (!strcmp(argv[1], "io") || !strcmp(argv[1], "verify")) {
		if (parse_u32(argv[3], &nsid) || parse_u32(argv[4], &k) ||
		    !nsid || (!k && argv[1][0] != 'i'))
			return bad_args();
		return mode_io(argv[2], nsid, k, argv[1][0] == 'i');
	}
	if (!strcmp(argv[1], "isolate")) {
		if (parse_u32(argv[4], &nsid) || !nsid)
			return bad_args();
		return mode_isolate(argv[2], argv[3], nsid);
	}
	return bad_args();
}
