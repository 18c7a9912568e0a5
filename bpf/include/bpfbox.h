/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The one table of constants and map layouts shared by the BPF programs
 * (bpfbox.bpf.c) and the Rust crates. Rust reads this file through bindgen
 * (bpf/build.rs); nothing on the Rust side restates these numbers.
 *
 * The names of the *_access enumerators are also the policy language's
 * vocabulary: BPFBOX_FS_READ is the flag `read`, BPFBOX_NET_BIND is `bind`.
 * Adding an enumerator here adds a word to the language.
 */
#ifndef BPFBOX_H
#define BPFBOX_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bump when a map layout below changes, or the set of shared functions
 * (shared.h) whose links a load pins: a loader refuses pinned state of
 * another ABI version instead of misreading it. */
#define BPFBOX_ABI_VERSION 12

/* Access to files, and to other processes' /proc entries. */
enum bpfbox_fs_access {
	BPFBOX_FS_READ = 1 << 0,
	BPFBOX_FS_WRITE = 1 << 1,
	BPFBOX_FS_APPEND = 1 << 2,
	BPFBOX_FS_EXEC = 1 << 3,
	BPFBOX_FS_SETATTR = 1 << 4,
	BPFBOX_FS_GETATTR = 1 << 5,
	BPFBOX_FS_IOCTL = 1 << 6,
	BPFBOX_FS_RM = 1 << 7,
	BPFBOX_FS_LINK = 1 << 8,
	/* connecting, or sending a datagram, to the unix socket bound at the path */
	BPFBOX_FS_CONNECT = 1 << 9,
};

/* Signals, grouped: 0 is sigcheck, SIGCHLD/SIGKILL/SIGSTOP are their own,
 * every other signal is sigmisc. */
enum bpfbox_signal_access {
	BPFBOX_SIGNAL_SIGCHLD = 1 << 0,
	BPFBOX_SIGNAL_SIGKILL = 1 << 1,
	BPFBOX_SIGNAL_SIGSTOP = 1 << 2,
	BPFBOX_SIGNAL_SIGMISC = 1 << 3,
	BPFBOX_SIGNAL_SIGCHECK = 1 << 4,
};

/* ptrace has one access: attaching to (or being traced by) the process. */
enum bpfbox_ptrace_access {
	BPFBOX_PTRACE_ATTACH = 1 << 0,
};

/* Socket operations, checked per address family. */
enum bpfbox_net_access {
	BPFBOX_NET_CONNECT = 1 << 0,
	BPFBOX_NET_BIND = 1 << 1,
	BPFBOX_NET_ACCEPT = 1 << 2,
	BPFBOX_NET_LISTEN = 1 << 3,
	BPFBOX_NET_SEND = 1 << 4,
	BPFBOX_NET_RECV = 1 << 5,
	BPFBOX_NET_CREATE = 1 << 6,
	BPFBOX_NET_SHUTDOWN = 1 << 7,
};

/* Privileged operations that are not one capability, for the sys rule. */
enum bpfbox_sys_access {
	BPFBOX_SYS_SYSVIPC = 1 << 0,    /* SysV shared memory, message queues, semaphores */
	BPFBOX_SYS_KEYS = 1 << 1,       /* the kernel's key rings (add_key, keyctl, request_key) */
	BPFBOX_SYS_SIGIO = 1 << 2,      /* SIGIO/SIGURG directed at another process (F_SETOWN) */
	BPFBOX_SYS_MEMFD_EXEC = 1 << 3, /* exec or PROT_EXEC of memfds and shared anonymous memory */
};

/* Linux capabilities, numbered as in <linux/capability.h>: the names of the
 * cap rule (`cap(net_bind_service|setuid)`). Values are stored in images. */
