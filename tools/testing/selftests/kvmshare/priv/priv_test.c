// SPDX-License-Identifier: GPL-2.0
/*
 * Privileges: root sets up a pool, a partition (with a control file), a
 * paging service and a virtual adapter, then each test drops to nobody
 * (setresuid/setresgid 65534, no capabilities left) keeping root's open
 * file descriptors, and checks that everything that changes the pool, the
 * adapter or a module is refused: mount and remount, pager attach/stop,
 * SET_ATTR, metrics bind, sysfs tunables of the pool and its partitions,
 * mdev create/remove, vpa's sysfs attributes, module parameters. Guest RAM
 * is not readable by other users with the defaults, and a read-only fd
 * cannot page a VM out.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/kvmshare_metrics.h>
#include <linux/kvmshare_pager.h>

#include "kselftest_harness.h"
#include "../lib/ksutil.h"
#include "../lib/kspager.h"

#define NOBODY		65534
#define VPA_PARENT	"/sys/class/vpa/vpa0"
#define VPA_TYPE	VPA_PARENT "/mdev_supported_types/vpa-small"
#define MDEV_UUID	"6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"

/*
 * Become nobody: real and effective ids 65534, no supplementary groups,
 * no effective capabilities. The saved uid stays 0 so that the fixture's
 * teardown can become root again (back_to_root()) and clean up.
 */
static void drop_to_nobody(struct __test_metadata *_metadata)
{
	gid_t none = NOBODY;

	ASSERT_EQ(0, setgroups(1, &none));
	ASSERT_EQ(0, setresgid(NOBODY, NOBODY, 0));
	ASSERT_EQ(0, setresuid(NOBODY, NOBODY, 0));
	ASSERT_EQ(NOBODY, geteuid());
	ASSERT_EQ(NOBODY, getegid());
}

static void back_to_root(void)
{
	if (setresuid(0, 0, 0) || setresgid(0, 0, 0))
		perror("back to root");
}

/*
 * The test VM's initramfs root may be 0700: let nobody reach /tmp and
 * /sys, as on any host. Only our pool's own modes are under test.
 */
static void open_up_root(void)
{
	chmod("/", 0755);
	chmod("/tmp", 01777);
}

/* Open @path for writing as the current user: 0 or -errno. */
static int try_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * Every file with a write bit below @dir (depth @depth, no symlinks):
 * writing @val as nobody fails. Returns the number of files tried.
 */
static int refuse_writes(struct __test_metadata *_metadata, const char *dir,
			 const char *val, int depth)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;
		int ret;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0)
				n += refuse_writes(_metadata, path, val,
						   depth - 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0222))
			continue;
		ret = try_write(path, val);
		if (ret != -EACCES && ret != -EPERM)
			TH_LOG("%s: write as nobody gave %d", path, ret);
		EXPECT_TRUE(ret == -EACCES || ret == -EPERM);
		n++;
	}
	closedir(d);
	return n;
}

FIXTURE(priv) {
	char dir[64];
	char name[32];
	char part[128];
	int fd;			/* the partition, O_RDWR, root's */
	int ctl;		/* a control file, O_RDWR, root's */
	int dfd;		/* the pool directory, root's */
	struct ks_pager pager;
};

FIXTURE_SETUP(priv)
{
	char opts[96];

	open_up_root();
	snprintf(self->name, sizeof(self->name), "priv%d", getpid());
	snprintf(opts, sizeof(opts), "size=64M,name=%s", self->name);
	ASSERT_EQ(0, ks_pool_mount(self->dir, sizeof(self->dir), opts));
	snprintf(self->part, sizeof(self->part), "%s/g", self->dir);
	/* As QEMU creates guest RAM: open(O_CREAT, 0644). */
	self->fd = open(self->part, O_RDWR | O_CREAT | O_EXCL, 0644);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, 4 << 20));
	ASSERT_EQ(0, pwrite(self->fd, "guest secret", 12, 0) == 12 ? 0 : -1);
	self->ctl = ks_part_create(self->dir, "g.metrics", KS_PAGE);
	ASSERT_LE(0, self->ctl);
	self->dfd = open(self->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, ks_pager_attach(&self->pager, self->dir, 1024, 16, 4, 0,
				     -1));
}

