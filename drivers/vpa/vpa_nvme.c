// SPDX-License-Identifier: GPL-2.0
/*
 * vpa's NVMe admin queue: the few admin commands the SR-IOV back end
 * sends to a physical function it owns (vpa_sriov.c).
 *
 * One submission and one completion queue in coherent DMA memory, one
 * command at a time under vpa_nvme::lock, its completion found by polling
 * the phase tag (no interrupt: the function's INTx is disabled and vpa
 * enables neither MSI nor MSI-X). A command that does not complete in
 * time, a completion that does not match the command, or a controller
 * reporting a fatal status takes the queue down (vpa_nvme::live): the
 * device may still write to it, so nothing is sent again until the
 * controller has been disabled and enabled anew, which starts the queues
 * over. A controller that does not stop when disabled keeps its queues'
 * memory for good (vpa_nvme::stuck), and one lost to error recovery is
 * not touched again (vpa_nvme::dead).
 *
 * Everything the device returns is checked before use: statuses,
 * completion ids, and the counts of its data structures.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/jiffies.h>

#include "vpa_nvme.h"

#define VPA_NVME_DEPTH		32	/* entries of each admin queue */
#define VPA_NVME_CMD_MS		30000	/* one admin command, at most */
#define VPA_NVME_CSTS_MS	100	/* CSTS looked at while polling */
#define VPA_NVME_PAGE		4096	/* CC.MPS 0 and Identify's data */

/* Identify CNS 0x14 as the device writes it */
struct vpa_nvme_pri_caps_raw {
	__le16 cntlid;
	__le16 portid;
	u8 crt;
	u8 rsvd5[27];
	__le32 vqfrt;
	__le32 vqrfa;
	__le16 vqrfap;
	__le16 vqprt;
	__le16 vqfrsm;
	__le16 vqgran;
	u8 rsvd48[16];
	__le32 vifrt;
	__le32 virfa;
	__le16 virfap;
	__le16 viprt;
	__le16 vifrsm;
	__le16 vigran;
	u8 rsvd80[4016];
};

/* Identify CNS 0x15 as the device writes it */
struct vpa_nvme_sec_raw {
	__le16 scid;
	__le16 pcid;
	u8 scs;
	u8 rsvd5[3];
	__le16 vfn;
	__le16 nvq;
	__le16 nvi;
	u8 rsvd14[18];
};

struct vpa_nvme_sec_list_raw {
	u8 numid;
	u8 rsvd1[31];
	struct vpa_nvme_sec_raw sc[VPA_NVME_SEC_MAX];
};

static void __iomem *vpa_nvme_db(struct vpa_nvme *nv, bool cq)
{
	return nv->bar + NVME_REG_DBS + (cq ? nv->db_stride : 0);
}

/* Wait until CSTS.RDY is @ready, for at most CAP.TO. */
static int vpa_nvme_wait_ready(struct vpa_nvme *nv, bool ready)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(nv->timeout_ms);
	u32 csts;

	for (;;) {
		csts = readl(nv->bar + NVME_REG_CSTS);
		if (csts == ~0U)
			return -ENODEV;
		if (ready && (csts & NVME_CSTS_CFS))
			return -EIO;
		if (!!(csts & NVME_CSTS_RDY) == ready)
			return 0;
		/* an enable gives way to a reset that is coming */
		if (ready && READ_ONCE(nv->halt))
			return -ETIMEDOUT;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
}

/* The function is gone, or its registers may no longer decode. */
static bool vpa_nvme_gone(struct vpa_nvme *nv)
{
	return nv->dead || (pci_channel_offline(nv->pdev) &&
			    !READ_ONCE(nv->recovered));
}

/*
 * An error recovery restored the function (@recovered true, before it
 * restarts the queue in slot_reset, where the PCI core's error_state is
 * still frozen), or a new error came (false).
 */
void vpa_nvme_recovered(struct vpa_nvme *nv, bool recovered)
{
	WRITE_ONCE(nv->recovered, recovered);
}

