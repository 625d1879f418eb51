// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: shared memory pool for KVM guests.
 *
 * A pool is an instance of the "kvmshare" filesystem; its size is a mount
 * option. A partition is a regular file in the pool whose pages all come
 * from the pool; a VMM maps it shared as guest RAM, so that every KVM fault
 * on that RAM is served by kvmshare_fault(). See
 * Documentation/admin-guide/pool.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>

#include "pool.h"
#include "pool_pager.h"

#define CREATE_TRACE_POINTS
#include "kvmshare_trace.h"

#define KVMSHARE_VERSION "0.1"

/* Default pool size, in percent of RAM, when no size= is given. */
#define KVMSHARE_DEFAULT_PERCENT 50

/*
 * Default permissions: guest RAM is nobody else's business. The root
 * directory is 1770 (the mounter's user and group; sticky: a member of the
 * group removes only its own files), new partitions get the creator's mode
 * less umask=077 (QEMU's 0644 becomes 0600). See
 * Documentation/admin-guide/pool.rst.
 */
#define KVMSHARE_DEFAULT_MODE	01770
#define KVMSHARE_DEFAULT_UMASK	0077

struct kset *kvmshare_kset;		/* /sys/fs/kvmshare */
struct dentry *kvmshare_debugfs;		/* <debugfs>/kvmshare */
static struct kmem_cache *kvmshare_inode_cache;
static DEFINE_IDA(kvmshare_pool_ida);
/* Serialises pool name checks with the pool's sysfs registration. */
static DEFINE_MUTEX(kvmshare_pools_mutex);

/* Mount options */

enum {
	KVMSHARE_OPT_SIZE,
	KVMSHARE_OPT_RESERVE,
	KVMSHARE_OPT_NAME,
	KVMSHARE_OPT_MODE,
	KVMSHARE_OPT_UID,
	KVMSHARE_OPT_GID,
	KVMSHARE_OPT_UMASK,
	KVMSHARE_OPT_HUGE,
};

/* huge=on|off only: "yes", "1" and the like are refused (EINVAL). */
static const struct constant_table kvmshare_huge_values[] = {
	{ "off",	0 },
	{ "on",		1 },
	{}
};

static const struct fs_parameter_spec kvmshare_fs_parameters[] = {
	fsparam_string("size", KVMSHARE_OPT_SIZE),
	fsparam_string("reserve", KVMSHARE_OPT_RESERVE),
	fsparam_string("name", KVMSHARE_OPT_NAME),
	fsparam_u32oct("mode", KVMSHARE_OPT_MODE),
	fsparam_u32("uid", KVMSHARE_OPT_UID),
	fsparam_u32("gid", KVMSHARE_OPT_GID),
	fsparam_u32oct("umask", KVMSHARE_OPT_UMASK),
	fsparam_enum("huge", KVMSHARE_OPT_HUGE, kvmshare_huge_values),
	{}
};

struct kvmshare_fs_context {
	u64 size_pages;
	u64 reserve_pages;
	bool size_set;
	bool reserve_set;
	char name[KVMSHARE_NAME_LEN];
	umode_t mode;
	umode_t umask;
	bool umask_set;
	bool huge;
	bool huge_set;
	kuid_t uid;
	kgid_t gid;
};

/* "<bytes>[KMGTPE]" or "<1..100>%" of RAM, in whole pages. */
static int kvmshare_parse_size(struct fs_context *fc, const char *key,
			       const char *s, u64 *pages)
{
	char *end;
	u64 v;

	if (!*s)
		goto bad;
	v = memparse(s, &end);
	if (*end == '%') {
		if (end[1] || v < 1 || v > 100)
			goto bad;
		*pages = div_u64((u64)totalram_pages() * v, 100);
		return 0;
	}
	if (*end)
		goto bad;
	*pages = v >> PAGE_SHIFT;
	return 0;
bad:
	return invalfc(fc, "bad %s '%s' (bytes with K/M/G suffix, or 1-100%%)",
		       key, s);
}

/*
 * A pool name is a sysfs directory and is shown in /proc/mounts: letters,
 * digits, '.', '_' and '-' only (a ',', a blank or a newline would forge
 * mount options or lines there), not starting with '.'.
 */