FIXTURE_TEARDOWN(priv)
{
	back_to_root();
	ks_pager_detach(&self->pager);
	close(self->dfd);
	close(self->ctl);
	close(self->fd);
	EXPECT_EQ(0, ks_pool_umount(self->dir));
}

TEST_F(priv, mount_remount_umount_refused)
{
	char other[] = "/tmp/privmntXXXXXX";

	ASSERT_NE(NULL, mkdtemp(other));
	ASSERT_EQ(0, chmod(other, 0777));
	drop_to_nobody(_metadata);
	EXPECT_EQ(-1, mount("none", other, "kvmshare", 0, "size=1M"));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mount("none", self->dir, "kvmshare", MS_REMOUNT,
			    "size=32M"));
	EXPECT_TRUE(errno == EPERM || errno == EACCES);
	EXPECT_EQ(-1, umount(self->dir));
	EXPECT_TRUE(errno == EPERM || errno == EACCES);
	back_to_root();
	EXPECT_EQ(16384, ks_sysfs_num("%s/size_pages", self->name));
	rmdir(other);
}

TEST_F(priv, pool_ioctls_refused)
{
	struct kvmshare_pager_attach a = {
		.version = KVMSHARE_PAGER_VERSION, .sq_entries = 16,
		.nr_slots = 4, .backing_blocks = 1024,
	};
	struct kvmshare_pager_stop st = { .pager_id = self->pager.ring->pager_id };
	struct kvmshare_part_attr attr = {
		.flags = KVMSHARE_ATTR_ENTITLEMENT, .entitlement_pages = 16,
	};
	struct kvmshare_metrics_bind b = { .fd = self->ctl };
	struct kvmshare_part_attr now;

	drop_to_nobody(_metadata);
	EXPECT_EQ(-1, ioctl(self->dfd, KVMSHARE_IOC_PAGER_ATTACH, &a));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(self->dfd, KVMSHARE_IOC_PAGER_STOP, &st));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(self->fd, KVMSHARE_IOC_SET_ATTR, &attr));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(self->fd, KVMSHARE_IOC_METRICS_BIND, &b));
	EXPECT_EQ(EPERM, errno);
	/* Nothing changed. */
	ASSERT_EQ(0, ioctl(self->fd, KVMSHARE_IOC_GET_ATTR, &now));
	EXPECT_EQ(0, now.entitlement_pages);
	EXPECT_EQ(1, ks_sysfs_num("%s/pagers", self->name));
}

TEST_F(priv, pool_and_partition_sysfs_refused)
{
	char path[128];
	int n;

	snprintf(path, sizeof(path), "/sys/fs/kvmshare/%s", self->name);
	drop_to_nobody(_metadata);
	n = refuse_writes(_metadata, path, "1", 3);
	TH_LOG("%d writable files of the pool tried", n);
	EXPECT_LT(5, n);
	EXPECT_EQ(0, ks_sysfs_num("%s/partitions/g/entitlement_pages",
				  self->name));
}

TEST_F(priv, guest_ram_not_readable_by_others)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(self->dir, &st));
	TH_LOG("pool root mode %o, partition created 0644", st.st_mode & 07777);
	EXPECT_EQ(0, st.st_mode & 0007);
	ASSERT_EQ(0, stat(self->part, &st));
	TH_LOG("partition mode %o", st.st_mode & 07777);
	EXPECT_EQ(0, st.st_mode & 0077);
	EXPECT_EQ(0600, st.st_mode & 0777);
	drop_to_nobody(_metadata);
	fd = open(self->part, O_RDONLY);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EACCES, errno);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(-1, open(self->dir, O_RDONLY | O_DIRECTORY));
	EXPECT_EQ(EACCES, errno);
}