enum bpfbox_capability {
	BPFBOX_CAPABILITY_CHOWN = 0,
	BPFBOX_CAPABILITY_DAC_OVERRIDE = 1,
	BPFBOX_CAPABILITY_DAC_READ_SEARCH = 2,
	BPFBOX_CAPABILITY_FOWNER = 3,
	BPFBOX_CAPABILITY_FSETID = 4,
	BPFBOX_CAPABILITY_KILL = 5,
	BPFBOX_CAPABILITY_SETGID = 6,
	BPFBOX_CAPABILITY_SETUID = 7,
	BPFBOX_CAPABILITY_SETPCAP = 8,
	BPFBOX_CAPABILITY_LINUX_IMMUTABLE = 9,
	BPFBOX_CAPABILITY_NET_BIND_SERVICE = 10,
	BPFBOX_CAPABILITY_NET_BROADCAST = 11,
	BPFBOX_CAPABILITY_NET_ADMIN = 12,
	BPFBOX_CAPABILITY_NET_RAW = 13,
	BPFBOX_CAPABILITY_IPC_LOCK = 14,
	BPFBOX_CAPABILITY_IPC_OWNER = 15,
	BPFBOX_CAPABILITY_SYS_MODULE = 16,
	BPFBOX_CAPABILITY_SYS_RAWIO = 17,
	BPFBOX_CAPABILITY_SYS_CHROOT = 18,
	BPFBOX_CAPABILITY_SYS_PTRACE = 19,
	BPFBOX_CAPABILITY_SYS_PACCT = 20,
	BPFBOX_CAPABILITY_SYS_ADMIN = 21,
	BPFBOX_CAPABILITY_SYS_BOOT = 22,
	BPFBOX_CAPABILITY_SYS_NICE = 23,
	BPFBOX_CAPABILITY_SYS_RESOURCE = 24,
	BPFBOX_CAPABILITY_SYS_TIME = 25,
	BPFBOX_CAPABILITY_SYS_TTY_CONFIG = 26,
	BPFBOX_CAPABILITY_MKNOD = 27,
	BPFBOX_CAPABILITY_LEASE = 28,
	BPFBOX_CAPABILITY_AUDIT_WRITE = 29,
	BPFBOX_CAPABILITY_AUDIT_CONTROL = 30,
	BPFBOX_CAPABILITY_SETFCAP = 31,
	BPFBOX_CAPABILITY_MAC_OVERRIDE = 32,
	BPFBOX_CAPABILITY_MAC_ADMIN = 33,
	BPFBOX_CAPABILITY_SYSLOG = 34,
	BPFBOX_CAPABILITY_WAKE_ALARM = 35,
	BPFBOX_CAPABILITY_BLOCK_SUSPEND = 36,
	BPFBOX_CAPABILITY_AUDIT_READ = 37,
	BPFBOX_CAPABILITY_PERFMON = 38,
	BPFBOX_CAPABILITY_BPF = 39,
	BPFBOX_CAPABILITY_CHECKPOINT_RESTORE = 40,
};

/* The access bit of a cap rule's record: the capability may be used. */
#define BPFBOX_CAP_USE 1

/* What a rule's object is. Values are stored in images: never renumber. */
enum bpfbox_rule_kind {
	BPFBOX_RULE_FILE = 1,    /* one path, identified by (dev, ino) */
	BPFBOX_RULE_SUBTREE = 2, /* everything below a directory (a "**" rule) */
	BPFBOX_RULE_GLOB = 3,    /* a path with '*' components */
	BPFBOX_RULE_PROC = 4,    /* /proc/<pid> of processes running an executable */
	BPFBOX_RULE_SIGNAL = 5,  /* signals to processes running an executable */
	BPFBOX_RULE_PTRACE = 6,  /* ptrace of processes running an executable */
	BPFBOX_RULE_NET = 7,     /* sockets of one address family */
	BPFBOX_RULE_CAP = 8,     /* one capability (enum bpfbox_capability) */
	BPFBOX_RULE_SYS = 9,     /* privileged operations (enum bpfbox_sys_access) */
};

/* Per-profile flags. */
enum bpfbox_profile_flags {
	BPFBOX_PROFILE_COMPLAIN = 1 << 0,    /* log what would be denied, allow it */
	BPFBOX_PROFILE_TAINT_RULES = 1 << 1, /* starts untainted until a taint rule fires */
	/* Set by the loader, never in images: the profile has "**" (subtree) rules,
	 * so file checks walk the parent directories. */
	BPFBOX_PROFILE_SUBTREES = 1 << 2,
};

/* Scope ids in rule keys and threads' scope lists: 0 for rules that hold
 * everywhere, BPFBOX_NO_SCOPE for an unused entry of a list; a function
 * scope's id is anything else (the loader makes sure of it). */
