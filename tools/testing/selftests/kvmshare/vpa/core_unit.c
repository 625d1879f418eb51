// SPDX-License-Identifier: GPL-2.0
/*
 * User-space unit tests of the vpa core (drivers/vpa/vpa_core.c): resource
 * groups, assignment policies, exact available counts, ownership,
 * protection attributes and requester-id checks.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "vpa_core.h"
#include "vpa_sriov_types.h"

/* The software adapter's shape (drivers/vpa/vpa_main.c uses the same). */
static const u32 total[VPA_RES_NR] = { 32, 64, 64, 32, 100 };
static const u32 gmax[VPA_RES_NR] = { 16, 32, 32, 16, 100 };

static struct vpa_req req_abs(u32 wq, u32 vec, u32 win, u32 db, u32 eng)
{
	struct vpa_req r = { .policy = VPA_POLICY_ABSOLUTE };

	r.count[VPA_RES_WQ] = wq;
	r.count[VPA_RES_VEC] = vec;
	r.count[VPA_RES_WIN] = win;
	r.count[VPA_RES_DB] = db;
	r.count[VPA_RES_ENG] = eng;
	return r;
}

static struct vpa_req req_rel(u32 den)
{
	struct vpa_req r = { .policy = VPA_POLICY_RELATIVE, .den = den };

	return r;
}

static struct vpa_req req_fcfs(u32 max, u32 min)
{
	struct vpa_req r = { .policy = VPA_POLICY_FCFS };
	int t;

	for (t = 0; t < VPA_RES_NR; t++) {
		r.count[t] = max;
		r.min[t] = min;
	}
	return r;
}

/*
 * Every invariant of the core: free counts add up, each owned item is in
 * its owner's map at its local index, and no item is in two maps.
 * Returns a description of the first violation or NULL.
 */
static const char *core_consistent(const struct vpa_core *c)
{
	static char msg[128];
	int t, g;
	u32 i, owned;

	for (t = 0; t < VPA_RES_NR; t++) {
		owned = 0;
		for (i = 0; i < c->total[t]; i++) {
			const struct vpa_item *it = &c->item[t][i];

			if (it->owner == VPA_NO_OWNER)
				continue;
			owned++;
			if (it->owner >= VPA_CORE_MAX_GROUPS ||
			    !c->group[it->owner].used) {
				snprintf(msg, sizeof(msg), "%s %u: dead owner",
					 vpa_res_name(t), i);
				return msg;
			}
			if (c->group[it->owner].map[t][it->local] != i) {
				snprintf(msg, sizeof(msg), "%s %u: bad map",
					 vpa_res_name(t), i);
				return msg;
			}
		}
		if (owned + c->free[t] != c->total[t]) {
			snprintf(msg, sizeof(msg), "%s: owned %u + free %u",
				 vpa_res_name(t), owned, c->free[t]);
			return msg;
		}
		owned = 0;
		for (g = 0; g < VPA_CORE_MAX_GROUPS; g++)
			if (c->group[g].used)
				owned += c->group[g].count[t];
		if (owned + c->free[t] != c->total[t])
			return "group counts do not add up";
	}
	/* requester ids: the adapter's and every group's differ */
	for (g = 0; g < VPA_CORE_MAX_GROUPS; g++) {
		if (!c->group[g].used)
			continue;
		if (c->group[g].rid == c->rid_base)
			return "a group carries the adapter's id";
		for (t = g + 1; t < VPA_CORE_MAX_GROUPS; t++)
			if (c->group[t].used &&
			    c->group[t].rid == c->group[g].rid)
				return "two groups carry one id";
	}
	return NULL;
}

/* Groups of @r that really can be created now, found by creating them. */
static unsigned int really_available(const struct vpa_core *c,
				     const struct vpa_req *r)
{
	struct vpa_core *copy = malloc(sizeof(*copy));
	unsigned int n = 0;

	memcpy(copy, c, sizeof(*c));
	while (vpa_core_alloc(copy, r) >= 0)
		n++;
	free(copy);
	return n;
}

FIXTURE(core) {
	struct vpa_core c;
};

FIXTURE_SETUP(core)
{
	ASSERT_EQ(0, vpa_core_init(&self->c, total, gmax, 0x0100));
}

FIXTURE_TEARDOWN(core)
{
}

