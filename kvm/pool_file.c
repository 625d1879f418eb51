// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: partition files - mmap and faults, read/write, truncation,
 * fallocate, ioctls - and the pool's root directory.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/fadvise.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <uapi/linux/kvmshare_pager.h>

#include "pool.h"
#include "kvmshare_trace.h"

static inline pgoff_t kvmshare_size_pages(struct inode *inode)
{
	return DIV_ROUND_UP_ULL(i_size_read(inode), PAGE_SIZE);
}

/*
 * Wait in a fault for a page-in (@io) or for room in the pool (@io NULL).
 * Returns VM_FAULT_RETRY when the fault must be retried by its caller
 * (the mmap lock was dropped, or KVM asked not to wait), 0 when it should
 * be retried here (the mmap lock is still held), or an error.
 */
static vm_fault_t kvmshare_fault_wait(struct vm_fault *vmf,
				      struct kvmshare_part *part,
				      struct kvmshare_io *io)
{
	struct file *fpin;
	int err;

	if ((vmf->flags & FAULT_FLAG_RETRY_NOWAIT) && io &&
	    !kvmshare_async_restore()) {
		/*
		 * Asynchronous restore is off: wait here, with the mmap lock
		 * held (a NOWAIT fault must not drop it), as for any fault
		 * that cannot be retried.
		 */
		err = kvmshare_io_wait(io);
		kvmshare_io_put(io);
		trace_kvmshare_refused(part, vmf->pgoff, err, true);
		return err ? VM_FAULT_SIGBUS : 0;
	}
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT) {
		/* KVM's async page fault: the guest runs on meanwhile. */
		if (io) {
			kvmshare_io_async(io);
			kvmshare_io_put(io);
		} else {
			kvmshare_evict_kick(part->pool);
		}
		return VM_FAULT_RETRY;
	}
	if (fault_flag_allow_retry_first(vmf->flags)) {
		fpin = get_file(vmf->vma->vm_file);
		mmap_read_unlock(vmf->vma->vm_mm);
		if (io) {
			kvmshare_io_wait(io);
			kvmshare_io_put(io);
		} else {
			kvmshare_wait_room(part);
		}
		fput(fpin);
		return VM_FAULT_RETRY;
	}
	if (io) {
		err = kvmshare_io_wait(io);
		kvmshare_io_put(io);
	} else {
		err = kvmshare_wait_room(part);
		if (err == -ENOSPC)
			kvmshare_count_failure(part);
	}
	trace_kvmshare_refused(part, vmf->pgoff, err, true);
	return err ? VM_FAULT_SIGBUS : 0;
}

/*
 * A fault found @page at @index: if access sampling unmapped it, it is in
 * use. A unit is sampled as one, marked at its first page: a touch of any
 * of its pages clears the mark, and the next sample counts its hits
 * (kvmshare_unit_hits() in pool_evict.c).
 */
static void kvmshare_sample_hit(struct kvmshare_part *part, pgoff_t index,
				struct page *page)
{
	bool unit = PageCompound(page);

	if (unit)
		index = kvmshare_unit_base(index);
	if (!xa_get_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED))
		return;
	xa_clear_mark(&part->pages, index, KVMSHARE_MARK_SAMPLED);
	if (!unit)
		atomic64_inc(&part->cnt.sample_hits);
}

/*
 * Fault: find or allocate the page and return it locked; the page lock,
 * held until the PTE is in place, is what lets hole punching and eviction
 * see this mapping (see kvmshare_part_remove_range()). A page on the
 * backing store is paged in, the faulting thread waiting killably with the
 * mmap lock dropped where the fault allows it. A page whose page-in failed
 * is a machine check (VM_FAULT_HWPOISON: SIGBUS BUS_MCEERR_AR; for a vCPU,
 * KVM passes it to the VMM, which injects it into the guest), and so is a
 * page memory_failure() marked PG_hwpoison (it cannot take our pages from
 * us: it leaves them in the array, marked). A page the
 * pool or the partition's limit cannot give is a SIGBUS for a process, and
 * -EFAULT from KVM_RUN for a vCPU, counted in fault_failures.
 */
