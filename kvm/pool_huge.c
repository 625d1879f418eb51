// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare: 2 MiB units (issue #18, Documentation/plans/large-pages.md).
 *
 * With the mount option huge=on, a fault on a part of a partition where
 * a PMD can map 2 MiB makes a unit: an order-9 compound folio whose
 * subpage i & 511 is stored at index i (pool.h). The fault returns its
 * subpage locked, as any page, and the core's finish_fault() maps the
 * whole folio with one PMD (do_set_pmd()) when the VMA is suitable and
 * the PMD still empty; otherwise, or when a PTE table is there, the
 * subpage gets a PTE. .huge_fault is never called for a file that is
 * neither DAX nor anonymous on 6.1, and a PFN map breaks KVM and GUP
 * (the plan, sections 1 and 2), so this is the only route to a PMD.
 *
 * Steps 1 to 7 of the plan: units are made by faults, with or without a
 * paging service attached, and by collapse (below: a fault that meets
 * 4 KiB pages where its PMD is empty, and a bounded background work).
 * Eviction and fadvise(DONTNEED) page a unit out whole, and access
 * sampling samples it as one
 * (kvmshare_huge_evict(), kvmshare_huge_sample(), below); a fault with
 * sequential access pages a unit paged out back in whole
 * (kvmshare_unit_pagein()), others page in 4 KiB. Hole punching, truncation
 * and removal free a unit they cover in whole, and split one they cut by
 * copy (kvmshare_huge_trim(), kvmshare_unit_cut(): no exported call
 * splits a compound page): its data outside the range goes to 4 KiB
 * pages, the rest of its memory leaves the pool. A unit that cannot be
 * split (held by someone else: counted in huge_pinned_cuts; poisoned, or
 * no memory for the copy: huge_split_failures) is zeroed over the range
 * in place and stays charged whole until the rest of it goes. A punch
 * (a balloon's 4 KiB page) defers the split: the pages are zeroed in
 * place and noted, and the unit is split only past a threshold or when
 * the pool is short (kvmshare_unit_defer(), step 7). A unit is
 * mapped by PTEs where a PMD is not wanted (kvmshare_huge_map_check():
 * a poisoned page, THP off for the mapping or the task, a unit cut by the
 * end of the file), and a unit with a poisoned page is never freed.
 *
 * Locks (the order: pool.h): the unit lock, a bit of a small hashed
 * table of the pool, serialises faults making the same unit (two vCPUs
 * touching it at once: the second finds the unit made by the first). It
 * is held across the folio's allocation. A fault that may be retried
 * does not sleep on it with the mmap lock held: KVM's asynchronous fault
 * returns VM_FAULT_RETRY, others wait with the mmap lock dropped and
 * retry (kvmshare_huge_wait()); only a fault that cannot be retried
 * waits, killably, and a killed one is a SIGBUS, never a 4 KiB page.
 * The folio lock of a unit is the page lock of all its subpages; removal,
 * splitting and zeroing take it as they take a 4 KiB page's, inside the
 * invalidate_lock held exclusively. Entries are checked and stored under
 * the array's lock in one section; a split's new pages are filled before
 * that section and seen by nobody before it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/coredump.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>

#include <uapi/linux/kvmshare_pager.h>

#include "pool.h"
#include "pool_pager.h"
#include "kvmshare_trace.h"

/*
 * How a unit is allocated: zeroed, without retrying hard (a unit that
 * cannot be had is a 4 KiB fault, counted), without a warning, and not
 * movable: pool pages never migrate (the plan, section 4).
 */
#define KVMSHARE_UNIT_GFP \
	(GFP_HIGHUSER | __GFP_ZERO | __GFP_NORETRY | __GFP_NOWARN)

/* The unit lock of the unit at @base of @part: a bit of its pool's table. */
static unsigned int kvmshare_unit_lock_nr(struct kvmshare_part *part,
					  pgoff_t base)
{
	BUILD_BUG_ON(!is_power_of_2(KVMSHARE_UNIT_LOCKS));
	return hash_64(part->id ^ ((u64)(base >> KVMSHARE_UNIT_ORDER) << 20),
		       ilog2(KVMSHARE_UNIT_LOCKS));
}

static unsigned long *kvmshare_unit_lock_word(struct kvmshare_pool *pool,
					      unsigned int nr)
{
	return &pool->unit_locks[BIT_WORD(nr)];
}

/*
 * Take unit lock @nr for the fault @vmf: 0 once held; -EBUSY when it is
 * taken and the fault may be retried (the caller drops its locks and
 * calls kvmshare_huge_wait(): an asynchronous fault returns at once, any
 * other waits with the mmap lock dropped); -EINTR when a fault that
 * cannot be retried waited and a fatal signal came.
 */
static int kvmshare_unit_lock(struct kvmshare_part *part,
			      struct vm_fault *vmf, unsigned int nr)
{
	unsigned long *word = kvmshare_unit_lock_word(part->pool, nr);

	if (!test_and_set_bit_lock(nr % BITS_PER_LONG, word))
		return 0;
	atomic64_inc(&part->cnt.huge_waits);
	if ((vmf->flags & FAULT_FLAG_RETRY_NOWAIT) ||
	    fault_flag_allow_retry_first(vmf->flags))
		return -EBUSY;
	return wait_on_bit_lock(word, nr % BITS_PER_LONG, TASK_KILLABLE);
}

static void kvmshare_unit_unlock(struct kvmshare_pool *pool, unsigned int nr)
{
	unsigned long *word = kvmshare_unit_lock_word(pool, nr);

	clear_bit_unlock(nr % BITS_PER_LONG, word);
	/* The bit clear before wake_up_bit() looks for waiters. */
	smp_mb__after_atomic();
	wake_up_bit(word, nr % BITS_PER_LONG);
}

/**
 * kvmshare_huge_wait - wait for the unit lock a fault found taken
 * @part: the partition
 * @vmf: the fault, kvmshare_huge_fault() having returned -EBUSY (the
 *	caller holds no lock of the pool now)
 *
 * Asynchronous faults (KVM's, FAULT_FLAG_RETRY_NOWAIT) do not wait: the
 * retry, which may wait, finds the unit. Others wait killably with the
 * mmap lock dropped, as for a page-in (kvmshare_fault_wait()), and retry;
 * nothing is allocated meanwhile, so a waiter killed here leaves the
 * range to the unit being made. Returns VM_FAULT_RETRY.
 */
vm_fault_t kvmshare_huge_wait(struct kvmshare_part *part,
			      struct vm_fault *vmf)
{
	unsigned int nr = kvmshare_unit_lock_nr(part,
						kvmshare_unit_base(vmf->pgoff));
	struct file *fpin;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	fpin = get_file(vmf->vma->vm_file);
	mmap_read_unlock(vmf->vma->vm_mm);
	wait_on_bit(kvmshare_unit_lock_word(part->pool, nr),
		    nr % BITS_PER_LONG, TASK_KILLABLE);
	fput(fpin);
	return VM_FAULT_RETRY;
}

/* An entry a new unit may replace: a hole or an all-zero page. */
static bool kvmshare_unit_free_entry(void *e)
{
	return !e || (xa_is_value(e) &&
		      kvmshare_ent_kind(e) == KVMSHARE_ENT_ZERO);
}

/*
 * Store the 512 subpages of @folio at [@base, @base + 512) if every entry
 * there is still a hole or an all-zero page: one section under the
 * array's lock, after its nodes exist (xas_create_range(): the stores then
 * allocate nothing). The array's reference is the one @folio came with.
 * Returns 0, -EAGAIN (an entry changed: a 4 KiB page came meanwhile, by
 * write() or a fault the unit lock does not stop) or -ENOMEM.
 */
static int kvmshare_unit_install(struct kvmshare_part *part, pgoff_t base,
				 struct folio *folio)
{
	XA_STATE(xas, &part->pages, base);
	unsigned long i, zero;
	bool changed;
	void *e;

	do {
		zero = 0;
		changed = false;
		xas_lock(&xas);
		for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
			xas_set_order(&xas, base + i, 0);
			e = xas_load(&xas);
			if (!kvmshare_unit_free_entry(e)) {
				changed = true;
				break;
			}
			zero += !!e;
		}
		if (!changed) {
			xas_set_order(&xas, base, KVMSHARE_UNIT_ORDER);
			xas_create_range(&xas);
		}
		if (!changed && !xas_error(&xas)) {
			for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
				xas_set_order(&xas, base + i, 0);
				xas_store(&xas, folio_page(folio, i));
				/* No marks: sampled, read ahead, fallocate's. */
				xas_init_marks(&xas);
			}
		}
		xas_unlock(&xas);
	/* xas_nomem() also frees a node it allocated before a change. */
	} while (xas_nomem(&xas, GFP_KERNEL) && !changed);

	if (changed)
		return -EAGAIN;
	/*
	 * On -ENOMEM the nodes xas_create_range() made stay, empty, as
	 * khugepaged leaves them: the next store in the range uses them.
	 */
	if (xas_error(&xas))
		return xas_error(&xas);
	if (zero)
		kvmshare_account_out(part, KVMSHARE_ENT_ZERO, -(long)zero);
	return 0;
}

/*
 * Whether a unit's subpage is poisoned (PG_hwpoison). memory_failure()
 * marks the one page and, as a unit is not on the LRU, stops there
 * without PageHasHWPoisoned on the head unless it was injected
 * (MADV_HWPOISON): look at all 512.
 */
static bool kvmshare_unit_poisoned(struct page *head)
{
	unsigned int i;

	if (PageHasHWPoisoned(head))
		return true;
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++)
		if (PageHWPoison(head + i))
			return true;
	return false;
}

/*
 * Hints kept in part->units (value entries) for the choice of a unit
 * page-in: the unit was paged out whole; its last page-in lost a page
 * (its range comes back 4 KiB). A hint is only that: it may be stale
 * (kvmshare_huge_forget() drops it when a removal covers the whole unit
 * or a new unit is made there), and is replaced by the next one.
 */
#define KVMSHARE_UNIT_WAS_OUT	1UL
#define KVMSHARE_UNIT_IN_FAILED	2UL
/*
 * A fault handed out a page of the range to be mapped by a PTE (pte_seen,
 * the plan's section 3.2): some VMA has a page table there, which stays
 * until munmap, so a unit made there would be mapped 4 KiB by it anyway.
 * Background collapse leaves such a range (kvmshare_collapse_work()).
 * Unlike the two hints above, it is kept when they are replaced
 * (kvmshare_unit_hint(), and across a unit page-in); it goes with them
 * when a removal covers the whole unit (kvmshare_huge_forget()), and is
 * set again by the next fault through a page table there. A fault that
 * would set it while a unit page-in is in flight there does not (the
 * group keeps only the bit it replaced): the next one does.
 */
#define KVMSHARE_UNIT_PTE_SEEN	4UL
/*
 * The unit was paged out whole with deferred holes, which went as holes
 * (kvmshare_unit_swap_out()): a unit page-in would charge them again,
 * and the memory a balloon gave back with them, so the range comes back
 * 4 KiB (a fault collapse refuses its holes too). Replaced like the
 * first two (review s27 h7, M2).
 */
#define KVMSHARE_UNIT_HOLES	8UL

/* The PTE_SEEN bit of @e, an entry of part->units (or NULL). */
static unsigned long kvmshare_unit_pte_bit(void *e)
{
	return xa_is_value(e) ? xa_to_value(e) & KVMSHARE_UNIT_PTE_SEEN : 0;
}

/*
 * Set the hints @flags of the unit at @base, keeping those of @keep it
 * had, unless a page-in is in flight there.
 */
static void kvmshare_unit_hint_keep(struct kvmshare_part *part, pgoff_t base,
				    unsigned long flags, unsigned long keep)
{
	unsigned long i = base >> KVMSHARE_UNIT_ORDER;
	void *old;

	xa_lock(&part->units);
	old = xa_load(&part->units, i);
	if (!old || xa_is_value(old))
		__xa_store(&part->units, i,
			   xa_mk_value(flags |
				       (old ? xa_to_value(old) & keep : 0)),
			   GFP_NOWAIT | __GFP_NOWARN);
	xa_unlock(&part->units);
}

/*
 * Drop the page-in hints of the unit at @base (a unit is there now, by a
 * collapse), keeping pte_seen, unless a page-in is in flight there.
 */
static void kvmshare_unit_hints_drop(struct kvmshare_part *part, pgoff_t base)
{
	unsigned long i = base >> KVMSHARE_UNIT_ORDER;
	void *old;

	if (!xa_is_value(xa_load(&part->units, i)))
		return;
	xa_lock(&part->units);
	old = xa_load(&part->units, i);
	if (xa_is_value(old) && kvmshare_unit_pte_bit(old))
		__xa_store(&part->units, i, xa_mk_value(KVMSHARE_UNIT_PTE_SEEN),
			   GFP_NOWAIT | __GFP_NOWARN);
	else if (xa_is_value(old))
		__xa_erase(&part->units, i);
	xa_unlock(&part->units);
}

/* A page-in hint @flags replaces the other one; pte_seen stays. */
static void kvmshare_unit_hint(struct kvmshare_part *part, pgoff_t base,
			       unsigned long flags)
{
	kvmshare_unit_hint_keep(part, base, flags, KVMSHARE_UNIT_PTE_SEEN);
}

/**
 * kvmshare_huge_pte_seen - note a page a fault hands out for a PTE
 * @part: the partition
 * @vmf: the fault, about to return @page locked
 * @page: a 4 KiB page, or a unit's subpage
 *
 * A page that the core will map by a PTE (a 4 KiB page; a unit's subpage
 * where the PMD is not empty or the VMA cannot map a PMD) marks its 2 MiB
 * range pte_seen (KVMSHARE_UNIT_PTE_SEEN): that VMA keeps a page table
 * there. Set for any VMA, aligned or not: one that cannot map a PMD there
 * gains nothing from a collapse either; and for a VMA or a task that
 * opted out of huge pages (MADV_NOHUGEPAGE, PR_SET_THP_DISABLE), so that
 * the background work leaves the range (review s27 h6, L3). Set in a
 * huge=off pool too (L3): a remount with huge=on must not collapse ranges
 * mapped 4 KiB meanwhile. Lockless when already set; a store that finds
 * no memory (GFP_NOWAIT: the fault's hot path) loses the hint, which
 * costs at most a collapse that no mapping gains from.
 */
void kvmshare_huge_pte_seen(struct kvmshare_part *part, struct vm_fault *vmf,
			    struct page *page)
{
	unsigned long i = vmf->pgoff >> KVMSHARE_UNIT_ORDER;
	struct vm_area_struct *vma = vmf->vma;

	if (PageCompound(page) && pmd_none(READ_ONCE(*vmf->pmd)) &&
	    !(vma->vm_flags & VM_NOHUGEPAGE) &&
	    !test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags) &&
	    transhuge_vma_suitable(vma, vmf->address & HPAGE_PMD_MASK))
		return;
	if (kvmshare_unit_pte_bit(xa_load(&part->units, i)))
		return;
	kvmshare_unit_hint_keep(part, i << KVMSHARE_UNIT_ORDER,
				KVMSHARE_UNIT_PTE_SEEN, ~0UL);
}

/**
 * kvmshare_huge_forget - drop the hints of the units in [@start, @end]
 * @part: the partition
 * @start: first page index
 * @end: last page index (inclusive)
 *
 * A unit the range covers whole has nothing left of what was paged out
 * (punch, truncation, unlink), or has become a new unit: its hint no
 * longer applies, and part->units does not keep one per unit ever paged
 * out (review s26 huge5, L2, L5). A page-in in flight is left alone.
 */
void kvmshare_huge_forget(struct kvmshare_part *part, pgoff_t start,
			  pgoff_t end)
{
	unsigned long first = DIV_ROUND_UP(start, KVMSHARE_UNIT_PAGES);
	unsigned long last, i;
	void *e;

	if (end < KVMSHARE_UNIT_PAGES - 1)
		return;
	last = (end - (KVMSHARE_UNIT_PAGES - 1)) / KVMSHARE_UNIT_PAGES;
	if (first > last || xa_empty(&part->units))
		return;
	xa_lock(&part->units);
	xa_for_each_range(&part->units, i, e, first, last)
		if (xa_is_value(e))
			__xa_erase(&part->units, i);
	xa_unlock(&part->units);
}

/*
 * Unit page-in (step 5 of the plan). A fault on a unit whose 512 entries
 * are all on the backing store, all-zero or holes, with at least one on
 * the store, where a new unit could be made (kvmshare_unit_wanted()), may
 * page the unit in whole: charge 512 pages as for a new unit, allocate
 * the folio, zero its all-zero and absent subpages, and queue one v1
 * page-in per subpage on the store into the subpage itself (the service's
 * data is checked against the entry's crc32c as for any page-in,
 * kvmshare_pager_write()). The unit is installed when the last request
 * ends, and the fault, which waited for one of them, finds it and maps it
 * by a PMD. Anything else (a page-in error, a request cancelled, an
 * entry changed by a punch, a truncation or a 4 KiB page made meanwhile)
 * installs nothing: the folio is freed, the pool uncharged, the entries
 * stay as they were (a failed subpage's becomes POISON, as a failed 4 KiB
 * page-in makes it), and the range comes back 4 KiB by today's page-in.
 */

static bool huge_pagein = true;
module_param(huge_pagein, bool, 0644);
MODULE_PARM_DESC(huge_pagein,
		 "Page a 2 MiB unit paged out from a huge=on pool back in whole, mapped by a PMD, when a fault meets it with sequential access (default Y; N: always 4 KiB)");

/* What a unit's 512 entries are (kvmshare_unit_scan()). */
enum kvmshare_unit_kind {
	KVMSHARE_UNIT_EMPTY,	/* holes and all-zero pages only */
	KVMSHARE_UNIT_OUT,	/* those and pages on the backing store */
	KVMSHARE_UNIT_MIXED,	/* 4 KiB pages and all-zero pages, no hole */
	KVMSHARE_UNIT_OTHER,	/* a unit, a lost page, other mixes */
};

/* Whether @e, an entry of part->pages, is a 4 KiB page in memory. */
static bool kvmshare_ent_is_4k(void *e)
{
	return e && !xa_is_value(e) && !PageCompound((struct page *)e);
}

/*
 * Classify the unit at @base of @part from its entries (a hint unless the
 * caller holds what keeps them), copying them to @ents (512, zeroed by
 * the caller) if not NULL. With @quick, KVMSHARE_UNIT_OUT at the first
 * entry on the store when no page was seen before it (a caller that will
 * not page the unit in needs no more: review s26 huge5, L2). A range of
 * 4 KiB pages (KVMSHARE_UNIT_MIXED) may be collapsed: it must have no
 * hole (a punch gave memory back there, or nothing was ever written:
 * a collapse would take memory for it) and nothing on the store.
 */