/* CC.EN = 0 and wait for RDY = 0; the device then forgets the queues. */
static int __vpa_nvme_disable(struct vpa_nvme *nv)
{
	u32 cc;
	int ret;

	lockdep_assert_held(&nv->lock);
	WRITE_ONCE(nv->live, false);
	if (vpa_nvme_gone(nv))
		return -ENODEV;
	cc = readl(nv->bar + NVME_REG_CC);
	if (cc == ~0U)
		return -ENODEV;
	if (cc & NVME_CC_ENABLE)
		writel(cc & ~NVME_CC_ENABLE, nv->bar + NVME_REG_CC);
	ret = vpa_nvme_wait_ready(nv, false);
	/* (still running, maybe on queues of ours) */
	if (ret != -ENODEV)
		nv->stuck = ret == -ETIMEDOUT;
	return ret;
}

/**
 * vpa_nvme_init - map a controller and allocate its admin queue
 * @nv:		zeroed
 * @pdev:	the function, enabled, its BAR0 requested
 *
 * Reads CAP and checks that vpa can drive the controller: NVM command
 * set, 4 KiB pages, a BAR large enough for the admin doorbells. The
 * controller is not touched (vpa_nvme_enable()).
 *
 * Return: 0, -ENOMEM, -ENODEV for a controller vpa cannot drive.
 */
int vpa_nvme_init(struct vpa_nvme *nv, struct pci_dev *pdev)
{
	resource_size_t len = pci_resource_len(pdev, 0);
	int ret = -ENODEV;

	/* CAP and the admin doorbells of stride 4 at least */
	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) ||
	    len < NVME_REG_DBS + 8) {
		dev_err(&pdev->dev, "BAR0 is not a controller's (%pa bytes)\n",
			&len);
		return -ENODEV;
	}
	nv->pdev = pdev;
	nv->bar = pci_iomap(pdev, 0, 0);
	if (!nv->bar)
		return -ENOMEM;
	mutex_init(&nv->lock);
	nv->cap = lo_hi_readq(nv->bar + NVME_REG_CAP);
	nv->db_stride = 4 << NVME_CAP_STRIDE(nv->cap);
	/* CAP.TO is in 500 ms units; 0 would be no time at all */
	nv->timeout_ms = max_t(u32, NVME_CAP_TIMEOUT(nv->cap), 1) * 500;
	nv->depth = min_t(u32, VPA_NVME_DEPTH, NVME_CAP_MQES(nv->cap) + 1);
	if (nv->cap == ~0ULL) {
		dev_err(&pdev->dev, "controller does not answer\n");
		goto err_unmap;
	}
	if (!(NVME_CAP_CSS(nv->cap) & NVME_CAP_CSS_NVM) ||
	    NVME_CAP_MPSMIN(nv->cap) != 0 || nv->depth < 2 ||
	    len < NVME_REG_DBS + 2 * nv->db_stride) {
		dev_err(&pdev->dev, "controller unsupported: CAP %llx, BAR0 %pa bytes\n",
			nv->cap, &len);
		goto err_unmap;
	}
	ret = -ENOMEM;
	nv->sq = dma_alloc_coherent(&pdev->dev, nv->depth * sizeof(*nv->sq),
				    &nv->sq_dma, GFP_KERNEL);
	if (!nv->sq)
		goto err_unmap;
	nv->cq = dma_alloc_coherent(&pdev->dev, nv->depth * sizeof(*nv->cq),
				    &nv->cq_dma, GFP_KERNEL);
	if (!nv->cq)
		goto err_sq;
	nv->buf = dma_alloc_coherent(&pdev->dev, VPA_NVME_PAGE, &nv->buf_dma,
				     GFP_KERNEL);
	if (!nv->buf)
		goto err_cq;
	return 0;

err_cq:
	dma_free_coherent(&pdev->dev, nv->depth * sizeof(*nv->cq), nv->cq,
			  nv->cq_dma);
err_sq:
	dma_free_coherent(&pdev->dev, nv->depth * sizeof(*nv->sq), nv->sq,
			  nv->sq_dma);
err_unmap:
	mutex_destroy(&nv->lock);
	pci_iounmap(pdev, nv->bar);
	return ret;
}

/*
 * Undo vpa_nvme_init(). The controller must be disabled and the function's
 * bus mastering off first: the device may hold a command that timed out.
 * If the controller did not stop, the queues' memory is left allocated:
 * a device ignoring its bus master bit could still write there.
 */