static bool kvmshare_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= KVMSHARE_NAME_LEN || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static int kvmshare_parse_param(struct fs_context *fc,
				struct fs_parameter *param)
{
	struct kvmshare_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	int opt, ret;

	opt = fs_parse(fc, kvmshare_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case KVMSHARE_OPT_SIZE:
		ret = kvmshare_parse_size(fc, "size", param->string,
					  &ctx->size_pages);
		if (ret)
			return ret;
		if (!ctx->size_pages)
			return invalfc(fc, "size must be at least one page");
		ctx->size_set = true;
		return 0;
	case KVMSHARE_OPT_RESERVE:
		ret = kvmshare_parse_size(fc, "reserve", param->string,
					  &ctx->reserve_pages);
		if (ret)
			return ret;
		ctx->reserve_set = true;
		return 0;
	case KVMSHARE_OPT_NAME:
		if (!kvmshare_name_ok(param->string))
			return invalfc(fc, "bad name '%*pE' (1-%d of A-Za-z0-9._-, no leading .)",
				       (int)min_t(size_t, strlen(param->string), 64),
				       param->string, KVMSHARE_NAME_LEN - 1);
		strscpy(ctx->name, param->string, sizeof(ctx->name));
		return 0;
	case KVMSHARE_OPT_MODE:
		ctx->mode = result.uint_32 & 01777;
		return 0;
	case KVMSHARE_OPT_UMASK:
		if (result.uint_32 & ~0777)
			return invalfc(fc, "bad umask %o (0-0777)",
				       result.uint_32);
		ctx->umask = result.uint_32;
		ctx->umask_set = true;
		return 0;
	case KVMSHARE_OPT_HUGE:
		ctx->huge = result.uint_32;
		ctx->huge_set = true;
		return 0;
	case KVMSHARE_OPT_UID:
		ctx->uid = make_kuid(current_user_ns(), result.uint_32);
		if (!uid_valid(ctx->uid))
			return invalfc(fc, "bad uid");
		return 0;
	case KVMSHARE_OPT_GID:
		ctx->gid = make_kgid(current_user_ns(), result.uint_32);
		if (!gid_valid(ctx->gid))
			return invalfc(fc, "bad gid");
		return 0;
	}
	return -EINVAL;
}

/* Pool sysfs: /sys/fs/kvmshare/<name>/ */

#define to_pool(k) container_of(k, struct kvmshare_pool, kobj)

/* Each file shows one u64 of struct kvmshare_pool_info. */
struct kvmshare_pool_sysfs {
	struct kobj_attribute kattr;
	size_t off;
};

static ssize_t kvmshare_pool_show(struct kobject *kobj,
				  struct kobj_attribute *kattr, char *buf)
{
	struct kvmshare_pool_sysfs *a =
		container_of(kattr, struct kvmshare_pool_sysfs, kattr);
	struct kvmshare_pool_info info;

	kvmshare_pool_get_info(to_pool(kobj), &info);
	return sysfs_emit(buf, "%llu\n", *(u64 *)((char *)&info + a->off));
}

#define KVMSHARE_POOL_SYSFS(_name, _field) {				\
	.kattr = __ATTR(_name, 0444, kvmshare_pool_show, NULL),		\
	.off = offsetof(struct kvmshare_pool_info, _field),		\
}

static struct kvmshare_pool_sysfs kvmshare_pool_sysfs[] = {
	KVMSHARE_POOL_SYSFS(size_pages, size_pages),
	KVMSHARE_POOL_SYSFS(reserve_pages, reserve_pages),
	KVMSHARE_POOL_SYSFS(used_pages, used_pages),
	KVMSHARE_POOL_SYSFS(free_pages, free_pages),
	KVMSHARE_POOL_SYSFS(entitled_pages, entitled_pages),
	KVMSHARE_POOL_SYSFS(available_pages, available_pages),
	KVMSHARE_POOL_SYSFS(nr_partitions, nr_partitions),
	KVMSHARE_POOL_SYSFS(fault_failures, fault_failures),
	KVMSHARE_POOL_SYSFS(backing_blocks, backing_blocks),
	KVMSHARE_POOL_SYSFS(blocks_used, blocks_used),
	KVMSHARE_POOL_SYSFS(pagers, nr_pagers),
	KVMSHARE_POOL_SYSFS(active_pager, active_pager),
	KVMSHARE_POOL_SYSFS(pending_requests, pending_requests),
	KVMSHARE_POOL_SYSFS(failovers, failovers),
	KVMSHARE_POOL_SYSFS(reissued_requests, reissued_requests),
	KVMSHARE_POOL_SYSFS(stalled_pager, stalled_pager),
};