static enum kvmshare_unit_kind kvmshare_unit_scan(struct kvmshare_part *part,
						  pgoff_t base, void **ents,
						  bool quick)
{
	XA_STATE(xas, &part->pages, base);
	bool out = false, page = false, other = false;
	unsigned int n = 0;
	void *e;

	rcu_read_lock();
	xas_for_each(&xas, e, base + KVMSHARE_UNIT_PAGES - 1) {
		if (xas_retry(&xas, e))
			continue;
		if (kvmshare_ent_is_out(e)) {
			out = true;
			if (quick && !page)
				break;
		} else if (kvmshare_ent_is_4k(e)) {
			page = true;
		} else if (!kvmshare_unit_free_entry(e)) {
			other = true;
			break;
		}
		if (page && out) {
			other = true;
			break;
		}
		n++;
		if (ents)
			ents[xas.xa_index - base] = e;
	}
	rcu_read_unlock();
	if (other)
		return KVMSHARE_UNIT_OTHER;
	if (page)
		return n == KVMSHARE_UNIT_PAGES ? KVMSHARE_UNIT_MIXED :
		       KVMSHARE_UNIT_OTHER;
	return out ? KVMSHARE_UNIT_OUT : KVMSHARE_UNIT_EMPTY;
}

/*
 * Whether the fault @vmf can wait for a unit page-in without turning a
 * service that does not answer into SIGBUS for a page that holds no
 * paged-out data (review s26 huge5, M4): one that drops the mmap lock to
 * wait and is then retried (kvmshare_fault_wait() ignores the wait's
 * result for it), or KVM's asynchronous page fault. Not a NOWAIT fault
 * with async_restore off (it waits with the mmap lock held, and a timeout
 * is SIGBUS), nor a retried one (FAULT_FLAG_TRIED).
 */
static bool kvmshare_fault_may_wait(struct vm_fault *vmf)
{
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return kvmshare_async_restore();
	return fault_flag_allow_retry_first(vmf->flags);
}

/*
 * A request of the unit page-in in flight over the page of @vmf in @part,
 * with a reference (all of them end together), or NULL. *@busy says
 * whether one is in flight: a fault on a hole or an all-zero page of it
 * that cannot wait safely (kvmshare_fault_may_wait()) gets NULL and makes
 * its 4 KiB page at once, which makes the group give up (as write()
 * does): nothing is lost, the I/O is. Lockless first (hints and no entry
 * are the common case: L2); the lock only to take the reference.
 */
static struct kvmshare_io *kvmshare_unit_in_lookup(struct kvmshare_part *part,
						   struct vm_fault *vmf,
						   bool *busy)
{
	pgoff_t base = kvmshare_unit_base(vmf->pgoff);
	unsigned long i = base >> KVMSHARE_UNIT_ORDER;
	struct kvmshare_unit_in *ui;
	struct kvmshare_io *io = NULL;
	void *e;

	*busy = false;
	e = xa_load(&part->units, i);
	if (!e || xa_is_value(e))
		return NULL;
	xa_lock(&part->units);
	e = xa_load(&part->units, i);
	if (e && !xa_is_value(e)) {
		ui = e;
		*busy = true;
		io = ui->ios[vmf->pgoff - base];
		if (!io && kvmshare_fault_may_wait(vmf))
			io = ui->first;
		if (io)
			refcount_inc(&io->ref);
	}
	xa_unlock(&part->units);
	return io;
}

/*
 * Whether the unit of the page-in @ui is still inside its file. Under
 * pool->lock, which kvmshare_part_destroy() takes to clear part->inode
 * before the inode goes (the group holds the partition, not the inode).
 */
static bool kvmshare_unit_in_fits(struct kvmshare_unit_in *ui)
{
	struct kvmshare_part *part = ui->part;
	bool fits = false;

	spin_lock(&part->pool->lock);
	if (part->inode)
		fits = ((u64)(ui->base + KVMSHARE_UNIT_PAGES) << PAGE_SHIFT) <=
		       i_size_read(part->inode);
	spin_unlock(&part->pool->lock);
	return fits;
}

/*
 * Store the subpages of @ui's folio over its 512 entries, in one section
 * under the array's lock, if each entry is still the one the page-in
 * found (a punch, a truncation, a 4 KiB page made by write() or by a
 * fault through a mapping with a page table there change one), counting
 * the entries that were on the store, all-zero and holes. Nodes for the
 * holes are made first (xas_create_range(), as kvmshare_unit_install()).
 * Returns whether the unit is in the array.
 */
static bool kvmshare_unit_in_install(struct kvmshare_unit_in *ui,
				     unsigned int *out, unsigned int *zero,
				     unsigned int *holes)
{
	struct kvmshare_part *part = ui->part;
	XA_STATE(xas, &part->pages, ui->base);
	bool changed;
	unsigned int i;
	void *e;

	do {
		changed = false;
		*out = 0;
		*zero = 0;
		*holes = 0;
		xas_lock(&xas);
		for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
			xas_set_order(&xas, ui->base + i, 0);
			e = xas_load(&xas);
			if (e != ui->ents[i]) {
				changed = true;
				break;
			}
		}
		/*
		 * A truncation sets i_size before it removes entries: one
		 * that cut the unit where it had only holes changed no
		 * entry, and a unit past the end could not be paged out
		 * again (review s26 huge5, L6). One that comes after the
		 * install cuts the unit as any other.
		 */
		if (!changed && !kvmshare_unit_in_fits(ui))
			changed = true;
		if (!changed) {
			xas_set_order(&xas, ui->base, KVMSHARE_UNIT_ORDER);
			xas_create_range(&xas);
		}
		if (!changed && !xas_error(&xas)) {
			for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
				xas_set_order(&xas, ui->base + i, 0);
				xas_store(&xas, folio_page(ui->folio, i));
				xas_init_marks(&xas);
				if (!ui->ents[i])
					(*holes)++;
				else if (kvmshare_ent_is_out(ui->ents[i]))
					(*out)++;
				else
					(*zero)++;
			}
			/*
			 * Counted in the section (pages -> pool->lock is the
			 * order): a punch that removes the unit right after
			 * the unlock finds it counted, and a stop looking at
			 * paged_out never sees its pages both resident and
			 * on the store (review s26 huge5, L3).
			 */
			kvmshare_account_out(part, KVMSHARE_ENT_OUT,
					     -(long)*out);
			if (*zero)
				kvmshare_account_out(part, KVMSHARE_ENT_ZERO,
						     -(long)*zero);
			atomic64_inc(&part->cnt.huge_units);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL) && !changed);
	return !changed && !xas_error(&xas);
}

/*
 * Free the folio of the unit page-in @ui, which was not installed (its
 * only reference is @ui's), unless memory_failure() marked one of its
 * subpages meanwhile: the I/O may last up to pager_timeout_ms or longer,
 * and an order-9 block freed with a poisoned page in it goes back to the
 * buddy allocator whole (as kvmshare_unit_release(), review s26 huge5,
 * M3). Looked at just before the put. A kept folio stays out of use for
 * good, counted in huge_poisoned; the pool's charge goes as for any
 * unit not made.
 */
static void kvmshare_unit_in_free(struct kvmshare_part *part,
				  struct kvmshare_unit_in *ui)
{
	if (kvmshare_unit_poisoned(&ui->folio->page)) {
		atomic64_inc(&part->cnt.huge_poisoned);
		pr_warn_ratelimited("%s/%llu: unit page-in at page %lu has a poisoned page: its 2 MiB are not freed\n",
				    part->pool->name, part->id, ui->base);
		return;
	}
	folio_put(ui->folio);
}

/*
 * The last request of the unit page-in @ui ended (or the fault that
 * queued them let go of its count): install the unit if every request
 * succeeded, else give it up; a subpage whose page-in failed (not
 * cancelled) is lost as a 4 KiB page would be (POISON: a machine check
 * for whoever touches it), the others stay on the store. Then, for every
 * request: leave part->io, free the block its entry held (the entry is
 * now the unit's subpage, or POISON) or was handed by a removal, and
 * wake its waiters. Called with no lock held (it may sleep). Frees @ui.
 */
static void kvmshare_unit_in_end(struct kvmshare_unit_in *ui)
{
	struct kvmshare_part *part = ui->part;
	struct kvmshare_pool *pool = part->pool;
	unsigned int i, out = 0, zero = 0, holes = 0, lost = 0;
	bool installed = false, ok = true, handed, registered;
	DECLARE_BITMAP(free_block, KVMSHARE_UNIT_PAGES);
	struct kvmshare_io *io;
	void *poison = kvmshare_ent(KVMSHARE_ENT_POISON, 0, 0);
	LIST_HEAD(none);		/* the held pages went back at once */

	bitmap_zero(free_block, KVMSHARE_UNIT_PAGES);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++)
		if (ui->ios[i] && ui->ios[i]->result)
			ok = false;
	/* As if the service's completions had come just before a punch. */
	kvmshare_inject(pool, KVMSHARE_INJ_UNIT_IN_READ);
	if (ok)
		installed = kvmshare_unit_in_install(ui, &out, &zero, &holes);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		io = ui->ios[i];
		if (!io)
			continue;
		if (installed) {
			__set_bit(i, free_block);
		} else if (io->result && io->result != -ECANCELED &&
			   io->result != -EHWPOISON &&
			   xa_cmpxchg(&part->pages, io->index, ui->ents[i],
				      poison, GFP_KERNEL) == ui->ents[i]) {
			/* Lost, as a failed 4 KiB page-in loses it. */
			kvmshare_account_out(part, KVMSHARE_ENT_OUT, -1);
			atomic64_inc(&part->cnt.pagein_errors);
			pr_warn_ratelimited("%s: page %lu of partition %llu lost: page-in failed (%d)\n",
					    pool->name, io->index, part->id,
					    io->result);
			__set_bit(i, free_block);
			lost++;
		}
	}
	/* Faults from here find the unit, or its entries as they are now. */
	/*
	 * Only a page-in error makes the unit 4 KiB for good (IN_FAILED);
	 * a change meanwhile, a cancel or our own poisoned page leave the
	 * unit as it was paged out (review s26 huge5, L5).
	 */
	xa_lock(&part->units);
	if (installed && !ui->keep)
		__xa_erase(&part->units, ui->base >> KVMSHARE_UNIT_ORDER);
	else if (installed)
		__xa_store(&part->units, ui->base >> KVMSHARE_UNIT_ORDER,
			   xa_mk_value(ui->keep), GFP_ATOMIC);
	else
		__xa_store(&part->units, ui->base >> KVMSHARE_UNIT_ORDER,
			   xa_mk_value(ui->keep |
				       (lost ? KVMSHARE_UNIT_IN_FAILED :
					KVMSHARE_UNIT_WAS_OUT)), GFP_ATOMIC);
	xa_unlock(&part->units);
	/*
	 * Counted before the requests complete: the faults waiting for them
	 * return at once, and what they see next must already show this
	 * page-in (a test reads the counters right after its last touch).
	 */
	if (installed) {
		atomic64_add(out, &part->cnt.pageins);
		atomic64_add(zero + holes, &part->cnt.allocated);
		atomic64_inc(&part->cnt.huge_pageins);
	} else {
		atomic64_inc(&part->cnt.huge_pagein_failures);
		atomic64_inc(&part->cnt.huge_fallbacks);
	}
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		io = ui->ios[i];
		if (!io)
			continue;
		/* A lost page is traced as the failure it is (L4). */
		trace_kvmshare_pagein_end(io, io->result,
					  installed || test_bit(i, free_block));
		/* (kvmshare_io_end(), for the whole group at once) */
		xa_lock(&part->io);
		registered = __xa_cmpxchg(&part->io, io->index, io, NULL,
					  GFP_NOWAIT) == io;
		handed = io->handed;
		xa_unlock(&part->io);
		if (handed || test_bit(i, free_block)) {
			spin_lock(&pool->io_lock);
			__kvmshare_block_put(pool, io->block);
			spin_unlock(&pool->io_lock);
		}
		io->page = NULL;		/* the folio's */
		if (registered)
			kvmshare_io_put(io);	/* the array's */
		complete_all(&io->done);
		kvmshare_io_put(io);		/* in flight */
	}
	if (!installed) {
		kvmshare_unit_in_free(part, ui);
		kvmshare_uncharge_unit(part, &none);
		if (!lost)
			pr_info_ratelimited("%s/%llu: unit at page %lu not paged in whole (%s): 4 KiB\n",
					    pool->name, part->id, ui->base,
					    ok ? "changed meanwhile" :
					    "a request was cancelled");
	}
	wake_up_all(&pool->room_wq);
	kobject_put(&part->kobj);
	kvfree(ui);
}

/* Drop a count of @ui's requests left; the last one ends the page-in. */
static void kvmshare_unit_in_put(struct kvmshare_unit_in *ui)
{
	/* (each request's result written before: a full barrier) */
	if (atomic_dec_and_test(&ui->left))
		kvmshare_unit_in_end(ui);
}

/**
 * kvmshare_huge_pagein_done - a page-in request of a unit ended
 * @io: the request (kvmshare_io_end(), which leaves the rest to the unit)
 * @result: 0 (the data is in the subpage, its crc checked), or why not
 *
 * Notes the result; the last request of the unit ends them all
 * (kvmshare_unit_in_end()): until then each stays registered and its
 * waiters asleep, so that nobody starts a 4 KiB page-in of a page the
 * unit is bringing in.
 */
void kvmshare_huge_pagein_done(struct kvmshare_io *io, int result)
{
	io->result = result;
	kvmshare_unit_in_put(io->unit_in);
}

/*
 * Undo a unit page-in before any request was queued: the first
 * @registered requests leave part->io (nothing can have handed them a
 * block: the caller holds the invalidate_lock) and wake whoever found
 * one there and waits (a write(), a fault through a mapping with a page
 * table: they look again), every request is freed, the folio too, and
 * the charge undone. The page-in was not in part->units yet.
 */
static void kvmshare_unit_in_undo(struct kvmshare_unit_in *ui,
				  unsigned int registered)
{
	struct kvmshare_part *part = ui->part;
	unsigned int i, n = 0;
	struct kvmshare_io *io;
	LIST_HEAD(none);		/* the held pages went back at once */

	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		io = ui->ios[i];
		if (!io)
			continue;
		if (n++ < registered) {
			xa_cmpxchg(&part->io, io->index, io, NULL, GFP_KERNEL);
			kvmshare_io_put(io);	/* the array's */
		}
		io->page = NULL;
		complete_all(&io->done);
		kvmshare_io_put(io);
	}
	kvmshare_unit_in_free(part, ui);
	kvmshare_uncharge_unit(part, &none);
	kobject_put(&part->kobj);
	kvfree(ui);
}

/*
 * Whether a fault of @vmf on the unit at @base of @part, if its pages are
 * on the backing store, may page it in whole, and why: the checks that
 * cost nothing, made before the scan and the unit lock (review s26
 * huge5, L2). huge_pagein off or no service: KVMSHARE_UNIT_NO, counted
 * nowhere.
 */
static enum kvmshare_unit_why
kvmshare_unit_pagein_why(struct kvmshare_part *part, struct vm_fault *vmf,
			 pgoff_t base)
{
	unsigned long hint = 0;
	void *e;

	if (!READ_ONCE(huge_pagein) || !kvmshare_pager_active(part->pool))
		return KVMSHARE_UNIT_NO;
	e = xa_load(&part->units, base >> KVMSHARE_UNIT_ORDER);
	if (xa_is_value(e))
		hint = xa_to_value(e);
	if (hint & (KVMSHARE_UNIT_IN_FAILED | KVMSHARE_UNIT_HOLES))
		return KVMSHARE_UNIT_NO;
	return kvmshare_ra_unit_wanted(part, vmf->pgoff,
				       hint & KVMSHARE_UNIT_WAS_OUT);
}

/*
 * A fault on the unit at @base of @part, some of whose pages are on the
 * backing store, pages in 4 KiB: counted in huge_fallbacks when unit
 * page-in is on and a service attached, and in huge_pagein_sparse when
 * the evidence said no (not for a unit whose last page-in failed: L5).
 */
static void kvmshare_unit_pagein_not(struct kvmshare_part *part,
				     pgoff_t base)
{
	void *e;

	if (!READ_ONCE(huge_pagein) || !kvmshare_pager_active(part->pool))
		return;
	atomic64_inc(&part->cnt.huge_fallbacks);
	e = xa_load(&part->units, base >> KVMSHARE_UNIT_ORDER);
	if (!xa_is_value(e) ||
	    !(xa_to_value(e) &
	      (KVMSHARE_UNIT_IN_FAILED | KVMSHARE_UNIT_HOLES)))
		atomic64_inc(&part->cnt.huge_pagein_sparse);
}

/*
 * How a unit to page in is allocated: as a new unit, but not zeroed (only
 * its subpages that are not on the backing store are, one by one).
 */
#define KVMSHARE_UNIT_IN_GFP	(KVMSHARE_UNIT_GFP & ~__GFP_ZERO)

/*
 * Start the page-in of the unit at @base of @part for the fault @vmf
 * (kvmshare_huge_fault(): the unit lock and the invalidate_lock shared
 * held, the unit wanted and found holding pages on the backing store,
 * @why from kvmshare_unit_pagein_why(), not KVMSHARE_UNIT_NO). Returns
 * -EINPROGRESS with *@iop, a request of the unit with a reference for
 * the caller to wait for (all of them end together), or 0 when the unit
 * is not paged in whole (counted; the caller takes the 4 KiB path): no
 * room for 512 pages, no free 2 MiB block, the guess taken by another
 * fault, no memory, a page-in of one of its pages already under way.
 */
static int kvmshare_unit_pagein(struct kvmshare_part *part,
				struct vm_fault *vmf, pgoff_t base,
				enum kvmshare_unit_why why,
				struct kvmshare_io **iop)
{
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_unit_in *ui;
	struct folio *folio = NULL;
	unsigned int i, registered = 0;
	struct kvmshare_io *io;
	LIST_HEAD(held);
	void *e, *old;

