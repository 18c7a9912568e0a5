// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfbox's kernel side: BPF LSM programs that mediate file, exec, mmap,
 * signal, ptrace, procfs and socket operations of confined processes, their
 * capabilities and privileged operations (mounts, modules, bpf, IPC, keys,
 * ...) and keep them from switching bpfbox off, and
 * tracepoints that follow processes through fork, exec and exit. Function
 * scopes are kept by uprobe.bpf.c and kfunc.bpf.c.
 *
 * The decision logic is spec.md's "What enforcement does". Every hook starts
 * with one bit of the confined bitmap (an array lookup the verifier
 * inlines), and returns at once for a process that is not confined. The file
 * hooks on the hot path (open, read and write, mmap, stat) then try the
 * last file rule remembered on this CPU (recent: an array lookup and a few
 * comparisons), then the rules remembered on the file's inode (file_memo:
 * one local-storage lookup). A full decision looks the process up, then
 * its rules in rule_masks, and makes its event in emit_event: functions
 * every hook shares, verified once (shared.h).
 */
#include "shared.h"
#include "walkable.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader: where inode_setattr's dentry argument is (6.1: first;
 * later kernels put a struct mnt_idmap * before it). */
const volatile __u32 setattr_dentry_arg = 0;

/* Set by the loader (--max-procs): at most BPFBOX_MAX_PROCS, the size of procs. */
const volatile __u32 max_procs = BPFBOX_MAX_PROCS;

/* Room in procs is claimed before an entry is added (by the fork that will
 * add it, or the exec), so an insert never finds the map full: a process
 * that cannot be tracked is refused before it exists. Returns 1 when room
 * was claimed. */
static __always_inline int claim_proc(void)
{
	struct bpfbox_stats *st = stats_entry();
	if (!st)
		return 0;
	if (__sync_fetch_and_add(&st->procs_claimed, 1) >= max_procs) {
		__sync_fetch_and_add(&st->procs_claimed, -1);
		return 0;
	}
	return 1;
}

/* A previous BPF LSM program's verdict on the same hook, passed on. Newer
 * verifiers only accept returns in [-MAX_ERRNO, 0], so clamp it. On 6.1 to
 * 6.18 the trampoline stops at the first program that denies, so a later
 * one, bpfbox's included, runs only after zeros and cannot undo a denial
 * (the VM suite's "another BPF LSM" cases, which pass with or without this;
 * inode_setattr, the xattr hooks and bpf, whose argument counts vary, do
 * not read it). This is defence should that change. */
static __always_inline int prior(int ret)
{
	return (ret < -4095 || ret > 0) ? -EPERM : ret;
}

/* ---- The calling process ------------------------------------------------ */

struct state {
	struct bpfbox_proc *proc;
	struct bpfbox_profile *profile;
	__u32 tgid, tid;
	struct query q;
};

/* The caller's pid_tgid when it may be confined, else 0: the first thing a
 * hot hook asks, so that a process without a profile pays for nothing else. */
static __always_inline __u64 maybe_confined_caller(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	return maybe_confined(id >> 32) ? id : 0;
}

/* ---- The shared functions' stubs ---------------------------------------- */

/* thread_scopes, rule_masks and emit_event are shared.bpf.c's (shared.h).
 * Here they are stubs, which bpfbox-load replaces in every program before
 * any hook is attached. One left in place (its link removed) fails closed:
 * the thread is in a scope whose rules are unknown, every rule denies, and
 * no event is made. The inline assembly, given every argument, keeps the
 * compiler from assuming what a stub does with them, the memory and its
 * result (that it only writes *q, say, and so that stores into *q no body
 * would read are dead): the callers must be compiled for the real bodies. */
__noinline int thread_scopes(struct query *q, __u32 tid)
{
	int unknown;
	if (q) {
		q->count = 1;
		q->lost = 1;
		for (int i = 0; i < NSCOPES; i++)
			q->scopes[i] = i ? BPFBOX_NO_SCOPE : BPFBOX_ALWAYS_SCOPE;
	}
	asm volatile("%0 = 0" : "=r"(unknown) : "r"(q), "r"(tid) : "memory");
	return unknown;
}

__noinline int rule_masks(struct query *q, __u32 table, __u32 kind, __u64 a, __u64 b)
{
	int unknown;
	if (q) {
		__builtin_memset(&q->acc, 0, sizeof(q->acc));
		q->acc.deny = ~0u;
		q->acc.logged = ~0u;
	}
	asm volatile("%0 = 0" : "=r"(unknown) : "r"(q), "r"(table), "r"(kind), "r"(a), "r"(b) : "memory");
	return unknown;
}

__noinline int emit_event(struct object *o, __u64 slot_serial, __u64 version_scope, __u64 access_decision)
{
	int unknown;
	if (o && o->scratch)
		release_scratch();
	asm volatile("%0 = 0"
		     : "=r"(unknown)
		     : "r"(o), "r"(slot_serial), "r"(version_scope), "r"(access_decision)
		     : "memory");
	return unknown;
}

__noinline int file_decision(struct query *q, struct bpfbox_proc *proc, struct object *o, __u32 access)
{
	int denied;
	if (o) {
		o->event = 0;
		o->pathless = 1;
		o->file_rules = 0;
	}
	/* -EPERM, which the compiler must not see */
	asm volatile("%0 = -1" : "=r"(denied) : "r"(q), "r"(proc), "r"(o), "r"(access) : "memory");
	return denied;
}

__noinline int current_decision(struct object *o, __u32 table, __u32 access, __u32 how)
{
	int denied;
	/* -EPERM, which the compiler must not see */
	asm volatile("%0 = -1" : "=r"(denied) : "r"(o), "r"(table), "r"(access), "r"(how) : "memory");
	return denied;
}

/* The caller's state in procs, `s->proc`: 1; 0 when the caller is not
 * confined; -EPERM when it is lost (its bit set and no entry: procs,
 * scopes.h), which the hook returns, the process killed. The first
 * half of get_state: all that a remembered answer for another process of
 * the profile needs (check_hot_file). */
static __always_inline int get_proc(struct state *s)
{
	__u64 id = bpf_get_current_pid_tgid();
	s->tgid = id >> 32;
	s->tid = (__u32)id;
	if (!maybe_confined(s->tgid))
		return 0;
	s->proc = bpf_map_lookup_elem(&procs, &s->tgid);
	if (!s->proc)
		return lost_process();
	/* Direct loads through BTF pointers, here and in the hooks: no helper
	 * call per field, which is most of the cost of a check. */
	/* Newer verifiers mark some pointer fields "or NULL": every pointer
	 * loaded from a field is checked before use. */
	struct task_struct *task = walkable(bpf_get_current_task_btf(), task_struct);
	struct task_struct *leader = task->group_leader;
	return leader && proc_is_callers(s->proc, leader->start_time);
}

/* The second half: its profile, in force, and the thread's scopes. */
static __always_inline int get_profile(struct state *s)
{
	s->profile = profile_in_force(s->proc);
	if (!s->profile)
		return 0;
	s->q.version = s->profile->version;
	s->q.flags = s->profile->flags;
	thread_scopes(&s->q, s->tid);
	return 1;
}

/* Fills `s` for a confined process: 1; 0 when the caller is not confined
 * (or its profile is no longer in force); -EPERM when it is lost. A hook
 * returns the verdict no_state() makes of anything but 1. */
static __always_inline int get_state(struct state *s)
{
	int standing = get_proc(s);
	return standing > 0 ? get_profile(s) : standing;
}

/* What a hook returns when get_state (or get_proc) gave no state: allow the
 * unconfined, deny the lost (killed already). */
static __always_inline int no_state(int standing)
{
	return standing < 0 ? -EPERM : 0;
}


/* ---- Events ------------------------------------------------------------- */

/* Claims this CPU's scratch buffers for one event: 1 if claimed, 0 if
 * another event holds them. A global function: each hook's verification
 * sees one call returning a number, not the map and the exchange. */
__noinline int claim_scratch(void)
{
	return try_claim_scratch();
}

/* The event of a decision: the path from bpf_d_path where the hook allows
 * it, the rest in emit_event. */
static __always_inline void emit(struct state *s, struct object *o, __u32 access, __u32 decision)
{
	if (o->quiet)
		return;
	o->d_path = 0;
	o->scratch = claim_scratch();
	if (o->scratch && o->path) {
		__u32 zero = 0;
		struct d_path_scratch *sc = bpf_map_lookup_elem(&d_path_scratch, &zero);
		if (sc && bpf_d_path(o->path, sc->path, sizeof(sc->path)) >= 0)
			o->d_path = 1;
	}
	/* emit_event releases the buffers when it claimed them */
	emit_event(o, pair(s->proc->slot, s->profile->serial), pair(s->profile->version, innermost_scope_of(&s->q)),
		   pair(access, decision));
}

/* ---- The decision ------------------------------------------------------- */

/* One decision (judge_access, shared.h), and at most one event for it. One
 * call of emit per decision keeps each hook small for the verifier. */
static __always_inline int decide(struct state *s, struct bpfbox_masks *m, __u32 access, struct object *o)
{
	int verdict;
	__u32 event = judge_access(s->proc, s->q.flags, m, access, o->op, &verdict);
	if (event)
		emit(s, o, access, event);
	return verdict;
}