#define BPFBOX_ALWAYS_SCOPE 0u
#define BPFBOX_NO_SCOPE 0xffffffffu

/* Where a function scope lives. */
enum bpfbox_scope_kind {
	BPFBOX_SCOPE_USER = 1,   /* #[func]: uprobe + uretprobe */
	BPFBOX_SCOPE_KERNEL = 2, /* #[kfunc]: fentry + fexit */
};

/* Limits. */
enum bpfbox_limits {
	BPFBOX_MAX_PROFILES = 1024,
	/* distinct functions a thread can be inside at once; deeper nesting of
	 * the same function only counts up */
	BPFBOX_MAX_ACTIVE_SCOPES = 8,
	/* parents walked to match "**" (subtree) rules */
	BPFBOX_MAX_TREE_DEPTH = 24,
	BPFBOX_MAX_RULES = 1 << 18,
	BPFBOX_MAX_SCOPES = 1 << 12,
	BPFBOX_PATH_LEN = 256,
	BPFBOX_MAX_PROCS = 1 << 16,
	/* words of the confined-process bitmap: one bit per pid up to 2^22 */
	BPFBOX_PID_WORDS = 1 << 16,
	BPFBOX_COMM_LEN = 16,
	BPFBOX_ARGV0_LEN = 64,
	BPFBOX_NAME_LEN = 256, /* one path component, NAME_MAX and its NUL */
	BPFBOX_RINGBUF_BYTES = 1 << 22,
	/* return addresses into the executable's code kept per event */
	BPFBOX_FRAMES = 8,
	/* bytes of the user stack searched for them */
	BPFBOX_STACK_SCAN = 2048,
};

/* What the kernel decided, as reported in events. */
enum bpfbox_decision {
	BPFBOX_DECISION_AUDIT = 1,    /* allowed and logged (#[audit]) */
	BPFBOX_DECISION_DENY = 2,     /* denied with -EPERM */
	BPFBOX_DECISION_COMPLAIN = 3, /* would be denied; allowed in complain mode */
	BPFBOX_DECISION_TAINT = 4,    /* a taint rule fired: enforcement starts */
};

/* Which hook saw the operation, as reported in events. */
enum bpfbox_op {
	BPFBOX_OP_OPEN = 1,
	BPFBOX_OP_PERMISSION = 2,
	BPFBOX_OP_EXEC = 3,
	BPFBOX_OP_MMAP = 4,
	BPFBOX_OP_MPROTECT = 5,
	BPFBOX_OP_IOCTL = 6,
	BPFBOX_OP_CREATE = 7,
	BPFBOX_OP_UNLINK = 8,
	BPFBOX_OP_LINK = 9,
	BPFBOX_OP_RENAME = 10,
	BPFBOX_OP_SETATTR = 11,
	BPFBOX_OP_GETATTR = 12,
	BPFBOX_OP_SIGNAL = 13,
	BPFBOX_OP_PTRACE = 14,
	BPFBOX_OP_PROC = 15,
	BPFBOX_OP_SOCKET_CREATE = 16,
	BPFBOX_OP_BIND = 17,
	BPFBOX_OP_CONNECT = 18,
	BPFBOX_OP_LISTEN = 19,
	BPFBOX_OP_ACCEPT = 20,
	BPFBOX_OP_SENDMSG = 21,
	BPFBOX_OP_RECVMSG = 22,
	BPFBOX_OP_SHUTDOWN = 23,
	BPFBOX_OP_UNIX_CONNECT = 24,
	BPFBOX_OP_UNIX_SEND = 25,
	BPFBOX_OP_CAPABLE = 26,  /* a capability check (number: the capability) */
	BPFBOX_OP_BPF = 27,      /* bpf(2) (number: the command) */
	BPFBOX_OP_MOUNT = 28,    /* mount, umount, remount, move_mount, pivot_root */
	BPFBOX_OP_MODULE = 29,   /* loading a kernel module, or asking for one */
	BPFBOX_OP_PERF = 30,     /* perf_event_open */
	BPFBOX_OP_LOCKDOWN = 31, /* an operation kernel lockdown guards (number: the reason) */
	BPFBOX_OP_SYSLOG = 32,   /* the kernel log (syslog(2), /proc/kmsg) */
	BPFBOX_OP_SCHED = 33,    /* nice, I/O priority, scheduler or rlimits of another process */
	BPFBOX_OP_SIGIO = 34,    /* F_SETOWN and friends aimed at another process */
	BPFBOX_OP_NOTIFY = 35,   /* an inotify, fanotify or dnotify watch */
	BPFBOX_OP_IPC = 36,      /* SysV IPC */
	BPFBOX_OP_KEY = 37,      /* kernel keys */
	BPFBOX_OP_FORK = 38,     /* a fork refused: no room to track the child */
};

