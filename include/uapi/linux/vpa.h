/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vpa: the virtual adapter's guest-visible interface.
 *
 * A virtual adapter is a VFIO PCI device (an mdev) carved out of one
 * physical or software adapter. The guest driver sees:
 *
 *   BAR0  registers (VPA_BAR0_SIZE, trapped): identity, resource counts,
 *         control/status, work queue and DMA window configuration, the
 *         MSI-X table and PBA.
 *   BAR2  doorbell pages (trapped): one page per doorbell the adapter owns;
 *         a 32-bit write at offset 0 of a page is the new ring tail of the
 *         work queue bound to that doorbell.
 *   BAR4  status page (VPA_BAR4_SIZE, read-only, mmap-able): ring heads
 *         and counters the engine updates, so a driver can poll without a
 *         trap.
 *
 * Work is described by 64-byte descriptors (struct vpa_desc) in a ring in
 * guest memory. The engine reads a descriptor, performs it, and writes a
 * 32-byte completion record (struct vpa_completion) when asked to. Every
 * address in a descriptor, the ring itself and the completion record are
 * I/O virtual addresses of the VM: they must lie in one of the adapter's
 * enabled DMA windows with the needed permission, and in the VM's VFIO
 * container mappings; anything else fails the descriptor and is counted.
 *
 * All fields are little endian (the supported hosts are x86_64). Reserved
 * fields and unknown flag bits must be zero: the engine fails a descriptor
 * that sets them (VPA_CS_BAD_*), and a register write with unknown bits
 * or a bad value fails and records VPA_ERR_REG in VPA_REG_ERR.
 */
#ifndef _UAPI_LINUX_VPA_H
#define _UAPI_LINUX_VPA_H

#include <linux/types.h>

/*
 * PCI identity: an ID from 1af4:10f0..10ff, the range that QEMU's PCI ID
 * registry (docs/specs/pci-ids) leaves open for experiments without
 * registration, until the adapter leaves the lab and gets an ID of its
 * own (Documentation/userspace-api/vpa.rst, "PCI identity"). The class
 * is part of the identity: the guest driver matches all three.
 */
#define VPA_PCI_VENDOR_ID	0x1af4
#define VPA_PCI_DEVICE_ID	0x10f5
#define VPA_PCI_CLASS		0x088000	/* system peripheral, other */
#define VPA_VERSION		0x00010001	/* major 1, minor 1: events */

/* Per virtual adapter limits (the BAR layout has room for these). */
#define VPA_MAX_WQS		16
#define VPA_MAX_VECS		32
#define VPA_MAX_WINS		32
#define VPA_MAX_DBS		16
#define VPA_MAX_RING		4096	/* descriptors per ring, power of 2 */
#define VPA_MAX_XFER		(1U << 20)	/* bytes per descriptor */

#define VPA_BAR0_SIZE		0x4000
#define VPA_BAR2_PAGE		0x1000
#define VPA_BAR2_SIZE		(VPA_MAX_DBS * VPA_BAR2_PAGE)
#define VPA_BAR4_SIZE		0x1000

/*
 * BAR0 registers. All are 32 bits wide and must be accessed with aligned
 * 32-bit reads and writes; other sizes fail. RO registers ignore writes.
 */
#define VPA_REG_VERSION		0x000	/* RO VPA_VERSION */
#define VPA_REG_NR_WQS		0x004	/* RO work queues owned */
#define VPA_REG_NR_VECS		0x008	/* RO MSI-X vectors owned */
#define VPA_REG_NR_WINS		0x00c	/* RO DMA windows owned */
#define VPA_REG_NR_DBS		0x010	/* RO doorbell pages owned */
#define VPA_REG_ENG_SHARE	0x014	/* RO share of engine time, percent */
#define VPA_REG_RID		0x018	/* RO requester id of this adapter */
#define VPA_REG_CTRL		0x020	/* RW VPA_CTRL_* */
#define VPA_REG_STATUS		0x024	/* RO VPA_STS_* */
#define VPA_REG_ERR		0x028	/* last error, VPA_ERR_*; write !0: clear */
#define VPA_REG_DMA_FAULTS	0x02c	/* RO DMA accesses refused */
#define VPA_REG_DONE_LO		0x030	/* RO descriptors completed, low */
#define VPA_REG_DONE_HI		0x034	/* RO descriptors completed, high */
/* Since minor 1: host events (revoke, resize, error recovery). */
#define VPA_REG_EVENT		0x038	/* RW1C VPA_EVT_* latched events */
#define VPA_REG_EVT_VEC		0x03c	/* RW vector of event interrupts */
#define VPA_REG_EVT_SEQ		0x040	/* RO number of the quiesce request */
#define VPA_REG_ACK		0x044	/* WO write EVT_SEQ: quiesced */
#define VPA_REG_QUIESCE_WQS	0x048	/* RO mask of queues to quiesce */
#define VPA_REG_DEADLINE_MS	0x04c	/* RO time given to acknowledge */