static vm_fault_t kvmshare_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	struct kvmshare_io *io = NULL;
	pgoff_t index = vmf->pgoff;
	struct page *page;
	vm_fault_t ret;
	int err;

	atomic64_inc(&part->cnt.faults);
retry:
	filemap_invalidate_lock_shared(mapping);
	if (index >= kvmshare_size_pages(inode)) {
		filemap_invalidate_unlock_shared(mapping);
		return VM_FAULT_SIGBUS;
	}
	/*
	 * A new 2 MiB unit where one fits (huge=on), or one paged in whole,
	 * else 4 KiB.
	 */
	page = kvmshare_huge_fault(part, vmf, &io);
	if (IS_ERR(page)) {
		/* Another fault is making the unit: nothing made here. */
		filemap_invalidate_unlock_shared(mapping);
		if (PTR_ERR(page) == -EBUSY)
			return kvmshare_huge_wait(part, vmf);
		if (PTR_ERR(page) == -EAGAIN)
			/* A collapse gave up for now: once (M1). */
			return kvmshare_huge_retry(vmf);
		if (PTR_ERR(page) == -EINPROGRESS) {
			/* A unit page-in: wait for it as for a page's. */
			ret = kvmshare_fault_wait(vmf, part, io);
			io = NULL;
			if (ret)
				return ret;
			goto retry;
		}
		trace_kvmshare_refused(part, index, -EINTR, true);
		return VM_FAULT_SIGBUS;		/* killed */
	}
	if (!page)
		page = kvmshare_part_get_page(part, index, vmf->vma, true,
					      &err);
	if (page) {
		lock_page(page);
		if (xa_load(&part->pages, index) != page) {
			/* Evicted while we waited for the lock. */
			unlock_page(page);
			put_page(page);
			filemap_invalidate_unlock_shared(mapping);
			goto retry;
		}
		if (PageHWPoison(page)) {
			/*
			 * memory_failure() marked it but could not take it
			 * from us (not on the LRU, no ->mapping): mapping it
			 * would consume the error again, in the host's
			 * context for a vCPU. Tell the faulting task, as for
			 * a lost page.
			 */
			unlock_page(page);
			put_page(page);
			filemap_invalidate_unlock_shared(mapping);
			pr_info_ratelimited("%s/%llu: page at offset %lu is poisoned: machine check\n",
					    part->pool->name, part->id,
					    index << PAGE_SHIFT);
			trace_kvmshare_refused(part, index, -EHWPOISON, true);
			return VM_FAULT_HWPOISON;
		}
		if (PageCompound(page)) {
			ret = kvmshare_huge_map_check(part, vmf, page);
			if (ret) {
				unlock_page(page);
				put_page(page);
				filemap_invalidate_unlock_shared(mapping);
				return ret;
			}
		}
		kvmshare_sample_hit(part, index, page);
		kvmshare_ra_hit(part, index);
		/*
		 * A write re-populates a deferred hole (pool_huge.c). Cleared
		 * before the store, which may still fail (the bit is a hint
		 * that errs both ways: review s27 h7, L4).
		 */
		if (vmf->flags & FAULT_FLAG_WRITE)
			kvmshare_huge_written(part, index, page);
		/* Mapped by a PTE: no background collapse of the range. */
		kvmshare_huge_pte_seen(part, vmf, page);
		filemap_invalidate_unlock_shared(mapping);
		vmf->page = page;
		return VM_FAULT_LOCKED;
	}
	if (err == -EWOULDBLOCK)
		err = kvmshare_pagein_start(part, index,
					    xa_load(&part->pages, index),
					    vmf->vma, &io);
	filemap_invalidate_unlock_shared(mapping);

	switch (err) {
	case -EAGAIN:
		goto retry;
	case -EHWPOISON:
		pr_info_ratelimited("%s/%llu: page at offset %lu was lost: machine check\n",
				    part->pool->name, part->id,
				    index << PAGE_SHIFT);
		trace_kvmshare_refused(part, index, err, true);
		return VM_FAULT_HWPOISON;
	case -EINPROGRESS:
		ret = kvmshare_fault_wait(vmf, part, io);
		if (ret)
			return ret;
		goto retry;
	case -ENOSPC:
		if (!kvmshare_pager_active(part->pool))
			break;
		ret = kvmshare_fault_wait(vmf, part, NULL);
		if (ret)
			return ret;
		goto retry;
	}
	kvmshare_count_failure(part);
	trace_kvmshare_refused(part, index, err, true);
	pr_info_ratelimited("%s/%llu: no page for offset %lu: %s\n",
			    part->pool->name, part->id, index << PAGE_SHIFT,
			    err == -ENOMEM ? "host out of memory" :
			    "pool or partition limit reached");
	return VM_FAULT_SIGBUS;
}

