/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small user-space VFIO client standing in for the VMM in the vpa
 * tests: mdev create/remove through sysfs, a type1 container with DMA
 * mappings, the device fd, register access, work queue setup and
 * descriptor submission.
 */
#ifndef _VPA_VFIO_CLIENT_H
#define _VPA_VFIO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>
#include <linux/vpa.h>

#define VC_MEM_IOVA	0x100000000ULL	/* where vc_open() maps its memory */
#define VC_MEM_SIZE	(4u << 20)
#define VC_RING_OFF	0		/* ring at the start of the memory */
#define VC_COMPL_OFF	0x10000		/* completion records */
#define VC_DATA_OFF	0x100000	/* data buffers from here */

struct vc {
	int container;
	int group;
	int dev;
	char uuid[40];		/* the mdev's uuid or the PCI function's BDF */
	char group_path[32];	/* /dev/vfio/<group> */
	const char *step;	/* the step vc_open*() failed at, or NULL */
	uint8_t *mem;		/* VC_MEM_SIZE bytes at VC_MEM_IOVA */
	uint64_t reg_off[VFIO_PCI_NUM_REGIONS];
	uint32_t ring_size;
	uint32_t tail;
};

/* sysfs */
const char *vc_parent(void);
int vc_write_file(const char *path, const char *s);
long vc_read_long(const char *path);
int vc_read_str(const char *path, char *buf, size_t len);
int vc_available(const char *type);
int vc_create(const char *type, char *uuid);
int vc_create_uuid(const char *type, const char *uuid);
int vc_remove(const char *uuid);
long vc_mdev_long(const char *uuid, const char *file);
int vc_mdev_write(const char *uuid, const char *file, const char *val);
long vc_audit(const char *uuid, const char *counter);
long vc_parent_long(const char *file);
long vc_parent_free(const char *res);

/* VFIO */
int vc_open(struct vc *c, const char *uuid);
int vc_open_pci(struct vc *c, const char *bdf);
void vc_close(struct vc *c);
int vc_map(struct vc *c, void *va, uint64_t iova, uint64_t size, bool write);
int vc_unmap(struct vc *c, uint64_t iova, uint64_t size);
int vc_rd(struct vc *c, int bar, uint32_t off, uint32_t *val);
int vc_wr(struct vc *c, int bar, uint32_t off, uint32_t val);
uint32_t vc_reg(struct vc *c, uint32_t off);

/* Adapter */
int vc_win(struct vc *c, int n, uint64_t base, uint64_t size, uint32_t attr);
int vc_wq_setup(struct vc *c, int wq, uint32_t size);
struct vpa_completion *vc_compl(struct vc *c, unsigned int slot);
int vc_submit(struct vc *c, const struct vpa_desc *d, int n);
int vc_wait(struct vc *c, unsigned int slot, int ms);
int vc_run(struct vc *c, struct vpa_desc *d, struct vpa_completion *out);
uint64_t vc_iova(uint32_t off);

uint32_t vc_crc32c(uint32_t crc, const void *p, size_t len);
uint64_t vc_now_ns(void);

#endif /* _VPA_VFIO_CLIENT_H */