void vpa_nvme_destroy(struct vpa_nvme *nv)
{
	struct device *dev = &nv->pdev->dev;

	if (nv->stuck) {
		dev_warn(dev, "controller did not stop: its admin queues' %zu bytes are not freed\n",
			 VPA_NVME_PAGE + nv->depth * (sizeof(*nv->sq) +
						      sizeof(*nv->cq)));
		goto out;
	}
	dma_free_coherent(dev, VPA_NVME_PAGE, nv->buf, nv->buf_dma);
	dma_free_coherent(dev, nv->depth * sizeof(*nv->cq), nv->cq,
			  nv->cq_dma);
	dma_free_coherent(dev, nv->depth * sizeof(*nv->sq), nv->sq,
			  nv->sq_dma);
out:
	pci_iounmap(nv->pdev, nv->bar);
	mutex_destroy(&nv->lock);
}

/**
 * vpa_nvme_enable - (re)start the controller with empty admin queues
 * @nv:	the controller
 *
 * Disables the controller (waiting for CSTS.RDY 0), programs the admin
 * queues and enables it: NVM command set, 4 KiB pages, 64-byte
 * submission and 16-byte completion entries.
 *
 * Return: 0, -ETIMEDOUT if RDY did not follow within CAP.TO, -EIO for a
 * fatal controller status, -ENODEV if the device is gone.
 */
int vpa_nvme_enable(struct vpa_nvme *nv)
{
	u32 cc, csts = ~0U;
	int ret;

	mutex_lock(&nv->lock);
	WRITE_ONCE(nv->halt, false);
	ret = __vpa_nvme_disable(nv);
	if (ret)
		goto out;
	memset(nv->sq, 0, nv->depth * sizeof(*nv->sq));
	memset(nv->cq, 0, nv->depth * sizeof(*nv->cq));
	nv->sq_tail = 0;
	nv->cq_head = 0;
	nv->phase = 1;
	writel((nv->depth - 1) << 16 | (nv->depth - 1),
	       nv->bar + NVME_REG_AQA);
	lo_hi_writeq(nv->sq_dma, nv->bar + NVME_REG_ASQ);
	lo_hi_writeq(nv->cq_dma, nv->bar + NVME_REG_ACQ);
	cc = NVME_CC_CSS_NVM | 0 << NVME_CC_MPS_SHIFT | NVME_CC_IOSQES |
	     NVME_CC_IOCQES;
	writel(cc, nv->bar + NVME_REG_CC);
	writel(cc | NVME_CC_ENABLE, nv->bar + NVME_REG_CC);
	ret = vpa_nvme_wait_ready(nv, true);
	if (!ret)
		WRITE_ONCE(nv->live, true);
out:
	if (ret && !vpa_nvme_gone(nv))
		csts = readl(nv->bar + NVME_REG_CSTS);
	mutex_unlock(&nv->lock);
	if (ret)
		dev_err_ratelimited(&nv->pdev->dev,
				    "admin queue not enabled: %d (CSTS %x)\n",
				    ret, csts);
	return ret;
}

/**
 * vpa_nvme_disable - stop the controller (probe, unbind)
 * @nv:	the controller
 *
 * The device stops using the queues. A controller that does not follow
 * within CAP.TO is marked stuck (vpa_nvme_destroy() keeps the queues).
 *
 * Return: 0, -ETIMEDOUT (stuck), -ENODEV (gone: it uses nothing).
 */
int vpa_nvme_disable(struct vpa_nvme *nv)
{
	int ret;

	mutex_lock(&nv->lock);
	ret = __vpa_nvme_disable(nv);
	mutex_unlock(&nv->lock);
	if (ret)
		dev_warn_ratelimited(&nv->pdev->dev,
				     "controller not disabled: %d\n", ret);
	return ret;
}

/**
 * vpa_nvme_live - the queue can take a command
 * @nv:	the controller
 *
 * False from a timeout, a fatal controller status, a lost or mismatched
 * completion, or vpa_nvme_lost(), until the next vpa_nvme_enable().
 */
bool vpa_nvme_live(struct vpa_nvme *nv)
{
	bool live;

	mutex_lock(&nv->lock);
	live = nv->live;
	mutex_unlock(&nv->lock);
	return live;
}

/*
 * Is the admin queue idle: up, no command in flight (@busy, set around
 * each submission: a holder of @lock that sends nothing, a sysfs read of
 * the state, does not count; the review s26's L4), no reset coming? For
 * a non-fatal error (vpa_sriov_error_detected()): an idle queue has no
 * completion the error may have poisoned. Lockless: a command that
 * starts right after reads the error's state itself.
 */