/*
 * No .huge_fault: the core never calls it for a file that is neither DAX
 * nor anonymous. A unit's PMD comes from finish_fault() (pool_huge.c).
 */
static const struct vm_operations_struct kvmshare_vm_ops = {
	.fault = kvmshare_fault,
};

/* Guest RAM must be shared with the pool: private mappings are refused. */
static int kvmshare_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_MAYSHARE)) {
		pr_info_ratelimited("%s: private mapping refused (use MAP_SHARED, QEMU share=on)\n",
				    file->f_path.dentry->d_name.name);
		return -EINVAL;
	}
	file_accessed(file);
	vma->vm_ops = &kvmshare_vm_ops;
	return 0;
}

/*
 * The pages holding the first and the last byte of a range about to be
 * freed, when only part of them is inside it (their other part must
 * survive, and the part inside is zeroed in memory).
 */
struct kvmshare_partial {
	struct page *page[2];
};

/*
 * Page in the partial page holding byte @pos of @inode and keep a
 * reference to it in *@pagep: while it is held, neither eviction nor a
 * finishing page-out can take it (both want no reference but the array's
 * and their own), so it is still in memory when the caller zeroes it
 * under the invalidate_lock. *@pagep stays NULL for a hole or an all-zero
 * page (nothing to zero) and for a page whose content is lost. Called
 * without the invalidate_lock; returns 0 or the error that stops the
 * caller before it changes anything (-EINTR, -ENOSPC, -ENOMEM, -EIO).
 */
static int kvmshare_partial_get(struct inode *inode, loff_t pos,
				struct page **pagep)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);
	int err;

	*pagep = NULL;
	if (!offset_in_page(pos))
		return 0;
	*pagep = kvmshare_part_get_page_wait(part, inode->i_mapping,
					     pos >> PAGE_SHIFT, false, &err);
	return err == -EHWPOISON ? 0 : err;
}

/* Get both partial pages of [@start, @end) bytes; 0 or errno. */
static int kvmshare_partial_get_range(struct inode *inode, loff_t start,
				      loff_t end, struct kvmshare_partial *pp)
{
	int err;

	pp->page[1] = NULL;
	err = kvmshare_partial_get(inode, start, &pp->page[0]);
	if (!err)
		err = kvmshare_partial_get(inode, end, &pp->page[1]);
	if (err && pp->page[0]) {
		put_page(pp->page[0]);
		pp->page[0] = NULL;	/* kvmshare_partial_put() is safe */
	}
	if (!err)	/* as if the caller waited for the lock */
		kvmshare_inject(kvmshare_part_of(inode)->pool,
				KVMSHARE_INJ_PARTIAL_HELD);
	return err;
}

/* Drop the references kvmshare_partial_get_range() took (once). */
static void kvmshare_partial_put(struct kvmshare_partial *pp)
{
	if (pp->page[0])
		put_page(pp->page[0]);
	if (pp->page[1])
		put_page(pp->page[1]);
	pp->page[0] = NULL;
	pp->page[1] = NULL;
}

