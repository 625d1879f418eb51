// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare_guest: runs inside a VM and publishes the guest's memory stress
 * into the kvmshare metrics page (include/uapi/linux/kvmshare_metrics.h),
 * the first 4 KiB of a QEMU ivshmem-plain device's shared memory (BAR2).
 * The host's pool reads the page from the file behind that memory.
 *
 * Every period_ms an hrtimer queues the update work, which gathers the
 * values and writes them under the page's sequence count. Sources (6.1,
 * from a module; the table is in Documentation/userspace-api/metrics.rst,
 * "Where the values come from"):
 * si_meminfo() and si_mem_available() for MemTotal and MemAvailable;
 * global_node_page_state() for the workingset refaults; all_vm_events() for
 * swap in/out, major faults, allocation stalls, OOM kills and the balloon
 * (BALLOON_INFLATE - BALLOON_DEFLATE of the balloon page core). The PSI
 * averages and totals and the swap use have no exported interface: they are
 * read from /proc/pressure/memory and /proc/meminfo, files opened once and
 * kept open so that a steady-state update allocates nothing.
 *
 * Binding: the driver claims at most one ivshmem-plain device, and only one
 * whose BAR2 holds at least a page that is either all zero (a new control
 * file) or starts with KVMSHARE_METRICS_MAGIC, so that the shared memory of
 * an unrelated ivshmem user is never written.
 *
 * Locking: kvmshare_guest_lock protects kvmshare_guest_dev (the bound
 * device) and its @published and @stopped flags; it is taken by probe,
 * remove, shutdown and the period_ms setter (which runs under the module's
 * kernel_param_lock, so the order is kernel_param_lock ->
 * kvmshare_guest_lock). Nothing is read or opened under it: reading the
 * /proc files takes their seq_file locks, which lockdep sees nested above
 * kernfs' and so above kernel_param_lock. Everything else in struct
 * kvmshare_guest belongs to the update work, which never runs concurrently
 * with itself (one work item) nor with probe's first update (the device is
 * published, and the timer started, after it) or the final update of
 * kvmshare_guest_stop() (the timer and the work are cancelled first).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>
#include <asm/barrier.h>

#include <linux/kvmshare_metrics.h>

#define KVMSHARE_GUEST_BAR		2
#define KVMSHARE_GUEST_PERIOD_MIN	10	/* ms */
#define KVMSHARE_GUEST_PERIOD_MAX	1000	/* ms */
/* A missing /proc file is looked for again after this many ms. */
#define KVMSHARE_GUEST_REOPEN_MS	1000
/* Bytes of /proc text read per update (meminfo is about 1.5 KiB). */
#define KVMSHARE_GUEST_TEXT_SIZE	PAGE_SIZE

static const char kvmshare_guest_psi_path[] = "/proc/pressure/memory";
static const char kvmshare_guest_meminfo_path[] = "/proc/meminfo";

/* Publication period; written by the setter, read by the timer and work. */
static unsigned int kvmshare_guest_period_ms = KVMSHARE_METRICS_MAX_INTERVAL_MS;
/* PSI memory "full" avg10 (1/100 %) at or above which F_ACUTE is set. */
static unsigned int kvmshare_guest_acute_full = 1000;

/**
 * struct kvmshare_guest - the bound device
 * @pdev: the ivshmem-plain function
 * @page: the metrics page, the first page of BAR2 (memremap()ed: the BAR
 *	is RAM of the host, mapped write-back like guest RAM)
 * @timer: fires every period_ms and queues @work
 * @work: gathers the values and publishes them
 * @published: probe's first update is done, the timer may run; under
 *	kvmshare_guest_lock
 * @stopped: the device is being released; under kvmshare_guest_lock
 * @seq: the page's sequence count as this writer last wrote it (never read
 *	back from the shared page)
 * @flags: flags of the last update
 * @update_count: completed updates
 * @last_allocstall: allocation stalls at the previous update
 * @last_oom_kill: OOM kills at the previous update
 * @psi_file: /proc/pressure/memory, or NULL (PSI off, not found yet)
 * @meminfo_file: /proc/meminfo, or NULL
 * @reopen_at: jiffies after which a missing file is looked for again
 * @text: buffer for the text of the /proc files
 * @events: buffer for all_vm_events()
 */
