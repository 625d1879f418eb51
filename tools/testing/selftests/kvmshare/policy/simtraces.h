/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shipped simulator traces: every .trace file in
 * tools/kvmshare-sim/traces.
 */
#ifndef _KVMSHARE_POLICY_SIMTRACES_H
#define _KVMSHARE_POLICY_SIMTRACES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define SIMTRACES_MAX	64

static int simtraces_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Paths of the traces, sorted; returns how many (-1 if no directory). */
static inline int simtraces_list(char **paths, int max)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tools/kvmshare-sim/traces", tsrcdir());
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max) {
		size_t len = strlen(de->d_name);

		if (len < 7 || strcmp(de->d_name + len - 6, ".trace"))
			continue;
		paths[n] = malloc(strlen(dir) + len + 2);
		if (!paths[n])
			break;
		sprintf(paths[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	qsort(paths, n, sizeof(*paths), simtraces_cmp);
	return n;
}

#endif /* _KVMSHARE_POLICY_SIMTRACES_H */
