// SPDX-License-Identifier: GPL-2.0-only
/*
 * #[func NAME] scopes: one uprobe at the function's entry and one uretprobe
 * at its return, per scoped function; the attach cookie is the scope id.
 * Loaded whenever bpfbox-load attaches uprobes, sharing the pinned process
 * and thread maps.
 */
#include "scopes.h"

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int scope_entry(struct pt_regs *ctx)
{
	scope_enter(bpf_get_attach_cookie(ctx), ANY_SLOT);
	return 0;
}

SEC("uretprobe")
int scope_return(struct pt_regs *ctx)
{
	scope_exit(bpf_get_attach_cookie(ctx));
	return 0;
}