struct kvmshare_guest {
	struct pci_dev *pdev;
	struct kvmshare_metrics_page *page;
	struct hrtimer timer;
	struct work_struct work;
	bool published;
	bool stopped;
	u32 seq;
	u32 flags;
	u64 update_count;
	u64 last_allocstall;
	u64 last_oom_kill;
	struct file *psi_file;
	struct file *meminfo_file;
	unsigned long reopen_at;
	char *text;
	unsigned long events[NR_VM_EVENT_ITEMS];
};

/* Protects kvmshare_guest_dev and kvmshare_guest::stopped. */
static DEFINE_MUTEX(kvmshare_guest_lock);
/* The bound device, NULL when none; under kvmshare_guest_lock. */
static struct kvmshare_guest *kvmshare_guest_dev;
/* Runs the update works: a rescuer keeps them going under memory pressure. */
static struct workqueue_struct *kvmshare_guest_wq;

static ktime_t kvmshare_guest_period(void)
{
	return ms_to_ktime(READ_ONCE(kvmshare_guest_period_ms));
}

/* Publish now and restart the period, e.g. after period_ms changed. */
static void kvmshare_guest_kick(void)
{
	struct kvmshare_guest *g;

	mutex_lock(&kvmshare_guest_lock);
	g = kvmshare_guest_dev;
	if (g && g->published && !g->stopped) {
		queue_work(kvmshare_guest_wq, &g->work);
		/*
		 * Not restarted under a running callback: its
		 * hrtimer_forward_now() would find the timer queued.
		 */
		hrtimer_cancel(&g->timer);
		hrtimer_start(&g->timer, kvmshare_guest_period(),
			      HRTIMER_MODE_REL);
	}
	mutex_unlock(&kvmshare_guest_lock);
}

static int kvmshare_guest_period_set(const char *val,
				     const struct kernel_param *kp)
{
	int ret;

	ret = param_set_uint_minmax(val, kp, KVMSHARE_GUEST_PERIOD_MIN,
				    KVMSHARE_GUEST_PERIOD_MAX);
	if (ret)
		return ret;
	kvmshare_guest_kick();
	return 0;
}

static const struct kernel_param_ops kvmshare_guest_period_ops = {
	.set = kvmshare_guest_period_set,
	.get = param_get_uint,
};
module_param_cb(period_ms, &kvmshare_guest_period_ops,
		&kvmshare_guest_period_ms, 0644);
MODULE_PARM_DESC(period_ms,
		 "Publication period in ms, 10..1000 (default 100)");

static int kvmshare_guest_acute_set(const char *val,
				    const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KVMSHARE_METRICS_PSI_SCALE);
}

static const struct kernel_param_ops kvmshare_guest_acute_ops = {
	.set = kvmshare_guest_acute_set,
	.get = param_get_uint,
};
module_param_cb(acute_psi_full, &kvmshare_guest_acute_ops,
		&kvmshare_guest_acute_full, 0644);
MODULE_PARM_DESC(acute_psi_full,
		 "PSI memory full avg10 in 1/100 % that sets the acute flag, 1..10000 (default 1000 = 10%)");

/*
 * Read the text of a /proc file from its start into @buf, NUL-terminated.
 * Files with ->read_iter go through kernel_read(). In 6.1 the PSI files'
 * proc_ops have only .proc_read = seq_read, so procfs gives them no
 * ->read_iter and kernel_read() refuses them; they are seq_files (the
 * private data of the open file, set up by single_open()), read here
 * through the exported seq_read_iter().
 */
static ssize_t kvmshare_guest_read_text(struct file *file, char *buf,
					size_t size)
{
	struct kvec kv = { .iov_base = buf, .iov_len = size - 1 };
	struct iov_iter iter;
	struct kiocb kiocb;
	loff_t pos = 0;
	ssize_t ret;

	if (file->f_op->read_iter && !file->f_op->read) {
		ret = kernel_read(file, buf, size - 1, &pos);
	} else {
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = 0;
		iov_iter_kvec(&iter, ITER_DEST, &kv, 1, size - 1);
		ret = seq_read_iter(&kiocb, &iter);
	}
	buf[ret > 0 ? ret : 0] = '\0';
	return ret;
}

