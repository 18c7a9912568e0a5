// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor a #[func] scope is measured against (testsuite/vm/run --bench):
 * a uprobe and a uretprobe that do nothing, attached by
 * runtime/examples/attach.rs to the same function bpfbox scopes.
 */
/* libbpf's bpf_helpers.h is not installed here; this is all of it used. */
#define SEC(name) __attribute__((section(name), used))

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int bare_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int bare_return(void *ctx)
{
	return 0;
}
