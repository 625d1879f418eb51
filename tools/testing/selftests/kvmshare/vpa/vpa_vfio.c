// SPDX-License-Identifier: GPL-2.0
/*
 * vpa in the test VM: a user-space VFIO client stands in for the VMM and
 * drives virtual adapters of the software adapter through the standard
 * mdev sysfs ABI and VFIO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vfio_client.h"

#define TYPES	5
static const char * const types[TYPES] = {
	"small", "large", "half", "quarter", "fcfs"
};

/* Model of the software adapter: totals and what each type takes. */
static const int total[5] = { 32, 64, 64, 32, 100 };
static const int need[TYPES][5] = {
	{ 1, 2, 2, 1, 5 }, { 4, 8, 8, 4, 20 }, { 16, 32, 32, 16, 50 },
	{ 8, 16, 16, 8, 25 }, { 4, 8, 8, 4, 25 },	/* fcfs: max */
};

/* available_instances as the model computes it from free counts. */
static int model_available(const int *freec, int groups_free, int type)
{
	int f[5], n = 0, r, take;

	memcpy(f, freec, sizeof(f));
	while (n < groups_free) {
		for (r = 0; r < 5; r++) {
			take = need[type][r];
			if (type == 4 && f[r] < take)
				take = f[r];		/* fcfs, min 1 */
			if (take < 1 || take > f[r])
				return n;
		}
		for (r = 0; r < 5; r++) {
			take = need[type][r];
			if (type == 4 && f[r] < take)
				take = f[r];
			f[r] -= take;
		}
		n++;
	}
	return n;
}