bool vpa_nvme_idle(struct vpa_nvme *nv)
{
	return READ_ONCE(nv->live) && !READ_ONCE(nv->halt) &&
	       !READ_ONCE(nv->busy);
}

/*
 * The controller is being (or was) reset behind the queue's back (a
 * function reset, error recovery): a command waiting for its completion
 * stops waiting, and nothing is sent until the next vpa_nvme_enable().
 * @dead: the function is lost to error recovery; its registers are not
 * touched again. Returns with no command in flight.
 */
void vpa_nvme_lost(struct vpa_nvme *nv, bool dead)
{
	/* a command waiting for its completion gives up first */
	WRITE_ONCE(nv->halt, true);
	mutex_lock(&nv->lock);
	WRITE_ONCE(nv->live, false);
	if (dead)
		nv->dead = true;
	mutex_unlock(&nv->lock);
}

/*
 * Test hook (debugfs vpa/sriov_cmd_timeout): the next admin command with
 * this opcode (0x15 Namespace Attachment, 0x1c Virtualization Management;
 * 0: none) is given up once sent, as if no completion had come in time
 * (the device still carries it out): the admin queue goes down as for a
 * timeout. Fires once; cleared under vpa_nvme::lock.
 */
u32 vpa_sriov_cmd_timeout;

static bool vpa_nvme_fake_timeout(struct vpa_nvme *nv,
				  const struct nvme_command *cmd)
{
	lockdep_assert_held(&nv->lock);
	if (!READ_ONCE(vpa_sriov_cmd_timeout) ||
	    READ_ONCE(vpa_sriov_cmd_timeout) != cmd->common.opcode)
		return false;
	WRITE_ONCE(vpa_sriov_cmd_timeout, 0);
	WRITE_ONCE(nv->live, false);
	dev_err_ratelimited(&nv->pdev->dev,
			    "admin command %#x: timeout injected: admin queue down\n",
			    cmd->common.opcode);
	return true;
}

/*
 * Send @cmd and wait for its completion. Returns 0 (the result's first
 * dword in @result if not NULL), a positive NVMe status (Status Code Type
 * << 8 | Status Code, with the DNR and More bits), -ENOLINK (queue down:
 * nothing sent), or, for a command whose outcome is unknown, -EIO (a
 * completion that is not this command's, a fatal controller status),
 * -ETIMEDOUT (no completion, or a reset cut the wait short), -ENODEV.
 */
static int __vpa_nvme_submit(struct vpa_nvme *nv, struct nvme_command *cmd,
			     u32 *result)
{
	struct nvme_completion *cqe;
	unsigned long deadline, look;
	u16 cid, status;
	u32 csts;

	lockdep_assert_held(&nv->lock);
	if (!nv->live || READ_ONCE(nv->halt))
		return -ENOLINK;
	cid = nv->cid++;
	cmd->common.command_id = cid;
	nv->sq[nv->sq_tail] = *cmd;
	nv->sq_tail = (nv->sq_tail + 1) % nv->depth;
	/* writel() orders the entry's stores before the doorbell */
	writel(nv->sq_tail, vpa_nvme_db(nv, false));
	if (vpa_nvme_fake_timeout(nv, cmd))
		return -ETIMEDOUT;

	cqe = &nv->cq[nv->cq_head];
	deadline = jiffies + msecs_to_jiffies(VPA_NVME_CMD_MS);
	look = jiffies + msecs_to_jiffies(VPA_NVME_CSTS_MS);
	for (;;) {
		status = le16_to_cpu(READ_ONCE(cqe->status));
		if ((status & 1) == nv->phase)
			break;
		/* a reset is coming (vpa_nvme_halt()): stop waiting */
		if (READ_ONCE(nv->halt)) {
			WRITE_ONCE(nv->live, false);
			return -ETIMEDOUT;
		}
		/* a controller that failed or vanished answers nothing */
		if (time_after(jiffies, look) || time_after(jiffies, deadline)) {
			look = jiffies + msecs_to_jiffies(VPA_NVME_CSTS_MS);
			csts = readl(nv->bar + NVME_REG_CSTS);
			if (csts == ~0U || (csts & NVME_CSTS_CFS) ||
			    time_after(jiffies, deadline)) {
				WRITE_ONCE(nv->live, false);
				dev_err_ratelimited(&nv->pdev->dev,
						    "admin command %#x: no completion (CSTS %x): admin queue down\n",
						    cmd->common.opcode, csts);
				if (csts == ~0U)
					return -ENODEV;
				return csts & NVME_CSTS_CFS ? -EIO : -ETIMEDOUT;
			}
		}
		usleep_range(20, 100);
	}
	/* the rest of the entry is read after its phase tag */
	dma_rmb();
	if (READ_ONCE(cqe->command_id) != cid ||
	    le16_to_cpu(READ_ONCE(cqe->sq_id)) != 0) {
		WRITE_ONCE(nv->live, false);
		dev_err_ratelimited(&nv->pdev->dev,
				    "admin completion for command %u of queue %u, %u expected: admin queue down\n",
				    READ_ONCE(cqe->command_id),
				    le16_to_cpu(READ_ONCE(cqe->sq_id)), cid);
		return -EIO;
	}
	if (result)
		*result = le32_to_cpu(READ_ONCE(cqe->result.u32));
	if (++nv->cq_head == nv->depth) {
		nv->cq_head = 0;
		nv->phase ^= 1;
	}
	writel(nv->cq_head, vpa_nvme_db(nv, true));
	return status >> 1;
}