/* ---- Remembered file rules ---------------------------------------------- */

/* The memo, its tag and the file_memo map: bpf/include/maps.h. */

/* The kernel's rename_lock (a seqlock_t; its sequence, the first member of
 * its first member, is at offset 0), found by find_rename_lock when the
 * programs are loaded; 0 when the kernel does not name it. */
__u64 rename_lock_address = 0;

/* Run once by bpfbox-load after the load (BPF_PROG_TEST_RUN): a syscall
 * program may look a kernel symbol up, where libbpf would read all of
 * /proc/kallsyms (0.4 billion instructions) to resolve a ksym. */
SEC("syscall")
int find_rename_lock(void *ctx)
{
	__u64 address = 0;
	if (!bpf_kallsyms_lookup_name("rename_lock", sizeof("rename_lock"), 0, &address))
		rename_lock_address = address;
	return 0;
}

/* The rename_lock sequence into *seq; 0 when it cannot be read or a rename
 * is under way (odd). Every d_move (a rename, anywhere) adds 2. */
static __always_inline int rename_sequence(__u32 *seq)
{
	__u64 address = rename_lock_address;
	if (!address || bpf_probe_read_kernel(seq, sizeof(*seq), (void *)address))
		return 0;
	return !(*seq & 1);
}

/* The rest of the tag, what a memo must match: the process, its exec and
 * the rules' generation; 0 when nothing may be recalled or remembered for
 * the thread (it is inside a function scope). The generation is read
 * after the epoch (the loader bumps them in the other order) and before
 * the process's state and rules. */
static __always_inline int recall_process(struct recall *r, __u32 tgid, __u32 tid)
{
	if (in_scope(tid))
		return 0;
	__u32 zero = 0;
	struct bpfbox_meta *m = bpf_map_lookup_elem(&meta, &zero);
	if (!m)
		return 0;
	r->generation = m->generation;
	struct task_struct *task = walkable(bpf_get_current_task_btf(), task_struct);
	struct task_struct *leader = task->group_leader;
	if (!leader)
		return 0;
	r->exec_id = task->self_exec_id;
	r->tgid = tgid;
	r->start_time = leader->start_time;
	return 1;
}

/* The dentry of a hot hook's file: the one the hook loaded already
 * (`loaded`), else `path`'s, walked through walkable(): a direct load of
 * a pointer field makes 6.12's verifier search its BTF, in every hot
 * hook. */
static __always_inline struct dentry *hot_dentry(struct dentry *loaded, struct path *path)
{
	return loaded ? loaded : walkable(path, path)->dentry;
}

/* 1 when this CPU's recent entry for the inode's slot is for this thread
 * and file under the current rules and grants `access` with no event; 0
 * when file_memo (or a full decision) must answer. `dentry` is the file's
 * when the hook has it loaded already, else 0 (it is path's). */
static __always_inline int recent_allows(struct recall *r, struct inode *inode, struct dentry *dentry,
					 struct path *path, __u32 op, __u32 access)
{
	__u32 slot = recent_slot(inode);
	struct recent *c = bpf_map_lookup_elem(&recent, &slot);
	if (!c)
		return 0;
	__u64 before = read_once_ordered(&c->seq);
	if (before & 1)
		return 0;
	/* Direct loads, not through walkable(): this is the path every
	 * remembered access takes, where walkable's call would cost the
	 * caller's registers (20 to 30 instructions per hook on 6.12, whose
	 * verifier searches its BTF for each such load instead: 0.05 billion
	 * instructions at a first load). The inode's number and file system
	 * tell a freed inode's memory given to another file; a new epoch at
	 * every inode free that had a memo (lsm/inode_free_security) would
	 * spare these loads, but its trampoline cost every inode freed on the
	 * machine about 440 instructions (two per connection for a server:
	 * nginx passive 1.012x -> 1.016x on 6.1). */
	int hit = c->task == r->task && c->epoch == r->epoch && c->inode == (unsigned long)inode &&
		  c->ino == inode->i_ino && c->sb == (unsigned long)inode->i_sb;
	__u32 granted = op == BPFBOX_OP_PERMISSION ? c->granted[1] : c->granted[0];
	__u32 subtrees = c->subtrees, rename_seq = c->rename_seq;
	__u64 place = c->dentry;
	if (read_once_ordered(&c->seq) != before || !hit)
		return 0;
	if (subtrees) {
		/* Walked here, for the profiles with "**" rules only. */
		__u32 now;
		if (place != (unsigned long)hot_dentry(dentry, path) || !rename_sequence(&now) || now != rename_seq)
			return 0;
	}
	return !(access & ~granted);
}

/* A file whose rules are kept (keep()), in numbers: a global function
 * takes no kernel pointer. */
struct kept_file {
	__u64 inode, ino, sb, dentry;
	/* For a profile with "**" rules: where in the tree (memo_slot). */
	__u32 subtrees, rename_seq;
	/* The profile whose rules these are (struct bpfbox_proc). */
	__u32 slot, serial;
};

/* The file a hot hook keeps rules for, at `subtrees`, `rename_seq` (see
 * memo_slot), of `proc`'s profile (0: none, for a note alone). Made where
 * they are kept, not before: an exec answered by its memo keeps nothing.
 * Through walkable(), off the hit path: on 6.12 a direct load of a
 * pointer field makes the verifier search its BTF. */
static __always_inline void kept_file_of(struct kept_file *f, struct inode *inode, struct dentry *dentry,
					 __u32 subtrees, __u32 rename_seq, struct bpfbox_proc *proc)
{
	struct inode *fields = walkable(inode, inode);
	f->inode = (unsigned long)inode;
	f->ino = fields->i_ino;
	f->sb = (unsigned long)fields->i_sb;
	f->dentry = (unsigned long)dentry;
	f->subtrees = subtrees;
	f->rename_seq = rename_seq;
	f->slot = proc ? proc->slot : 0;
	f->serial = proc ? proc->serial : 0;
}

/* This CPU's recent entry for the file's slot: a copy of what was just
 * remembered on (or recalled from) its memo, under the epoch read before
 * the memo was. */
static __always_inline void note_recent(struct recall *r, struct kept_file *f, struct bpfbox_masks *m)
{
	__u32 slot = recent_slot((void *)f->inode);
	struct recent *c = bpf_map_lookup_elem(&recent, &slot);
	if (!c)
		return;
	/* Another writer on this CPU (a preempted one) may be at it. */
	__u64 seq;
	if (!seq_claim(&c->seq, &seq))
		return;
	c->task = r->task;
	c->epoch = r->epoch;
	c->inode = f->inode;
	c->ino = f->ino;
	c->sb = f->sb;
	c->subtrees = f->subtrees;
	c->dentry = f->dentry;
	c->rename_seq = f->rename_seq;
	c->granted[0] = granted_by(m, BPFBOX_OP_OPEN);
	c->granted[1] = granted_by(m, BPFBOX_OP_PERMISSION);
	seq_release_per_cpu(&c->seq, seq);
}

/* Files whose rules do not depend on the name they are reached by. */
static __always_inline int memorable(struct inode *inode)
{
	return (inode->i_mode & S_IFMT) == S_IFDIR || inode->i_nlink <= 1;
}

/* What a memo said (memo_answers). */
struct recalled {
	/* in: the file's dentry, for a "**" profile's place check; in memory,
	 * since a global function takes no pointer as a number */
	__u64 dentry;
	__u32 subtrees, rename_seq;
	struct bpfbox_masks masks;
};

/* 1 when memo e, remembered under the current rules for the file's
 * current place (v->dentry, for a profile with "**" rules), is the
 * caller's and gives `access` with no event to make, as decide() would for
 * a tainted process: allowed, not denied, not audited; 0 when the access
 * must be decided in full. The caller's: with `proc` 0, remembered last by
 * the calling process (no state looked up); else by the profile of `proc`,
 * a tainted process's state. What it said is in *v. */
static __always_inline int memo_answers(struct memo *e, struct recall *r, struct bpfbox_proc *proc, __u32 op,
					__u32 access, struct recalled *v)
{
	/* A seqlock's reader: what was read counts only if no writer was at
	 * it meanwhile. Without a lock, readers on many CPUs share the memo. */
	__u64 before = read_once_ordered(&e->seq);
	if (before & 1)
		return 0;
	int hit = e->generation == r->generation &&
		  (proc ? e->slot == proc->slot && e->serial == proc->serial
			: e->tgid == r->tgid && e->start_time == r->start_time && e->exec_id == r->exec_id);
	v->subtrees = e->subtrees;
	v->rename_seq = e->rename_seq;
	__u64 place = e->dentry;
	v->masks = e->masks;
	if (read_once_ordered(&e->seq) != before || !hit)
		return 0;
	if (v->subtrees) {
		__u32 now;
		if (place != v->dentry || !rename_sequence(&now) || now != v->rename_seq)
			return 0;
	}
	return !(access & ~granted_by(&v->masks, op));
}

/* memo_answers for another process of the profile: a global function,
 * verified once per program, since this path is taken only at a process's
 * first use of a file (inlined, its branches multiplied the hot hooks'
 * paths: 6.12's verifier took 0.07 billion instructions more at a first
 * load). The calling process's own memo is read inline: a global
 * function's call cost nginx's open 330 instructions more on 6.12. */
