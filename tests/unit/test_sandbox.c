/*
 * test_sandbox.c - the sandboxes of signer/sandbox.c, applied in a forked
 * child exactly as the processes apply them: a call outside the signer's
 * allow list kills it with SIGSYS, Landlock alone refuses files and TCP,
 * what the signer needs still works, and the network process reaches its
 * directories and nothing else.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signer/sandbox.h"

/* A file every system has, outside anything a sandbox allows. */
#define OUTSIDE "/etc/passwd"

enum child_what {
	SIGNER_SOCKET,		/* sandbox_signer, then socket() */
	SIGNER_EXECVE,		/* sandbox_signer, then execve() */
	SIGNER_OPEN,		/* sandbox_signer, then open(): EACCES, not death */
	SIGNER_WORKS,		/* sandbox_signer, then what a signer does */
	LANDLOCK_FILE,		/* Landlock half alone, then open() */
	LANDLOCK_TCP,		/* Landlock half alone, then a TCP bind() */
};

/* Exit codes of the child besides 0 (what was expected happened). */
#define CHILD_SETUP	10	/* the sandbox could not be applied */
#define CHILD_ALIVE	11	/* the forbidden call returned */
#define CHILD_WRONG	12	/* an allowed call failed or gave a wrong result */

static void *
thread_main(void *arg)
{
	unsigned char *p = malloc(1 << 20);	/* a thread arena's first block */

	if (p != NULL)
		memset(p, 1, 1 << 20);
	*(int *)arg = p != NULL;
	free(p);
	return NULL;
}

/* What a signer does after its sandbox: allocate (large blocks map
 * memory), start a thread, read the clock and the random source, write
 * to a descriptor it holds. 0 when all of it worked. */
static int
signer_work(int fd)
{
	struct timespec ts;
	unsigned char rnd[32];
	pthread_t t;
	int ok = 0;
	char *big;

	big = malloc(8 << 20);
	if (big == NULL)
		return -1;
	memset(big, 2, 8 << 20);
	free(big);
	if (pthread_create(&t, NULL, thread_main, &ok) != 0 || pthread_join(t, NULL) != 0 || !ok)
		return -1;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 1700000000)
		return -1;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	return write(fd, "ok", 2) == 2 ? 0 : -1;
}

/* Runs one case in a forked child; returns its wait status. fd is the
 * write end of a pipe the child may use (SIGNER_WORKS). */
static int
run_child(enum child_what what, int fd)
{
	char err[256];
	char *const argv[] = { "/bin/true", NULL };
	struct sockaddr_in sin;
	pid_t pid;
	int st, s, rc;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* As proc_drop_privileges leaves it. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(CHILD_SETUP);
		if (what == LANDLOCK_FILE || what == LANDLOCK_TCP)
			rc = sandbox_signer_landlock(err, sizeof(err));
		else
			rc = sandbox_signer(NULL, 0, 0, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "sandbox: %s\n", err);
			_exit(CHILD_SETUP);
		}
		switch (what) {
		case SIGNER_SOCKET:
			(void)socket(AF_INET, SOCK_STREAM, 0);
			_exit(CHILD_ALIVE);
		case SIGNER_EXECVE:
			(void)execve(argv[0], argv, NULL);
			_exit(CHILD_ALIVE);
		case SIGNER_OPEN:
		case LANDLOCK_FILE:
			if (open(OUTSIDE, O_RDONLY | O_CLOEXEC) >= 0)
				_exit(CHILD_ALIVE);
			_exit(errno == EACCES ? 0 : CHILD_WRONG);
		case SIGNER_WORKS:
			_exit(signer_work(fd) == 0 ? 0 : CHILD_WRONG);
		case LANDLOCK_TCP:
			s = socket(AF_INET, SOCK_STREAM, 0);
			if (s < 0)
				_exit(CHILD_WRONG);	/* Landlock alone leaves socket() */
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
				_exit(CHILD_ALIVE);
			_exit(errno == EACCES ? 0 : CHILD_WRONG);
		}
		_exit(CHILD_WRONG);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return st;
}