	if (!kvmshare_charge_unit(part, &held))
		goto fallback;
	if (!kvmshare_inject_fail(pool, KVMSHARE_INJ_UNIT_IN_NOMEM))
		folio = vma_alloc_folio(KVMSHARE_UNIT_IN_GFP,
					KVMSHARE_UNIT_ORDER, vmf->vma,
					vmf->address & HPAGE_PMD_MASK, true);
	if (!folio)
		goto uncharge;
	/* Only now does the choice change the partition's state (M2). */
	if (!kvmshare_ra_unit_commit(part, why)) {
		folio_put(folio);
		atomic64_inc(&part->cnt.huge_pagein_sparse);
		goto uncharge;
	}
	/*
	 * Allocated where the policy wants it: the held pages go back now,
	 * not after the I/O (review s26 huge5, L1). Undoing the charge
	 * later with none is fine: the refill holds them again.
	 */
	kvmshare_held_return_list(pool, &held);
	ui = kvzalloc(sizeof(*ui), GFP_KERNEL);
	if (!ui) {
		folio_put(folio);
		goto uncharge;
	}
	ui->part = part;
	kobject_get(&part->kobj);
	ui->folio = folio;
	ui->base = base;
	/* Under the unit lock: no other unit page-in or new unit here. */
	if (kvmshare_unit_scan(part, base, ui->ents, false) !=
	    KVMSHARE_UNIT_OUT)
		goto undo;
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		e = ui->ents[i];
		if (!kvmshare_ent_is_out(e)) {
			clear_highpage(folio_page(folio, i));
			continue;
		}
		io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_PAGE_IN,
				       base + i, kvmshare_ent_block(e),
				       folio_page(folio, i));
		if (!io)
			goto undo;
		io->crc = kvmshare_ent_crc(e);
		io->unit_in = ui;
		ui->ios[i] = io;
		if (!ui->first)
			ui->first = io;
		ui->nr_in++;
	}
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		io = ui->ios[i];
		if (!io)
			continue;
		refcount_inc(&io->ref);		/* the array's */
		if (xa_insert(&part->io, io->index, io, GFP_KERNEL)) {
			/* A 4 KiB page-in (read-ahead) of it, or no memory. */
			kvmshare_io_put(io);
			goto undo;
		}
		registered++;
	}
	/*
	 * Registered: a page-in that ended between the look and the
	 * registration may have changed an entry (as kvmshare_pagein_queue()
	 * looks again).
	 */
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++)
		if (xa_load(&part->pages, base + i) != ui->ents[i])
			goto undo;
	/* Complete: faults in the unit may find it and wait for it. */
	xa_lock(&part->units);
	old = __xa_store(&part->units, base >> KVMSHARE_UNIT_ORDER, ui,
			 GFP_KERNEL);
	/* (read before the unlock: a 4 KiB fault may set it meanwhile) */
	if (!xa_is_err(old))
		ui->keep = kvmshare_unit_pte_bit(old);
	xa_unlock(&part->units);
	if (xa_is_err(old))
		goto undo;
	io = ui->ios[vmf->pgoff - base] ?: ui->first;
	refcount_inc(&io->ref);			/* the caller's */
	*iop = io;
	/* One count for us while we queue: the last end may come first. */
	atomic_set(&ui->left, ui->nr_in + 1);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		if (!ui->ios[i])
			continue;
		trace_kvmshare_pagein_start(ui->ios[i]);
		kvmshare_io_queue(pool, ui->ios[i]);
	}
	kvmshare_unit_in_put(ui);
	kvmshare_pager_kick(pool);
	return -EINPROGRESS;

undo:
	kvmshare_unit_in_undo(ui, registered);
	goto fallback;
uncharge:
	kvmshare_uncharge_unit(part, &held);
fallback:
	atomic64_inc(&part->cnt.huge_fallbacks);
	return 0;
}

static bool huge_collapse = true;
module_param(huge_collapse, bool, 0644);
MODULE_PARM_DESC(huge_collapse,
		 "Make a 2 MiB unit by copy of the 4 KiB pages of a range a fault meets where a PMD could map it (default Y; N: map them 4 KiB)");

static struct page *kvmshare_collapse_fault(struct kvmshare_part *part,
					    struct vm_fault *vmf,
					    pgoff_t base);

/*
 * Whether a fault of @vmf may get a new unit of @part, the pool aside:
 * the mount option, the task's and the mapping's THP settings (prctl
 * PR_SET_THP_DISABLE, MADV_NOHUGEPAGE), a VMA where a PMD can map the
 * 2 MiB around the address, no page table there yet (after one, the
 * range is mapped 4 KiB for the VMA's life: the plan, section 3.2), and
 * the whole unit inside the file.
 */
static bool kvmshare_unit_wanted(struct kvmshare_part *part,
				 struct vm_fault *vmf, pgoff_t base)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);

	if (!READ_ONCE(part->pool->huge))
		return false;
	if ((vma->vm_flags & VM_NOHUGEPAGE) ||
	    test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags))
		return false;
	if (!transhuge_vma_suitable(vma, vmf->address & HPAGE_PMD_MASK))
		return false;
	/* A hint: do_set_pmd() looks again under the PMD's lock. */
	if (!pmd_none(READ_ONCE(*vmf->pmd)))
		return false;
	return ((u64)(base + KVMSHARE_UNIT_PAGES) << PAGE_SHIFT) <=
	       i_size_read(inode);
}

/**
 * kvmshare_huge_fault - make a 2 MiB unit for a fault, or page it in whole
 * @part: the partition
 * @vmf: the fault (kvmshare_fault(), the invalidate_lock held shared)
 * @iop: a request to wait for, on ERR_PTR(-EINPROGRESS)
 *
 * When the fault may have a unit (kvmshare_unit_wanted()) and every entry
 * of it is a hole or an all-zero page, allocate the folio where the
 * mapping's NUMA policy puts its address, charge 512 pages, and store it.
 * Falls back to 4 KiB (NULL, counted in huge_fallbacks) when
 * kvmshare_charge_unit() refuses (a unit is made only where 512 pages
 * fit under the limit, the target and the pool's reserve and low mark),
 * when the host has no free 2 MiB block, when a 4 KiB page came first or
 * when the array cannot get a node. When some of the entries are on the
 * backing store instead, the unit may be paged in whole
 * (kvmshare_unit_pagein()); a fault anywhere in a unit whose page-in is
 * in flight waits for it, through any mapping, rather than make a 4 KiB
 * page there that would make it fail, unless it is on a hole or an
 * all-zero page and cannot wait safely (kvmshare_unit_in_lookup()).
 * When the entries are 4 KiB pages in memory and all-zero pages, with no
 * hole (KVMSHARE_UNIT_MIXED), the pages are collapsed into a new unit by
 * copy (kvmshare_collapse_fault(), huge_collapse=Y): the PMD is empty
 * here, so this mapping at least gets the unit by a PMD.
 *
 * Returns the subpage of @vmf->pgoff with a reference for the caller,
 * which handles it as any page (locks it, checks it is still the entry,
 * returns it with VM_FAULT_LOCKED), or NULL: the caller takes the 4 KiB
 * path, which also finds the subpage of a unit made earlier. The unit
 * lock taken by another fault is ERR_PTR(-EBUSY) for a fault that may be
 * retried (the caller unlocks and calls kvmshare_huge_wait()), and
 * ERR_PTR(-EINTR) when a fault that cannot be retried is killed waiting
 * for it: no 4 KiB page is made in the range then. ERR_PTR(-EAGAIN): a
 * collapse gave up for a cause that passes, and the fault may be retried
 * (the caller unlocks and returns kvmshare_huge_retry()).
 * ERR_PTR(-EINPROGRESS):
 * a unit page-in is under way, *@iop is one of its requests with a
 * reference (wait for it as for a 4 KiB page-in, then retry).
 */
struct page *kvmshare_huge_fault(struct kvmshare_part *part,
				 struct vm_fault *vmf, struct kvmshare_io **iop)
{
	struct kvmshare_pool *pool = part->pool;
	pgoff_t base = kvmshare_unit_base(vmf->pgoff);
	unsigned int nr = kvmshare_unit_lock_nr(part, base);
	enum kvmshare_unit_why why;
	enum kvmshare_unit_kind kind;
	struct folio *folio = NULL;
	struct page *page;
	LIST_HEAD(held);
	bool busy;
	int err;

	BUILD_BUG_ON(KVMSHARE_UNIT_ORDER != HPAGE_PMD_ORDER);
	*iop = kvmshare_unit_in_lookup(part, vmf, &busy);
	if (*iop)
		return ERR_PTR(-EINPROGRESS);
	if (busy || !kvmshare_unit_wanted(part, vmf, base))
		return NULL;
	/* The cheap checks before the scan and the lock (L2). */
	why = kvmshare_unit_pagein_why(part, vmf, base);
	kind = kvmshare_unit_scan(part, base, NULL, why == KVMSHARE_UNIT_NO);
	if (kind == KVMSHARE_UNIT_OTHER ||
	    (kind == KVMSHARE_UNIT_MIXED && !READ_ONCE(huge_collapse)))
		return NULL;
	if (kind == KVMSHARE_UNIT_OUT && why == KVMSHARE_UNIT_NO) {
		kvmshare_unit_pagein_not(part, base);
		return NULL;
	}
	err = kvmshare_unit_lock(part, vmf, nr);
	if (err)
		return ERR_PTR(err);
	/* Made or paged in meanwhile by a fault that held the lock? */
	*iop = kvmshare_unit_in_lookup(part, vmf, &busy);
	if (*iop || busy) {
		kvmshare_unit_unlock(pool, nr);
		return *iop ? ERR_PTR(-EINPROGRESS) : NULL;
	}
	kind = kvmshare_unit_scan(part, base, NULL, why == KVMSHARE_UNIT_NO);
	if (kind == KVMSHARE_UNIT_OUT) {
		err = why == KVMSHARE_UNIT_NO ? 0 :
		      kvmshare_unit_pagein(part, vmf, base, why, iop);
		kvmshare_unit_unlock(pool, nr);
		return err ? ERR_PTR(err) : NULL;
	}
	if (kind == KVMSHARE_UNIT_MIXED) {
		/* 4 KiB pages, none mapped here: one unit by copy. */
		page = kvmshare_collapse_fault(part, vmf, base);
		kvmshare_unit_unlock(pool, nr);
		return page;
	}
	if (kind != KVMSHARE_UNIT_EMPTY) {
		kvmshare_unit_unlock(pool, nr);
		return NULL;
	}
	/*
	 * The 2 MiB block first, the charge once it is had, and
	 * allocated_pages right after the install: the allocation may
	 * reclaim and compact for long, the invalidate_lock held shared (a
	 * punch waits, and the faults queued behind it), and a unit charged
	 * meanwhile was in resident_pages but not in allocated_pages (e2e
	 * qemu_balloon_huge.sh read them 512 apart). No block is taken for
	 * a unit the charge would refuse: kvmshare_unit_room() first.
	 */
	if (!kvmshare_unit_room(part))
		goto unlock;
	if (!kvmshare_inject_fail(pool, KVMSHARE_INJ_UNIT_NOMEM))
		folio = vma_alloc_folio(KVMSHARE_UNIT_GFP, KVMSHARE_UNIT_ORDER,
					vmf->vma, vmf->address & HPAGE_PMD_MASK,
					true);
	if (!folio)
		goto unlock;
	kvmshare_inject(pool, KVMSHARE_INJ_UNIT_ALLOCATED);
	if (!kvmshare_charge_unit(part, &held)) {
		folio_put(folio);		/* frees it */
		goto unlock;
	}
	folio_get(folio);			/* the caller's */
	if (kvmshare_unit_install(part, base, folio)) {
		folio_put(folio);
		folio_put(folio);		/* frees it */
		goto uncharge;
	}
	atomic64_add(KVMSHARE_UNIT_PAGES, &part->cnt.allocated);
	/* Placed where the policy wants it: the held pages go back. */
	kvmshare_held_return_list(pool, &held);
	kvmshare_huge_forget(part, base, base + KVMSHARE_UNIT_PAGES - 1);
	kvmshare_unit_unlock(pool, nr);
	atomic64_inc(&part->cnt.huge_units);
	atomic64_inc(&part->cnt.huge_faults);
	return folio_page(folio, vmf->pgoff - base);

uncharge:
	/* The held pages are held again: the refill need not redo them. */
	kvmshare_uncharge_unit(part, &held);
unlock:
	kvmshare_unit_unlock(pool, nr);
	atomic64_inc(&part->cnt.huge_fallbacks);
	return NULL;
}

static int kvmshare_pte_table_only(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/**
 * kvmshare_huge_map_check - keep a unit from being mapped by a PMD here
 * @part: the partition
 * @vmf: the fault
 * @page: the unit's subpage the fault returns, locked
 *
 * finish_fault() maps a unit's subpage with a PMD when the PMD is empty
 * and the VMA is aligned for it; nothing else of ours is looked at. Not
 * wanted when one of its pages is poisoned (a PMD would map it again:
 * PageHasHWPoisoned on the head makes do_set_pmd() refuse, and the
 * poisoned page itself is a machine check, kvmshare_fault()), when the
 * mapping or the task has THP off (MADV_NOHUGEPAGE, PR_SET_THP_DISABLE,
 * for units made before or through another mapping), or when the unit
 * reaches past the end of the file (cut by a truncation: its part past
 * the end must not be written through the mapping). For the last two a
 * PTE table is put in the empty PMD first, so that the subpage gets a PTE.
 *
 * Returns 0 or VM_FAULT_OOM (no page table).
 */
vm_fault_t kvmshare_huge_map_check(struct kvmshare_part *part,
				   struct vm_fault *vmf, struct page *page)
{
	struct vm_area_struct *vma = vmf->vma;
	struct page *head = compound_head(page);
	pgoff_t base = kvmshare_unit_base(vmf->pgoff);
	bool pte;

	/* The core looks again under the PMD's lock. */
	if (!pmd_none(READ_ONCE(*vmf->pmd)))
		return 0;
	if (kvmshare_unit_poisoned(head)) {
		SetPageHasHWPoisoned(head);
		return 0;
	}
	/* Only a unit the core could map by a PMD needs a table. */
	if (!transhuge_vma_suitable(vma, vmf->address & HPAGE_PMD_MASK))
		return 0;
	pte = (vma->vm_flags & VM_NOHUGEPAGE) ||
	      test_bit(MMF_DISABLE_THP, &vma->vm_mm->flags) ||
	      ((u64)(base + KVMSHARE_UNIT_PAGES) << PAGE_SHIFT) >
	      i_size_read(file_inode(vma->vm_file));
	/*
	 * No PMD comes between the look above and the walk, which would
	 * warn at one: every fault on these 2 MiB of the VMA decides here,
	 * on the same flags (madvise() and prctl() change them with the
	 * mmap lock held for writing) and the same size (it passes a unit's
	 * end only under the invalidate_lock: kvmshare_huge_set_size()); a
	 * PMD one decided on before a truncation is unmapped by it
	 * (kvmshare_unit_cut()). So the walk only makes the table.
	 */
	if (pte && apply_to_page_range(vma->vm_mm, vmf->address & PAGE_MASK,
				       PAGE_SIZE, kvmshare_pte_table_only,
				       NULL))
		return VM_FAULT_OOM;
	return 0;
}

/*
 * A reference to the folio of @entry, a unit's subpage found at @index
 * without one, if it is still the entry there and a unit's (the array's
 * reference keeps it while it is; a 4 KiB page freed meanwhile may have
 * become part of another compound page); NULL if not.
 */
static struct folio *kvmshare_unit_get(struct kvmshare_part *part,
				       pgoff_t index, void *entry)
{
	struct folio *folio = NULL;

	xa_lock(&part->pages);
	if (xa_load(&part->pages, index) == entry &&
	    PageCompound((struct page *)entry)) {
		folio = page_folio((struct page *)entry);
		folio_get(folio);
	}
	xa_unlock(&part->pages);
	return folio;
}

/*
 * Free the unlocked unit @folio at @base, out of the array now: drop the
 * array's reference and the caller's, unless a page of it is poisoned.
 * Freed, the folio would go back to the buddy allocator as one order-9
 * block, the poisoned page in it (free_pages_prepare() drops only an
 * order-0 poisoned page), and no exported call splits it into pages that
 * could be freed one by one: keep the array's reference, and 2 MiB of the
 * host with it. The pool's charge goes as for any unit. Looked at here,
 * just before the last put, since memory_failure() may mark a page at any
 * time, with no lock: while a split copied, or after an earlier look.
 */
static void kvmshare_unit_release(struct kvmshare_part *part,
				  struct folio *folio, pgoff_t base)
{
	if (kvmshare_unit_poisoned(&folio->page)) {
		atomic64_inc(&part->cnt.huge_poisoned);
		pr_warn_ratelimited("%s/%llu: unit at page %lu has a poisoned page: its 2 MiB are not freed\n",
				    part->pool->name, part->id, base);
	} else {
		folio_put(folio);	/* the array's */
	}
	folio_put(folio);		/* the caller's */
}

/*
 * Deferred partial punch (step 7 of the plan). A balloon gives guest
 * pages back 4 KiB at a time (QEMU punches at its RAM block's page size;
 * free page reporting hands over 2 MiB blocks, which free units whole),
 * and splitting a unit at each such punch would leave every unit the
 * balloon touches 4 KiB for good in each mapping that faults it back (a
 * PTE table stays, the plan's section 3.2), while a collapse never takes
 * a range with holes back. So a punch of part of a unit zeroes its pages
 * in place, as a held unit's punch always did, and notes them in a
 * bitmap of the unit in part->holes (kvmshare_unit_defer()); the unit
 * stays, charged whole, and the next touch maps it by a PMD again (the
 * punch's unmap zapped it; a zapped PMD leaves no table). The unit is
 * split by copy (kvmshare_unit_cut(), which frees the punched pages:
 * they are all zero) once more than huge_punch_split_pct percent of it
 * is punched; at a deferred punch while memory is wanted from the
 * partition (the pool short, or the partition above its target); by the
 * eviction work when memory is wanted, before it pages anything out of
 * the partition (kvmshare_huge_holes_reclaim(): units mapped by a PMD
 * too, unmapped for it, the heaviest first, each with enough holes to be
 * worth its PMD); and by the eviction work once huge_punch_split_pct is
 * lowered, for units over the new value (kvmshare_huge_holes_rescan()).
 * A unit paged out whole leaves its deferred holes as holes, not as
 * all-zero pages, and comes back 4 KiB (kvmshare_unit_swap_out()), so
 * that nothing charges the memory a balloon gave back again.
 *
 * The bitmap is a hint for that choice, never a statement about data: a
 * write() or a write fault through a page table clears the page's bit
 * (kvmshare_huge_written()), but a write through the unit's PMD, once it
 * is mapped again, is seen by nobody. Nothing relies on the bit for data:
 * a hole reads as zeros because it was zeroed; a split keeps every
 * subpage that holds data, bit or not; a page-out elides every all-zero
 * subpage, bit or not. Before a split for the threshold the bits are
 * checked against the data (kvmshare_holes_recount()), so that a balloon
 * that deflated and inflated again does not split a unit for pages the
 * guest uses.
 *
 * Bitmaps are 72 bytes (the bits and the weight of the last recount),
 * one per unit with deferred holes, made and changed under the unit's
 * folio lock (which every path that changes them holds: the punch,
 * write(), a fault, the unit's removal, split and page-out, the eviction
 * work's recount), the tree under its own xa_lock, innermost. A bitmap
 * is erased in the section, under the pages xa_lock, where its unit
 * leaves the array (kvmshare_holes_erase(): a unit made there later
 * never finds it), or under the folio lock while the unit is in the
 * array, when its last bit is cleared; whoever erased it frees it.
 */

static unsigned int huge_punch_split_pct = 50;
/*
 * Bumped when huge_punch_split_pct is lowered: the eviction work of each
 * pool then looks at the holes already deferred again, against the new
 * value (kvmshare_huge_holes_rescan()), on its next pass.
 */
static atomic_t huge_punch_gen = ATOMIC_INIT(0);

static int kvmshare_param_set_punch_pct(const char *val,
					const struct kernel_param *kp)
{
	unsigned int pct, was;
	int ret = kstrtouint(val, 0, &pct);

	if (ret)
		return ret;
	if (pct > 100)
		return -EINVAL;
	was = xchg(&huge_punch_split_pct, pct);
	if (pct < was)
		atomic_inc(&huge_punch_gen);
	return 0;
}

/* Which lowering of huge_punch_split_pct is the last (kvmshare_evict_work()). */
unsigned int kvmshare_huge_punch_gen(void)
{
	return atomic_read(&huge_punch_gen);
}

static const struct kernel_param_ops kvmshare_punch_pct_ops = {
	.set = kvmshare_param_set_punch_pct,
	.get = param_get_uint,
};

module_param_cb(huge_punch_split_pct, &kvmshare_punch_pct_ops,
		&huge_punch_split_pct, 0644);
MODULE_PARM_DESC(huge_punch_split_pct,
		 "A hole punch of part of a 2 MiB unit zeroes it in place and keeps the unit (and its PMD) until more than this percentage of it is punched, or the pool is short; then the unit is split and the punched memory freed (0..100, default 50; 0: split at every punch; 100: never split for punches)");

/* Bits set in @map: the unit's deferred holes. */
static unsigned int kvmshare_holes_weight(const unsigned long *map)
{
	return bitmap_weight(map, KVMSHARE_UNIT_PAGES);
}

/*
 * The unit at @base leaves the array: take its bitmap out of the tree,
 * in the section under the pages xa_lock where its entries go (review
 * s27 h7, M1), so that a unit made there later (which needs that lock)
 * never finds it. The caller holds the unit's folio lock too (nobody
 * changes the bitmap meanwhile) and frees what is returned
 * (kvmshare_holes_free()) after the unlock.
 */
static unsigned long *kvmshare_holes_erase(struct kvmshare_part *part,
					   pgoff_t base)
{
	lockdep_assert_held(&part->pages.xa_lock);
	if (xa_empty(&part->holes))
		return NULL;
	return xa_erase(&part->holes, base >> KVMSHARE_UNIT_ORDER);
}

/* A bitmap kvmshare_holes_erase() took out: its holes left with the unit. */
static void kvmshare_holes_free(struct kvmshare_part *part,
				unsigned long *map)
{
	if (!map)
		return;
	atomic64_sub(kvmshare_holes_weight(map),
		     &part->cnt.huge_punch_pending);
	bitmap_free(map);
}

/**
 * kvmshare_huge_written - a page of a unit is written: no deferred hole
 * @part: the partition
 * @index: the page's index
 * @page: the entry at @index, locked by the caller (write(), a fault)
 *
 * Clears the page's bit of deferred holes, if any; the last bit frees
 * the bitmap. Only what is seen: a write through a PMD is not.
 */
void kvmshare_huge_written(struct kvmshare_part *part, pgoff_t index,
			   struct page *page)
{
	unsigned long i = index >> KVMSHARE_UNIT_ORDER;
	unsigned long *map;

	if (xa_empty(&part->holes) || !PageCompound(page))
		return;
	/* The folio lock keeps the bitmap: it is dropped under it. */
	map = xa_load(&part->holes, i);
	if (!map ||
	    !test_and_clear_bit(index & (KVMSHARE_UNIT_PAGES - 1), map))
		return;
	atomic64_dec(&part->cnt.huge_punch_pending);
	/* Only what our own erase took (review s27 h7, M1). */
	if (bitmap_empty(map, KVMSHARE_UNIT_PAGES))
		bitmap_free(xa_erase(&part->holes, i));
}

/**
 * kvmshare_huge_holes_exit - free what is left of part->holes
 * @part: a partition being freed (no page left in it)
 *
 * Every unit's bitmap goes when it leaves the array; one left here is a
 * path that forgot to erase it: warned about, and freed.
 */
void kvmshare_huge_holes_exit(struct kvmshare_part *part)
{
	unsigned long i, *map;

	WARN_ON_ONCE(!xa_empty(&part->holes));
	xa_for_each(&part->holes, i, map)
		bitmap_free(map);
	xa_destroy(&part->holes);
}

/**
 * kvmshare_huge_remove - give a whole unit back to the pool
 * @part: the partition
 * @mapping: its address space, unmapped over the unit; NULL when the
 *	inode is being evicted
 * @index: where the caller found @entry
 * @entry: a subpage of the unit
 * @n: pages removed, counted up
 *
 * For kvmshare_part_remove_range(), whose rules apply: the caller holds
 * the invalidate_lock exclusively (no fault looks the unit up meanwhile);
 * a fault that found it before holds its lock until its PMD or PTE is in
 * place, so the unit is unmapped again under the lock if it got mapped.
 * Returns false if the entry changed (look again), true once the unit is
 * gone.
 */
bool kvmshare_huge_remove(struct kvmshare_part *part,
			  struct address_space *mapping, pgoff_t index,
			  void *entry, u64 *n)
{
	pgoff_t base = kvmshare_unit_base(index), i;
	unsigned long *map = NULL;
	struct folio *folio;
	bool removed;

	folio = kvmshare_unit_get(part, index, entry);
	if (!folio)
		return false;
	folio_lock(folio);
	xa_lock(&part->pages);
	removed = xa_load(&part->pages, base) == folio_page(folio, 0);
	for (i = 0; removed && i < KVMSHARE_UNIT_PAGES; i++)
		__xa_erase(&part->pages, base + i);
	if (removed)
		map = kvmshare_holes_erase(part, base);
	xa_unlock(&part->pages);
	if (removed) {
		if (mapping && folio_mapped(folio))
			unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES,
					    false);
		*n += KVMSHARE_UNIT_PAGES;
		atomic64_dec(&part->cnt.huge_units);
		kvmshare_holes_free(part, map);
	}
	folio_unlock(folio);
	if (removed)
		kvmshare_unit_release(part, folio, base);
	else
		folio_put(folio);
	return removed;
}