__noinline int memo_taken_over(struct memo *e, struct recall *r, struct bpfbox_proc *proc, __u64 op_access,
			       struct recalled *v)
{
	if (!e || !r || !proc || !v)
		return 0;
	return memo_answers(e, r, proc, op_access >> 32, (__u32)op_access, v);
}

/* Where a decision about to be made will be remembered, taken before it is
 * made: the memo of `inode`, created if need be, and for a profile with
 * "**" rules the rename_lock sequence. The order matters. A link, unlink
 * or rename of the file deletes its memo before the change (forget_file):
 * a decision made meanwhile is written into the deleted memo and lost. The
 * name count is read after the memo is taken, so a decision made for a
 * file's one name finds the memo taken after a link that gives it a
 * second name, and is not remembered. The sequence is read before the walk
 * up the directories, so a rename during the walk changes it. */
static __always_inline struct memo *memo_slot(struct memo *e, int subtrees, __u32 *rename_seq)
{
	*rename_seq = 0;
	if (!e || (subtrees && !rename_lock_address))
		return 0;
	if (subtrees && !rename_sequence(rename_seq))
		return 0;
	return e;
}

/* The memo of a file whose rules may be remembered, created if need be: not
 * memory, bpffs (refused changes) or /proc (pid entries are questions about
 * another process), nor a file with more than one name (read after the
 * memo is taken: see memo_slot). inode stays trusted for the lookup. */
