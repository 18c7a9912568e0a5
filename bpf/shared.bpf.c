// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bodies of the functions every hook shares (shared.h says why they are
 * apart): each is a freplace program, loaded once by bpfbox-load and linked
 * into every program of bpfbox.bpf.c that calls its stub.
 */
#include "shared.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- Scopes ------------------------------------------------------------- */

/* thread_scopes' body, which current_decision asks too. */
static __always_inline int scopes_of(struct query *q, __u32 tid)
{
	q->count = 1;
	q->lost = 0;
	for (int i = 0; i < NSCOPES; i++)
		q->scopes[i] = i ? BPFBOX_NO_SCOPE : BPFBOX_ALWAYS_SCOPE;
	struct task_struct *task = bpf_get_current_task_btf();
	/* A bit with an earlier thread's entry is left over (a thread that
	 * exec'd inside a scope took its leader's tid, and its own was never
	 * cleared): no scope. */
	struct bpfbox_thread *t;
	int standing = scope_standing(tid, task->start_time, &t);
	if (standing == IN_LOST)
		q->lost = 1;
	if (standing != IN_RECORDED || !t)
		return 0;
	__u32 count = t->count;
	for (int i = 0; i < BPFBOX_MAX_ACTIVE_SCOPES; i++)
		if (i < count && t->active[i].depth)
			q->scopes[1 + i] = t->active[i].scope;
	q->count = 1 + (count < BPFBOX_MAX_ACTIVE_SCOPES ? count : BPFBOX_MAX_ACTIVE_SCOPES);
	return 0;
}

SEC("freplace/thread_scopes")
int thread_scopes(struct query *q, __u32 tid)
{
	return q ? scopes_of(q, tid) : 0;
}

/* ---- Paths -------------------------------------------------------------- */

/* Directories and mounts walked up to build a path. */
#define PATH_DEPTH 32

struct path_scratch {
	const unsigned char *names[PATH_DEPTH];
	char buf[2 * BPFBOX_PATH_LEN]; /* twice: the verifier sees each copy fit */
	/* The walk's counters, here rather than on the stack: the verifier
	 * knows nothing of a map value's contents, so every step of a bpf_loop
	 * callback looks the same to it. On the stack it knew each step's exact
	 * count, and kernels from 6.7 (which check a callback until its states
	 * repeat) walked every step: ten times the instructions per program. */
	__u32 n;   /* names collected */
	__u32 pos; /* bytes written */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

struct path_walk {
	struct path_scratch *sc;
	struct dentry *d;
	struct mount *m;
};

/* One step up: a directory, or from a mount's root to where it is mounted. */
static long path_up(__u32 index, void *data)
{
	struct path_walk *w = data;
	struct dentry *d = w->d;
	struct mount *m = w->m;
	if (m && d == BPF_CORE_READ(m, mnt.mnt_root)) {
		struct mount *parent = BPF_CORE_READ(m, mnt_parent);
		if (!parent || parent == m)
			return 1; /* the root mount's root */
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = parent;
		return 0;
	}
	struct dentry *up = BPF_CORE_READ(d, d_parent);
	struct path_scratch *sc = w->sc;
	if (!up || up == d || sc->n >= PATH_DEPTH)
		return 1;
	sc->names[sc->n & (PATH_DEPTH - 1)] = BPF_CORE_READ(d, d_name.name);
	sc->n++;
	w->d = up;
	return 0;
}

/* One component written, outermost first: "/name". */
static long path_write(__u32 index, void *data)
{
	struct path_scratch *sc = ((struct path_walk *)data)->sc;
	if (index >= sc->n || sc->pos >= BPFBOX_PATH_LEN - 1)
		return 1;
	__u32 i = (sc->n - 1 - index) & (PATH_DEPTH - 1);
	sc->buf[sc->pos & (BPFBOX_PATH_LEN - 1)] = '/';
	sc->pos++;
	long len = bpf_probe_read_kernel_str(&sc->buf[sc->pos & (BPFBOX_PATH_LEN - 1)], BPFBOX_PATH_LEN,
					     sc->names[i]);
	if (len <= 0)
		return 1;
	sc->pos += len - 1;
	return 0;
}

/* The absolute path of a dentry reached through mount `m`, as d_path would
 * write it, for the hooks where the kernel refuses bpf_d_path: up the
 * dentries to the mount's root, then on from where that mount is mounted,
 * to the root mount. Without a mount, up to the root of the dentry's file
 * system: its path there. Deeper than PATH_DEPTH components, the outermost
 * are left out. Loops are bpf_loop callbacks, so the verifier checks each
 * step once.
 *
 * A global function: the verifier checks it once, not at every call. It
 * takes addresses as numbers (global functions take no kernel pointers),
 * reads through them with probes, and leaves the path in this CPU's
 * path_scratch buffer. */
__noinline int walk_path(unsigned long dentry_address, unsigned long mount_address)
{
	__u32 zero = 0;
	struct path_scratch *sc = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!sc)
		return 0;
	sc->buf[0] = 0;
	sc->n = 0;
	sc->pos = 0;
	if (!dentry_address)
		return 0;
	struct path_walk w = {
		.sc = sc,
		.d = (struct dentry *)dentry_address,
		.m = (struct mount *)mount_address,
	};
	bpf_loop(PATH_DEPTH + 8, path_up, &w, 0);
	bpf_loop(PATH_DEPTH, path_write, &w, 0);
	if (sc->pos == 0)
		sc->buf[sc->pos++] = '/';
	sc->buf[sc->pos & (2 * BPFBOX_PATH_LEN - 1)] = 0;
	sc->buf[BPFBOX_PATH_LEN - 1] = 0;
	return 0;
}