static struct attribute *kvmshare_pool_attrs[] = {
	&kvmshare_pool_sysfs[0].kattr.attr,
	&kvmshare_pool_sysfs[1].kattr.attr,
	&kvmshare_pool_sysfs[2].kattr.attr,
	&kvmshare_pool_sysfs[3].kattr.attr,
	&kvmshare_pool_sysfs[4].kattr.attr,
	&kvmshare_pool_sysfs[5].kattr.attr,
	&kvmshare_pool_sysfs[6].kattr.attr,
	&kvmshare_pool_sysfs[7].kattr.attr,
	&kvmshare_pool_sysfs[8].kattr.attr,
	&kvmshare_pool_sysfs[9].kattr.attr,
	&kvmshare_pool_sysfs[10].kattr.attr,
	&kvmshare_pool_sysfs[11].kattr.attr,
	&kvmshare_pool_sysfs[12].kattr.attr,
	&kvmshare_pool_sysfs[13].kattr.attr,
	&kvmshare_pool_sysfs[14].kattr.attr,
	&kvmshare_pool_sysfs[15].kattr.attr,
	NULL,
};

static const struct attribute_group kvmshare_pool_group = {
	.attrs = kvmshare_pool_attrs,
};

static const struct attribute_group *kvmshare_pool_groups[] = {
	&kvmshare_pool_group,
	&kvmshare_pool_policy_group,
	NULL,
};

static void kvmshare_pool_release(struct kobject *kobj)
{
	struct kvmshare_pool *pool = to_pool(kobj);

	ida_free(&kvmshare_pool_ida, pool->id);
	kvfree(pool->block_map);	/* kvcalloc(), pool_service.c */
	free_percpu(pool->tsum);
	kfree(pool);
}

static const struct kobj_type kvmshare_pool_ktype = {
	.release = kvmshare_pool_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kvmshare_pool_groups,
};

static struct kvmshare_pool *kvmshare_pool_create(struct kvmshare_fs_context *ctx,
						  struct fs_context *fc)
{
	struct kvmshare_pool *pool;
	struct kobject *other;
	int ret;

	/* Every file of the table is in the group (and the NULL). */
	BUILD_BUG_ON(ARRAY_SIZE(kvmshare_pool_attrs) !=
		     ARRAY_SIZE(kvmshare_pool_sysfs) + 1);

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	pool->tsum = alloc_percpu(struct kvmshare_timing);
	if (!pool->tsum) {
		kfree(pool);
		return ERR_PTR(-ENOMEM);
	}
	ret = ida_alloc(&kvmshare_pool_ida, GFP_KERNEL);
	if (ret < 0) {
		free_percpu(pool->tsum);
		kfree(pool);
		return ERR_PTR(ret);
	}
	pool->id = ret;
	spin_lock_init(&pool->lock);
	mutex_init(&pool->names_lock);
	INIT_LIST_HEAD(&pool->parts);
	pool->size_pages = ctx->size_pages;
	pool->reserve_pages = ctx->reserve_pages;
	pool->umask = ctx->umask;
	pool->huge = ctx->huge;
	kvmshare_acct_init(pool);
	kvmshare_pager_init(pool);
	kvmshare_huge_init(pool);
	kvmshare_policy_setup(pool);
	if (ctx->name[0])
		strscpy(pool->name, ctx->name, sizeof(pool->name));
	else
		snprintf(pool->name, sizeof(pool->name), "pool%d", pool->id);