/*
 * As __vpa_nvme_submit(), with @busy set while the command is out: what
 * vpa_nvme_idle() reads (a holder of @lock alone sends nothing).
 */
static int vpa_nvme_submit(struct vpa_nvme *nv, struct nvme_command *cmd,
			   u32 *result)
{
	int ret;

	lockdep_assert_held(&nv->lock);
	WRITE_ONCE(nv->busy, true);
	ret = __vpa_nvme_submit(nv, cmd, result);
	WRITE_ONCE(nv->busy, false);
	return ret;
}

/*
 * Identify with @cns and @cntid into nv->buf. Caller holds nv->lock and
 * reads the buffer before dropping it. Returns 0 or -errno (an NVMe
 * status is logged and becomes -EIO).
 */
static int vpa_nvme_identify(struct vpa_nvme *nv, u8 cns, u16 cntid)
{
	struct nvme_command cmd = { };
	int ret;

	lockdep_assert_held(&nv->lock);
	cmd.identify.opcode = nvme_admin_identify;
	cmd.identify.cns = cns;
	cmd.identify.ctrlid = cpu_to_le16(cntid);
	cmd.identify.dptr.prp1 = cpu_to_le64(nv->buf_dma);
	memset(nv->buf, 0, VPA_NVME_PAGE);
	ret = vpa_nvme_submit(nv, &cmd, NULL);
	if (ret > 0) {
		dev_err_ratelimited(&nv->pdev->dev,
				    "Identify CNS %#x failed: status %#x\n",
				    cns, ret);
		ret = -EIO;
	}
	return ret;
}

/**
 * vpa_nvme_identify_ctrl - Identify Controller (CNS 1)
 * @nv:		the controller
 * @cntlid:	its controller id
 * @oacs:	its optional admin command support bits
 *
 * Return: 0 or -errno.
 */
int vpa_nvme_identify_ctrl(struct vpa_nvme *nv, u16 *cntlid, u16 *oacs)
{
	const struct nvme_id_ctrl *id = nv->buf;
	int ret;

	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify(nv, NVME_ID_CNS_CTRL, 0);
	if (!ret) {
		*cntlid = le16_to_cpu(id->cntlid);
		*oacs = le16_to_cpu(id->oacs);
	}
	mutex_unlock(&nv->lock);
	return ret;
}

/**
 * vpa_nvme_primary_caps - Identify Primary Controller Capabilities
 * @nv:		the controller
 * @cntlid:	the primary controller asked about (CDW10.CNTID)
 * @caps:	the answer, in host order and unchecked
 *
 * Return: 0 or -errno.
 */
int vpa_nvme_primary_caps(struct vpa_nvme *nv, u16 cntlid,
			  struct vpa_nvme_caps *caps)
{
	const struct vpa_nvme_pri_caps_raw *raw = nv->buf;
	int ret;

