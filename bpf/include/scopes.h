/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process, thread and function-scope state, shared by bpfbox.bpf.c (LSM
 * hooks, uprobes) and kfunc.bpf.c (fentry/fexit), which reuse each other's
 * pinned maps.
 */
#ifndef BPFBOX_SCOPES_H
#define BPFBOX_SCOPES_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "bpfbox.h"

/* Not preallocated: 65,536 entries made and cleared at every first load
 * were 6.3 MB and 0.013 billion instructions of it. Room is still claimed
 * before an insert (claim_proc), so the map is never full, but an insert
 * can fail for want of memory: the process then keeps its confined bit
 * with no entry, lost, and is killed at the first operation decided for it
 * (lost_process), as an exec that cannot be tracked is. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, struct bpfbox_proc);
} procs SEC(".maps");

/* Not preallocated, unlike procs: an insert that fails (no room, no
 * memory) fails closed (the thread's scope is lost, and everything inside
 * it denied), and a first load does not write 64k entries. An entry is
 * made at a thread's first scope and kept until it exits or execs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPFBOX_MAX_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid */
	__type(value, struct bpfbox_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfbox_stats);
} stats SEC(".maps");

/* One bit per process id (PID_MAX_LIMIT is 2^22): set before a procs entry
 * is added, cleared after it is removed, so a clear bit means "not
 * confined" for sure. Most processes are not confined, and for them every
 * hook returns after this array lookup, which the verifier inlines, instead
 * of a hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBOX_PID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} confined SEC(".maps");

/* One bit per thread id: set while the thread is inside a function scope
 * (before the scope is recorded in threads), cleared when it leaves its
 * last one or exits. A clear bit means "in no scope" for sure, so a
 * decision skips the threads lookup and may use remembered rules. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPFBOX_PID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} scoped SEC(".maps");

/*
 * The epoch of the per-CPU `recent` and `recent_caller` entries
 * (bpf/include/maps.h): a count bumped by whatever could make an entry
 * answer other than the rules would now, so that an entry is used only in
 * the epoch it was written in. The entry's tag is then the thread's task
 * address and the epoch, with no kernel field to load:
 *  - the rules change: the loader bumps it after the generation (from user
 *    space, through the map's memory: BPF_F_MMAPABLE);
 *  - a task is freed (its address may be handed to a new task), or execs
 *    (its profile may change): task_free, bprm_committed_creds;
 *  - a thread enters a function scope: scope_enter (an entry is written
 *    only outside scopes, so the thread's own entries are all older);
 *  - a file is linked, unlinked, renamed or a directory removed
 *    (forget_file): the memo an entry copies would have been deleted.
 * 64 bits: a confined process can bump it at will (by calling a scoped
 * function), and must not be able to wrap it back onto an old entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} recent_epoch SEC(".maps");

/* A new epoch. A fetching atomic, a full barrier on every architecture
 * (the plain add is none on arm64): what changed before it is seen by
 * whoever reads the new epoch. */
static __always_inline void new_recent_epoch(void)
{
	__u32 zero = 0;
	__u64 *epoch = bpf_map_lookup_elem(&recent_epoch, &zero);
	if (!epoch)
		return;
	__u64 was = __sync_fetch_and_add(epoch, 1);
	barrier_var(was);
}

/* The per-id bitmaps (confined, scoped, forking: one bit per process or
 * thread id, BPFBOX_PID_WORDS words): the word that holds id's bit (an
 * array lookup the verifier inlines), and the bit. */
static __always_inline __u64 *id_word(void *bitmap, __u32 id)
{
	__u32 word = id >> 6;
	return bpf_map_lookup_elem(bitmap, &word);
}

static __always_inline __u64 id_bit(__u32 id)
{
	return 1ULL << (id & 63);
}

static __always_inline int in_scope(__u32 tid)
{
	__u64 *bits = id_word(&scoped, tid);
	return !bits || (*bits & id_bit(tid));
}

/* Sets (`on`) or clears id's bit in one of the per-id bitmaps. */
static __always_inline void set_id_bit(void *bitmap, __u32 id, int on)
{
	__u64 *bits = id_word(bitmap, id);
	if (!bits)
		return;
	if (on)
		__sync_fetch_and_or(bits, id_bit(id));
	else
		__sync_fetch_and_and(bits, ~id_bit(id));
}