static void model_take(int *freec, int type, int *took)
{
	int r, take;

	for (r = 0; r < 5; r++) {
		take = need[type][r];
		if (type == 4 && freec[r] < take)
			take = freec[r];
		took[r] = take;
		freec[r] -= take;
	}
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

TEST(types_in_sysfs)
{
	char dir[256], buf[256];
	int i;

	for (i = 0; i < TYPES; i++) {
		snprintf(dir, sizeof(dir),
			 "%s/mdev_supported_types/vpa-%s/device_api",
			 vc_parent(), types[i]);
		ASSERT_LT(0, vc_read_str(dir, buf, sizeof(buf)))
			TH_LOG("%s", dir);
		EXPECT_EQ(0, strcmp(buf, "vfio-pci\n"));
		snprintf(dir, sizeof(dir),
			 "%s/mdev_supported_types/vpa-%s/description",
			 vc_parent(), types[i]);
		EXPECT_LT(10, vc_read_str(dir, buf, sizeof(buf)));
	}
	EXPECT_EQ(20, vc_available("small"));
	EXPECT_EQ(5, vc_available("large"));
	EXPECT_EQ(2, vc_available("half"));
	EXPECT_EQ(4, vc_available("quarter"));
	EXPECT_EQ(4, vc_available("fcfs"));
}

/* Create/destroy of mixed types: available_instances stays exact. */
TEST(available_exact_over_cycles)
{
	char uuids[32][40];
	int kind[32], took[32][5], nlive = 0, freec[5], step, t, k, r, got;

	memcpy(freec, total, sizeof(freec));
	srandom(11);
	for (step = 0; step < 60; step++) {
		if (nlive && (random() % 3 == 0 || nlive == 32)) {
			k = random() % nlive;
			ASSERT_EQ(0, vc_remove(uuids[k]));
			for (r = 0; r < 5; r++)
				freec[r] += took[k][r];
			nlive--;
			memcpy(uuids[k], uuids[nlive], 40);
			memcpy(took[k], took[nlive], sizeof(took[k]));
			kind[k] = kind[nlive];
		} else {
			t = random() % TYPES;
			got = vc_create(types[t], uuids[nlive]);
			if (model_available(freec, 32 - nlive, t)) {
				ASSERT_EQ(0, got) TH_LOG("step %d type %d",
							 step, t);
				model_take(freec, t, took[nlive]);
				kind[nlive++] = t;
			} else {
				ASSERT_EQ(-ENOSPC, got)
					TH_LOG("step %d type %d", step, t);
			}
		}
		for (t = 0; t < TYPES; t++)
			ASSERT_EQ(model_available(freec, 32 - nlive, t),
				  vc_available(types[t]))
				TH_LOG("step %d type %d", step, t);
	}
	while (nlive--)
		EXPECT_EQ(0, vc_remove(uuids[nlive]));
	EXPECT_EQ(32, vc_parent_free("wq"));
	EXPECT_EQ(100, vc_parent_free("eng"));
	(void)kind;
}

/* <mdev>/vpa/state without its newline ("" if unreadable). */
static const char *state_of(const char *uuid)
{
	static char buf[32];
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vpa/state",
		 uuid);
	if (vc_read_str(path, buf, sizeof(buf)) < 0)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

TEST(create_and_remove_bad_input)
{
	char uuid[40], u2[8][40], path[128], two[96];
	int n, fd;

	EXPECT_EQ(-EINVAL, vc_create_uuid("small", "not-a-uuid"));
	EXPECT_EQ(-EINVAL, vc_create_uuid("small", "\n"));
	EXPECT_EQ(-EINVAL,
		  vc_create_uuid("small", "4b3c2a1d-0e0f-4a5b-8c6d-7e8f9a0b1cXX"));
	ASSERT_EQ(0, vc_create("half", uuid));
	EXPECT_EQ(-EEXIST, vc_create_uuid("small", uuid));
	n = vc_available("half");
	ASSERT_EQ(1, n);
	ASSERT_EQ(0, vc_create("half", u2[0]));
	EXPECT_EQ(0, vc_available("half"));
	EXPECT_EQ(-ENOSPC, vc_create("half", u2[1]));
	EXPECT_EQ(-ENOSPC, vc_create("small", u2[1]));
	EXPECT_EQ(0, vc_remove(u2[0]));

	/* remove twice: the second finds nothing, also through an open fd */
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, write(fd, "1", 1));
	EXPECT_EQ(-1, write(fd, "1", 1));
	close(fd);
	EXPECT_EQ(-ENOENT, vc_remove(uuid));

	/* destroy with bad names refuses and changes nothing */
	ASSERT_EQ(0, vc_create("small", uuid));
	snprintf(path, sizeof(path), "%s/vpa_destroy", vc_parent());
	EXPECT_EQ(-EINVAL, vc_write_file(path, "garbage"));
	EXPECT_EQ(-EINVAL, vc_write_file(path, "\n"));
	EXPECT_EQ(-ENOENT, vc_write_file(path,
					 "00000000-0000-4000-8000-000000000000"));
	/* one UUID per write: a list, or a UUID with more after it */
	snprintf(two, sizeof(two), "%s %s", uuid, uuid);
	EXPECT_EQ(-EINVAL, vc_write_file(path, two));
	snprintf(two, sizeof(two), "%sx", uuid);
	EXPECT_EQ(-EINVAL, vc_write_file(path, two));
	EXPECT_EQ(0, strcmp(state_of(uuid), "idle"));
	EXPECT_EQ(19, vc_available("small"));
	EXPECT_EQ(0, vc_remove(uuid));
	EXPECT_EQ(-ENOENT, vc_remove(uuid));
	EXPECT_EQ(20, vc_available("small"));
}

FIXTURE(dev) {
	struct vc c;
	char uuid[40];
};

FIXTURE_SETUP(dev)
{
	ASSERT_EQ(0, vc_create("large", self->uuid));
	ASSERT_EQ(0, vc_open(&self->c, self->uuid));
	ASSERT_EQ(0, vc_wq_setup(&self->c, 0, 64));
}

FIXTURE_TEARDOWN(dev)
{
	vc_close(&self->c);
	EXPECT_EQ(0, vc_remove(self->uuid));
}

