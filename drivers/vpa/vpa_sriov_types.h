/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SR-IOV back end's VF group types: the mdev types' policies on
 * flexible queues (work queues) and interrupts (vectors) only. One table
 * for vpa_sriov.c and for the user-space unit test of the core
 * (tools/testing/selftests/kvmshare/vpa/core_unit.c), so that the test
 * checks the types the driver offers, not a copy of them.
 *
 * Include after vpa_core.h; ARRAY_SIZE() comes from the includer.
 */
#ifndef _VPA_SRIOV_TYPES_H
#define _VPA_SRIOV_TYPES_H

#include "vpa_core.h"

/* What a VF's secondary controller needs: an admin and an I/O queue, a vector */
#define VPA_SRIOV_VF_MIN_VQ	2
#define VPA_SRIOV_VF_MIN_VI	1

/* The types by index into vpa_vf_type_defs[] */
enum vpa_vf_type_id {
	VPA_VF_SMALL,
	VPA_VF_LARGE,
	VPA_VF_HALF,
	VPA_VF_QUARTER,
	VPA_VF_FCFS,
	VPA_VF_NR_TYPES
};

/**
 * struct vpa_vf_type_def - one VF group type
 * @name:	its directory in vpa_sriov_types/
 * @desc:	its description file
 * @req:	what a group of this type asks the core for
 */
struct vpa_vf_type_def {
	const char *name;
	const char *desc;
	struct vpa_req req;
};

static const struct vpa_vf_type_def vpa_vf_type_defs[VPA_VF_NR_TYPES] = {
	[VPA_VF_SMALL] = {
		"vf-small", "absolute: 2 VQ (an admin and one I/O queue), 1 VI",
		{ .policy = VPA_POLICY_ABSOLUTE,
		  .count = { [VPA_RES_WQ] = 2, [VPA_RES_VEC] = 1 } } },
	[VPA_VF_LARGE] = {
		"vf-large", "absolute: 8 VQ, 4 VI",
		{ .policy = VPA_POLICY_ABSOLUTE,
		  .count = { [VPA_RES_WQ] = 8, [VPA_RES_VEC] = 4 } } },
	[VPA_VF_HALF] = {
		"vf-half", "relative: half of the flexible VQ and VI",
		{ .policy = VPA_POLICY_RELATIVE, .den = 2 } },
	[VPA_VF_QUARTER] = {
		"vf-quarter", "relative: a quarter of the flexible VQ and VI",
		{ .policy = VPA_POLICY_RELATIVE, .den = 4 } },
	[VPA_VF_FCFS] = {
		"vf-fcfs",
		"first come first served: what is free, up to 4 VQ and 2 VI, at least 2 VQ and 1 VI",
		{ .policy = VPA_POLICY_FCFS,
		  .count = { [VPA_RES_WQ] = 4, [VPA_RES_VEC] = 2 },
		  .min = { [VPA_RES_WQ] = VPA_SRIOV_VF_MIN_VQ,
			   [VPA_RES_VEC] = VPA_SRIOV_VF_MIN_VI } } },
};

#endif /* _VPA_SRIOV_TYPES_H */