static __always_inline void mark_scoped(__u32 tid, int inside)
{
	set_id_bit(&scoped, tid, inside);
}

static __always_inline int maybe_confined(__u32 tgid)
{
	__u64 *bits = id_word(&confined, tgid);
	return !bits || (*bits & id_bit(tgid));
}

static __always_inline struct bpfbox_stats *stats_entry(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline void release_proc_claim(void)
{
	struct bpfbox_stats *st = stats_entry();
	if (st)
		__sync_fetch_and_add(&st->procs_claimed, -1);
}

/* Stores a process's state, using a claim made with claim_proc() when the
 * entry is new and giving it back when the process had an entry already.
 * Returns non-zero when the entry could not be stored. */
static __always_inline long add_proc(__u32 tgid, struct bpfbox_proc *proc)
{
	set_id_bit(&confined, tgid, 1);
	long err = bpf_map_update_elem(&procs, &tgid, proc, BPF_NOEXIST);
	if (err == 0)
		return 0;
	release_proc_claim();
	return bpf_map_update_elem(&procs, &tgid, proc, BPF_EXIST);
}

/* A process that must be confined but whose state could not be stored
 * (no memory for its entry, no room claimed, or a lost parent): its bit
 * with no entry, which the first decision about it meets (lost_process). */
static __always_inline void mark_lost(__u32 tgid)
{
	set_id_bit(&confined, tgid, 1);
	struct bpfbox_stats *st = stats_entry();
	if (st)
		__sync_fetch_and_add(&st->procs_lost, 1);
}

/* What a decision about a lost process does: it does not run on
 * unconfined, but is killed at the first operation decided for it, as an exec
 * that cannot be tracked is, and the operation is denied. */
static __always_inline int lost_process(void)
{
	bpf_send_signal(SIGKILL);
	return -EPERM;
}

/* A process's state goes with its last thread; its bit too, whether or not
 * it had an entry (a lost process has none). */
static __always_inline void remove_proc(__u32 tgid)
{
	if (bpf_map_delete_elem(&procs, &tgid) == 0)
		release_proc_claim();
	set_id_bit(&confined, tgid, 0);
}

static __always_inline void count_scope_dropped(void)
{
	struct bpfbox_stats *st = stats_entry();
	if (st)
		__sync_fetch_and_add(&st->scopes_dropped, 1);
}

/* A direct load through the task's BTF pointer: a probe read would cost a
 * helper call and a fault-safe copy. */
static __always_inline __u64 current_start_time(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return task->start_time;
}

/* What a thread is inside, told by its scoped bit and its threads entry
 * (the one under its tid, into *tp; `start` its start time): one rule for
 * the decisions (thread_scopes) and for a forked child, which inherits it.
 * The bit is asked first: most threads are in no scope, and its inlined
 * array lookup spares them the hash lookup (about 140 instructions a
 * decision). */
enum scope_standing {
	IN_NO_SCOPE,  /* bit clear, or set by an earlier thread with this tid */
	IN_RECORDED,  /* the scopes in *tp */
	IN_LOST,      /* in a scope that could not be recorded: deny all */
};

static __always_inline int scope_standing(__u32 tid, __u64 start, struct bpfbox_thread **tp)
{
	*tp = 0;
	if (!in_scope(tid))
		return IN_NO_SCOPE;
	struct bpfbox_thread *t = bpf_map_lookup_elem(&threads, &tid);
	*tp = t;
	if (t && t->start_time != start)
		return IN_NO_SCOPE;
	/* No entry (scope_enter or the fork that copies one found threads
	 * full), or scopes it could not record. */
	if (!t || t->dropped)
		return IN_LOST;
	return IN_RECORDED;
}

/* The calling thread's scope state, created (or reset, if it belonged to an
 * earlier thread with the same tid) when asked. Never created for a thread
 * marked inside a scope with no entry at all (there was no room when it
 * entered one, or its parent forked it from such a scope): it stays lost
 * (thread_scopes) until it exits or execs, since a fresh entry would hold
 * the next scope only and forget the one that could not be recorded, a
 * #[deny] perhaps. */
static __always_inline struct bpfbox_thread *thread_state(__u32 tid, int create)
{
	__u64 start = current_start_time();
	struct bpfbox_thread *t = bpf_map_lookup_elem(&threads, &tid);
	if (t && t->start_time == start)
		return t;
	if (!create || (!t && in_scope(tid)))
		return 0;
	struct bpfbox_thread fresh = {.start_time = start};
	if (bpf_map_update_elem(&threads, &tid, &fresh, BPF_ANY))
		return 0;
	return bpf_map_lookup_elem(&threads, &tid);
}

/* Any profile: uprobes only fire in the profiled binary's own code. */
#define ANY_SLOT 0xffffffffu

/* Entering a scoped function: count it, so recursion and nesting work.
 * `slot` limits the scope to processes of one profile (a kernel function
 * runs in every process). */
static __always_inline void scope_enter(__u32 scope, __u32 slot)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	/* Not confined: nothing to scope. The bitmap's inlined lookup, not a
	 * lookup in procs: it is exact but for a moment at exec and exit, and
	 * a scope recorded for a thread that is not confined is never read. */
	if (!maybe_confined(tgid))
		return;
	if (slot != ANY_SLOT) {
		struct bpfbox_proc *proc = bpf_map_lookup_elem(&procs, &tgid);
		if (!proc || proc->slot != slot)
			return;
	}
	struct bpfbox_thread *t = thread_state(tid, 1);
	mark_scoped(tid, 1);
	/* The thread's recent entries, all written before this, go stale. */
	new_recent_epoch();
	if (!t) {
		count_scope_dropped();
		return;
	}
	__u32 count = t->count;
	for (int i = 0; i < BPFBOX_MAX_ACTIVE_SCOPES; i++) {
		if (i >= count)
			break;
		if (t->active[i].scope == scope) {
			t->active[i].depth++;
			return;
		}
	}
	if (count >= BPFBOX_MAX_ACTIVE_SCOPES) {
		/* Fail closed: while a dropped scope is active, its rules are
		 * unknown (a #[deny] perhaps), and the thread is denied
		 * everything (thread_scopes). */
		t->dropped++;
		count_scope_dropped();
		return;
	}
	/* Constant indices only: older verifiers lose track of a pointer into
	 * the map value indexed by a variable. */
	for (int i = 0; i < BPFBOX_MAX_ACTIVE_SCOPES; i++) {
		if (i != count)
			continue;
		t->active[i].scope = scope;
		t->active[i].depth = 1;
		t->count = count + 1;
		break;
	}
}