TEST_F(dev, identity_and_config_space)
{
	struct vc *c = &self->c;
	uint32_t v;

	EXPECT_EQ(VPA_VERSION, vc_reg(c, VPA_REG_VERSION));
	EXPECT_EQ(4, vc_reg(c, VPA_REG_NR_WQS));
	EXPECT_EQ(8, vc_reg(c, VPA_REG_NR_VECS));
	EXPECT_EQ(20, vc_reg(c, VPA_REG_ENG_SHARE));
	ASSERT_EQ(0, vc_rd(c, -1, 0, &v));
	EXPECT_EQ(VPA_PCI_VENDOR_ID | (VPA_PCI_DEVICE_ID << 16), v);
	/* the identity stays in QEMU's experimental range 1af4:10f0..10ff */
	EXPECT_EQ(0x1af4, v & 0xffff);
	EXPECT_EQ(0x10f0, (v >> 16) & 0xfff0);
	ASSERT_EQ(0, vc_rd(c, -1, 0x08, &v));	/* revision, class */
	EXPECT_EQ(VPA_PCI_CLASS, v >> 8);
	ASSERT_EQ(0, vc_rd(c, -1, 0x2c, &v));	/* subsystem */
	EXPECT_EQ(VPA_PCI_VENDOR_ID | (VPA_PCI_DEVICE_ID << 16), v);
	/* BAR sizing */
	ASSERT_EQ(0, vc_wr(c, -1, 0x10, 0xffffffff));
	ASSERT_EQ(0, vc_rd(c, -1, 0x10, &v));
	EXPECT_EQ(~(uint32_t)(VPA_BAR0_SIZE - 1) | 4, v);
	/* read-only field: ignored and counted */
	ASSERT_EQ(0, vc_wr(c, -1, 0, 0x12345678));
	ASSERT_EQ(0, vc_rd(c, -1, 0, &v));
	EXPECT_EQ(VPA_PCI_VENDOR_ID | (VPA_PCI_DEVICE_ID << 16), v);
	EXPECT_EQ(1, vc_audit(self->uuid, "config_readonly"));
	/* outside config space, misaligned, odd sizes */
	EXPECT_EQ(-EINVAL, vc_wr(c, -1, 0x100, 0));
	EXPECT_EQ(-EINVAL, vc_wr(c, -1, 0xfe, 0));
	EXPECT_EQ(-1, pwrite(c->dev, &v, 3, c->reg_off[7] + 4));
	EXPECT_EQ(EINVAL, errno);
	/* MSI-X capability: 8 vectors */
	ASSERT_EQ(0, vc_rd(c, -1, 0x40, &v));
	EXPECT_EQ(0x11, v & 0xff);
	EXPECT_EQ(7, (v >> 16) & 0x7ff);
}

TEST_F(dev, copy_fill_compare_crc)
{
	struct vc *c = &self->c;
	struct vpa_completion cr;
	struct vpa_desc d;
	uint8_t *src = c->mem + VC_DATA_OFF, *dst = src + 0x100000;
	uint32_t len = 0x30000 + 123, i;

	for (i = 0; i < len; i++)
		src[i] = random();
	memset(dst, 0, len + 64);

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = len;
	d.src = vc_iova(VC_DATA_OFF) + 0;
	d.dst = vc_iova(VC_DATA_OFF + 0x100000) + 0;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(len, cr.bytes_done);
	EXPECT_EQ(0, memcmp(src, dst, len));
	EXPECT_EQ(0, dst[len]);

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_COMPARE;
	d.size = len;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = vc_iova(VC_DATA_OFF + 0x100000);
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(0, cr.result);
	dst[77777] ^= 0x40;
	d.flags = 0;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(1, cr.result);
	EXPECT_EQ(77777, cr.bytes_done);

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_CRC32C;
	d.size = len;
	d.src = vc_iova(VC_DATA_OFF);
	d.crc_seed = 0xffffffff;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(vc_crc32c(0xffffffff, src, len), cr.result);

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_FILL;
	d.size = 5000;
	d.dst = vc_iova(VC_DATA_OFF + 0x100000) + 3;
	d.pattern = 0x0123456789abcdefULL;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	for (i = 0; i < 5000; i++)
		ASSERT_EQ((uint8_t)(d.pattern >> (8 * (i & 7))), dst[3 + i])
			TH_LOG("byte %u", i);
	EXPECT_EQ(src[5003], dst[5003]);
	EXPECT_EQ(5, vc_audit(self->uuid, "completed"));
	EXPECT_EQ(0, vc_audit(self->uuid, "dma_unmapped"));
}