static __always_inline struct memo *memo_of(struct inode *inode)
{
	struct inode *fields = walkable(inode, inode);
	struct super_block *sb = fields->i_sb;
	unsigned long magic = sb ? sb->s_magic : 0;
	if (!sb || file_class(fields->i_mode, magic, sb->s_flags) != CLASS_FILE || magic == BPF_FS_MAGIC ||
	    magic == PROC_SUPER_MAGIC)
		return 0;
	struct memo *e = bpf_inode_storage_get(&file_memo, inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return e && memorable(inode) ? e : 0;
}

static __always_inline void remember(struct memo *e, struct recall *r, struct kept_file *f,
				     struct bpfbox_masks *m)
{
	/* The seqlock's writer: one at a time, the count odd while writing. */
	__u64 seq;
	if (!seq_claim(&e->seq, &seq))
		return;
	e->generation = r->generation;
	e->tgid = r->tgid;
	e->start_time = r->start_time;
	e->exec_id = r->exec_id;
	e->slot = f->slot;
	e->serial = f->serial;
	e->subtrees = f->subtrees;
	e->rename_seq = f->rename_seq;
	e->dentry = f->dentry;
	e->masks = *m;
	/* A fetching atomic: the plain atomic add has no barrier on arm64. */
	__sync_val_compare_and_swap(&e->seq, seq + 1, seq + 2);
}

/* The rules `m` found for file f, kept under r's tag: remembered in memo
 * `e` (0 when the memo holds them already) and noted in this CPU's recent
 * entry. A global function, verified once per program: inlined on the
 * three paths that keep (a memo recalled, one taken over, a full
 * decision), it was walked on each of their states: 6.12's first load
 * took 7 ms (0.007 billion instructions) more. */
__noinline int keep(struct memo *e, struct recall *r, struct kept_file *f, struct bpfbox_masks *m)
{
	if (!r || !f || !m)
		return 0;
	if (e)
		remember(e, r, f, m);
	note_recent(r, f, m);
	return 0;
}

/* ---- Files -------------------------------------------------------------- */

/* rule_masks for a file, with the "**" rules above `dentry` when the
 * profile has any. */
static __always_inline void file_rule_masks(struct state *s, __u64 dev, __u64 ino, struct dentry *dentry)
{
	s->q.dentry = (s->q.flags & BPFBOX_PROFILE_SUBTREES) ? (unsigned long)dentry : 0;
	rule_masks(&s->q, TABLE_FILE, 0, dev, ino);
}

static __always_inline struct inode *exe_inode(struct task_struct *task)
{
	task = walkable(task, task_struct);
	struct mm_struct *mm = task->mm;
	struct file *exe = mm ? mm->exe_file : 0;
	return exe ? exe->f_inode : 0;
}

/* The executable a process runs, of a task from a hook's arguments. */
static __always_inline void task_exe(struct task_struct *task, struct object *o)
{
	task = walkable(task, task_struct);
	struct mm_struct *mm = task->mm;
	struct file *exe = mm ? mm->exe_file : 0;
	struct inode *inode = exe ? exe->f_inode : 0;
	struct super_block *sb = inode ? inode->i_sb : 0;
	o->dev = sb ? sb->s_dev : 0;
	o->ino = inode ? inode->i_ino : 0;
	o->peer_pid = task->tgid;
	o->walk = exe ? &exe->f_path : 0;
}

/* o->dev, o->ino: the target's executable; o->peer_pid: the target. */
static __always_inline int check_task(struct state *s, __u32 kind, __u32 access, struct object *o)
{
	o->kind = kind;
	rule_masks(&s->q, TABLE_TASK, kind, o->dev, o->ino);
	return decide(s, &s->q.acc, access, o);
}

/* The masks of a cap or sys rule (kind, number) over the thread's scopes. */
static __always_inline void priv_masks(struct state *s, __u32 kind, __u32 number, struct bpfbox_masks *acc)
{
	rule_masks(&s->q, TABLE_PRIV, kind, number, 0);
	add_masks(acc, &s->q.acc);
}

/* A privileged operation: granted by a cap or sys rule (kind, number) in
 * the profile, decided like any other access (taint, audit, complain). */
static __always_inline int check_priv(struct state *s, __u32 op, __u32 kind, __u32 number, __u32 access, int quiet)
{
	struct object o = {.op = op, .kind = kind, .number = number, .quiet = quiet};
	struct bpfbox_masks acc = {};
	priv_masks(s, kind, number, &acc);
	return decide(s, &acc, access, &o);
}

static __always_inline int check_cap(struct state *s, __u32 op, __u32 cap)
{
	return check_priv(s, op, BPFBOX_RULE_CAP, cap, BPFBOX_CAP_USE, 0);
}

/* The calling process's privileged operation, if it is confined: check_priv
 * for hooks whose arguments do not matter. */
static __always_inline int current_priv(__u32 op, __u32 kind, __u32 number, __u32 access)
{
	if (!maybe_confined_caller())
		return 0;
	struct object o = {.op = op, .kind = kind, .number = number};
	return current_decision(&o, TABLE_PRIV, access, BY_RULES) ? -EPERM : 0;
}

/* bpfbox's own protection: refused to every confined process, tainted or
 * not, in complain mode too, unless `grant` is set and the profile grants
 * the cap or sys rule o->kind, o->number. */
static __always_inline int protect(struct state *s, struct object *o, __u32 access, int grant)
{
	if (grant) {
		struct bpfbox_masks acc = {};
		priv_masks(s, o->kind, o->number, &acc);
		if (protection_granted(&acc, access))
			return 0;
	}
	emit(s, o, access, BPFBOX_DECISION_DENY);
	return -EPERM;
}

/* The calling process, if confined, needs cap(`cap`) for op even before its
 * taint: operations that could switch bpfbox off. */
static __always_inline int current_protected(__u32 op, __u32 cap)
{
	if (!maybe_confined_caller())
		return 0;
	struct object o = {.op = op, .kind = BPFBOX_RULE_CAP, .number = cap};
	return current_decision(&o, TABLE_PRIV, BPFBOX_CAP_USE, PROTECTED) ? -EPERM : 0;
}

/* The rules of file o->dev, o->ino in the thread's scopes into acc: its
 * own, and with `dentry`, the "**" rules of the directories above. */
static __always_inline void file_masks(struct state *s, struct object *o, struct dentry *dentry,
				       struct bpfbox_masks *acc)
{
	file_rule_masks(s, o->dev, o->ino, dentry);
	*acc = s->q.acc;
}

/* What the hook returns for file_decision's verdict about `o`, with the
 * event it asked for made here, where bpf_d_path may be given the hook's
 * `path`. `o->walk`, for the event's path where bpf_d_path is refused;
 * for a directory's write, `o->entry` is the entry it is for. */
static __always_inline int file_verdict(struct state *s, struct object *o, struct path *path, int verdict)
{
	if (o->event) {
		/* After the call: what the verifier knew of o's memory is gone */
		o->path = o->pathless ? 0 : path;
		emit(s, o, o->event_access, o->event);
	}
	/* A global function's result is any number to the verifier; an LSM
	 * program's must be an errno */
	return verdict ? -EPERM : 0;
}

static __always_inline int decide_file(struct state *s, __u32 op, struct inode *inode, struct dentry *dentry,
				       struct path *path, struct path *walk, struct dentry *entry, __u32 access)
{
	struct object o = {.op = op, .kind = BPFBOX_RULE_FILE, .inode = inode, .dentry = dentry, .walk = walk,
			   .entry = entry};
	int verdict = file_decision(&s->q, s->proc, &o, access);
	return file_verdict(s, &o, path, verdict);
}

static __always_inline int check_inode(struct state *s, __u32 op, struct inode *inode, struct dentry *dentry, struct path *path, __u32 access)
{
	return decide_file(s, op, inode, dentry, path, 0, 0, access);
}

/* A file access on the hot path, decided in full by file_decision; for a
 * tainted process, the rules it found for a file of a directory tree are
 * remembered in memo `e` (memo_of) under `r`'s tag. */
static __always_inline int check_file(struct state *s, struct recall *r, struct memo *e, __u32 op,
				      struct inode *inode, struct dentry *dentry, struct path *path, struct path *walk,
				      __u32 access)
{
	__u32 subtrees = s->q.flags & BPFBOX_PROFILE_SUBTREES, rename_seq = 0;
	struct memo *slot = r ? memo_slot(e, subtrees, &rename_seq) : 0;
	struct object o = {.op = op, .kind = BPFBOX_RULE_FILE, .inode = inode, .dentry = dentry, .walk = walk};
	int verdict = file_decision(&s->q, s->proc, &o, access);
	/* Before the event: one state of the verifier's reaches this. */
	if (slot && o.file_rules) {
		struct kept_file f;
		kept_file_of(&f, inode, dentry, subtrees, rename_seq, s->proc);
		keep(slot, r, &f, &s->q.acc);
	}
	return file_verdict(s, &o, path, verdict);
}

/* Opened by exec (the executable, its interpreter): mediated as exec by
 * bprm_check_security, not as a read. */
static __always_inline int opened_for_exec(unsigned int flags, unsigned int mode)
{
	return (flags & __FMODE_EXEC) || (mode & FMODE_EXEC);
}

/* An inode of the kernel's pipe file system: a pipe made by pipe(2).
 * Through walkable(), off the hit path: on 6.12 a direct load of a
 * pointer field makes the verifier search its BTF. */
static __always_inline int on_pipefs(struct inode *inode)
{
	struct super_block *sb = walkable(inode, inode)->i_sb;
	return sb && sb->s_magic == PIPEFS_MAGIC;
}

/* A file access on the hot path (open, read and write, mmap, stat): from
 * the remembered rules when they answer, else decided in full (and the
 * rules found remembered). `loaded`: the file's dentry where the hook has
 * loaded it already, else 0 (file_path's is walked when needed). */
static __always_inline int check_hot_file(__u64 id, __u32 op, struct inode *inode, struct dentry *loaded,
					  struct path *file_path, int d_path_allowed, __u32 access, struct file *file)
{
	__u32 tgid = id >> 32, tid = (__u32)id;
	if (!access || !inode)
		return 0;
	struct recall r;
	int tagged = recall_thread(&r);
	/* An exec is the first thing a forked child asks about: nothing is
	 * remembered for it yet, nor on this CPU for its thread. */
	if (op != BPFBOX_OP_EXEC && tagged && recent_allows(&r, inode, loaded, file_path, op, access))
		return 0;
	/* Asked after the recent entry: its answer is an allow without an
	 * event, as for a file opened by exec. */
	if (file && opened_for_exec(file->f_flags, file->f_mode))
		return 0;
	/* A socket's reads and writes (a server's every request), and a
	 * pipe's (pipefs: a named pipe on disk is a file): no file, as
	 * file_decision would find (file_class), told here before any
	 * lookup; what a socket reaches is the socket hooks' to decide. (A
	 * lost process too: killed at its next operation decided.) */
	__u32 type = inode->i_mode & S_IFMT;
	if (type == S_IFSOCK || (type == S_IFIFO && on_pipefs(inode)))
		return 0;
	struct dentry *dentry = hot_dentry(loaded, file_path);
	tagged = tagged && recall_process(&r, tgid, tid);
	/* The file's memo: the calling process's own (no state to look up),
	 * else what another tainted process of its profile remembered, taken
	 * over (its tag becomes the caller's). */
	struct memo *e = 0;
	struct recalled v = {.dentry = (unsigned long)dentry};
	if (tagged && memorable(inode))
		e = bpf_inode_storage_get(&file_memo, inode, 0, 0);
	/* Not kept on this CPU for an exec: the process is about to become
	 * another (a new exec count, a new epoch), for which it would not
	 * hold. */
	if (e && memo_answers(e, &r, 0, op, access, &v)) {
		if (op != BPFBOX_OP_EXEC) {
			struct kept_file f;
			kept_file_of(&f, inode, dentry, v.subtrees, v.rename_seq, 0);
			keep(0, &r, &f, &v.masks);
		}
		return 0;
	}
	struct state s;
	int standing = get_proc(&s);
	if (standing <= 0)
		return no_state(standing);
	/* Remembered for a tainted process (its taint is final), and used by
	 * one: an untainted process must still meet its taint rules. */
	int tainted = tagged && s.proc->tainted;
	if (tainted && e && memo_taken_over(e, &r, s.proc, pair(op, access), &v)) {
		/* Nor taken over, for the same reason. */
		if (op == BPFBOX_OP_EXEC)
			return 0;
		struct kept_file f;
		kept_file_of(&f, inode, dentry, v.subtrees, v.rename_seq, s.proc);
		keep(e, &r, &f, &v.masks);
		return 0;
	}
	/* The memo a full decision is remembered in, created if need be. */
	e = tainted ? memo_of(inode) : 0;
	if (!get_profile(&s))
		return 0;
	/* The event's path from bpf_d_path where the hook allows it, else
	 * built by walking. */
	struct path *path = d_path_allowed ? file_path : 0;
	struct path *walk = d_path_allowed ? 0 : file_path;
	return check_file(&s, tagged ? &r : 0, e, op, inode, dentry, path, walk, access);
}

/* The kernel mapping an executable and its interpreter during exec. */
static __always_inline int in_exec(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return BPF_CORE_READ_BITFIELD(task, in_execve);
}

static __always_inline __u32 file_write_access(unsigned int flags)
{
	return (flags & O_APPEND) ? BPFBOX_FS_APPEND : BPFBOX_FS_WRITE;
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	if (ret)
		return prior(ret);
	/* Loaded before maybe_confined_caller's two paths: see first_walked(). */
	struct inode *inode = first_walked(file->f_inode);
	__u64 id = maybe_confined_caller();
	if (!id)
		return 0;
	unsigned int mode = file->f_mode;
	__u32 access = 0;
	if (mode & FMODE_READ)
		access |= BPFBOX_FS_READ;
	if (mode & FMODE_WRITE)
		access |= file_write_access(file->f_flags);
	return check_hot_file(id, BPFBOX_OP_OPEN, inode, 0, &file->f_path, 1, access, file);
}

SEC("lsm/file_permission")
int BPF_PROG(file_permission, struct file *file, int mask, int ret)
{
	if (ret)
		return prior(ret);
	struct inode *inode = first_walked(file->f_inode);
	__u64 id = maybe_confined_caller();
	if (!id)
		return 0;
	__u32 access = 0;
	if (mask & MAY_READ)
		access |= BPFBOX_FS_READ;
	if (mask & (MAY_WRITE | MAY_APPEND))
		access |= file_write_access(file->f_flags);
	/* Denied writes to an inherited stdout must say which file: a path. */
	return check_hot_file(id, BPFBOX_OP_PERMISSION, inode, 0, &file->f_path, 0, access, file);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bprm_check_security, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return prior(ret);
	/* file stays trusted for bpf_d_path, its inode for the memo's lookup.
	 * file is not passed on: it was opened for exec, which check_hot_file
	 * lets through for the open's sake. A forked child's exec of its
	 * program: what the parent, or the last run, remembered under the
	 * same profile answers it. */
	struct file *file = first_walked(bprm->file);
	if (!file)
		return 0;
	struct inode *inode = first_walked(file->f_inode);
	__u64 id = maybe_confined_caller();
	if (!id)
		return 0;
	struct dentry *dentry = walkable(file, file)->f_path.dentry;
	return check_hot_file(id, BPFBOX_OP_EXEC, inode, dentry, &file->f_path, 1, BPFBOX_FS_EXEC, 0);
}

/* The program a process runs may map itself (the C library protects its
 * RELRO segment at start-up): it was allowed to exec it. */
static __always_inline int own_executable(struct inode *inode)
{
	return inode && inode == exe_inode(bpf_get_current_task_btf());
}

static __always_inline __u32 mmap_access(unsigned long prot, int shared)
{
	__u32 access = 0;
	if (prot & PROT_READ)
		access |= BPFBOX_FS_READ;
	if (prot & PROT_EXEC)
		access |= BPFBOX_FS_EXEC;
	if ((prot & PROT_WRITE) && shared)
		access |= BPFBOX_FS_WRITE;
	return access;
}

SEC("lsm/mmap_file")
int BPF_PROG(mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret)
{
	if (ret)
		return prior(ret);
	__u64 id = maybe_confined_caller();
	if (!id || !file)
		return 0;
	struct inode *inode = first_walked(file->f_inode);
	if (in_exec())
		return 0;
	__u32 access = mmap_access(prot, flags & MAP_SHARED);
	if (own_executable(inode))
		access &= BPFBOX_FS_WRITE;
	return check_hot_file(id, BPFBOX_OP_MMAP, inode, 0, &file->f_path, 1, access, 0);
}

/* mprotect is checked for the access it adds: what the mapping allows
 * already was decided when it was made, by the mmap check or, for the
 * executable and its interpreter, by exec (ld.so makes its own RELRO
 * read-only). */
SEC("lsm/file_mprotect")
int BPF_PROG(file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	if (!maybe_confined_caller())
		return 0;
	vma = walkable(vma, vm_area_struct);
	struct file *file = vma->vm_file;
	if (!file)
		return 0;
	unsigned long vm_flags = vma->vm_flags;
	int shared = vm_flags & VM_SHARED;
	unsigned long now = (vm_flags & VM_READ ? PROT_READ : 0) | (vm_flags & VM_WRITE ? PROT_WRITE : 0) |
			    (vm_flags & VM_EXEC ? PROT_EXEC : 0);
	__u32 access = mmap_access(prot, shared) & ~mmap_access(now, shared);
	struct inode *inode = file->f_inode;
	if (own_executable(inode))
		access &= BPFBOX_FS_WRITE;
	/* Nothing added (ld.so making its RELRO read-only, once per start):
	 * nothing to decide, and no process state to look up for it. */
	if (!access)
		return 0;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	return decide_file(&s, BPFBOX_OP_MPROTECT, inode, file->f_path.dentry, 0, &file->f_path, 0, access);
}

/* SIGIO and SIGURG go around task_kill: a file's owner gets them from
 * whoever causes the I/O. A confined process may make itself the owner
 * (F_SETOWN with its own pid); any other owner is a sys(sigio) grant. The
 * forms that pass the owner through user memory (F_SETOWN_EX, FIOSETOWN,
 * SIOCSPGRP) need the grant too: the kernel reads that memory after this
 * hook, so what the hook could read there proves nothing. */
static __always_inline int check_sigio(struct state *s, unsigned int cmd, unsigned long arg)
{
	if (cmd == F_SETOWN) {
		int pid = (int)arg;
		if (pid == 0 || pid == (int)s->tgid || pid == (int)s->tid)
			return 0;
	} else if (cmd != F_SETOWN_EX && cmd != FIOSETOWN && cmd != SIOCSPGRP) {
		return 0;
	}
	return check_priv(s, BPFBOX_OP_SIGIO, BPFBOX_RULE_SYS, 0, BPFBOX_SYS_SIGIO, 0);
}

static __always_inline int check_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	if (cmd == FIOSETOWN || cmd == SIOCSPGRP)
		return check_sigio(&s, cmd, arg);
	file = walkable(file, file);
	return decide_file(&s, BPFBOX_OP_IOCTL, file->f_inode, file->f_path.dentry, 0, &file->f_path, 0, BPFBOX_FS_IOCTL);
}