TEST(init_rejects_bad_shapes)
{
	struct vpa_core c;
	u32 t2[VPA_RES_NR] = { 32, 64, 64, 32, 100 };
	u32 m2[VPA_RES_NR] = { 16, 32, 32, 16, 100 };

	t2[VPA_RES_WQ] = VPA_CORE_MAX_ITEMS + 1;
	EXPECT_EQ(-EINVAL, vpa_core_init(&c, t2, m2, 0));
	t2[VPA_RES_WQ] = 32;
	t2[VPA_RES_ENG] = VPA_ENG_SLICES + 1;
	EXPECT_EQ(-EINVAL, vpa_core_init(&c, t2, m2, 0));
	t2[VPA_RES_ENG] = 100;
	m2[VPA_RES_DB] = 0;
	EXPECT_EQ(-EINVAL, vpa_core_init(&c, t2, m2, 0));
	m2[VPA_RES_DB] = 16;
	EXPECT_EQ(-EINVAL, vpa_core_init(&c, t2, m2, 0xfff0));
	EXPECT_EQ(0, vpa_core_init(&c, t2, m2, 0));
}

TEST_F(core, malformed_requests)
{
	struct vpa_req r = req_abs(1, 1, 1, 1, 1);

	r.policy = VPA_POLICY_NR;
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_abs(0, 1, 1, 1, 1);
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_abs(17, 1, 1, 1, 1);	/* above the per-group limit */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_rel(0);
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_rel(1);			/* the whole adapter > group limit */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_rel(65);		/* 64/65 vectors = 0 */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_fcfs(4, 5);		/* min above max */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	r = req_fcfs(4, 0);
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&self->c, &r));
	EXPECT_EQ(0, vpa_core_available(&self->c, &r));
	EXPECT_EQ(NULL, core_consistent(&self->c));
	EXPECT_EQ(32, self->c.free[VPA_RES_WQ]);
}

TEST_F(core, absolute_exact_counts_and_exclusive)
{
	struct vpa_req r = req_abs(4, 8, 8, 4, 20);
	int g1, g2, t;
	u32 i, j;

	g1 = vpa_core_alloc(&self->c, &r);
	g2 = vpa_core_alloc(&self->c, &r);
	ASSERT_GE(g1, 0);
	ASSERT_GE(g2, 0);
	ASSERT_NE(g1, g2);
	for (t = 0; t < VPA_RES_NR; t++) {
		EXPECT_EQ(r.count[t], vpa_core_count(&self->c, g1, t));
		EXPECT_EQ(r.count[t], vpa_core_count(&self->c, g2, t));
		for (i = 0; i < r.count[t]; i++)
			for (j = 0; j < r.count[t]; j++)
				EXPECT_NE(self->c.group[g1].map[t][i],
					  self->c.group[g2].map[t][j]);
	}
	EXPECT_EQ(100 - 40, self->c.free[VPA_RES_ENG]);
	EXPECT_EQ(NULL, core_consistent(&self->c));
	EXPECT_EQ(0, vpa_core_free(&self->c, g1));
	EXPECT_EQ(-ENOENT, vpa_core_free(&self->c, g1));
	EXPECT_EQ(0, vpa_core_count(&self->c, g1, VPA_RES_WQ));
	EXPECT_EQ(NULL, core_consistent(&self->c));
	EXPECT_EQ(0, vpa_core_free(&self->c, g2));
	for (t = 0; t < VPA_RES_NR; t++)
		EXPECT_EQ(total[t], self->c.free[t]);
}

TEST_F(core, available_is_exact_per_policy)
{
	struct vpa_req small = req_abs(1, 2, 2, 1, 5);
	struct vpa_req big = req_abs(4, 8, 8, 4, 20);
	struct vpa_req half = req_rel(2), quarter = req_rel(4);
	struct vpa_req fcfs = req_fcfs(8, 1);
	unsigned int n, i;
	int g[8];

	EXPECT_EQ(20, vpa_core_available(&self->c, &small));	/* engine */
	EXPECT_EQ(5, vpa_core_available(&self->c, &big));
	EXPECT_EQ(2, vpa_core_available(&self->c, &half));
	EXPECT_EQ(4, vpa_core_available(&self->c, &quarter));
	/* fcfs takes 8 of each (8 engine slices): wq 32/8 */
	EXPECT_EQ(4, vpa_core_available(&self->c, &fcfs));

	n = vpa_core_available(&self->c, &big);
	for (i = 0; i < n; i++) {
		g[i] = vpa_core_alloc(&self->c, &big);
		ASSERT_GE(g[i], 0);
	}
	EXPECT_EQ(-ENOSPC, vpa_core_alloc(&self->c, &big));
	EXPECT_EQ(0, vpa_core_available(&self->c, &big));
	EXPECT_EQ(0, vpa_core_available(&self->c, &half));
	EXPECT_EQ(0, vpa_core_available(&self->c, &quarter));
	/* 12 wq, 24 vec/win, 12 db, 0 engine left */
	EXPECT_EQ(0, vpa_core_available(&self->c, &small));
	EXPECT_EQ(0, vpa_core_free(&self->c, g[0]));
	EXPECT_EQ(1, vpa_core_available(&self->c, &big));
	EXPECT_EQ(4, vpa_core_available(&self->c, &small));
	EXPECT_EQ(NULL, core_consistent(&self->c));
}