/* Zero [@from, @to) of @page (held, or NULL: nothing to zero) at @index. */
static void kvmshare_zero_partial(struct kvmshare_part *part, pgoff_t index,
				  struct page *page, unsigned int from,
				  unsigned int to)
{
	if (!page || from >= to)
		return;
	lock_page(page);
	if (PageHWPoison(page)) {
		/* Never read again (a machine check): not touched either. */
	} else if (xa_load(&part->pages, index) == page) {
		zero_user_segment(page, from, to);
		SetPageDirty(page);
	} else {
		/* Not expected: the reference keeps it (see above). */
		pr_warn_ratelimited("%s/%llu: page %lu left memory: bytes %u-%u not zeroed\n",
				    part->pool->name, part->id, index, from,
				    to);
	}
	unlock_page(page);
}

/*
 * Give back the pages wholly inside [@start, @end) bytes and zero the
 * partial ones, held in @pp by kvmshare_partial_get_range() (their
 * references are dropped here once they are zeroed: a unit is split
 * only when nobody else holds one). The caller holds the invalidate_lock
 * exclusively.
 */
static u64 kvmshare_free_range(struct inode *inode, loff_t start, loff_t end,
			       struct kvmshare_partial *pp, bool punch)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t first = round_up(start, PAGE_SIZE);
	loff_t last = round_down(end, PAGE_SIZE);
	pgoff_t from, to;
	u64 n;

	if (first > last) {	/* within one page */
		kvmshare_zero_partial(part, start >> PAGE_SHIFT, pp->page[0],
				      offset_in_page(start),
				      offset_in_page(end) ?: PAGE_SIZE);
		kvmshare_partial_put(pp);
		return 0;
	}
	if (start < first)
		kvmshare_zero_partial(part, start >> PAGE_SHIFT, pp->page[0],
				      offset_in_page(start), PAGE_SIZE);
	if (last < end)
		kvmshare_zero_partial(part, last >> PAGE_SHIFT, pp->page[1], 0,
				      offset_in_page(end));
	kvmshare_partial_put(pp);
	if (first == last)
		return 0;
	unmap_mapping_range(mapping, first, last - first, 1);
	/*
	 * Units cut by the range are split (or zeroed there and stay); a
	 * punch may defer the split (pool_huge.c).
	 */
	from = first >> PAGE_SHIFT;
	to = last >> PAGE_SHIFT;
	n = kvmshare_huge_trim(part, mapping, &from, &to, punch);
	if (from >= to)
		return n;
	return n + kvmshare_part_remove_range(part, mapping, from, to - 1);
}

static int kvmshare_setsize(struct inode *inode, loff_t newsize)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t oldsize = i_size_read(inode);
	struct kvmshare_partial pp;
	int ret;
	u64 n;

	if (newsize >= oldsize) {
		kvmshare_huge_grow(inode, oldsize, newsize);
		return 0;
	}
	ret = kvmshare_partial_get_range(inode, newsize, newsize, &pp);
	if (ret)
		return ret;
	filemap_invalidate_lock(mapping);
	i_size_write(inode, newsize);
	/*
	 * To the end of the unit the old end is in: a unit cut by an
	 * earlier truncation reaches past the end of the file. No overflow:
	 * s_maxbytes is a multiple of 2 MiB (kvmshare_fill_super()).
	 */
	n = kvmshare_free_range(inode, newsize,
				round_up(oldsize, KVMSHARE_UNIT_BYTES), &pp,
				false);
	filemap_invalidate_unlock(mapping);
	kvmshare_partial_put(&pp);
	atomic64_add(n, &part->cnt.truncated);
	return 0;
}

static int kvmshare_setattr(struct user_namespace *mnt_userns,
			    struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = setattr_prepare(mnt_userns, dentry, attr);
	if (ret)
		return ret;
	if ((attr->ia_valid & ATTR_SIZE) && attr->ia_size != inode->i_size) {
		ret = kvmshare_setsize(inode, attr->ia_size);
		if (ret)
			return ret;
		inode->i_mtime = current_time(inode);
		inode->i_ctime = inode->i_mtime;
	}
	setattr_copy(mnt_userns, inode, attr);
	return 0;
}

