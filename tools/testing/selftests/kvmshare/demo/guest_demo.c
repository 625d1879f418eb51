// SPDX-License-Identifier: GPL-2.0
/*
 * make demo: a nested KVM guest whose RAM is a pool partition writes a
 * pattern over all of it, in eighths, while the pool pages it out; then
 * verifies every page, paging it back in. Prints what the pool does.
 *
 *   guest_demo PARTITION-FILE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../lib/ksutil.h"
#include "../lib/mvm.h"

static void show(int fd, const char *what)
{
	struct kvmshare_part_stats st;

	if (ks_part_stats(fd, &st))
		return;
	printf("# %-22s resident %6llu  paged out %6llu  zero %5llu",
	       what, (unsigned long long)st.resident_pages,
	       (unsigned long long)st.paged_out_pages,
	       (unsigned long long)st.zero_pages);
	printf("  page-outs %6llu  page-ins %6llu\n",
	       (unsigned long long)st.pageouts,
	       (unsigned long long)st.pageins);
}

int main(int argc, char **argv)
{
	struct mvm_vcpu *vcpu;
	struct mvm_result res;
	uint64_t pages, step, i;
	struct mvm *vm;
	struct stat sb;
	uint8_t *ram;
	char what[64];
	int fd;

	printf("TAP version 13\n1..2\n");
	fd = argc == 2 ? open(argv[1], O_RDWR) : -1;
	if (fd < 0 || fstat(fd, &sb)) {
		printf("not ok 1 usage: guest_demo PARTITION-FILE\n");
		return 1;
	}
	pages = sb.st_size / KS_PAGE;
	ram = mmap(NULL, sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	vm = mvm_create();
	vcpu = NULL;
	if (ram != MAP_FAILED && vm &&
	    !mvm_set_slot(vm, 1, MVM_DATA_GPA, ram, sb.st_size))
		vcpu = mvm_vcpu_create(vm, 0);
	if (!vcpu) {
		printf("not ok 1 could not set up the guest\n");
		return 1;
	}
	printf("# guest RAM: %s, %llu MiB\n", argv[1],
	       (unsigned long long)(pages >> 8));
	step = pages / 8;
	for (i = 0; i < pages; i += step) {
		uint64_t n = i + step > pages ? pages - i : step;

		if (mvm_call(vcpu, MVM_OP_FILL, MVM_DATA_GPA + i * KS_PAGE, n,
			     0x5eed, &res) || res.status != MVM_OK) {
			printf("not ok 1 guest write failed at page %llu\n",
			       (unsigned long long)i);
			return 1;
		}
		snprintf(what, sizeof(what), "wrote %llu/%llu MiB",
			 (unsigned long long)((i + n) >> 8),
			 (unsigned long long)(pages >> 8));
		show(fd, what);
	}
	printf("ok 1 the guest wrote %llu MiB into its pool partition\n",
	       (unsigned long long)(pages >> 8));
	if (mvm_call(vcpu, MVM_OP_VERIFY, MVM_DATA_GPA, pages, 0x5eed, &res) ||
	    res.status != MVM_OK) {
		printf("not ok 2 guest verify failed at 0x%llx\n",
		       (unsigned long long)res.addr);
		return 1;
	}
	show(fd, "verified all");
	printf("ok 2 every page verified after page-out and page-in\n");
	mvm_vcpu_destroy(vcpu);
	mvm_destroy(vm);
	munmap(ram, sb.st_size);
	close(fd);
	return 0;
}