/*
 * How a split gets the 4 KiB pages a unit's data is copied to: on the
 * unit's node if it can (the placement the unit had), not zeroed (every
 * byte is copied), without a warning, and without direct reclaim: the
 * split runs under the invalidate_lock held exclusively, which every
 * fault of the file (every vCPU of the VM) waits for, so it must not
 * reclaim, up to 511 times, with it held. kswapd is woken; a split that
 * gets no page zeroes in place instead, counted in huge_split_failures.
 * (Allocating before the lock, which the inode lock of both callers would
 * allow, is left for later: the pages a split needs are known only once
 * it has copied, so that needs a second, unlocked, pass over the unit.)
 */
#define KVMSHARE_SPLIT_GFP	((GFP_HIGHUSER & ~__GFP_DIRECT_RECLAIM) | \
				 __GFP_NOWARN)

/*
 * How many times a split looks again at a unit someone else holds a
 * reference to (not a DMA pin), after a short sleep, before it zeroes in
 * place instead (kvmshare_unit_cut()).
 */
#define KVMSHARE_SPLIT_TRIES	3

/*
 * Zero pages [@first, @end) of the locked unit @folio at @base in place,
 * but its poisoned pages (never read again): a split that could not be
 * made. The unit stays, charged whole.
 */
static void kvmshare_unit_zero(struct folio *folio, pgoff_t base,
			       pgoff_t first, pgoff_t end)
{
	pgoff_t i;

	for (i = first; i < end; i++) {
		if (PageHWPoison(folio_page(folio, i - base)))
			continue;
		clear_highpage(folio_page(folio, i - base));
	}
	folio_mark_dirty(folio);
}

/*
 * Copy subpage @sub into @page; false if reading it raised a machine
 * check (an uncorrected memory error not reported yet). The unit is guest
 * memory, read here in kernel mode: copy_mc_to_kernel() (a memcpy() where
 * the architecture has no recoverable copy) returns on an error instead
 * of panicking the host. The error is the MCE handler's to report and
 * memory_failure()'s to mark; the caller just gives the split up.
 */
static bool kvmshare_copy_subpage(struct page *page, struct page *sub)
{
	void *to = kmap_local_page(page);
	void *from = kmap_local_page(sub);
	unsigned long left = copy_mc_to_kernel(to, from, PAGE_SIZE);

	kunmap_local(from);
	kunmap_local(to);
	return !left;
}

/*
 * Copy the subpages of the locked, unmapped unit @folio at @base that lie
 * outside [@first, @end) and below the end of the file, @size bytes, and
 * hold data into new 4 KiB pages, put on @pages in index order and marked
 * in @keep; an all-zero subpage gets none (a hole, as a page never
 * written). A subpage at or past the end is a hole too, and the copy of
 * the page the end is in is zeroed from the end on: a unit cut by an
 * earlier truncation that could not split it may hold data there
 * (written through a pin or a PTE past the end), which must read as
 * zeros once the file grows, as kvmshare_huge_grow() makes it for a
 * unit. Each subpage is read once, by the machine-check-safe copy, and
 * the copy tested for zeros (a page all zero is used again for the
 * next). False, and nothing on @pages, when a page cannot be had or a
 * subpage cannot be read.
 */
static bool kvmshare_unit_copy(struct kvmshare_part *part,
			       struct folio *folio, pgoff_t base,
			       pgoff_t first, pgoff_t end, loff_t size,
			       unsigned long *keep, struct list_head *pages)
{
	pgoff_t eof = DIV_ROUND_UP(size, PAGE_SIZE);
	int nid = folio_nid(folio);
	struct page *page = NULL;
	unsigned int i;

	bitmap_zero(keep, KVMSHARE_UNIT_PAGES);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		if ((base + i >= first && base + i < end) || base + i >= eof)
			continue;
		if (!page &&
		    !kvmshare_inject_fail(part->pool, KVMSHARE_INJ_SPLIT_NOMEM))
			page = alloc_pages_node(nid, KVMSHARE_SPLIT_GFP, 0);
		if (!page)
			goto fail;
		if (!kvmshare_copy_subpage(page, folio_page(folio, i))) {
			pr_warn_ratelimited("%s/%llu: page %lu of a unit could not be read (memory error): unit not split\n",
					    part->pool->name, part->id,
					    base + i);
			goto fail;
		}
		if (base + i == size >> PAGE_SHIFT)
			zero_user_segment(page, offset_in_page(size),
					  PAGE_SIZE);
		if (!kvmshare_page_is_zero(page)) {
			list_add_tail(&page->lru, pages);
			__set_bit(i, keep);
			page = NULL;
		}
		cond_resched();
	}
	if (page)
		__free_page(page);
	return true;
fail:
	if (page)
		__free_page(page);
	kvmshare_free_pages(pages);
	return false;
}

/*
 * Replace the 512 entries of the unit @folio at @base in one section
 * under the array's lock: entry i by the next page of @pages where @keep
 * has bit i, by a hole elsewhere. Only if every entry is still the
 * unit's, and the unit unmapped and referenced by the array and the
 * caller only, looked at again here: a reference can appear after the
 * caller's check (the policy's reader of a control file takes one under
 * this lock only; see kvmshare_unit_cut()), so this check must stay,
 * under this lock, in this section. The pages go in first: they
 * replace entries, so no node is allocated under the lock; the holes
 * after, which may free nodes. The new pages come unmarked, as the
 * unit's entries were. The unit's deferred holes leave the tree in the
 * same section, their bitmap put in *@map for the caller to free.
 * Returns the entries that became holes, or -EBUSY (nothing changed).
 */
static long kvmshare_unit_swap(struct kvmshare_part *part,
			       struct folio *folio, pgoff_t base,
			       const unsigned long *keep,
			       struct list_head *pages, unsigned long **map)
{
	XA_STATE(xas, &part->pages, base);
	struct page *page;
	unsigned int i;
	long n = 0;

	xas_lock(&xas);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		xas_set(&xas, base + i);
		if (xas_load(&xas) != folio_page(folio, i)) {
			n = -EBUSY;
			goto unlock;
		}
	}
	if (folio_mapped(folio) || folio_ref_count(folio) != 2) {
		n = -EBUSY;
		goto unlock;
	}
	for_each_set_bit(i, keep, KVMSHARE_UNIT_PAGES) {
		page = list_first_entry(pages, struct page, lru);
		list_del(&page->lru);
		xas_set(&xas, base + i);
		xas_store(&xas, page);
		xas_init_marks(&xas);
	}
	for_each_clear_bit(i, keep, KVMSHARE_UNIT_PAGES) {
		xas_set(&xas, base + i);
		xas_store(&xas, NULL);
		n++;
	}
	*map = kvmshare_holes_erase(part, base);
unlock:
	xas_unlock(&xas);
	return n;
}

/*
 * Take pages [@first, @end) out of the unit of @part holding them, found
 * as @entry at @first: split it by copy (the plan, sections 3.1 and 3.4).
 * Its data outside the range goes to 4 KiB pages, its 512 entries are
 * swapped for them and for holes, the folio is freed and the pages that
 * left are uncharged. The caller holds the inode lock (no write() runs)
 * and the invalidate_lock exclusively: no fault or read looks the unit up
 * meanwhile, and one that found it before holds a reference (a read()
 * copying from it) or its lock until its PMD or PTE is in place (so it
 * is unmapped here after the lock is ours, and no mapping, hence no
 * GUP, reaches it after that). Locked and unmapped, it is split only if
 * the array and this function hold its only references, a passing one
 * given a few short waits to go; the new pages are filled before anyone
 * can see them. A reference may still appear before the swap (the policy
 * reader of a control file looks pages up under the array's lock only,
 * and eviction may grab a stale pointer): kvmshare_unit_swap() checks
 * again under the array's lock, and that check is what makes the split
 * safe, not the locks above.
 *
 * Else it is zeroed over the range in place and stays, charged whole, as
 * before splits existed: when it is held by someone else (a DMA pin, a
 * pipe's reference from vmsplice(), I/O in flight, a reference that did
 * not go or appeared before the swap: counted in huge_pinned_cuts; what
 * is written through the hold later shows in the file), when it has a
 * poisoned page (a unit with one is never freed: kvmshare_huge_remove()),
 * a page the copy cannot read, or when a 4 KiB page cannot be had
 * (counted in huge_split_failures). Adds the pages that left the pool to
 * *@n and sets *@split (if not NULL) when the unit was split; a deferred
 * punch's holes (kvmshare_unit_defer()) go with the unit, as the copy
 * keeps only subpages with data. Returns false when @entry is not the
 * unit's entry there any more
 * (not expected: the caller's locks keep units from changing), so that
 * the caller leaves the range to the removal of plain pages.
 *
 * With @reclaim (the eviction work freeing deferred holes, an empty
 * range: kvmshare_huge_holes_reclaim()), a unit that is not split is
 * left as it was: its lock only tried, no wait for a reference to go
 * (both file locks are held), nothing zeroed, marked dirty or counted
 * (review s27 h7, M3).
 */
static bool kvmshare_unit_cut(struct kvmshare_part *part,
			      struct address_space *mapping, pgoff_t first,
			      pgoff_t end, void *entry, u64 *n, bool *split,
			      bool reclaim)
{
	DECLARE_BITMAP(keep, KVMSHARE_UNIT_PAGES);
	pgoff_t base = kvmshare_unit_base(first);
	unsigned int tries = 0;
	unsigned long *map;
	struct folio *folio;
	LIST_HEAD(pages);
	bool found = true;
	long holes;

	folio = kvmshare_unit_get(part, first, entry);
	if (!folio)
		return false;
again:
	if (!reclaim) {
		folio_lock(folio);
	} else if (!folio_trylock(folio)) {
		folio_put(folio);
		return true;
	}
	/* A page-out in flight: reclaim leaves it mapped, as it was. */
	if (reclaim && READ_ONCE(folio->private))
		goto unlock;
	/* All of it, PMD and PTEs: every subpage is replaced. */
	unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
	if (xa_load(&part->pages, first) != entry) {
		found = false;
		goto unlock;
	}
	/* (memory_failure() may have kept a reference: poison first.) */
	if (kvmshare_unit_poisoned(&folio->page))
		goto failed;
	if (folio_maybe_dma_pinned(folio))
		goto held;
	/*
	 * References: the array's and ours (kvmshare_unit_get()). Another
	 * may be a passing one: a KVM fault between its look-up of the pfn
	 * and its release, a fault that lost the race for the PTE (it
	 * unlocks the page before it puts it), GUP-fast's speculative grab,
	 * MADV_COLD. Let go of the lock (a fault waiting for it maps the
	 * unit, unmapped again above) and look again a few times, briefly:
	 * every fault of the file waits for the invalidate_lock meanwhile.
	 */
	if (folio_ref_count(folio) != 2) {
		if (reclaim || ++tries > KVMSHARE_SPLIT_TRIES)
			goto held;
		folio_unlock(folio);
		usleep_range(50 * tries, 100 * tries);
		goto again;
	}
	/* Both callers hold the inode lock: the size does not change. */
	if (!kvmshare_unit_copy(part, folio, base, first, end,
				i_size_read(mapping->host), keep, &pages))
		goto failed;
	kvmshare_inject(part->pool, KVMSHARE_INJ_SPLIT_COPIED);
	holes = kvmshare_unit_swap(part, folio, base, keep, &pages, &map);
	if (holes < 0) {
		/* A reference appeared meanwhile (held, as above). */
		kvmshare_free_pages(&pages);
		goto held;
	}
	atomic64_inc(&part->cnt.huge_splits);
	atomic64_dec(&part->cnt.huge_units);
	kvmshare_uncharge(part, holes);
	*n += holes;
	kvmshare_holes_free(part, map);
	if (split)
		*split = true;
	folio_unlock(folio);
	/* The array's reference and ours: a poisoned unit is kept. */
	kvmshare_unit_release(part, folio, base);
	return true;
held:
	if (reclaim)
		goto unlock;
	atomic64_inc(&part->cnt.huge_pinned_cuts);
	goto zero;
failed:
	if (reclaim)
		goto unlock;
	atomic64_inc(&part->cnt.huge_split_failures);
zero:
	kvmshare_unit_zero(folio, base, first, end);
unlock:
	folio_unlock(folio);
	folio_put(folio);
	return found;
}

/*
 * Look again at the deferred holes of the locked unit @folio at @base,
 * bitmap @map, outside [@first, @end) (zeroed just now): a hole written
 * since through the unit's PMD holds data and is no hole any more. Read
 * with the machine-check-safe scan (guest memory); a poisoned page or
 * one that cannot be read keeps its bit (a split will not take it
 * anyway).
 */
static void kvmshare_holes_recount(struct kvmshare_part *part,
				   struct folio *folio, pgoff_t base,
				   unsigned long *map, pgoff_t first,
				   pgoff_t end)
{
	unsigned int i;

	for_each_set_bit(i, map, KVMSHARE_UNIT_PAGES) {
		struct page *sub = folio_page(folio, i);

		if ((base + i >= first && base + i < end) ||
		    PageHWPoison(sub))
			continue;
		if (kvmshare_page_has_data(sub) > 0 &&
		    test_and_clear_bit(i, map))
			atomic64_dec(&part->cnt.huge_punch_pending);
		cond_resched();
	}
}

/*
 * A bitmap: KVMSHARE_UNIT_PAGES bits, then one word with the weight the
 * last recount left (0: none yet), so that a unit that sits at the
 * threshold, its pages used again and punched again, is recounted only
 * once its weight has grown by KVMSHARE_HOLES_RECOUNT_STEP since
 * (review s27 h7, L2): in between it is split on its bits, a hint.
 */
#define KVMSHARE_HOLES_LONGS	(BITS_TO_LONGS(KVMSHARE_UNIT_PAGES) + 1)
#define KVMSHARE_HOLES_RECOUNTED(map) \
	((map)[KVMSHARE_HOLES_LONGS - 1])