/* walk_path's result into `out` (BPFBOX_PATH_LEN bytes). */
static __always_inline void walked_into(unsigned long dentry, unsigned long mount, char *out)
{
	__u32 zero = 0;
	walk_path(dentry, mount);
	struct path_scratch *sc = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!sc || bpf_probe_read_kernel(out, BPFBOX_PATH_LEN, sc->buf))
		out[0] = 0;
}

/* The absolute path of `p` into `out`. Values read through probes are
 * numbers to the verifier, as walk_path needs them. */
static __always_inline void path_into(struct path *p, char *out)
{
	struct vfsmount *vfs = BPF_CORE_READ(p, mnt);
	unsigned long mount = vfs ? (unsigned long)vfs - bpf_core_field_offset(struct mount, mnt) : 0;
	walked_into((unsigned long)BPF_CORE_READ(p, dentry), mount, out);
}

/* ---- Where in its program a process was ------------------------------- */

#define STACK_WORDS (BPFBOX_STACK_SCAN / 8)

struct frame_scratch {
	__u64 words[STACK_WORDS];
	__u64 frames[BPFBOX_FRAMES];
	__u64 start_code, end_code;
	__u32 n, pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame_scratch);
} frame_scratch SEC(".maps");

struct frame_walk {
	struct frame_scratch *sc;
};

/* One stack word: kept when it points into the executable's code. */
static long frame_word(__u32 index, void *data)
{
	struct frame_scratch *sc = ((struct frame_walk *)data)->sc;
	__u64 word = sc->words[index & (STACK_WORDS - 1)];
	if (word < sc->start_code || word >= sc->end_code)
		return 0;
	sc->frames[sc->n & (BPFBOX_FRAMES - 1)] = word;
	sc->n++;
	return sc->n >= BPFBOX_FRAMES;
}

/* The words on the calling thread's user stack that point into its
 * executable's code, innermost first, into this CPU's frame_scratch. No
 * frame pointers needed (Debian builds without): a reader keeps those that
 * follow a call instruction. A global function, verified once. */
__noinline int user_frames(void)
{
	__u32 zero = 0;
	struct frame_scratch *sc = bpf_map_lookup_elem(&frame_scratch, &zero);
	if (!sc)
		return 0;
	__builtin_memset(sc->frames, 0, sizeof(sc->frames));
	sc->n = 0;
	sc->start_code = 0;
	struct task_struct *task = bpf_get_current_task_btf();
	/* task stays trusted for bpf_task_pt_regs */
	/* Probes, not loads through task: this object names no kernel type
	 * id, so that it is relocated against the kernel types it names
	 * alone (runtime/src/kernel/types.rs). */
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return 0;
	sc->start_code = BPF_CORE_READ(mm, start_code);
	sc->end_code = BPF_CORE_READ(mm, end_code);
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	unsigned long sp = USER_SP(regs);
	__u32 words = STACK_WORDS;
	/* Near the top of the stack a full read fails: a quarter, then. */
	if (bpf_probe_read_user(sc->words, sizeof(sc->words), (void *)sp)) {
		words = STACK_WORDS / 4;
		if (bpf_probe_read_user(sc->words, words * 8, (void *)sp))
			return 0;
	}
	struct frame_walk walk = {.sc = sc};
	bpf_loop(words, frame_word, &walk, 0);
	return 0;
}

