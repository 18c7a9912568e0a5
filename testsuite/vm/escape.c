/*
 * escape: what a root process tries in order to get out of its profile or
 * to switch bpfbox off, for the VM suite's escape cases. Each case runs the
 * technique in a confined copy and in an unprofiled copy (the control,
 * which must succeed, or the case proves nothing).
 *
 *   escape OP ARGS [, OP ARGS]...
 *
 * Prints one word per operation on one line: "ok", "denied" (EPERM or
 * EACCES) or "error:<errno name>", like probe.c.
 *
 * Operations (all as root):
 *   bpf-id                  BPF_MAP_GET_FD_BY_ID of the first map there is
 *   bpf-pin PATH            BPF_OBJ_GET of a pinned object
 *   bpf-create              BPF_MAP_CREATE of a small array
 *   pin-rm DIR              create a map, pin it as DIR/m, unlink the pin
 *   umount PATH | umount-lazy PATH | remount-ro PATH
 *   bind SRC DST            bind mount SRC over DST
 *   tmpfs DIR               mount a tmpfs over DIR
 *   move-mount SRC DST      open_tree(OPEN_TREE_CLONE) + move_mount
 *   pivot DIR               in a new mount namespace, chroot to a tmpfs at DIR and
 *                           pivot_root to a tmpfs below it
 *   open-write PATH | open-read PATH   open(2) only
 *   unlink PATH
 *   shm | msg | sem         create (and use, and remove) a private SysV object
 *   key-add                 add a key to the user key ring; prints "ok:ID"
 *   key-read ID             read a key (keyctl read)
 *   perf                    perf_event_open of a software counter on itself
 *   module                  init_module of a non-module (reaches the loader: ENOEXEC)
 *   ioperm | settime | reboot-cad | hostname | syslog | ifflags
 *   mknod PATH              a character device 1:1 (/dev/mem's numbers)
 *   prlimit PID | nice PID  set another process's limit or nice to what it is
 *   setown PID              fcntl(F_SETOWN) of a pipe to another process
 *   setown32 PID            ioctl(FIOSETOWN) of a UDP socket through int $0x80
 *   fanotify                fanotify_init
 *   inotify PATH            inotify_add_watch
 *   memfd-exec | memfd-mmapx   copy this program into a memfd; execveat it / map it PROT_EXEC
 *   bind-port PORT          bind a TCP socket to 127.0.0.1:PORT
 *   setuid UID              setresuid(UID, UID, UID)
 *   forks N                 fork N children that wait; prints "ok:N" or "refused:K:ERRNO"
 *   fill PIN | unfill PIN   add marked junk keys to a pinned hash map until it
 *                           is full ("ok:N"), or remove them
 *   count PIN               the entries of a pinned hash map ("ok:N")
 *   forget PIN KEY          delete the entry of a pinned hash map keyed by
 *                           the 4-byte number KEY (a pid)
 *   noop                    nothing, silently (what memfd-exec runs)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static const char *verdict(long rc)
{
	static char buf[64];
	if (rc >= 0)
		return "ok";
	if (errno == EPERM || errno == EACCES)
		return "denied";
	snprintf(buf, sizeof buf, "error:%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return buf;
}

/* ioctl through the 32-bit system call entry (int $0x80), which a 64-bit
 * process may use too: the kernel routes it through its compat code. */
