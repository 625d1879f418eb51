/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vpa tracepoints (TRACE_SYSTEM vpa): descriptors run or rejected,
 * doorbells refused for their requester id, resizes and reassignments
 * (revokes) of virtual adapters, and each step of an adapter's error
 * recovery, per virtual adapter. Documentation/admin-guide/tracing.rst
 * describes every field.
 *
 * A virtual adapter is named by its adapter's number (vpa<N>) and its
 * mdev UUID. Descriptor fields are the guest's, recorded as numbers:
 * nothing a guest wrote is printed as a string. Every value is read in
 * TP_fast_assign and no lock is taken.
 *
 * vpa_main.c defines CREATE_TRACE_POINTS.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vpa

#if !defined(_VPA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VPA_TRACE_H

#include <linux/tracepoint.h>
#include <linux/uuid.h>

#include "vpa.h"

#ifndef _VPA_TRACE_DEFS
#define _VPA_TRACE_DEFS
/* vpa_aer_vdev's step */
#define VPA_TRACE_AER_NOTIFY	0	/* asked to quiesce (error) */
#define VPA_TRACE_AER_IDLE	1	/* not open: nothing to ask */
#define VPA_TRACE_AER_ACK	2	/* acknowledged in time */
#define VPA_TRACE_AER_FAIL	3	/* no ack: failed until reset */
#define VPA_TRACE_AER_RESUME	4	/* state restored, resumed */

/* vpa_aer's step */
#define VPA_TRACE_AER_DETECTED	0	/* guests told, acks collected */
#define VPA_TRACE_AER_RESET	1	/* the adapter was reset */
#define VPA_TRACE_AER_DONE	2	/* recovery over */
#define VPA_TRACE_AER_ABANDONED	3	/* the PCI core never finished it */

/* The mdev UUID of @v, all zeros for none. */
static inline void vpa_trace_uuid(u8 *dst, const struct vpa_vdev *v)
{
	if (v)
		memcpy(dst, v->mdev->uuid.b, UUID_SIZE);
	else
		memset(dst, 0, UUID_SIZE);
}
#endif

TRACE_DEFINE_ENUM(VPA_RES_WQ);
TRACE_DEFINE_ENUM(VPA_RES_VEC);
TRACE_DEFINE_ENUM(VPA_RES_WIN);
TRACE_DEFINE_ENUM(VPA_RES_DB);
TRACE_DEFINE_ENUM(VPA_RES_ENG);
TRACE_DEFINE_ENUM(VPA_OUT_NONE);
TRACE_DEFINE_ENUM(VPA_OUT_PENDING);
TRACE_DEFINE_ENUM(VPA_OUT_ACKED);
TRACE_DEFINE_ENUM(VPA_OUT_FORCED);
TRACE_DEFINE_ENUM(VPA_OUT_FAILED);
TRACE_DEFINE_ENUM(VPA_OUT_IDLE);

#define vpa_trace_res(t)						\
	__print_symbolic(t, { VPA_RES_WQ, "wq" }, { VPA_RES_VEC, "vec" }, \
			 { VPA_RES_WIN, "win" }, { VPA_RES_DB, "db" },	\
			 { VPA_RES_ENG, "eng" })

#define vpa_trace_outcome(o)						\
	__print_symbolic(o, { VPA_OUT_NONE, "none" },			\
			 { VPA_OUT_PENDING, "pending" },		\
			 { VPA_OUT_ACKED, "acked" },			\
			 { VPA_OUT_FORCED, "forced" },			\
			 { VPA_OUT_FAILED, "failed" },			\
			 { VPA_OUT_IDLE, "idle" })

/*
 * One descriptor of work queue @wq ran (vpa_desc_done: status success)
 * or was refused (vpa_desc_rejected: malformed, or a DMA access outside
 * the windows or the VM's mappings). err: the host's errno for it. The
 * caller records both; each keeps only its own.
 */
