/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the hooks (bpfbox.bpf.c) and the shared functions (shared.bpf.c)
 * both see.
 *
 * Three functions do most of the work of a decision: thread_scopes,
 * rule_masks and emit_event. The kernel verifies a program's functions with
 * the program, so while their bodies were in bpfbox.bpf.c the verifier
 * walked them again for each of the 68 programs that call them: most of a
 * first load's time. Now each hook calls a stub (bpfbox.bpf.c), which the
 * verifier checks against its signature only, and bpfbox-load replaces the
 * stub, in every program that calls it, with the one program of
 * shared.bpf.c that is its body (a BPF_PROG_TYPE_EXT program, "freplace"),
 * before any hook is attached: each body is verified once. At run time the
 * call costs one jump more. The declarations below are the one signature
 * both sides are compiled against; the kernel checks the same match.
 */
#ifndef BPFBOX_SHARED_H
#define BPFBOX_SHARED_H

#include "maps.h"

#define NSCOPES (1 + BPFBOX_MAX_ACTIVE_SCOPES)

/* The part of a process's state rule_masks reads and writes: numbers only.
 * The verifier forgets what the pointers were in memory a global function
 * was given, so the state's pointers stay out of it. */
struct query {
	__u32 version, flags; /* the profile's */
	__u32 scopes[NSCOPES]; /* 0 (always) and the thread's active scopes */
	__u32 count;           /* of scopes in use */
	__u32 lost;            /* inside a scope that could not be recorded */
	__u64 dentry; /* the question's dentry (0: no "**" walk) */
	struct bpfbox_masks acc; /* the answer */
};

static __always_inline void add_masks(struct bpfbox_masks *acc, const struct bpfbox_masks *m)
{
	if (!m)
		return;
	acc->allow |= m->allow;
	acc->taint |= m->taint;
	acc->audit |= m->audit;
	acc->deny |= m->deny;
	acc->logged |= m->logged;
}

/* ---- Events ------------------------------------------------------------- */

/* What an event is about. */
struct object {
	__u32 op;
	__u32 kind;
	__u64 dev, ino;
	__u32 family, signal, peer_pid, number;
	int quiet;             /* no event: the kernel only probes (CAP_OPT_NOAUDIT) */
	int d_path;            /* d_path_scratch holds the path (emit) */
	int scratch;           /* emit owns this CPU's scratch buffers */
	struct dentry *dentry; /* for the path in its file system, when there is no path */
	struct path *path;     /* for the full path, in hooks that allow bpf_d_path */
	struct path *walk;     /* for the full path, built by walking (the others) */
	struct dentry *entry;  /* the entry a directory's write is for */
};

/* Which rule map a query reads, and the shape of its key. */
enum rule_table {
	TABLE_FILE,
	TABLE_TASK,
	TABLE_PRIV,
	TABLE_NET,
};

/* bpf_d_path's result, for the hooks that allow it: it needs the hook's own
 * pointer, so the hook calls it and emit_event copies it from here. */
struct d_path_scratch {
	char path[BPFBOX_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct d_path_scratch);
} d_path_scratch SEC(".maps");

/* Whether an event is being made on this CPU: the scratch buffers above are
 * per CPU, and a hook can be preempted (migration stays off) on a kernel
 * with preemptible RCU, where another task's event on the same CPU would
 * write over the paths and frames of the first. The later event is made
 * without them instead (no path, no exe, no frames) rather than with
 * another's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} emit_busy SEC(".maps");

static __always_inline void release_scratch(void)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&emit_busy, &zero);
	if (busy)
		*busy = 0;
}

/* ---- The shared functions ------------------------------------------------ */

/* The calling thread's function scopes into q: scopes[0] = 0 (rules that
 * hold everywhere), then those it is inside, in the order it entered
 * them; q->count is how many of q->scopes are in use. q->lost when the
 * thread is inside a scope that could not be recorded (a ninth one at
 * once, or no room in threads): its rules are unknown, a #[deny] among
 * them perhaps, so everything it does is denied (rule_masks) until it
 * returns from that scope. */
int thread_scopes(struct query *q, __u32 tid);

/* The masks of every rule for one object in the thread's scopes (q), into
 * q->acc: its own rules, one lookup per scope, and for a file with its
 * dentry, the "**" rules of the directories above it. One function for
 * every kind of rule. The object, by table:
 *   TABLE_FILE: a = dev, b = ino (0: a file not created yet, only "**")
 *   TABLE_TASK: kind, a = the executable's dev, b = its ino
 *   TABLE_PRIV: kind, a = the capability or sys number
 *   TABLE_NET:  a = the address family */
int rule_masks(struct query *q, __u32 table, __u32 kind, __u64 a, __u64 b);

/* One event into the ring buffer, with the paths and user frames it
 * needs. It takes numbers and the object's memory, where the kernel
 * pointers are numbers too, read through probes (the arguments a replaced
 * function may take). Pairs of 32-bit values come packed, high and low:
 * five arguments at most. It releases this CPU's scratch buffers when
 * o->scratch says the caller claimed them. */
int emit_event(struct object *o, __u64 slot_serial, __u64 version_scope, __u64 access_decision);

#endif /* BPFBOX_SHARED_H */