TEST_F(dev, interrupts_and_status_page)
{
	struct vc *c = &self->c;
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vpa_completion cr;
	struct vpa_desc d = { .opcode = VPA_OP_NOP, .flags = VPA_DESC_F_IRQ };
	uint64_t cnt;
	uint32_t *stat;
	int efd;

	ASSERT_EQ(0, ioctl(c->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii));
	EXPECT_EQ(8, ii.count);
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 3;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(int));
	ASSERT_EQ(0, ioctl(c->dev, VFIO_DEVICE_SET_IRQS, set));
	ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_CTRL, 0));
	ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_VEC, 3));
	ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_CTRL, 1));
	c->tail = 0;
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_VEC, 8));

	/* the status page maps read-only, never writable */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, c->dev, c->reg_off[4]));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, c->dev,
				   c->reg_off[0]));
	stat = mmap(NULL, 4096, PROT_READ, MAP_SHARED, c->dev, c->reg_off[4]);
	ASSERT_NE(MAP_FAILED, stat);
	EXPECT_NE(0, mprotect((void *)stat, 4096, PROT_READ | PROT_WRITE));

	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_TRUE(wait_readable(efd, 2000));
	EXPECT_EQ(8, read(efd, &cnt, 8));
	EXPECT_EQ(1, __atomic_load_n(&stat[VPA_STAT_WQ_HEAD(0) / 4],
				     __ATOMIC_ACQUIRE));
	EXPECT_EQ(1, __atomic_load_n(&stat[VPA_STAT_DONE_LO / 4],
				     __ATOMIC_ACQUIRE));
	EXPECT_EQ(1, vc_reg(c, VPA_REG_WQ(0) + VPA_WQ_HEAD));

	/* a descriptor without F_IRQ raises nothing */
	d.flags = 0;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_FALSE(wait_readable(efd, 200));
	munmap((void *)stat, 4096);

	/* MSI cannot be set while MSI-X is in use */
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_SET_IRQS, set));
	EXPECT_EQ(EBUSY, errno);
	close(efd);
}

TEST_F(dev, dma_to_unmapped_or_readonly_refused)
{
	struct vc *c = &self->c;
	uint64_t ro_iova = 0x200000000ULL, far = 0x300000000ULL;
	struct vpa_completion cr;
	struct vpa_desc d;
	uint8_t *ro;

	ro = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0x5a, 65536);
	ASSERT_EQ(0, vc_map(c, ro, ro_iova, 65536, false));
	/* windows allow everything: the container must refuse */
	ASSERT_EQ(0, vc_win(c, 1, ro_iova, 65536, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_win(c, 2, far, 65536, VPA_WIN_ALL));
	memset(c->mem + VC_DATA_OFF, 0xa5, 8192);

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 8192;
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = far + 4096;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	EXPECT_EQ(far + 4096, cr.fault_addr);
	EXPECT_EQ(1, vc_audit(self->uuid, "dma_unmapped"));

	d.src = far;
	d.dst = vc_iova(VC_DATA_OFF + 65536);
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_READ, cr.status);
	EXPECT_EQ(2, vc_audit(self->uuid, "dma_unmapped"));

	d.src = vc_iova(VC_DATA_OFF);
	d.dst = ro_iova;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	EXPECT_EQ(1, vc_audit(self->uuid, "dma_readonly"));
	EXPECT_EQ(0x5a, ro[0]);
	EXPECT_EQ(0x5a, ro[8191]);

	/* reading the read-only mapping is fine */
	d.src = ro_iova;
	d.dst = vc_iova(VC_DATA_OFF);
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(0x5a, c->mem[VC_DATA_OFF + 8191]);
	EXPECT_LE(3, vc_reg(c, VPA_REG_DMA_FAULTS));

	/* unmapping drops the device's pins; DMA there then fails */
	ASSERT_EQ(0, vc_unmap(c, ro_iova, 65536));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_READ, cr.status);
	munmap(ro, 65536);
}

/* A protection mask of <mdev>/vpa/, -1 if unreadable. */
static long prot(const char *uuid, const char *file)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vpa/%s", uuid,
		 file);
	if (vc_read_str(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 16);
}

