/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Walking kernel fields from bpfbox.bpf.c's hooks without the verifier's
 * searches: walkable(), first_walked() and the kernel type ids they need.
 * Apart from kernel.h so that the objects that do not walk fields this way
 * (shared.bpf.c, uprobe.bpf.c, kfunc.bpf.c) carry no type-id variables,
 * and so no read-only data map of their own.
 */
#ifndef BPFBOX_WALKABLE_H
#define BPFBOX_WALKABLE_H

#include "kernel.h"

/* A pointer to walk fields through, of a trusted one (a hook's argument,
 * the current task). Verifiers from 6.2 ask, of every pointer a program
 * loads from a field of a trusted pointer, whether the kernel declares that
 * field trusted or RCU-protected: by searching the kernel's BTF for a type
 * name, one linear search per question, up to four per load and again on
 * every path the verifier walks. On 6.12 that was two thirds of the first
 * load (perf). A load through an untrusted cast is the same fault-safe load
 * and asks nothing. bpf_rdonly_cast becomes a register move; 6.1, which
 * does not have it, does not ask either. Helpers that need the trusted
 * pointer (bpf_d_path, local storage, bpf_task_pt_regs) are given the
 * original. */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define walkable(p, name)                                                                                   \
	((struct name *)(bpf_ksym_exists(bpf_rdonly_cast) ? bpf_rdonly_cast((p), kernel_type_##name) : (void *)(p)))

/* A pointer loaded from a field of a trusted one, where a hook needs it
 * trusted (for a helper): loaded here, before the branches that follow,
 * so that the verifier walks the load on one path and makes its searches
 * (above) once, not once per path. Before maybe_confined_caller() too,
 * whose two ways out (no bitmap word, or the bit set) the verifier walks
 * apart: after it, file_open's, file_permission's and inode_getattr's
 * loads were each searched for twice (6.12, a probe on
 * btf_nested_type_is_trusted). The unconfined pay one load for it. */
#define first_walked(load)                  \
	({                                  \
		__auto_type loaded_ = (load);  \
		barrier_var(loaded_);       \
		loaded_;                    \
	})

/* The kernel's BTF ids of the types walkable() casts to, written by
 * bpfbox-load before the load from its one pass over the kernel's BTF
 * (runtime/src/kernel/types.rs, by the name after kernel_type_): not CO-RE
 * type-id relocations, so that libbpf may relocate the objects against the
 * few kernel types they name instead of searching all of them. */
#define KERNEL_TYPE_ID(name) const volatile __u32 kernel_type_##name = 0
KERNEL_TYPE_ID(task_struct);
KERNEL_TYPE_ID(inode);
KERNEL_TYPE_ID(dentry);
KERNEL_TYPE_ID(file);
KERNEL_TYPE_ID(path);
KERNEL_TYPE_ID(linux_binprm);
KERNEL_TYPE_ID(socket);
KERNEL_TYPE_ID(vfsmount);
KERNEL_TYPE_ID(vm_area_struct);

#endif