TEST_F(core, fcfs_takes_what_is_free)
{
	struct vpa_req big = req_abs(14, 30, 30, 14, 90);
	struct vpa_req fcfs = req_fcfs(8, 1), fcfs2 = req_fcfs(8, 3);
	int g0, g1, g2;

	g0 = vpa_core_alloc(&self->c, &big);
	ASSERT_GE(g0, 0);
	/* 18 wq, 34 vec/win, 18 db, 10 engine free */
	g1 = vpa_core_alloc(&self->c, &fcfs);
	ASSERT_GE(g1, 0);
	EXPECT_EQ(8, vpa_core_count(&self->c, g1, VPA_RES_WQ));
	EXPECT_EQ(8, vpa_core_count(&self->c, g1, VPA_RES_ENG));
	/* 2 engine slices left: fcfs2 needs 3 */
	EXPECT_EQ(0, vpa_core_available(&self->c, &fcfs2));
	EXPECT_EQ(-ENOSPC, vpa_core_alloc(&self->c, &fcfs2));
	EXPECT_EQ(1, vpa_core_available(&self->c, &fcfs));
	g2 = vpa_core_alloc(&self->c, &fcfs);
	ASSERT_GE(g2, 0);
	EXPECT_EQ(2, vpa_core_count(&self->c, g2, VPA_RES_ENG));
	EXPECT_EQ(8, vpa_core_count(&self->c, g2, VPA_RES_WQ));
	EXPECT_EQ(0, self->c.free[VPA_RES_ENG]);
	EXPECT_EQ(NULL, core_consistent(&self->c));
}

TEST_F(core, group_slots_run_out)
{
	struct vpa_req r = req_abs(1, 1, 1, 1, 1);
	int i, g;

	EXPECT_EQ(VPA_CORE_MAX_GROUPS, vpa_core_available(&self->c, &r));
	for (i = 0; i < VPA_CORE_MAX_GROUPS; i++)
		ASSERT_EQ(i, vpa_core_alloc(&self->c, &r));
	EXPECT_EQ(0, vpa_core_available(&self->c, &r));
	EXPECT_EQ(-ENOSPC, vpa_core_alloc(&self->c, &r));
	EXPECT_EQ(0, vpa_core_free(&self->c, 7));
	EXPECT_EQ(1, vpa_core_available(&self->c, &r));
	g = vpa_core_alloc(&self->c, &r);
	EXPECT_EQ(7, g);
	EXPECT_EQ(NULL, core_consistent(&self->c));
}

/* Random create/destroy of mixed types: available stays exact. */
TEST_F(core, available_exact_over_random_cycles)
{
	struct vpa_req reqs[] = {
		req_abs(1, 2, 2, 1, 5), req_abs(4, 8, 8, 4, 20),
		req_abs(3, 1, 5, 2, 7), req_rel(2), req_rel(4),
		req_rel(8), req_fcfs(8, 1), req_fcfs(5, 2),
	};
	int live[VPA_CORE_MAX_GROUPS], nlive = 0, step, k, g;
	unsigned int n = ARRAY_SIZE(reqs), i;
	const char *bad;

	srandom(7);
	for (step = 0; step < 2000; step++) {
		if (nlive && (random() % 3 == 0 || nlive == VPA_CORE_MAX_GROUPS)) {
			k = random() % nlive;
			ASSERT_EQ(0, vpa_core_free(&self->c, live[k]));
			live[k] = live[--nlive];
		} else {
			i = random() % n;
			g = vpa_core_alloc(&self->c, &reqs[i]);
			if (g >= 0)
				live[nlive++] = g;
			else
				ASSERT_EQ(-ENOSPC, g);
		}
		bad = core_consistent(&self->c);
		ASSERT_EQ(NULL, bad) TH_LOG("step %d: %s", step, bad);
		for (i = 0; i < n; i++)
			ASSERT_EQ(really_available(&self->c, &reqs[i]),
				  vpa_core_available(&self->c, &reqs[i]))
				TH_LOG("step %d req %u", step, i);
	}
}