#define KVMSHARE_HOLES_RECOUNT_STEP	32

/*
 * How deferred holes are allocated: under the folio lock, the inode lock
 * and the invalidate_lock held exclusively, which every fault of the
 * file waits for: no direct reclaim there (as KVMSHARE_SPLIT_GFP; review
 * s27 h7, L1). A punch that gets none splits at once, as before
 * deferral.
 */
#define KVMSHARE_HOLES_GFP	(GFP_NOWAIT | __GFP_NOWARN)

/* Whether @nr deferred holes are over the threshold @pct (see below). */
static bool kvmshare_holes_over(unsigned int nr, unsigned int pct)
{
	if (nr >= KVMSHARE_UNIT_PAGES)
		return true;
	if (pct >= 100 || !nr)
		return false;
	return nr * 100 > pct * KVMSHARE_UNIT_PAGES;
}

/*
 * Whether the locked unit @folio at @base of @part with deferred holes
 * @map, punched over [@first, @end) just now, is split now: more than
 * huge_punch_split_pct (@pct) percent of it punched, its bits checked
 * against the data first (unless they were recently), or memory wanted
 * from the partition (the pool short, or the partition above its target:
 * kvmshare_part_pressed(), review s27 h7, H2), on its bits (the split
 * keeps any page with data anyway: L2). With 100, only a unit punched
 * whole (its split keeps nothing: it is freed).
 */
static bool kvmshare_holes_split(struct kvmshare_part *part,
				 struct folio *folio, pgoff_t base,
				 unsigned long *map, pgoff_t first,
				 pgoff_t end, unsigned int pct)
{
	unsigned int nr = kvmshare_holes_weight(map);

	if (nr >= KVMSHARE_UNIT_PAGES)
		return true;
	if (pct >= 100 || !nr)
		return false;
	if (!kvmshare_holes_over(nr, pct))
		return kvmshare_part_pressed(part);
	if (KVMSHARE_HOLES_RECOUNTED(map) &&
	    nr < KVMSHARE_HOLES_RECOUNTED(map) + KVMSHARE_HOLES_RECOUNT_STEP)
		return true;
	kvmshare_holes_recount(part, folio, base, map, first, end);
	nr = kvmshare_holes_weight(map);
	KVMSHARE_HOLES_RECOUNTED(map) = nr;
	return kvmshare_holes_over(nr, pct) || kvmshare_part_pressed(part);
}

/*
 * A hole punch of pages [@first, @end) of the unit of @part holding
 * them, found as @entry at @first: defer its split (see above). The
 * caller's locks are kvmshare_unit_cut()'s (inode lock, invalidate_lock
 * exclusive). The pages are zeroed in place under the folio lock, once
 * unmapped again (a fault that found the unit before the invalidate_lock
 * may have mapped it since the caller's unmap), and their bits set; the
 * unit is then split if it is over the threshold (its bits checked
 * first), punched whole, or memory is wanted from the partition. A unit
 * that cannot be split is zeroed and kept as kvmshare_unit_cut() keeps
 * one. A bitmap that cannot be had (or huge_punch_split_pct 0) splits at
 * once, as before deferral; a poisoned unit goes to kvmshare_unit_cut(),
 * which zeroes it in place and counts it. Returns as kvmshare_unit_cut().
 */
static bool kvmshare_unit_defer(struct kvmshare_part *part,
				struct address_space *mapping, pgoff_t first,
				pgoff_t end, void *entry, u64 *n)
{
	unsigned int pct = READ_ONCE(huge_punch_split_pct);
	unsigned long i = first >> KVMSHARE_UNIT_ORDER;
	pgoff_t base = kvmshare_unit_base(first), p;
	unsigned long *map, *fresh = NULL;
	unsigned int added = 0;
	bool split = false, found;
	struct folio *folio;
	bool want;

	if (!pct)
		goto cut;
	folio = kvmshare_unit_get(part, first, entry);
	if (!folio)
		return false;
	folio_lock(folio);
	unmap_mapping_pages(mapping, first, end - first, false);
	if (xa_load(&part->pages, first) != entry) {
		folio_unlock(folio);
		folio_put(folio);
		return false;
	}
	if (kvmshare_unit_poisoned(&folio->page))
		goto unlock_cut;
	/*
	 * The folio lock keeps the bitmap, or its absence: a new one is
	 * stored only while the unit is in the array (checked above, and it
	 * leaves only under this lock).
	 */
	map = xa_load(&part->holes, i);
	if (!map) {
		fresh = bitmap_zalloc(KVMSHARE_HOLES_LONGS * BITS_PER_LONG,
				      KVMSHARE_HOLES_GFP);
		if (!fresh)
			goto unlock_cut;
		if (xa_is_err(xa_store(&part->holes, i, fresh,
				       KVMSHARE_HOLES_GFP))) {
			bitmap_free(fresh);
			goto unlock_cut;
		}
		map = fresh;
	}
	kvmshare_unit_zero(folio, base, first, end);
	for (p = first; p < end; p++)
		added += !test_and_set_bit(p - base, map);
	atomic64_add(added, &part->cnt.huge_punch_deferred);
	atomic64_add(added, &part->cnt.huge_punch_pending);
	kvmshare_inject(part->pool, KVMSHARE_INJ_PUNCH_DEFERRED);
	want = kvmshare_holes_split(part, folio, base, map, first, end, pct);
	folio_unlock(folio);
	folio_put(folio);
	if (!want)
		return true;
	/*
	 * Its pages are zero now: the split frees them, keeps the rest. (A
	 * page-out that took the unit meanwhile left ZERO entries there: not
	 * found, the caller removes them.)
	 */
	found = kvmshare_unit_cut(part, mapping, first, end, entry, n, &split,
				  false);
	if (split)
		atomic64_inc(&part->cnt.huge_punch_splits);
	return found;
unlock_cut:
	folio_unlock(folio);
	folio_put(folio);
cut:
	return kvmshare_unit_cut(part, mapping, first, end, entry, n, NULL,
				 false);
}

/* A unit cut by a range being freed: split it, or defer a punch's split. */
static bool kvmshare_unit_trim(struct kvmshare_part *part,
			       struct address_space *mapping, pgoff_t first,
			       pgoff_t end, void *entry, u64 *n, bool punch)
{
	if (punch)
		return kvmshare_unit_defer(part, mapping, first, end, entry, n);
	return kvmshare_unit_cut(part, mapping, first, end, entry, n, NULL,
				 false);
}

/*
 * The eviction work's reclaim of deferred holes (review s27 h7, H1, H2,
 * M3). Units with bitmaps it weighs per call, from a cursor of the
 * partition (a pass goes on where the last one stopped); units it splits
 * per call at most; and the fewest holes, the bits checked against the
 * data, for which a unit is worth its PMD when memory is wanted (a split
 * for a page or two of stale bits would free nothing and lose the PMD
 * for good).
 */
#define KVMSHARE_HOLES_LOOKS	16
#define KVMSHARE_HOLES_SPLITS	4
#define KVMSHARE_HOLES_MIN	16

struct kvmshare_holes_look {
	unsigned long index;
	unsigned int weight;
};

/*
 * Weigh up to KVMSHARE_HOLES_LOOKS bitmaps of @part from *@next on
 * (wrapping round once, if @wrap) into @looks, under the tree's lock
 * (a bitmap is freed only after its erase, which takes it); keep those
 * with at least @min bits. *@next is left after the last one weighed;
 * *@end is set when the walk reached the end of the tree. Returns how
 * many were kept.
 */
static unsigned int kvmshare_holes_weigh(struct kvmshare_part *part,
					 unsigned long *next, bool wrap,
					 unsigned int min,
					 struct kvmshare_holes_look *looks,
					 bool *end)
{
	unsigned long start = *next, stop = ULONG_MAX;
	XA_STATE(xas, &part->holes, start);
	unsigned int nr = 0, seen = 0, w;
	unsigned long *map;

	*end = false;
	xas_lock(&xas);
again:
	xas_for_each(&xas, map, stop) {
		w = kvmshare_holes_weight(map);
		if (w >= min) {
			looks[nr].index = xas.xa_index;
			looks[nr].weight = w;
			nr++;
		}
		*next = xas.xa_index + 1;
		if (++seen >= KVMSHARE_HOLES_LOOKS)
			goto unlock;
	}
	*end = true;
	*next = 0;
	if (wrap && start && stop == ULONG_MAX) {
		stop = start - 1;
		xas_set(&xas, 0);
		goto again;
	}
unlock:
	xas_unlock(&xas);
	return nr;
}

/*
 * Split the unit at index @i of part->holes for its deferred holes if,
 * its bits checked against the data, it still has at least @min of them
 * (or, with @min 0, is over the threshold @pct). Both file locks are
 * held; the unit's lock is only tried. A bitmap left empty by the
 * recount goes. Adds the pages freed to *@n; returns whether the unit
 * was split.
 */
static bool kvmshare_holes_take(struct kvmshare_part *part,
				struct address_space *mapping,
				unsigned long i, unsigned int min,
				unsigned int pct, u64 *n)
{
	pgoff_t base = (pgoff_t)i << KVMSHARE_UNIT_ORDER;
	bool want = false, split = false;
	struct folio *folio;
	unsigned long *map;
	unsigned int nr;
	void *entry;

	entry = xa_load(&part->pages, base);
	if (!kvmshare_is_unit(entry))
		return false;
	folio = kvmshare_unit_get(part, base, entry);
	if (!folio)
		return false;
	if (!folio_trylock(folio)) {
		folio_put(folio);
		return false;
	}
	map = xa_load(&part->holes, i);
	if (xa_load(&part->pages, base) != entry || !map ||
	    READ_ONCE(folio->private))
		goto unlock;
	kvmshare_holes_recount(part, folio, base, map, base, base);
	nr = kvmshare_holes_weight(map);
	KVMSHARE_HOLES_RECOUNTED(map) = nr;
	if (!nr) {
		/* Ours to free: erased under the folio lock, unit there. */
		bitmap_free(xa_erase(&part->holes, i));
		goto unlock;
	}
	want = min ? nr >= min : kvmshare_holes_over(nr, pct);
unlock:
	folio_unlock(folio);
	folio_put(folio);
	if (!want)
		return false;
	/*
	 * Unmapped there, and split only if nobody but the array holds it
	 * then: a live VM's PMD is no obstacle (H1).
	 */
	kvmshare_unit_cut(part, mapping, base, base, entry, n, &split, true);
	return split;
}

/* Take both file locks for the eviction work, without waiting. */
static bool kvmshare_holes_lock(struct inode *inode)
{
	if (!inode_trylock(inode))
		return false;
	if (!down_write_trylock(&inode->i_mapping->invalidate_lock)) {
		inode_unlock(inode);
		return false;
	}
	return true;
}

static void kvmshare_holes_unlock(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
	inode_unlock(inode);
}

static int kvmshare_holes_cmp(const void *a, const void *b)
{
	const struct kvmshare_holes_look *x = a, *y = b;

	return x->weight < y->weight ? 1 : x->weight > y->weight ? -1 : 0;
}

/**
 * kvmshare_huge_holes_reclaim - free deferred holes, memory wanted
 * @part: a partition the eviction work takes pages from (the pool is
 *	short, or it is above its target)
 * @inode: its inode, held by the work
 * @want: pages the work would page out of it
 *
 * Before anything is paged out: weighs KVMSHARE_HOLES_LOOKS units with
 * deferred holes from the partition's cursor on, and splits the heaviest
 * first, each with at least KVMSHARE_HOLES_MIN holes once its bits are
 * checked against the data, until @want pages are freed or
 * KVMSHARE_HOLES_SPLITS units are split. The punched pages leave the
 * pool without I/O. A mapped unit is unmapped and split
 * (kvmshare_unit_cut()); one whose page-out is in flight, that is locked
 * or held by someone else is passed over, untouched. The file locks are
 * only tried (the work must not wait for a writer or a punch of the
 * file), and nothing sleeps with them held. With huge_punch_split_pct
 * 100 the holes stay. The pages that left count as punched. Returns
 * them.
 */
u64 kvmshare_huge_holes_reclaim(struct kvmshare_part *part,
				struct inode *inode, u64 want)
{
	struct kvmshare_holes_look looks[KVMSHARE_HOLES_LOOKS];
	unsigned int k, nr, splits = 0;
	u64 n = 0;
	bool end;

	if (!want || xa_empty(&part->holes) ||
	    READ_ONCE(huge_punch_split_pct) >= 100)
		return 0;
	if (!kvmshare_holes_lock(inode))
		return 0;
	nr = kvmshare_holes_weigh(part, &part->holes_next, true,
				  KVMSHARE_HOLES_MIN, looks, &end);
	sort(looks, nr, sizeof(looks[0]), kvmshare_holes_cmp, NULL);
	for (k = 0; k < nr && n < want && splits < KVMSHARE_HOLES_SPLITS;
	     k++)
		splits += kvmshare_holes_take(part, inode->i_mapping,
					      looks[k].index,
					      KVMSHARE_HOLES_MIN, 0, &n);
	kvmshare_holes_unlock(inode);
	if (splits) {
		atomic64_add(splits, &part->cnt.huge_punch_splits);
		atomic64_add(n, &part->cnt.punched);
	}
	return n;
}

/**
 * kvmshare_huge_holes_rescan - apply a lowered huge_punch_split_pct
 * @part: a partition with deferred holes
 * @inode: its inode, held by the eviction work
 *
 * huge_punch_split_pct is read at a punch; once it is lowered (to 0: an
 * operator or a policy that wants the memory back), the holes already
 * deferred are looked at again here, by the eviction work, from a cursor
 * of the partition: a unit over the new threshold, its bits checked
 * against the data, is split (review s27 h7, H2). Bounded per call as
 * kvmshare_huge_holes_reclaim(). Returns whether there is more to look
 * at (the file locks were busy, or the walk did not reach the end yet).
 */
bool kvmshare_huge_holes_rescan(struct kvmshare_part *part,
				struct inode *inode)
{
	struct kvmshare_holes_look looks[KVMSHARE_HOLES_LOOKS];
	unsigned int pct = READ_ONCE(huge_punch_split_pct);
	unsigned int k, nr, min, splits = 0;
	u64 n = 0;
	bool end;

	if (xa_empty(&part->holes) || pct >= 100)
		return false;
	if (!kvmshare_holes_lock(inode))
		return true;
	/* Over the threshold: more than pct percent (0: any hole). */
	min = pct * KVMSHARE_UNIT_PAGES / 100 + 1;
	nr = kvmshare_holes_weigh(part, &part->holes_scan, false, min, looks,
				  &end);
	for (k = 0; k < nr && splits < KVMSHARE_HOLES_SPLITS; k++)
		splits += kvmshare_holes_take(part, inode->i_mapping,
					      looks[k].index, 0, pct, &n);
	kvmshare_holes_unlock(inode);
	if (splits) {
		atomic64_add(splits, &part->cnt.huge_punch_splits);
		atomic64_add(n, &part->cnt.punched);
	}
	/* Not all of those weighed taken: look at them again. */
	if (k < nr) {
		part->holes_scan = looks[k].index;
		return true;
	}
	return !end;
}

/**
 * kvmshare_huge_trim - leave only whole units in a range about to be freed
 * @part: the partition
 * @mapping: its address space
 * @first: first page of the range
 * @end: the page after its last
 *
 * @punch: a hole punch (a truncation if false)
 *
 * A unit the range [@first, @end) cuts is split by copy, the range's
 * part of it freed, or zeroed in place where it cannot be split
 * (kvmshare_unit_cut()); a punch may defer the split, zeroing in place
 * and noting the pages (kvmshare_unit_defer()). The range is narrowed to
 * exclude the unit, so that
 * kvmshare_part_remove_range() meets whole units only. A unit found gone
 * when cut (not expected, see below) is not excluded: its range is left
 * to kvmshare_part_remove_range(), whatever is there now. The caller holds
 * the invalidate_lock exclusively (no unit is made or removed meanwhile)
 * and has unmapped the range. Returns the pages that left the pool
 * (uncharged).
 */
u64 kvmshare_huge_trim(struct kvmshare_part *part,
		       struct address_space *mapping, pgoff_t *first,
		       pgoff_t *end, bool punch)
{
	pgoff_t base, stop;
	void *entry;
	u64 n = 0;

	lockdep_assert_held(&mapping->host->i_rwsem);
	if (*first >= *end)
		return 0;
	base = kvmshare_unit_base(*first);
	if (base != *first) {
		entry = xa_load(&part->pages, *first);
		stop = min(base + KVMSHARE_UNIT_PAGES, *end);
		if (kvmshare_is_unit(entry) &&
		    kvmshare_unit_trim(part, mapping, *first, stop, entry, &n,
				       punch))
			*first = stop;
	}
	if (*first >= *end)
		return n;
	base = kvmshare_unit_base(*end);
	if (base != *end && base >= *first) {
		entry = xa_load(&part->pages, base);
		if (kvmshare_is_unit(entry) &&
		    kvmshare_unit_trim(part, mapping, base, *end, entry, &n,
				       punch))
			*end = base;
	}
	return n;
}

/*
 * Eviction and access sampling of whole units (step 4 of the plan). A
 * unit is paged out whole: unmapped (its PMD and any PTEs), checked not
 * held (no DMA pin, no reference but the array's and ours, not mapped,
 * no poisoned page), its all-zero subpages elided without I/O, and one
 * v1 page-out request queued per other subpage (the protocol moves
 * 4 KiB blocks; failover, fencing and the crc stay per block). The
 * requests share a struct kvmshare_unit_out; the unit stays in the array
 * and in memory until the last of them has ended, and leaves it only if
 * all succeeded and nobody touched it meanwhile: then its 512 entries
 * are swapped in one section for the entries 512 page-outs of 4 KiB
 * pages would have left (on the backing store, or all-zero), so that
 * today's 4 KiB page-in brings it back page by page. Otherwise (a
 * failure, a cancel by a lost service, a fault or write meanwhile, a
 * punch, a truncation or an unlink that took the unit, poison) nothing
 * leaves and every block is freed: the unit is chosen again later.
 */

/*
 * Swap the 512 entries of the locked unit @folio at @base for @ents in one
 * section under the array's lock, counting the entries on the backing
 * store in *@out and the all-zero ones in *@zero, and clearing the marks.
 * A deferred hole (its bit set) that went out all zero becomes a hole,
 * as its punch would have left it, counted in *@holes: not an all-zero
 * page that a unit page-in or a collapse would charge again (review s27
 * h7, M2); one written since through the PMD went out as data and stays
 * so. The unit's bitmap leaves the tree in the same section (M1), put
 * in *@map for the caller to free.
 * Only if every entry is still the unit's, and the unit is unmapped and
 * referenced by the array and its page-out only: looked at again here,
 * as a reference can appear after the caller's look (the policy's reader
 * of a control file takes one under this lock only). Replacing entries
 * allocates nothing (a NULL store may free a node). Returns whether the
 * unit left the array.
 */