DECLARE_EVENT_CLASS(vpa_desc,
		    TP_PROTO(struct vpa_vdev *v, struct vpa_wq *wq,
			     const struct vpa_desc *d,
			     const struct vpa_completion *cr, int err),
		    TP_ARGS(v, wq, d, cr, err),
		    TP_STRUCT__entry(__field(int, adapter)
				     __array(u8, uuid, UUID_SIZE)
				     __field(u32, wq)
				     __field(u32, head)
				     __field(u32, size)
				     __field(u64, fault_addr)
				     __field(u8, opcode)
				     __field(u8, status)
				     __field(int, err)
		    ),
		    TP_fast_assign(__entry->adapter = v->ad->id;
				   vpa_trace_uuid(__entry->uuid, v);
				   __entry->wq = wq->local;
				   __entry->head = wq->head;
				   __entry->size = d->size;
				   __entry->fault_addr = cr->fault_addr;
				   __entry->opcode = d->opcode;
				   __entry->status = cr->status;
				   __entry->err = err;
		    ),
		    TP_printk("vpa%d %pUl wq=%u head=%u op=%s size=%u status=%#x err=%d fault_addr=%#llx",
			      __entry->adapter, __entry->uuid, __entry->wq,
			      __entry->head,
			      __print_symbolic(__entry->opcode,
					       { VPA_OP_NOP, "nop" },
					       { VPA_OP_MEMMOVE, "memmove" },
					       { VPA_OP_FILL, "fill" },
					       { VPA_OP_COMPARE, "compare" },
					       { VPA_OP_CRC32C, "crc32c" }),
			      __entry->size, __entry->status, __entry->err,
			      __entry->fault_addr)
);

DEFINE_EVENT_CONDITION(vpa_desc, vpa_desc_done,
		       TP_PROTO(struct vpa_vdev *v, struct vpa_wq *wq,
				const struct vpa_desc *d,
				const struct vpa_completion *cr, int err),
		       TP_ARGS(v, wq, d, cr, err),
		       TP_CONDITION(cr->status == VPA_CS_SUCCESS)
);

DEFINE_EVENT_CONDITION(vpa_desc, vpa_desc_rejected,
		       TP_PROTO(struct vpa_vdev *v, struct vpa_wq *wq,
				const struct vpa_desc *d,
				const struct vpa_completion *cr, int err),
		       TP_ARGS(v, wq, d, cr, err),
		       TP_CONDITION(cr->status != VPA_CS_SUCCESS)
);

/* A doorbell request refused: its requester id does not own the queue. */
TRACE_EVENT(vpa_doorbell_refused,
	    TP_PROTO(struct vpa_adapter *ad, u16 rid, u32 global, int err),
	    TP_ARGS(ad, rid, global, err),
	    TP_STRUCT__entry(__field(int, adapter)
			     __field(u32, global)
			     __field(int, err)
			     __field(u16, rid)
	    ),
	    TP_fast_assign(__entry->adapter = ad->id;
			   __entry->global = global;
			   __entry->err = err;
			   __entry->rid = rid;
	    ),
	    TP_printk("vpa%d rid=%#x wq=%u err=%d", __entry->adapter,
		      __entry->rid, __entry->global, __entry->err)
);

/*
 * A resize of virtual adapter @v (@to NULL) or a reassignment of @count
 * resources from @v to @to ended with @ret. now: what @v owns of @type
 * afterwards; outcome: of the quiesce request a revoke made (none when
 * none was needed).
 */
