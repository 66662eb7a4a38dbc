/*
 * proc.c - forking privilege-separated children, dropping root (see proc.h).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signer/proc.h"

/* Closes every descriptor above 2 that is not in keep[0..n), with one
 * close_range() per gap instead of a close() per possible number. */
static void
proc_close_others(const int *keep, int n)
{
	int sorted[PROC_CHAN_MAX], i, j, t;
	unsigned from = 3;

	for (i = 0; i < n; i++)
		sorted[i] = keep[i];
	for (i = 1; i < n; i++)	/* n <= 16: insertion sort */
		for (j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if ((unsigned)sorted[i] > from)
			(void)close_range(from, (unsigned)sorted[i] - 1, 0);
		if ((unsigned)sorted[i] >= from)
			from = (unsigned)sorted[i] + 1;
	}
	(void)close_range(from, ~0U, 0);
}

int
proc_start(int nchan, int (*child)(int *fds, int n, void *arg), void *arg,
	   int *parent_fds, pid_t *pid)
{
	int pairs[PROC_CHAN_MAX][2];
	int child_fds[PROC_CHAN_MAX];
	sigset_t none;
	int i, made = 0, rc;
	pid_t p;

	if (nchan < 1 || nchan > PROC_CHAN_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nchan; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) != 0)
			goto fail;
		made++;
	}
	p = fork();
	if (p < 0)
		goto fail;
	if (p == 0) {
		/* The child: its ends only, and it dies with its parent. */
		for (i = 0; i < nchan; i++) {
			close(pairs[i][0]);
			child_fds[i] = pairs[i][1];
		}
		proc_close_others(child_fds, nchan);
		/* The parent may block signals to sigwait() for them; the
		 * child starts with none blocked and default actions. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);	/* the parent is already gone */
		rc = child(child_fds, nchan, arg);
		_exit(rc == 0 ? 0 : 1);
	}
	for (i = 0; i < nchan; i++) {
		close(pairs[i][1]);
		parent_fds[i] = pairs[i][0];
	}
	*pid = p;
	return 0;
fail:
	rc = errno;
	for (i = 0; i < made; i++) {
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	errno = rc;
	return -1;
}

int
proc_drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user != NULL && geteuid() == 0) {
		pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "no such user: %s", user);
			return -1;
		}
		if (pw->pw_uid == 0) {
			snprintf(err, errlen, "refusing to run as %s: it is root", user);
			return -1;
		}
		if (setgroups(1, &pw->pw_gid) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
			return -1;
		}
		if (setuid(0) == 0 || seteuid(0) == 0) {
			snprintf(err, errlen, "could regain root after dropping to %s", user);
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