SEC("lsm/file_ioctl")
int BPF_PROG(file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ? prior(ret) : check_ioctl(file, cmd, arg);
}

/* 32-bit ioctls (int $0x80, from any process) come here, not to file_ioctl,
 * on kernels that have the hook; the loader skips it on those that do not. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ? prior(ret) : check_ioctl(file, cmd, arg);
}

/* Creating an entry needs write on the directory. */
static __always_inline int check_dir_write(__u32 op, struct dentry *dentry)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct dentry *dir = walkable(dentry, dentry)->d_parent;
	if (!dir)
		return 0;
	return decide_file(&s, op, dir->d_inode, dir, 0, 0, dentry, BPFBOX_FS_WRITE);
}

/* Removing an entry needs write on the directory and rm on the entry. */
static __always_inline int check_remove(__u32 op, struct dentry *dentry)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct dentry *fields = walkable(dentry, dentry);
	struct dentry *dir = fields->d_parent;
	if (!dir)
		return 0;
	int verdict = decide_file(&s, op, dir->d_inode, dir, 0, 0, dentry, BPFBOX_FS_WRITE);
	if (verdict)
		return verdict;
	return check_inode(&s, op, fields->d_inode, dentry, 0, BPFBOX_FS_RM);
}

/* The access an open(O_CREAT) under way asks for, from its system call's
 * arguments; 0 when it is not one of the open calls. */
static __always_inline __u32 creating_open_access(void)
{
	unsigned long flags;
#if defined(__TARGET_ARCH_x86)
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	switch (regs->orig_ax) {
	case 2: /* open */
		flags = regs->si;
		break;
	case 257: /* openat */
		flags = regs->dx;
		break;
	case 85: /* creat */
		flags = O_WRONLY;
		break;
	case 437: { /* openat2: the kernel has its own copy of `how` already */
		struct open_how how;
		if (bpf_probe_read_user(&how, sizeof(how), (void *)regs->dx))
			return 0;
		flags = how.flags;
		break;
	}
	default:
		return 0;
	}
#else
	return 0;
#endif
	__u32 access = 0;
	if ((flags & O_ACCMODE) != O_WRONLY)
		access |= BPFBOX_FS_READ;
	if (flags & (O_WRONLY | O_RDWR))
		access |= (flags & O_APPEND) ? BPFBOX_FS_APPEND : BPFBOX_FS_WRITE;
	return access;
}

/* A file about to be created can only be named by the "**" rules above
 * it. Deciding its open here, before it exists, means a denied
 * open(O_CREAT) leaves no empty file behind. Without an open (mknod, or an
 * open the hook cannot read, as from io_uring), creating needs write. */
static __always_inline int check_new_file(struct dentry *dentry)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct dentry *dir = walkable(dentry, dentry)->d_parent;
	struct inode *dir_inode = dir ? dir->d_inode : 0;
	if (!dir_inode)
		return 0;
	struct inode *fields = walkable(dir_inode, inode);
	struct super_block *sb = fields->i_sb;
	if (!sb || file_class(fields->i_mode, sb->s_magic, sb->s_flags) != CLASS_FILE)
		return 0;
	__u32 access = creating_open_access();
	if (!access)
		access = BPFBOX_FS_WRITE;
	struct object o = {.op = BPFBOX_OP_CREATE, .kind = BPFBOX_RULE_FILE, .dentry = dentry};
	o.dev = sb->s_dev;
	/* It has no rules of its own yet: only those of the directories above. */
	file_rule_masks(&s, o.dev, 0, dentry);
	return decide(&s, &s.q.acc, access, &o);
}