TRACE_EVENT(vpa_change,
	    TP_PROTO(struct vpa_vdev *v, struct vpa_vdev *to, int type,
		     u32 count, bool asked, int ret),
	    TP_ARGS(v, to, type, count, asked, ret),
	    TP_STRUCT__entry(__field(int, adapter)
			     __array(u8, uuid, UUID_SIZE)
			     __array(u8, to_uuid, UUID_SIZE)
			     __field(int, type)
			     __field(u32, count)
			     __field(u32, now)
			     __field(int, outcome)
			     __field(int, ret)
			     __field(bool, reassign)
	    ),
	    TP_fast_assign(__entry->adapter = v->ad->id;
			   vpa_trace_uuid(__entry->uuid, v);
			   vpa_trace_uuid(__entry->to_uuid, to);
			   __entry->type = type;
			   __entry->count = count;
			   __entry->now = READ_ONCE(v->nr[type]);
			   __entry->outcome = asked ? v->rec.last_outcome :
					      VPA_OUT_NONE;
			   __entry->ret = ret;
			   __entry->reassign = !!to;
	    ),
	    TP_printk("vpa%d %pUl %s %s %u to=%pUl now=%u quiesce=%s ret=%d",
		      __entry->adapter, __entry->uuid,
		      __entry->reassign ? "reassign" : "resize",
		      vpa_trace_res(__entry->type), __entry->count,
		      __entry->to_uuid, __entry->now,
		      vpa_trace_outcome(__entry->outcome), __entry->ret)
);

/*
 * Error recovery of adapter @ad, one event per step: detected (every
 * open virtual adapter asked, acks collected: acked, failed), reset
 * (ret of the function reset, frozen: the PCI core reset the link) and
 * done.
 */
TRACE_EVENT(vpa_aer,
	    TP_PROTO(struct vpa_adapter *ad, int step, int ret),
	    TP_ARGS(ad, step, ret),
	    TP_STRUCT__entry(__field(int, adapter)
			     __field(int, step)
			     __field(int, ret)
			     __field(u64, errors)
			     __field(u32, acked)
			     __field(u32, failed)
			     __field(bool, frozen)
	    ),
	    TP_fast_assign(__entry->adapter = ad->id;
			   __entry->step = step;
			   __entry->ret = ret;
			   __entry->errors = ad->errors;
			   __entry->acked = ad->last_acked;
			   __entry->failed = ad->last_failed;
			   __entry->frozen = ad->aer_frozen;
	    ),
	    TP_printk("vpa%d error=%llu step=%s acked=%u failed=%u frozen=%d ret=%d",
		      __entry->adapter, __entry->errors,
		      __print_symbolic(__entry->step,
				       { VPA_TRACE_AER_DETECTED, "detected" },
				       { VPA_TRACE_AER_RESET, "reset" },
				       { VPA_TRACE_AER_DONE, "done" },
				       { VPA_TRACE_AER_ABANDONED, "abandoned" }),
		      __entry->acked, __entry->failed, __entry->frozen,
		      __entry->ret)
);

/*
 * Error recovery, per virtual adapter: notified (or idle: not open),
 * acknowledged (ack_us after it was asked) or failed, and resumed.
 */
TRACE_EVENT(vpa_aer_vdev,
	    TP_PROTO(struct vpa_vdev *v, int step),
	    TP_ARGS(v, step),
	    TP_STRUCT__entry(__field(int, adapter)
			     __array(u8, uuid, UUID_SIZE)
			     __field(int, step)
			     __field(s64, ack_us)
	    ),
	    TP_fast_assign(__entry->adapter = v->ad->id;
			   vpa_trace_uuid(__entry->uuid, v);
			   __entry->step = step;
			   __entry->ack_us = v->rec.last_ack_us;
	    ),
	    TP_printk("vpa%d %pUl step=%s ack_us=%lld",
		      __entry->adapter, __entry->uuid,
		      __print_symbolic(__entry->step,
				       { VPA_TRACE_AER_NOTIFY, "notify" },
				       { VPA_TRACE_AER_IDLE, "idle" },
				       { VPA_TRACE_AER_ACK, "ack" },
				       { VPA_TRACE_AER_FAIL, "fail" },
				       { VPA_TRACE_AER_RESUME, "resume" }),
		      __entry->ack_us)
);

#endif /* _VPA_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vpa_trace
#include <trace/define_trace.h>