TEST_F(dev, dma_windows_and_protection)
{
	static const struct {
		const char *val;
		int err;
	} bad[] = {
		{ "100", -ERANGE },	/* window 8: not owned */
		{ "ffffffff", -ERANGE },
		{ "100000000", -EINVAL },	/* beyond 32 bits */
		{ "win 1 1", -EINVAL },	/* the old command */
		{ "-1", -EINVAL },
		{ "\n", -EINVAL },
		{ "bogus", -EINVAL },
	};
	unsigned int i;
	struct vc *c = &self->c;
	struct vpa_completion cr;
	struct vpa_desc d;

	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_FILL;
	d.size = 4096;
	d.dst = vc_iova(VC_DATA_OFF);
	/* window 0 covers only the first MiB now: data is outside */
	ASSERT_EQ(0, vc_win(c, 0, VC_MEM_IOVA, 0x100000, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	EXPECT_EQ(1, vc_audit(self->uuid, "dma_window"));
	/* window 1 read-only over the data */
	ASSERT_EQ(0, vc_win(c, 1, vc_iova(VC_DATA_OFF), 0x100000,
			    VPA_WIN_READ));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	ASSERT_EQ(0, vc_win(c, 1, vc_iova(VC_DATA_OFF), 0x100000,
			    VPA_WIN_ALL));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	/* the host takes write permission away: the guest cannot undo it */
	EXPECT_EQ(0xff, prot(self->uuid, "win_readable"));	/* 8 windows */
	EXPECT_EQ(0xff, prot(self->uuid, "win_writable"));
	ASSERT_EQ(0, vc_mdev_write(self->uuid, "vpa/win_writable", "fd"));
	EXPECT_EQ(0xfd, prot(self->uuid, "win_writable"));
	EXPECT_EQ(0xff, prot(self->uuid, "win_readable"));
	EXPECT_EQ(VPA_WIN_READ, vc_reg(c, VPA_REG_WIN(1) + VPA_WIN_ATTR));
	ASSERT_EQ(0, vc_win(c, 1, vc_iova(VC_DATA_OFF), 0x100000,
			    VPA_WIN_ALL));
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	/* bad masks are refused and change nothing */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(bad[i].err, vc_mdev_write(self->uuid,
						    "vpa/win_writable",
						    bad[i].val))
			TH_LOG("win_writable '%s'", bad[i].val);
		EXPECT_EQ(bad[i].err, vc_mdev_write(self->uuid,
						    "vpa/win_readable",
						    bad[i].val));
	}
	EXPECT_EQ(0xfd, prot(self->uuid, "win_writable"));
	EXPECT_EQ(0xff, prot(self->uuid, "win_readable"));
	/* the host stops submission on wq 0: the doorbell is refused */
	EXPECT_EQ(0xf, prot(self->uuid, "wq_submit"));	/* 4 queues */
	EXPECT_EQ(-ERANGE, vc_mdev_write(self->uuid, "vpa/wq_submit", "1f"));
	EXPECT_EQ(-EINVAL, vc_mdev_write(self->uuid, "vpa/wq_submit", "wq"));
	EXPECT_EQ(0xf, prot(self->uuid, "wq_submit"));
	ASSERT_EQ(0, vc_mdev_write(self->uuid, "vpa/wq_submit", "0xe"));
	EXPECT_EQ(0xe, prot(self->uuid, "wq_submit"));
	EXPECT_EQ(-EPERM, vc_wr(c, 2, 0, 1));
	ASSERT_EQ(0, vc_mdev_write(self->uuid, "vpa/wq_submit", "f"));
	/* windows must be page aligned; unknown attribute bits refused */
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WIN(1) + VPA_WIN_BASE_LO, 5));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WIN(1) + VPA_WIN_ATTR, 4));
}

