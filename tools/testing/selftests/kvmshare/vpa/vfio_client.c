// SPDX-License-Identifier: GPL-2.0
/*
 * The vpa tests' VFIO client: see vfio_client.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vfio_client.h"

/* The adapter under test: $VPA_PARENT, default the first software one. */
const char *vc_parent(void)
{
	const char *p = getenv("VPA_PARENT");

	return p ? p : "/sys/class/vpa/vpa0";
}

/* mdev type directory names are "<driver>-<type>"; driver = module. */
static void vc_type_dir(const char *type, char *buf, size_t len)
{
	char name[256], link[256], *p;
	ssize_t n;

	/* a PCI adapter: its driver's name; a class device: vpaN -> vpa */
	snprintf(name, sizeof(name), "%s/driver", vc_parent());
	n = readlink(name, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		snprintf(name, sizeof(name), "%s", basename(link));
	} else {
		snprintf(name, sizeof(name), "%s", vc_parent());
	}
	p = basename(name);
	while (n <= 0 && *p && p[strlen(p) - 1] >= '0' && p[strlen(p) - 1] <= '9')
		p[strlen(p) - 1] = 0;
	snprintf(buf, len, "%s/mdev_supported_types/%s-%s", vc_parent(), p,
		 type);
}

int vc_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int vc_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

long vc_read_long(const char *path)
{
	char buf[64];

	if (vc_read_str(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 0);
}

int vc_available(const char *type)
{
	char dir[256], path[300];

	vc_type_dir(type, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/available_instances", dir);
	return vc_read_long(path);
}

int vc_create_uuid(const char *type, const char *uuid)
{
	char dir[256], path[300];

	vc_type_dir(type, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/create", dir);
	return vc_write_file(path, uuid);
}

int vc_create(const char *type, char *uuid)
{
	unsigned char r[16];
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, r, 16) != 16) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	sprintf(uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		r[10], r[11], r[12], r[13], r[14], r[15]);
	return vc_create_uuid(type, uuid);
}

int vc_remove(const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	return vc_write_file(path, "1");
}

/* <mdev>/FILE (e.g. "vpa/nr_wq") as a number, -1 if missing. */
long vc_mdev_long(const char *uuid, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/%s", uuid,
		 file);
	return vc_read_long(path);
}

/* Write @val to <mdev>/FILE: 0 or -errno. */
int vc_mdev_write(const char *uuid, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/%s", uuid,
		 file);
	return vc_write_file(path, val);
}

/* One counter of <mdev>/vpa_audit/, -1 if missing. */
long vc_audit(const char *uuid, const char *counter)
{
	char file[64];

	snprintf(file, sizeof(file), "vpa_audit/%s", counter);
	return vc_mdev_long(uuid, file);
}

/* <parent>/FILE (e.g. "vpa_rid_rejects") as a number, -1 if missing. */
long vc_parent_long(const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", vc_parent(), file);
	return vc_read_long(path);
}

/* Free count of one resource ("wq", ...): <parent>/vpa_<res>/free. */
long vc_parent_free(const char *res)
{
	char file[64];

	snprintf(file, sizeof(file), "vpa_%s/free", res);
	return vc_parent_long(file);
}