/* The executable an address space runs (0 for none: a kernel thread),
 * and its device and inode number into *dev, *ino (0 for none): for an
 * event's exe, and for the process a /proc entry is of. Probes: the
 * address space may be another process's. */
static __always_inline struct file *executable(struct mm_struct *mm, __u64 *dev, __u64 *ino)
{
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : 0;
	struct inode *inode = exe ? BPF_CORE_READ(exe, f_inode) : 0;
	struct super_block *sb = inode ? BPF_CORE_READ(inode, i_sb) : 0;
	*dev = sb ? BPF_CORE_READ(sb, s_dev) : 0;
	*ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	return exe;
}

/* ---- Events ------------------------------------------------------------- */

/* emit_event's body, which current_decision asks too. */
static __always_inline int event_of(struct object *o, __u64 slot_serial, __u64 version_scope,
				    __u64 access_decision)
{
	struct bpfbox_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		struct bpfbox_stats *st = stats_entry();
		if (st)
			__sync_fetch_and_add(&st->events_dropped, 1);
		if (o->scratch)
			release_scratch();
		return 0;
	}
	__u64 id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->slot = slot_serial >> 32;
	e->serial = (__u32)slot_serial;
	e->version = version_scope >> 32;
	e->scope = (__u32)version_scope;
	e->access = access_decision >> 32;
	e->decision = (__u32)access_decision;
	e->op = o->op;
	e->kind = o->kind;
	e->family = o->family;
	e->signal = o->signal;
	e->peer_pid = o->peer_pid;
	e->number = o->number;
	e->path_kind = BPFBOX_PATH_NONE;
	e->dev = o->dev;
	e->ino = o->ino;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Probes (user_frames says why) */
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	e->ppid = parent ? BPF_CORE_READ(parent, tgid) : 0;
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct file *exe = executable(mm, &e->exe_dev, &e->exe_ino);
	e->exe[0] = 0;
	if (exe && o->scratch)
		path_into(&exe->f_path, e->exe);
	e->argv0[0] = 0;
	if (mm && bpf_probe_read_user_str(e->argv0, sizeof(e->argv0), (void *)BPF_CORE_READ(mm, arg_start)) < 0)
		e->argv0[0] = 0;
	e->path[0] = 0;
	__u32 zero = 0;
	/* Into locals first: BPF_CORE_READ relocates its first argument's
	 * fields, and struct object is not a kernel type. */
	struct path *walk = o->walk;
	unsigned long dentry = (unsigned long)o->dentry;
	struct dentry *entry = o->entry;
	if (!o->scratch) {
		/* another event holds the buffers: no path rather than its */
	} else if (o->d_path) {
		struct d_path_scratch *sc = bpf_map_lookup_elem(&d_path_scratch, &zero);
		if (sc && bpf_probe_read_kernel_str(e->path, sizeof(e->path), sc->path) > 0)
			e->path_kind = BPFBOX_PATH_ABSOLUTE;
	} else if (walk) {
		path_into(walk, e->path);
		e->path_kind = BPFBOX_PATH_ABSOLUTE;
	} else if (dentry) {
		walked_into(dentry, 0, e->path);
		e->path_kind = BPFBOX_PATH_IN_FS;
	}
	e->entry[0] = 0;
	if (entry && bpf_probe_read_kernel_str(e->entry, sizeof(e->entry), BPF_CORE_READ(entry, d_name.name)) < 0)
		e->entry[0] = 0;
	if (o->scratch)
		user_frames();
	struct frame_scratch *frames = o->scratch ? bpf_map_lookup_elem(&frame_scratch, &zero) : 0;
	e->start_code = frames ? frames->start_code : 0;
	if (!frames || bpf_probe_read_kernel(e->frames, sizeof(e->frames), frames->frames))
		__builtin_memset(e->frames, 0, sizeof(e->frames));
	bpf_ringbuf_submit(e, 0);
	if (o->scratch)
		release_scratch();
	return 0;
}