/* ---- Map layouts. Every struct is padded by hand: no implicit holes. ---- */

/* exe_profiles: the executable a profile names -> its profile slot. */
struct bpfbox_inode_key {
	__u64 dev; /* kernel dev_t: MAJOR << 20 | MINOR */
	__u64 ino;
};

/* profiles: slot -> the version of its rules now in force. Replaced as one
 * map element, so a reload switches every process of the slot at once. */
struct bpfbox_profile {
	__u32 version;
	__u32 flags; /* enum bpfbox_profile_flags */
	/* Issued when the slot was given to this executable, kept across
	 * reloads: a process whose serial differs belongs to a profile that was
	 * unloaded, and is not confined by whatever now uses the slot. */
	__u32 serial;
	__u32 pad;
	__u64 exe_dev;
	__u64 exe_ino;
};

/* procs: tgid -> the profile a process runs under. start_time tells a
 * process from a later one that reuses its pid. */
struct bpfbox_proc {
	__u32 slot;
	__u32 tainted;
	__u64 start_time; /* of the thread group leader */
	__u32 serial;     /* the profile's serial (struct bpfbox_profile) */
	__u32 pad;
};

/* One function a thread is inside, and how many times (recursion). */
struct bpfbox_active_scope {
	__u32 scope;
	__u32 depth;
};

/* threads: tid -> the function scopes the thread is inside. */
struct bpfbox_thread {
	__u32 count;
	__u32 dropped; /* entries that found no free slot (fail closed) */
	__u64 start_time; /* of the thread */
	struct bpfbox_active_scope active[BPFBOX_MAX_ACTIVE_SCOPES];
};

/* The four sets of a rule, as access bitmasks of its kind. */
struct bpfbox_masks {
	__u32 allow;
	__u32 taint;
	__u32 audit;
	__u32 deny;
	/* The deny bits whose denials are logged: those of #[deny] rules
	 * without #[quiet]. A denial by quiet rules alone makes no event. */
	__u32 logged;
	__u32 pad;
	/* The policy lines of the rules behind these sets: the first taint,
	 * else audit, else allow rule, and the first #[deny] rule; 0 for none.
	 * The programs never read them: --follow finds the rule that decided
	 * an event here, off the decision's path. */
	__u32 line;
	__u32 deny_line;
};

/* rules: the sets of one kind of rule for one object, under one rule
 * version and scope. One map for every kind, not one a kind: a hash map's
 * buckets are allocated and cleared when it is made, for as many entries
 * as it may hold, whether used or not (4 MB for 262,144), and five such
 * maps were a tenth of a first load's instructions outside attaching. The
 * object, by kind (the fields a kind does not use are 0):
 *  - BPFBOX_RULE_FILE: a file, by dev and ino;
 *  - BPFBOX_RULE_SUBTREE: a directory, for the files below it ("**");
 *  - BPFBOX_RULE_SIGNAL, _PTRACE, _PROC: the processes running the
 *    executable of dev and ino;
 *  - BPFBOX_RULE_NET: sockets of the address family `number`;
 *  - BPFBOX_RULE_CAP: the capability `number`;
 *  - BPFBOX_RULE_SYS: the privileged operations (number 0). */
struct bpfbox_rule_key {
	__u32 version;
	__u32 scope; /* 0: always; else a function scope id */
	__u32 kind;  /* enum bpfbox_rule_kind */
	__u32 number;
	__u64 dev;
	__u64 ino;
};

