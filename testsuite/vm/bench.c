/*
 * bench: workloads for the overhead measurements (testsuite/vm/run --bench).
 * Under QEMU's -icount shift=0 the guest clock advances one nanosecond per
 * instruction, so the elapsed times printed here are instruction counts.
 *
 *   bench openread N PATH   open, read and close PATH N times
 *   bench probed N          call probed(), a #[func]-scoped function, N times
 *   bench serve N           N request/response exchanges over loopback TCP
 *   bench pipe N            write a byte into a pipe and read it back, N times
 *   bench fetch N PORT      N HTTP/1.0 GETs of / from 127.0.0.1:PORT (a real
 *                           server: nginx), a new connection each
 *   bench spawn N           fork and exec this program (doing nothing) N times
 *   bench sleep N           sleep (a confined process that stays around)
 *   bench time CMD ARG...   run CMD, print its elapsed time as "time <ns>"
 *
 * Prints "<workload> <nanoseconds>".
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile int sink;

__attribute__((noinline)) int probed(int x)
{
	sink += x;
	return sink;
}

static void openread(long n, const char *path)
{
	char buf[64];
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			exit(1);
		}
		if (read(fd, buf, sizeof buf) < 0)
			exit(1);
		close(fd);
	}
}

/* A pipe's reads and writes: what a program logging to a pipe, or a
 * shell pipeline, does. */
static void pipe_rw(long n)
{
	int fds[2];
	char c = 'x';
	if (pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	for (long i = 0; i < n; i++)
		if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
			exit(1);
}

/* N children, each this program run again doing nothing: the cost of
 * exec (and, confined, of the profile's attach at exec). */
static void spawn(long n, char *self)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			char *args[] = {self, "noop", "0", NULL};
			execv(self, args);
			_exit(127);
		}
		int status;
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bench spawn: a child failed\n");
			exit(1);
		}
	}
}

static void serve(long n)
{
	int server = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	if (bind(server, (struct sockaddr *)&addr, sizeof addr) || listen(server, 4) || getsockname(server, (struct sockaddr *)&addr, &len)) {
		perror("bench serve");
		exit(1);
	}
	char req[] = "GET /index.html HTTP/1.0\r\n\r\n", resp[] = "HTTP/1.0 200 OK\r\n\r\nhello\n", buf[128];
	for (long i = 0; i < n; i++) {
		int client = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(client, (struct sockaddr *)&addr, sizeof addr)) {
			perror("connect");
			exit(1);
		}
		int conn = accept(server, NULL, NULL);
		if (send(client, req, sizeof req, 0) < 0 || recv(conn, buf, sizeof buf, 0) < 0 ||
		    send(conn, resp, sizeof resp, 0) < 0 || recv(client, buf, sizeof buf, 0) < 0)
			exit(1);
		shutdown(conn, SHUT_RDWR);
		close(conn);
		close(client);
	}
	close(server);
}

static void fetch(long n, int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons(port)};
	char req[] = "GET /index.html HTTP/1.0\r\n\r\n", buf[4096];
	for (long i = 0; i < n; i++) {
		int client = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(client, (struct sockaddr *)&addr, sizeof addr) || send(client, req, sizeof req - 1, 0) < 0) {
			perror("bench fetch");
			exit(1);
		}
		ssize_t got, total = 0;
		while ((got = recv(client, buf, sizeof buf, 0)) > 0) {
			if (!total && strncmp(buf, "HTTP/1.1 200", 12)) {
				fprintf(stderr, "bench fetch: not a 200: %.40s\n", buf);
				exit(1);
			}
			total += got;
		}
		close(client);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench openread N PATH | probed N | serve N | pipe N | fetch N PORT | spawn N | sleep N | time CMD\n");
		return 2;
	}
	if (!strcmp(argv[1], "time")) {
		long long start = now();
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[2], argv + 2);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
		printf("time %lld\n", now() - start);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	if (!strcmp(argv[1], "noop"))
		return 0;
	long n = atol(argv[2]);
	long long start = now();
	if (!strcmp(argv[1], "openread") && argc > 3)
		openread(n, argv[3]);
	else if (!strcmp(argv[1], "probed"))
		for (long i = 0; i < n; i++)
			probed((int)i);
	else if (!strcmp(argv[1], "serve"))
		serve(n);
	else if (!strcmp(argv[1], "pipe"))
		pipe_rw(n);
	else if (!strcmp(argv[1], "fetch") && argc > 3)
		fetch(n, atoi(argv[3]));
	else if (!strcmp(argv[1], "spawn"))
		spawn(n, argv[0]);
	else if (!strcmp(argv[1], "sleep"))
		sleep(n);
	else
		return 2;
	printf("%s %lld\n", argv[1], now() - start);
	return 0;
}