static void
assert_killed_by_sigsys(int st)
{
	ck_assert_msg(WIFSIGNALED(st), "the child was not killed (exit status %d: %s)",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		      WIFEXITED(st) && WEXITSTATUS(st) == CHILD_ALIVE ? "the call returned" : "?");
	ck_assert_int_eq(WTERMSIG(st), SIGSYS);
}

static void
assert_exit_ok(int st)
{
	ck_assert_msg(WIFEXITED(st), "the child died by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ck_assert_msg(WEXITSTATUS(st) == 0, "the child exited %d", WEXITSTATUS(st));
}

START_TEST(test_signer_socket_kills)
{
	assert_killed_by_sigsys(run_child(SIGNER_SOCKET, -1));
}
END_TEST

START_TEST(test_signer_execve_kills)
{
	assert_killed_by_sigsys(run_child(SIGNER_EXECVE, -1));
}
END_TEST

START_TEST(test_signer_open_refused)
{
	assert_exit_ok(run_child(SIGNER_OPEN, -1));
}
END_TEST

START_TEST(test_signer_still_works)
{
	char got[3] = "";
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	assert_exit_ok(run_child(SIGNER_WORKS, p[1]));
	close(p[1]);
	ck_assert_int_eq(read(p[0], got, 2), 2);
	ck_assert_str_eq(got, "ok");
	close(p[0]);
}
END_TEST

START_TEST(test_landlock_alone_refuses_files)
{
	if (sandbox_landlock_abi() == 0)
		return;	/* nothing to test: the kernel has no Landlock */
	/* Readable before: the refusal is the sandbox's. */
	ck_assert_int_eq(access(OUTSIDE, R_OK), 0);
	assert_exit_ok(run_child(LANDLOCK_FILE, -1));
}
END_TEST

START_TEST(test_landlock_alone_refuses_tcp)
{
	if (sandbox_landlock_abi() < 4)
		return;	/* TCP rules came with ABI 4 */
	assert_exit_ok(run_child(LANDLOCK_TCP, -1));
}
END_TEST

/* What a signer with a key in a token may do: in a child confined by
 * sandbox_signer with token paths (dir), open path with flags (0, or the
 * errno), or with path NULL make a socket (0 if it was made, the errno
 * if refused; death by SIGSYS shows as 128 + the signal). -1 if the
 * sandbox could not be applied. */
static int
token_child(const char *dir, const char *path, int flags)
{
	struct sandbox_path p = { dir, 1 };
	char err[256];
	pid_t pid;
	int st, fd;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    sandbox_signer(&p, 1, 1, err, sizeof(err)) != 0)
			_exit(255);
		if (path == NULL) {
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			_exit(fd >= 0 ? 0 : errno);
		}
		if (strcmp(path, "ioctl") == 0) {
			(void)ioctl(0, FIONREAD, &fd);
			_exit(0);
		}
		if (strcmp(path, "execve") == 0) {
			char *const argv[] = { "/bin/true", NULL };

			(void)execve(argv[0], argv, NULL);
			_exit(0);
		}
		fd = open(path, flags | O_CLOEXEC, 0600);
		_exit(fd >= 0 ? 0 : errno);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st) == 255 ? -1 : WEXITSTATUS(st);
}

/* A token's module may open files beneath the record's paths, and nothing
 * else; a socket is refused, not fatal (a module's syslog); an ioctl
 * and an execve still kill. */
START_TEST(test_signer_token_paths)
{
	char root[] = "/tmp/lanca-sandbox.XXXXXX";
	char tok[256], f[512];

	if (sandbox_landlock_abi() == 0)
		return;	/* a token signer refuses to start without Landlock */
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(tok, sizeof(tok), "%s/tokens", root);
	ck_assert_int_eq(mkdir(tok, 0700), 0);
	snprintf(f, sizeof(f), "%s/generation", tok);
	ck_assert_int_eq(close(open(f, O_WRONLY | O_CREAT, 0600)), 0);
	ck_assert_int_eq(token_child(tok, f, O_RDONLY), 0);
	ck_assert_int_eq(token_child(tok, f, O_RDWR), 0);
	snprintf(f, sizeof(f), "%s/new.object", tok);
	ck_assert_int_eq(token_child(tok, f, O_RDWR | O_CREAT), 0);
	ck_assert_int_eq(access(OUTSIDE, R_OK), 0);
	ck_assert_int_eq(token_child(tok, OUTSIDE, O_RDONLY), EACCES);
	snprintf(f, sizeof(f), "%s/beside", root);
	ck_assert_int_eq(token_child(tok, f, O_RDWR | O_CREAT), EACCES);
	ck_assert_int_eq(token_child(tok, NULL, 0), EACCES);
	ck_assert_int_eq(token_child(tok, "ioctl", 0), 128 + SIGSYS);
	ck_assert_int_eq(token_child(tok, "execve", 0), 128 + SIGSYS);
	snprintf(f, sizeof(f), "rm -rf '%s'", root);
	ck_assert_int_eq(system(f), 0);
}
END_TEST