static bool kvmshare_unit_swap_out(struct kvmshare_part *part,
				   struct folio *folio, pgoff_t base,
				   void * const *ents, unsigned int *out,
				   unsigned int *zero, unsigned int *holes,
				   unsigned long **map)
{
	XA_STATE(xas, &part->pages, base);
	unsigned long *bits;
	bool swapped = false;
	unsigned int i;
	void *e;

	*out = 0;
	*zero = 0;
	*holes = 0;
	*map = NULL;
	/* The folio lock keeps it (M1). */
	bits = xa_empty(&part->holes) ? NULL :
	       xa_load(&part->holes, base >> KVMSHARE_UNIT_ORDER);
	xas_lock(&xas);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		xas_set(&xas, base + i);
		if (xas_load(&xas) != folio_page(folio, i))
			goto unlock;
	}
	if (folio_mapped(folio) || folio_ref_count(folio) != 2)
		goto unlock;
	/* The entries first, the holes after (which may free nodes). */
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		e = ents[i];
		if (bits && test_bit(i, bits) &&
		    kvmshare_ent_kind(e) != KVMSHARE_ENT_OUT) {
			(*holes)++;
			continue;
		}
		xas_set(&xas, base + i);
		xas_store(&xas, e);
		xas_init_marks(&xas);
		if (kvmshare_ent_kind(e) == KVMSHARE_ENT_OUT)
			(*out)++;
		else
			(*zero)++;
	}
	for (i = 0; *holes && i < KVMSHARE_UNIT_PAGES; i++) {
		if (!test_bit(i, bits) ||
		    kvmshare_ent_kind(ents[i]) == KVMSHARE_ENT_OUT)
			continue;
		xas_set(&xas, base + i);
		xas_store(&xas, NULL);
	}
	*map = kvmshare_holes_erase(part, base);
	/*
	 * Counted before a removal can see the entries and uncount them
	 * (pool->lock nests inside the array's lock).
	 */
	kvmshare_account_out(part, KVMSHARE_ENT_OUT, *out);
	kvmshare_account_out(part, KVMSHARE_ENT_ZERO, *zero);
	swapped = true;
unlock:
	xas_unlock(&xas);
	return swapped;
}

/*
 * The last request of the unit page-out @uo has ended (or it had none):
 * the unit leaves memory if they all succeeded, a service is still there
 * to page it back in (none is needed for an all-zero unit), and the unit
 * is unmapped, clean, referenced by the array and @uo only, and not
 * poisoned; else it stays and the blocks are freed. Sleeps (the folio
 * lock); called with no lock held, as any page-out end. Frees @uo.
 * Returns whether the unit left.
 */
static bool kvmshare_unit_out_end(struct kvmshare_unit_out *uo)
{
	struct kvmshare_part *part = uo->part;
	struct kvmshare_pool *pool = part->pool;
	unsigned int i, out = 0, zero = 0, holes = 0;
	struct folio *folio = uo->folio;
	bool dropped = false, put = true;
	unsigned long *map = NULL;

	folio_lock(folio);
	if (!READ_ONCE(uo->result) &&
	    (!uo->nr_out || kvmshare_pager_active(pool)) &&
	    !folio_mapped(folio) && !folio_test_dirty(folio) &&
	    !folio_maybe_dma_pinned(folio) && folio_ref_count(folio) == 2 &&
	    !kvmshare_unit_poisoned(&folio->page)) {
		kvmshare_inject(pool, KVMSHARE_INJ_UNIT_OUT_CHECKED);
		dropped = kvmshare_unit_swap_out(part, folio, uo->base,
						 uo->ents, &out, &zero, &holes,
						 &map);
	}
	/* Its deferred holes went out as holes (all zero). */
	kvmshare_holes_free(part, map);
	/*
	 * Kept and still in the array (a removal erases it under the folio
	 * lock): the array's reference keeps it, so ours goes before the
	 * unlock, and a split waiting for the lock finds only the array's.
	 */
	if (!dropped &&
	    xa_load(&part->pages, uo->base) == folio_page(folio, 0)) {
		folio_put(folio);
		put = false;
	}
	folio->private = NULL;
	folio_unlock(folio);
	if (dropped) {
		kvmshare_uncharge(part, KVMSHARE_UNIT_PAGES);
		atomic64_add(out, &part->cnt.pageouts);
		atomic64_add(zero, &part->cnt.zero_elided);
		atomic64_add(holes, &part->cnt.punched);
		atomic64_inc(&part->cnt.huge_pageouts);
		atomic64_dec(&part->cnt.huge_units);
		/*
		 * A hint for its page-in (no memory: no hint); one with holes
		 * comes back 4 KiB, the holes staying holes (M2).
		 */
		kvmshare_unit_hint(part, uo->base,
				   holes ? KVMSHARE_UNIT_HOLES :
				   KVMSHARE_UNIT_WAS_OUT);
		/* The array's reference and ours: a poisoned unit is kept. */
		kvmshare_unit_release(part, folio, uo->base);
	} else {
		/* Kept: the blocks written are free again (not the fenced). */
		spin_lock(&pool->io_lock);
		for (i = 0; i < KVMSHARE_UNIT_PAGES; i++)
			if (kvmshare_ent_is_out(uo->ents[i]))
				__kvmshare_block_put(pool,
						     kvmshare_ent_block(uo->ents[i]));
		spin_unlock(&pool->io_lock);
		if (uo->nr_out)
			atomic64_inc(&part->cnt.huge_pageouts_kept);
		/*
		 * Else ours may be the last reference (a punch or an unlink
		 * took the unit meanwhile): a unit marked poisoned since is
		 * kept, as kvmshare_unit_release() keeps one.
		 */
		if (put && !kvmshare_unit_poisoned(&folio->page))
			folio_put(folio);
	}
	/*
	 * Only after the uncharge: the eviction work counts the unit's
	 * pages gone while they are in flight, and must never see them in
	 * neither count (the floor, kvmshare_pageout_done()).
	 */
	atomic64_sub(KVMSHARE_UNIT_PAGES, &part->pageouts_inflight);
	wake_up_all(&pool->room_wq);
	kobject_put(&part->kobj);
	kvfree(uo);
	return dropped;
}

/**
 * kvmshare_huge_pageout_done - a page-out request of a unit ended
 * @io: the request (kvmshare_pageout_done())
 * @result: 0, or why it failed (-ECANCELED: no service left, or fenced)
 *
 * Notes the subpage's entry (or the failure); the last request of the
 * unit decides for all of them (kvmshare_unit_out_end()). The request
 * never owns its block: the unit's entries take it, or the end frees it.
 */
void kvmshare_huge_pageout_done(struct kvmshare_io *io, int result)
{
	struct kvmshare_unit_out *uo = io->unit;
	struct kvmshare_part *part = io->part;
	unsigned int i = io->index - uo->base;
	bool dropped = false;

	if (result)
		cmpxchg(&uo->result, 0, result);
	/* A fenced block is not ours any more (kvmshare_pager_detach()). */
	uo->ents[i] = io->block == KVMSHARE_NO_BLOCK ? NULL :
		      kvmshare_ent(KVMSHARE_ENT_OUT, io->block, io->crc);
	io->page = NULL;		/* the unit's reference, not ours */
	if (result && result != -ECANCELED) {
		atomic64_inc(&part->cnt.pageout_errors);
		pr_info_ratelimited("%s: page-out of page %lu (a unit's) failed: %d\n",
				    part->pool->name, io->index, result);
	}
	/* (the entry written before the count drops: a full barrier) */
	if (atomic_dec_and_test(&uo->left))
		dropped = kvmshare_unit_out_end(uo);
	/* The last request's event says whether the unit left. */
	trace_kvmshare_pageout_end(io, result, dropped);
}

/* Undo the unit page-out @uo before any of its requests on @ios was queued. */
static void kvmshare_unit_out_undo(struct kvmshare_unit_out *uo,
				   struct list_head *ios,
				   struct kvmshare_io *registered_to)
{
	struct kvmshare_part *part = uo->part;
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_io *io, *tmp;
	bool registered = !!registered_to;

	list_for_each_entry_safe(io, tmp, ios, node) {
		if (io == registered_to)
			registered = false;
		if (registered) {
			xa_cmpxchg(&part->io, io->index, io, NULL, GFP_KERNEL);
			kvmshare_io_put(io);	/* the array's */
		}
		spin_lock(&pool->io_lock);
		__kvmshare_block_put(pool, io->block);
		spin_unlock(&pool->io_lock);
		list_del_init(&io->node);
		io->page = NULL;
		kvmshare_io_put(io);
	}
	kobject_put(&part->kobj);
	kvfree(uo);
}

/* Subpages kvmshare_unit_may_go() looks at (review s26b, L5). */
#define KVMSHARE_UNIT_PEEK	8

/*
 * The cheap checks of a unit page-out, made before its unmap and scan
 * (review s26, M3): poison or a DMA pin keeps it (huge_held_skips). A
 * unit with data stays without a service, or when the backing store
 * lacks a free block for each subpage (a hint: they are taken for real
 * later). Only the first KVMSHARE_UNIT_PEEK subpages are looked at then
 * (review s26b, L5): one with data is enough to keep it, and a unit
 * whose first ones are all zero may need few blocks; the scan after the
 * unmap reads all 512 anyway (the guest may write meanwhile). Returns 0
 * to go on, or why not: -EBUSY, -ENODEV (no service), -ENOSPC (no
 * blocks).
 */
static int kvmshare_unit_may_go(struct kvmshare_part *part,
				struct folio *folio)
{
	struct kvmshare_pool *pool = part->pool;
	bool active = kvmshare_pager_active(pool), room = false;
	unsigned int i;
	int data;

	if (folio_maybe_dma_pinned(folio) ||
	    kvmshare_unit_poisoned(&folio->page)) {
		atomic64_inc(&part->cnt.huge_held_skips);
		return -EBUSY;
	}
	if (active) {
		spin_lock(&pool->io_lock);
		room = pool->block_map &&
		       pool->backing_blocks - pool->blocks_used >=
		       KVMSHARE_UNIT_PAGES;
		spin_unlock(&pool->io_lock);
	}
	if (room)
		return 0;
	for (i = 0; i < KVMSHARE_UNIT_PEEK; i++) {
		data = kvmshare_page_has_data(folio_page(folio, i));
		if (data < 0) {
			/* A machine check: queued, the unit poisoned soon. */
			atomic64_inc(&part->cnt.huge_held_skips);
			return -EBUSY;
		}
		if (data)
			return active ? -ENOSPC : -ENODEV;
	}
	return 0;
}

/**
 * kvmshare_huge_evict - page a whole unit out
 * @part: the partition
 * @mapping: its address space
 * @index: where eviction found @entry
 * @entry: a subpage of the unit, found without a reference (a hint)
 * @wait: wait for the unit's lock (fadvise) rather than try it (eviction)
 *
 * For eviction and fadvise(DONTNEED) (pool_evict.c), under no lock. The
 * unit is unmapped and, if nobody else holds it, all-zero subpages are
 * elided and the others queued for page-out, one v1 request each, with
 * a block each taken up front (all or none). The requests are
 * registered in part->io as 4 KiB page-outs are, so that a removal of
 * an entry hands its block to the request still registered
 * (kvmshare_block_removed()). An all-zero unit leaves at once, with or
 * without a service. A unit reaching past the end of the file (cut by a
 * truncation that could not split it) stays (huge_skips): its tail past
 * the end must not reach the backing store and come back on a growth.
 *
 * fadvise() waits for the lock: the eviction work's access sampling
 * holds it while it unmaps the unit, and a trylock would then make the
 * advice a no-op at random (a service's attach kicks that work). Not for
 * a unit whose page-out is in flight (review s26b, L3): the reference
 * the wait holds would read as a hold to that page-out's end, which
 * would keep the unit. A split that sleeps with the lock dropped
 * (kvmshare_unit_cut()) can still meet it and zero in place instead
 * (huge_pinned_cuts); accepted, as for any short-lived reference.
 *
 * Returns the pages that left or whose page-out was queued
 * (KVMSHARE_UNIT_PAGES), or 0 (a unit held, poisoned, already going out,
 * past the end, without a service or the backing store's blocks, no
 * memory). The caller kicks the service.
 */
long kvmshare_huge_evict(struct kvmshare_part *part,
			 struct address_space *mapping, pgoff_t index,
			 void *entry, bool wait)
{
	struct kvmshare_pool *pool = part->pool;
	pgoff_t base = kvmshare_unit_base(index);
	struct kvmshare_io *io, *tmp;
	struct kvmshare_unit_out *uo;
	struct folio *folio;
	LIST_HEAD(ios);
	unsigned int i;
	bool blocks = true;
	long ret = 0;
	int err;

	folio = kvmshare_unit_get(part, index, entry);
	if (!folio)
		return 0;
	if (wait) {
		if (READ_ONCE(folio->private) || folio_lock_killable(folio))
			goto put;
	} else if (!folio_trylock(folio)) {
		goto put;
	}
	/* Its page-out is in flight, or it changed while we looked. */
	if (folio->private ||
	    xa_load(&part->pages, base) != folio_page(folio, 0))
		goto unlock;
	if ((u64)(base + KVMSHARE_UNIT_PAGES) << PAGE_SHIFT >
	    i_size_read(mapping->host)) {
		atomic64_inc(&part->cnt.huge_skips);
		goto unlock;
	}
	if (kvmshare_unit_may_go(part, folio))
		goto unlock;
	/* All of it: the PMD and any PTEs (a 4 KiB zap would take the PMD). */
	unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
	/* The array's reference and ours: anything more holds it. */
	if (kvmshare_unit_poisoned(&folio->page) ||
	    folio_maybe_dma_pinned(folio) || folio_mapped(folio) ||
	    folio_ref_count(folio) != 2) {
		atomic64_inc(&part->cnt.huge_held_skips);
		goto unlock;
	}
	uo = kvzalloc(sizeof(*uo), GFP_KERNEL);
	if (!uo)
		goto unlock;
	uo->part = part;
	kobject_get(&part->kobj);
	uo->folio = folio;
	uo->base = base;
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		err = kvmshare_page_has_data(folio_page(folio, i));
		if (err < 0) {
			/* A machine check, queued for memory_failure(). */
			atomic64_inc(&part->cnt.huge_held_skips);
			goto undo;
		}
		if (!err) {
			uo->ents[i] = kvmshare_ent(KVMSHARE_ENT_ZERO, 0, 0);
			continue;
		}
		if (!kvmshare_pager_active(pool))
			goto undo;
		io = kvmshare_io_alloc(part, KVMSHARE_PAGER_OP_PAGE_OUT,
				       base + i, KVMSHARE_NO_BLOCK,
				       folio_page(folio, i));
		if (!io)
			goto undo;
		io->unit = uo;
		list_add_tail(&io->node, &ios);
		uo->nr_out++;
	}
	spin_lock(&pool->io_lock);
	list_for_each_entry(io, &ios, node) {
		if (!kvmshare_block_get(pool, &io->block)) {
			blocks = false;
			break;
		}
	}
	spin_unlock(&pool->io_lock);
	if (!blocks)
		goto undo;
	list_for_each_entry(io, &ios, node) {
		refcount_inc(&io->ref);		/* the array's */
		if (xa_insert(&part->io, io->index, io, GFP_KERNEL)) {
			/*
			 * The request of an earlier page-out of this unit
			 * that has not left the array yet, or no memory.
			 */
			kvmshare_io_put(io);
			kvmshare_unit_out_undo(uo, &ios, io);
			goto unlock;
		}
	}
	/*
	 * Unmapped and locked: from here a write through a new mapping, or
	 * by write(), marks the unit dirty, and it stays (the data posted
	 * may be older). Its sampled mark stays (review s26b, L1): only a
	 * touch takes it (kvmshare_unit_hits()), or the unit's leaving.
	 */
	folio_clear_dirty(folio);
	/* Our reference to the folio is the page-out's from here. */
	folio->private = uo;
	atomic_set(&uo->left, uo->nr_out);
	atomic64_add(KVMSHARE_UNIT_PAGES, &part->pageouts_inflight);
	folio_unlock(folio);
	ret = KVMSHARE_UNIT_PAGES;
	if (!uo->nr_out) {
		/* All zero: no I/O. */
		kvmshare_unit_out_end(uo);
		return ret;
	}
	kvmshare_inject(pool, KVMSHARE_INJ_UNIT_OUT_QUEUE);
	/*
	 * Queued unlocked (a cancel ends the request at once, and the last
	 * end locks the folio). The last request queued may end the unit's
	 * page-out and free @uo: nothing of it is read after.
	 */
	list_for_each_entry_safe(io, tmp, &ios, node) {
		list_del_init(&io->node);
		trace_kvmshare_pageout_start(io);
		kvmshare_io_queue(pool, io);
	}
	return ret;

undo:
	kvmshare_unit_out_undo(uo, &ios, NULL);
unlock:
	folio_unlock(folio);
put:
	folio_put(folio);
	return ret;
}

/**
 * kvmshare_huge_sample - unmap a unit for access sampling
 * @part: the partition
 * @mapping: its address space
 * @index: where the sampler found @entry
 * @entry: a subpage of the unit, found without a reference (a hint)
 *
 * A unit is sampled as one: it is unmapped whole (a touch faults its PMD
 * back and makes no page table) and its first entry marked sampled; a
 * fault on any of its pages clears the mark and counts a hit for all of
 * them. Returns whether it was sampled.
 */
bool kvmshare_huge_sample(struct kvmshare_part *part,
			  struct address_space *mapping, pgoff_t index,
			  void *entry)
{
	pgoff_t base = kvmshare_unit_base(index);
	struct folio *folio;
	bool sampled = false;

	if (xa_get_mark(&part->pages, base, KVMSHARE_MARK_SAMPLED))
		return false;
	folio = kvmshare_unit_get(part, index, entry);
	if (!folio)
		return false;
	if (folio_trylock(folio)) {
		if (!folio->private &&
		    xa_load(&part->pages, base) == folio_page(folio, 0)) {
			unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES,
					    false);
			xa_set_mark(&part->pages, base, KVMSHARE_MARK_SAMPLED);
			sampled = true;
		}
		folio_unlock(folio);
	}
	folio_put(folio);
	return sampled;
}

/**
 * kvmshare_huge_set_size - make a file larger
 * @inode: a partition file (the caller holds its i_rwsem)
 * @newsize: its new size, larger than now
 *
 * Under the invalidate_lock when the size passes the end of a unit:
 * the unit it cut becomes whole, and a fault deciding whether a PMD may
 * map it (kvmshare_huge_map_check(), under the lock shared) sees one size
 * from its decision until it has made the PTE table it decided on.
 */
void kvmshare_huge_set_size(struct inode *inode, loff_t newsize)
{
	struct address_space *mapping = inode->i_mapping;

	if (round_down(newsize, KVMSHARE_UNIT_BYTES) ==
	    round_down(i_size_read(inode), KVMSHARE_UNIT_BYTES)) {
		i_size_write(inode, newsize);
		return;
	}
	filemap_invalidate_lock(mapping);
	i_size_write(inode, newsize);
	filemap_invalidate_unlock(mapping);
}

