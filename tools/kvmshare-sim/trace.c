// SPDX-License-Identifier: GPL-2.0
/*
 * kvmshare-sim: trace files. The format is line based; '#' starts a
 * comment. Sizes take a K, M or G suffix (bytes otherwise) and are turned
 * into 4 KiB pages. See Documentation/design/policy.rst ("Traces").
 *
 *   pool <size>
 *   vm <name> size=<size> [entitlement=<size>] [limit=<size>]
 *      [weight=<n>] [guest=normal|silent|garbage|busy|frozen:<period>]
 *   phase <periods> <ws>[+<cold>] ...	one column per vm, in order
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int sim_err(char *err, size_t len, unsigned int line,
		   const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, len, "line %u: ", line);
	if (n < 0 || (size_t)n >= len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "<number>[KMG]" to pages; 0 on success. */
static int sim_size(const char *s, uint64_t *pages)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtoull(s, &end, 10);
	switch (toupper((unsigned char)*end)) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || v > (1ULL << 52))
		return -1;
	*pages = v / (SIM_PAGE_KB * 1024);
	return 0;
}

static int sim_vm_opt(struct sim_vm_cfg *vm, char *opt)
{
	char *val = strchr(opt, '=');

	if (!val)
		return -1;
	*val++ = '\0';
	if (!strcmp(opt, "size"))
		return sim_size(val, &vm->size);
	if (!strcmp(opt, "entitlement"))
		return sim_size(val, &vm->entitlement);
	if (!strcmp(opt, "limit"))
		return sim_size(val, &vm->limit);
	if (!strcmp(opt, "weight")) {
		vm->weight = (uint32_t)strtoul(val, NULL, 10);
		return vm->weight ? 0 : -1;
	}
	if (!strcmp(opt, "guest")) {
		if (!strcmp(val, "normal"))
			vm->guest = SIM_GUEST_NORMAL;
		else if (!strcmp(val, "silent"))
			vm->guest = SIM_GUEST_SILENT;
		else if (!strcmp(val, "garbage"))
			vm->guest = SIM_GUEST_GARBAGE;
		else if (!strcmp(val, "busy"))
			vm->guest = SIM_GUEST_BUSY;
		else if (!strncmp(val, "frozen:", 7))
			vm->guest = SIM_GUEST_FROZEN,
			vm->frozen_at = (uint32_t)strtoul(val + 7, NULL, 10);
		else
			return -1;
		return 0;
	}
	return -1;
}

static int sim_phase_col(struct sim_phase *ph, unsigned int i, char *col)
{
	char *plus = strchr(col, '+');

	if (plus) {
		*plus++ = '\0';
		if (sim_size(plus, &ph->cold[i]))
			return -1;
	}
	return sim_size(col, &ph->ws[i]);
}

static int sim_trace_check(struct sim_trace *t, char *err, size_t errlen,
			   unsigned int line)
{
	uint64_t ent = 0;
	unsigned int i;

	if (!t->pool)
		return sim_err(err, errlen, line, "no pool");
	if (!t->nvm || !t->nphase)
		return sim_err(err, errlen, line, "no vm or no phase");
	for (i = 0; i < t->nvm; i++) {
		struct sim_vm_cfg *vm = &t->vm[i];

		if (!vm->limit || vm->limit > vm->size)
			vm->limit = vm->size;
		if (vm->entitlement > vm->limit)
			return sim_err(err, errlen, line,
				       "vm %s: entitlement over limit", vm->name);
		ent += vm->entitlement;
	}
	if (ent > t->pool)
		return sim_err(err, errlen, line, "entitlements exceed the pool");
	return 0;
}

/**
 * sim_trace_load - read a trace file
 * @t: the trace
 * @path: file name
 * @err: where a message goes on failure
 * @errlen: its size
 *
 * Return: 0, or -1 with a message in @err.
 */
int sim_trace_load(struct sim_trace *t, const char *path, char *err,
		   size_t errlen)
{
	unsigned int line = 0;
	const char *base;
	char buf[1024];
	FILE *f;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	base = strrchr(path, '/');
	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : path);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	while (!ret && fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#');
		char *tok, *save;

		line++;
		if (hash)
			*hash = '\0';
		tok = strtok_r(buf, " \t\r\n", &save);
		if (!tok)
			continue;
		if (!strcmp(tok, "pool")) {
			tok = strtok_r(NULL, " \t\r\n", &save);
			if (!tok || sim_size(tok, &t->pool))
				ret = sim_err(err, errlen, line, "bad pool size");
		} else if (!strcmp(tok, "vm")) {
			struct sim_vm_cfg *vm;

			if (t->nphase || t->nvm == SIM_MAX_VMS) {
				ret = sim_err(err, errlen, line,
					      "vm after a phase or too many");
				break;
			}
			vm = &t->vm[t->nvm++];
			vm->weight = 100;
			tok = strtok_r(NULL, " \t\r\n", &save);
			if (!tok) {
				ret = sim_err(err, errlen, line, "vm without name");
				break;
			}
			snprintf(vm->name, sizeof(vm->name), "%s", tok);
			while ((tok = strtok_r(NULL, " \t\r\n", &save)))
				if (sim_vm_opt(vm, tok))
					ret = sim_err(err, errlen, line,
						      "bad vm option '%s'", tok);
			if (!ret && !vm->size)
				ret = sim_err(err, errlen, line, "vm without size");
		} else if (!strcmp(tok, "phase")) {
			struct sim_phase *ph;
			unsigned int i;

			if (t->nphase == SIM_MAX_PHASES) {
				ret = sim_err(err, errlen, line, "too many phases");
				break;
			}
			ph = &t->phase[t->nphase++];
			tok = strtok_r(NULL, " \t\r\n", &save);
			ph->len = tok ? (uint32_t)strtoul(tok, NULL, 10) : 0;
			if (!ph->len || ph->len > 100000) {
				ret = sim_err(err, errlen, line, "bad phase length");
				break;
			}
			t->periods += ph->len;
			for (i = 0; i < t->nvm && !ret; i++) {
				tok = strtok_r(NULL, " \t\r\n", &save);
				if (!tok || sim_phase_col(ph, i, tok))
					ret = sim_err(err, errlen, line,
						      "bad column %u", i + 1);
				else if (ph->ws[i] + ph->cold[i] > t->vm[i].size)
					ret = sim_err(err, errlen, line,
						      "column %u over the vm size",
						      i + 1);
			}
			if (!ret && strtok_r(NULL, " \t\r\n", &save))
				ret = sim_err(err, errlen, line, "extra column");
		} else {
			ret = sim_err(err, errlen, line, "unknown keyword '%s'",
				      tok);
		}
	}
	fclose(f);
	if (!ret)
		ret = sim_trace_check(t, err, errlen, line);
	return ret;
}
