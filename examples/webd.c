/*
 * webd: a deliberately vulnerable little web server, for the bpfbox demo.
 *
 *   webd PORT DOCROOT KEYFILE LOGFILE
 *
 * GET /file          serves DOCROOT/file; the path is not sanitised, so
 *                    GET /../../etc/shadow walks out of the docroot
 * GET /reload-key    re-reads KEYFILE inside load_key()
 * GET /key           reads KEYFILE from the request handler (a "leak")
 * GET /exec/CMD      runs /bin/sh -c CMD (a "remote code execution")
 *
 * Every request is appended to LOGFILE. Responses say what happened,
 * including the errno of a failed open or exec, so the demo can show what
 * bpfbox denied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *docroot, *keyfile, *logfile;
static char key[256];

static void reply(int fd, const char *status, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof head, "HTTP/1.0 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
	if (write(fd, head, n) < 0 || write(fd, body, len) < 0)
		return;
}

static void reply_text(int fd, const char *status, const char *text)
{
	reply(fd, status, text, strlen(text));
}

/* The only place the server needs its key: the policy scopes the key's read
 * permission to this function. */
__attribute__((noinline)) int load_key(void)
{
	int fd = open(keyfile, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, key, sizeof key - 1);
	close(fd);
	if (n < 0)
		return -errno;
	key[n] = 0;
	return 0;
}

static void serve_file(int fd, const char *path)
{
	char full[1024], buf[4096], msg[1200];
	snprintf(full, sizeof full, "%s%s", docroot, path);
	int file = open(full, O_RDONLY);
	if (file < 0) {
		snprintf(msg, sizeof msg, "cannot open %s: %s\n", full, strerror(errno));
		reply_text(fd, errno == ENOENT ? "404 Not Found" : "403 Forbidden", msg);
		return;
	}
	ssize_t n = read(file, buf, sizeof buf);
	close(file);
	if (n < 0) {
		snprintf(msg, sizeof msg, "cannot read %s: %s\n", full, strerror(errno));
		reply_text(fd, "403 Forbidden", msg);
		return;
	}
	reply(fd, "200 OK", buf, n);
}

/* The same read as load_key, from the request handler: what an attacker who
 * controls the handler would do. */
static void leak_key(int fd)
{
	char buf[256], msg[300];
	int file = open(keyfile, O_RDONLY);
	if (file < 0) {
		snprintf(msg, sizeof msg, "cannot open %s: %s\n", keyfile, strerror(errno));
		reply_text(fd, "403 Forbidden", msg);
		return;
	}
	ssize_t n = read(file, buf, sizeof buf);
	close(file);
	reply(fd, "200 OK", buf, n > 0 ? n : 0);
}

static void run_command(int fd, const char *cmd)
{
	int out[2];
	char buf[2048], msg[2200];
	if (pipe(out) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		printf("exec /bin/sh: %s\n", strerror(errno));
		fflush(stdout);
		_exit(127);
	}
	close(out[1]);
	ssize_t n = read(out[0], buf, sizeof buf - 1);
	close(out[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	buf[n > 0 ? n : 0] = 0;
	snprintf(msg, sizeof msg, "%s", buf);
	reply_text(fd, WEXITSTATUS(status) == 127 ? "500 Internal Server Error" : "200 OK", msg);
}

static void log_request(const char *line)
{
	int log = open(logfile, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (log < 0)
		return;
	dprintf(log, "%s\n", line);
	close(log);
}

static void handle(int fd)
{
	char req[1024] = {0}, path[900];
	ssize_t n = read(fd, req, sizeof req - 1);
	if (n <= 0 || sscanf(req, "GET %899s", path) != 1) {
		reply_text(fd, "400 Bad Request", "bad request\n");
		return;
	}
	char line[1000];
	snprintf(line, sizeof line, "GET %s", path);
	log_request(line);
	if (!strcmp(path, "/reload-key")) {
		int rc = load_key();
		reply_text(fd, rc ? "500 Internal Server Error" : "200 OK", rc ? strerror(-rc) : "key reloaded\n");
	} else if (!strcmp(path, "/key")) {
		leak_key(fd);
	} else if (!strncmp(path, "/exec/", 6)) {
		run_command(fd, path + 6);
	} else {
		serve_file(fd, path);
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: webd PORT DOCROOT KEYFILE LOGFILE\n");
		return 2;
	}
	docroot = argv[2];
	keyfile = argv[3];
	logfile = argv[4];
	signal(SIGPIPE, SIG_IGN);
	if (load_key() < 0)
		fprintf(stderr, "webd: cannot load key %s\n", keyfile);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s, 16) < 0) {
		perror("webd: bind/listen");
		return 1;
	}
	fprintf(stderr, "webd: serving %s on 127.0.0.1:%s\n", docroot, argv[1]);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		handle(c);
		close(c);
	}
}
