/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmshare: shared memory pool for KVM guests - internal interfaces.
 *
 * Objects and lifetimes:
 *
 *  struct kvmshare_pool   one per mount (sb->s_fs_info). Its kobject
 *                         (/sys/fs/kvmshare/<name>) holds the memory; the
 *                         super block holds one reference, each partition's
 *                         kobject one more (as its parent's child).
 *  struct kvmshare_part   one per partition file. The kobject
 *                         (/sys/fs/kvmshare/<pool>/partitions/<file>) holds
 *                         the memory; the inode holds one reference, dropped
 *                         when the inode is evicted.
 *
 * Locks, outermost first:
 *
 *  mapping->invalidate_lock   (per inode) exclusive for truncation and
 *                             hole punching, shared in the fault and read
 *                             paths: no page leaves a file while a fault
 *                             or a read of it is between lookup and use.
 *  page lock                  held by a fault from the lookup until the
 *                             PTE is installed; removal takes it after
 *                             unmapping, so a racing fault's PTE is seen
 *                             and unmapped again.
 *  part->pages xa_lock        the page array (xarray internal lock).
 *  pool->lock (spinlock)      the page counts of the pool and of every
 *                             partition in it, and pool->parts.
 */
#ifndef _KVMSHARE_POOL_H
#define _KVMSHARE_POOL_H

#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include <uapi/linux/kvmshare.h>

#define KVMSHARE_NAME_LEN	32

/* Per-partition event counters, exported in sysfs and by ioctl. */
struct kvmshare_part_counters {
	atomic64_t faults;		/* faults handled */
	atomic64_t fault_failures;	/* faults refused: pool or limit */
	atomic64_t allocated;		/* pages taken from the pool */
	atomic64_t punched;		/* pages freed by PUNCH_HOLE */
	atomic64_t truncated;		/* pages freed by truncation/unlink */
};

struct kvmshare_pool {
	struct kobject kobj;		/* /sys/fs/kvmshare/<name> */
	struct kobject *parts_kobj;	/* .../<name>/partitions */
	struct super_block *sb;
	int id;				/* from kvmshare_pool_ida */
	char name[KVMSHARE_NAME_LEN];

	spinlock_t lock;		/* everything below */
	u64 size_pages;			/* mount option size= */
	u64 reserve_pages;		/* mount option reserve= */
	u64 used_pages;			/* sum of partitions' resident */
	u64 entitled_pages;		/* sum of partitions' entitlement */
	u64 owed_pages;			/* sum of max(0, ent - resident) */
	struct list_head parts;		/* struct kvmshare_part.node */
	unsigned long nr_parts;

	atomic64_t fault_failures;	/* faults refused in this pool */
};

struct kvmshare_part {
	struct kobject kobj;		/* .../partitions/<file name> */
	struct kvmshare_pool *pool;
	struct list_head node;		/* in pool->parts, under pool->lock */
	struct xarray pages;		/* index -> struct page, one ref */

	/* Under pool->lock. */
	u64 resident;			/* pages in @pages */
	u64 entitlement;		/* guaranteed pages */
	u64 limit;			/* most resident pages, 0: no limit */
	u32 weight;

	struct kvmshare_part_counters cnt;
};

/* Partition state of an inode: embeds the VFS inode. */
struct kvmshare_inode {
	struct kvmshare_part *part;	/* NULL for the root directory */
	struct inode vfs_inode;
};

static inline struct kvmshare_inode *KVMSHARE_I(struct inode *inode)
{
	return container_of(inode, struct kvmshare_inode, vfs_inode);
}

static inline struct kvmshare_part *kvmshare_part_of(struct inode *inode)
{
	return KVMSHARE_I(inode)->part;
}

static inline struct kvmshare_pool *kvmshare_pool_of(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* pool_main.c */
extern struct kset *kvmshare_kset;

/* pool_part.c: partitions and their pages */
struct kvmshare_part *kvmshare_part_create(struct kvmshare_pool *pool,
					   const char *name);
void kvmshare_part_destroy(struct kvmshare_part *part);
void kvmshare_part_unlinked(struct kvmshare_part *part);
int kvmshare_part_rename(struct kvmshare_part *part, const char *name);
struct page *kvmshare_part_get_page(struct kvmshare_part *part, pgoff_t index,
				    bool alloc, int *err);
u64 kvmshare_part_remove_range(struct kvmshare_part *part,
			       struct address_space *mapping,
			       pgoff_t start, pgoff_t end);
int kvmshare_part_set_attr(struct kvmshare_part *part,
			   const struct kvmshare_part_attr *attr);
void kvmshare_part_get_attr(struct kvmshare_part *part,
			    struct kvmshare_part_attr *attr);
void kvmshare_part_get_counters(struct kvmshare_part *part,
				struct kvmshare_part_stats *st);
void kvmshare_pool_get_info(struct kvmshare_pool *pool,
			    struct kvmshare_pool_info *info);
int kvmshare_pool_resize(struct kvmshare_pool *pool, u64 size_pages,
			 u64 reserve_pages);

/* pool_file.c: file, inode and directory operations */
extern const struct file_operations kvmshare_file_ops;
extern const struct inode_operations kvmshare_file_iops;
extern const struct file_operations kvmshare_dir_ops;
extern const struct inode_operations kvmshare_dir_iops;

#endif /* _KVMSHARE_POOL_H */