#define VPA_CTRL_ENABLE		(1U << 0)	/* engine accepts work */
#define VPA_CTRL_RESET		(1U << 1)	/* write 1: reset, self-clears */
#define VPA_CTRL_ALL		(VPA_CTRL_ENABLE | VPA_CTRL_RESET)

#define VPA_STS_ENABLED		(1U << 0)
#define VPA_STS_ERROR		(1U << 1)	/* VPA_REG_ERR is non-zero */
#define VPA_STS_DEAD		(1U << 2)	/* destroyed by the host */
#define VPA_STS_QUIESCE		(1U << 3)	/* quiesce asked, not acked */
#define VPA_STS_RECOVERY	(1U << 4)	/* adapter error recovery */
#define VPA_STS_FAILED		(1U << 5)	/* failed: reset to reuse */

/*
 * Events (VPA_REG_EVENT). Each is latched and signalled on the vector in
 * VPA_REG_EVT_VEC (MSI-X; or the MSI vector); writing 1s clears them.
 *
 * VPA_EVT_QUIESCE: the host asks the driver to quiesce the work queues in
 * VPA_REG_QUIESCE_WQS: ring none of their doorbells any more and, for a
 * revoke (no VPA_STS_RECOVERY), wait until their heads reach their tails;
 * then write VPA_REG_EVT_SEQ to VPA_REG_ACK within VPA_REG_DEADLINE_MS.
 * After the deadline the host goes on without the acknowledgment.
 *
 * Revoke and resize: the queues named are then taken; the engine stops
 * between descriptors, never within one. VPA_EVT_CHANGED follows: the
 * resource counts (VPA_REG_NR_*) changed. The status page keeps the final
 * head of every queue taken (VPA_STAT_WQ_HEAD): descriptors from there to
 * the tail were not executed and never will be; all before it were,
 * exactly once. From the request to VPA_EVT_CHANGED, a write that names
 * a doorbell or vector being taken (VPA_WQ_DB, VPA_WQ_VEC,
 * VPA_REG_EVT_VEC), or enables a queue being taken or on a doorbell being
 * taken (VPA_WQ_CTRL), fails with VPA_ERR_REG: no queue the request did
 * not name can be caught by the revoke.
 *
 * Error recovery: VPA_EVT_ERROR comes with VPA_EVT_QUIESCE for every
 * queue and VPA_STS_RECOVERY. The engine runs nothing until recovery
 * ends; doorbells still move tails. After the adapter's reset the queue
 * state is restored as it was (heads, tails, rings, windows) and
 * VPA_EVT_RESUME is raised: work goes on where it stopped. An adapter
 * that did not acknowledge in time gets VPA_EVT_FAILED instead: its
 * queues are disabled, its pending descriptors never run, and it stays
 * failed (VPA_STS_FAILED, no queue can be enabled) until reset through
 * VPA_CTRL_RESET or a function reset.
 */
#define VPA_EVT_QUIESCE		(1U << 0)
#define VPA_EVT_ERROR		(1U << 1)
#define VPA_EVT_CHANGED		(1U << 2)
#define VPA_EVT_RESUME		(1U << 3)
#define VPA_EVT_FAILED		(1U << 4)
#define VPA_EVT_ALL		0x1f

/* Values of VPA_REG_ERR: the first error since it was last cleared. */
#define VPA_ERR_NONE		0
#define VPA_ERR_REG		1	/* bad register value written */
#define VPA_ERR_DOORBELL	2	/* doorbell of a disabled/unbound wq */
#define VPA_ERR_RING		3	/* ring fetch refused by DMA checks */
#define VPA_ERR_COMPLETION	4	/* completion write refused */

/*
 * Work queue configuration: VPA_REG_WQ(n) + VPA_WQ_*, n < NR_WQS.
 * The ring base must be 64-byte aligned, the size a power of two in
 * [2, VPA_MAX_RING]. Base and size can change only while the queue is
 * disabled. Enabling resets head and tail to 0.
 */
#define VPA_REG_WQ(n)		(0x100 + (n) * 0x20)
#define VPA_WQ_RING_LO		0x00	/* RW ring IOVA, bits 31:0 */
#define VPA_WQ_RING_HI		0x04	/* RW ring IOVA, bits 63:32 */
#define VPA_WQ_SIZE		0x08	/* RW ring entries */
#define VPA_WQ_CTRL		0x0c	/* RW VPA_WQ_CTRL_* */
#define VPA_WQ_HEAD		0x10	/* RO next entry the engine reads */
#define VPA_WQ_TAIL		0x14	/* RO last tail rung */
#define VPA_WQ_VEC		0x18	/* RW MSI-X vector for completions */
#define VPA_WQ_DB		0x1c	/* RW doorbell page that rings it */