	/* From here on the kobject owns the pool and the ida id. */
	pool->kobj.kset = kvmshare_kset;
	kobject_init(&pool->kobj, &kvmshare_pool_ktype);
	mutex_lock(&kvmshare_pools_mutex);
	other = kset_find_obj(kvmshare_kset, pool->name);
	if (other) {
		kobject_put(other);
		mutex_unlock(&kvmshare_pools_mutex);
		errorfc(fc, "a pool named '%s' exists", pool->name);
		ret = -EEXIST;
		goto err_put;
	}
	ret = kobject_add(&pool->kobj, NULL, "%s", pool->name);
	mutex_unlock(&kvmshare_pools_mutex);
	if (ret)
		goto err_put;
	pool->parts_kobj = kobject_create_and_add("partitions", &pool->kobj);
	if (!pool->parts_kobj) {
		ret = -ENOMEM;
		goto err_del;
	}
	/* Debugfs is optional: its errors are not ours to handle. */
	pool->debugfs = debugfs_create_dir(pool->name, kvmshare_debugfs);
	kvmshare_pager_debugfs(pool, pool->debugfs);
	kvmshare_policy_init(pool);
	return pool;

err_del:
	/* a write of policy_enabled meanwhile may have started it */
	kvmshare_policy_exit(pool);
	kobject_del(&pool->kobj);
err_put:
	kvmshare_pager_exit(pool);
	kvmshare_huge_exit(pool);
	kobject_put(&pool->kobj);
	return ERR_PTR(ret);
}

static void kvmshare_pool_destroy(struct kvmshare_pool *pool)
{
	kvmshare_policy_exit(pool);
	/* The policy work was the last that could kick it (it is dying). */
	cancel_delayed_work_sync(&pool->evict_work);
	kvmshare_huge_exit(pool);
	debugfs_remove_recursive(pool->debugfs);
	kvmshare_pager_exit(pool);
	kvmshare_acct_exit(pool);
	kobject_put(pool->parts_kobj);
	kobject_del(&pool->kobj);
	kobject_put(&pool->kobj);
}

/* Super block */

static struct inode *kvmshare_alloc_inode(struct super_block *sb)
{
	struct kvmshare_inode *ki;

	ki = alloc_inode_sb(sb, kvmshare_inode_cache, GFP_KERNEL);
	if (!ki)
		return NULL;
	ki->part = NULL;
	return &ki->vfs_inode;
}

static void kvmshare_free_inode(struct inode *inode)
{
	kmem_cache_free(kvmshare_inode_cache, KVMSHARE_I(inode));
}

static void kvmshare_evict_inode(struct inode *inode)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (part) {
		KVMSHARE_I(inode)->part = NULL;
		kvmshare_part_destroy(part);
	}
}

static int kvmshare_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct kvmshare_pool_info info;

	kvmshare_pool_get_info(kvmshare_pool_of(dentry->d_sb), &info);
	buf->f_type = KVMSHARE_FS_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_frsize = PAGE_SIZE;
	buf->f_blocks = info.size_pages;
	buf->f_bfree = info.free_pages;
	buf->f_bavail = info.available_pages;
	buf->f_files = 0;
	buf->f_ffree = 0;
	buf->f_namelen = NAME_MAX;
	return 0;
}