SEC("lsm/inode_create")
int BPF_PROG(inode_create, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	if (ret)
		return prior(ret);
	return check_dir_write(BPFBOX_OP_CREATE, dentry) ?: check_new_file(dentry);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return ret ? prior(ret) : check_dir_write(BPFBOX_OP_CREATE, dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(inode_symlink, struct inode *dir, struct dentry *dentry, const char *old_name, int ret)
{
	return ret ? prior(ret) : check_dir_write(BPFBOX_OP_CREATE, dentry);
}

SEC("lsm/inode_mknod")
int BPF_PROG(inode_mknod, struct inode *dir, struct dentry *dentry, umode_t mode, unsigned int dev, int ret)
{
	return ret ? prior(ret) : check_dir_write(BPFBOX_OP_CREATE, dentry);
}

/* What was remembered on a file about to get or lose a name (a link, an
 * unlink, a rename, a directory removed): deleted, for every process (the
 * name may change under a confined one's feet), before the change, and
 * followed by a new recent_epoch, which makes the copies in recent entries stale.
 * See memo_slot. */
static __always_inline void forget_file(struct dentry *dentry)
{
	struct inode *inode = dentry ? dentry->d_inode : 0;
	if (inode)
		bpf_inode_storage_delete(&file_memo, inode);
	new_recent_epoch();
}

SEC("lsm/inode_unlink")
int BPF_PROG(inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	forget_file(dentry);
	return ret ? prior(ret) : check_remove(BPFBOX_OP_UNLINK, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	/* A removed directory's inode number may be given to a new file, and
	 * its memory to the new file's inode: recent entries for it go stale. */
	forget_file(dentry);
	return ret ? prior(ret) : check_remove(BPFBOX_OP_UNLINK, dentry);
}

/* A hard link needs link on the file and write on the new directory. */
SEC("lsm/inode_link")
int BPF_PROG(inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry, int ret)
{
	struct state s;
	forget_file(old_dentry);
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	int verdict = check_inode(&s, BPFBOX_OP_LINK, walkable(old_dentry, dentry)->d_inode, old_dentry, 0,
				  BPFBOX_FS_LINK);
	if (verdict)
		return verdict;
	struct dentry *new_dir = walkable(new_dentry, dentry)->d_parent;
	if (!new_dir)
		return 0;
	return decide_file(&s, BPFBOX_OP_LINK, new_dir->d_inode, new_dir, 0, 0, new_dentry, BPFBOX_FS_WRITE);
}

/* A rename removes the old entry (rm, write on its directory), makes a new
 * one (write on the new directory), and replaces any file already there (rm). */
SEC("lsm/inode_rename")
int BPF_PROG(inode_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	forget_file(old_dentry);
	forget_file(new_dentry);
	if (ret)
		return prior(ret);
	int verdict = check_remove(BPFBOX_OP_RENAME, old_dentry);
	if (verdict)
		return verdict;
	verdict = check_dir_write(BPFBOX_OP_RENAME, new_dentry);
	if (verdict)
		return verdict;
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct inode *replaced = walkable(new_dentry, dentry)->d_inode;
	if (replaced)
		return check_inode(&s, BPFBOX_OP_RENAME, replaced, new_dentry, 0, BPFBOX_FS_RM);
	return 0;
}

static __always_inline int check_dentry(__u32 op, struct dentry *dentry, __u32 access)
{
	struct state s;
	if (!dentry)
		return 0;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	return check_inode(&s, op, walkable(dentry, dentry)->d_inode, dentry, 0, access);
}

SEC("lsm/inode_setattr")
int inode_setattr(unsigned long long *ctx)
{
	/* The argument list differs between kernels; see setattr_dentry_arg.
	 * Both loads at constant offsets: the verifier refuses a computed one. */
	__u64 first = ctx[0], second = ctx[1];
	struct dentry *dentry = (struct dentry *)(setattr_dentry_arg ? second : first);
	return check_dentry(BPFBOX_OP_SETATTR, dentry, BPFBOX_FS_SETATTR);
}

SEC("lsm/inode_setxattr")
int inode_setxattr(unsigned long long *ctx)
{
	/* (mnt_userns or idmap, dentry, ...) on every kernel bpfbox supports */
	return check_dentry(BPFBOX_OP_SETATTR, (struct dentry *)ctx[1], BPFBOX_FS_SETATTR);
}

SEC("lsm/inode_removexattr")
int inode_removexattr(unsigned long long *ctx)
{
	return check_dentry(BPFBOX_OP_SETATTR, (struct dentry *)ctx[1], BPFBOX_FS_SETATTR);
}

SEC("lsm/inode_getattr")
int BPF_PROG(inode_getattr, const struct path *path, int ret)
{
	if (ret)
		return prior(ret);
	struct dentry *dentry = first_walked(path->dentry);
	__u64 id = maybe_confined_caller();
	if (!id || !dentry)
		return 0;
	return check_hot_file(id, BPFBOX_OP_GETATTR, dentry->d_inode, dentry, (struct path *)path, 0, BPFBOX_FS_GETATTR, 0);
}

SEC("lsm/inode_getxattr")
int BPF_PROG(inode_getxattr, struct dentry *dentry, const char *name, int ret)
{
	return ret ? prior(ret) : check_dentry(BPFBOX_OP_GETATTR, dentry, BPFBOX_FS_GETATTR);
}

SEC("lsm/inode_listxattr")
int BPF_PROG(inode_listxattr, struct dentry *dentry, int ret)
{
	return ret ? prior(ret) : check_dentry(BPFBOX_OP_GETATTR, dentry, BPFBOX_FS_GETATTR);
}

/* ---- Signals, ptrace ---------------------------------------------------- */

SEC("lsm/task_kill")
int BPF_PROG(task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	/* SEND_SIG_NOINFO (0) is from userspace; SEND_SIG_PRIV (1) and a
	 * positive si_code are the kernel's own signals. */
	if ((unsigned long)info == 1)
		return 0;
	if ((unsigned long)info > 1 && info->si_code > 0)
		return 0;
	__u32 access;
	switch (sig) {
	case 0:
		access = BPFBOX_SIGNAL_SIGCHECK;
		break;
	case SIGCHLD:
		access = BPFBOX_SIGNAL_SIGCHLD;
		break;
	case SIGKILL:
		access = BPFBOX_SIGNAL_SIGKILL;
		break;
	case SIGSTOP:
		access = BPFBOX_SIGNAL_SIGSTOP;
		break;
	default:
		access = BPFBOX_SIGNAL_SIGMISC;
	}
	struct object o = {.op = BPFBOX_OP_SIGNAL, .signal = sig};
	task_exe(p, &o);
	return check_task(&s, BPFBOX_RULE_SIGNAL, access, &o);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct object o = {.op = BPFBOX_OP_PTRACE};
	task_exe(child, &o);
	if (mode & PTRACE_MODE_ATTACH)
		return check_task(&s, BPFBOX_RULE_PTRACE, BPFBOX_PTRACE_ATTACH, &o);
	/* Read-mode checks guard /proc/PID entries such as maps and environ. */
	o.op = BPFBOX_OP_PROC;
	return check_task(&s, BPFBOX_RULE_PROC, BPFBOX_FS_READ, &o);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(ptrace_traceme, struct task_struct *parent, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct object o = {.op = BPFBOX_OP_PTRACE};
	task_exe(parent, &o);
	return check_task(&s, BPFBOX_RULE_PTRACE, BPFBOX_PTRACE_ATTACH, &o);
}

/* ---- Sockets ------------------------------------------------------------ */

static __always_inline void net_masks(struct state *s, __u32 family, struct bpfbox_masks *acc)
{
	rule_masks(&s->q, TABLE_NET, 0, family, 0);
	add_masks(acc, &s->q.acc);
}

static __always_inline int check_net(__u32 op, __u32 family, __u32 access)
{
	if (!maybe_confined_caller())
		return 0;
	struct object o = {.op = op, .kind = BPFBOX_RULE_NET, .family = family};
	return current_decision(&o, TABLE_NET, access, BY_RULES) ? -EPERM : 0;
}

/* A net set's `bit` as the fs set's connect. */
static __always_inline __u32 as_connect(__u32 set, __u32 bit)
{
	return (set & bit) ? BPFBOX_FS_CONNECT : 0;
}

/* Reaching the unix socket `other` (a stream connect, a datagram connect
 * or send): granted by net(unix, connect), or for a socket bound at a
 * path, by the connect access of that file, as named by fs rules. */
static __always_inline int check_unix_peer(__u32 op, struct sock *other)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct bpfbox_masks family = {};
	net_masks(&s, AF_UNIX, &family);
	struct unix_sock *u = other ? bpf_skc_to_unix_sock(other) : 0;
	struct dentry *dentry = u ? u->path.dentry : 0;
	struct inode *inode = dentry ? dentry->d_inode : 0;
	if (!inode) {
		/* Only the family names it. An abstract socket is reached by
		 * its name: connect. An unnamed one (a socketpair, a socket
		 * never bound) was handed over, not reached: a datagram to it
		 * is a send, as before unix peers had paths. */
		__u32 access = BPFBOX_NET_CONNECT;
		if (op == BPFBOX_OP_UNIX_SEND && !(u && u->addr))
			access = BPFBOX_NET_SEND;
		struct object o = {.op = op, .kind = BPFBOX_RULE_NET, .family = AF_UNIX};
		return decide(&s, &family, access, &o);
	}
	struct object o = {.op = op, .kind = BPFBOX_RULE_FILE, .walk = &u->path};
	struct super_block *sb = inode->i_sb;
	o.dev = sb ? sb->s_dev : 0;
	o.ino = inode->i_ino;
	struct bpfbox_masks acc;
	file_masks(&s, &o, dentry, &acc);
	struct bpfbox_masks m = {
		.allow = (acc.allow & BPFBOX_FS_CONNECT) | as_connect(family.allow, BPFBOX_NET_CONNECT),
		.taint = (acc.taint & BPFBOX_FS_CONNECT) | as_connect(family.taint, BPFBOX_NET_CONNECT),
		.audit = (acc.audit & BPFBOX_FS_CONNECT) | as_connect(family.audit, BPFBOX_NET_CONNECT),
		.deny = (acc.deny & BPFBOX_FS_CONNECT) | as_connect(family.deny, BPFBOX_NET_CONNECT),
		.logged = (acc.logged & BPFBOX_FS_CONNECT) | as_connect(family.logged, BPFBOX_NET_CONNECT),
	};
	return decide(&s, &m, BPFBOX_FS_CONNECT, &o);
}

static __always_inline __u32 socket_family(struct socket *sock)
{
	struct sock *sk = walkable(sock, socket)->sk;
	return sk ? sk->__sk_common.skc_family : 0;
}

SEC("lsm/socket_create")
int BPF_PROG(socket_create, int family, int type, int protocol, int kern, int ret)
{
	if (ret)
		return prior(ret);
	if (kern)
		return 0;
	return check_net(BPFBOX_OP_SOCKET_CREATE, family, BPFBOX_NET_CREATE);
}

SEC("lsm/socket_bind")
int BPF_PROG(socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_BIND, socket_family(sock), BPFBOX_NET_BIND);
}

SEC("lsm/socket_connect")
int BPF_PROG(socket_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return prior(ret);
	/* A unix connect is decided where its peer is known (below): a
	 * socket bound at a path may be named by an fs rule. */
	__u32 family = socket_family(sock);
	return family == AF_UNIX ? 0 : check_net(BPFBOX_OP_CONNECT, family, BPFBOX_NET_CONNECT);
}

SEC("lsm/socket_listen")
int BPF_PROG(socket_listen, struct socket *sock, int backlog, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_LISTEN, socket_family(sock), BPFBOX_NET_LISTEN);
}

SEC("lsm/socket_accept")
int BPF_PROG(socket_accept, struct socket *sock, struct socket *newsock, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_ACCEPT, socket_family(sock), BPFBOX_NET_ACCEPT);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(socket_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_SENDMSG, socket_family(sock), BPFBOX_NET_SEND);
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(socket_recvmsg, struct socket *sock, struct msghdr *msg, int size, int flags, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_RECVMSG, socket_family(sock), BPFBOX_NET_RECV);
}

SEC("lsm/socket_shutdown")
int BPF_PROG(socket_shutdown, struct socket *sock, int how, int ret)
{
	return ret ? prior(ret) : check_net(BPFBOX_OP_SHUTDOWN, socket_family(sock), BPFBOX_NET_SHUTDOWN);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk, int ret)
{
	return ret ? prior(ret) : check_unix_peer(BPFBOX_OP_UNIX_CONNECT, other);
}

