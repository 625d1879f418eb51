// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: shared memory pool for KVM guests - module entry.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/debugfs.h>

#define KVMSHARE_VERSION "0.1"

static struct dentry *kvmshare_debugfs;

static int __init kvmshare_init(void)
{
	kvmshare_debugfs = debugfs_create_dir("kvmshare", NULL);
	pr_info("version %s loaded\n", KVMSHARE_VERSION);
	return 0;
}

static void __exit kvmshare_exit(void)
{
	debugfs_remove_recursive(kvmshare_debugfs);
}

module_init(kvmshare_init);
module_exit(kvmshare_exit);
MODULE_DESCRIPTION("kvmshare shared memory pool for KVM guests");
MODULE_LICENSE("GPL");
MODULE_VERSION(KVMSHARE_VERSION);