TEST_F(dev, malformed_descriptors)
{
	struct vc *c = &self->c;
	struct vpa_completion cr;
	struct vpa_desc d;
	static const struct {
		uint8_t op, flags;
		uint32_t size;
		int field;	/* 1 rsvd0, 2 rsvd1, 3 rsvd2 */
		uint8_t status;
	} bad[] = {
		{ 9, 0, 64, 0, VPA_CS_BAD_OPCODE },
		{ 255, 0, 64, 0, VPA_CS_BAD_OPCODE },
		{ VPA_OP_MEMMOVE, 0x80, 64, 0, VPA_CS_BAD_FLAGS },
		{ VPA_OP_MEMMOVE, 0, 64, 1, VPA_CS_BAD_RSVD },
		{ VPA_OP_MEMMOVE, 0, 64, 2, VPA_CS_BAD_RSVD },
		{ VPA_OP_MEMMOVE, 0, 64, 3, VPA_CS_BAD_RSVD },
		{ VPA_OP_MEMMOVE, 0, 0, 0, VPA_CS_BAD_SIZE },
		{ VPA_OP_FILL, 0, VPA_MAX_XFER + 1, 0, VPA_CS_BAD_SIZE },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&d, 0, sizeof(d));
		d.opcode = bad[i].op;
		d.flags = bad[i].flags;
		d.size = bad[i].size;
		d.src = vc_iova(VC_DATA_OFF);
		d.dst = vc_iova(VC_DATA_OFF + 4096);
		if (bad[i].field == 1)
			d.rsvd0 = 1;
		if (bad[i].field == 2)
			d.rsvd1 = 1;
		if (bad[i].field == 3)
			d.rsvd2[1] = 1;
		ASSERT_EQ(0, vc_run(c, &d, &cr));
		EXPECT_EQ(bad[i].status, cr.status) TH_LOG("case %u", i);
	}
	EXPECT_EQ(ARRAY_SIZE(bad), vc_audit(self->uuid, "bad_descriptor"));
	/* the queue still works */
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_NOP;
	ASSERT_EQ(0, vc_run(c, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
}

TEST_F(dev, bad_registers_and_ioctls)
{
	struct vc *c = &self->c;
	struct vfio_region_info ri = { .argsz = 8, .index = 0 };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_irq_set set = { .argsz = sizeof(set) };
	uint32_t v;
	uint16_t h = 0;

	/* queues and doorbells the adapter does not own */
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(4) + VPA_WQ_SIZE, 8));
	EXPECT_EQ(-EINVAL, vc_rd(c, 0, VPA_REG_WQ(15) + VPA_WQ_HEAD, &v));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WIN(8) + VPA_WIN_ATTR, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 2, 4 * VPA_BAR2_PAGE, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 2, VPA_BAR2_SIZE, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 2, 8, 1));
	/* doorbell 1 rings no queue; a tail beyond the ring */
	EXPECT_EQ(-EINVAL, vc_wr(c, 2, VPA_BAR2_PAGE, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 2, 0, 64));
	/* bad values and read-only registers */
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_CTRL, 0x100));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_VERSION, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(1) + VPA_WQ_SIZE, 3));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(1) + VPA_WQ_SIZE, 8192));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_SIZE, 8));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(1) + VPA_WQ_RING_LO, 8));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(1) + VPA_WQ_CTRL, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_WQ(0) + VPA_WQ_HEAD, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_BAR0_SIZE, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 4, 0, 1));
	EXPECT_EQ(-EINVAL, vc_wr(c, 0, VPA_REG_CTRL + 1, 1));
	EXPECT_EQ(-1, pwrite(c->dev, &h, 2, c->reg_off[0] + VPA_REG_CTRL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(c->dev, &v, 4, 5ULL << 40));
	EXPECT_EQ(VPA_ERR_REG, vc_reg(c, VPA_REG_ERR));
	EXPECT_TRUE(vc_reg(c, VPA_REG_STATUS) & VPA_STS_ERROR);
	ASSERT_EQ(0, vc_wr(c, 0, VPA_REG_ERR, 1));
	EXPECT_EQ(0, vc_reg(c, VPA_REG_ERR));
	EXPECT_LE(15, vc_audit(self->uuid, "bad_mmio"));

	/* ioctls: unknown, short argsz, bad indexes */
	EXPECT_EQ(-1, ioctl(c->dev, _IO(VFIO_TYPE, VFIO_BASE + 90)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &ri));
	EXPECT_EQ(EINVAL, errno);
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_NUM_REGIONS;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &ri));
	EXPECT_EQ(EINVAL, errno);
	di.argsz = 4;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_GET_INFO, &di));
	EXPECT_EQ(EINVAL, errno);
	di.argsz = sizeof(di) + 64;	/* larger argsz is fine */
	ASSERT_EQ(0, ioctl(c->dev, VFIO_DEVICE_GET_INFO, &di));
	EXPECT_TRUE(di.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_EQ(VFIO_PCI_NUM_REGIONS, di.num_regions);
	set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.index = VFIO_PCI_INTX_IRQ_INDEX;
	set.count = 1;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_SET_IRQS, &set));
	EXPECT_EQ(EINVAL, errno);
	set.index = VFIO_PCI_MSIX_IRQ_INDEX;
	set.start = 7;
	set.count = 2;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_SET_IRQS, &set));
	EXPECT_EQ(EINVAL, errno);
	set.flags = 0x8000 | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.count = 1;
	EXPECT_EQ(-1, ioctl(c->dev, VFIO_DEVICE_SET_IRQS, &set));
	EXPECT_EQ(EINVAL, errno);

	/* reset: queues back to power-on state */
	ASSERT_EQ(0, ioctl(c->dev, VFIO_DEVICE_RESET));
	EXPECT_EQ(0, vc_reg(c, VPA_REG_WQ(0) + VPA_WQ_CTRL));
	EXPECT_EQ(0, vc_reg(c, VPA_REG_CTRL));
}