/* Parse the decimal digits at *@s (at least one) into @v; advance *@s. */
static bool kvmshare_guest_parse_u64(const char **s, u64 *v)
{
	const char *p = *s;
	u64 n = 0;

	if (!isdigit(*p))
		return false;
	for (; isdigit(*p); p++) {
		if (n > (U64_MAX - 9) / 10)
			return false;
		n = n * 10 + (*p - '0');
	}
	*s = p;
	*v = n;
	return true;
}

/*
 * One line of a PSI file: "<kind> avg10=I.FF avg60=... total=US". Returns
 * avg10 in hundredths of a percent and the total in us.
 */
static bool kvmshare_guest_parse_psi(const char *text, const char *kind,
				     u32 *avg10, u64 *total_us)
{
	const char *p = text;
	u64 ip, fp;
	size_t len = strlen(kind);

	for (;;) {
		if (!strncmp(p, kind, len) && p[len] == ' ')
			break;
		p = strchr(p, '\n');
		if (!p++)
			return false;
	}
	p = strstr(p, "avg10=");
	if (!p)
		return false;
	p += strlen("avg10=");
	if (!kvmshare_guest_parse_u64(&p, &ip) || *p++ != '.' ||
	    !isdigit(p[0]) || !isdigit(p[1]) || isdigit(p[2]))
		return false;
	fp = (p[0] - '0') * 10 + (p[1] - '0');
	p = strstr(p, "total=");
	if (!p)
		return false;
	p += strlen("total=");
	if (!kvmshare_guest_parse_u64(&p, total_us))
		return false;
	*avg10 = min_t(u64, ip * 100 + fp, KVMSHARE_METRICS_PSI_SCALE);
	return true;
}

/* A "Name:   N kB" line of /proc/meminfo, in KiB. */
static bool kvmshare_guest_parse_meminfo(const char *text, const char *name,
					 u64 *kb)
{
	size_t len = strlen(name);
	const char *p = text;

	for (;;) {
		if (!strncmp(p, name, len) && p[len] == ':')
			break;
		p = strchr(p, '\n');
		if (!p++)
			return false;
	}
	p = skip_spaces(p + len + 1);
	return kvmshare_guest_parse_u64(&p, kb);
}

/* Open the /proc files that are not open yet; failures only leave NULL. */
static void kvmshare_guest_open_files(struct kvmshare_guest *g)
{
	struct file *f;

	if (!g->psi_file) {
		f = filp_open(kvmshare_guest_psi_path, O_RDONLY, 0);
		if (!IS_ERR(f))
			g->psi_file = f;
	}
	if (!g->meminfo_file) {
		f = filp_open(kvmshare_guest_meminfo_path, O_RDONLY, 0);
		if (!IS_ERR(f))
			g->meminfo_file = f;
	}
	g->reopen_at = jiffies + msecs_to_jiffies(KVMSHARE_GUEST_REOPEN_MS);
}

static void kvmshare_guest_close_files(struct kvmshare_guest *g)
{
	if (g->psi_file)
		filp_close(g->psi_file, NULL);
	if (g->meminfo_file)
		filp_close(g->meminfo_file, NULL);
	g->psi_file = NULL;
	g->meminfo_file = NULL;
}

/* Gather the values of one update into @v (its header fields untouched). */
static void kvmshare_guest_collect(struct kvmshare_guest *g,
				   struct kvmshare_metrics_page *v)
{
	unsigned long *ev = g->events;
	u64 allocstall = 0, swap_total, swap_free;
	struct sysinfo si;
	u32 flags = 0;
	int zid;

	if ((!g->psi_file || !g->meminfo_file) &&
	    time_after_eq(jiffies, g->reopen_at))
		kvmshare_guest_open_files(g);

	v->interval_ms = READ_ONCE(kvmshare_guest_period_ms);

	if (g->psi_file &&
	    kvmshare_guest_read_text(g->psi_file, g->text,
				     KVMSHARE_GUEST_TEXT_SIZE) > 0 &&
	    kvmshare_guest_parse_psi(g->text, "some", &v->psi_some_avg10,
				     &v->psi_some_total_us) &&
	    kvmshare_guest_parse_psi(g->text, "full", &v->psi_full_avg10,
				     &v->psi_full_total_us))
		flags |= KVMSHARE_METRICS_F_PSI;
	if (!(flags & KVMSHARE_METRICS_F_PSI)) {
		v->psi_some_avg10 = 0;
		v->psi_full_avg10 = 0;
		v->psi_some_total_us = 0;
		v->psi_full_total_us = 0;
	}