SEC("freplace/emit_event")
int emit_event(struct object *o, __u64 slot_serial, __u64 version_scope, __u64 access_decision)
{
	return o ? event_of(o, slot_serial, version_scope, access_decision) : 0;
}

/* ---- Rules -------------------------------------------------------------- */

/* A walk up the directories for rule_masks: on the stack (bpf_loop's
 * context must be), small (the stack of all calls together is 512 bytes). */
struct walk {
	struct query *q;
	struct dentry *dentry;
	__u64 dev;
};

/* One step up the directory tree: the subtree ("**") rules of that directory. */
static long walk_up(__u32 index, void *data)
{
	struct walk *w = data;
	struct query *q = w->q;
	/* Into a local first: BPF_CORE_READ relocates every field access in its
	 * first argument, and struct walk is not a kernel type. */
	struct dentry *dentry = w->dentry;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (!parent || parent == dentry)
		return 1; /* the root of the file system */
	w->dentry = parent;
	struct bpfbox_rule_key key = {
		.version = q->version,
		.kind = BPFBOX_RULE_SUBTREE,
		.dev = w->dev,
		.ino = BPF_CORE_READ(parent, d_inode, i_ino),
	};
	for (int i = 0; i < NSCOPES; i++) {
		if (q->scopes[i] == BPFBOX_NO_SCOPE)
			continue;
		key.scope = q->scopes[i];
		add_masks(&q->acc, bpf_map_lookup_elem(&rules, &key));
	}
	return 0;
}

/* The lookups of one object's rules, one per scope (bpf_loop's context). */
struct scope_lookups {
	struct query *q;
	struct bpfbox_rule_key key;
};

static long scope_lookup(__u32 index, void *data)
{
	struct scope_lookups *l = data;
	struct query *q = l->q;
	if (index >= NSCOPES)
		return 1;
	__u32 scope = q->scopes[index];
	if (scope == BPFBOX_NO_SCOPE)
		return 0;
	l->key.scope = scope;
	add_masks(&q->acc, bpf_map_lookup_elem(&rules, &l->key));
	return 0;
}

/* rule_masks' body, which file_decision asks too. */
static __always_inline int masks_of(struct query *q, __u32 table, __u32 kind, __u64 a, __u64 b)
{
	__builtin_memset(&q->acc, 0, sizeof(q->acc));
	struct bpfbox_rule_key key = {.version = q->version};
	switch (table) {
	case TABLE_FILE:
		key.kind = BPFBOX_RULE_FILE;
		key.dev = a;
		key.ino = b;
		break;
	case TABLE_TASK:
		key.kind = kind;
		key.dev = a;
		key.ino = b;
		break;
	case TABLE_PRIV:
		key.kind = kind;
		key.number = a;
		break;
	default:
		key.kind = BPFBOX_RULE_NET;
		key.number = a;
	}
	if (q->lost) {
		/* Fail closed: a scope whose rules are unknown denies all. */
		q->acc.deny = ~0u;
		q->acc.logged = ~0u;
		return 0;
	}
	if (table != TABLE_FILE || b) {
		struct scope_lookups l = {.q = q, .key = key};
		bpf_loop(q->count, scope_lookup, &l, 0);
	}
	if (table != TABLE_FILE || !q->dentry)
		return 0;
	struct walk w = {.q = q, .dentry = (struct dentry *)q->dentry, .dev = a};
	bpf_loop(BPFBOX_MAX_TREE_DEPTH, walk_up, &w, 0);
	return 0;
}

SEC("freplace/rule_masks")
int rule_masks(struct query *q, __u32 table, __u32 kind, __u64 a, __u64 b)
{
	return q ? masks_of(q, table, kind, a, b) : 0;
}

/* ---- Files -------------------------------------------------------------- */