static long ioctl32(int fd, unsigned int cmd, unsigned int arg)
{
	long ret;
	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(54), "b"(fd), "c"(cmd), "d"(arg)
		     : "memory", "r8", "r9", "r10", "r11");
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static long map_create(void)
{
	union bpf_attr a = {.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	return sys_bpf(BPF_MAP_CREATE, &a);
}

/* Runs f in a child (for operations that change the process, such as
 * unshare or setuid) and reports its verdict. */
static long in_child(long (*f)(const char *), const char *arg)
{
	int pipefd[2];
	if (pipe(pipefd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		long rc = f(arg);
		int err = rc < 0 ? errno : 0;
		(void)!write(pipefd[1], &err, sizeof err);
		_exit(0);
	}
	int err = 0;
	close(pipefd[1]);
	if (read(pipefd[0], &err, sizeof err) != sizeof err)
		err = ECHILD;
	waitpid(pid, NULL, 0);
	close(pipefd[0]);
	errno = err;
	return err ? -1 : 0;
}

/* pivot_root refuses to move the initramfs's rootfs, so the control
 * chroots into a tmpfs first (which the confined copy cannot either). */
static long pivot(const char *dir)
{
	char path[256];
	if (unshare(CLONE_NEWNS))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	mkdir(dir, 0755);
	if (mount("tmpfs", dir, "tmpfs", 0, NULL))
		return -1;
	snprintf(path, sizeof path, "%s/new", dir);
	mkdir(path, 0755);
	if (mount("tmpfs", path, "tmpfs", 0, NULL))
		return -1;
	snprintf(path, sizeof path, "%s/new/old", dir);
	mkdir(path, 0755);
	if (chroot(dir) || chdir("/"))
		return -1;
	return syscall(SYS_pivot_root, "/new", "/new/old");
}

static long become(const char *uid)
{
	uid_t u = atoi(uid);
	return setresuid(u, u, u);
}

static long copy_self_to_memfd(void)
{
	int in = open("/proc/self/exe", O_RDONLY);
	if (in < 0)
		return -1;
	int fd = memfd_create("escape", 0);
	if (fd < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(fd, buf, n) != n)
			return -1;
	close(in);
	return n < 0 ? -1 : fd;
}

static long memfd_exec(void)
{
	long fd = copy_self_to_memfd();
	if (fd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"escape", "noop", NULL};
		char *envp[] = {NULL};
		syscall(SYS_execveat, (int)fd, "", argv, envp, AT_EMPTY_PATH);
		_exit(errno == EPERM || errno == EACCES ? 126 : 127);
	}
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	errno = WIFEXITED(status) && WEXITSTATUS(status) == 126 ? EPERM : ENOEXEC;
	return -1;
}

/* N forks one after another, each child exiting at once: prints how many
 * failed, and with which error ("failed:N:EAGAIN"), else "ok:N". */
static void failforks(int n)
{
	int failed = 0, err = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			failed++;
			err = errno;
		} else {
			waitpid(pid, NULL, 0);
		}
	}
	if (failed)
		printf("failed:%d:%s", failed, strerrorname_np(err));
	else
		printf("ok:%d", n);
}

static long forks(int n)
{
	int gate[2];
	if (pipe(gate))
		return -1;
	int made = 0, err = 0;
	pid_t pids[4096];
	for (; made < n && made < 4096; made++) {
		pid_t pid = fork();
		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			char c;
			close(gate[1]);
			(void)!read(gate[0], &c, 1); /* until the parent is done */
			_exit(0);
		}
		pids[made] = pid;
	}
	close(gate[1]);
	for (int i = 0; i < made; i++)
		waitpid(pids[i], NULL, 0);
	if (err)
		printf("refused:%d:%s", made, strerrorname_np(err));
	else
		printf("ok:%d", made);
	return 0;
}

/* Keys of `fill`: a marker, then a counter; the rest zero. */
static long fill(const char *pin, int remove)
{
	union bpf_attr get = {.pathname = (unsigned long)pin};
	int fd = sys_bpf(BPF_OBJ_GET, &get);
	if (fd < 0)
		return -1;
	struct bpf_map_info info = {0};
	union bpf_attr attr = {.info.bpf_fd = fd, .info.info_len = sizeof info, .info.info = (unsigned long)&info};
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr))
		return -1;
	unsigned char key[256] = {0}, value[256] = {0};
	if (info.key_size < 16 || info.key_size > sizeof key || info.value_size > sizeof value) {
		errno = EINVAL;
		return -1;
	}
	long n = 0;
	for (unsigned long long i = 0; i < info.max_entries; i++) {
		unsigned long long marker = 0xb0b0b0b0b0b0b0b0ULL;
		memcpy(key, &marker, 8);
		memcpy(key + 8, &i, 8);
		/* a delete's attributes end at the key: the rest must be zero */
		union bpf_attr elem = {.map_fd = fd, .key = (unsigned long)key};
		if (!remove)
			elem.value = (unsigned long)value;
		if (sys_bpf(remove ? BPF_MAP_DELETE_ELEM : BPF_MAP_UPDATE_ELEM, &elem) == 0)
			n++;
		else if (!remove)
			break;
	}
	return n;
}

/* The entries of a pinned map, walked with GET_NEXT_KEY. */
static long count(const char *pin)
{
	union bpf_attr get = {.pathname = (unsigned long)pin};
	int fd = sys_bpf(BPF_OBJ_GET, &get);
	if (fd < 0)
		return -1;
	unsigned char key[256] = {0}, next[256] = {0};
	long n = 0;
	union bpf_attr walk = {.map_fd = fd, .key = 0, .next_key = (unsigned long)next};
	while (sys_bpf(BPF_MAP_GET_NEXT_KEY, &walk) == 0) {
		n++;
		memcpy(key, next, sizeof key);
		walk.key = (unsigned long)key;
	}
	return errno == ENOENT ? n : -1;
}

