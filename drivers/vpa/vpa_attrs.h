/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sysfs attributes that carry a small number (a resource type, a
 * counter's index), so that one show or store serves a family of files
 * built at module init from a table of names. Shared by vpa and
 * vpa_guest.
 */
#ifndef _VPA_ATTRS_H
#define _VPA_ATTRS_H

#include <linux/device.h>

static inline unsigned int vpa_attr_num(struct device_attribute *attr)
{
	return (uintptr_t)container_of(attr, struct dev_ext_attribute,
				       attr)->var;
}

/*
 * Fill @ea with @n files like @tmpl named @names[i] and numbered @base + i
 * (vpa_attr_num()), and append them to the list at @list. Returns the
 * list's new end; the caller ends the list with NULL.
 */
static inline struct attribute **
vpa_attrs_fill(struct attribute **list, struct dev_ext_attribute *ea,
	       const struct device_attribute *tmpl, const char * const *names,
	       unsigned int n, unsigned int base)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		ea[i].attr = *tmpl;
		sysfs_attr_init(&ea[i].attr.attr);
		ea[i].attr.attr.name = names[i];
		ea[i].var = (void *)(uintptr_t)(base + i);
		*list++ = &ea[i].attr.attr;
	}
	return list;
}

#endif /* _VPA_ATTRS_H */