	si_meminfo(&si);
	v->mem_total_kb = (u64)si.totalram << (PAGE_SHIFT - 10);
	v->mem_available_kb = (u64)si_mem_available() << (PAGE_SHIFT - 10);

	v->swap_used_kb = 0;
	if (g->meminfo_file &&
	    kvmshare_guest_read_text(g->meminfo_file, g->text,
				     KVMSHARE_GUEST_TEXT_SIZE) > 0 &&
	    kvmshare_guest_parse_meminfo(g->text, "SwapTotal", &swap_total) &&
	    kvmshare_guest_parse_meminfo(g->text, "SwapFree", &swap_free) &&
	    swap_total >= swap_free)
		v->swap_used_kb = swap_total - swap_free;

	v->refault_total = global_node_page_state(WORKINGSET_REFAULT_ANON) +
			   global_node_page_state(WORKINGSET_REFAULT_FILE);

	all_vm_events(ev);
	v->swapin_total = ev[PSWPIN];
	v->swapout_total = ev[PSWPOUT];
	v->majfault_total = ev[PGMAJFAULT];
	/* ALLOCSTALL_<zone> items are consecutive, in zone order */
	for (zid = 0; zid < MAX_NR_ZONES; zid++)
		allocstall += ev[ALLOCSTALL_NORMAL - ZONE_NORMAL + zid];
	v->allocstall_total = allocstall;
	v->oom_kill_total = ev[OOM_KILL];

	v->balloon_kb = 0;
#ifdef CONFIG_MEMORY_BALLOON
	/*
	 * Pages taken by balloon drivers that use the balloon page core
	 * (virtio_balloon), counted when enqueued and when released: a
	 * value even without a balloon driver (0 then).
	 */
	if (ev[BALLOON_INFLATE] >= ev[BALLOON_DEFLATE])
		v->balloon_kb = (u64)(ev[BALLOON_INFLATE] -
				      ev[BALLOON_DEFLATE]) << (PAGE_SHIFT - 10);
	flags |= KVMSHARE_METRICS_F_BALLOON;
#endif

	/*
	 * Acute: direct reclaim ran into an allocation stall or the OOM
	 * killer struck since the previous update, or PSI full avg10 is at
	 * or over acute_psi_full.
	 */
	if ((g->update_count && (allocstall != g->last_allocstall ||
				 v->oom_kill_total != g->last_oom_kill)) ||
	    ((flags & KVMSHARE_METRICS_F_PSI) &&
	     v->psi_full_avg10 >= READ_ONCE(kvmshare_guest_acute_full)))
		flags |= KVMSHARE_METRICS_F_ACUTE;
	g->last_allocstall = allocstall;
	g->last_oom_kill = v->oom_kill_total;

	v->flags = flags;
}

/*
 * Write one update under the sequence count. With @header the fields that
 * are written only once (magic, version, size, reserved) go in as well.
 * virt_wmb(): the reader is the host, which is another CPU even when this
 * guest kernel is built without SMP.
 */
static void kvmshare_guest_publish(struct kvmshare_guest *g,
				   const struct kvmshare_metrics_page *v,
				   bool header)
{
	struct kvmshare_metrics_page *p = g->page;
	size_t i;

	WRITE_ONCE(p->seq, ++g->seq);			/* odd */
	/* the odd count is visible before any field changes */
	virt_wmb();
	if (header) {
		WRITE_ONCE(p->magic, KVMSHARE_METRICS_MAGIC);
		WRITE_ONCE(p->version, KVMSHARE_METRICS_VERSION);
		WRITE_ONCE(p->size, sizeof(*p));
		for (i = 0; i < ARRAY_SIZE(p->reserved); i++)
			WRITE_ONCE(p->reserved[i], 0);
	}
	WRITE_ONCE(p->flags, v->flags);
	WRITE_ONCE(p->interval_ms, v->interval_ms);
	WRITE_ONCE(p->psi_some_avg10, v->psi_some_avg10);
	WRITE_ONCE(p->psi_full_avg10, v->psi_full_avg10);
	WRITE_ONCE(p->psi_some_total_us, v->psi_some_total_us);
	WRITE_ONCE(p->psi_full_total_us, v->psi_full_total_us);
	WRITE_ONCE(p->mem_total_kb, v->mem_total_kb);
	WRITE_ONCE(p->mem_available_kb, v->mem_available_kb);
	WRITE_ONCE(p->refault_total, v->refault_total);
	WRITE_ONCE(p->swapin_total, v->swapin_total);
	WRITE_ONCE(p->swapout_total, v->swapout_total);
	WRITE_ONCE(p->majfault_total, v->majfault_total);
	WRITE_ONCE(p->allocstall_total, v->allocstall_total);
	WRITE_ONCE(p->oom_kill_total, v->oom_kill_total);
	WRITE_ONCE(p->balloon_kb, v->balloon_kb);
	WRITE_ONCE(p->update_count, ++g->update_count);
	WRITE_ONCE(p->swap_used_kb, v->swap_used_kb);
	/* every field is visible before the even count */
	virt_wmb();
	WRITE_ONCE(p->seq, ++g->seq);			/* even */
	g->flags = v->flags;
}