TEST_F(core, local_indices_and_attributes)
{
	struct vpa_req r = req_abs(2, 2, 2, 2, 10);
	int g1, g2, gl;

	g1 = vpa_core_alloc(&self->c, &r);
	g2 = vpa_core_alloc(&self->c, &r);
	ASSERT_GE(g2, 0);
	/* g2's queue 0 is the adapter's queue 2 */
	EXPECT_EQ(2, vpa_core_check(&self->c, g2, VPA_RES_WQ, 0, 0));
	EXPECT_EQ(-ERANGE, vpa_core_check(&self->c, g2, VPA_RES_WQ, 2, 0));
	EXPECT_EQ(-ERANGE, vpa_core_check(&self->c, g1, VPA_RES_DB, 1000, 0));
	EXPECT_EQ(-ENOENT, vpa_core_check(&self->c, 9, VPA_RES_WQ, 0, 0));
	EXPECT_EQ(-ENOENT, vpa_core_check(&self->c, -1, VPA_RES_WQ, 0, 0));
	EXPECT_EQ(-ENOENT, vpa_core_check(&self->c, g1, VPA_RES_NR, 0, 0));

	gl = vpa_core_check(&self->c, g1, VPA_RES_WIN, 1, VPA_ATTR_WRITE);
	EXPECT_GE(gl, 0);
	EXPECT_EQ(0, vpa_core_set_attr(&self->c, g1, VPA_RES_WIN, 1,
				       VPA_ATTR_READ));
	EXPECT_EQ(-EACCES, vpa_core_check(&self->c, g1, VPA_RES_WIN, 1,
					  VPA_ATTR_WRITE));
	EXPECT_EQ(gl, vpa_core_check(&self->c, g1, VPA_RES_WIN, 1,
				     VPA_ATTR_READ));
	EXPECT_EQ(-EINVAL, vpa_core_set_attr(&self->c, g1, VPA_RES_WIN, 1,
					     0x80));
	EXPECT_EQ(-ERANGE, vpa_core_set_attr(&self->c, g1, VPA_RES_WIN, 2,
					     VPA_ATTR_READ));
	/* a freed and reallocated item has full attributes again */
	EXPECT_EQ(0, vpa_core_free(&self->c, g1));
	g1 = vpa_core_alloc(&self->c, &r);
	EXPECT_EQ(gl, vpa_core_check(&self->c, g1, VPA_RES_WIN, 1,
				     VPA_ATTR_WRITE));
}

TEST_F(core, requester_id_checks)
{
	struct vpa_req r = req_abs(2, 2, 2, 2, 10);
	int g1, g2, rid1, rid2, q1, q2;

	g1 = vpa_core_alloc(&self->c, &r);
	g2 = vpa_core_alloc(&self->c, &r);
	rid1 = vpa_core_rid(&self->c, g1);
	rid2 = vpa_core_rid(&self->c, g2);
	ASSERT_GE(rid1, 0);
	ASSERT_GE(rid2, 0);
	EXPECT_NE(rid1, rid2);
	EXPECT_NE(0x0100, rid1);	/* never the adapter's own */
	q1 = vpa_core_check(&self->c, g1, VPA_RES_WQ, 0, 0);
	q2 = vpa_core_check(&self->c, g2, VPA_RES_WQ, 1, 0);
	EXPECT_EQ(0, vpa_core_check_rid(&self->c, rid1, VPA_RES_WQ, q1,
					VPA_ATTR_SUBMIT));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid1, VPA_RES_WQ, q2,
					     VPA_ATTR_SUBMIT));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid2, VPA_RES_WQ, q1,
					     0));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, 0x0100, VPA_RES_WQ,
					     q1, 0));
	/* free and out-of-range resources belong to nobody */
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid1, VPA_RES_WQ, 31,
					     0));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid1, VPA_RES_WQ, 32,
					     0));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid1, VPA_RES_NR, 0,
					     0));
	EXPECT_EQ(0, vpa_core_set_attr(&self->c, g1, VPA_RES_WQ, 0, 0));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid1, VPA_RES_WQ, q1,
					     VPA_ATTR_SUBMIT));
	/* after destroy, the old requester id owns nothing */
	EXPECT_EQ(0, vpa_core_free(&self->c, g2));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c, rid2, VPA_RES_WQ, q2,
					     0));
	EXPECT_EQ(-ENOENT, vpa_core_rid(&self->c, g2));
}