/* events: one record per audited, denied, complained or tainting access. */
struct bpfbox_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 slot;
	__u32 version;
	__u32 op;       /* enum bpfbox_op */
	__u32 kind;     /* enum bpfbox_rule_kind */
	__u32 access;   /* requested bits of the kind's access enum */
	__u32 decision; /* enum bpfbox_decision */
	__u32 scope;    /* innermost function scope in force, 0 if none */
	__u32 family;   /* address family (net) */
	__u32 signal;   /* signal number (signal) */
	__u32 peer_pid; /* target process (signal, ptrace, proc) */
	__u32 number;   /* capability (cap), bpf command, lockdown reason, signal (sigio) */
	__u32 path_kind; /* enum bpfbox_path_kind: what `path` holds */
	__u64 dev;      /* object: file or target executable */
	__u64 ino;
	__u32 ppid;     /* the parent process */
	/* The profile's serial: a reader tells an event of a profile since
	 * unloaded from one of whatever took its slot after. */
	__u32 serial;
	char comm[BPFBOX_COMM_LEN];
	/* The object's path (a file; for signal, ptrace and proc, the target's
	 * executable), absolute or from its file system's root: path_kind. */
	char path[BPFBOX_PATH_LEN];
	char exe[BPFBOX_PATH_LEN];     /* the program the process runs */
	char argv0[BPFBOX_ARGV0_LEN]; /* its argv[0], cut to fit */
	/* For a directory's write when an entry is created, removed, linked or
	 * renamed: that entry's name in the directory. */
	char entry[BPFBOX_NAME_LEN];
	/* Where the process was in its own program: the first words on the
	 * user stack that point into the executable's code (mm->start_code to
	 * end_code), innermost first; 0 after the last. A reader checks each is
	 * a return address (it follows a call) and names its function from
	 * the executable's symbols: address - start_code + the lowest
	 * executable segment's address. Frame pointers are not needed. */
	__u64 start_code;
	__u64 frames[BPFBOX_FRAMES];
	/* The executable `exe` names: a reader checks a file it opens at that
	 * path is this one before reading symbols from it. */
	__u64 exe_dev;
	__u64 exe_ino;
};

/* What an event's path holds. Hooks given only a dentry know the file's
 * place in its file system, not the mount it was reached through: the
 * reader (bpfbox-load --follow) puts the mount point in front, from
 * /proc/self/mountinfo and the event's dev. */
enum bpfbox_path_kind {
	BPFBOX_PATH_NONE = 0,
	BPFBOX_PATH_ABSOLUTE = 1,
	BPFBOX_PATH_IN_FS = 2,
};

/* stats: counters of what could not be recorded. */
struct bpfbox_stats {
	__u64 events_dropped; /* ring buffer full */
	__u64 scopes_dropped; /* a thread inside too many scoped functions */
	/* procs entries plus forks and execs under way that will add one: never
	 * above BPFBOX_MAX_PROCS, so an insert into procs never finds it full. */
	__s64 procs_claimed;
	__u64 forks_refused; /* forks refused because procs was full */
	/* processes whose entry could not be stored (no memory), or forked by
	 * such a one: killed at their first operation */
	__u64 procs_lost;
};

/* registry: slot -> what the loader put there (for --list, reloads and
 * --unload). Written only by bpfbox-load. */
struct bpfbox_registry {
	__u32 version;
	__u32 flags;
	__u32 serial; /* struct bpfbox_profile's */
	__u32 pad;
	__u32 rules;  /* map entries of this version */
	__u32 scopes; /* function scopes attached */
	__u8 digest[32]; /* of the resolved profile: equal means a reload is a no-op */
	char exe[BPFBOX_PATH_LEN];
	char source[BPFBOX_PATH_LEN]; /* the policy file, as given to bpfboxc; events' lines are its */
};

/* scope_names: scope id -> the function, for --follow and --list. Written
 * only by bpfbox-load. */
struct bpfbox_scope_name {
	__u32 slot;
	__u32 kind; /* enum bpfbox_scope_kind */
	char name[BPFBOX_PATH_LEN];
};

/* meta: the pinned state's own version, and the last rule version issued. */
struct bpfbox_meta {
	__u32 abi_version;
	__u32 last_version;
	__u32 links; /* link pins of a complete load (programs, shared functions); 0 until then */
	/* Bumped after every change of the rules in force (a load, a reload,
	 * an unload): rules remembered under another generation are stale. */
	__u32 generation;
};

#endif /* BPFBOX_H */