SEC("lsm/unix_may_send")
int BPF_PROG(unix_may_send, struct socket *sock, struct socket *other, int ret)
{
	return ret ? prior(ret) : check_unix_peer(BPFBOX_OP_UNIX_SEND, other ? other->sk : 0);
}

/* ---- Following processes ------------------------------------------------ */

/* exec: a profiled executable attaches its profile (starting untainted when
 * it has taint rules); any other keeps the current one. The new program
 * image is inside no function. */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(bprm_committed_creds, struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	/* Its profile may change: the recent entries it wrote go stale (the
	 * other threads are gone; it runs no hook meanwhile). */
	new_recent_epoch();
	bpf_map_delete_elem(&threads, &tid);
	mark_scoped(tid, 0);
	struct file *file = walkable(bprm, linux_binprm)->file;
	struct inode *inode = file ? file->f_inode : 0;
	struct super_block *sb = inode ? inode->i_sb : 0;
	if (!sb)
		return 0;
	struct bpfbox_inode_key exe = {
		.dev = sb->s_dev,
		.ino = inode->i_ino,
	};
	__u32 *slot = bpf_map_lookup_elem(&exe_profiles, &exe);
	if (!slot)
		return 0;
	struct bpfbox_profile *profile = bpf_map_lookup_elem(&profiles, slot);
	if (!profile || !profile->version)
		return 0;
	/* A tainted process stays tainted across exec: exec'ing its own
	 * binary again must not give it a fresh start. */
	struct bpfbox_proc *old = bpf_map_lookup_elem(&procs, &tgid);
	struct bpfbox_proc proc = {
		.slot = *slot,
		.tainted = (old && old->tainted) || !(profile->flags & BPFBOX_PROFILE_TAINT_RULES),
		.start_time = bpf_get_current_task_btf()->start_time, /* exec made this thread the leader */
		.serial = profile->serial,
	};
	/* A process confined already has its room; a new one claims it. A
	 * process that must be confined but cannot be tracked (65,536 confined
	 * processes already) does not get to run unconfined. */
	if (old) {
		/* The same state (a program that runs itself again, a child that
		 * execs its parent's program): nothing to write. */
		if (old->slot == proc.slot && old->serial == proc.serial && old->tainted == proc.tainted &&
		    old->start_time == proc.start_time)
			return 0;
		if (bpf_map_update_elem(&procs, &tgid, &proc, BPF_EXIST))
			bpf_send_signal(SIGKILL);
		return 0;
	}
	if (!claim_proc() || add_proc(tgid, &proc))
		bpf_send_signal(SIGKILL);
	return 0;
}

/* fork: a new process inherits the profile, the taint and the function
 * scopes it was forked inside; a new thread shares its process's state and
 * starts outside every scope. Runs before the child can. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	__u32 ctgid = child->tgid;
	/* A thread, or a parent not confined (most forks): the bitmap's
	 * inlined lookup says so without a lookup in procs. */
	if (ctgid == ptgid || !maybe_confined(ptgid))
		return 0;
	struct bpfbox_proc *p = bpf_map_lookup_elem(&procs, &ptgid);
	if (!p) {
		/* A lost parent (its bit set without an entry): its child is
		 * lost too, and needs no room; the claim task_alloc made for
		 * it (task_alloc asks the bit alone) goes back. */
		if (end_fork(parent->pid))
			release_proc_claim();
		mark_lost(ctgid);
		return 0;
	}
	__u64 start = child->start_time;
	struct bpfbox_proc c = *p;
	c.start_time = start;
	/* task_alloc claimed room for this child; without a claim (the
	 * programs were attached between the two) claim it now. A child
	 * that cannot be tracked (no room, no memory for its entry) does
	 * not run unconfined: it is lost. */
	if (!(end_fork(parent->pid) || claim_proc()) || add_proc(ctgid, &c))
		mark_lost(ctgid);
	/* The child is inside what its parent is inside, as thread_scopes
	 * sees it: recorded scopes, or scopes that could not be (no entry,
	 * or dropped ones), which the child, marked with no entry or with
	 * the copy, is denied everything inside too. */
	__u32 ptid = parent->pid, ctid = child->pid;
	struct bpfbox_thread *t;
	int standing = scope_standing(ptid, parent->start_time, &t);
	if (standing == IN_NO_SCOPE || (standing == IN_RECORDED && t && !t->count))
		return 0;
	mark_scoped(ctid, 1);
	struct bpfbox_thread copy = {};
	if (t) {
		copy = *t;
		copy.start_time = start;
	}
	/* No entry for the child when its parent had none, or when there is
	 * no room: not even an earlier thread's, which would read as "no
	 * scope". */
	if (!t || bpf_map_update_elem(&threads, &ctid, &copy, BPF_ANY))
		bpf_map_delete_elem(&threads, &ctid);
	return 0;
}

/* exit: a thread's scopes go with it, a process's state with its last thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u32 tid = task->pid, tgid = task->tgid;
	bpf_map_delete_elem(&threads, &tid);
	mark_scoped(tid, 0);
	struct signal_struct *signal = walkable(task, task_struct)->signal;
	/* A clear bit: no entry in procs to remove (most processes). */
	if (signal && signal->live.counter == 0 && maybe_confined(tgid))
		remove_proc(tgid);
	return 0;
}

/* fork of a confined process: room for the child is claimed in procs
 * before the child exists, and the fork fails (EAGAIN, as at a process
 * limit) when there is none, so no child ever runs untracked. */
SEC("lsm/task_alloc")
int BPF_PROG(task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	if (ret)
		return prior(ret);
	if (clone_flags & CLONE_THREAD)
		return 0;
	/* The bit alone, no lookup in procs: a bit may be set without an
	 * entry (it is set before one is added, cleared after it is removed),
	 * and the claim made for it the fork tracepoint gives back. */
	__u64 id = bpf_get_current_pid_tgid();
	if (!maybe_confined(id >> 32))
		return 0;
	if (claim_proc()) {
		/* A bit left set (by a fork whose tracepoint program was not
		 * attached yet) holds a claim already: this one goes back. */
		if (!begin_fork((__u32)id))
			release_proc_claim();
		return 0;
	}
	struct bpfbox_stats *st = stats_entry();
	if (st)
		__sync_fetch_and_add(&st->forks_refused, 1);
	return -EAGAIN;
}

/* A fork that failed after task_alloc gives its claim back: it frees the
 * child, which never ran (so never exited), in the forking thread. A task
 * that ran is freed after its exit, maybe from an interrupt on a thread
 * that is forking: that thread keeps its claim. */
SEC("lsm/task_free")
int BPF_PROG(task_free, struct task_struct *task)
{
	if (!(task->flags & PF_EXITING) && end_fork((__u32)bpf_get_current_pid_tgid()))
		release_proc_claim();
	/* Its address may be the next task's: what recent entries say for
	 * it goes stale before the memory is freed. */
	new_recent_epoch();
	return 0;
}

/* ---- Capabilities and privileged operations ----------------------------- */

/* Every capability check of a tainted process: its profile must grant the
 * capability with a cap rule. Only checks of the process's own credentials
 * are its own: with another cred (a file's opener, another task) the kernel
 * asks about someone else's privilege. Checks the kernel makes quietly
 * (CAP_OPT_NOAUDIT, e.g. whether to allow an overcommit reserve) are
 * answered quietly. */
SEC("lsm/capable")
int BPF_PROG(capable, const struct cred *cred, void *ns, int cap, unsigned int opts, int ret)
{
	if (ret)
		return prior(ret);
	if (!maybe_confined_caller())
		return 0;
	struct task_struct *task = walkable(bpf_get_current_task_btf(), task_struct);
	unsigned long c = (unsigned long)cred;
	if (c != (unsigned long)task->cred && c != (unsigned long)task->real_cred)
		return 0;
	struct object o = {
		.op = BPFBOX_OP_CAPABLE,
		.kind = BPFBOX_RULE_CAP,
		.number = cap,
		.quiet = opts & CAP_OPT_NOAUDIT,
	};
	return current_decision(&o, TABLE_PRIV, BPFBOX_CAP_USE, BY_RULES) ? -EPERM : 0;
}

/* bpf(2): a confined process, tainted or not, uses it only with cap(bpf),
 * and never to get a descriptor of an object it did not create (by id or
 * by pin): bpfbox's maps, programs and links are out of reach. */
SEC("lsm/bpf")
int BPF_PROG(bpf_syscall, int cmd, void *attr, unsigned int size)
{
	struct state s;
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct object o = {.op = BPFBOX_OP_BPF, .kind = BPFBOX_RULE_CAP, .number = BPFBOX_CAPABILITY_BPF};
	int foreign = cmd == BPF_OBJ_GET || cmd == BPF_MAP_GET_FD_BY_ID || cmd == BPF_PROG_GET_FD_BY_ID ||
		      cmd == BPF_LINK_GET_FD_BY_ID;
	return protect(&s, &o, BPFBOX_CAP_USE, !foreign);
}

static __always_inline int mount_of_bpffs(struct vfsmount *mnt)
{
	struct super_block *sb = mnt ? walkable(mnt, vfsmount)->mnt_sb : 0;
	return sb && sb->s_magic == BPF_FS_MAGIC;
}

