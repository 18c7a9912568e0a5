// SPDX-License-Identifier: GPL-2.0-only
/*
 * #[kfunc NAME] scopes: an fentry/fexit pair per kernel function. The loader
 * opens this object once per function, sets its target and scope id, and
 * shares bpfbox.bpf.c's pinned process and thread maps with it.
 */
#include "scopes.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 scope_id = 0;
/* The profile the scope belongs to: kernel functions run in every process. */
const volatile __u32 scope_slot = 0;

SEC("fentry")
int BPF_PROG(kfunc_entry)
{
	scope_enter(scope_id, scope_slot);
	return 0;
}

SEC("fexit")
int BPF_PROG(kfunc_return)
{
	scope_exit(scope_id);
	return 0;
}