	BUILD_BUG_ON(sizeof(*raw) != VPA_NVME_PAGE ||
		     offsetof(struct vpa_nvme_pri_caps_raw, vqfrt) != 32 ||
		     offsetof(struct vpa_nvme_pri_caps_raw, vifrt) != 64);
	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify(nv, VPA_NVME_CNS_PRI_CAPS, cntlid);
	if (!ret) {
		caps->cntlid = le16_to_cpu(raw->cntlid);
		caps->crt = raw->crt;
		caps->vqfrt = le32_to_cpu(raw->vqfrt);
		caps->vqrfa = le32_to_cpu(raw->vqrfa);
		caps->vqrfap = le16_to_cpu(raw->vqrfap);
		caps->vqprt = le16_to_cpu(raw->vqprt);
		caps->vqfrsm = le16_to_cpu(raw->vqfrsm);
		caps->vqgran = le16_to_cpu(raw->vqgran);
		caps->vifrt = le32_to_cpu(raw->vifrt);
		caps->virfa = le32_to_cpu(raw->virfa);
		caps->virfap = le16_to_cpu(raw->virfap);
		caps->viprt = le16_to_cpu(raw->viprt);
		caps->vifrsm = le16_to_cpu(raw->vifrsm);
		caps->vigran = le16_to_cpu(raw->vigran);
	}
	mutex_unlock(&nv->lock);
	return ret;
}

/**
 * vpa_nvme_secondaries - Identify Secondary Controller List, one page
 * @nv:		the controller
 * @first:	the list starts at the first secondary of this id or above
 *		(CDW10.CNTID)
 * @sec:	room for VPA_NVME_SEC_MAX entries
 * @n:		the entries the device listed, at most VPA_NVME_SEC_MAX; a
 *		full page may have more after it
 *
 * Return: 0 or -errno.
 */
int vpa_nvme_secondaries(struct vpa_nvme *nv, u16 first,
			 struct vpa_nvme_sec *sec, unsigned int *n)
{
	const struct vpa_nvme_sec_list_raw *raw = nv->buf;
	const struct vpa_nvme_sec_raw *e;
	unsigned int i;
	int ret;

	BUILD_BUG_ON(sizeof(*raw) != VPA_NVME_PAGE);
	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify(nv, NVME_ID_CNS_SCNDRY_CTRL_LIST, first);
	if (!ret) {
		/* a u8: never more than the page holds */
		*n = min_t(unsigned int, raw->numid, VPA_NVME_SEC_MAX);
		for (i = 0; i < *n; i++) {
			e = &raw->sc[i];
			sec[i].scid = le16_to_cpu(e->scid);
			sec[i].pcid = le16_to_cpu(e->pcid);
			sec[i].scs = e->scs;
			sec[i].vfn = le16_to_cpu(e->vfn);
			sec[i].nvq = le16_to_cpu(e->nvq);
			sec[i].nvi = le16_to_cpu(e->nvi);
		}
	}
	mutex_unlock(&nv->lock);
	return ret;
}

/**
 * vpa_nvme_virt_mgmt - Virtualization Management
 * @nv:		the controller
 * @cntlid:	the controller acted on (the primary's for ACT 1)
 * @act:	VPA_NVME_ACT_*
 * @rt:		VPA_NVME_RT_* (ignored by the device for offline/online)
 * @nr:		resources to allocate or assign
 *
 * Return: 0; -EREMOTEIO (the device refused: an NVMe status, logged) or
 * -ENOLINK (queue down: not sent), after which nothing changed; or an
 * error of vpa_nvme_submit() that leaves the outcome unknown.
 */
int vpa_nvme_virt_mgmt(struct vpa_nvme *nv, u16 cntlid, u8 act, u8 rt,
		       u16 nr)
{
	struct nvme_command cmd = { };
	int ret;

	cmd.common.opcode = nvme_admin_virtual_mgmt;
	cmd.common.cdw10 = cpu_to_le32((u32)cntlid << 16 | (rt & 7) << 8 |
				       (act & 0xf));
	cmd.common.cdw11 = cpu_to_le32(nr);
	mutex_lock(&nv->lock);
	ret = vpa_nvme_submit(nv, &cmd, NULL);
	mutex_unlock(&nv->lock);
	if (ret > 0) {
		dev_err_ratelimited(&nv->pdev->dev,
				    "Virtualization Management act %u rt %u cntlid %u nr %u failed: status %#x\n",
				    act, rt, cntlid, nr, ret);
		ret = -EREMOTEIO;
	}
	return ret;
}