/* Returning from a scoped function: the scope ends with its outermost call. */
static __always_inline void scope_exit(__u32 scope)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	/* In no scope (its bit is set before a scope is recorded): nothing to
	 * end, and no dropped entry either, which is only counted in a full
	 * set of scopes. */
	if (!in_scope(tid))
		return;
	struct bpfbox_thread *t = thread_state(tid, 0);
	if (!t)
		return;
	__u32 count = t->count;
	for (int i = 0; i < BPFBOX_MAX_ACTIVE_SCOPES; i++) {
		if (i >= count)
			break;
		if (t->active[i].scope != scope)
			continue;
		if (t->active[i].depth > 1) {
			t->active[i].depth--;
			return;
		}
		/* Remove entry i: move the last one into its place. */
		__u32 last = count - 1;
		for (int j = 0; j < BPFBOX_MAX_ACTIVE_SCOPES; j++) {
			if (j != last)
				continue;
			t->active[i] = t->active[j];
			t->active[j].scope = 0;
			t->active[j].depth = 0;
		}
		t->count = last;
		if (last == 0) {
			/* Scopes entered after the first eight are inside
			 * them and have returned too, unless a longjmp skipped
			 * their returns: no scope is active now. */
			t->dropped = 0;
			mark_scoped(tid, 0);
		}
		return;
	}
	/* An exit without its entry (the scope was dropped, or the probe was
	 * attached while the thread was inside): only undo a dropped entry. */
	if (t->dropped)
		t->dropped--;
}

#endif