static int kvmshare_show_options(struct seq_file *m, struct dentry *root)
{
	struct kvmshare_pool *pool = kvmshare_pool_of(root->d_sb);
	struct inode *inode = d_inode(root);
	u64 size, reserve;

	spin_lock(&pool->lock);
	size = pool->size_pages;
	reserve = pool->reserve_pages;
	spin_unlock(&pool->lock);
	seq_printf(m, ",size=%llu,reserve=%llu,name=%s",
		   size << PAGE_SHIFT, reserve << PAGE_SHIFT, pool->name);
	if ((inode->i_mode & 01777) != KVMSHARE_DEFAULT_MODE)
		seq_printf(m, ",mode=%o", inode->i_mode & 01777);
	if (pool->umask != KVMSHARE_DEFAULT_UMASK)
		seq_printf(m, ",umask=%03o", pool->umask);
	if (READ_ONCE(pool->huge))
		seq_puts(m, ",huge=on");
	if (!uid_eq(inode->i_uid, GLOBAL_ROOT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(&init_user_ns, inode->i_uid));
	if (!gid_eq(inode->i_gid, GLOBAL_ROOT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(&init_user_ns, inode->i_gid));
	return 0;
}

static const struct super_operations kvmshare_super_ops = {
	.alloc_inode = kvmshare_alloc_inode,
	.free_inode = kvmshare_free_inode,
	.evict_inode = kvmshare_evict_inode,
	.drop_inode = generic_delete_inode,
	.statfs = kvmshare_statfs,
	.show_options = kvmshare_show_options,
};

/*
 * A pool's pages are the host's memory (held while resident, evicted only
 * to a paging service): a pool larger than that memory is a promise that
 * cannot be kept.
 */
static int kvmshare_check_sizes(struct fs_context *fc, u64 size, u64 reserve)
{
	if (size > totalram_pages())
		return invalfc(fc, "size (%llu pages) is more than the host's memory (%lu pages)",
			       size, totalram_pages());
	if (reserve >= size)
		return invalfc(fc, "reserve (%llu pages) must be below size (%llu pages)",
			       reserve, size);
	return 0;
}

static int kvmshare_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct kvmshare_fs_context *ctx = fc->fs_private;
	struct kvmshare_pool *pool;
	struct inode *root;
	int ret;

	if (!ctx->size_set)
		ctx->size_pages = div_u64((u64)totalram_pages() *
					  KVMSHARE_DEFAULT_PERCENT, 100);
	ret = kvmshare_check_sizes(fc, ctx->size_pages, ctx->reserve_pages);
	if (ret)
		return ret;

	pool = kvmshare_pool_create(ctx, fc);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	pool->sb = sb;
	sb->s_fs_info = pool;
	/* A multiple of 2 MiB: see KVMSHARE_MAX_FILESIZE. */
	sb->s_maxbytes = KVMSHARE_MAX_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = KVMSHARE_FS_MAGIC;
	sb->s_op = &kvmshare_super_ops;
	sb->s_time_gran = 1;

	root = new_inode(sb);
	if (!root)
		return -ENOMEM;		/* kill_sb undoes the pool */
	root->i_ino = 1;
	root->i_mode = S_IFDIR | ctx->mode;
	root->i_uid = ctx->uid;
	root->i_gid = ctx->gid;
	root->i_atime = current_time(root);
	root->i_mtime = root->i_atime;
	root->i_ctime = root->i_atime;
	root->i_op = &kvmshare_dir_iops;
	root->i_fop = &kvmshare_dir_ops;
	set_nlink(root, 2);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	pr_info("pool %s mounted: %llu pages, %llu reserved%s\n", pool->name,
		pool->size_pages, pool->reserve_pages,
		pool->huge ? ", 2 MiB units" : "");
	return 0;
}

static int kvmshare_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, kvmshare_fill_super);
}

static int kvmshare_reconfigure(struct fs_context *fc)
{
	struct kvmshare_fs_context *ctx = fc->fs_private;
	struct kvmshare_pool *pool = kvmshare_pool_of(fc->root->d_sb);
	u64 size, reserve;
	int ret;

	if (ctx->name[0] && strcmp(ctx->name, pool->name))
		return invalfc(fc, "a pool cannot be renamed");
	spin_lock(&pool->lock);
	size = ctx->size_set ? ctx->size_pages : pool->size_pages;
	reserve = ctx->reserve_set ? ctx->reserve_pages : pool->reserve_pages;
	spin_unlock(&pool->lock);
	ret = kvmshare_check_sizes(fc, size, reserve);
	if (ret)
		return ret;
	ret = kvmshare_pool_resize(pool, size, reserve);
	if (ret) {
		errorfc(fc, "pool %s: size %llu, reserve %llu: below use or entitlements",
			pool->name, size, reserve);
		return ret;
	}
	if (ctx->umask_set)
		WRITE_ONCE(pool->umask, ctx->umask);
	/* For new units only: the pool's units stay until freed. */
	if (ctx->huge_set) {
		WRITE_ONCE(pool->huge, ctx->huge);
		/* Off, the collapse work stopped (review s27 h6, L2). */
		kvmshare_huge_rearm(pool);
	}
	return 0;
}

static void kvmshare_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations kvmshare_context_ops = {
	.free = kvmshare_free_fc,
	.parse_param = kvmshare_parse_param,
	.get_tree = kvmshare_get_tree,
	.reconfigure = kvmshare_reconfigure,
};