/**
 * vpa_nvme_ns_attach - Namespace Attachment of one namespace, one controller
 * @nv:		the controller
 * @nsid:	the namespace (1 to NVME_NSID_ALL - 1)
 * @cntlid:	the controller it is attached to or detached from
 * @attach:	attach (SEL 0), or detach (SEL 1)
 *
 * "Namespace Already Attached" to an attach and "Namespace Not Attached"
 * to a detach mean the namespace is as asked: done.
 *
 * Return: 0; -EBUSY (attach: a private namespace attached to another
 * controller), -ENXIO (Controller List Invalid: no such controller now),
 * -EREMOTEIO (another NVMe status, logged) or -ENOLINK (not sent), after
 * which nothing changed; or an error of vpa_nvme_submit() that leaves the
 * outcome unknown.
 */
int vpa_nvme_ns_attach(struct vpa_nvme *nv, u32 nsid, u16 cntlid, bool attach)
{
	struct nvme_command cmd = { };
	__le16 *list = nv->buf;
	int ret;

	cmd.common.opcode = nvme_admin_ns_attach;
	cmd.common.nsid = cpu_to_le32(nsid);
	cmd.common.cdw10 = cpu_to_le32(attach ? VPA_NVME_NS_SEL_ATTACH :
				       VPA_NVME_NS_SEL_DETACH);
	cmd.common.dptr.prp1 = cpu_to_le64(nv->buf_dma);
	mutex_lock(&nv->lock);
	/* a Controller List of one: its count, then the ids */
	memset(nv->buf, 0, VPA_NVME_PAGE);
	list[0] = cpu_to_le16(1);
	list[1] = cpu_to_le16(cntlid);
	ret = vpa_nvme_submit(nv, &cmd, NULL);
	mutex_unlock(&nv->lock);
	if (ret <= 0)
		return ret;
	switch (ret & VPA_NVME_SC_MASK) {
	case NVME_SC_NS_ALREADY_ATTACHED:
		return attach ? 0 : -EREMOTEIO;
	case NVME_SC_NS_NOT_ATTACHED:
		return attach ? -EREMOTEIO : 0;
	case NVME_SC_NS_IS_PRIVATE:
		return -EBUSY;
	case NVME_SC_CTRL_LIST_INVALID:
		return -ENXIO;
	}
	dev_err_ratelimited(&nv->pdev->dev,
			    "Namespace Attachment: %s namespace %u, controller %u failed: status %#x\n",
			    attach ? "attach" : "detach", nsid, cntlid, ret);
	return -EREMOTEIO;
}

/*
 * Identify with @cns for namespace @nsid from controller id @cntid, its
 * NVMe status kept: 0, a positive status (not logged) or -errno.
 */
static int vpa_nvme_identify_ns_cmd(struct vpa_nvme *nv, u8 cns, u32 nsid,
				    u16 cntid)
{
	struct nvme_command cmd = { };

	lockdep_assert_held(&nv->lock);
	cmd.identify.opcode = nvme_admin_identify;
	cmd.identify.nsid = cpu_to_le32(nsid);
	cmd.identify.cns = cns;
	cmd.identify.ctrlid = cpu_to_le16(cntid);
	cmd.identify.dptr.prp1 = cpu_to_le64(nv->buf_dma);
	memset(nv->buf, 0, VPA_NVME_PAGE);
	return vpa_nvme_submit(nv, &cmd, NULL);
}

/* A status to an Identify the lists need: -EOPNOTSUPP or -EREMOTEIO. */
static int vpa_nvme_list_status(struct vpa_nvme *nv, u8 cns, int status)
{
	if ((status & VPA_NVME_SC_MASK) == NVME_SC_INVALID_FIELD)
		return -EOPNOTSUPP;
	dev_err_ratelimited(&nv->pdev->dev, "Identify CNS %#x failed: status %#x\n",
			    cns, status);
	return -EREMOTEIO;
}

/**
 * vpa_nvme_ns_list - Identify Allocated Namespace ID list (CNS 0x10)
 * @nv:		the controller
 * @after:	the list starts above this namespace id
 * @ids:	room for VPA_NVME_NS_LIST_MAX ids
 * @n:		ids listed, in increasing order; a full page may have more
 *		after it
 *
 * Return: 0, -EOPNOTSUPP (the device has no such list), -EIO (a list that
 * is not in increasing order), or the command's error.
 */
