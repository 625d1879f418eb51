/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare tracepoints (TRACE_SYSTEM kvmshare): faults refused, page-ins
 * and page-outs with their latency, eviction passes, the paging services'
 * attach, detach, failover and stop, and the policy's decision for each
 * partition. Documentation/admin-guide/tracing.rst describes every field.
 *
 * Rules for the events: arguments are the objects the caller already
 * has, every value is read in TP_fast_assign (nothing is computed for an
 * event that is off), no lock is taken, and no string a guest or a
 * paging service wrote is copied: the pool's name is the mount option
 * name= (at most KVMSHARE_NAME_LEN - 1 bytes), partitions are their
 * inode numbers.
 *
 * pool_main.c defines CREATE_TRACE_POINTS.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvmshare

#if !defined(_KVMSHARE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KVMSHARE_TRACE_H

#include <linux/jiffies.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>

#include "pool.h"
#include "pool_pager.h"
#include "pool_policy.h"

#ifndef _KVMSHARE_TRACE_DEFS
#define _KVMSHARE_TRACE_DEFS
/* kvmshare_pager_failover's reason */
#define KVMSHARE_TRACE_FO_ERROR		0	/* the service reported an error */
#define KVMSHARE_TRACE_FO_TIMEOUT	1	/* past pager_timeout_ms */
#define KVMSHARE_TRACE_FO_GONE		2	/* its fd was closed */
#define KVMSHARE_TRACE_FO_STALL		3	/* late, no one to take over */

/* kvmshare_pager_stop's step */
#define KVMSHARE_TRACE_STOP_STOPPING	0	/* finishes what it has */
#define KVMSHARE_TRACE_STOP_STOPPED	1	/* nothing left in flight */
#define KVMSHARE_TRACE_STOP_REFUSED	2	/* pages would be stranded */
#define KVMSHARE_TRACE_STOP_UNDONE	3	/* serves on: pages went out */

/*
 * Time since @io was created: exact when the event that reads it was on
 * at its creation (kvmshare_io_alloc()), else to a jiffy.
 */
static inline u64 kvmshare_trace_io_ns(const struct kvmshare_io *io)
{
	if (io->start_ns)
		return ktime_get_ns() - io->start_ns;
	return jiffies_to_nsecs(jiffies - io->start);
}
#endif

#define kvmshare_trace_errno(e)						\
	__print_symbolic(e, { 0, "ok" }, { -EIO, "EIO" },		\
			 { -EINTR, "EINTR" }, { -ENOSPC, "ENOSPC" },	\
			 { -ENOMEM, "ENOMEM" }, { -EHWPOISON, "EHWPOISON" }, \
			 { -ECANCELED, "ECANCELED" }, { -EBADMSG, "EBADMSG" })

/*
 * A fault, read or write got no page (the process gets SIGBUS, a vCPU
 * -EFAULT or a machine check, a read or write the errno). Recorded only
 * for @err not 0.
 */
TRACE_EVENT_CONDITION(kvmshare_refused,
		      TP_PROTO(struct kvmshare_part *part, pgoff_t index, int err,
			       bool fault),
		      TP_ARGS(part, index, err, fault),
		      TP_CONDITION(err),
		      TP_STRUCT__entry(__string(pool, part->pool->name)
				       __field(u64, part)
				       __field(u64, index)
				       __field(int, err)
				       __field(bool, fault)
		      ),
		      TP_fast_assign(__assign_str(pool, part->pool->name);
				     __entry->part = part->id;
				     __entry->index = index;
				     __entry->err = err;
				     __entry->fault = fault;
		      ),
		      TP_printk("pool=%s part=%llu index=%llu err=%d (%s) %s",
				__get_str(pool), __entry->part, __entry->index, __entry->err,
				kvmshare_trace_errno(__entry->err),
				__entry->fault ? "fault" : "read/write")
);