/* Changes to the BPF file system that holds bpfbox's pins. */
#define FS_MODIFY (BPFBOX_FS_WRITE | BPFBOX_FS_APPEND | BPFBOX_FS_SETATTR | BPFBOX_FS_RM | BPFBOX_FS_LINK)

/* The process a /proc/PID/... inode is of (its tgid, 0 when the inode is
 * not a pid entry: /proc/meminfo and friends are ordinary files), with
 * the executable it runs into o. Found by address arithmetic, not through
 * BTF: read with probes. */
static __always_inline __u32 procfs_target(struct inode *inode, struct object *o)
{
	unsigned long proc_inode = (unsigned long)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	struct pid *pid = BPF_CORE_READ((struct proc_inode *)proc_inode, pid);
	if (!pid)
		return 0;
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);
	if (!first)
		return 0;
	struct task_struct *task =
		(struct task_struct *)((unsigned long)first - bpf_core_field_offset(struct task_struct, pid_links));
	__u64 dev, ino;
	struct file *exe_file = executable(BPF_CORE_READ(task, mm), &dev, &ino);
	o->dev = dev;
	o->ino = ino;
	o->walk = exe_file ? &exe_file->f_path : 0;
	return BPF_CORE_READ(task, tgid);
}

SEC("freplace/file_decision")
int file_decision(struct query *q, struct bpfbox_proc *proc, struct object *o, __u32 access)
{
	if (!q || !proc || !o)
		return -EPERM; /* every caller gives all three */
	o->event = 0;
	o->pathless = 0;
	o->file_rules = 0;
	/* Into a local first: BPF_CORE_READ relocates its first argument's
	 * fields, and struct object is not a kernel type. */
	struct inode *inode = o->inode;
	if (!access || !inode)
		return 0;
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	unsigned long magic = sb ? BPF_CORE_READ(sb, s_magic) : 0;
	__u32 table = TABLE_FILE, kind = 0;
	__u64 a, b;
	switch (file_class(BPF_CORE_READ(inode, i_mode), magic, sb ? BPF_CORE_READ(sb, s_flags) : 0)) {
	case CLASS_NOT_A_FILE:
		return 0;
	case CLASS_MEMORY:
		/* Reading and writing one's own memory is free; running code
		 * from it is a sys(memfd_exec) grant, not an exec rule. */
		if (!(access & BPFBOX_FS_EXEC))
			return 0;
		o->kind = BPFBOX_RULE_SYS;
		o->dentry = 0;
		o->walk = 0;
		o->entry = 0;
		o->pathless = 1;
		table = TABLE_PRIV;
		kind = BPFBOX_RULE_SYS;
		a = o->number = 0;
		b = 0;
		access = BPFBOX_SYS_MEMFD_EXEC;
		break;
	default:
		a = o->dev = BPF_CORE_READ(sb, s_dev);
		b = o->ino = BPF_CORE_READ(inode, i_ino);
		/* Unlinking a pinned link would detach a bpfbox program:
		 * refused to every confined process, in complain mode too. */
		if (magic == BPF_FS_MAGIC && (access & FS_MODIFY)) {
			o->event = BPFBOX_DECISION_DENY;
			o->event_access = access & FS_MODIFY;
			return -EPERM;
		}
		__u32 target = magic == PROC_SUPER_MAGIC ? procfs_target(inode, o) : 0;
		if (target == bpf_get_current_pid_tgid() >> 32)
			return 0; /* a process's own entries are always allowed */
		if (target) {
			/* another process's: a proc access to that process */
			o->op = BPFBOX_OP_PROC;
			o->kind = BPFBOX_RULE_PROC;
			o->peer_pid = target;
			o->dentry = 0;
			o->pathless = 1;
			table = TABLE_TASK;
			kind = BPFBOX_RULE_PROC;
			a = o->dev;
			b = o->ino;
		} else {
			q->dentry = (q->flags & BPFBOX_PROFILE_SUBTREES) ? (unsigned long)o->dentry : 0;
			o->file_rules = magic != BPF_FS_MAGIC;
		}
	}
	masks_of(q, table, kind, a, b);
	int verdict;
	o->event = judge_access(proc, q->flags, &q->acc, access, o->op, &verdict);
	o->event_access = access;
	return verdict;
}

/* ---- Decisions about the caller alone ----------------------------------- */