static ssize_t kvmshare_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;

	while (iov_iter_count(to)) {
		loff_t size = i_size_read(inode);
		unsigned int off = offset_in_page(pos);
		size_t n, copied;
		struct page *page;
		int err;

		if (pos >= size)
			break;
		n = min_t(u64, PAGE_SIZE - off, size - pos);
		n = min(n, iov_iter_count(to));
		page = kvmshare_part_get_page_wait(part, mapping,
						   pos >> PAGE_SHIFT, false,
						   &err);
		if (!page && err) {
			if (!done)
				done = err == -EHWPOISON ? -EIO : err;
			break;
		}
		/* The reference keeps the page valid even if punched now. */
		if (page) {
			copied = copy_page_to_iter(page, off, n, to);
			put_page(page);
		} else {
			copied = iov_iter_zero(n, to);
		}
		pos += copied;
		done += copied;
		if (copied < n) {
			if (!done)
				done = -EFAULT;
			break;
		}
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	if (done > 0)
		iocb->ki_pos = pos;
	file_accessed(iocb->ki_filp);
	return done;
}

static ssize_t kvmshare_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	ssize_t done = 0, ret;
	loff_t pos;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto unlock;
	ret = file_remove_privs(file);
	if (ret)
		goto unlock;
	ret = file_update_time(file);
	if (ret)
		goto unlock;
	pos = iocb->ki_pos;
	if (pos + iov_iter_count(from) > i_size_read(inode))
		kvmshare_huge_grow(inode, i_size_read(inode),
				   i_size_read(inode));
	while (iov_iter_count(from)) {
		unsigned int off = offset_in_page(pos);
		size_t n = min_t(size_t, PAGE_SIZE - off, iov_iter_count(from));
		struct page *page;
		size_t copied;
		int err;

		page = kvmshare_part_get_page_wait(part, mapping,
						   pos >> PAGE_SHIFT, true,
						   &err);
		if (!page) {
			ret = err == -EHWPOISON ? -EIO : err;
			break;
		}
		/*
		 * Fault the source in first: copying under the page lock
		 * must not fault on this very file.
		 */
		if (fault_in_iov_iter_readable(from, n) == n) {
			put_page(page);
			ret = -EFAULT;
			break;
		}
		lock_page(page);
		copied = copy_page_from_iter_atomic(page, off, n, from);
		/* Written since a page-out copied it: keep it in memory. */
		SetPageDirty(page);
		/* No deferred hole of a unit any more (pool_huge.c). */
		if (copied)
			kvmshare_huge_written(part, pos >> PAGE_SHIFT, page);
		flush_dcache_page(page);
		unlock_page(page);
		put_page(page);
		pos += copied;
		done += copied;
		if (pos > i_size_read(inode))
			kvmshare_huge_set_size(inode, pos);
		if (copied < n)
			continue;	/* the source page went: fault it in */
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	iocb->ki_pos = pos;
	if (done)
		ret = done;
unlock:
	inode_unlock(inode);
	return ret;
}

/*
 * Allocate every page of [@offset, @offset + @len). On failure the pages
 * this call allocated are given back, unless they were used meanwhile (a
 * mapping wrote to them: see kvmshare_part_undo_alloc()): they are marked
 * with KVMSHARE_MARK_FALLOC while the call runs (fallocate calls are
 * serialised by the inode lock).
 */
