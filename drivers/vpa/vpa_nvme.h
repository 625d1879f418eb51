/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vpa's own NVMe admin queue on a physical function that vpa owns (the
 * SR-IOV back end, Documentation/plans/sriov.md): no I/O queues, no
 * interrupts, one admin command at a time, its completion polled.
 *
 * The structures below are read from the device: every value in them is
 * untrusted, and each user bounds what it takes from them.
 */
#ifndef _VPA_NVME_H
#define _VPA_NVME_H

#include <linux/mutex.h>
#include <linux/nvme.h>
#include <linux/pci.h>
#include <linux/types.h>

/*
 * Registers, commands, completions, Identify Controller and the opcodes
 * come from <linux/nvme.h>; what 6.1 lacks there is declared here:
 * Identify CNS 0x14 and the layouts of its answer and of CNS 0x15's.
 */
#define VPA_NVME_CNS_PRI_CAPS		0x14	/* Primary Controller Caps */

/* Virtualization Management: actions (CDW10 bits 3:0), types (10:8). */
#define VPA_NVME_ACT_PRI_FLEX		1	/* primary flexible allocation */
#define VPA_NVME_ACT_SEC_OFFLINE	7
#define VPA_NVME_ACT_SEC_ASSIGN		8
#define VPA_NVME_ACT_SEC_ONLINE		9
#define VPA_NVME_RT_VQ			0	/* flexible queue resources */
#define VPA_NVME_RT_VI			1	/* flexible interrupt resources */

/* Namespace Attachment: CDW10.SEL */
#define VPA_NVME_NS_SEL_ATTACH		0
#define VPA_NVME_NS_SEL_DETACH		1

/* Identify Controller: OACS bit 7, Virtualization Management supported */
#define VPA_NVME_OACS_VMS		BIT(7)

/* Status Code Type and Status Code of a status vpa_nvme returns */
#define VPA_NVME_SC_MASK		0x7ff

/* Ids one Allocated Namespace ID list holds (4 KiB) */
#define VPA_NVME_NS_LIST_MAX		1024

/* Ids one Controller List holds (4 KiB, after its count) */
#define VPA_NVME_CTRL_LIST_MAX		2047

/* Entries one Secondary Controller List holds (4 KiB, 32 bytes each). */
#define VPA_NVME_SEC_MAX		127

/**
 * struct vpa_nvme_caps - Primary Controller Capabilities, in host order
 * @cntlid:	controller the answer is about
 * @crt:	resource types it supports (bit 0 VQ, bit 1 VI)
 * @vqfrt:	flexible queue resources in total
 * @vqrfa:	flexible queue resources assigned to secondaries
 * @vqrfap:	flexible queue resources allocated to the primary now
 * @vqprt:	private queue resources of the primary (its admin queue too)
 * @vqfrsm:	most flexible queue resources one secondary may get
 * @vqgran:	granularity of flexible queue resources
 * @vifrt:	flexible interrupt resources (vectors) in total
 * @virfa:	flexible interrupt resources assigned to secondaries
 * @virfap:	flexible interrupt resources allocated to the primary now
 * @viprt:	private interrupt resources of the primary
 * @vifrsm:	most flexible interrupt resources one secondary may get
 * @vigran:	granularity of flexible interrupt resources
 */
struct vpa_nvme_caps {
	u16 cntlid;
	u8 crt;
	u32 vqfrt;
	u32 vqrfa;
	u16 vqrfap;
	u16 vqprt;
	u16 vqfrsm;
	u16 vqgran;
	u32 vifrt;
	u32 virfa;
	u16 virfap;
	u16 viprt;
	u16 vifrsm;
	u16 vigran;
};

/* One Secondary Controller List entry, in host order. */
struct vpa_nvme_sec {
	u16 scid;		/* the secondary's controller id */
	u16 pcid;		/* its primary's */
	u8 scs;			/* bit 0: online */
	u16 vfn;		/* its VF number, 1-based */
	u16 nvq;		/* flexible queue resources it has */
	u16 nvi;		/* flexible interrupt resources it has */
};