/* Two virtual adapters in two containers cannot reach each other. */
TEST(isolation_between_adapters)
{
	uint64_t b_only = 0x500000000ULL;
	struct vc a, b;
	char ua[40], ub[40], path[256], rid[16];
	uint8_t *secret;
	struct vpa_completion cr;
	struct vpa_desc d;
	unsigned int rid_a;
	long before;

	ASSERT_EQ(0, vc_create("large", ua));
	ASSERT_EQ(0, vc_create("large", ub));
	ASSERT_EQ(0, vc_open(&a, ua));
	ASSERT_EQ(0, vc_open(&b, ub));
	ASSERT_EQ(0, vc_wq_setup(&a, 0, 64));
	ASSERT_EQ(0, vc_wq_setup(&b, 0, 64));
	EXPECT_NE(vc_reg(&a, VPA_REG_RID), vc_reg(&b, VPA_REG_RID));

	/*
	 * b's memory at an IOVA only b's container maps; a's window lets
	 * the engine try, a's container must refuse
	 */
	secret = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, secret);
	memset(secret, 0x77, 65536);
	ASSERT_EQ(0, vc_map(&b, secret, b_only, 65536, true));
	ASSERT_EQ(0, vc_win(&a, 1, b_only, 65536, VPA_WIN_ALL));
	ASSERT_EQ(0, vc_win(&b, 1, b_only, 65536, VPA_WIN_ALL));
	memset(&d, 0, sizeof(d));
	d.opcode = VPA_OP_MEMMOVE;
	d.size = 4096;
	d.src = b_only;
	d.dst = vc_iova(VC_DATA_OFF);
	ASSERT_EQ(0, vc_run(&a, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_READ, cr.status);
	EXPECT_NE(0x77, a.mem[VC_DATA_OFF]);
	d.src = vc_iova(VC_DATA_OFF);
	d.dst = b_only;
	ASSERT_EQ(0, vc_run(&a, &d, &cr));
	EXPECT_EQ(VPA_CS_DMA_WRITE, cr.status);
	EXPECT_EQ(0x77, secret[0]);
	/* b itself reaches it */
	d.src = b_only;
	d.dst = vc_iova(VC_DATA_OFF);
	ASSERT_EQ(0, vc_run(&b, &d, &cr));
	EXPECT_EQ(VPA_CS_SUCCESS, cr.status);
	EXPECT_EQ(0x77, b.mem[VC_DATA_OFF + 4095]);
	EXPECT_EQ(2, vc_audit(ua, "dma_unmapped"));
	EXPECT_EQ(0, vc_audit(ub, "dma_unmapped"));

	/* a's queues and doorbells end at its own */
	EXPECT_EQ(-EINVAL, vc_wr(&a, 0, VPA_REG_WQ(4) + VPA_WQ_CTRL, 1));
	EXPECT_EQ(-EINVAL, vc_wr(&a, 2, 4 * VPA_BAR2_PAGE, 1));

	/* the back end refuses a's requester id on b's queue (global 4) */
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vpa/rid", ua);
	ASSERT_LT(0, vc_read_str(path, rid, sizeof(rid)));
	rid_a = strtoul(rid, NULL, 16);
	EXPECT_EQ(rid_a, vc_reg(&a, VPA_REG_RID));
	snprintf(path, sizeof(path), "/sys/kernel/debug/vpa/%s/inject",
		 strrchr(vc_parent(), '/') + 1);
	before = vc_parent_long("vpa_rid_rejects");
	snprintf(rid, sizeof(rid), "%x 4 1", rid_a);
	EXPECT_EQ(-EPERM, vc_write_file(path, rid));
	snprintf(rid, sizeof(rid), "%x 0 1", rid_a + 1);	/* b's rid */
	EXPECT_EQ(-EPERM, vc_write_file(path, rid));
	EXPECT_EQ(before + 2, vc_parent_long("vpa_rid_rejects"));
	/* the right requester id passes the check (queue 0 of a: global 0) */
	snprintf(rid, sizeof(rid), "%x 0 2", rid_a);
	EXPECT_EQ(0, vc_write_file(path, rid));
	EXPECT_EQ(before + 2, vc_parent_long("vpa_rid_rejects"));

	vc_close(&a);
	vc_close(&b);
	munmap(secret, 65536);
	EXPECT_EQ(0, vc_remove(ua));
	EXPECT_EQ(0, vc_remove(ub));
}

