/*
 * sandbox.h - confining lanca's processes once they are set up.
 *
 * Owns: the generic pieces (a Landlock ruleset built for whatever ABI the
 * running kernel has, a seccomp filter built with libseccomp from a table
 * of system calls) and the two policies made of them: the signer's (no
 * file access, no network, only the system calls it needs to answer its
 * channels) and the network process's (files beneath the state directory,
 * the web directory and the hosts file's directory only). Lives beside
 * proc.c: both are what a process does to itself after its start.
 *
 * Each policy applies to the calling thread and the threads it starts
 * afterwards (Landlock cannot reach threads that already run; the seccomp
 * filter is synchronised to every thread). Both need no_new_privs, which
 * proc_drop_privileges() sets.
 */
#ifndef LANCA_SANDBOX_H
#define LANCA_SANDBOX_H

#include <stddef.h>

/* The Landlock ABI version of the running kernel, 0 when it has none (too
 * old, or Landlock not enabled at boot). */
int sandbox_landlock_abi(void);

struct sandbox_path {
	const char *path;	/* a directory, or a file (file rights only) */
	int write;		/* 0: read beneath it; 1: read, write, create, remove */
};

/* Restricts the calling thread (and threads and children it starts later)
 * to paths[0..n) for every file access right the running ABI knows; n 0:
 * no file access at all. deny_net also refuses TCP bind and connect and,
 * where the ABI has scopes, abstract Unix sockets and signals to processes
 * outside the sandbox. Returns 0 when applied, 1 when the kernel has no
 * Landlock (nothing applied; the caller says so), -1 with err filled. */
int sandbox_landlock(const struct sandbox_path *paths, size_t n, int deny_net, char *err,
		     size_t errlen);

/* The signer's Landlock half: no file access, no network (see above). */
int sandbox_signer_landlock(char *err, size_t errlen);

/* The signer's seccomp half: an allow list of the calls a signer needs
 * once its keys are loaded; any other call kills the process (SIGSYS).
 * Opening a file fails with EACCES instead (glibc's malloc may ask
 * /proc/sys/vm/overcommit_memory and copes with a refusal), unless token
 * is set: a key in a PKCS#11 token signs through a module that reads and
 * writes its files (which Landlock limits to the record's paths), so
 * file calls are allowed then, and a socket refused with EACCES. 0, or
 * -1 with err filled. */
int sandbox_signer_seccomp(int token, char *err, size_t errlen);

/* Both halves, Landlock first: no file at all, or with token set, read
 * and write beneath token_paths[0..n) only (a file, a directory, a device
 * node), and no network either way. Returns 0, 1 when the kernel has no
 * Landlock (seccomp applied all the same; with token set that is -1
 * instead, since the filter then lets files be opened, except under
 * valgrind, where neither half applies), -1 with err filled. */
int sandbox_signer(const struct sandbox_path *token_paths, size_t n, int token, char *err,
		   size_t errlen);

/* The network process (`lanca serve` after it dropped to --user): read
 * and write beneath dir, read beneath web_dir, read and write in the
 * directory of hosts_file (NULL: none) and beneath backup_dir (NULL:
 * none), read of the time zone file, and, for the resolver (ACME
 * validates names it resolves), read of its files in /etc (hosts,
 * resolv.conf, nsswitch.conf, host.conf, gai.conf), of the directory
 * /etc/resolv.conf links into and of the libraries (NSS modules) (a
 * web or hosts directory that does not exist is left out: the daemon
 * copes with those as it did before). A
 * kernel without Landlock is logged as a warning (0: serving goes on).
 * Returns 0, or -1 with err filled. */
int sandbox_network(const char *dir, const char *web_dir, const char *hosts_file,
		    const char *backup_dir, char *err, size_t errlen);

#endif
