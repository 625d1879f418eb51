/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vpa core: the resources of one adapter, resource groups and assignment
 * policies, ownership, protection attributes and requester-id checks.
 *
 * Pure C with no allocation and no locking, so that it also builds in user
 * space for unit tests. Every function expects the caller to serialise
 * access to a struct vpa_core (the kernel holds vpa_adapter::lock).
 */
#ifndef _VPA_CORE_H
#define _VPA_CORE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#endif

/* Resource types. Engine time is counted in slices of one percent. */
enum vpa_res {
	VPA_RES_WQ,		/* work queues */
	VPA_RES_VEC,		/* interrupt vectors */
	VPA_RES_WIN,		/* DMA windows */
	VPA_RES_DB,		/* doorbell pages */
	VPA_RES_ENG,		/* engine time, percent */
	VPA_RES_NR
};

#define VPA_CORE_MAX_ITEMS	128	/* of one type on one adapter */
#define VPA_CORE_MAX_GROUPS	32	/* virtual adapters per adapter */
#define VPA_ENG_SLICES		100

/* Assignment policies. */
enum vpa_policy {
	VPA_POLICY_ABSOLUTE,	/* exactly count[] of each type */
	VPA_POLICY_RELATIVE,	/* 1/den of each type of the adapter */
	VPA_POLICY_FCFS,	/* what is free, min[]..count[] of each */
	VPA_POLICY_NR
};

/**
 * struct vpa_req - what a resource group asks for
 * @policy:	enum vpa_policy
 * @den:	RELATIVE: the group gets total/den of every type
 * @count:	ABSOLUTE: exact counts; FCFS: maximum counts
 * @min:	FCFS: minimum counts (at least the adapter's group_min each)
 *
 * A type the adapter does not have (total 0) must be asked for as 0.
 */
struct vpa_req {
	u32 policy;
	u32 den;
	u32 count[VPA_RES_NR];
	u32 min[VPA_RES_NR];
};

/* Protection attributes of one resource. */
#define VPA_ATTR_READ		0x1	/* DMA read through a window */
#define VPA_ATTR_WRITE		0x2	/* DMA write through a window */
#define VPA_ATTR_SUBMIT		0x4	/* queue takes work, doorbell rings */
#define VPA_ATTR_ALL		0x7

/* Owner value of a free resource; groups are numbered from 0. */
#define VPA_NO_OWNER		0xff

struct vpa_item {
	u8 owner;		/* group index or VPA_NO_OWNER */
	u8 attr;		/* VPA_ATTR_* the owner may use */
	u8 local;		/* index within the owning group */
};

struct vpa_group {
	bool used;
	u16 rid;		/* requester id its requests carry; set at alloc */
	u32 count[VPA_RES_NR];
	u8 map[VPA_RES_NR][VPA_CORE_MAX_ITEMS];	/* local -> global */
};

struct vpa_core {
	u32 total[VPA_RES_NR];		/* 0: the adapter has no such type */
	u32 free[VPA_RES_NR];
	u32 group_max[VPA_RES_NR];	/* per-group limit of each type */
	u32 group_min[VPA_RES_NR];	/* what a group keeps at least */
	u16 rid_base;			/* requester id of the adapter */
	struct vpa_item item[VPA_RES_NR][VPA_CORE_MAX_ITEMS];
	struct vpa_group group[VPA_CORE_MAX_GROUPS];
};

int vpa_core_init(struct vpa_core *c, const u32 *total, const u32 *group_max,
		  u16 rid_base);
int vpa_core_set_min(struct vpa_core *c, enum vpa_res type, u32 min);
int vpa_core_req_check(const struct vpa_core *c, const struct vpa_req *r);
int vpa_core_alloc(struct vpa_core *c, const struct vpa_req *r);
int vpa_core_alloc_at(struct vpa_core *c, const struct vpa_req *r, int gid,
		      u16 rid);
int vpa_core_free(struct vpa_core *c, int gid);
unsigned int vpa_core_available(const struct vpa_core *c,
				const struct vpa_req *r);
u32 vpa_core_count(const struct vpa_core *c, int gid, enum vpa_res type);
int vpa_core_rid(const struct vpa_core *c, int gid);
int vpa_core_check(const struct vpa_core *c, int gid, enum vpa_res type,
		   u32 local, u8 access);
int vpa_core_check_rid(const struct vpa_core *c, u16 rid, enum vpa_res type,
		       u32 global, u8 access);
int vpa_core_set_attr(struct vpa_core *c, int gid, enum vpa_res type,
		      u32 local, u8 attr);
int vpa_core_shrink(struct vpa_core *c, int gid, enum vpa_res type, u32 n);
int vpa_core_grow(struct vpa_core *c, int gid, enum vpa_res type, u32 n);
int vpa_core_move(struct vpa_core *c, int from, int to, enum vpa_res type,
		  u32 n);
const char *vpa_res_name(enum vpa_res type);

#endif /* _VPA_CORE_H */
