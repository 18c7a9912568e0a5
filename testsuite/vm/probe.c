/*
 * probe: performs operations and says what the kernel let it do, for the VM
 * suite. Copies of it at different paths carry different profiles.
 *
 *   probe OP ARGS [, OP ARGS]...
 *
 * Prints one word per operation on one line: "ok", "denied" (EPERM or
 * EACCES) or "error:<errno name>", and exits 0 (2 for bad usage). The
 * operations run in order in one process, so taint can be observed.
 *
 * Operations:
 *   read PATH | write PATH | append PATH | rdwr PATH   open (and read/write)
 *   openonly PATH          open for reading, no read
 *   readfd PATH            open, then read(2) separately: "ok" only if both work
 *   stat PATH | chmod PATH | unlink PATH | mkdir PATH
 *   setxattr PATH | removexattr PATH   trusted.bpfbox = "1", and removed
 *   bpfmap                 bpf(2): create a one-entry array map
 *   create PATH | create-append PATH | create-read PATH   open with O_CREAT|O_EXCL
 *   link OLD NEW | rename OLD NEW | symlink TARGET NEW
 *   mmapx PATH             mmap PROT_READ|PROT_EXEC
 *   reopen PATH            O_PATH open, then open /proc/self/fd/N for reading
 *   openat DIR NAME        O_PATH open of DIR, then openat(fd, NAME, O_RDONLY)
 *   ioctl PATH             FIONREAD on the open file
 *   exec PATH [ARG...]     fork + execve, wait: "ok" if it ran and exited 0
 *                          (its own output goes to stdout first)
 *   fork OP ARGS           run one operation in a forked child
 *   thread OP ARGS         run one operation in a new thread
 *   kill PID SIG | ptrace PID
 *   socket FAMILY          inet, inet6, unix, netlink
 *   connect PORT           TCP connect to 127.0.0.1:PORT
 *   unixlisten PATH | unixdgram PATH
 *                          bind a unix stream (listening) or datagram socket
 *                          at PATH (@NAME: abstract), kept open until exit
 *   unixconnect PATH       stream connect to the socket at PATH (or @NAME)
 *   unixsend PATH          send one datagram to the socket at PATH
 *   sleep SECONDS          (for targets of signals and ptrace)
 *   loop N PATH            open+read PATH N times; prints "ok" or "denied:K"
 *   loopuntil PATH STOP    open+read PATH until STOP exists: "ok:N" or "denied:K/N"
 *   waitfor PATH           wait until PATH exists (the test changes something);
 *                          says "probe: waiting for PATH" on stderr first
 *   hold PATH | readheld   open PATH and keep it; read(2) from the file kept
 *   flock PATH             take an exclusive flock on PATH, held until exit
 *   execin PATH ARG...     execv in place: the same process runs PATH (after
 *                          the output so far and a space)
 *   asuser UID PATH ARG... setuid(UID), then execv
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *verdict(int rc)
{
	static char buf[64];
	if (rc == 0)
		return "ok";
	if (errno == EPERM || errno == EACCES)
		return "denied";
	snprintf(buf, sizeof buf, "error:%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return buf;
}

static int do_open(const char *path, int flags, int rw)
{
	int fd = open(path, flags, 0644);
	if (fd < 0)
		return -1;
	char buf[16] = "x";
	ssize_t n = 0;
	if (rw == 'r')
		n = read(fd, buf, sizeof buf);
	else if (rw == 'w')
		n = write(fd, buf, 1);
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

struct op {
	char **argv;
	int argc;
	const char *result;
};

static int run_one(char **argv, int argc, const char **result);

/* The file `hold` opened, for `readheld`. */
static int held = -1;

static void *thread_main(void *arg)
{
	struct op *op = arg;
	run_one(op->argv, op->argc, &op->result);
	return NULL;
}

static int family_of(const char *name)
{
	if (!strcmp(name, "inet"))
		return AF_INET;
	if (!strcmp(name, "inet6"))
		return AF_INET6;
	if (!strcmp(name, "unix"))
		return AF_UNIX;
	if (!strcmp(name, "netlink"))
		return AF_NETLINK;
	return -1;
}

/* Runs the operation at argv[0]; returns how many arguments it used. */
/* A unix address: PATH, or @NAME for the abstract NAME. */
static socklen_t unix_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	strncpy(sa->sun_path, path, sizeof sa->sun_path - 1);
	if (path[0] == '@')
		sa->sun_path[0] = 0;
	return offsetof(struct sockaddr_un, sun_path) + strlen(path);
}

/* A unix socket of `type` bound at `path` (kept open), or connected or
 * sent to: returns 0 or -1 with errno. */