static void run(char **argv, int argc)
{
	const char *op = argv[0];
	const char *a = argc > 1 ? argv[1] : "";
	const char *b = argc > 2 ? argv[2] : "";
	long rc = -1;
	errno = 0;
	if (!strcmp(op, "bpf-id")) {
		union bpf_attr attr = {.start_id = 0};
		if (sys_bpf(BPF_MAP_GET_NEXT_ID, &attr) == 0) {
			union bpf_attr get = {.map_id = attr.next_id};
			rc = sys_bpf(BPF_MAP_GET_FD_BY_ID, &get);
		}
	} else if (!strcmp(op, "bpf-pin")) {
		union bpf_attr attr = {.pathname = (unsigned long)a};
		rc = sys_bpf(BPF_OBJ_GET, &attr);
	} else if (!strcmp(op, "bpf-create")) {
		rc = map_create();
	} else if (!strcmp(op, "pin-rm")) {
		rc = map_create();
		if (rc >= 0) {
			char path[256];
			snprintf(path, sizeof path, "%s/m", a);
			union bpf_attr attr = {.pathname = (unsigned long)path, .bpf_fd = rc};
			rc = sys_bpf(BPF_OBJ_PIN, &attr);
			if (rc == 0)
				rc = unlink(path);
		}
	} else if (!strcmp(op, "umount")) {
		rc = umount2(a, 0);
	} else if (!strcmp(op, "umount-lazy")) {
		rc = umount2(a, MNT_DETACH);
	} else if (!strcmp(op, "remount-ro")) {
		rc = mount(NULL, a, NULL, MS_REMOUNT | MS_RDONLY, NULL);
	} else if (!strcmp(op, "bind")) {
		rc = mount(a, b, NULL, MS_BIND, NULL);
	} else if (!strcmp(op, "tmpfs")) {
		rc = mount("tmpfs", a, "tmpfs", 0, NULL);
	} else if (!strcmp(op, "move-mount")) {
		rc = syscall(SYS_open_tree, AT_FDCWD, a, OPEN_TREE_CLONE);
		if (rc >= 0)
			rc = syscall(SYS_move_mount, (int)rc, "", AT_FDCWD, b, MOVE_MOUNT_F_EMPTY_PATH);
	} else if (!strcmp(op, "pivot")) {
		rc = in_child(pivot, a);
	} else if (!strcmp(op, "unlink")) {
		rc = unlink(a);
	} else if (!strcmp(op, "open-write")) {
		rc = open(a, O_WRONLY);
	} else if (!strcmp(op, "open-read")) {
		rc = open(a, O_RDONLY);
	} else if (!strcmp(op, "shm")) {
		rc = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		if (rc >= 0) {
			int id = rc;
			void *p = shmat(id, NULL, 0);
			rc = p == (void *)-1 ? -1 : 0;
			if (rc == 0)
				shmdt(p);
			int saved = errno;
			shmctl(id, IPC_RMID, NULL);
			errno = saved;
		}
	} else if (!strcmp(op, "msg")) {
		rc = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (rc >= 0)
			msgctl(rc, IPC_RMID, NULL);
	} else if (!strcmp(op, "sem")) {
		rc = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
		if (rc >= 0)
			semctl(rc, 0, IPC_RMID);
	} else if (!strcmp(op, "key-add")) {
		rc = syscall(SYS_add_key, "user", "bbx-secret", "s3cret", 6, KEY_SPEC_USER_KEYRING);
		if (rc >= 0) {
			printf("ok:%ld", rc);
			return;
		}
	} else if (!strcmp(op, "key-read")) {
		char buf[64];
		rc = syscall(SYS_keyctl, KEYCTL_READ, atoi(a), buf, sizeof buf);
	} else if (!strcmp(op, "perf")) {
		struct perf_event_attr attr = {.type = PERF_TYPE_SOFTWARE, .size = sizeof attr, .config = PERF_COUNT_SW_CPU_CLOCK};
		rc = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	} else if (!strcmp(op, "module")) {
		static char junk[64] = "not a module";
		rc = syscall(SYS_init_module, junk, sizeof junk, "");
	} else if (!strcmp(op, "ioperm")) {
		rc = ioperm(0x80, 1, 1);
	} else if (!strcmp(op, "settime")) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		rc = settimeofday(&tv, NULL);
	} else if (!strcmp(op, "reboot-cad")) {
		rc = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
	} else if (!strcmp(op, "hostname")) {
		char name[256] = "";
		gethostname(name, sizeof name);
		rc = sethostname(name, strlen(name));
	} else if (!strcmp(op, "syslog")) {
		rc = klogctl(10, NULL, 0); /* SYSLOG_ACTION_SIZE_BUFFER */
	} else if (!strcmp(op, "ifflags")) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		struct ifreq ifr = {0};
		strcpy(ifr.ifr_name, "lo");
		rc = s < 0 ? -1 : ioctl(s, SIOCGIFFLAGS, &ifr);
		if (rc == 0)
			rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	} else if (!strcmp(op, "mknod")) {
		rc = mknod(a, S_IFCHR | 0600, makedev(1, 1));
		if (rc == 0)
			unlink(a);
	} else if (!strcmp(op, "prlimit")) {
		struct rlimit old;
		rc = prlimit(atoi(a), RLIMIT_NOFILE, NULL, &old);
		if (rc == 0)
			rc = prlimit(atoi(a), RLIMIT_NOFILE, &old, NULL);
	} else if (!strcmp(op, "nice")) {
		errno = 0;
		int nice = getpriority(PRIO_PROCESS, atoi(a));
		rc = errno ? -1 : setpriority(PRIO_PROCESS, atoi(a), nice);
	} else if (!strcmp(op, "setown")) {
		int p[2];
		rc = pipe(p);
		if (rc == 0)
			rc = fcntl(p[0], F_SETOWN, atoi(a));
	} else if (!strcmp(op, "setown32")) {
		/* the owner's pid, where a 32-bit pointer reaches it */
		int *pid = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		rc = pid == MAP_FAILED ? -1 : s;
		if (rc >= 0) {
			*pid = atoi(a);
			rc = ioctl32(s, FIOSETOWN, (unsigned int)(unsigned long)pid);
		}
	} else if (!strcmp(op, "fanotify")) {
		rc = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
	} else if (!strcmp(op, "inotify")) {
		int fd = inotify_init();
		rc = fd < 0 ? -1 : inotify_add_watch(fd, a, IN_OPEN | IN_MODIFY);
	} else if (!strcmp(op, "memfd-exec")) {
		rc = memfd_exec();
	} else if (!strcmp(op, "memfd-mmapx")) {
		rc = copy_self_to_memfd();
		if (rc >= 0) {
			void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, rc, 0);
			rc = p == MAP_FAILED ? -1 : 0;
		}
	} else if (!strcmp(op, "bind-port")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(a)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		rc = s < 0 ? -1 : bind(s, (struct sockaddr *)&addr, sizeof addr);
	} else if (!strcmp(op, "setuid")) {
		rc = in_child(become, a);
	} else if (!strcmp(op, "forks")) {
		forks(atoi(a));
		return;
	} else if (!strcmp(op, "failforks")) {
		failforks(atoi(a));
		return;
	} else if (!strcmp(op, "fill") || !strcmp(op, "unfill")) {
		rc = fill(a, !strcmp(op, "unfill"));
		if (rc >= 0) {
			printf("ok:%ld", rc);
			return;
		}
	} else if (!strcmp(op, "forget")) {
		union bpf_attr get = {.pathname = (unsigned long)a};
		int fd = sys_bpf(BPF_OBJ_GET, &get);
		__u32 key = atoi(b);
		union bpf_attr del = {.map_fd = fd, .key = (unsigned long)&key};
		rc = fd < 0 ? -1 : sys_bpf(BPF_MAP_DELETE_ELEM, &del);
	} else if (!strcmp(op, "count")) {
		rc = count(a);
		if (rc >= 0) {
			printf("ok:%ld", rc);
			return;
		}
	} else if (!strcmp(op, "noop")) {
		return; /* silent: the program exec'ed from a memfd */
	} else {
		printf("unknown-op:%s", op);
		return;
	}
	fputs(verdict(rc), stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape OP ARGS [, OP ARGS]...\n");
		return 2;
	}
	int start = 1;
	int first = 1;
	for (int i = 1; i <= argc; i++) {
		if (i == argc || !strcmp(argv[i], ",")) {
			if (i > start) {
				if (!first)
					putchar(' ');
				first = 0;
				run(argv + start, i - start);
				fflush(stdout);
			}
			start = i + 1;
		}
	}
	if (!(argc == 2 && !strcmp(argv[1], "noop")))
		putchar('\n');
	return 0;
}
