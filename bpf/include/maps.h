/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The maps of bpfbox's LSM object (bpf/bpfbox.bpf.c), pinned under
 * /sys/fs/bpf/bpfbox/maps: the policy, read-only to every program, and the
 * state the hooks keep. The process, thread and scope maps, which the
 * uprobe and fentry objects share, are in scopes.h; a hook's working
 * memory (per-CPU scratch) stays beside the code that uses it. Their keys
 * and values are bpfbox.h's, which Rust reads too.
 */
#ifndef BPFBOX_MAPS_H
#define BPFBOX_MAPS_H

#include "scopes.h"

/* The policy maps are BPF_F_RDONLY_PROG: only bpfbox-load writes them (from
 * user space), and no BPF program, ours or another's, can. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_PROFILES);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, struct bpfbox_inode_key);
	__type(value, __u32); /* slot */
} exe_profiles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_PROFILES);
	/* Not preallocated: a preallocated hash reuses a replaced element for
	 * the next update, under a decision that may still be reading it; these
	 * elements are freed only after an RCU grace period. */
	__uint(map_flags, BPF_F_RDONLY_PROG | BPF_F_NO_PREALLOC);
	__type(key, __u32); /* slot */
	__type(value, struct bpfbox_profile);
} profiles SEC(".maps");

/* What makes a procs entry the calling process's state: the entry is its
 * own, not an earlier process's with the same pid (its group leader's
 * start time), and its profile is in force (the hooks' get_proc and
 * get_profile, shared.bpf.c's current_decision). */
static __always_inline int proc_is_callers(const struct bpfbox_proc *proc, __u64 leader_start_time)
{
	return proc->start_time == leader_start_time;
}

/* The process's profile, or 0 when it was unloaded, or its slot given
 * to another executable since (the serial). */
static __always_inline struct bpfbox_profile *profile_in_force(struct bpfbox_proc *proc)
{
	struct bpfbox_profile *profile = bpf_map_lookup_elem(&profiles, &proc->slot);
	if (!profile || !profile->version || proc->serial != profile->serial)
		return 0;
	return profile;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG);
	__type(key, struct bpfbox_rule_key);
	__type(value, struct bpfbox_masks);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPFBOX_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_PROFILES);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32); /* slot */
	__type(value, struct bpfbox_registry);
} registry SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct bpfbox_meta);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_SCOPES);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32); /* scope id */
	__type(value, struct bpfbox_scope_name);
} scope_names SEC(".maps");

/* No program reads this map: bpfbox-load updates it to wait for every
 * program already running (an update of a map-in-map returns after an RCU
 * grace period, and our programs run inside RCU read-side sections), before
 * it deletes rules that a running decision might still be reading. */
struct grace_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct grace_inner);
} grace SEC(".maps");

/* One bit per thread id: set while the thread forks a child of a confined
 * process, between task_alloc and the fork tracepoint (both run in the
 * forking thread, which forks one child at a time), for which it holds a
 * claim on room in procs. A fork that fails in between frees the child in
 * the same thread (task_free), which gives the claim back. A bit per
 * thread, not an entry per child: two atomics instead of a hash insert and
 * delete per fork, and no entry to look for at every task free. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBOX_PID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} forking SEC(".maps");

/* Sets thread tid's forking bit; 1 when it was clear. */
static __always_inline int begin_fork(__u32 tid)
{
	__u64 *bits = id_word(&forking, tid);
	if (!bits)
		return 0;
	__u64 bit = id_bit(tid);
	return !(__sync_fetch_and_or(bits, bit) & bit);
}

/* Clears thread tid's forking bit; 1 when it was set (a claim is the
 * caller's to use or give back). */
static __always_inline int end_fork(__u32 tid)
{
	__u64 *bits = id_word(&forking, tid);
	__u64 bit = id_bit(tid);
	if (!bits || !(*bits & bit))
		return 0;
	return !!(__sync_fetch_and_and(bits, ~bit) & bit);
}