/* This CPU's recent entry for the caller's rule (kind, number), when it
 * is this thread's under the current epoch (r) and for that rule: what
 * it grants without an event; 0 when a full decision must answer. */
static __always_inline __u32 recent_caller_grants(struct recent_caller *c, struct recall *r, __u32 kind,
						  __u32 number)
{
	__u64 before = read_once_ordered(&c->seq);
	if (before & 1)
		return 0;
	int hit = c->task == r->task && c->epoch == r->epoch && c->kind == kind && c->number == number;
	__u32 granted = c->granted;
	if (read_once_ordered(&c->seq) != before || !hit)
		return 0;
	return granted;
}

/* What a full decision found, kept in the entry under the tag read before
 * it (r). */
static __always_inline void note_recent_caller(struct recent_caller *c, struct recall *r, __u32 kind,
					       __u32 number, __u32 granted)
{
	/* Another writer on this CPU (a preempted one) may be at it. */
	__u64 seq;
	if (!seq_claim(&c->seq, &seq))
		return;
	c->task = r->task;
	c->epoch = r->epoch;
	c->kind = kind;
	c->number = number;
	c->granted = granted;
	seq_release_per_cpu(&c->seq, seq);
}

SEC("freplace/current_decision")
int current_decision(struct object *o, __u32 table, __u32 access, __u32 how)
{
	if (!o)
		return -EPERM;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	/* What this CPU remembers of the rule for the thread (recent_caller),
	 * the tag read first, before anything it guards. Its answer (allowed
	 * by the rule with no event) holds for bpfbox's own protection too,
	 * which grants no less. No branch on `how` here: the verifier would
	 * walk the rest once for each. recent_epoch's one entry is always
	 * there. */
	__u32 kind = o->kind, number = table == TABLE_NET ? o->family : o->number;
	__u32 slot = recent_caller_slot(kind, number);
	struct recall r;
	if (!recall_thread(&r))
		return -EPERM;
	struct recent_caller *c = bpf_map_lookup_elem(&recent_caller, &slot);
	if (c && !(access & ~recent_caller_grants(c, &r, kind, number)))
		return 0;
	/* The process's state, as the hooks' get_state reads it, but for the
	 * confined bit: every caller asks it first (maybe_confined_caller),
	 * so that a process without a profile does not even build o. The
	 * bit set and no entry: a lost process (procs, scopes.h). */
	struct bpfbox_proc *proc = bpf_map_lookup_elem(&procs, &tgid);
	if (!proc)
		return lost_process();
	/* Direct loads, not probes: a helper call each costs every socket
	 * operation of a confined server about 60 instructions. Verified
	 * once here, the trust search 6.12 makes for them is paid once. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *leader = task->group_leader;
	if (!leader || !proc_is_callers(proc, leader->start_time))
		return 0;
	struct bpfbox_profile *profile = profile_in_force(proc);
	if (!profile)
		return 0;
	struct query q = {.version = profile->version, .flags = profile->flags};
	scopes_of(&q, tid);
	if (table == TABLE_NET)
		masks_of(&q, TABLE_NET, 0, o->family, 0);
	else
		masks_of(&q, TABLE_PRIV, o->kind, o->number, 0);
	int verdict = -EPERM;
	__u32 event = BPFBOX_DECISION_DENY;
	if (how == PROTECTED) {
		if (protection_granted(&q.acc, access))
			return 0;
	} else {
		event = judge_access(proc, q.flags, &q.acc, access, o->op, &verdict);
		/* Kept for a tainted process outside function scopes only: its
		 * taint is final, and a scope's rules are its own. The entry is
		 * looked up again: a pointer kept across the decision would
		 * double the states the verifier walks through it. */
		if (proc->tainted && !in_scope(tid)) {
			c = bpf_map_lookup_elem(&recent_caller, &slot);
			if (c)
				note_recent_caller(c, &r, kind, number, granted_by(&q.acc, o->op));
		}
	}
	if (event && !o->quiet) {
		o->d_path = 0;
		o->scratch = try_claim_scratch();
		event_of(o, pair(proc->slot, profile->serial), pair(profile->version, innermost_scope_of(&q)),
			 pair(access, event));
	}
	return verdict;
}