/* A page-in was queued for a paging service. */
TRACE_EVENT(kvmshare_pagein_start,
	    TP_PROTO(struct kvmshare_io *io),
	    TP_ARGS(io),
	    TP_STRUCT__entry(__string(pool, io->part->pool->name)
			     __field(u64, part)
			     __field(u64, index)
			     __field(u64, block)
			     __field(bool, ahead)
	    ),
	    TP_fast_assign(__assign_str(pool, io->part->pool->name);
			   __entry->part = io->part->id;
			   __entry->index = io->index;
			   __entry->block = io->block;
			   __entry->ahead = io->ahead;
	    ),
	    TP_printk("pool=%s part=%llu index=%llu block=%llu ahead=%d",
		      __get_str(pool), __entry->part, __entry->index,
		      __entry->block, __entry->ahead)
);

/*
 * A page-in ended: result 0 (the page is back), an error (the page is
 * lost), or -ECANCELED (its page went meanwhile: @applied false). async:
 * a fault went on without waiting (KVM's asynchronous page fault).
 */
TRACE_EVENT(kvmshare_pagein_end,
	    TP_PROTO(struct kvmshare_io *io, int result, bool applied),
	    TP_ARGS(io, result, applied),
	    TP_STRUCT__entry(__string(pool, io->part->pool->name)
			     __field(u64, part)
			     __field(u64, index)
			     __field(u64, latency_ns)
			     __field(int, result)
			     __field(bool, ahead)
			     __field(bool, async)
	    ),
	    TP_fast_assign(__assign_str(pool, io->part->pool->name);
			   __entry->part = io->part->id;
			   __entry->index = io->index;
			   __entry->latency_ns = kvmshare_trace_io_ns(io);
			   __entry->result = applied ? result : -ECANCELED;
			   __entry->ahead = io->ahead;
			   __entry->async = test_bit(0, &io->async);
	    ),
	    TP_printk("pool=%s part=%llu index=%llu result=%d (%s) ahead=%d async=%d latency_ns=%llu",
		      __get_str(pool), __entry->part, __entry->index,
		      __entry->result, kvmshare_trace_errno(__entry->result),
		      __entry->ahead, __entry->async, __entry->latency_ns)
);

/* Eviction queued a page-out of a resident page. */
TRACE_EVENT(kvmshare_pageout_start,
	    TP_PROTO(struct kvmshare_io *io),
	    TP_ARGS(io),
	    TP_STRUCT__entry(__string(pool, io->part->pool->name)
			     __field(u64, part)
			     __field(u64, index)
			     __field(u64, block)
	    ),
	    TP_fast_assign(__assign_str(pool, io->part->pool->name);
			   __entry->part = io->part->id;
			   __entry->index = io->index;
			   __entry->block = io->block;
	    ),
	    TP_printk("pool=%s part=%llu index=%llu block=%llu",
		      __get_str(pool), __entry->part, __entry->index,
		      __entry->block)
);

/*
 * A page-out ended. dropped: the page left memory; otherwise it stayed
 * (touched, pinned or written meanwhile, the service failed, or no
 * service is left to page it back).
 */
TRACE_EVENT(kvmshare_pageout_end,
	    TP_PROTO(struct kvmshare_io *io, int result, bool dropped),
	    TP_ARGS(io, result, dropped),
	    TP_STRUCT__entry(__string(pool, io->part->pool->name)
			     __field(u64, part)
			     __field(u64, index)
			     __field(u64, latency_ns)
			     __field(int, result)
			     __field(bool, dropped)
	    ),
	    TP_fast_assign(__assign_str(pool, io->part->pool->name);
			   __entry->part = io->part->id;
			   __entry->index = io->index;
			   __entry->latency_ns = kvmshare_trace_io_ns(io);
			   __entry->result = result;
			   __entry->dropped = dropped;
	    ),
	    TP_printk("pool=%s part=%llu index=%llu result=%d (%s) dropped=%d latency_ns=%llu",
		      __get_str(pool), __entry->part, __entry->index,
		      __entry->result, kvmshare_trace_errno(__entry->result),
		      __entry->dropped, __entry->latency_ns)
);