TEST_F(core, revoke_and_reassign)
{
	struct vpa_req r = req_abs(4, 2, 2, 2, 10);
	int g1, g2, moved;

	g1 = vpa_core_alloc(&self->c, &r);
	g2 = vpa_core_alloc(&self->c, &r);
	ASSERT_GE(g2, 0);
	moved = vpa_core_check(&self->c, g1, VPA_RES_WQ, 3, 0);
	EXPECT_EQ(0, vpa_core_move(&self->c, g1, g2, VPA_RES_WQ, 1));
	EXPECT_EQ(3, vpa_core_count(&self->c, g1, VPA_RES_WQ));
	EXPECT_EQ(5, vpa_core_count(&self->c, g2, VPA_RES_WQ));
	EXPECT_EQ(moved, vpa_core_check(&self->c, g2, VPA_RES_WQ, 4, 0));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&self->c,
					     vpa_core_rid(&self->c, g1),
					     VPA_RES_WQ, moved, 0));
	EXPECT_EQ(-EINVAL, vpa_core_move(&self->c, g1, g2, VPA_RES_WQ, 3));
	EXPECT_EQ(-EINVAL, vpa_core_move(&self->c, g1, g1, VPA_RES_WQ, 1));
	EXPECT_EQ(-EINVAL, vpa_core_move(&self->c, g2, g1, VPA_RES_ENG, 10));
	EXPECT_EQ(-ENOENT, vpa_core_move(&self->c, g1, 30, VPA_RES_WQ, 1));
	EXPECT_EQ(0, vpa_core_shrink(&self->c, g2, VPA_RES_WQ, 4));
	EXPECT_EQ(1, vpa_core_count(&self->c, g2, VPA_RES_WQ));
	EXPECT_EQ(-EINVAL, vpa_core_shrink(&self->c, g2, VPA_RES_WQ, 1));
	EXPECT_EQ(32 - 4, self->c.free[VPA_RES_WQ]);
	EXPECT_EQ(NULL, core_consistent(&self->c));
}

TEST_F(core, grow_in_place)
{
	struct vpa_req r = req_abs(4, 2, 2, 2, 10);
	struct vpa_req big = req_abs(16, 2, 2, 2, 10);
	int g1, g2;

	g1 = vpa_core_alloc(&self->c, &r);
	ASSERT_GE(g1, 0);
	EXPECT_EQ(0, vpa_core_grow(&self->c, g1, VPA_RES_WQ, 2));
	EXPECT_EQ(6, vpa_core_count(&self->c, g1, VPA_RES_WQ));
	EXPECT_GE(vpa_core_check(&self->c, g1, VPA_RES_WQ, 5, VPA_ATTR_SUBMIT),
		  0);
	EXPECT_EQ(32 - 6, self->c.free[VPA_RES_WQ]);
	EXPECT_EQ(-EINVAL, vpa_core_grow(&self->c, g1, VPA_RES_WQ, 0));
	EXPECT_EQ(-EINVAL, vpa_core_grow(&self->c, g1, VPA_RES_WQ, 11));
	EXPECT_EQ(-ENOENT, vpa_core_grow(&self->c, 30, VPA_RES_WQ, 1));
	/* all or nothing when the adapter runs short */
	g2 = vpa_core_alloc(&self->c, &big);
	ASSERT_GE(g2, 0);
	EXPECT_EQ(0, vpa_core_grow(&self->c, g1, VPA_RES_WQ, 10));
	EXPECT_EQ(-ENOSPC, vpa_core_grow(&self->c, g2, VPA_RES_ENG, 81));
	EXPECT_EQ(10, vpa_core_count(&self->c, g2, VPA_RES_ENG));
	EXPECT_EQ(0, vpa_core_shrink(&self->c, g1, VPA_RES_WQ, 15));
	EXPECT_EQ(1, vpa_core_count(&self->c, g1, VPA_RES_WQ));
	EXPECT_EQ(NULL, core_consistent(&self->c));
}

/* An SR-IOV function's shape: flexible queues and vectors only. */
static const u32 vf_total[VPA_RES_NR] = { 16, 8, 0, 0, 0 };
static const u32 vf_gmax[VPA_RES_NR] = { 8, 4, 0, 0, 0 };

static struct vpa_req req_vf_fcfs(u32 wq, u32 vec, u32 min_wq, u32 min_vec)
{
	struct vpa_req r = { .policy = VPA_POLICY_FCFS };

	r.count[VPA_RES_WQ] = wq;
	r.count[VPA_RES_VEC] = vec;
	r.min[VPA_RES_WQ] = min_wq;
	r.min[VPA_RES_VEC] = min_vec;
	return r;
}

