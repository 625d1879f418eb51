// SPDX-License-Identifier: GPL-2.0
/*
 * vpa core: resource groups of one adapter.
 *
 * An adapter has total[t] resources of each type t, numbered globally
 * 0..total[t]-1. A resource group (one virtual adapter) owns some of them
 * exclusively and names them by local index 0..count[t]-1; map[t][local]
 * gives the global index and item[t][global] the owner and the protection
 * attributes. free[t] is total[t] minus what groups own. An adapter may
 * lack a type (total 0: an SR-IOV function has queues and vectors only);
 * groups then own none of it. A group owns at least group_min[t] of every
 * type the adapter has (1 unless the back end needs more).
 *
 * Allocation is all or nothing: a request either gets everything the
 * policy computes or nothing changes. Resources are taken lowest global
 * index first, so results are deterministic.
 *
 * No locking here: see vpa_core.h.
 */
#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/string.h>
#endif

#include "vpa_core.h"

static const char * const vpa_res_names[VPA_RES_NR] = {
	[VPA_RES_WQ] = "wq",
	[VPA_RES_VEC] = "vec",
	[VPA_RES_WIN] = "win",
	[VPA_RES_DB] = "db",
	[VPA_RES_ENG] = "eng",
};

const char *vpa_res_name(enum vpa_res type)
{
	if ((unsigned int)type >= VPA_RES_NR)
		return "?";
	return vpa_res_names[type];
}

/**
 * vpa_core_init - set up an adapter with no group
 * @c:		the core state
 * @total:	resources of each type (engine: VPA_ENG_SLICES at most; 0:
 *		the adapter has none of that type)
 * @group_max:	most resources of each type one group may own (ignored
 *		for a type with total 0)
 * @rid_base:	requester id of the adapter; a group vpa_core_alloc()
 *		makes at index g carries rid_base + 1 + g
 *
 * Every group must then own at least one of each type the adapter has
 * (see vpa_core_set_min()).
 *
 * Return: 0, or -EINVAL for a total beyond VPA_CORE_MAX_ITEMS, a type
 * present with a group_max of 0, no type at all, or a requester id range
 * that would wrap.
 */
int vpa_core_init(struct vpa_core *c, const u32 *total, const u32 *group_max,
		  u16 rid_base)
{
	bool any = false;
	int t;
	u32 i;

	if ((u32)rid_base + VPA_CORE_MAX_GROUPS > 0xffff)
		return -EINVAL;
	for (t = 0; t < VPA_RES_NR; t++) {
		if (total[t] > VPA_CORE_MAX_ITEMS ||
		    (total[t] && !group_max[t]))
			return -EINVAL;
		if (t == VPA_RES_ENG && total[t] > VPA_ENG_SLICES)
			return -EINVAL;
		any |= total[t] != 0;
	}
	if (!any)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->rid_base = rid_base;
	for (t = 0; t < VPA_RES_NR; t++) {
		c->total[t] = total[t];
		c->free[t] = total[t];
		c->group_max[t] = total[t] ? group_max[t] : 0;
		c->group_min[t] = total[t] ? 1 : 0;
		for (i = 0; i < VPA_CORE_MAX_ITEMS; i++)
			c->item[t][i].owner = VPA_NO_OWNER;
	}
	return 0;
}

/**
 * vpa_core_set_min - the least a group may own of one type
 * @c:		the core state, with no group yet
 * @type:	a type the adapter has
 * @min:	1..group_max[@type] (an NVMe secondary controller needs two
 *		queues: its admin queue and one I/O queue)
 *
 * Requests, shrinks and moves that would leave a group with less fail.
 *
 * Return: 0, -EBUSY once a group exists, or -EINVAL.
 */
int vpa_core_set_min(struct vpa_core *c, enum vpa_res type, u32 min)
{
	int g;

	if ((unsigned int)type >= VPA_RES_NR || !c->total[type] || !min ||
	    min > c->group_max[type] || min > c->total[type])
		return -EINVAL;
	for (g = 0; g < VPA_CORE_MAX_GROUPS; g++)
		if (c->group[g].used)
			return -EBUSY;
	c->group_min[type] = min;
	return 0;
}

/**
 * vpa_core_req_check - is a request well formed for this adapter?
 * @c:	the core state
 * @r:	the request
 *
 * A request is well formed if it could be met by the adapter with no
 * group: every type the adapter has at least group_min, none above the
 * per-group limit or the adapter's total; none of a type it lacks.
 *
 * Return: 0 or -EINVAL.
 */