static void kvmshare_guest_update(struct kvmshare_guest *g, bool header)
{
	struct kvmshare_metrics_page v = { };

	kvmshare_guest_collect(g, &v);
	kvmshare_guest_publish(g, &v, header);
}

static void kvmshare_guest_work_fn(struct work_struct *work)
{
	struct kvmshare_guest *g = container_of(work, struct kvmshare_guest,
						work);

	kvmshare_guest_update(g, false);
}

static enum hrtimer_restart kvmshare_guest_timer_fn(struct hrtimer *timer)
{
	struct kvmshare_guest *g = container_of(timer, struct kvmshare_guest,
						timer);

	queue_work(kvmshare_guest_wq, &g->work);
	hrtimer_forward_now(timer, kvmshare_guest_period());
	return HRTIMER_RESTART;
}

/*
 * Is this shared memory ours to write? Only if its first page is all zero
 * (a new control file) or already carries our magic (written by us before,
 * e.g. by an earlier boot of this guest, or prepared by the host).
 */
static bool kvmshare_guest_page_is_ours(const struct kvmshare_metrics_page *p)
{
	return READ_ONCE(p->magic) == KVMSHARE_METRICS_MAGIC ||
	       !memchr_inv(p, 0, KVMSHARE_METRICS_PAGE_SIZE);
}