TEST(absent_types)
{
	u32 none[VPA_RES_NR] = { 0 };
	struct vpa_req r;
	struct vpa_core c;
	int g1, g2;

	EXPECT_EQ(-EINVAL, vpa_core_init(&c, none, vf_gmax, 0));
	ASSERT_EQ(0, vpa_core_init(&c, vf_total, gmax, 0x0300));
	EXPECT_EQ(0, c.group_max[VPA_RES_WIN]);	/* ignored: no windows */
	EXPECT_EQ(0, c.group_min[VPA_RES_WIN]);
	EXPECT_EQ(1, c.group_min[VPA_RES_WQ]);
	ASSERT_EQ(0, vpa_core_init(&c, vf_total, vf_gmax, 0x0300));
	r = req_abs(2, 1, 1, 0, 0);	/* a window the adapter lacks */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&c, &r));
	EXPECT_EQ(0, vpa_core_available(&c, &r));
	r = req_abs(2, 1, 0, 0, 0);
	g1 = vpa_core_alloc(&c, &r);
	ASSERT_GE(g1, 0);
	EXPECT_EQ(0, vpa_core_count(&c, g1, VPA_RES_WIN));
	EXPECT_EQ(-EINVAL, vpa_core_grow(&c, g1, VPA_RES_WIN, 1));
	EXPECT_EQ(-EINVAL, vpa_core_shrink(&c, g1, VPA_RES_DB, 1));
	EXPECT_EQ(-ERANGE, vpa_core_check(&c, g1, VPA_RES_ENG, 0, 0));
	EXPECT_EQ(-EINVAL, vpa_core_set_min(&c, VPA_RES_ENG, 1));
	/* relative: a share of what the adapter has */
	r = req_rel(2);
	EXPECT_EQ(1, vpa_core_available(&c, &r));
	g2 = vpa_core_alloc(&c, &r);
	ASSERT_GE(g2, 0);
	EXPECT_EQ(8, vpa_core_count(&c, g2, VPA_RES_WQ));
	EXPECT_EQ(4, vpa_core_count(&c, g2, VPA_RES_VEC));
	EXPECT_EQ(-EINVAL, vpa_core_move(&c, g2, g1, VPA_RES_WIN, 1));
	/* first come first served: 6 wq and 3 vec left, 4+2 and 2+1 */
	r = req_vf_fcfs(4, 2, 1, 1);
	EXPECT_EQ(really_available(&c, &r), vpa_core_available(&c, &r));
	EXPECT_EQ(2, vpa_core_available(&c, &r));
	r = req_vf_fcfs(4, 2, 1, 0);	/* a present type at 0 */
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&c, &r));
	EXPECT_EQ(NULL, core_consistent(&c));
}

TEST(group_min_is_kept)
{
	struct vpa_req r;
	struct vpa_core c;
	int g1, g2;

	ASSERT_EQ(0, vpa_core_init(&c, vf_total, vf_gmax, 0x0300));
	EXPECT_EQ(-EINVAL, vpa_core_set_min(&c, VPA_RES_WQ, 0));
	EXPECT_EQ(-EINVAL, vpa_core_set_min(&c, VPA_RES_WQ, 9));
	EXPECT_EQ(-EINVAL, vpa_core_set_min(&c, VPA_RES_WIN, 1));
	EXPECT_EQ(-EINVAL, vpa_core_set_min(&c, VPA_RES_NR, 1));
	ASSERT_EQ(0, vpa_core_set_min(&c, VPA_RES_WQ, 2));
	r = req_abs(1, 1, 0, 0, 0);
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&c, &r));
	r = req_vf_fcfs(4, 2, 1, 1);
	EXPECT_EQ(-EINVAL, vpa_core_alloc(&c, &r));
	r = req_abs(4, 2, 0, 0, 0);
	g1 = vpa_core_alloc(&c, &r);
	r = req_abs(2, 1, 0, 0, 0);
	g2 = vpa_core_alloc(&c, &r);
	ASSERT_GE(g1, 0);
	ASSERT_GE(g2, 0);
	EXPECT_EQ(-EBUSY, vpa_core_set_min(&c, VPA_RES_VEC, 2));
	EXPECT_EQ(-EINVAL, vpa_core_shrink(&c, g1, VPA_RES_WQ, 3));
	EXPECT_EQ(4, vpa_core_count(&c, g1, VPA_RES_WQ));
	EXPECT_EQ(-EINVAL, vpa_core_move(&c, g2, g1, VPA_RES_WQ, 1));
	EXPECT_EQ(0, vpa_core_move(&c, g1, g2, VPA_RES_WQ, 2));
	EXPECT_EQ(-EINVAL, vpa_core_move(&c, g1, g2, VPA_RES_WQ, 1));
	EXPECT_EQ(0, vpa_core_shrink(&c, g2, VPA_RES_WQ, 2));
	EXPECT_EQ(2, vpa_core_count(&c, g2, VPA_RES_WQ));
	/* vectors keep the default least of one */
	EXPECT_EQ(0, vpa_core_shrink(&c, g1, VPA_RES_VEC, 1));
	EXPECT_EQ(-EINVAL, vpa_core_shrink(&c, g1, VPA_RES_VEC, 1));
	EXPECT_EQ(NULL, core_consistent(&c));
}