int vc_map(struct vc *c, void *va, uint64_t iova, uint64_t size, bool write)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ |
			 (write ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl(c->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

int vc_unmap(struct vc *c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	return ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

/*
 * Open the device @name of bus @bus ("mdev", "pci") the way a VMM does:
 * its IOMMU group, a type1v2 container of its own, the device fd; map
 * VC_MEM_SIZE bytes at VC_MEM_IOVA. On failure c->step names the step
 * that failed (for messages; the caller still calls vc_close()).
 */
static int vc_open_dev(struct vc *c, const char *bus, const char *name)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[128], link[128];
	int i, ret;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	c->container = -1;
	c->group = -1;
	c->dev = -1;
	snprintf(c->uuid, sizeof(c->uuid), "%s", name);
	c->step = "readlink iommu_group";
	snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s/iommu_group", bus,
		 name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	snprintf(c->group_path, sizeof(c->group_path), "/dev/vfio/%s",
		 basename(link));

	c->step = "open /dev/vfio/vfio";
	c->container = open("/dev/vfio/vfio", O_RDWR);
	if (c->container < 0)
		return -errno;
	c->step = "VFIO_CHECK_EXTENSION TYPE1v2";
	if (ioctl(c->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(c->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		return -ENOTSUP;
	c->step = "open the group";
	c->group = open(c->group_path, O_RDWR);
	if (c->group < 0)
		return -errno;
	c->step = "VFIO_GROUP_GET_STATUS";
	if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &st))
		return -errno;
	c->step = "group viable (every device in it bound to vfio)";
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	c->step = "VFIO_GROUP_SET_CONTAINER";
	if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container))
		return -errno;
	c->step = "VFIO_SET_IOMMU TYPE1v2";
	if (ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -errno;
	c->step = "VFIO_GROUP_GET_DEVICE_FD";
	c->dev = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (c->dev < 0)
		return -errno;
	c->step = "VFIO_DEVICE_GET_REGION_INFO";
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		if (ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
			/* vfio-pci: no VGA region but on a VGA device */
			if (errno == EINVAL && i == VFIO_PCI_VGA_REGION_INDEX)
				continue;
			return -errno;
		}
		c->reg_off[i] = ri.offset;
	}
	c->step = "mmap of the DMA memory";
	c->mem = mmap(NULL, VC_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (c->mem == MAP_FAILED) {
		c->mem = NULL;
		return -ENOMEM;
	}
	c->step = "VFIO_IOMMU_MAP_DMA";
	ret = vc_map(c, c->mem, VC_MEM_IOVA, VC_MEM_SIZE, true);
	if (ret)
		return ret;
	c->step = NULL;
	return 0;
}

/* Open the mdev @uuid: see vc_open_dev(). */
int vc_open(struct vc *c, const char *uuid)
{
	return vc_open_dev(c, "mdev", uuid);
}

/* Open the PCI function @bdf ("0000:03:00.2"), bound to vfio-pci. */
int vc_open_pci(struct vc *c, const char *bdf)
{
	return vc_open_dev(c, "pci", bdf);
}

void vc_close(struct vc *c)
{
	if (c->dev >= 0)
		close(c->dev);
	if (c->group >= 0)
		close(c->group);
	if (c->container >= 0)
		close(c->container);
	if (c->mem)
		munmap(c->mem, VC_MEM_SIZE);
	c->dev = -1;
	c->group = -1;
	c->container = -1;
	c->mem = NULL;
}

static int vc_region(int bar)
{
	return bar == -1 ? VFIO_PCI_CONFIG_REGION_INDEX : bar;
}

int vc_rd(struct vc *c, int bar, uint32_t off, uint32_t *val)
{
	ssize_t n = pread(c->dev, val, 4, c->reg_off[vc_region(bar)] + off);

	return n == 4 ? 0 : n < 0 ? -errno : -EIO;
}

int vc_wr(struct vc *c, int bar, uint32_t off, uint32_t val)
{
	ssize_t n = pwrite(c->dev, &val, 4, c->reg_off[vc_region(bar)] + off);

	return n == 4 ? 0 : n < 0 ? -errno : -EIO;
}

uint32_t vc_reg(struct vc *c, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	vc_rd(c, 0, off, &v);
	return v;
}

uint64_t vc_iova(uint32_t off)
{
	return VC_MEM_IOVA + off;
}

int vc_win(struct vc *c, int n, uint64_t base, uint64_t size, uint32_t attr)
{
	uint32_t w = VPA_REG_WIN(n);

	return vc_wr(c, 0, w + VPA_WIN_BASE_LO, (uint32_t)base) ?:
	       vc_wr(c, 0, w + VPA_WIN_BASE_HI, base >> 32) ?:
	       vc_wr(c, 0, w + VPA_WIN_SIZE_LO, (uint32_t)size) ?:
	       vc_wr(c, 0, w + VPA_WIN_SIZE_HI, size >> 32) ?:
	       vc_wr(c, 0, w + VPA_WIN_ATTR, attr);
}

/* Enable the adapter, window 0 over all our memory, work queue @wq. */
int vc_wq_setup(struct vc *c, int wq, uint32_t size)
{
	uint32_t q = VPA_REG_WQ(wq);
	uint64_t ring = vc_iova(VC_RING_OFF);

	c->ring_size = size;
	c->tail = 0;
	return vc_wr(c, 0, VPA_REG_CTRL, VPA_CTRL_ENABLE) ?:
	       vc_win(c, 0, VC_MEM_IOVA, VC_MEM_SIZE, VPA_WIN_ALL) ?:
	       vc_wr(c, 0, q + VPA_WQ_RING_LO, (uint32_t)ring) ?:
	       vc_wr(c, 0, q + VPA_WQ_RING_HI, ring >> 32) ?:
	       vc_wr(c, 0, q + VPA_WQ_SIZE, size) ?:
	       vc_wr(c, 0, q + VPA_WQ_DB, 0) ?:
	       vc_wr(c, 0, q + VPA_WQ_CTRL, VPA_WQ_CTRL_ENABLE);
}

struct vpa_completion *vc_compl(struct vc *c, unsigned int slot)
{
	return (struct vpa_completion *)(c->mem + VC_COMPL_OFF + slot * 32);
}

/* Put @n descriptors in the ring of work queue 0 and ring doorbell 0. */
int vc_submit(struct vc *c, const struct vpa_desc *d, int n)
{
	struct vpa_desc *ring = (struct vpa_desc *)(c->mem + VC_RING_OFF);
	int i;

	for (i = 0; i < n; i++) {
		ring[c->tail] = d[i];
		c->tail = (c->tail + 1) & (c->ring_size - 1);
	}
	__sync_synchronize();
	return vc_wr(c, 2, 0, c->tail);
}

uint64_t vc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Wait until completion record @slot is written. */
int vc_wait(struct vc *c, unsigned int slot, int ms)
{
	struct vpa_completion *cr = vc_compl(c, slot);
	uint64_t end = vc_now_ns() + ms * 1000000ULL;

	while (!__atomic_load_n(&cr->status, __ATOMIC_ACQUIRE)) {
		if (vc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(50);
	}
	return 0;
}

/* Run one descriptor with a completion record; copy the record out. */
int vc_run(struct vc *c, struct vpa_desc *d, struct vpa_completion *out)
{
	unsigned int slot = c->tail;
	int ret;

	memset(vc_compl(c, slot), 0, 32);
	d->flags |= VPA_DESC_F_COMPL;
	d->completion = vc_iova(VC_COMPL_OFF + slot * 32);
	ret = vc_submit(c, d, 1);
	if (ret)
		return ret;
	ret = vc_wait(c, slot, 5000);
	if (!ret && out)
		*out = *vc_compl(c, slot);
	return ret;
}

uint32_t vc_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;
	int k;

	while (len--) {
		crc ^= *b++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & -(crc & 1));
	}
	return crc;
}