int vpa_nvme_ns_list(struct vpa_nvme *nv, u32 after, u32 *ids,
		     unsigned int *n)
{
	const __le32 *raw = nv->buf;
	unsigned int i = 0;
	u32 id, last = after;
	int ret;

	BUILD_BUG_ON(VPA_NVME_NS_LIST_MAX * sizeof(*raw) != VPA_NVME_PAGE);
	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify_ns_cmd(nv, NVME_ID_CNS_NS_PRESENT_LIST, after,
				       0);
	if (ret > 0)
		ret = vpa_nvme_list_status(nv, NVME_ID_CNS_NS_PRESENT_LIST, ret);
	for (i = 0; !ret && i < VPA_NVME_NS_LIST_MAX; i++) {
		id = le32_to_cpu(raw[i]);
		if (!id)
			break;
		if (id <= last || id >= NVME_NSID_ALL) {
			dev_err_ratelimited(&nv->pdev->dev, "namespace list: id %u after %u\n",
					    id, last);
			ret = -EIO;
			break;
		}
		ids[i] = id;
		last = id;
	}
	*n = ret ? 0 : i;
	mutex_unlock(&nv->lock);
	return ret;
}

/**
 * vpa_nvme_ns_ctrls - Identify Namespace Attached Controller list (CNS 0x12)
 * @nv:		the controller
 * @nsid:	the namespace
 * @first:	the list starts at this controller id
 * @ids:	room for VPA_NVME_CTRL_LIST_MAX ids
 * @n:		ids listed, in increasing order; a full page may have more
 *		after it
 *
 * Return: 0, -EOPNOTSUPP (the device has no such list), -EIO (a list that
 * is not in increasing order), or the command's error.
 */
int vpa_nvme_ns_ctrls(struct vpa_nvme *nv, u32 nsid, u16 first, u16 *ids,
		      unsigned int *n)
{
	const __le16 *raw = nv->buf;
	unsigned int i, got = 0;
	int ret;

	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify_ns_cmd(nv, NVME_ID_CNS_CTRL_NS_LIST, nsid,
				       first);
	if (ret > 0)
		ret = vpa_nvme_list_status(nv, NVME_ID_CNS_CTRL_NS_LIST, ret);
	if (!ret) {
		/* NUMID, then the ids */
		got = min_t(unsigned int, le16_to_cpu(raw[0]),
			    VPA_NVME_CTRL_LIST_MAX);
		for (i = 0; i < got; i++) {
			ids[i] = le16_to_cpu(raw[i + 1]);
			if (ids[i] < first || (i && ids[i] <= ids[i - 1]))
				ret = -EIO;
		}
	}
	*n = got;
	mutex_unlock(&nv->lock);
	if (ret == -EIO)
		dev_err_ratelimited(&nv->pdev->dev, "namespace %u: controller list out of order\n",
				    nsid);
	return ret;
}

/**
 * vpa_nvme_ns_info - Identify Namespace of an allocated namespace (CNS 0x11)
 * @nv:		the controller
 * @nsid:	the namespace
 * @shared:	NMIC bit 0: it may be attached to two or more controllers
 *
 * Return: 0, -ENOENT (no such namespace: the device answered with zeros),
 * -EOPNOTSUPP (the device has no such Identify), or the command's error.
 */
int vpa_nvme_ns_info(struct vpa_nvme *nv, u32 nsid, bool *shared)
{
	const struct nvme_id_ns *id = nv->buf;
	int ret;

	mutex_lock(&nv->lock);
	ret = vpa_nvme_identify_ns_cmd(nv, NVME_ID_CNS_NS_PRESENT, nsid, 0);
	if (ret > 0 && (ret & VPA_NVME_SC_MASK) == NVME_SC_INVALID_NS)
		ret = -ENOENT;
	else if (ret > 0)
		ret = vpa_nvme_list_status(nv, NVME_ID_CNS_NS_PRESENT, ret);
	if (!ret && !id->nsze)
		ret = -ENOENT;
	if (!ret)
		*shared = id->nmic & NVME_NS_NMIC_SHARED;
	mutex_unlock(&nv->lock);
	return ret;
}