#define VPA_WQ_CTRL_ENABLE	(1U << 0)
#define VPA_WQ_CTRL_ALL		VPA_WQ_CTRL_ENABLE

/*
 * DMA windows: VPA_REG_WIN(n) + VPA_WIN_*, n < NR_WINS. A window grants
 * the engine access to [base, base + size) with the permissions in ATTR;
 * the host may further restrict them (the effective value reads back).
 * Base and size must be 4 KiB aligned.
 */
#define VPA_REG_WIN(n)		(0x400 + (n) * 0x20)
#define VPA_WIN_BASE_LO		0x00
#define VPA_WIN_BASE_HI		0x04
#define VPA_WIN_SIZE_LO		0x08
#define VPA_WIN_SIZE_HI		0x0c
#define VPA_WIN_ATTR		0x10	/* RW VPA_WIN_* */

#define VPA_WIN_READ		(1U << 0)	/* engine may read */
#define VPA_WIN_WRITE		(1U << 1)	/* engine may write */
#define VPA_WIN_ALL		(VPA_WIN_READ | VPA_WIN_WRITE)

/* MSI-X table and PBA inside BAR0 (QEMU emulates them for the guest). */
#define VPA_MSIX_TABLE		0x2000
#define VPA_MSIX_PBA		0x3000

/* BAR4 status page: __u32 words, updated by the engine. */
#define VPA_STAT_WQ_HEAD(n)	(0x000 + (n) * 4)	/* ring heads */
#define VPA_STAT_DONE_LO	0x100
#define VPA_STAT_DONE_HI	0x104
#define VPA_STAT_DMA_FAULTS	0x108

/* Descriptor operations. */
#define VPA_OP_NOP		0	/* no data movement */
#define VPA_OP_MEMMOVE		1	/* copy size bytes src -> dst */
#define VPA_OP_FILL		2	/* fill dst with the 64-bit pattern */
#define VPA_OP_COMPARE		3	/* compare src with dst */
#define VPA_OP_CRC32C		4	/* crc32c of src, seeded by crc_seed */
#define VPA_OP_MAX		VPA_OP_CRC32C

/* Descriptor flags. */
#define VPA_DESC_F_COMPL	(1U << 0)	/* write a completion record */
#define VPA_DESC_F_IRQ		(1U << 1)	/* interrupt when done */
#define VPA_DESC_F_ALL		(VPA_DESC_F_COMPL | VPA_DESC_F_IRQ)

/**
 * struct vpa_desc - one unit of work, 64 bytes
 * @opcode:	VPA_OP_*
 * @flags:	VPA_DESC_F_*
 * @rsvd0:	must be zero
 * @size:	bytes to process, 1..VPA_MAX_XFER (ignored by NOP)
 * @src:	source IOVA (MEMMOVE, COMPARE, CRC32C)
 * @dst:	destination IOVA (MEMMOVE, FILL), second source (COMPARE)
 * @completion:	completion record IOVA, 32-byte aligned (with F_COMPL)
 * @pattern:	FILL pattern, repeated little endian
 * @crc_seed:	CRC32C initial value
 * @rsvd1:	must be zero
 * @rsvd2:	must be zero
 */
struct vpa_desc {
	__u8	opcode;
	__u8	flags;
	__u16	rsvd0;
	__u32	size;
	__u64	src;
	__u64	dst;
	__u64	completion;
	__u64	pattern;
	__u32	crc_seed;
	__u32	rsvd1;
	__u64	rsvd2[2];
};

/* Completion status. */
#define VPA_CS_NONE		0x00	/* not written yet */
#define VPA_CS_SUCCESS		0x01
#define VPA_CS_BAD_OPCODE	0x10
#define VPA_CS_BAD_FLAGS	0x11
#define VPA_CS_BAD_RSVD		0x12	/* a reserved field is non-zero */
#define VPA_CS_BAD_SIZE		0x13
#define VPA_CS_DMA_READ		0x20	/* a read was refused: fault_addr */
#define VPA_CS_DMA_WRITE	0x21	/* a write was refused: fault_addr */

/**
 * struct vpa_completion - completion record, 32 bytes
 * @status:	VPA_CS_*
 * @rsvd0:	written as zero
 * @result:	COMPARE: 0 equal, 1 different; CRC32C: the crc
 * @bytes_done:	bytes processed; COMPARE: offset of the first difference
 * @rsvd1:	written as zero
 * @fault_addr:	IOVA of a refused access
 * @rsvd2:	written as zero
 */
struct vpa_completion {
	__u8	status;
	__u8	rsvd0[3];
	__u32	result;
	__u32	bytes_done;
	__u32	rsvd1;
	__u64	fault_addr;
	__u64	rsvd2;
};

#endif /* _UAPI_LINUX_VPA_H */
