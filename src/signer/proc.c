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
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

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
proc_has_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (cap < 0 || cap > CAP_LAST_CAP ||
	    syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (d[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap)) != 0;
}

/* Leaves exactly cap (effective and permitted, nothing inheritable) after
 * a change of user made with PR_SET_KEEPCAPS, which kept every permitted
 * capability root had: all but cap go here. */
static int
proc_only_cap(int cap, char *err, size_t errlen)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned i;

	memset(d, 0, sizeof(d));
	d[CAP_TO_INDEX(cap)].effective = d[CAP_TO_INDEX(cap)].permitted = CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &h, d) != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "cannot keep only capability %d: %s", cap, strerror(errno));
		return -1;
	}
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0) {
		snprintf(err, errlen, "cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if ((d[i].permitted | d[i].effective | d[i].inheritable) !=
		    (i == (unsigned)CAP_TO_INDEX(cap) ? CAP_TO_MASK(cap) : 0u)) {
			snprintf(err, errlen, "capabilities other than %d are left", cap);
			return -1;
		}
	return 0;
}

int
proc_drop_privileges_keep(const char *user, int keep_cap, char *err, size_t errlen)
{
	struct passwd *pw;
	int keep = 0;

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
		keep = keep_cap >= 0 && proc_has_cap(keep_cap);
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
			snprintf(err, errlen, "cannot keep capabilities: %s", strerror(errno));
			return -1;
		}
		if (setgroups(1, &pw->pw_gid) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
			snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
			return -1;
		}
		if (keep && proc_only_cap(keep_cap, err, errlen) != 0)
			return -1;
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

int
proc_drop_privileges(const char *user, char *err, size_t errlen)
{
	return proc_drop_privileges_keep(user, -1, err, errlen);
}