static int unix_op(const char *op, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = unix_address(path, &sa);
	int dgram = !strcmp(op, "unixdgram") || !strcmp(op, "unixsend");
	int s = socket(AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	int rc;
	if (!strcmp(op, "unixlisten") || !strcmp(op, "unixdgram")) {
		if (path[0] != '@')
			unlink(path);
		rc = bind(s, (struct sockaddr *)&sa, len);
		if (rc == 0 && !dgram)
			rc = listen(s, 64);
		return rc; /* open until the probe exits */
	}
	if (dgram)
		rc = sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len) == 1 ? 0 : -1;
	else
		rc = connect(s, (struct sockaddr *)&sa, len);
	int saved = errno;
	close(s);
	errno = saved;
	return rc;
}

static int run_one(char **argv, int argc, const char **result)
{
	const char *op = argv[0];
	const char *a = argc > 1 ? argv[1] : "";
	const char *b = argc > 2 ? argv[2] : "";
	int rc = -1;
	int used = 2;
	static char buf[64];
	errno = 0;
	if (!strcmp(op, "read"))
		rc = do_open(a, O_RDONLY, 'r');
	else if (!strcmp(op, "openonly"))
		rc = do_open(a, O_RDONLY, 0);
	else if (!strcmp(op, "readfd")) {
		int fd = open(a, O_RDONLY);
		if (fd >= 0) {
			char c;
			rc = read(fd, &c, 1) < 0 ? -1 : 0;
			int saved = errno;
			close(fd);
			errno = saved;
		}
	} else if (!strcmp(op, "write"))
		rc = do_open(a, O_WRONLY, 'w');
	else if (!strcmp(op, "append"))
		rc = do_open(a, O_WRONLY | O_APPEND, 'w');
	else if (!strcmp(op, "rdwr"))
		rc = do_open(a, O_RDWR, 'w');
	else if (!strcmp(op, "create"))
		rc = do_open(a, O_WRONLY | O_CREAT | O_EXCL, 0);
	else if (!strcmp(op, "create-append"))
		rc = do_open(a, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, 0);
	else if (!strcmp(op, "create-read"))
		rc = do_open(a, O_RDONLY | O_CREAT | O_EXCL, 0);
	else if (!strcmp(op, "stat")) {
		struct stat st;
		rc = stat(a, &st);
	} else if (!strcmp(op, "chmod"))
		rc = chmod(a, 0640);
	else if (!strcmp(op, "setxattr"))
		rc = setxattr(a, "trusted.bpfbox", "1", 1, 0);
	else if (!strcmp(op, "removexattr"))
		rc = removexattr(a, "trusted.bpfbox");
	else if (!strcmp(op, "bpfmap")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		rc = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
		if (rc >= 0) {
			close(rc);
			rc = 0;
		}
		used = 1;
	}
	else if (!strcmp(op, "setabi")) {
		/* meta's abi_version (its first field) set to A: the state as
		 * another version of bpfbox would have pinned it */
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.pathname = (unsigned long)"/sys/fs/bpf/bpfbox/maps/meta";
		int fd = syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof attr);
		__u32 key = 0, value[16] = {0};
		rc = -1;
		if (fd >= 0) {
			memset(&attr, 0, sizeof attr);
			attr.map_fd = fd;
			attr.key = (unsigned long)&key;
			attr.value = (unsigned long)value;
			if (syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr) == 0) {
				value[0] = atoi(a);
				attr.flags = BPF_ANY;
				rc = syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof attr);
			}
			close(fd);
		}
		used = 2;
	}
	else if (!strcmp(op, "unlink"))
		rc = unlink(a);
	else if (!strcmp(op, "mkdir"))
		rc = mkdir(a, 0755);
	else if (!strcmp(op, "link")) {
		rc = link(a, b);
		used = 3;
	} else if (!strcmp(op, "rename")) {
		rc = rename(a, b);
		used = 3;
	} else if (!strcmp(op, "symlink")) {
		rc = symlink(a, b);
		used = 3;
	} else if (!strcmp(op, "mmapx")) {
		int fd = open(a, O_RDONLY);
		if (fd >= 0) {
			void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
			rc = p == MAP_FAILED ? -1 : 0;
			int saved = errno;
			close(fd);
			errno = saved;
		}
	} else if (!strcmp(op, "reopen")) {
		int fd = open(a, O_PATH);
		if (fd >= 0) {
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
			rc = do_open(proc, O_RDONLY, 'r');
		}
	} else if (!strcmp(op, "openat")) {
		int dir = open(a, O_PATH | O_DIRECTORY);
		if (dir >= 0) {
			int fd = openat(dir, b, O_RDONLY);
			rc = fd < 0 ? -1 : 0;
			if (fd >= 0)
				close(fd);
		}
		used = 3;
	} else if (!strcmp(op, "ioctl")) {
		int fd = open(a, O_RDONLY);
		if (fd >= 0) {
			int n;
			rc = ioctl(fd, FIONREAD, &n);
			int saved = errno;
			close(fd);
			errno = saved;
		}
	} else if (!strcmp(op, "kill")) {
		rc = kill(atoi(a), atoi(b));
		used = 3;
	} else if (!strcmp(op, "ptrace")) {
		pid_t pid = atoi(a);
		rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
		if (rc == 0) {
			waitpid(pid, NULL, 0);
			ptrace(PTRACE_DETACH, pid, 0, 0);
		}
	} else if (!strcmp(op, "socket")) {
		int s = socket(family_of(a), SOCK_STREAM, 0);
		if (family_of(a) == AF_NETLINK)
			s = socket(AF_NETLINK, SOCK_RAW, 0);
		rc = s < 0 ? -1 : 0;
		if (s >= 0)
			close(s);
	} else if (!strcmp(op, "connect")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0) {
			struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(a)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
			int saved = errno;
			close(s);
			errno = saved;
		}
	} else if (!strncmp(op, "unix", 4)) {
		rc = unix_op(op, a);
	} else if (!strcmp(op, "waitfor")) {
		/* until the test has changed something: a reload, a rename */
		fprintf(stderr, "probe: waiting for %s\n", a);
		while (access(a, F_OK) != 0)
			usleep(10000);
		rc = 0;
	} else if (!strcmp(op, "hold")) {
		/* an open kept for a later readheld */
		held = open(a, O_RDONLY);
		rc = held < 0 ? -1 : 0;
		used = 2;
	} else if (!strcmp(op, "flock")) {
		/* an exclusive flock held until the probe ends */
		held = open(a, O_RDONLY);
		rc = held < 0 || flock(held, LOCK_EX) ? -1 : 0;
		used = 2;
	} else if (!strcmp(op, "readheld")) {
		char c;
		rc = read(held, &c, 1) < 0 ? -1 : 0;
		used = 1;
	} else if (!strcmp(op, "closeheld")) {
		/* the last reference: an unlinked file's inode is freed */
		rc = close(held);
		held = -1;
		used = 1;
	} else if (!strcmp(op, "sleep")) {
		sleep(atoi(a));
		rc = 0;
	} else if (!strcmp(op, "loop")) {
		long n = atol(a), denied = 0;
		for (long i = 0; i < n; i++)
			if (do_open(b, O_RDONLY, 'r') < 0)
				denied++;
		used = 3;
		if (denied) {
			snprintf(buf, sizeof buf, "denied:%ld", denied);
			*result = buf;
			return used;
		}
		rc = 0;
	} else if (!strcmp(op, "loopuntil")) {
		long n = 0, denied = 0;
		while (access(b, F_OK) != 0) {
			if (do_open(a, O_RDONLY, 'r') < 0)
				denied++;
			n++;
		}
		used = 3;
		snprintf(buf, sizeof buf, denied ? "denied:%ld/%ld" : "ok:%ld", denied ? denied : n, n);
		*result = buf;
		return used;
	} else if (!strcmp(op, "fork")) {
		int pipefd[2];
		if (pipe(pipefd) < 0)
			exit(2);
		pid_t pid = fork();
		if (pid == 0) {
			const char *r = "?";
			run_one(argv + 1, argc - 1, &r);
			if (write(pipefd[1], r, strlen(r)) < 0)
				_exit(1);
			_exit(0);
		}
		close(pipefd[1]);
		ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		close(pipefd[0]);
		waitpid(pid, NULL, 0);
		*result = buf;
		return argc;
	} else if (!strcmp(op, "thread")) {
		pthread_t t;
		struct op o = {argv + 1, argc - 1, "?"};
		pthread_create(&t, NULL, thread_main, &o);
		pthread_join(t, NULL);
		*result = o.result;
		return argc;
	} else if (!strcmp(op, "exec")) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			execv(a, argv + 1);
			_exit(errno == EPERM || errno == EACCES ? 126 : 127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
			*result = "denied";
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			*result = "ok";
		else {
			snprintf(buf, sizeof buf, "failed:%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			*result = buf;
		}
		return argc;
	} else if (!strcmp(op, "execin")) {
		printf(" ");
		fflush(stdout); /* what came before stays in the output */
		execv(a, argv + 1);
		*result = verdict(-1);
		return argc;
	} else if (!strcmp(op, "asuser")) {
		if (setuid(atoi(a)) != 0) {
			*result = verdict(-1);
			return argc;
		}
		fflush(stdout); /* what came before stays in the output */
		execv(b, argv + 2);
		*result = verdict(-1);
		return argc;
	} else {
		fprintf(stderr, "probe: unknown operation %s\n", op);
		exit(2);
	}
	*result = verdict(rc);
	return used;
}

int main(int argc, char **argv)
{
	int i = 1;
	int first = 1;
	while (i < argc) {
		int end = i;
		while (end < argc && strcmp(argv[end], ","))
			end++;
		argv[end] = NULL; /* exec and asuser pass on only their own arguments */
		const char *result = "?";
		run_one(argv + i, end - i, &result);
		printf("%s%s", first ? "" : " ", result);
		first = 0;
		i = end + 1;
	}
	printf("\n");
	return 0;
}