TEST(groups_at_an_index_with_their_own_rid)
{
	struct vpa_req r = req_abs(2, 1, 0, 0, 0);
	struct vpa_core c;
	int global;

	ASSERT_EQ(0, vpa_core_init(&c, vf_total, vf_gmax, 0x0300));
	EXPECT_EQ(3, vpa_core_alloc_at(&c, &r, 3, 0x0310));
	EXPECT_EQ(-EBUSY, vpa_core_alloc_at(&c, &r, 3, 0x0311));
	EXPECT_EQ(-EINVAL, vpa_core_alloc_at(&c, &r, VPA_CORE_MAX_GROUPS,
					     0x0311));
	EXPECT_EQ(-EINVAL, vpa_core_alloc_at(&c, &r, -1, 0x0311));
	/* an id the adapter or another group carries is refused */
	EXPECT_EQ(-EEXIST, vpa_core_alloc_at(&c, &r, 4, 0x0310));
	EXPECT_EQ(-EEXIST, vpa_core_alloc_at(&c, &r, 4, 0x0300));
	EXPECT_EQ(0x0310, vpa_core_rid(&c, 3));
	EXPECT_EQ(-ENOENT, vpa_core_rid(&c, 4));
	/* the lowest free index, with the default id rid_base + 1 + gid */
	EXPECT_EQ(0, vpa_core_alloc(&c, &r));
	EXPECT_EQ(0x0301, vpa_core_rid(&c, 0));
	/* a default id that a custom one took is refused, nothing changed */
	EXPECT_EQ(5, vpa_core_alloc_at(&c, &r, 5, 0x0302));
	EXPECT_EQ(-EEXIST, vpa_core_alloc(&c, &r));
	EXPECT_EQ(-ENOENT, vpa_core_rid(&c, 1));
	global = vpa_core_check(&c, 3, VPA_RES_WQ, 0, 0);
	ASSERT_GE(global, 0);
	EXPECT_EQ(0, vpa_core_check_rid(&c, 0x0310, VPA_RES_WQ, global,
					VPA_ATTR_SUBMIT));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&c, 0x0304, VPA_RES_WQ, global,
					     VPA_ATTR_SUBMIT));
	EXPECT_EQ(-EPERM, vpa_core_check_rid(&c, 0x0302, VPA_RES_WQ, global,
					     VPA_ATTR_SUBMIT));
	/* a freed group's id is free again */
	EXPECT_EQ(0, vpa_core_free(&c, 3));
	EXPECT_EQ(4, vpa_core_alloc_at(&c, &r, 4, 0x0310));
	EXPECT_EQ(NULL, core_consistent(&c));
}

/*
 * The SR-IOV back end's VF group types (drivers/vpa/vpa_sriov_types.h,
 * the driver's own table) on the test VM's NVMe (16 VQ and 8 VI flexible,
 * 8 and 4 per VF, a VF at least 2 and 1), through the sequence suite
 * vpa_sriov's sriov_groups.sh runs: the core's availability there is
 * bounded by the VFs without a group, here it is the core's alone.
 */
