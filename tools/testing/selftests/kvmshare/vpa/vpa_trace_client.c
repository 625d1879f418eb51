// SPDX-License-Identifier: GPL-2.0
/*
 * Helper of vpa/trace.sh, not a test of its own: the guest driver of one
 * virtual adapter, as the tracepoint test needs it.
 *
 *   vpa_trace_client UUID desc
 *	run a memmove, a descriptor with an unknown opcode and a fill of
 *	memory the VM never mapped; exit 0 if each ended as expected.
 *   vpa_trace_client UUID ack SECONDS
 *	print "ready" once the device is open, then acknowledge every
 *	quiesce request until an error recovery resumes the adapter (or
 *	SECONDS pass); print "acked N resumed R", exit 0 if it resumed
 *	after at least one acknowledgment.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vfio_client.h"

static int run(struct vc *c, struct vpa_desc *d, uint8_t want,
	       const char *what)
{
	struct vpa_completion cr;

	memset(&cr, 0, sizeof(cr));
	if (vc_run(c, d, &cr) || cr.status != want) {
		fprintf(stderr, "%s: status %#x, expected %#x\n", what,
			cr.status, want);
		return 1;
	}
	return 0;
}

static int descs(struct vc *c)
{
	struct vpa_desc d;
	int bad = 0;

	if (vc_wq_setup(c, 0, 64)) {
		fprintf(stderr, "work queue setup failed\n");
		return 1;
	}
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 4096;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = vc_iova(VC_DATA_OFF + 0x10000);
	bad |= run(c, &d, VPA_CS_SUCCESS, "memmove");

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MAX + 1;
	bad |= run(c, &d, VPA_CS_BAD_OPCODE, "unknown opcode");

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_FILL;
	d.size = 4096;
	d.dst = vc_iova(VC_MEM_SIZE);		/* just past the VM's memory */
	bad |= run(c, &d, VPA_CS_DMA_WRITE, "fill of unmapped memory");
	return bad;
}

static int acks(struct vc *c, int seconds)
{
	uint64_t end = vc_now_ns() + (uint64_t)seconds * 1000000000ULL;
	unsigned int acked = 0;
	bool resumed = false;
	uint32_t ev, sts;

	printf("ready\n");
	fflush(stdout);
	while (!resumed && vc_now_ns() < end) {
		ev = vc_reg(c, VPA_REG_EVENT);
		if (ev)
			vc_wr(c, 0, VPA_REG_EVENT, ev);		/* RW1C */
		sts = vc_reg(c, VPA_REG_STATUS);
		if ((sts & VPA_STS_QUIESCE) &&
		    !vc_wr(c, 0, VPA_REG_ACK, vc_reg(c, VPA_REG_EVT_SEQ)))
			acked++;
		if (ev & VPA_EVT_RESUME)
			resumed = true;
		usleep(1000);
	}
	printf("acked %u resumed %d\n", acked, resumed);
	return acked && resumed ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct vc c;
	int ret;

	if (argc < 3 || (strcmp(argv[2], "desc") && argc < 4)) {
		fprintf(stderr, "usage: %s UUID desc | UUID ack SECONDS\n",
			argv[0]);
		return 2;
	}
	if (vc_open(&c, argv[1])) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 1;
	}
	if (!strcmp(argv[2], "desc"))
		ret = descs(&c);
	else
		ret = acks(&c, atoi(argv[3]));
	vc_close(&c);
	return ret;
}