static int kvmshare_guest_probe(struct pci_dev *pdev,
				const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kvmshare_guest *g;
	resource_size_t start, len;
	void *page;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	start = pci_resource_start(pdev, KVMSHARE_GUEST_BAR);
	len = pci_resource_len(pdev, KVMSHARE_GUEST_BAR);
	if (!(pci_resource_flags(pdev, KVMSHARE_GUEST_BAR) & IORESOURCE_MEM) ||
	    len < KVMSHARE_METRICS_PAGE_SIZE) {
		dev_info(dev, "BAR%d is not shared memory of at least %d bytes, not used\n",
			 KVMSHARE_GUEST_BAR, KVMSHARE_METRICS_PAGE_SIZE);
		return -ENODEV;
	}

	g = devm_kzalloc(dev, sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->text = devm_kmalloc(dev, KVMSHARE_GUEST_TEXT_SIZE, GFP_KERNEL);
	if (!g->text)
		return -ENOMEM;
	/*
	 * BAR2 is not requested as busy on purpose: with
	 * CONFIG_IO_STRICT_DEVMEM a busy region can no longer be mmap()ed
	 * through sysfs (resource2), and the page is meant to be readable by
	 * the guest's root for inspection and by the selftest.
	 */
	page = devm_memremap(dev, start, KVMSHARE_METRICS_PAGE_SIZE,
			     MEMREMAP_WB);
	if (IS_ERR(page))
		return PTR_ERR(page);
	g->pdev = pdev;
	g->page = page;
	INIT_WORK(&g->work, kvmshare_guest_work_fn);
	hrtimer_init(&g->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	g->timer.function = kvmshare_guest_timer_fn;

	mutex_lock(&kvmshare_guest_lock);
	if (kvmshare_guest_dev) {
		dev_info(dev, "already publishing on %s, not used\n",
			 pci_name(kvmshare_guest_dev->pdev));
		ret = -ENODEV;
		goto out_unlock;
	}
	if (!kvmshare_guest_page_is_ours(g->page)) {
		dev_info(dev, "shared memory is neither zero nor a kvmshare metrics page, not used\n");
		ret = -ENODEV;
		goto out_unlock;
	}

	/*
	 * Go on from the count found, so that a host reader never sees an
	 * old count again; an odd one (an update torn by a crash) stays odd
	 * until this first update completes.
	 */
	g->seq = READ_ONCE(g->page->seq) & ~1U;
	pci_set_drvdata(pdev, g);
	kvmshare_guest_dev = g;		/* claimed: no other device binds */
	mutex_unlock(&kvmshare_guest_lock);

	/* outside the lock (see Locking above); nothing else runs for g yet */
	kvmshare_guest_open_files(g);
	kvmshare_guest_update(g, true);

	mutex_lock(&kvmshare_guest_lock);
	g->published = true;
	hrtimer_start(&g->timer, kvmshare_guest_period(), HRTIMER_MODE_REL);
	mutex_unlock(&kvmshare_guest_lock);

	dev_info(dev, "publishing memory metrics every %u ms%s\n",
		 g->page->interval_ms,
		 g->flags & KVMSHARE_METRICS_F_PSI ? "" : " (no PSI)");
	return 0;

out_unlock:
	mutex_unlock(&kvmshare_guest_lock);
	return ret;
}

/*
 * Stop publishing: no more updates, then a last one that sets F_STOPPING
 * so that the host drops the page at once instead of waiting for it to go
 * stale. Called by remove and shutdown, whichever comes first.
 */
static void kvmshare_guest_stop(struct kvmshare_guest *g)
{
	struct kvmshare_metrics_page *p = g->page;

	mutex_lock(&kvmshare_guest_lock);
	if (g->stopped) {
		mutex_unlock(&kvmshare_guest_lock);
		return;
	}
	g->stopped = true;
	if (kvmshare_guest_dev == g)
		kvmshare_guest_dev = NULL;
	mutex_unlock(&kvmshare_guest_lock);

	hrtimer_cancel(&g->timer);
	cancel_work_sync(&g->work);

	WRITE_ONCE(p->seq, ++g->seq);			/* odd */
	/* ordered as in kvmshare_guest_publish() */
	virt_wmb();
	WRITE_ONCE(p->flags, g->flags | KVMSHARE_METRICS_F_STOPPING);
	WRITE_ONCE(p->update_count, ++g->update_count);
	/* ordered as in kvmshare_guest_publish() */
	virt_wmb();
	WRITE_ONCE(p->seq, ++g->seq);			/* even */

	kvmshare_guest_close_files(g);
}

static void kvmshare_guest_remove(struct pci_dev *pdev)
{
	kvmshare_guest_stop(pci_get_drvdata(pdev));
}

static void kvmshare_guest_shutdown(struct pci_dev *pdev)
{
	struct kvmshare_guest *g = pci_get_drvdata(pdev);

	if (g)
		kvmshare_guest_stop(g);
}

static const struct pci_device_id kvmshare_guest_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1110) },	/* ivshmem */
	{ }
};

/*
 * No MODULE_DEVICE_TABLE(): ivshmem-plain serves many purposes, so the
 * module is not loaded automatically for every such device; the guest's
 * administrator loads it (Documentation/admin-guide/guest-metrics.rst).
 */

static struct pci_driver kvmshare_guest_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= kvmshare_guest_ids,
	.probe		= kvmshare_guest_probe,
	.remove		= kvmshare_guest_remove,
	.shutdown	= kvmshare_guest_shutdown,
};

static int __init kvmshare_guest_init(void)
{
	int ret;

	kvmshare_guest_wq = alloc_workqueue(KBUILD_MODNAME,
					    WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!kvmshare_guest_wq)
		return -ENOMEM;
	ret = pci_register_driver(&kvmshare_guest_driver);
	if (ret)
		goto err_destroy_wq;
	return 0;

err_destroy_wq:
	destroy_workqueue(kvmshare_guest_wq);
	return ret;
}

static void __exit kvmshare_guest_exit(void)
{
	pci_unregister_driver(&kvmshare_guest_driver);
	destroy_workqueue(kvmshare_guest_wq);
}

module_init(kvmshare_guest_init);
module_exit(kvmshare_guest_exit);

MODULE_DESCRIPTION("kvmshare guest: publishes memory stress into an ivshmem metrics page");
MODULE_LICENSE("GPL");