/* An explicit mode= (and umask=) let a group of VMMs in, as documented. */
TEST(mount_options_let_a_group_in)
{
	char dir[64], part[96];
	struct stat st;
	int fd;

	open_up_root();
	ASSERT_EQ(0, ks_pool_mount(dir, sizeof(dir),
				   "size=16M,mode=0770,gid=65534,umask=007"));
	ASSERT_EQ(0, stat(dir, &st));
	EXPECT_EQ(0770, st.st_mode & 07777);
	EXPECT_EQ(NOBODY, st.st_gid);
	snprintf(part, sizeof(part), "%s/g", dir);
	umask(0);
	fd = open(part, O_RDWR | O_CREAT | O_EXCL, 0666);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0660, st.st_mode & 0777);
	close(fd);
	ASSERT_EQ(0, unlink(part));
	EXPECT_EQ(0, ks_pool_umount(dir));
}

TEST_F(priv, read_only_fd_cannot_page_out)
{
	struct kvmshare_part_stats st;
	int ro;

	ASSERT_EQ(0, fallocate(self->fd, 0, 0, 4 << 20));
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	ASSERT_EQ(1024, st.resident_pages);
	ro = open(self->part, O_RDONLY);
	ASSERT_LE(0, ro);
	/* As root: a read-only fd is not enough. */
	EXPECT_NE(0, posix_fadvise(ro, 0, 0, POSIX_FADV_DONTNEED));
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(1024, st.resident_pages);
	drop_to_nobody(_metadata);
	EXPECT_NE(0, posix_fadvise(ro, 0, 0, POSIX_FADV_DONTNEED));
	ASSERT_EQ(0, ks_part_stats(self->fd, &st));
	EXPECT_EQ(1024, st.resident_pages);
	EXPECT_EQ(0, st.pageouts);
	EXPECT_EQ(0, st.zero_elided);
	close(ro);
}

TEST(mdev_create_remove_refused)
{
	char dev[128];
	int ret;

	open_up_root();
	if (access(VPA_TYPE "/create", F_OK))
		SKIP(return, "no vpa parent");
	snprintf(dev, sizeof(dev), "/sys/bus/mdev/devices/%s", MDEV_UUID);
	ASSERT_EQ(0, ks_write_file(VPA_TYPE "/create", MDEV_UUID));
	ASSERT_EQ(0, access(dev, F_OK));
	if (!fork()) {
		struct __test_metadata *m = _metadata;
		char rm[160];

		drop_to_nobody(m);
		ret = try_write(VPA_TYPE "/create",
				"7a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d");
		if (ret != -EACCES && ret != -EPERM)
			_exit(1);
		snprintf(rm, sizeof(rm), "%s/remove", dev);
		ret = try_write(rm, "1");
		if (ret != -EACCES && ret != -EPERM)
			_exit(2);
		/* Every other attribute of the parent, types and device. */
		refuse_writes(m, VPA_PARENT, "1", 2);
		refuse_writes(m, dev, "1", 1);
		_exit(m->passed ? 0 : 3);
	}
	{
		int status;

		wait(&status);
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	EXPECT_EQ(0, access(dev, F_OK));
	EXPECT_NE(0, access("/sys/bus/mdev/devices/7a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
			    F_OK));
	{
		char rm[160];

		snprintf(rm, sizeof(rm), "%s/remove", dev);
		EXPECT_EQ(0, ks_write_file(rm, "1"));
	}
}

TEST(module_parameters_refused)
{
	int n;

	open_up_root();
	drop_to_nobody(_metadata);
	n = refuse_writes(_metadata, "/sys/module/kvmshare/parameters", "1", 0);
	n += refuse_writes(_metadata, "/sys/module/vpa/parameters", "1", 0);
	TH_LOG("%d module parameters tried", n);
	EXPECT_LT(5, n);
}

TEST_HARNESS_MAIN