/* Tries open(path, flags) in a child confined by sandbox_network(dir,
 * web, hosts): 0 when it opened, the errno otherwise; -1 if the sandbox
 * could not be applied. */
static int
network_open(const char *dir, const char *web, const char *hosts, const char *path, int flags)
{
	char err[256];
	pid_t pid;
	int st, fd;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    sandbox_network(dir, web, hosts, NULL, err, sizeof(err)) != 0)
			_exit(255);
		fd = open(path, flags | O_CLOEXEC, 0600);
		_exit(fd >= 0 ? 0 : errno);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st) == 255 ? -1 : WEXITSTATUS(st);
}

START_TEST(test_network_paths)
{
	char root[] = "/tmp/lanca-sandbox.XXXXXX";
	char dir[256], web[256], hostsd[256], other[256], f[512];

	if (sandbox_landlock_abi() == 0)
		return;
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/state", root);
	snprintf(web, sizeof(web), "%s/web", root);
	snprintf(hostsd, sizeof(hostsd), "%s/hosts", root);
	snprintf(other, sizeof(other), "%s/other", root);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(web, 0700), 0);
	ck_assert_int_eq(mkdir(hostsd, 0700), 0);
	ck_assert_int_eq(mkdir(other, 0700), 0);
	snprintf(f, sizeof(f), "%s/index.html", web);
	ck_assert_int_eq(close(open(f, O_WRONLY | O_CREAT, 0600)), 0);
	snprintf(f, sizeof(f), "%s/secret", other);
	ck_assert_int_eq(close(open(f, O_WRONLY | O_CREAT, 0600)), 0);

	/* the state directory: read and write, new files too */
	snprintf(f, sizeof(f), "%s/new.db", dir);
	ck_assert_int_eq(network_open(dir, web, NULL, f, O_RDWR | O_CREAT), 0);
	/* the web directory: read, never write */
	snprintf(f, sizeof(f), "%s/index.html", web);
	ck_assert_int_eq(network_open(dir, web, NULL, f, O_RDONLY), 0);
	ck_assert_int_eq(network_open(dir, web, NULL, f, O_WRONLY), EACCES);
	/* the hosts file's directory: only when given */
	snprintf(f, sizeof(f), "%s/hosts.new", hostsd);
	ck_assert_int_eq(network_open(dir, web, NULL, f, O_WRONLY | O_CREAT), EACCES);
	{
		char hf[512];

		snprintf(hf, sizeof(hf), "%s/hosts", hostsd);
		ck_assert_int_eq(network_open(dir, web, hf, f, O_WRONLY | O_CREAT), 0);
	}
	/* anything else: neither a sibling directory nor the system's files */
	snprintf(f, sizeof(f), "%s/secret", other);
	ck_assert_int_eq(network_open(dir, web, NULL, f, O_RDONLY), EACCES);
	ck_assert_int_eq(network_open(dir, web, NULL, OUTSIDE, O_RDONLY), EACCES);

	snprintf(f, sizeof(f), "rm -rf '%s'", root);
	ck_assert_int_eq(system(f), 0);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_signer_socket_kills);
	tcase_add_test(tc, test_signer_execve_kills);
	tcase_add_test(tc, test_signer_open_refused);
	tcase_add_test(tc, test_signer_token_paths);
	tcase_add_test(tc, test_signer_still_works);
	tcase_add_test(tc, test_landlock_alone_refuses_files);
	tcase_add_test(tc, test_landlock_alone_refuses_tcp);
	tcase_add_test(tc, test_network_paths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
