/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The few kernel types and fields bpfbox reads, declared with
 * preserve_access_index so that libbpf relocates every access against the
 * running kernel's BTF (CO-RE). Only the fields used are listed; their order
 * here does not matter. This replaces a 3 MB generated vmlinux.h.
 */
#ifndef BPFBOX_KERNEL_H
#define BPFBOX_KERNEL_H

#include <linux/types.h>
#include <linux/bpf.h>

typedef __u32 u32;
typedef __u64 u64;
typedef unsigned short umode_t;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

struct qstr {
	const unsigned char *name;
};

struct super_block {
	unsigned long s_flags;
	unsigned long s_magic;
	__u32 s_dev; /* dev_t: MAJOR << 20 | MINOR */
};

struct inode {
	umode_t i_mode;
	unsigned int i_nlink; /* in an anonymous union: CO-RE finds it there */
	unsigned long i_ino;
	struct super_block *i_sb;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct list_head {
	struct list_head *next, *prev;
};

struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
};

/* The vfsmount's container, for its list of mounts below it. */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
	struct list_head mnt_mounts;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	unsigned int f_mode;
};

struct mm_struct {
	struct file *exe_file;
	unsigned long arg_start;
	unsigned long start_code, end_code; /* the executable's code, mapped */
};

struct signal_struct {
	atomic_t live;
};

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

struct pid {
	struct hlist_head tasks[4];
};

struct task_struct {
	int pid;
	int tgid;
	unsigned int flags; /* PF_* */
	__u64 start_time;
	struct mm_struct *mm;
	struct signal_struct *signal;
	struct task_struct *group_leader;
	struct task_struct *real_parent;
	const struct cred *real_cred;
	const struct cred *cred;
	struct hlist_node pid_links[4];
	__u64 self_exec_id; /* counts the execs of the thread */
	unsigned int in_execve : 1;
};

struct proc_inode {
	struct pid *pid;
	struct inode vfs_inode;
};

struct linux_binprm {
	struct file *file;
};

struct sock_common {
	unsigned short skc_family;
};

struct sock {
	struct sock_common __sk_common;
};

struct socket {
	struct sock *sk;
};

struct unix_address;

struct unix_sock {
	struct sock sk;
	struct path path; /* where it is bound; no dentry for abstract and unnamed */
	struct unix_address *addr; /* none for a socket never bound (socketpair) */
};

struct vm_area_struct {
	unsigned long vm_flags;
	struct file *vm_file;
};

struct kernel_siginfo {
	int si_code;
};

/* A task's user registers at system call entry (bpf_task_pt_regs). */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long si;
	unsigned long dx;
	unsigned long orig_ax;
	unsigned long sp;
};
#define USER_SP(regs) ((regs)->sp)
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
};
struct pt_regs {
	struct user_pt_regs user_regs;
	__s32 syscallno;
};
#define USER_SP(regs) ((regs)->user_regs.sp)
#endif

#pragma clang attribute pop

struct pt_regs;
struct cred;

/* openat2's argument (copied in by the kernel before any hook runs). */
struct open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};
struct iattr;
struct msghdr;
struct sockaddr;

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000
#define S_IFDIR 0040000
#define SB_KERNMOUNT (1UL << 22) /* a file system's internal mount (shm_mnt, pipefs, ...) */
#define PROC_SUPER_MAGIC 0x9fa0
/* Objects that are not files in a directory tree, by file system magic. */
#define PIPEFS_MAGIC 0x50495045
#define SOCKFS_MAGIC 0x534F434B
#define ANON_INODE_FS_MAGIC 0x09041934
#define NSFS_MAGIC 0x6e736673
#define PID_FS_MAGIC 0x50494446 /* pidfds, 6.9 and later */
#define AIO_RING_MAGIC 0xa10a10a1
#define DMA_BUF_MAGIC 0x444d4142
/* Memory presented as a file: on these file systems' internal mounts. */
#define TMPFS_MAGIC 0x01021994 /* memfds, SysV shm, shared anonymous maps */
#define HUGETLBFS_MAGIC 0x958458f6
#define SECRETMEM_MAGIC 0x5345434d
#define BPF_FS_MAGIC 0xcafe4a11
#define MNT_DETACH 0x2
#define CAP_OPT_NOAUDIT 0x2
#define CLONE_THREAD 0x00010000
/* task_struct.flags: set by do_exit, which every task that ran goes through */
#define PF_EXITING 0x00000004
#define F_SETOWN 8
#define F_SETOWN_EX 15
#define FIOSETOWN 0x8901
#define SIOCSPGRP 0x8902
#define EAGAIN 11
/* enum kernel_read_file_id / kernel_load_data_id: the first that is not firmware */
#define READING_MODULE 2
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define __FMODE_EXEC 0x20 /* in f_flags: opened by exec (6.1 sets only this) */
#define O_APPEND 02000
#define O_ACCMODE 03
#define O_WRONLY 01
#define O_RDWR 02
#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define MAY_EXEC 0x1
#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define MAY_APPEND 0x8
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x1
#define VM_SHARED 0x8
#define PTRACE_MODE_ATTACH 0x2
#define SIGKILL 9
#define SIGCHLD 17
#define SIGSTOP 19
#define EPERM 1
#define AF_UNIX 1
#define PIDTYPE_PID 0

#endif