/*
 * One visit of the eviction work to a partition: it wanted @wanted pages
 * gone and @done left or had their page-out queued; sampled is the
 * access sample it took (want 0: a sampling visit only).
 */
TRACE_EVENT(kvmshare_evict_pass,
	    TP_PROTO(struct kvmshare_part *part, u64 wanted, u64 done,
		     u64 short_by),
	    TP_ARGS(part, wanted, done, short_by),
	    TP_STRUCT__entry(__string(pool, part->pool->name)
			     __field(u64, part)
			     __field(u64, wanted)
			     __field(u64, done)
			     __field(u64, short_by)
			     __field(u64, sampled)
	    ),
	    TP_fast_assign(__assign_str(pool, part->pool->name);
			   __entry->part = part->id;
			   __entry->wanted = wanted;
			   __entry->done = done;
			   __entry->short_by = short_by;
			   __entry->sampled = part->sampled;
	    ),
	    TP_printk("pool=%s part=%llu wanted=%llu done=%llu pool_short_by=%llu sampled=%llu",
		      __get_str(pool), __entry->part, __entry->wanted,
		      __entry->done, __entry->short_by, __entry->sampled)
);

/* A paging service attached to the pool. */
TRACE_EVENT(kvmshare_pager_attach,
	    TP_PROTO(struct kvmshare_pager *p, bool active),
	    TP_ARGS(p, active),
	    TP_STRUCT__entry(__string(pool, p->pool->name)
			     __field(u64, pager)
			     __field(u32, entries)
			     __field(u32, slots)
			     __field(bool, standby)
			     __field(bool, active)
	    ),
	    TP_fast_assign(__assign_str(pool, p->pool->name);
			   __entry->pager = p->id;
			   __entry->entries = p->sq_entries;
			   __entry->slots = p->nr_slots;
			   __entry->standby = p->standby;
			   __entry->active = active;
	    ),
	    TP_printk("pool=%s pager=%llu role=%s %s entries=%u slots=%u",
		      __get_str(pool), __entry->pager,
		      __entry->standby ? "standby" : "primary",
		      __entry->active ? "active" : "waiting",
		      __entry->entries, __entry->slots)
);

/*
 * A paging service's fd was released: @reissued requests it had went
 * back to the queue for the next service.
 */
TRACE_EVENT(kvmshare_pager_detach,
	    TP_PROTO(struct kvmshare_pager *p, u32 reissued),
	    TP_ARGS(p, reissued),
	    TP_STRUCT__entry(__string(pool, p->pool->name)
			     __field(u64, pager)
			     __field(u32, reissued)
	    ),
	    TP_fast_assign(__assign_str(pool, p->pool->name);
			   __entry->pager = p->id;
			   __entry->reissued = reissued;
	    ),
	    TP_printk("pool=%s pager=%llu reissued=%u",
		      __get_str(pool), __entry->pager, __entry->reissued)
);

/*
 * Service @from no longer serves the pool's requests: @to (0: none)
 * does, @reissued requests were posted to it again. Reason stall: @from
 * is late and no other service is attached (page-ins fail after the
 * timeout until it answers).
 */
TRACE_EVENT(kvmshare_pager_failover,
	    TP_PROTO(struct kvmshare_pool *pool, u64 from, u64 to, int reason,
		     u32 reissued),
	    TP_ARGS(pool, from, to, reason, reissued),
	    TP_STRUCT__entry(__string(pool, pool->name)
			     __field(u64, from)
			     __field(u64, to)
			     __field(int, reason)
			     __field(u32, reissued)
	    ),
	    TP_fast_assign(__assign_str(pool, pool->name);
			   __entry->from = from;
			   __entry->to = to;
			   __entry->reason = reason;
			   __entry->reissued = reissued;
	    ),
	    TP_printk("pool=%s from=%llu to=%llu reason=%s reissued=%u",
		      __get_str(pool), __entry->from, __entry->to,
		      __print_symbolic(__entry->reason,
				       { KVMSHARE_TRACE_FO_ERROR, "error" },
				       { KVMSHARE_TRACE_FO_TIMEOUT, "timeout" },
				       { KVMSHARE_TRACE_FO_GONE, "gone" },
				       { KVMSHARE_TRACE_FO_STALL, "stall" }),
		      __entry->reissued)
);

