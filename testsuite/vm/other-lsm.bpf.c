// SPDX-License-Identifier: GPL-2.0-only
/*
 * Another BPF LSM, not bpfbox: it denies chmod, setting and removing
 * extended attributes, and bpf(2) to processes named "otherlsm". The VM
 * suite attaches it (runtime/examples/attach.rs) before bpfbox's first
 * load, so bpfbox's programs come after it on the same hooks: its denials
 * must stand (the kernel runs no later BPF LSM program after a denial).
 */
#define SEC(name) __attribute__((section(name), used))

typedef unsigned long long u64;

char LICENSE[] SEC("license") = "GPL";

/* BPF_FUNC_get_current_comm */
static long (*get_current_comm)(void *buf, unsigned int size) = (void *)16;

/* -EPERM for processes named otherlsm, else 0. Newer verifiers check that
 * an LSM program exits with -4095 to 0: each answer is returned on its own
 * path (clang's arithmetic for one computed answer loses the range), as a
 * long (an int's -1 is loaded as 0xffffffff). */
static __attribute__((always_inline)) long denied_here(void)
{
	char comm[16] = {};
	get_current_comm(comm, sizeof comm);
	const char name[] = "otherlsm";
	for (int i = 0; i < (int)sizeof name; i++) {
		if (comm[i] != name[i])
			return 0;
		asm volatile("" ::: "memory");
	}
	return -1; /* -EPERM */
}

SEC("lsm/inode_setattr")
long other_setattr(u64 *ctx)
{
	return denied_here();
}

SEC("lsm/inode_setxattr")
long other_setxattr(u64 *ctx)
{
	return denied_here();
}

SEC("lsm/inode_removexattr")
long other_removexattr(u64 *ctx)
{
	return denied_here();
}

SEC("lsm/bpf")
long other_bpf(u64 *ctx)
{
	return denied_here();
}