TEST(sriov_vf_types)
{
	const struct vpa_req *small = &vpa_vf_type_defs[VPA_VF_SMALL].req;
	const struct vpa_req *large = &vpa_vf_type_defs[VPA_VF_LARGE].req;
	const struct vpa_req *half = &vpa_vf_type_defs[VPA_VF_HALF].req;
	const struct vpa_req *quarter = &vpa_vf_type_defs[VPA_VF_QUARTER].req;
	const struct vpa_req *fcfs = &vpa_vf_type_defs[VPA_VF_FCFS].req;
	const struct vpa_req *types[] = { small, large, half, quarter, fcfs };
	struct vpa_core c;
	unsigned int i;

	/* the table's order is the order AVAIL() and the script use */
	ASSERT_EQ(VPA_VF_NR_TYPES, ARRAY_SIZE(types));
	EXPECT_EQ(0, strcmp(vpa_vf_type_defs[VPA_VF_SMALL].name, "vf-small"));
	EXPECT_EQ(0, strcmp(vpa_vf_type_defs[VPA_VF_LARGE].name, "vf-large"));
	EXPECT_EQ(0, strcmp(vpa_vf_type_defs[VPA_VF_HALF].name, "vf-half"));
	EXPECT_EQ(0, strcmp(vpa_vf_type_defs[VPA_VF_QUARTER].name,
			    "vf-quarter"));
	EXPECT_EQ(0, strcmp(vpa_vf_type_defs[VPA_VF_FCFS].name, "vf-fcfs"));

/* the five types' available counts, each checked by creating them */
#define AVAIL(a, b, d, e, f)						\
	do {								\
		unsigned int want[] = { a, b, d, e, f };		\
		for (i = 0; i < ARRAY_SIZE(types); i++) {		\
			EXPECT_EQ(want[i], vpa_core_available(&c, types[i])); \
			EXPECT_EQ(want[i], really_available(&c, types[i])); \
		}							\
	} while (0)

	ASSERT_EQ(0, vpa_core_init(&c, vf_total, vf_gmax, 0x0300));
	ASSERT_EQ(0, vpa_core_set_min(&c, VPA_RES_WQ, VPA_SRIOV_VF_MIN_VQ));
	for (i = 0; i < ARRAY_SIZE(types); i++)
		EXPECT_EQ(0, vpa_core_req_check(&c, types[i]));
	AVAIL(8, 2, 2, 4, 4);
	/* absolute */
	EXPECT_EQ(0, vpa_core_alloc_at(&c, large, 0, 0x0301));
	EXPECT_EQ(1, vpa_core_alloc_at(&c, small, 1, 0x0302));
	EXPECT_EQ(6, c.free[VPA_RES_WQ]);
	EXPECT_EQ(3, c.free[VPA_RES_VEC]);
	AVAIL(3, 0, 0, 1, 2);
	EXPECT_EQ(-ENOSPC, vpa_core_alloc_at(&c, large, 2, 0x0303));
	/* first come first served: 4/2, then what is left, 2/1 */
	EXPECT_EQ(2, vpa_core_alloc_at(&c, fcfs, 2, 0x0303));
	EXPECT_EQ(3, vpa_core_alloc_at(&c, fcfs, 3, 0x0304));
	EXPECT_EQ(4, vpa_core_count(&c, 2, VPA_RES_WQ));
	EXPECT_EQ(2, vpa_core_count(&c, 2, VPA_RES_VEC));
	EXPECT_EQ(2, vpa_core_count(&c, 3, VPA_RES_WQ));
	EXPECT_EQ(1, vpa_core_count(&c, 3, VPA_RES_VEC));
	AVAIL(0, 0, 0, 0, 0);
	EXPECT_EQ(0, vpa_core_free(&c, 3));
	EXPECT_EQ(0, vpa_core_free(&c, 1));
	AVAIL(2, 0, 0, 1, 1);
	/* relative: halves, then quarters */
	EXPECT_EQ(0, vpa_core_free(&c, 0));
	EXPECT_EQ(0, vpa_core_free(&c, 2));
	EXPECT_EQ(0, vpa_core_alloc_at(&c, half, 0, 0x0301));
	EXPECT_EQ(3, vpa_core_alloc_at(&c, half, 3, 0x0304));
	EXPECT_EQ(8, vpa_core_count(&c, 3, VPA_RES_WQ));
	EXPECT_EQ(4, vpa_core_count(&c, 3, VPA_RES_VEC));
	EXPECT_EQ(-ENOSPC, vpa_core_alloc_at(&c, quarter, 1, 0x0302));
	EXPECT_EQ(0, vpa_core_free(&c, 0));
	EXPECT_EQ(0, vpa_core_free(&c, 3));
	for (i = 0; i < 4; i++)
		EXPECT_EQ((int)i, vpa_core_alloc_at(&c, quarter, i,
						    0x0301 + i));
	EXPECT_EQ(0, c.free[VPA_RES_WQ]);
	EXPECT_EQ(0, c.free[VPA_RES_VEC]);
	EXPECT_EQ(NULL, core_consistent(&c));
#undef AVAIL
}

TEST_HARNESS_MAIN