static long kvmshare_fallocate_range(struct inode *inode, loff_t offset,
				     loff_t len)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t start = offset >> PAGE_SHIFT;
	pgoff_t end = (offset + len - 1) >> PAGE_SHIFT;
	pgoff_t index;
	struct page *page;
	long ret = 0;
	int err;

	for (index = start; index <= end; index++) {
		void *had = xa_load(&part->pages, index);

		page = kvmshare_part_get_page_wait(part, mapping, index, true,
						   &err);
		if (!page) {
			ret = err;
			break;
		}
		if (!had)
			xa_set_mark(&part->pages, index, KVMSHARE_MARK_FALLOC);
		put_page(page);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}

	filemap_invalidate_lock(mapping);
	xa_for_each_marked(&part->pages, index, page, KVMSHARE_MARK_FALLOC) {
		xa_clear_mark(&part->pages, index, KVMSHARE_MARK_FALLOC);
		if (ret)
			kvmshare_part_undo_alloc(part, mapping, index);
	}
	filemap_invalidate_unlock(mapping);
	return ret;
}

static long kvmshare_fallocate(struct file *file, int mode, loff_t offset,
			       loff_t len)
{
	struct inode *inode = file_inode(file);
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct kvmshare_partial pp;
	long ret;
	u64 n;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;

	inode_lock(inode);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		loff_t end = min_t(loff_t, offset + len,
				   round_up(i_size_read(inode), PAGE_SIZE));

		ret = 0;
		if (offset >= end)
			goto unlock;
		ret = kvmshare_partial_get_range(inode, offset, end, &pp);
		if (ret)
			goto unlock;
		filemap_invalidate_lock(inode->i_mapping);
		n = kvmshare_free_range(inode, offset, end, &pp, true);
		filemap_invalidate_unlock(inode->i_mapping);
		kvmshare_partial_put(&pp);
		atomic64_add(n, &part->cnt.punched);
		goto unlock;
	}

	ret = inode_newsize_ok(inode, offset + len);
	if (ret)
		goto unlock;
	ret = kvmshare_fallocate_range(inode, offset, len);
	if (ret)
		goto unlock;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > inode->i_size)
		kvmshare_huge_grow(inode, inode->i_size, offset + len);
	inode->i_ctime = current_time(inode);
unlock:
	inode_unlock(inode);
	return ret;
}