/*
 * A file's rules under one profile are remembered on its inode, so that
 * the read after an open, or the next open of the same file, costs one
 * local-storage lookup instead of the process, profile and rule lookups and
 * the walk up the directories. What was remembered is used only while all
 * of what it was computed from still holds, told by a tag, never by a sweep:
 *  - the same profile: its slot and serial. The rules are the profile's,
 *    not the process's, so any tainted process under it (a forked child,
 *    the next run of the program) uses them, once it has looked up its own
 *    state; the process that remembered them last (thread group, its
 *    leader's start time, its exec, which may change its profile) uses
 *    them without that lookup;
 *  - the same rules: meta's generation, bumped after every load, reload
 *    and unload;
 *  - the same place in the tree, for a profile with "**" rules (whose
 *    rules depend on the directories above the file): the same dentry, and
 *    the kernel's rename_lock sequence unchanged (every rename anywhere
 *    bumps it); a link, unlink or rename of the file itself forgets what
 *    was remembered on it (forget_file, before the change), and a file with
 *    more than one name is never remembered. Without rename_lock's address
 *    (a kernel without CONFIG_KALLSYMS_ALL), such profiles decide every
 *    access in full.
 * Only a tainted process remembers, and only outside function scopes (the
 * thread's scoped bit). Its taint is final, so its own tag needs no look at
 * its state; another process recalls by the profile only when its state
 * says it is tainted too (an untainted one must still meet its taint
 * rules). Only an answer that needs no event is given from memory:
 * anything else is decided in full, by the same code as before.
 */
struct memo {
	__u64 seq; /* odd while a writer is at it (a seqlock) */
	__u32 generation;
	__u32 tgid;
	__u64 start_time;
	__u64 exec_id;
	/* The profile whose rules these are (struct bpfbox_proc). */
	__u32 slot;
	__u32 serial;
	/* For a profile with "**" rules (subtrees): where in the tree. */
	__u64 dentry;
	__u32 rename_seq;
	__u32 subtrees;
	struct bpfbox_masks masks;
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct memo);
} file_memo SEC(".maps");

/* The seqlocks of the per-CPU entries below (recent, recent_caller) and of
 * file_memo, and the tag they are read under. */

/* A load ordered after every earlier load and before every later one. On
 * x86 loads are not reordered with loads (TSO), so a compiler barrier is
 * enough; elsewhere an atomic read, a full barrier. */
static __always_inline __u64 read_once_ordered(__u64 *p)
{
#if defined(__TARGET_ARCH_x86)
	asm volatile("" ::: "memory");
	__u64 v = *(volatile __u64 *)p;
	asm volatile("" ::: "memory");
	return v;
#else
	return __sync_fetch_and_add(p, 0);
#endif
}

/* A seqlock's writer: *seq made odd, if no other writer is at it (else it
 * wins, and this one writes nothing); 1 when claimed, the even count it
 * found in *was. Atomics are full barriers. */
static __always_inline int seq_claim(__u64 *seq, __u64 *was)
{
	__u64 found = *seq;
	if ((found & 1) || __sync_val_compare_and_swap(seq, found, found + 1) != found)
		return 0;
	*was = found;
	return 1;
}

/* A per-CPU entry's writer done (recent, recent_caller): the count even
 * again, after every store into the entry. Only this CPU reads it, so a
 * compiler barrier orders the stores. */
static __always_inline void seq_release_per_cpu(__u64 *seq, __u64 was)
{
	asm volatile("" ::: "memory");
	*seq = was + 2;
}

/* What a recent entry must match: the calling thread's task address and
 * recent_epoch; and what a memo must match: the calling process, the
 * rules. */
struct recall {
	__u64 epoch;
	__u64 task;
	__u32 generation;
	__u32 tgid;
	__u64 start_time;
	__u64 exec_id;
};

/* The calling thread's tag, what a recent entry must match. The epoch is
 * read first, before anything it guards (the memo, the process's state,
 * the rules), so that a tag is never newer than what is remembered under
 * it. Every load through a kernel pointer costs about eight instructions
 * here (the JIT guards it): the tag has none. */
static __always_inline int recall_thread(struct recall *r)
{
	__u32 zero = 0;
	__u64 *epoch = bpf_map_lookup_elem(&recent_epoch, &zero);
	if (!epoch)
		return 0;
	r->epoch = read_once_ordered(epoch);
	r->task = (unsigned long)bpf_get_current_task_btf();
	return 1;
}

