// Generated from include/bpfbox.h by tests/generated.rs; do not edit.
/// Flag names of `enum bpfbox_fs_access`, in declaration order.
pub const FS_FLAGS: &[(&str, u32)] = &[
    ("read", 1),
    ("write", 2),
    ("append", 4),
    ("exec", 8),
    ("setattr", 16),
    ("getattr", 32),
    ("ioctl", 64),
    ("rm", 128),
    ("link", 256),
    ("connect", 512),
];
/// Flag names of `enum bpfbox_net_access`, in declaration order.
pub const NET_FLAGS: &[(&str, u32)] = &[
    ("connect", 1),
    ("bind", 2),
    ("accept", 4),
    ("listen", 8),
    ("send", 16),
    ("recv", 32),
    ("create", 64),
    ("shutdown", 128),
];
/// Flag names of `enum bpfbox_ptrace_access`, in declaration order.
pub const PTRACE_FLAGS: &[(&str, u32)] = &[
    ("attach", 1),
];
/// Flag names of `enum bpfbox_signal_access`, in declaration order.
pub const SIGNAL_FLAGS: &[(&str, u32)] = &[
    ("sigchld", 1),
    ("sigkill", 2),
    ("sigstop", 4),
    ("sigmisc", 8),
    ("sigcheck", 16),
];
/// Flag names of `enum bpfbox_sys_access`, in declaration order.
pub const SYS_FLAGS: &[(&str, u32)] = &[
    ("sysvipc", 1),
    ("keys", 2),
    ("sigio", 4),
    ("memfd_exec", 8),
];
/// Names of `enum bpfbox_capability`.
pub const CAPABILITY_NAMES: &[(&str, u32)] = &[
    ("chown", 0),
    ("dac_override", 1),
    ("dac_read_search", 2),
    ("fowner", 3),
    ("fsetid", 4),
    ("kill", 5),
    ("setgid", 6),
    ("setuid", 7),
    ("setpcap", 8),
    ("linux_immutable", 9),
    ("net_bind_service", 10),
    ("net_broadcast", 11),
    ("net_admin", 12),
    ("net_raw", 13),
    ("ipc_lock", 14),
    ("ipc_owner", 15),
    ("sys_module", 16),
    ("sys_rawio", 17),
    ("sys_chroot", 18),
    ("sys_ptrace", 19),
    ("sys_pacct", 20),
    ("sys_admin", 21),
    ("sys_boot", 22),
    ("sys_nice", 23),
    ("sys_resource", 24),
    ("sys_time", 25),
    ("sys_tty_config", 26),
    ("mknod", 27),
    ("lease", 28),
    ("audit_write", 29),
    ("audit_control", 30),
    ("setfcap", 31),
    ("mac_override", 32),
    ("mac_admin", 33),
    ("syslog", 34),
    ("wake_alarm", 35),
    ("block_suspend", 36),
    ("audit_read", 37),
    ("perfmon", 38),
    ("bpf", 39),
    ("checkpoint_restore", 40),
];
/// Names of `enum bpfbox_decision`.
pub const DECISION_NAMES: &[(&str, u32)] = &[
    ("audit", 1),
    ("deny", 2),
    ("complain", 3),
    ("taint", 4),
];
/// Names of `enum bpfbox_limits`.
pub const LIMITS_NAMES: &[(&str, u32)] = &[
    ("max_profiles", 1024),
    ("max_active_scopes", 8),
    ("max_tree_depth", 24),
    ("max_rules", 262144),
    ("max_scopes", 4096),
    ("path_len", 256),
    ("max_procs", 65536),
    ("max_forking", 4096),
    ("pid_words", 65536),
    ("comm_len", 16),
    ("argv0_len", 64),
    ("name_len", 256),
    ("ringbuf_bytes", 4194304),
    ("frames", 8),
    ("stack_scan", 2048),
];
/// Names of `enum bpfbox_op`.
pub const OP_NAMES: &[(&str, u32)] = &[
    ("open", 1),
    ("permission", 2),
    ("exec", 3),
    ("mmap", 4),
    ("mprotect", 5),
    ("ioctl", 6),
    ("create", 7),
    ("unlink", 8),
    ("link", 9),
    ("rename", 10),
    ("setattr", 11),
    ("getattr", 12),
    ("signal", 13),
    ("ptrace", 14),
    ("proc", 15),
    ("socket_create", 16),
    ("bind", 17),
    ("connect", 18),
    ("listen", 19),
    ("accept", 20),
    ("sendmsg", 21),
    ("recvmsg", 22),
    ("shutdown", 23),
    ("unix_connect", 24),
    ("unix_send", 25),
    ("capable", 26),
    ("bpf", 27),
    ("mount", 28),
    ("module", 29),
    ("perf", 30),
    ("lockdown", 31),
    ("syslog", 32),
    ("sched", 33),
    ("sigio", 34),
    ("notify", 35),
    ("ipc", 36),
    ("key", 37),
    ("fork", 38),
];
/// Names of `enum bpfbox_path_kind`.
pub const PATH_KIND_NAMES: &[(&str, u32)] = &[
    ("none", 0),
    ("absolute", 1),
    ("in_fs", 2),
];
/// Names of `enum bpfbox_profile_flags`.
pub const PROFILE_FLAGS_NAMES: &[(&str, u32)] = &[
    ("complain", 1),
    ("taint_rules", 2),
    ("subtrees", 4),
];
/// Names of `enum bpfbox_rule_kind`.
pub const RULE_KIND_NAMES: &[(&str, u32)] = &[
    ("file", 1),
    ("subtree", 2),
    ("glob", 3),
    ("proc", 4),
    ("signal", 5),
    ("ptrace", 6),
    ("net", 7),
    ("cap", 8),
    ("sys", 9),
];
/// Names of `enum bpfbox_scope_kind`.
pub const SCOPE_KIND_NAMES: &[(&str, u32)] = &[
    ("user", 1),
    ("kernel", 2),
];