/**
 * kvmshare_huge_grow - zero what a unit cut by truncation holds past EOF
 * @inode: a partition file about to grow (the caller holds its i_rwsem)
 * @oldsize: its size now
 * @newsize: its new size, written here; @oldsize when the caller writes
 *	it (write(), page by page, with kvmshare_huge_set_size())
 *
 * A unit the end of the file cuts is mapped by PTEs only
 * (kvmshare_huge_map_check()), and a fault past the end is a SIGBUS; but
 * the page the end is in may be written past the end through its PTE, as
 * any file's. What was written there must not show once the file grows
 * over it: zero the unit from @oldsize on, after unmapping it, and write
 * the new size, under the invalidate_lock (no fault maps it meanwhile).
 */
void kvmshare_huge_grow(struct inode *inode, loff_t oldsize, loff_t newsize)
{
	struct kvmshare_part *part = kvmshare_part_of(inode);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t index = oldsize >> PAGE_SHIFT;
	pgoff_t base = kvmshare_unit_base(index), i;
	struct folio *folio;
	void *entry;

	if (!(oldsize & (KVMSHARE_UNIT_BYTES - 1)) ||
	    !kvmshare_is_unit(xa_load(&part->pages, base))) {
		if (newsize > oldsize)
			kvmshare_huge_set_size(inode, newsize);
		return;
	}
	filemap_invalidate_lock(mapping);
	entry = xa_load(&part->pages, base);
	if (!kvmshare_is_unit(entry))
		goto size;
	unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
	folio = kvmshare_unit_get(part, base, entry);
	if (!folio)
		goto size;
	folio_lock(folio);
	/* A fault that found it before may have mapped it meanwhile. */
	if (folio_mapped(folio))
		unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
	if (xa_load(&part->pages, base) == entry) {
		/* (A poisoned page is never read again: not zeroed.) */
		if (!PageHWPoison(folio_page(folio, index - base)))
			zero_user_segment(folio_page(folio, index - base),
					  offset_in_page(oldsize), PAGE_SIZE);
		for (i = index + 1; i < base + KVMSHARE_UNIT_PAGES; i++)
			if (!PageHWPoison(folio_page(folio, i - base)))
				clear_highpage(folio_page(folio, i - base));
		folio_mark_dirty(folio);
	}
	folio_unlock(folio);
	folio_put(folio);
size:
	if (newsize > oldsize)
		i_size_write(inode, newsize);
	filemap_invalidate_unlock(mapping);
}

/*
 * Collapse (step 6 of the plan): 4 KiB pages of a 2 MiB range become one
 * unit by copy, since no exported call makes a compound page of them
 * (section 3.1). Two callers: a fault where the PMD is empty
 * (kvmshare_collapse_fault(): this mapping then maps the unit by a PMD),
 * and a background work that collapses ranges of 4 KiB pages no mapping
 * has mapped by PTEs (pte_seen clear), at most one per pool each
 * huge_collapse_ms (kvmshare_collapse_work()).
 *
 * The steps (section 3.4), with the invalidate_lock held shared (no
 * punch, truncation or unlink meanwhile) and the unit lock (no other
 * collapse, new unit or unit page-in of the range):
 *
 * 1. The cheap checks: take a reference to each 4 KiB page in one
 *    section under the array's lock (kvmshare_collapse_grab()), none
 *    seen locked, poisoned or pinned, no request registered there.
 * 2. Look for room (kvmshare_collapse_room(): the background before it
 *    takes any lock, a fault after the grab), allocate the folio, then
 *    charge (kvmshare_charge_collapse(): the growth to the partition,
 *    the copy to the pool only; review s27 h6, H1, M2, M3): no
 *    allocation, reclaim or compaction runs while anything is charged
 *    or a page locked, nor for a collapse the charge would refuse.
 * 3. Trylock each page (no order among 512 page locks: a lock taken is a
 *    fault, an eviction or a write() at work), and only then unmap the
 *    range from every mapping (review s27 h6, M1: with every page locked,
 *    no fault can map one again, so nothing is mapped after the unmap;
 *    page lock -> i_mmap_rwsem is the kernel's order, truncate's and
 *    khugepaged's), and check each page: referenced by the array and us
 *    only.
 * 4. Copy each page into its subpage, machine-check safe (guest memory),
 *    and clear the subpages of all-zero entries.
 * 5. Swap the 512 entries in one section under the array's lock, only if
 *    each is still the one grabbed and each page still unmapped and
 *    referenced by the array and us only (kvmshare_collapse_swap()): a
 *    reference taken meanwhile (a write() or read() looks a page up
 *    under that lock, then waits for its lock) makes the collapse give
 *    up; one taken after finds the unit.
 * 6. Unlock, and drop both references of each page: it is freed.
 *
 * A collapse that gives up changed no entry: the 4 KiB pages stay as they
 * were (unmapped at most: the next touch faults them back), the folio is
 * freed and the charge ended. Its cause is transient (-EBUSY: a page
 * locked or referenced for a moment, an entry changed; a fault retries
 * once, kvmshare_collapse_fault()) or not (-EPERM: a page poisoned or
 * pinned; -EIO: a page unreadable; -ENOMEM: no free 2 MiB block;
 * -ENOSPC: no room).
 *
 * References and locks held at the swap: the array holds one reference to
 * each 4 KiB page and the collapse one more, each page locked by the
 * collapse; the folio's only reference, which the array takes over,
 * is the allocation's (a fault takes one more for itself before the swap).
 */

/*
 * How the background work allocates a unit (review s27 h6, M3): on the
 * node of the range's first page only (a collapse never moves memory off
 * a node a policy bound it to), not zeroed (every subpage is copied), and
 * light, as THP's defrag=defer: no direct reclaim or compaction, only
 * kswapd (and by it kcompactd) woken, no retry, no warning. A fault's
 * allocation (KVMSHARE_UNIT_IN_GFP) is the new unit's, direct reclaim
 * and compaction included: the faulting task asked for the memory.
 */
#define KVMSHARE_COLLAPSE_GFP						\
	((GFP_HIGHUSER & ~__GFP_DIRECT_RECLAIM) | __GFP_NORETRY |	\
	 __GFP_NOWARN | __GFP_THISNODE)

/* Units the background work looks at per pass at most. */
#define KVMSHARE_COLLAPSE_LOOKS	64

/*
 * The background work's back-off after it found no free 2 MiB block
 * (review s27 h6, M3): 1 s, doubled after each such failure up to 60 s
 * (khugepaged's alloc_sleep_millisecs), back to huge_collapse_ms after a
 * collapse.
 */
#define KVMSHARE_COLLAPSE_BACKOFF_MS		1000U
#define KVMSHARE_COLLAPSE_BACKOFF_MAX_MS	60000U

/*
 * A collapse's range (review s27 h6, L5): its 512 entries, a 4 KiB page
 * being its own entry and an all-zero entry a value (one page, kmalloc'd,
 * not 8 KiB in a fault), and their counts.
 */
struct kvmshare_collapse {
	void **ents;
	unsigned int nr_pages;		/* 4 KiB pages */
	unsigned int nr_zero;		/* all-zero entries */
};

/* The 4 KiB page of entry @i of @c, or NULL (an all-zero entry). */
static struct page *kvmshare_collapse_page(const struct kvmshare_collapse *c,
					   unsigned int i)
{
	return xa_is_value(c->ents[i]) ? NULL : c->ents[i];
}

static unsigned int huge_collapse_ms = 200;

/* Pools with a collapse work (the setter below re-arms them: L2). */
static LIST_HEAD(kvmshare_collapse_pools);
static DEFINE_SPINLOCK(kvmshare_collapse_lock);

static void kvmshare_collapse_arm(struct kvmshare_pool *pool,
				  unsigned long delay)
{
	if (!READ_ONCE(pool->dying) && READ_ONCE(huge_collapse_ms) &&
	    READ_ONCE(pool->huge))
		mod_delayed_work(system_unbound_wq, &pool->collapse_work,
				 delay);
}

/*
 * A new value takes effect now (review s27 h6, L2): each pool's work runs
 * at once, then at the new period; with 0 it does not queue itself again
 * (no wake-up while off), and the next non-zero value starts it.
 */
static int kvmshare_param_set_collapse_ms(const char *val,
					  const struct kernel_param *kp)
{
	struct kvmshare_pool *pool;
	unsigned int ms;
	int ret = kstrtouint(val, 0, &ms);

	if (ret)
		return ret;
	if (ms && (ms < 10 || ms > 3600000))
		return -EINVAL;
	WRITE_ONCE(huge_collapse_ms, ms);
	spin_lock(&kvmshare_collapse_lock);
	list_for_each_entry(pool, &kvmshare_collapse_pools, collapse_node)
		kvmshare_collapse_arm(pool, 0);
	spin_unlock(&kvmshare_collapse_lock);
	return 0;
}

static const struct kernel_param_ops kvmshare_collapse_ms_ops = {
	.set = kvmshare_param_set_collapse_ms,
	.get = param_get_uint,
};

module_param_cb(huge_collapse_ms, &kvmshare_collapse_ms_ops,
		&huge_collapse_ms, 0644);
MODULE_PARM_DESC(huge_collapse_ms,
		 "Background collapse of 2 MiB ranges of 4 KiB pages that no mapping maps 4 KiB into units: at most one per pool every this many ms (10..3600000, default 200; 0: off)");

/* Whether a request is registered in part->io over the unit at @base. */
static bool kvmshare_collapse_io(struct kvmshare_part *part, pgoff_t base)
{
	unsigned long index = base;

	return !!xa_find(&part->io, &index, base + KVMSHARE_UNIT_PAGES - 1,
			 XA_PRESENT);
}

/* Drop the references kvmshare_collapse_grab() took, free the array. */
static void kvmshare_collapse_put(struct kvmshare_collapse *c)
{
	struct page *page;
	unsigned int i;

	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		page = kvmshare_collapse_page(c, i);
		if (page)
			put_page(page);
	}
	kfree(c->ents);
	c->ents = NULL;
}

/*
 * Take a reference to each 4 KiB page of the unit at @base of @part in
 * one section under the array's lock, noting the entries in @c. Every
 * entry must be a 4 KiB page, not poisoned, not pinned, not marked by a
 * fallocate() under way (nor, for the background, @fault false, read
 * ahead and untouched: review s27 h6, L6), or (@fault) an all-zero entry,
 * and at least one a page. A page seen locked, or a request registered
 * over the range, is a collapse that would give up: not tried. Returns
 * 0, -EBUSY (transient), -EPERM (a page poisoned or pinned, or not such
 * entries) or -ENOMEM; nothing held then.
 */
static int kvmshare_collapse_grab(struct kvmshare_part *part, pgoff_t base,
				  struct kvmshare_collapse *c, bool fault)
{
	XA_STATE(xas, &part->pages, base);
	struct page *page;
	unsigned int i;
	int err = 0;
	void *e;

	c->nr_pages = 0;
	c->nr_zero = 0;
	/* A page-in ending or a page-out starting there: its page is held. */
	if (kvmshare_collapse_io(part, base))
		return -EBUSY;
	c->ents = kmalloc_array(KVMSHARE_UNIT_PAGES, sizeof(*c->ents),
				GFP_KERNEL);
	if (!c->ents)
		return -ENOMEM;
	xas_lock(&xas);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		xas_set(&xas, base + i);
		e = xas_load(&xas);
		c->ents[i] = xa_mk_value(0);
		if (fault && e && xa_is_value(e) &&
		    kvmshare_ent_kind(e) == KVMSHARE_ENT_ZERO) {
			c->ents[i] = e;
			c->nr_zero++;
			continue;
		}
		if (!kvmshare_ent_is_4k(e)) {
			err = -EPERM;
			break;
		}
		if (xas_get_mark(&xas, KVMSHARE_MARK_FALLOC) ||
		    (!fault && xas_get_mark(&xas, KVMSHARE_MARK_AHEAD))) {
			err = -EBUSY;
			break;
		}
		page = e;
		if (PageHWPoison(page) || page_maybe_dma_pinned(page)) {
			err = -EPERM;
			break;
		}
		if (PageLocked(page)) {
			err = -EBUSY;
			break;
		}
		get_page(page);
		c->ents[i] = page;
		c->nr_pages++;
	}
	xas_unlock(&xas);
	if (!err && !c->nr_pages)
		err = -EPERM;
	if (err) {
		while (i < KVMSHARE_UNIT_PAGES)
			c->ents[i++] = xa_mk_value(0);
		kvmshare_collapse_put(c);
	}
	return err;
}

/*
 * Store the subpages of @folio over the 512 entries of the unit at @base
 * of @part in one section under the array's lock, if each entry is still
 * the one grabbed in @c, and each 4 KiB page unmapped, referenced by the
 * array and the collapse only, and not marked by a fallocate(): a
 * reference can appear after the caller's check (a write() or a read()
 * looks a page up under this lock), so this check must stay, under this
 * lock, in this section. Replacing entries allocates nothing (there is
 * no hole). Marks (review s27 h6, L6): a page the access sampler
 * unmapped and marked makes the unit marked at its base, as a sampled
 * unit is; a page read ahead and untouched is a read-ahead hit for a
 * fault's collapse (@fault: the range is in use by a PMD now; the
 * background leaves such ranges, kvmshare_collapse_grab()). Returns 0 or
 * -EBUSY (nothing changed).
 */
static int kvmshare_collapse_swap(struct kvmshare_part *part, pgoff_t base,
				  struct folio *folio,
				  const struct kvmshare_collapse *c, bool fault)
{
	XA_STATE(xas, &part->pages, base);
	unsigned int i, ahead = 0;
	bool sampled = false;
	struct page *page;

	xas_lock(&xas);
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		xas_set(&xas, base + i);
		if (xas_load(&xas) != c->ents[i] ||
		    xas_get_mark(&xas, KVMSHARE_MARK_FALLOC))
			goto busy;
		page = kvmshare_collapse_page(c, i);
		if (page && (page_mapped(page) || page_ref_count(page) != 2))
			goto busy;
		sampled |= xas_get_mark(&xas, KVMSHARE_MARK_SAMPLED);
		ahead += xas_get_mark(&xas, KVMSHARE_MARK_AHEAD);
	}
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		xas_set(&xas, base + i);
		xas_store(&xas, folio_page(folio, i));
		xas_init_marks(&xas);
	}
	/* Present entries replaced: nothing allocated, nothing to fail. */
	WARN_ON_ONCE(xas_error(&xas));
	if (sampled) {
		xas_set(&xas, base);
		xas_set_mark(&xas, KVMSHARE_MARK_SAMPLED);
	}
	/* In the section (pages -> pool->lock), as the page-in's install. */
	if (c->nr_zero)
		kvmshare_account_out(part, KVMSHARE_ENT_ZERO,
				     -(long)c->nr_zero);
	atomic64_inc(&part->cnt.huge_units);
	xas_unlock(&xas);
	if (fault && ahead) {
		atomic64_add(ahead, &part->cnt.readahead_hits);
		atomic_add(ahead, &part->ra_hits);
	}
	return 0;
busy:
	xas_unlock(&xas);
	return -EBUSY;
}

/*
 * Whether every 4 KiB page of @c is referenced by the array and us only,
 * and unmapped.
 */
static bool kvmshare_collapse_alone(const struct kvmshare_collapse *c)
{
	struct page *page;
	unsigned int i;

	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		page = kvmshare_collapse_page(c, i);
		if (page && (page_mapped(page) || page_ref_count(page) != 2))
			return false;
	}
	return true;
}

/*
 * Collapse the 4 KiB pages grabbed in @c (kvmshare_collapse_grab()) of
 * the unit at @base of @part into @folio (order 9, allocated, not zeroed,
 * seen by nobody; its reference is the one the array takes), steps 3 to
 * 6 of the comment above. The caller holds the invalidate_lock shared
 * and the unit lock, and has charged the collapse. @fault: all-zero
 * entries become zeroed subpages, and the range is collapsed whatever
 * pte_seen says; the background gives up when pte_seen is set once the
 * pages are locked (review s27 h6, L7: a fault through a page table
 * since its look). On success the 4 KiB pages are freed (their charge
 * becomes the unit's), and the range's page-in hints dropped (pte_seen
 * kept). The references of @c are dropped either way. Returns 0, or
 * -EBUSY, -EPERM, -EIO as above, -ECANCELED (pte_seen, counted in
 * huge_collapse_pte_skips): nothing changed then, and @folio is the
 * caller's to free.
 */
static int kvmshare_unit_collapse(struct kvmshare_part *part,
				  struct address_space *mapping, pgoff_t base,
				  struct kvmshare_collapse *c,
				  struct folio *folio, bool fault)
{
	unsigned int i, locked = 0;
	struct page *page;
	int err = -EBUSY;

	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		page = kvmshare_collapse_page(c, i);
		if (!page)
			continue;
		if (!trylock_page(page))
			goto unlock;
		locked = i + 1;
		if (PageHWPoison(page) || page_maybe_dma_pinned(page)) {
			err = -EPERM;
			goto unlock;
		}
	}
	if (!fault &&
	    kvmshare_unit_pte_bit(xa_load(&part->units,
					  base >> KVMSHARE_UNIT_ORDER))) {
		atomic64_inc(&part->cnt.huge_collapse_pte_skips);
		err = -ECANCELED;
		goto unlock;
	}
	/*
	 * PTEs of other mappings (and KVM's, by the MMU notifier). With
	 * every page locked, none is mapped again before the swap.
	 */
	unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
	if (!kvmshare_collapse_alone(c)) {
		/*
		 * Review s27 h6, L1: a zap of a VM_LOCKED mapping leaves a
		 * reference in this CPU's mlock batch, which only
		 * lru_add_drain() (not exported) drops; a zap drains it
		 * first, so unmap once more and look again.
		 */
		unmap_mapping_pages(mapping, base, KVMSHARE_UNIT_PAGES, false);
		if (!kvmshare_collapse_alone(c))
			goto unlock;
	}
	for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
		page = kvmshare_collapse_page(c, i);
		if (!page) {
			clear_highpage(folio_page(folio, i));
			continue;
		}
		if (!kvmshare_copy_subpage(folio_page(folio, i), page)) {
			/* Reported, so that the next look skips it. */
			memory_failure_queue(page_to_pfn(page), 0);
			pr_warn_ratelimited("%s/%llu: page %lu could not be read (memory error): range not collapsed\n",
					    part->pool->name, part->id,
					    base + i);
			err = -EIO;
			goto unlock;
		}
		cond_resched();
	}
	kvmshare_inject(part->pool, KVMSHARE_INJ_COLLAPSE_COPIED);
	err = kvmshare_collapse_swap(part, base, folio, c, fault);
unlock:
	for (i = 0; i < locked; i++) {
		page = kvmshare_collapse_page(c, i);
		if (page)
			unlock_page(page);
	}
	if (!err) {
		/* The array's references: the pages are freed below. */
		for (i = 0; i < KVMSHARE_UNIT_PAGES; i++) {
			page = kvmshare_collapse_page(c, i);
			if (page)
				put_page(page);
		}
	}
	kvmshare_collapse_put(c);
	if (!err) {
		atomic64_add(c->nr_zero, &part->cnt.allocated);
		atomic64_inc(&part->cnt.huge_collapses);
		kvmshare_unit_hints_drop(part, base);
	}
	return err;
}

/*
 * Free the folio of a collapse that gave up (its only reference is the
 * caller's), unless memory_failure() marked a subpage meanwhile (the copy
 * wrote all of them): kept then, counted in huge_poisoned, as
 * kvmshare_unit_in_free() keeps a unit page-in's.
 */