static long kvmshare_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct inode *inode = file_inode(file);
	struct kvmshare_part *part = kvmshare_part_of(inode);
	void __user *uarg = (void __user *)arg;
	union {
		struct kvmshare_part_attr attr;
		struct kvmshare_part_stats stats;
		struct kvmshare_pool_info info;
	} u;
	int ret;

	if (cmd == KVMSHARE_IOC_POOL_INFO) {
		kvmshare_pool_get_info(kvmshare_pool_of(inode->i_sb), &u.info);
		return copy_to_user(uarg, &u.info, sizeof(u.info)) ?
			-EFAULT : 0;
	}
	if (!part)
		return -ENOTTY;

	switch (cmd) {
	case KVMSHARE_IOC_GET_ATTR:
		kvmshare_part_get_attr(part, &u.attr);
		return copy_to_user(uarg, &u.attr, sizeof(u.attr)) ?
			-EFAULT : 0;
	case KVMSHARE_IOC_SET_ATTR:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (copy_from_user(&u.attr, uarg, sizeof(u.attr)))
			return -EFAULT;
		ret = kvmshare_part_set_attr(part, &u.attr);
		return ret;
	case KVMSHARE_IOC_METRICS_BIND:
		return kvmshare_policy_bind(file, uarg);
	case KVMSHARE_IOC_GET_STATS:
		kvmshare_part_get_counters(part, &u.stats);
		u.stats.size_pages = kvmshare_size_pages(inode);
		return copy_to_user(uarg, &u.stats, sizeof(u.stats)) ?
			-EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

/*
 * posix_fadvise(POSIX_FADV_DONTNEED) pages the range out now (when a
 * paging service is attached; all-zero pages are just dropped), as
 * eviction would, skipping pages in use or pinned; only through a file
 * open for writing (-EBADF otherwise). Other advice is accepted and
 * ignored: partitions have no readahead or page cache.
 */
static int kvmshare_fadvise(struct file *file, loff_t offset, loff_t len,
			    int advice)
{
	struct inode *inode = file_inode(file);
	loff_t end;

	if (offset < 0 || len < 0 ||
	    (len && check_add_overflow(offset, len, &end)))
		return -EINVAL;
	if (advice != POSIX_FADV_DONTNEED)
		return 0;
	/* Paging a VM out changes what it runs at: a writer's right. */
	if (!(file->f_mode & FMODE_WRITE)) {
		pr_info_ratelimited("%s/%llu: fadvise DONTNEED refused: not open for writing\n",
				    kvmshare_pool_of(inode->i_sb)->name,
				    kvmshare_part_of(inode)->id);
		return -EBADF;
	}
	end = len ? offset + len : LLONG_MAX;
	if (end <= offset)
		return 0;
	kvmshare_pageout_range(kvmshare_part_of(inode), inode->i_mapping,
			       offset >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT);
	return 0;
}

const struct file_operations kvmshare_file_ops = {
	.owner = THIS_MODULE,
	.open = generic_file_open,
	.llseek = generic_file_llseek,
	.read_iter = kvmshare_read_iter,
	.write_iter = kvmshare_write_iter,
	.mmap = kvmshare_mmap,
	.get_unmapped_area = kvmshare_huge_get_unmapped_area,
	.fallocate = kvmshare_fallocate,
	.fadvise = kvmshare_fadvise,
	.fsync = noop_fsync,
	.unlocked_ioctl = kvmshare_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

const struct inode_operations kvmshare_file_iops = {
	.setattr = kvmshare_setattr,
	.getattr = simple_getattr,
};

/*
 * Directories: the root holds partition files and directories; a
 * directory holds partition files only (one level, as libvirt's
 * memory_backing_dir makes one directory per domain). No links.
 *
 * A partition's name (its sysfs directory, kvmshare_part_create()) is its
 * file's name, or DIR!FILE in a directory (sysfs names have no '/': the
 * block layer writes a '/' of a device name as '!' too). A directory
 * cannot be renamed (EPERM), so DIR stays right for every file in it.
 */

/* The partition name of @dentry, kmalloc'ed (NULL: no memory). */
static char *kvmshare_part_name(struct dentry *dentry)
{
	struct dentry *dir = dentry->d_parent;

	if (IS_ROOT(dir))
		return kstrdup(dentry->d_name.name, GFP_KERNEL);
	/* a directory's name never changes: no rename_lock needed */
	return kasprintf(GFP_KERNEL, "%s!%s", dir->d_name.name,
			 dentry->d_name.name);
}

/*
 * A new inode for @dentry in @dir: owned as inode_init_owner() says, with
 * the pool's umask= (default 077) on top, as guest RAM needs.
 */
static struct inode *kvmshare_new_inode(struct user_namespace *mnt_userns,
					struct inode *dir, umode_t mode)
{
	struct kvmshare_pool *pool = kvmshare_pool_of(dir->i_sb);
	struct inode *inode;

	inode = new_inode(dir->i_sb);
	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode_init_owner(mnt_userns, inode, dir,
			 (mode & S_IFMT) |
			 (mode & 07777 & ~READ_ONCE(pool->umask)));
	inode->i_atime = current_time(inode);
	inode->i_mtime = inode->i_atime;
	inode->i_ctime = inode->i_atime;
	return inode;
}

/* Makes @inode @dentry's, pinned in the dcache as in ramfs. */
static void kvmshare_instantiate(struct inode *dir, struct dentry *dentry,
				 struct inode *inode)
{
	d_instantiate(dentry, inode);
	dget(dentry);
	dir->i_mtime = current_time(dir);
	dir->i_ctime = dir->i_mtime;
}

static int kvmshare_create(struct user_namespace *mnt_userns, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	struct kvmshare_part *part;
	struct inode *inode;
	char *name;

	name = kvmshare_part_name(dentry);
	if (!name)
		return -ENOMEM;
	inode = kvmshare_new_inode(mnt_userns, dir, S_IFREG | (mode & 07777));
	if (!inode) {
		kfree(name);
		return -ENOMEM;
	}
	part = kvmshare_part_create(kvmshare_pool_of(dir->i_sb), name, inode);
	kfree(name);
	if (IS_ERR(part)) {
		iput(inode);
		return PTR_ERR(part);
	}
	KVMSHARE_I(inode)->part = part;
	inode->i_op = &kvmshare_file_iops;
	inode->i_fop = &kvmshare_file_ops;
	mapping_set_unevictable(inode->i_mapping);
	kvmshare_instantiate(dir, dentry, inode);
	return 0;
}

static int kvmshare_unlink(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = simple_unlink(dir, dentry);
	if (!ret && !inode->i_nlink)
		kvmshare_part_unlinked(kvmshare_part_of(inode));
	return ret;
}

static int kvmshare_rename(struct user_namespace *mnt_userns,
			   struct inode *old_dir, struct dentry *old_dentry,
			   struct inode *new_dir, struct dentry *new_dentry,
			   unsigned int flags)
{
	struct kvmshare_part *part;
	char *name;
	int ret;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (d_is_dir(old_dentry))
		return -EPERM;
	part = kvmshare_part_of(d_inode(old_dentry));
	name = kvmshare_part_name(new_dentry);
	if (!name)
		return -ENOMEM;
	/*
	 * A replaced target loses its only link in simple_rename() below;
	 * it leaves sysfs first so that its name is free for @part. Should
	 * the sysfs rename then fail (no memory), the target stays linked
	 * but is no longer listed in sysfs; the pool's totals still count it.
	 */
	if (d_really_is_positive(new_dentry))
		kvmshare_part_unlinked(kvmshare_part_of(d_inode(new_dentry)));
	ret = kvmshare_part_rename(part, name);
	kfree(name);
	if (ret)
		return ret;
	return simple_rename(mnt_userns, old_dir, old_dentry, new_dir,
			     new_dentry, flags);
}

static int kvmshare_mkdir(struct user_namespace *mnt_userns, struct inode *dir,
			  struct dentry *dentry, umode_t mode)
{
	struct inode *inode;

	inode = kvmshare_new_inode(mnt_userns, dir, S_IFDIR | (mode & 07777));
	if (!inode)
		return -ENOMEM;
	inode->i_op = &kvmshare_subdir_iops;
	inode->i_fop = &kvmshare_dir_ops;
	set_nlink(inode, 2);
	inc_nlink(dir);
	kvmshare_instantiate(dir, dentry, inode);
	return 0;
}

/* The root: files and directories. */
const struct inode_operations kvmshare_dir_iops = {
	.lookup = simple_lookup,
	.create = kvmshare_create,
	.unlink = kvmshare_unlink,
	.rename = kvmshare_rename,
	.mkdir = kvmshare_mkdir,
	.rmdir = simple_rmdir,
};

/* A directory in the root: files only (no .mkdir: EPERM). */
const struct inode_operations kvmshare_subdir_iops = {
	.lookup = simple_lookup,
	.create = kvmshare_create,
	.unlink = kvmshare_unlink,
	.rename = kvmshare_rename,
};

static long kvmshare_dir_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct kvmshare_pool_info info;

	struct kvmshare_pool *pool = kvmshare_pool_of(file_inode(file)->i_sb);

	if (cmd == KVMSHARE_IOC_PAGER_ATTACH)
		return kvmshare_pager_attach(pool, (void __user *)arg);
	if (cmd == KVMSHARE_IOC_PAGER_STOP)
		return kvmshare_pager_stop_id(pool, (void __user *)arg);
	if (cmd != KVMSHARE_IOC_POOL_INFO)
		return -ENOTTY;
	kvmshare_pool_get_info(pool, &info);
	return copy_to_user((void __user *)arg, &info, sizeof(info)) ?
		-EFAULT : 0;
}

const struct file_operations kvmshare_dir_ops = {
	.open = dcache_dir_open,
	.release = dcache_dir_close,
	.llseek = dcache_dir_lseek,
	.read = generic_read_dir,
	.iterate_shared = dcache_readdir,
	.fsync = noop_fsync,
	.unlocked_ioctl = kvmshare_dir_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
