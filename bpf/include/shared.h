/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the hooks (bpfbox.bpf.c) and the shared functions (shared.bpf.c)
 * both see.
 *
 * Five functions do most of the work of a decision: thread_scopes,
 * rule_masks, emit_event, file_decision for the file hooks that are not
 * on the hot path, and current_decision, the whole of most other hooks. The kernel verifies a program's functions with
 * the program, so while their bodies were in bpfbox.bpf.c the verifier
 * walked them again for each of the 68 programs that call them (and
 * inode_rename's file check four times): most of a first load's time.
 * Now each hook calls a stub (bpfbox.bpf.c), which the verifier checks
 * against its signature only, and bpfbox-load replaces the
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
	/* file_decision's question: the file (a number to it), and its answer:
	 * the event to make (0: none) about event_access, whether that
	 * event names something other than the file, so bpf_d_path is not
	 * asked for the file's path, and whether the answer came from the
	 * file's own rules, left in the query's acc for the caller to
	 * remember (never for memory, bpffs or another process's /proc
	 * entry, nor from the stub: what is remembered is answered later
	 * without asking). */
	struct inode *inode;
	__u32 event, event_access;
	int pathless;
	int file_rules;
};

/* ---- Decisions ---------------------------------------------------------- */

static __always_inline __u64 pair(__u32 high, __u32 low)
{
	return ((__u64)high << 32) | low;
}

/* The innermost function scope the thread is in (0: none), which an event
 * names. */
static __always_inline __u32 innermost_scope_of(const struct query *q)
{
	__u32 scope = 0;
	for (int i = 1; i < NSCOPES; i++)
		if (q->scopes[i] != BPFBOX_NO_SCOPE)
			scope = q->scopes[i];
	return scope;
}

/* What an inode is to the file rules. */
enum object_class {
	CLASS_FILE,       /* a file in a directory tree: the rules name it */
	CLASS_NOT_A_FILE, /* a pipe, socket, anonymous inode, namespace, pidfd */
	CLASS_MEMORY,     /* a memfd, SysV shm segment or shared anonymous map */
};

/* An inode's class from its mode and its file system's (magic 0: it has
 * none). By file system magic, not by SB_KERNMOUNT: tracefs, debugfs and
 * securityfs have internal mounts too, and they are files to mediate.
 * Numbers in, so that a hook reading fields directly and file_decision
 * reading them through probes share it. */
static __always_inline int file_class(__u32 mode, unsigned long magic, unsigned long s_flags)
{
	if ((mode & S_IFMT) == S_IFSOCK || !magic)
		return CLASS_NOT_A_FILE;
	switch (magic) {
	case PIPEFS_MAGIC:
	case SOCKFS_MAGIC:
	case ANON_INODE_FS_MAGIC:
	case NSFS_MAGIC:
	case PID_FS_MAGIC:
	case AIO_RING_MAGIC:
	case DMA_BUF_MAGIC:
		return CLASS_NOT_A_FILE;
	case TMPFS_MAGIC:
	case HUGETLBFS_MAGIC:
	case SECRETMEM_MAGIC:
		/* the internal mount only: a mounted tmpfs holds files */
		if (s_flags & SB_KERNMOUNT)
			return CLASS_MEMORY;
	}
	return CLASS_FILE;
}

/* bpfbox's own protection's test: the profile grants all of `access`
 * and denies none of it (taint, audit and complain mode play no part). */
static __always_inline int protection_granted(const struct bpfbox_masks *m, __u32 access)
{
	return (m->allow & access) == access && !(m->deny & access);
}

/* One access decided from the masks of its rules: the verdict into
 * *verdict, and the event to make (0: none). At most one event: a denial
 * (or, in complain mode, a would-be denial), else a taint, else an audit.
 * A taint rule that fires taints the process. */