static void kvmshare_collapse_free(struct kvmshare_part *part,
				   struct folio *folio)
{
	if (kvmshare_unit_poisoned(&folio->page)) {
		atomic64_inc(&part->cnt.huge_poisoned);
		pr_warn_ratelimited("%s/%llu: a collapse's unit has a poisoned page: its 2 MiB are not freed\n",
				    part->pool->name, part->id);
		return;
	}
	folio_put(folio);
}

/*
 * Count a collapse that was not made, by its cause: no room (not tried),
 * no block (a failure too), or given up.
 */
static void kvmshare_collapse_count(struct kvmshare_part *part, int err)
{
	if (err == -ECANCELED)		/* pte_seen since the look: counted */
		return;
	if (err == -ENOSPC) {
		atomic64_inc(&part->cnt.huge_collapse_room_skips);
		return;
	}
	if (err == -ENOMEM)
		atomic64_inc(&part->cnt.huge_collapse_nomem);
	atomic64_inc(&part->cnt.huge_collapse_failures);
}

/*
 * Collapse on fault: the fault @vmf (kvmshare_huge_fault(): the
 * invalidate_lock shared and the unit lock held, the unit wanted, the
 * range KVMSHARE_UNIT_MIXED) meets 4 KiB pages where its PMD is empty.
 * pte_seen is not looked at: this mapping has no page table there, so it
 * gains the PMD whatever other mappings do. The folio is placed by the
 * mapping's policy; the collapse is charged after it is allocated
 * (kvmshare_charge_collapse(): the all-zero entries it fills are the
 * partition's growth, the copy the pool's for a moment).
 *
 * Returns the subpage of @vmf->pgoff with a reference for the caller; or
 * ERR_PTR(-EAGAIN) when the collapse gave up for a cause that passes
 * (a page locked or referenced for a moment, an entry changed: review s27
 * h6, M1) and the fault may be retried (the first try of a fault that
 * allows it; counted in huge_collapse_retries): the caller drops its
 * locks and returns VM_FAULT_RETRY (kvmshare_huge_retry()), and the retry,
 * FAULT_FLAG_TRIED, collapses or maps 4 KiB; or NULL (counted in
 * huge_fallbacks, and by cause in huge_collapse_room_skips,
 * huge_collapse_nomem, huge_collapse_failures): the caller maps the
 * 4 KiB page, which stays as it was, and this VMA keeps a page table
 * there (section 3.2).
 */
static struct page *kvmshare_collapse_fault(struct kvmshare_part *part,
					    struct vm_fault *vmf,
					    pgoff_t base)
{
	struct kvmshare_pool *pool = part->pool;
	struct kvmshare_collapse c;
	struct folio *folio = NULL;
	LIST_HEAD(held);
	int err;

	err = kvmshare_collapse_grab(part, base, &c, true);
	if (err)
		goto failed;
	/* No 2 MiB allocation (reclaim, compaction) for a collapse refused. */
	if (!kvmshare_collapse_room(part, c.nr_pages, c.nr_zero)) {
		kvmshare_collapse_put(&c);
		err = -ENOSPC;
		goto failed;
	}
	if (!kvmshare_inject_fail(pool, KVMSHARE_INJ_COLLAPSE_NOMEM))
		folio = vma_alloc_folio(KVMSHARE_UNIT_IN_GFP,
					KVMSHARE_UNIT_ORDER, vmf->vma,
					vmf->address & HPAGE_PMD_MASK, true);
	if (!folio) {
		kvmshare_collapse_put(&c);
		err = -ENOMEM;
		goto failed;
	}
	if (!kvmshare_charge_collapse(part, c.nr_pages, c.nr_zero, &held)) {
		kvmshare_collapse_put(&c);
		folio_put(folio);
		err = -ENOSPC;
		goto failed;
	}
	/*
	 * The caller's, before the unit is visible: once it is, a page-out
	 * may take it and drop the array's reference.
	 */
	folio_get(folio);
	err = kvmshare_unit_collapse(part,
				     file_inode(vmf->vma->vm_file)->i_mapping,
				     base, &c, folio, true);
	kvmshare_collapse_end(part, c.nr_pages, c.nr_zero, &held, !err);
	if (!err)
		return folio_page(folio, vmf->pgoff - base);
	folio_put(folio);
	kvmshare_collapse_free(part, folio);
failed:
	if (err == -EBUSY && fault_flag_allow_retry_first(vmf->flags)) {
		atomic64_inc(&part->cnt.huge_collapse_retries);
		return ERR_PTR(-EAGAIN);
	}
	kvmshare_collapse_count(part, err);
	atomic64_inc(&part->cnt.huge_fallbacks);
	return NULL;
}

/**
 * kvmshare_huge_retry - retry a fault whose collapse gave up for now
 * @vmf: the fault, kvmshare_huge_fault() having returned ERR_PTR(-EAGAIN)
 *	(the caller holds no lock of the pool now)
 *
 * The retry rules of 6.1 (filemap_fault(), maybe_unlock_mmap_for_io(),
 * which is mm/internal.h's): only the first try of a fault that allows
 * retries gets here (fault_flag_allow_retry_first()); VM_FAULT_RETRY
 * then means the mmap lock was dropped, except for
 * FAULT_FLAG_RETRY_NOWAIT (KVM's asynchronous faults, which must keep it
 * and do not wait). The vma is not looked at after the unlock. Returns
 * VM_FAULT_RETRY.
 */
vm_fault_t kvmshare_huge_retry(struct vm_fault *vmf)
{
	if (!(vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
		mmap_read_unlock(vmf->vma->vm_mm);
		/* Let the holder of the page at work finish. */
		cond_resched();
	}
	return VM_FAULT_RETRY;
}

/* What the background work found at a unit (kvmshare_collapse_look()). */
enum kvmshare_collapse_look {
	KVMSHARE_COLLAPSE_NO,		/* not 512 4 KiB pages */
	KVMSHARE_COLLAPSE_BUSY,		/* one locked, read ahead, under I/O */
	KVMSHARE_COLLAPSE_HELD,		/* one pinned or poisoned */
	KVMSHARE_COLLAPSE_PTE,		/* mapped 4 KiB somewhere: pte_seen */
	KVMSHARE_COLLAPSE_YES,
};

/*
 * Per-range memory of the background work (review s27 h6, M3 and the
 * nits): a range with a pinned or poisoned page is noted in part->units
 * with the number of the pass over the file that found it, and left
 * alone for the rest of that pass (counted once then, in
 * huge_collapse_held_skips). Any other hint replaces it (a loss costs
 * one look).
 */
#define KVMSHARE_UNIT_HELD		8UL
#define KVMSHARE_UNIT_SWEEP_SHIFT	8
#define KVMSHARE_UNIT_SWEEP_MASK	0xffffUL

static unsigned long kvmshare_collapse_held_hint(struct kvmshare_part *part)
{
	return KVMSHARE_UNIT_HELD |
	       ((part->collapse_sweep & KVMSHARE_UNIT_SWEEP_MASK) <<
		KVMSHARE_UNIT_SWEEP_SHIFT);
}

/*
 * Whether the unit at @base of @part is a range the background work may
 * collapse: 512 4 KiB pages (no hole, no all-zero entry: a collapse there
 * would take memory the guest does not use), none pinned, poisoned,
 * locked, or read ahead and untouched, no request registered over it,
 * and pte_seen clear. Lockless, a hint (the collapse checks again under
 * the locks); *@nid is the node of its first page.
 */
static enum kvmshare_collapse_look
kvmshare_collapse_look(struct kvmshare_part *part, pgoff_t base, int *nid)
{
	enum kvmshare_collapse_look look = KVMSHARE_COLLAPSE_YES;
	XA_STATE(xas, &part->pages, base);
	unsigned long hint = 0;
	unsigned int n = 0;
	struct page *page;
	void *e;

	e = xa_load(&part->units, base >> KVMSHARE_UNIT_ORDER);
	if (xa_is_value(e))
		hint = xa_to_value(e);
	if (hint & KVMSHARE_UNIT_PTE_SEEN)
		return KVMSHARE_COLLAPSE_PTE;
	if ((hint & ~(KVMSHARE_UNIT_HELD - 1)) ==
	    kvmshare_collapse_held_hint(part))
		return KVMSHARE_COLLAPSE_NO;	/* counted at its look */
	rcu_read_lock();
	xas_for_each(&xas, e, base + KVMSHARE_UNIT_PAGES - 1) {
		if (xas_retry(&xas, e))
			continue;
		if (!kvmshare_ent_is_4k(e)) {
			look = KVMSHARE_COLLAPSE_NO;
			break;
		}
		page = e;
		if (!n++)
			*nid = page_to_nid(page);
		if (PageHWPoison(page) || page_maybe_dma_pinned(page)) {
			look = KVMSHARE_COLLAPSE_HELD;
			break;
		}
		if (PageLocked(page) ||
		    xas_get_mark(&xas, KVMSHARE_MARK_AHEAD))
			look = KVMSHARE_COLLAPSE_BUSY;
	}
	rcu_read_unlock();
	if (look == KVMSHARE_COLLAPSE_NO ||
	    (look != KVMSHARE_COLLAPSE_HELD && n != KVMSHARE_UNIT_PAGES))
		return KVMSHARE_COLLAPSE_NO;
	if (look == KVMSHARE_COLLAPSE_YES && kvmshare_collapse_io(part, base))
		look = KVMSHARE_COLLAPSE_BUSY;
	return look;
}

/*
 * Collapse the unit at @base of @part (@mapping its file's, held by the
 * work), found collapsible on node @nid, in the background (review s27
 * h6, M3): the invalidate_lock shared and the unit lock, both tried only
 * (a punch or a fault at work there: the next round comes back), the
 * pages grabbed (the cheap checks), and only then a light allocation,
 * the charge (the copy the pool's only: nothing grows) and the collapse;
 * all of it only when the charge would pass now (kvmshare_collapse_room()).
 * Returns 0 or why not (kvmshare_collapse_count()).
 */
static int kvmshare_collapse_one(struct kvmshare_part *part,
				 struct address_space *mapping, pgoff_t base,
				 int nid)
{
	struct kvmshare_pool *pool = part->pool;
	unsigned int nr = kvmshare_unit_lock_nr(part, base);
	unsigned long *word = kvmshare_unit_lock_word(pool, nr);
	struct kvmshare_collapse c;
	struct folio *folio = NULL;
	LIST_HEAD(held);
	int err = -EBUSY;

	/*
	 * Room first (VM s27): without it nothing is locked, grabbed or
	 * allocated, and the range counts as not tried, whatever the
	 * pages' lock or references at that moment (eviction runs over a
	 * pool short of room, and takes them).
	 */
	if (!kvmshare_collapse_room(part, KVMSHARE_UNIT_PAGES, 0))
		return -ENOSPC;
	if (!filemap_invalidate_trylock_shared(mapping))
		return err;
	if (test_and_set_bit_lock(nr % BITS_PER_LONG, word))
		goto unlock_inval;
	/* Within the file still (a truncation waits for us). */
	if ((u64)(base + KVMSHARE_UNIT_PAGES) << PAGE_SHIFT >
	    i_size_read(mapping->host))
		goto unlock;
	err = kvmshare_collapse_grab(part, base, &c, false);
	if (err)
		goto unlock;
	if (!kvmshare_inject_fail(pool, KVMSHARE_INJ_COLLAPSE_NOMEM))
		folio = __folio_alloc_node(KVMSHARE_COLLAPSE_GFP,
					   KVMSHARE_UNIT_ORDER, nid);
	if (!folio) {
		kvmshare_collapse_put(&c);
		err = -ENOMEM;
		goto unlock;
	}
	if (!kvmshare_charge_collapse(part, c.nr_pages, 0, &held)) {
		kvmshare_collapse_put(&c);
		folio_put(folio);
		err = -ENOSPC;
		goto unlock;
	}
	err = kvmshare_unit_collapse(part, mapping, base, &c, folio, false);
	kvmshare_collapse_end(part, c.nr_pages, 0, &held, !err);
	if (err)
		kvmshare_collapse_free(part, folio);
unlock:
	kvmshare_unit_unlock(pool, nr);
unlock_inval:
	filemap_invalidate_unlock_shared(mapping);
	return err;
}

/*
 * One pass over @part (@inode held by the work): from where the last pass
 * stopped, look at up to KVMSHARE_COLLAPSE_LOOKS units inside the file,
 * and collapse the first that may be (one a pass). Ranges mapped 4 KiB
 * (pte_seen) count in huge_collapse_pte_skips, held ones in
 * huge_collapse_held_skips: pinned or poisoned once a pass over the file,
 * busy ones (locked, read ahead, under I/O) at each look. Returns what
 * the collapse tried returned, or 0.
 */
static int kvmshare_collapse_part(struct kvmshare_part *part,
				  struct inode *inode)
{
	unsigned long units = i_size_read(inode) >>
			      (PAGE_SHIFT + KVMSHARE_UNIT_ORDER);
	unsigned long u = part->collapse_cursor;
	unsigned int looks;
	int nid = NUMA_NO_NODE, err;
	pgoff_t base;

	if (!units)
		return 0;
	for (looks = 0; looks < KVMSHARE_COLLAPSE_LOOKS; looks++, u++) {
		if (u >= units) {
			u = 0;
			part->collapse_sweep++;
		}
		base = u << KVMSHARE_UNIT_ORDER;
		switch (kvmshare_collapse_look(part, base, &nid)) {
		case KVMSHARE_COLLAPSE_NO:
			continue;
		case KVMSHARE_COLLAPSE_BUSY:
			atomic64_inc(&part->cnt.huge_collapse_held_skips);
			continue;
		case KVMSHARE_COLLAPSE_PTE:
			atomic64_inc(&part->cnt.huge_collapse_pte_skips);
			continue;
		case KVMSHARE_COLLAPSE_HELD:
			atomic64_inc(&part->cnt.huge_collapse_held_skips);
			kvmshare_unit_hint_keep(part, base,
						kvmshare_collapse_held_hint(part),
						KVMSHARE_UNIT_PTE_SEEN);
			continue;
		case KVMSHARE_COLLAPSE_YES:
			break;
		}
		part->collapse_cursor = u + 1;
		err = kvmshare_collapse_one(part, inode->i_mapping, base, nid);
		if (err)
			kvmshare_collapse_count(part, err);
		return err;
	}
	part->collapse_cursor = u;
	return 0;
}

/*
 * The partition after the one the last pass looked at, by id (each in
 * turn), with its inode held and a kobject reference; NULL if none.
 */
static struct kvmshare_part *kvmshare_collapse_pick(struct kvmshare_pool *pool,
						    struct inode **inode)
{
	struct kvmshare_part *part, *next = NULL, *first = NULL;

	spin_lock(&pool->lock);
	list_for_each_entry(part, &pool->parts, node) {
		if (!part->inode)
			continue;
		if (part->id > pool->collapse_last &&
		    (!next || part->id < next->id))
			next = part;
		if (!first || part->id < first->id)
			first = part;
	}
	if (!next)
		next = first;
	if (next) {
		pool->collapse_last = next->id;
		*inode = igrab(next->inode);
		if (*inode)
			kobject_get(&next->kobj);
		else
			next = NULL;
	}
	spin_unlock(&pool->lock);
	return next;
}

/*
 * The background collapse work of a pool: each huge_collapse_ms, one
 * partition in turn, one collapse at most; after a pass that found no
 * free 2 MiB block, the back-off above (review s27 h6, M3). Off
 * (huge_collapse_ms 0, or the pool huge=off), it does not queue itself
 * again: the parameter's setter and a remount with huge=on start it
 * (kvmshare_huge_rearm(); review s27 h6, L2). It holds the partition's
 * inode while it works (as the eviction work does), so it runs only
 * until the pool is dying: unmount cancels it before the super block
 * goes (kvmshare_huge_exit()), and it does not queue itself again then.
 */
static void kvmshare_collapse_work(struct work_struct *work)
{
	struct kvmshare_pool *pool = container_of(to_delayed_work(work),
						  struct kvmshare_pool,
						  collapse_work);
	unsigned int ms = READ_ONCE(huge_collapse_ms), backoff;
	struct kvmshare_part *part;
	struct inode *inode;
	int err = 0;

	if (READ_ONCE(pool->dying) || !ms || !READ_ONCE(pool->huge))
		return;
	part = kvmshare_collapse_pick(pool, &inode);
	if (part) {
		err = kvmshare_collapse_part(part, inode);
		iput(inode);
		kobject_put(&part->kobj);
	}
	backoff = pool->collapse_backoff_ms;
	if (err == -ENOMEM)
		backoff = backoff ? min(backoff * 2,
					KVMSHARE_COLLAPSE_BACKOFF_MAX_MS) :
			  KVMSHARE_COLLAPSE_BACKOFF_MS;
	else if (!err && part)
		backoff = 0;
	pool->collapse_backoff_ms = backoff;
	if (!READ_ONCE(pool->dying))
		queue_delayed_work(system_unbound_wq, &pool->collapse_work,
				   msecs_to_jiffies(max(ms, backoff)));
}

/**
 * kvmshare_huge_init - start a new pool's background collapse work
 * @pool: the pool
 */
void kvmshare_huge_init(struct kvmshare_pool *pool)
{
	INIT_DELAYED_WORK(&pool->collapse_work, kvmshare_collapse_work);
	spin_lock(&kvmshare_collapse_lock);
	list_add(&pool->collapse_node, &kvmshare_collapse_pools);
	kvmshare_collapse_arm(pool,
			      msecs_to_jiffies(READ_ONCE(huge_collapse_ms)));
	spin_unlock(&kvmshare_collapse_lock);
}

/**
 * kvmshare_huge_rearm - start a pool's background collapse work now
 * @pool: the pool, remounted huge=on
 */
void kvmshare_huge_rearm(struct kvmshare_pool *pool)
{
	spin_lock(&kvmshare_collapse_lock);
	if (!list_empty(&pool->collapse_node))
		kvmshare_collapse_arm(pool, 0);
	spin_unlock(&kvmshare_collapse_lock);
}

/**
 * kvmshare_huge_exit - stop a pool's background collapse work for good
 * @pool: the pool, going away (unmount, or a mount that failed)
 *
 * Before the super block's inodes go: the work holds one while it runs.
 * Idempotent.
 */
void kvmshare_huge_exit(struct kvmshare_pool *pool)
{
	spin_lock(&kvmshare_collapse_lock);
	list_del_init(&pool->collapse_node);
	WRITE_ONCE(pool->dying, true);
	spin_unlock(&kvmshare_collapse_lock);
	cancel_delayed_work_sync(&pool->collapse_work);
}

/*
 * mmap() without MAP_FIXED: a 2 MiB-aligned address (for the file offset)
 * where the pool makes units, so that a PMD can map them; the default
 * placement otherwise. A MAP_FIXED mapping stays where it is asked for.
 */
unsigned long kvmshare_huge_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	if (READ_ONCE(kvmshare_pool_of(file_inode(file)->i_sb)->huge))
		return thp_get_unmapped_area(file, addr, len, pgoff, flags);
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
}