/* Direct destroy while the device is open: bounded, resources back. */
TEST(destroy_while_open)
{
	char u[3][40], path[256];
	struct vfio_device_info di = { .argsz = sizeof(di) };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	struct vpa_desc d[32];
	struct vc c;
	uint64_t t0, ms;
	uint32_t v;
	int efd, i;

	ASSERT_EQ(0, vc_create("large", u[0]));
	ASSERT_EQ(0, vc_create("large", u[1]));
	ASSERT_EQ(0, vc_create("small", u[2]));
	EXPECT_EQ(2, vc_available("large"));	/* engine: 55% left */
	ASSERT_EQ(0, vc_open(&c, u[0]));
	ASSERT_EQ(0, vc_wq_setup(&c, 0, 64));
	efd = eventfd(0, EFD_NONBLOCK);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(int));
	ASSERT_EQ(0, ioctl(c.dev, VFIO_DEVICE_SET_IRQS, set));
	/* keep the engine busy while we destroy */
	memset(d, 0, sizeof(d));
	for (i = 0; i < 32; i++) {
		d[i].opcode = VPA_OP_MEMMOVE;
		d[i].size = 0x40000;
		d[i].src = vc_iova(VC_DATA_OFF);
		d[i].dst = vc_iova(VC_DATA_OFF + 0x100000);
	}
	ASSERT_EQ(0, vc_submit(&c, d, 32));

	snprintf(path, sizeof(path), "%s/vpa_destroy", vc_parent());
	t0 = vc_now_ns();
	ASSERT_EQ(0, vc_write_file(path, u[0]));
	ASSERT_EQ(0, vc_write_file(path, u[1]));
	ms = (vc_now_ns() - t0) / 1000000;
	EXPECT_GT(5000, ms) TH_LOG("destroy took %llu ms",
				   (unsigned long long)ms);
	EXPECT_TRUE(wait_readable(efd, 1000));
	EXPECT_EQ(4, vc_available("large"));	/* small holds 5% */
	EXPECT_EQ(-ENODEV, vc_rd(&c, 0, VPA_REG_VERSION, &v));
	EXPECT_EQ(-1, ioctl(c.dev, VFIO_DEVICE_GET_INFO, &di));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, strcmp(state_of(u[0]), "destroyed"));
	EXPECT_EQ(0, strcmp(state_of(u[1]), "destroyed"));
	EXPECT_EQ(0, strcmp(state_of(u[2]), "idle"));
	EXPECT_EQ(0, vc_mdev_long(u[0], "vpa/nr_wq"));	/* all 0 now */
	/* destroying again is harmless */
	snprintf(path, sizeof(path), "%s/vpa_destroy", vc_parent());
	EXPECT_EQ(0, vc_write_file(path, u[0]));
	vc_close(&c);
	close(efd);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, vc_remove(u[i]));
	EXPECT_EQ(32, vc_parent_free("wq"));
	EXPECT_EQ(64, vc_parent_free("vec"));
}

struct remover {
	const char *uuid;
	int ret;
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	r->ret = vc_remove(r->uuid);
	return NULL;
}

/* mdev remove while open asks the user (request eventfd), then finishes. */
TEST(remove_while_open)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	struct remover r = { .ret = 1 };
	char uuid[40];
	pthread_t th;
	struct vc c;
	int efd;

	ASSERT_EQ(0, vc_create("quarter", uuid));
	ASSERT_EQ(0, vc_open(&c, uuid));
	efd = eventfd(0, EFD_NONBLOCK);
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(int));
	ASSERT_EQ(0, ioctl(c.dev, VFIO_DEVICE_SET_IRQS, set));
	r.uuid = uuid;
	ASSERT_EQ(0, pthread_create(&th, NULL, remove_thread, &r));
	EXPECT_TRUE(wait_readable(efd, 5000));
	/* resources are back before the user lets go */
	EXPECT_EQ(4, vc_available("quarter"));
	vc_close(&c);
	pthread_join(th, NULL);
	EXPECT_EQ(0, r.ret);
	close(efd);
	EXPECT_EQ(-ENOENT, vc_remove(uuid));
}

TEST_HARNESS_MAIN