static int kvmshare_init_fs_context(struct fs_context *fc)
{
	struct kvmshare_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->mode = KVMSHARE_DEFAULT_MODE;
	ctx->umask = KVMSHARE_DEFAULT_UMASK;
	ctx->uid = current_fsuid();
	ctx->gid = current_fsgid();
	fc->fs_private = ctx;
	fc->ops = &kvmshare_context_ops;
	return 0;
}

/*
 * Before the super block goes, stop everything that may hold one of its
 * inodes or dentries outside a file: the eviction and collapse workers
 * (igrab() of the partition they work on) and readers of the partitions' sysfs files
 * (metrics_file holds the control file's dentry while it prints it).
 * generic_shutdown_super() finds any inode still referenced "busy", a
 * BUG() with CONFIG_BUG_ON_DATA_CORRUPTION, and a later iput() of it
 * would touch the freed super block.
 */
static void kvmshare_pool_quiesce(struct kvmshare_pool *pool)
{
	/* The worker does not queue itself again once the pool is dying. */
	WRITE_ONCE(pool->dying, true);
	cancel_delayed_work_sync(&pool->evict_work);
	/* The collapse work holds inodes too. */
	kvmshare_huge_exit(pool);
	kvmshare_parts_leave_sysfs(pool);
}

static void kvmshare_kill_sb(struct super_block *sb)
{
	struct kvmshare_pool *pool = kvmshare_pool_of(sb);

	if (pool)
		kvmshare_pool_quiesce(pool);
	kill_litter_super(sb);
	if (pool) {
		pr_info("pool %s unmounted\n", pool->name);
		kvmshare_pool_destroy(pool);
	}
}

static struct file_system_type kvmshare_fs_type = {
	.owner = THIS_MODULE,
	.name = "kvmshare",
	.init_fs_context = kvmshare_init_fs_context,
	.parameters = kvmshare_fs_parameters,
	.kill_sb = kvmshare_kill_sb,
};
MODULE_ALIAS_FS("kvmshare");

static void kvmshare_inode_init_once(void *obj)
{
	struct kvmshare_inode *ki = obj;

	inode_init_once(&ki->vfs_inode);
}

static int __init kvmshare_init(void)
{
	char crc[96];
	int ret;

	kvmshare_inode_cache = kmem_cache_create("kvmshare_inode",
						 sizeof(struct kvmshare_inode),
						 0, SLAB_ACCOUNT,
						 kvmshare_inode_init_once);
	if (!kvmshare_inode_cache)
		return -ENOMEM;
	ret = kvmshare_io_cache_init();
	if (ret)
		goto err_cache;
	kvmshare_crc_init();
	kvmshare_kset = kset_create_and_add("kvmshare", NULL, fs_kobj);
	if (!kvmshare_kset) {
		ret = -ENOMEM;
		goto err_io_cache;
	}
	ret = register_filesystem(&kvmshare_fs_type);
	if (ret)
		goto err_kset;
	kvmshare_debugfs = debugfs_create_dir("kvmshare", NULL);
	kvmshare_crc_describe(crc, sizeof(crc));
	pr_info("version %s loaded (crc32c: %s)\n", KVMSHARE_VERSION, crc);
	return 0;

err_kset:
	kset_unregister(kvmshare_kset);
err_io_cache:
	kvmshare_crc_exit();
	kvmshare_io_cache_exit();
err_cache:
	kmem_cache_destroy(kvmshare_inode_cache);
	return ret;
}

static void __exit kvmshare_exit(void)
{
	debugfs_remove_recursive(kvmshare_debugfs);
	unregister_filesystem(&kvmshare_fs_type);
	kset_unregister(kvmshare_kset);
	rcu_barrier();		/* inodes are freed after an RCU grace period */
	kvmshare_crc_exit();
	kvmshare_io_cache_exit();
	kmem_cache_destroy(kvmshare_inode_cache);
	ida_destroy(&kvmshare_pool_ida);
}

module_init(kvmshare_init);
module_exit(kvmshare_exit);
MODULE_DESCRIPTION("kvmshare shared memory pool for KVM guests");
MODULE_LICENSE("GPL");
MODULE_VERSION(KVMSHARE_VERSION);