static __always_inline __u32 judge_access(struct bpfbox_proc *proc, __u32 profile_flags,
					  const struct bpfbox_masks *m, __u32 access, __u32 op, int *verdict)
{
	int complain = profile_flags & BPFBOX_PROFILE_COMPLAIN;
	__u32 event = 0;
	int quiet = 0;
	*verdict = 0;
	if (m->deny & access) {
		event = complain ? BPFBOX_DECISION_COMPLAIN : BPFBOX_DECISION_DENY;
		/* #[quiet]: known noise. Logged still when a loud #[deny] rule
		 * names it too, or when part of the access is refused for want
		 * of an allow rule. */
		quiet = !(m->logged & access) && !(access & ~(m->deny | m->allow));
	} else if (!proc->tainted) {
		if (m->taint & access) {
			proc->tainted = 1;
			event = BPFBOX_DECISION_TAINT;
		}
	} else {
		__u32 allowed = m->allow;
		/* Reading or writing a file already open: the access that
		 * tainted the process stays usable on the file it opened. */
		if (op == BPFBOX_OP_PERMISSION)
			allowed |= m->taint;
		if (access & ~allowed)
			event = complain ? BPFBOX_DECISION_COMPLAIN : BPFBOX_DECISION_DENY;
	}
	if (event == BPFBOX_DECISION_DENY)
		*verdict = -EPERM;
	if (!event && (m->audit & access))
		event = BPFBOX_DECISION_AUDIT;
	return quiet ? 0 : event;
}

/* What remembered masks let `op` do with no event, as decide() would for a
 * tainted process: allowed (reading or writing an open file, the taint
 * rules too), not denied, not audited. */
static __always_inline __u32 granted_by(struct bpfbox_masks *m, __u32 op)
{
	__u32 allowed = m->allow;
	if (op == BPFBOX_OP_PERMISSION)
		allowed |= m->taint;
	return allowed & ~(m->deny | m->audit);
}

/* Which of a query's numbers make its key in the rules map (the kind's
 * own, or one number, or none) and the kind when the table fixes it. */
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

/* Claims this CPU's scratch buffers for one event: 1 if claimed, 0 if
 * another event holds them. */
static __always_inline int try_claim_scratch(void)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&emit_busy, &zero);
	return busy && __sync_lock_test_and_set(busy, 1) == 0;
}

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

/* A file access decided in full, but for remembering it (the hot hooks do
 * that themselves): o->inode, o->dentry and o->op ask, o->walk and
 * o->entry are for the event. Files that are not files (pipes, sockets)
 * are allowed; memory is a sys(memfd_exec) question when run; bpffs is
 * refused changes; /proc/PID of another process is a proc question about
 * it; any other file is asked of the file rules in the thread's scopes
 * (q). Returns the verdict. The event, if any, is the caller's to make
 * (o->event, o->event_access, o->pathless), where bpf_d_path may be given
 * the hook's own path. A taint rule that fires taints proc. */
int file_decision(struct query *q, struct bpfbox_proc *proc, struct object *o, __u32 access);

/* How current_decision judges. */
enum judged_by {
	BY_RULES,  /* judge_access: taint, audit, complain mode */
	PROTECTED, /* bpfbox's own protection: refused to every confined
		    * process, tainted or not, in complain mode too, unless
		    * its profile grants the rule */
};

/* A decision about the calling process that needs nothing of the hook but
 * numbers: a cap or sys rule (table TABLE_PRIV: o->kind, o->number) or a
 * net rule (TABLE_NET: o->family), for o->op and `access`, judged `how`
 * (enum judged_by). The whole of it: the process's state (0 when it is
 * not confined), the thread's scopes, the rules' masks, the verdict, a
 * taint, and the event (none when o->quiet). Returns the verdict (0 or
 * -EPERM). Most hooks are only this, and as one shared body it is
 * verified once instead of once per hook. */
int current_decision(struct object *o, __u32 table, __u32 access, __u32 how);

#endif /* BPFBOX_SHARED_H */