/**
 * struct vpa_nvme - the admin queue of one controller
 * @pdev:	the function
 * @bar:	its BAR0
 * @cap:	CAP, read once by vpa_nvme_init()
 * @db_stride:	bytes between two doorbells
 * @depth:	entries of each admin queue
 * @timeout_ms:	how long CSTS.RDY may take to follow CC.EN (CAP.TO)
 * @lock:	serialises the admin queue: one command at a time; protects
 *		every field below, the queues' memory and @buf
 * @sq:		submission queue (coherent DMA), @sq_dma its bus address
 * @cq:		completion queue (coherent DMA), @cq_dma its bus address
 * @buf:	one 4 KiB page for data the device writes (Identify)
 * @sq_tail:	next submission entry
 * @cq_head:	next completion entry
 * @phase:	phase tag a new completion carries
 * @cid:	command id of the next command
 * @live:	the controller is enabled with this queue; cleared by a
 *		timeout, a lost device or a reset, until the next enable
 * @dead:	the function is lost to error recovery (its BARs may no
 *		longer decode): no register is touched again
 * @stuck:	the controller did not stop when disabled: it may still
 *		write to the queues, which vpa_nvme_destroy() then leaks
 * @halt:	a reset is coming: a command waiting for its completion stops
 *		waiting and no other is sent (set without @lock by
 *		vpa_nvme_lost(), cleared under it by vpa_nvme_enable())
 */
struct vpa_nvme {
	struct pci_dev *pdev;
	void __iomem *bar;
	u64 cap;
	u32 db_stride;
	u32 depth;
	u32 timeout_ms;
	struct mutex lock;		/* the admin queue, @buf */
	struct nvme_command *sq;
	dma_addr_t sq_dma;
	struct nvme_completion *cq;
	dma_addr_t cq_dma;
	void *buf;
	dma_addr_t buf_dma;
	u16 sq_tail;
	u16 cq_head;
	u8 phase;
	u16 cid;
	bool live;
	bool dead;
	bool stuck;
	bool halt;
	bool busy;	/* a command is out: set and cleared under @lock */
	/*
	 * An error recovery reset the function and restored its config:
	 * its registers decode although pci_channel_offline() says "frozen"
	 * (the PCI core's error_state, normal again only at its resume, or
	 * never if it gave up). Written by the recovery (WRITE_ONCE()).
	 */
	bool recovered;
};

/* test hook (debugfs vpa/sriov_cmd_timeout), vpa_nvme.c */
extern u32 vpa_sriov_cmd_timeout;

int vpa_nvme_init(struct vpa_nvme *nv, struct pci_dev *pdev);
void vpa_nvme_destroy(struct vpa_nvme *nv);
int vpa_nvme_enable(struct vpa_nvme *nv);
int vpa_nvme_disable(struct vpa_nvme *nv);
void vpa_nvme_lost(struct vpa_nvme *nv, bool dead);
bool vpa_nvme_live(struct vpa_nvme *nv);
bool vpa_nvme_idle(struct vpa_nvme *nv);
void vpa_nvme_recovered(struct vpa_nvme *nv, bool recovered);
int vpa_nvme_identify_ctrl(struct vpa_nvme *nv, u16 *cntlid, u16 *oacs);
int vpa_nvme_primary_caps(struct vpa_nvme *nv, u16 cntlid,
			  struct vpa_nvme_caps *caps);
int vpa_nvme_secondaries(struct vpa_nvme *nv, u16 first,
			 struct vpa_nvme_sec *sec, unsigned int *n);
int vpa_nvme_virt_mgmt(struct vpa_nvme *nv, u16 cntlid, u8 act, u8 rt,
		       u16 nr);
int vpa_nvme_ns_attach(struct vpa_nvme *nv, u32 nsid, u16 cntlid, bool attach);
int vpa_nvme_ns_list(struct vpa_nvme *nv, u32 after, u32 *ids,
		     unsigned int *n);
int vpa_nvme_ns_ctrls(struct vpa_nvme *nv, u32 nsid, u16 first, u16 *ids,
		      unsigned int *n);
int vpa_nvme_ns_info(struct vpa_nvme *nv, u32 nsid, bool *shared);

#endif /* _VPA_NVME_H */