/*
 * A controlled stop of a paging service, each step: @inflight requests
 * it still had, @out pages on the backing store (refused, undone).
 */
TRACE_EVENT(kvmshare_pager_stop,
	    TP_PROTO(struct kvmshare_pager *p, int step, u32 inflight, u64 out),
	    TP_ARGS(p, step, inflight, out),
	    TP_STRUCT__entry(__string(pool, p->pool->name)
			     __field(u64, pager)
			     __field(u64, out)
			     __field(u32, inflight)
			     __field(int, step)
	    ),
	    TP_fast_assign(__assign_str(pool, p->pool->name);
			   __entry->pager = p->id;
			   __entry->out = out;
			   __entry->inflight = inflight;
			   __entry->step = step;
	    ),
	    TP_printk("pool=%s pager=%llu step=%s inflight=%u paged_out=%llu",
		      __get_str(pool), __entry->pager,
		      __print_symbolic(__entry->step,
				       { KVMSHARE_TRACE_STOP_STOPPING, "stopping" },
				       { KVMSHARE_TRACE_STOP_STOPPED, "stopped" },
				       { KVMSHARE_TRACE_STOP_REFUSED, "refused" },
				       { KVMSHARE_TRACE_STOP_UNDONE, "undone" }),
		      __entry->inflight, __entry->out)
);

/*
 * The policy's step for one partition: its target before and now, the
 * target eviction enforces before and now (lower targets wait for the
 * grace period), the guest's stress and why (the engine's state bits).
 */
TRACE_EVENT(kvmshare_policy,
	    TP_PROTO(struct kvmshare_part *part, u64 old_target, u64 target,
		     u64 enforced),
	    TP_ARGS(part, old_target, target, enforced),
	    TP_STRUCT__entry(__string(pool, part->pool->name)
			     __field(u64, part)
			     __field(u64, old_target)
			     __field(u64, target)
			     __field(u64, old_enforced)
			     __field(u64, enforced)
			     __field(u32, stress_ppm)
			     __field(u32, state)
	    ),
	    TP_fast_assign(__assign_str(pool, part->pool->name);
			   __entry->part = part->id;
			   __entry->old_target = old_target;
			   __entry->target = target;
			   __entry->old_enforced = part->policy.enforced;
			   __entry->enforced = enforced;
			   __entry->stress_ppm = part->policy.stress_ppm;
			   __entry->state = part->policy.state;
	    ),
	    TP_printk("pool=%s part=%llu target=%llu->%llu enforced=%llu->%llu stress_ppm=%u state=%s",
		      __get_str(pool), __entry->part, __entry->old_target,
		      __entry->target, __entry->old_enforced, __entry->enforced,
		      __entry->stress_ppm,
		      __print_flags(__entry->state, "|",
				    { KVMSHARE_POLICY_S_STRESSED, "stressed" },
				    { KVMSHARE_POLICY_S_WAITING, "waiting" },
				    { KVMSHARE_POLICY_S_HOLDOFF, "holdoff" },
				    { KVMSHARE_POLICY_S_CUT, "cut" },
				    { KVMSHARE_POLICY_S_SETTLING, "settling" },
				    { KVMSHARE_POLICY_S_GROWING, "growing" }))
);

#endif /* _KVMSHARE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE kvmshare_trace
#include <trace/define_trace.h>