/*
 * The last file rules remembered on this CPU, in front of file_memo,
 * one per slot (a file's slot is a hash of its inode's address): the
 * read after an open, or the open of a file opened before, answered by
 * a per-CPU array lookup and a few comparisons, without the
 * local-storage helper. 64 slots, so that a server's few files (its
 * page, its log) seldom push each other out: two files share a slot
 * with odds of one in 64, and then each misses whenever the other was
 * used last. With 16, one boot in seven of the nginx benchmark ran its
 * opens at 637 instructions instead of 350, as a page sharing its slot
 * with a log would (not confirmed: the slots depend on where the inodes
 * are, which changes with every boot). It holds a copy of a
 * memo, made for one thread: tagged by the thread's task address and
 * recent_epoch (bpf/include/scopes.h), which every change that could
 * make the copy wrong bumps (the rules, a task freed or exec'd, a scope
 * entered, a file linked, unlinked or renamed), so that a hit loads no
 * kernel field for the thread. The file is told by its inode's address,
 * number and file system, so that an inode freed and its memory given
 * to another file does not match. For a profile with "**" rules, its
 * place as in the memo (dentry, rename_lock sequence). Written only
 * where a memo is, read and written by one CPU, preemptible: a seqlock
 * whose writer claims it with a compare-and-swap.
 */
struct recent {
	__u64 seq; /* odd while a writer is at it */
	__u64 task;
	__u64 epoch;
	__u64 inode;
	__u64 ino;
	__u64 sb;
	/* For a profile with "**" rules (subtrees): where in the tree. */
	__u64 dentry;
	__u32 rename_seq;
	__u32 subtrees;
	/* What may be done without an event: [0] as an open, mmap or stat,
	 * [1] as a read or write of a file already open (taint rules too). */
	__u32 granted[2];
};

#define RECENT_SLOTS 64

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RECENT_SLOTS);
	__type(key, __u32);
	__type(value, struct recent);
} recent SEC(".maps");

/* The slot of an inode: its address's low 32 bits above the size of the
 * smallest inode, folded six bits at a time. Truncated first: the
 * verifier refuses a shift of a pointer, not of a number made from one. */
static __always_inline __u32 recent_slot(void *inode)
{
	/* A 32-bit copy first, which the verifier takes for a number: it
	 * refuses arithmetic on the pointer's own register, which the
	 * compiler would otherwise do in place. */
	__u32 a;
	asm volatile("%0 = %1" : "=w"(a) : "w"((__u32)(unsigned long)inode));
	return ((a >> 6) ^ (a >> 12) ^ (a >> 18)) & (RECENT_SLOTS - 1);
}

/*
 * The last decisions about the caller alone made on this CPU (a net, cap
 * or sys rule's: current_decision in bpf/shared.bpf.c), as `recent` is for
 * files: a server's every send, receive and accept asks the same question
 * of the same rule, which a full decision answers with a lookup of the
 * process, its profile and the rule (about 800 instructions a socket
 * operation), and this entry with a per-CPU array lookup and a few
 * comparisons. One entry per slot (the rule's kind and number folded):
 * the rule it answers for, what it lets the thread do with no event (as
 * granted_by says for a tainted process: it is written for tainted
 * processes only, whose taint is final), tagged by the thread's task
 * address and recent_epoch, which every change that could make it wrong
 * bumps (the rules, a task freed or exec'd, a scope entered); written
 * only outside function scopes. Read and written by one CPU,
 * preemptible: a seqlock whose writer claims it with a compare-and-swap.
 */
struct recent_caller {
	__u64 seq; /* odd while a writer is at it */
	__u64 task;
	__u64 epoch;
	__u32 kind;    /* the rule's: BPFBOX_RULE_NET, _CAP, _SYS */
	__u32 number;  /* its family, capability or sys operation */
	__u32 granted; /* the accesses allowed without an event */
	__u32 unused;
};

#define RECENT_CALLER_SLOTS 16

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RECENT_CALLER_SLOTS);
	__type(key, __u32);
	__type(value, struct recent_caller);
} recent_caller SEC(".maps");

/* The slot of a rule about the caller: its number (a family, a
 * capability) with its kind folded in. */
static __always_inline __u32 recent_caller_slot(__u32 kind, __u32 number)
{
	return (number ^ (kind << 3)) & (RECENT_CALLER_SLOTS - 1);
}

#endif