/* The BPF file system holds the pins that keep bpfbox in force: no confined
 * process unmounts or remounts it, nor lazily unmounts a tree with mounts
 * below it (which takes them along). Other unmounts need cap(sys_admin). */
SEC("lsm/sb_umount")
int BPF_PROG(sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct object o = {.op = BPFBOX_OP_MOUNT};
	if (mount_of_bpffs(mnt))
		return protect(&s, &o, BPFBOX_CAP_USE, 0);
	if (flags & MNT_DETACH) {
		struct mount *m = (void *)((unsigned long)mnt - bpf_core_field_offset(struct mount, mnt));
		struct list_head *head = (void *)((unsigned long)m + bpf_core_field_offset(struct mount, mnt_mounts));
		if (BPF_CORE_READ(m, mnt_mounts.next) != head)
			return protect(&s, &o, BPFBOX_CAP_USE, 0);
	}
	return check_cap(&s, BPFBOX_OP_MOUNT, BPFBOX_CAPABILITY_SYS_ADMIN);
}

SEC("lsm/sb_remount")
int BPF_PROG(sb_remount, struct super_block *sb, void *mnt_opts, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	if (sb && sb->s_magic == BPF_FS_MAGIC) {
		struct object o = {.op = BPFBOX_OP_MOUNT};
		return protect(&s, &o, BPFBOX_CAP_USE, 0);
	}
	return check_cap(&s, BPFBOX_OP_MOUNT, BPFBOX_CAPABILITY_SYS_ADMIN);
}

static __always_inline int check_mount(void)
{
	return current_priv(BPFBOX_OP_MOUNT, BPFBOX_RULE_CAP, BPFBOX_CAPABILITY_SYS_ADMIN, BPFBOX_CAP_USE);
}

SEC("lsm/sb_mount")
int BPF_PROG(sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags, void *data, int ret)
{
	return ret ? prior(ret) : check_mount();
}

SEC("lsm/move_mount")
int BPF_PROG(move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	return ret ? prior(ret) : check_mount();
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return ret ? prior(ret) : check_mount();
}

/* Loading a kernel module (init_module, finit_module) or a kexec image:
 * never without cap(sys_module), tainted or not. Firmware is the kernel's
 * own business. */
static __always_inline int check_kernel_load(int id)
{
	return id < READING_MODULE ? 0 : current_protected(BPFBOX_OP_MODULE, BPFBOX_CAPABILITY_SYS_MODULE);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(kernel_read_file, struct file *file, int id, int contents, int ret)
{
	return ret ? prior(ret) : check_kernel_load(id);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(kernel_load_data, int id, int contents, int ret)
{
	return ret ? prior(ret) : check_kernel_load(id);
}

/* Asking the kernel to load a module (a socket of an unknown family): the
 * kernel runs modprobe as unconfined root, with what /etc/modprobe.d says,
 * so not even before the taint without cap(sys_module). */
SEC("lsm/kernel_module_request")
int BPF_PROG(kernel_module_request, char *kmod_name, int ret)
{
	return ret ? prior(ret) : current_protected(BPFBOX_OP_MODULE, BPFBOX_CAPABILITY_SYS_MODULE);
}

/* Set by the loader: perf_event_open's arguments (6.1: attr, type; 6.12:
 * type), so where its return value is. */
const volatile __u32 perf_event_open_args = 2;

SEC("lsm/perf_event_open")
int perf_event_open(unsigned long long *ctx)
{
	/* One load at a constant offset on each branch, in assembly: clang
	 * merges two C loads into one at a computed offset, which the
	 * verifier refuses. The loader's value prunes the other branch. */
	__u64 ret;
	if (perf_event_open_args == 1)
		asm volatile("%0 = *(u64 *)(%1 + 8)" : "=r"(ret) : "r"(ctx));
	else
		asm volatile("%0 = *(u64 *)(%1 + 16)" : "=r"(ret) : "r"(ctx));
	if ((int)ret)
		return prior((int)ret);
	return current_priv(BPFBOX_OP_PERF, BPFBOX_RULE_CAP, BPFBOX_CAPABILITY_PERFMON, BPFBOX_CAP_USE);
}

/* What kernel lockdown guards (/dev/mem, /proc/kcore, ioperm, MSRs, kprobes
 * through tracefs, ...) is raw access to the machine, enough to rewrite the
 * kernel: not even before the taint without cap(sys_rawio). */
SEC("lsm/locked_down")
int BPF_PROG(locked_down, int what, int ret)
{
	return ret ? prior(ret) : current_protected(BPFBOX_OP_LOCKDOWN, BPFBOX_CAPABILITY_SYS_RAWIO);
}

SEC("lsm/syslog")
int BPF_PROG(syslog, int type, int ret)
{
	return ret ? prior(ret) : current_priv(BPFBOX_OP_SYSLOG, BPFBOX_RULE_CAP, BPFBOX_CAPABILITY_SYSLOG, BPFBOX_CAP_USE);
}

/* Priorities and limits of another process: what cap(sys_nice) and
 * cap(sys_resource) grant, even where the kernel asks for no capability
 * (root changing another root process). */
static __always_inline int check_other_task(struct task_struct *p, __u32 cap)
{
	__u64 id = maybe_confined_caller();
	if (!id)
		return 0;
	if (p && (__u32)p->tgid == (__u32)(id >> 32))
		return 0;
	struct object o = {.op = BPFBOX_OP_SCHED, .kind = BPFBOX_RULE_CAP, .number = cap};
	return current_decision(&o, TABLE_PRIV, BPFBOX_CAP_USE, BY_RULES) ? -EPERM : 0;
}

SEC("lsm/task_setnice")
int BPF_PROG(task_setnice, struct task_struct *p, int nice, int ret)
{
	return ret ? prior(ret) : check_other_task(p, BPFBOX_CAPABILITY_SYS_NICE);
}

SEC("lsm/task_setioprio")
int BPF_PROG(task_setioprio, struct task_struct *p, int ioprio, int ret)
{
	return ret ? prior(ret) : check_other_task(p, BPFBOX_CAPABILITY_SYS_NICE);
}

SEC("lsm/task_setscheduler")
int BPF_PROG(task_setscheduler, struct task_struct *p, int ret)
{
	return ret ? prior(ret) : check_other_task(p, BPFBOX_CAPABILITY_SYS_NICE);
}

/* The kernel calls it only for another task; threads of one process share
 * their credentials. */
SEC("lsm/task_prlimit")
int BPF_PROG(task_prlimit, const struct cred *cred, const struct cred *tcred, unsigned int flags, int ret)
{
	if (ret)
		return prior(ret);
	if ((unsigned long)cred == (unsigned long)tcred)
		return 0;
	return check_other_task(0, BPFBOX_CAPABILITY_SYS_RESOURCE);
}

SEC("lsm/file_fcntl")
int BPF_PROG(file_fcntl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	return check_sigio(&s, cmd, arg);
}

/* A watch reports what happens to a file: it needs read on the file. */
SEC("lsm/path_notify")
int BPF_PROG(path_notify, const struct path *path, __u64 mask, unsigned int obj_type, int ret)
{
	struct state s;
	if (ret)
		return prior(ret);
	int standing = get_state(&s);
	if (standing <= 0)
		return no_state(standing);
	struct dentry *dentry = walkable(path, path)->dentry;
	if (!dentry)
		return 0;
	return check_inode(&s, BPFBOX_OP_NOTIFY, dentry->d_inode, dentry, 0, BPFBOX_FS_READ);
}

/* SysV IPC: creating, attaching, sending, receiving, controlling. */
static __always_inline int check_ipc(void)
{
	return current_priv(BPFBOX_OP_IPC, BPFBOX_RULE_SYS, 0, BPFBOX_SYS_SYSVIPC);
}

SEC("lsm/ipc_permission")
int BPF_PROG(ipc_permission, void *ipcp, short flag, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/shm_alloc_security")
int BPF_PROG(shm_alloc_security, void *perm, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/msg_queue_alloc_security")
int BPF_PROG(msg_queue_alloc_security, void *perm, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/sem_alloc_security")
int BPF_PROG(sem_alloc_security, void *perm, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/shm_shmctl")
int BPF_PROG(shm_shmctl, void *perm, int cmd, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/msg_queue_msgctl")
int BPF_PROG(msg_queue_msgctl, void *perm, int cmd, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

SEC("lsm/sem_semctl")
int BPF_PROG(sem_semctl, void *perm, int cmd, int ret)
{
	return ret ? prior(ret) : check_ipc();
}

/* Kernel keys: every use of a key or key ring, and adding one. */
static __always_inline int check_keys(void)
{
	return current_priv(BPFBOX_OP_KEY, BPFBOX_RULE_SYS, 0, BPFBOX_SYS_KEYS);
}

SEC("lsm/key_permission")
int BPF_PROG(key_permission, void *key_ref, const struct cred *cred, int need, int ret)
{
	return ret ? prior(ret) : check_keys();
}

SEC("lsm/key_alloc")
int BPF_PROG(key_alloc, void *key, const struct cred *cred, unsigned long flags, int ret)
{
	return ret ? prior(ret) : check_keys();
}