int vpa_core_req_check(const struct vpa_core *c, const struct vpa_req *r)
{
	u32 n;
	int t;

	for (t = 0; t < VPA_RES_NR; t++) {
		switch (r->policy) {
		case VPA_POLICY_ABSOLUTE:
			n = r->count[t];
			break;
		case VPA_POLICY_RELATIVE:
			if (!r->den)
				return -EINVAL;
			n = c->total[t] / r->den;
			break;
		case VPA_POLICY_FCFS:
			if (r->min[t] > r->count[t])
				return -EINVAL;
			n = r->min[t];
			if (r->count[t] > c->group_max[t])
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		if (!c->total[t]) {
			if (r->policy != VPA_POLICY_RELATIVE && r->count[t])
				return -EINVAL;
			continue;
		}
		if (n < c->group_min[t] || n > c->group_max[t] ||
		    n > c->total[t])
			return -EINVAL;
	}
	return 0;
}

/* What request @r would get from the free counts @free: 0 or -ENOSPC. */
static int vpa_core_plan(const struct vpa_core *c, const u32 *free,
			 const struct vpa_req *r, u32 *cnt)
{
	int t;

	for (t = 0; t < VPA_RES_NR; t++) {
		switch (r->policy) {
		case VPA_POLICY_ABSOLUTE:
			cnt[t] = r->count[t];
			break;
		case VPA_POLICY_RELATIVE:
			cnt[t] = c->total[t] / r->den;
			break;
		default:	/* FCFS */
			cnt[t] = free[t] < r->count[t] ? free[t] : r->count[t];
			if (cnt[t] < r->min[t])
				return -ENOSPC;
			break;
		}
		if (cnt[t] > free[t])
			return -ENOSPC;
	}
	return 0;
}

static int vpa_core_free_group(const struct vpa_core *c)
{
	int g;

	for (g = 0; g < VPA_CORE_MAX_GROUPS; g++)
		if (!c->group[g].used)
			return g;
	return -ENOSPC;
}

/* Give the lowest free item of @type to group @g as its next local. */
static void vpa_core_take(struct vpa_core *c, int g, int type)
{
	struct vpa_group *grp = &c->group[g];
	u32 i;

	for (i = 0; i < c->total[type]; i++) {
		struct vpa_item *it = &c->item[type][i];

		if (it->owner != VPA_NO_OWNER)
			continue;
		it->owner = g;
		it->attr = VPA_ATTR_ALL;
		it->local = grp->count[type];
		grp->map[type][grp->count[type]++] = i;
		c->free[type]--;
		return;
	}
}

/* Return the last local item of @type of group @g to the free pool. */
static void vpa_core_put_last(struct vpa_core *c, int g, int type)
{
	struct vpa_group *grp = &c->group[g];
	struct vpa_item *it;

	it = &c->item[type][grp->map[type][--grp->count[type]]];
	it->owner = VPA_NO_OWNER;
	it->attr = 0;
	it->local = 0;
	c->free[type]++;
}

/* Is requester id @rid the adapter's or a group's? */
static bool vpa_core_rid_taken(const struct vpa_core *c, u16 rid)
{
	int g;

	if (rid == c->rid_base)
		return true;
	for (g = 0; g < VPA_CORE_MAX_GROUPS; g++)
		if (c->group[g].used && c->group[g].rid == rid)
			return true;
	return false;
}

/*
 * Create unused group @gid carrying requester id @rid for checked request
 * @r: its index, -EEXIST if @rid is taken, or -ENOSPC.
 */
static int vpa_core_alloc_group(struct vpa_core *c, const struct vpa_req *r,
				int gid, u16 rid)
{
	u32 cnt[VPA_RES_NR], i;
	int t, ret;

	if (vpa_core_rid_taken(c, rid))
		return -EEXIST;
	ret = vpa_core_plan(c, c->free, r, cnt);
	if (ret)
		return ret;

	memset(&c->group[gid], 0, sizeof(c->group[gid]));
	c->group[gid].used = true;
	c->group[gid].rid = rid;
	for (t = 0; t < VPA_RES_NR; t++)
		for (i = 0; i < cnt[t]; i++)
			vpa_core_take(c, gid, t);
	return gid;
}

/**
 * vpa_core_alloc_at - create resource group @gid with its own requester id
 * @c:		the core state
 * @r:		what it asks for
 * @gid:	its index (a virtual function's number, say)
 * @rid:	the requester id its requests carry (that function's routing
 *		id); fixed for the group's life, so a back end may copy it
 *
 * Return: @gid, -EINVAL for a malformed request or an index out of
 * range, -EBUSY if that group exists, -EEXIST if the adapter or another
 * group carries @rid, or -ENOSPC if the adapter cannot meet the request
 * now (nothing is changed on failure).
 */
int vpa_core_alloc_at(struct vpa_core *c, const struct vpa_req *r, int gid,
		      u16 rid)
{
	int ret;

	ret = vpa_core_req_check(c, r);
	if (ret)
		return ret;
	if (gid < 0 || gid >= VPA_CORE_MAX_GROUPS)
		return -EINVAL;
	if (c->group[gid].used)
		return -EBUSY;
	return vpa_core_alloc_group(c, r, gid, rid);
}

/**
 * vpa_core_alloc - create a resource group at the lowest free index
 * @c:	the core state
 * @r:	what it asks for
 *
 * The group at index g carries requester id rid_base + 1 + g.
 *
 * Return: the group index (>= 0), -EINVAL for a malformed request,
 * -EEXIST if a group vpa_core_alloc_at() made carries that id, or -ENOSPC
 * if the adapter cannot meet the request now (nothing is changed then).
 */
int vpa_core_alloc(struct vpa_core *c, const struct vpa_req *r)
{
	int g, ret;

	ret = vpa_core_req_check(c, r);
	if (ret)
		return ret;
	g = vpa_core_free_group(c);
	if (g < 0)
		return g;
	return vpa_core_alloc_group(c, r, g, c->rid_base + 1 + g);
}

static bool vpa_core_gid_ok(const struct vpa_core *c, int gid)
{
	return gid >= 0 && gid < VPA_CORE_MAX_GROUPS && c->group[gid].used;
}

/**
 * vpa_core_free - destroy a group, returning all it owns
 * @c:		the core state
 * @gid:	the group
 *
 * Return: 0, or -ENOENT if there is no such group (e.g. freed already).
 */
int vpa_core_free(struct vpa_core *c, int gid)
{
	int t;

	if (!vpa_core_gid_ok(c, gid))
		return -ENOENT;
	for (t = 0; t < VPA_RES_NR; t++)
		while (c->group[gid].count[t])
			vpa_core_put_last(c, gid, t);
	c->group[gid].used = false;
	return 0;
}

/**
 * vpa_core_available - how many more groups of request @r fit now
 * @c:	the core state
 * @r:	the request
 *
 * Exact: creating that many groups one after the other succeeds and one
 * more fails, as long as nothing else changes in between. FCFS groups take
 * what is free, so their count is found by playing the allocations out.
 */
unsigned int vpa_core_available(const struct vpa_core *c,
				const struct vpa_req *r)
{
	u32 free[VPA_RES_NR], cnt[VPA_RES_NR];
	unsigned int n = 0, slots = 0;
	int g, t;

	if (vpa_core_req_check(c, r))
		return 0;
	for (g = 0; g < VPA_CORE_MAX_GROUPS; g++)
		slots += !c->group[g].used;
	memcpy(free, c->free, sizeof(free));
	/* every group takes at least one of each type: this ends */
	while (n < slots && !vpa_core_plan(c, free, r, cnt)) {
		for (t = 0; t < VPA_RES_NR; t++)
			free[t] -= cnt[t];
		n++;
	}
	return n;
}

/* Resources of @type group @gid owns, 0 for no such group. */
u32 vpa_core_count(const struct vpa_core *c, int gid, enum vpa_res type)
{
	if (!vpa_core_gid_ok(c, gid) || (unsigned int)type >= VPA_RES_NR)
		return 0;
	return c->group[gid].count[type];
}

/* Requester id of group @gid, or -ENOENT. */
int vpa_core_rid(const struct vpa_core *c, int gid)
{
	if (!vpa_core_gid_ok(c, gid))
		return -ENOENT;
	return c->group[gid].rid;
}

/**
 * vpa_core_check - may group @gid use its local resource @local for @access?
 * @c:		the core state
 * @gid:	the group
 * @type:	resource type
 * @local:	index within the group
 * @access:	VPA_ATTR_* needed (0: only ownership)
 *
 * Return: the global index, -ENOENT for no such group, -ERANGE for an
 * index the group does not own, -EACCES if its attributes deny @access.
 */
int vpa_core_check(const struct vpa_core *c, int gid, enum vpa_res type,
		   u32 local, u8 access)
{
	const struct vpa_item *it;
	u32 global;

	if (!vpa_core_gid_ok(c, gid) || (unsigned int)type >= VPA_RES_NR)
		return -ENOENT;
	if (local >= c->group[gid].count[type])
		return -ERANGE;
	global = c->group[gid].map[type][local];
	it = &c->item[type][global];
	if ((it->attr & access) != access)
		return -EACCES;
	return global;
}

/**
 * vpa_core_check_rid - the back end's check of one request
 * @c:		the core state
 * @rid:	requester id the request carries
 * @type:	resource type it names
 * @global:	global index it names
 * @access:	VPA_ATTR_* it needs
 *
 * Return: 0 if the resource is owned by the group with requester id @rid
 * and its attributes allow @access, -EPERM otherwise.
 */
int vpa_core_check_rid(const struct vpa_core *c, u16 rid, enum vpa_res type,
		       u32 global, u8 access)
{
	const struct vpa_item *it;

	if ((unsigned int)type >= VPA_RES_NR || global >= c->total[type])
		return -EPERM;
	it = &c->item[type][global];
	if (it->owner == VPA_NO_OWNER || !c->group[it->owner].used ||
	    c->group[it->owner].rid != rid)
		return -EPERM;
	if ((it->attr & access) != access)
		return -EPERM;
	return 0;
}

/**
 * vpa_core_set_attr - set the protection attributes of one resource
 * @c:		the core state
 * @gid:	owning group
 * @type:	resource type
 * @local:	index within the group
 * @attr:	VPA_ATTR_* mask
 *
 * Return: 0, -ENOENT, -ERANGE (not owned), or -EINVAL (unknown bits).
 */
int vpa_core_set_attr(struct vpa_core *c, int gid, enum vpa_res type,
		      u32 local, u8 attr)
{
	int global;

	if (attr & ~VPA_ATTR_ALL)
		return -EINVAL;
	global = vpa_core_check(c, gid, type, local, 0);
	if (global < 0)
		return global;
	c->item[type][global].attr = attr;
	return 0;
}

/**
 * vpa_core_shrink - revoke the last @n resources of @type from a group
 * @c:		the core state
 * @gid:	the group
 * @type:	resource type
 * @n:		how many
 *
 * The group keeps at least group_min of each type.
 *
 * Return: 0, -ENOENT, or -EINVAL if that would leave it less.
 */
int vpa_core_shrink(struct vpa_core *c, int gid, enum vpa_res type, u32 n)
{
	u32 have;

	if (!vpa_core_gid_ok(c, gid) || (unsigned int)type >= VPA_RES_NR)
		return -ENOENT;
	have = c->group[gid].count[type];
	if (n > have || have - n < c->group_min[type])
		return -EINVAL;
	while (n--)
		vpa_core_put_last(c, gid, type);
	return 0;
}

/**
 * vpa_core_grow - give a group @n more free resources of @type
 * @c:		the core state
 * @gid:	the group
 * @type:	resource type
 * @n:		how many
 *
 * All or nothing; the new resources get the group's next local indices
 * and full attributes.
 *
 * Return: 0, -ENOENT, -EINVAL (beyond group_max or n == 0), or -ENOSPC
 * if fewer than @n are free.
 */
int vpa_core_grow(struct vpa_core *c, int gid, enum vpa_res type, u32 n)
{
	if (!vpa_core_gid_ok(c, gid) || (unsigned int)type >= VPA_RES_NR)
		return -ENOENT;
	if (!n || c->group[gid].count[type] + n > c->group_max[type])
		return -EINVAL;
	if (n > c->free[type])
		return -ENOSPC;
	while (n--)
		vpa_core_take(c, gid, type);
	return 0;
}

/**
 * vpa_core_move - reassign @n resources of @type from one group to another
 * @c:		the core state
 * @from:	giving group
 * @to:		receiving group
 * @type:	resource type
 * @n:		how many
 *
 * The giver keeps at least group_min, the receiver stays within
 * group_max; all or nothing. Moved resources get the receiver's next local
 * indices and full attributes.
 *
 * Return: 0, -ENOENT, or -EINVAL.
 */
int vpa_core_move(struct vpa_core *c, int from, int to, enum vpa_res type,
		  u32 n)
{
	if (!vpa_core_gid_ok(c, from) || !vpa_core_gid_ok(c, to) ||
	    (unsigned int)type >= VPA_RES_NR)
		return -ENOENT;
	if (from == to || !n || n > c->group[from].count[type] ||
	    c->group[from].count[type] - n < c->group_min[type] ||
	    c->group[to].count[type] + n > c->group_max[type])
		return -EINVAL;
	while (n--) {
		struct vpa_group *dst = &c->group[to];
		u32 global;

		global = c->group[from].map[type][c->group[from].count[type] - 1];
		vpa_core_put_last(c, from, type);
		/* the item just freed is taken back, not a lower free one */
		c->item[type][global].owner = to;
		c->item[type][global].attr = VPA_ATTR_ALL;
		c->item[type][global].local = dst->count[type];
		dst->map[type][dst->count[type]++] = global;
		c->free[type]--;
	}
	return 0;
}
