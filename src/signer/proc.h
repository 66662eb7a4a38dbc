/*
 * proc.h - starting a privilege-separated child process.
 *
 * Owns: the one way lanca forks a helper process (today the signer):
 * socketpairs made with CLOEXEC in the parent, a fork, and in the child
 * every other descriptor closed before the entry function runs.
 */
#ifndef LANCA_PROC_H
#define LANCA_PROC_H

#include <sys/types.h>

#define PROC_CHAN_MAX	16

/* Makes nchan socketpairs and forks. In the child, closes every
 * descriptor except 0-2 and its ends of the pairs, then calls
 * child(fds, nchan, arg) and _exit()s with its return value. In the
 * parent, fills parent_fds[0..nchan) and *pid. Returns 0 or -1 (errno). */
int proc_start(int nchan, int (*child)(int *fds, int n, void *arg), void *arg,
	       int *parent_fds, pid_t *pid);

/* Drops root for user (setgroups, setgid, setuid; checks it cannot regain
 * root) and sets no_new_privs. user NULL or not root: only no_new_privs.
 * Returns 0 or -1 with a message in err. */
int proc_drop_privileges(const char *user, char *err, size_t errlen);

/* The same, keeping capability keep_cap (effective and permitted, and
 * nothing else) through the change of user when this process has it;
 * keep_cap -1: none. */
int proc_drop_privileges_keep(const char *user, int keep_cap, char *err, size_t errlen);

/* 1 if this process holds capability cap (a CAP_ number) in its
 * effective set. */
int proc_has_cap(int cap);

#endif
