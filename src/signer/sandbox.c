/*
 * sandbox.c - Landlock rulesets and seccomp filters (see sandbox.h).
 *
 * Landlock through syscall(): glibc has no wrappers. The rights newer
 * than the <linux/landlock.h> of the build machine are defined here with
 * their kernel values (a stable ABI), and each is handled only when the
 * running kernel's ABI knows it: a ruleset naming an unknown right is
 * refused by the kernel.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "common/log.h"
#include "signer/sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)	/* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL			(1ULL << 1)
#endif

/* struct landlock_ruleset_attr as of ABI 6; the kernel is told the size
 * it gets, so fields an older kernel does not know are only passed to a
 * kernel that knows them. */
struct sandbox_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define SANDBOX_FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* What may be done to a file (not a directory) a rule names. */
#define SANDBOX_FS_FILE (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
			 LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Read-write beneath a directory: files, directories and the control
 * socket are made, renamed into place and removed; no devices, fifos,
 * links or execution. */
#define SANDBOX_FS_WRITE (SANDBOX_FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | \
			  LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			  LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
			  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REFER | \
			  LANDLOCK_ACCESS_FS_TRUNCATE)

int
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

/* Every file system right ABI abi knows. */
static uint64_t
sandbox_fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1: bits 0-12 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Adds a rule for one path to ruleset fd; 0 or -1 with err filled. */
static int
sandbox_add_path(int rfd, const struct sandbox_path *p, uint64_t handled, char *err,
		 size_t errlen)
{
	struct landlock_path_beneath_attr pb;
	struct stat st, root;
	int fd, rc = -1;

	fd = open(p->path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "landlock: %s: %s", p->path, strerror(errno));
		goto out;
	}
	/* A rule beneath / is no rule, however the path spells it (a
	 * token record's allow= line, through a link). */
	if (stat("/", &root) == 0 && root.st_dev == st.st_dev && root.st_ino == st.st_ino) {
		snprintf(err, errlen, "landlock: %s is the root directory: refused", p->path);
		goto out;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = (p->write ? SANDBOX_FS_WRITE : SANDBOX_FS_READ) & handled;
	if (!S_ISDIR(st.st_mode))
		pb.allowed_access &= SANDBOX_FS_FILE;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
		snprintf(err, errlen, "landlock: rule for %s: %s", p->path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
sandbox_landlock(const struct sandbox_path *paths, size_t n, int deny_net, char *err,
		 size_t errlen)
{
	struct sandbox_ruleset_attr attr;
	size_t size, i;
	int abi, rfd = -1, rc = -1;

	abi = sandbox_landlock_abi();
	if (abi == 0)
		return 1;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = sandbox_fs_rights(abi);
	size = sizeof(attr.handled_access_fs);
	if (deny_net && abi >= 4) {
		attr.handled_access_net =
			LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = sizeof(attr.handled_access_fs) + sizeof(attr.handled_access_net);
	}
	if (deny_net && abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0) {
		snprintf(err, errlen, "landlock: cannot make a ruleset (ABI %d): %s", abi,
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++)
		if (sandbox_add_path(rfd, &paths[i], attr.handled_access_fs, err, errlen) != 0)
			goto out;
	if (syscall(SYS_landlock_restrict_self, rfd, 0) != 0) {
		snprintf(err, errlen, "landlock: cannot restrict the process: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rfd >= 0)
		close(rfd);
	return rc;
}

int
sandbox_signer_landlock(char *err, size_t errlen)
{
	return sandbox_landlock(NULL, 0, 1, err, errlen);
}

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

/* What the filter does with one system call. */
enum sandbox_act {
	SB_ALLOW,
	SB_EACCES,	/* refused with EACCES: the caller copes */
	SB_ENOSYS,	/* "not implemented": glibc falls back to an older call */
	SB_THREAD,	/* clone: only when it makes a thread (CLONE_THREAD) */
};

static const struct sandbox_call {
	const char *name;
	enum sandbox_act act;
} sandbox_signer_calls[] = {
	/* the channels (ipc.c: read, send) and log.c's lines on stderr */
	{ "read", SB_ALLOW }, { "sendto", SB_ALLOW }, { "write", SB_ALLOW },
	{ "getpid", SB_ALLOW },
	/* memory: malloc, thread stacks, libsodium's guarded buffers (freed
	 * with munlock), under the lock mlockall(MCL_FUTURE) puts on them */
	{ "brk", SB_ALLOW }, { "mmap", SB_ALLOW }, { "munmap", SB_ALLOW },
	{ "mremap", SB_ALLOW }, { "mprotect", SB_ALLOW }, { "madvise", SB_ALLOW },
	{ "mlock", SB_ALLOW }, { "munlock", SB_ALLOW },
	/* threads: one per channel, started after the filter is in place;
	 * glibc sets its cancellation handler at the first one */
	{ "clone", SB_THREAD }, { "clone3", SB_ENOSYS }, { "set_robust_list", SB_ALLOW },
	{ "rseq", SB_ALLOW }, { "futex", SB_ALLOW }, { "rt_sigprocmask", SB_ALLOW },
	{ "rt_sigaction", SB_ALLOW }, { "rt_sigreturn", SB_ALLOW },
	{ "restart_syscall", SB_ALLOW }, { "exit", SB_ALLOW }, { "exit_group", SB_ALLOW },
	/* signatures: time and randomness (the vDSO answers most clock reads) */
	{ "clock_gettime", SB_ALLOW }, { "gettimeofday", SB_ALLOW }, { "time", SB_ALLOW },
	{ "getrandom", SB_ALLOW },
	/* the same calls under their names on 32-bit systems (glibc 2.36
	 * there uses the 64-bit time and mmap2 variants); untested there */
	{ "mmap2", SB_ALLOW }, { "futex_time64", SB_ALLOW }, { "clock_gettime64", SB_ALLOW },
#ifdef SANDBOX_ASAN
	/* AddressSanitizer's own calls: when a thread starts (its alternate
	 * signal stack, the thread's id and CPUs, as strace showed in the
	 * sanitizer build) and when it reports an error and aborts (abort()
	 * signals its own thread). A sanitizer build keeps its reports. */
	{ "gettid", SB_ALLOW }, { "sigaltstack", SB_ALLOW }, { "sched_getaffinity", SB_ALLOW },
	{ "sched_yield", SB_ALLOW }, { "tgkill", SB_ALLOW }, { "getppid", SB_ALLOW },
	{ "prctl", SB_ALLOW }, { "prlimit64", SB_ALLOW }, { "getrlimit", SB_ALLOW },
	{ "readlink", SB_ALLOW }, { "nanosleep", SB_ALLOW }, { "clock_nanosleep", SB_ALLOW },
#endif
};

/* A signer without a token: Landlock refuses any file anyway; glibc's
 * malloc asks /proc/sys/vm/overcommit_memory when it trims a thread's
 * arena. */
static const struct sandbox_call sandbox_signer_nofiles[] = {
	{ "open", SB_EACCES }, { "openat", SB_EACCES }, { "openat2", SB_EACCES },
};

/* A signer whose key is in a PKCS#11 token: what the module does while it
 * signs, on the files Landlock leaves it (SoftHSM2 reads each object's
 * generation file under a lock, and rewrites files when it changes them;
 * tpm2-pkcs11 keeps an SQLite database and talks to /dev/tpmrm0 with
 * read and write). No ioctl: SoftHSM2 makes none while it signs, and
 * one on an inherited terminal or socket is not the module's. A
 * module that logs a failure to syslog is refused the socket and goes on;
 * no socket is allowed, so a token reached through a daemon (pcscd,
 * p11-kit's remoting) does not work under the sandbox. */
static const struct sandbox_call sandbox_signer_token[] = {
	{ "open", SB_ALLOW }, { "openat", SB_ALLOW }, { "openat2", SB_ENOSYS },
	{ "close", SB_ALLOW }, { "fstat", SB_ALLOW }, { "newfstatat", SB_ALLOW },
	{ "stat", SB_ALLOW }, { "lstat", SB_ALLOW }, { "statx", SB_ALLOW },
	{ "fstat64", SB_ALLOW }, { "stat64", SB_ALLOW }, { "fstatat64", SB_ALLOW },
	{ "access", SB_ALLOW }, { "faccessat", SB_ALLOW }, { "faccessat2", SB_ALLOW },
	{ "lseek", SB_ALLOW }, { "_llseek", SB_ALLOW }, { "pread64", SB_ALLOW },
	{ "pwrite64", SB_ALLOW }, { "readv", SB_ALLOW }, { "writev", SB_ALLOW },
	{ "fcntl", SB_ALLOW }, { "fcntl64", SB_ALLOW }, { "flock", SB_ALLOW },
	{ "fsync", SB_ALLOW }, { "fdatasync", SB_ALLOW }, { "ftruncate", SB_ALLOW },
	{ "getdents64", SB_ALLOW }, { "unlink", SB_ALLOW }, { "unlinkat", SB_ALLOW },
	{ "rename", SB_ALLOW }, { "renameat", SB_ALLOW }, { "renameat2", SB_ALLOW },
	{ "mkdir", SB_ALLOW }, { "mkdirat", SB_ALLOW }, { "readlink", SB_ALLOW },
	{ "poll", SB_ALLOW }, { "ppoll", SB_ALLOW },
	{ "getuid", SB_ALLOW }, { "geteuid", SB_ALLOW }, { "getgid", SB_ALLOW },
	{ "getegid", SB_ALLOW }, { "gettid", SB_ALLOW }, { "umask", SB_ALLOW },
	{ "socket", SB_EACCES },
};

#ifdef SANDBOX_ASAN
/* The sanitizers' hook for a process about to sandbox itself: it reads
 * what it will need later (/proc/self/maps) while it still can. */
void __sanitizer_sandbox_on_notify(void *args);
#endif

/* Adds the rule for one call; a call this architecture does not have is
 * skipped. 0, or -1 with err filled. */
static int
sandbox_seccomp_rule(scmp_filter_ctx ctx, const struct sandbox_call *c, char *err,
		     size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(c->name), rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	switch (c->act) {
	case SB_EACCES:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 0);
		break;
	case SB_ENOSYS:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		break;
	case SB_THREAD:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		break;
	default:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	}
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: rule for %s: %s", c->name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Whether this process runs under valgrind (make check-valgrind). */
static int
sandbox_under_valgrind(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
	return RUNNING_ON_VALGRIND != 0;
#else
	return 0;
#endif
}

/* Adds the n rules of calls; a call already given a rule (the sanitizer
 * build's list and the token's share some) keeps its first. 0 or -1. */
static int
sandbox_seccomp_rules(scmp_filter_ctx ctx, const struct sandbox_call *calls, size_t n,
		      const struct sandbox_call *before, size_t nbefore, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nbefore; j++)
			if (strcmp(before[j].name, calls[i].name) == 0)
				break;
		if (j == nbefore && sandbox_seccomp_rule(ctx, &calls[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
sandbox_signer_seccomp(int token, char *err, size_t errlen)
{
	const size_t nbase = sizeof(sandbox_signer_calls) / sizeof(sandbox_signer_calls[0]);
	scmp_filter_ctx ctx;
	int rc = -1, r;

	/* Under valgrind the filter would apply to valgrind itself, which
	 * makes calls of its own for the program (make check-valgrind); and
	 * valgrind knows no Landlock call, so the signer runs unconfined.
	 * Only whoever starts the daemon can put it under valgrind. */
	if (sandbox_under_valgrind()) {
		log_warn("under valgrind: the signer runs without its system-call filter");
		return 0;
	}
#ifdef SANDBOX_ASAN
	__sanitizer_sandbox_on_notify(NULL);
#endif
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp: cannot make a filter");
		return -1;
	}
	/* Every thread, should one already run: a thread left outside the
	 * filter could do what the others may not. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		snprintf(err, errlen, "seccomp: thread synchronisation: %s", strerror(-r));
		goto out;
	}
	if (sandbox_seccomp_rules(ctx, sandbox_signer_calls, nbase, NULL, 0, err, errlen) != 0)
		goto out;
	if (token ? sandbox_seccomp_rules(ctx, sandbox_signer_token,
					  sizeof(sandbox_signer_token) / sizeof(sandbox_signer_token[0]),
					  sandbox_signer_calls, nbase, err, errlen) != 0 :
		    sandbox_seccomp_rules(ctx, sandbox_signer_nofiles,
					  sizeof(sandbox_signer_nofiles) / sizeof(sandbox_signer_nofiles[0]),
					  sandbox_signer_calls, nbase, err, errlen) != 0)
		goto out;
	if ((r = seccomp_load(ctx)) != 0) {
		snprintf(err, errlen, "seccomp: cannot load the filter: %s", strerror(-r));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

int
sandbox_signer(const struct sandbox_path *token_paths, size_t n, int token, char *err,
	       size_t errlen)
{
	int ll;

	/* glibc reads the time zone file at its first time conversion, even
	 * gmtime_r's (GnuTLS's dates): read now, while it can, rather than
	 * refused later. */
	tzset();
	ll = token ? sandbox_landlock(token_paths, n, 1, err, errlen) :
		     sandbox_signer_landlock(err, errlen);
	if (ll < 0)
		return -1;
	/* A token's module opens files: its filter allows that, and only
	 * Landlock keeps it to the record's paths. (Under valgrind neither
	 * half applies: see sandbox_signer_seccomp.) */
	if (ll == 1 && token && !sandbox_under_valgrind()) {
		snprintf(err, errlen, "a key in a PKCS#11 token needs Landlock, which keeps its "
			 "module to the record's paths, and this kernel has none (too old, or "
			 "not enabled at boot: lsm=...,landlock)");
		return -1;
	}
	if (sandbox_signer_seccomp(token, err, errlen) != 0)
		return -1;
	return ll;
}

/*
 * The test suite moves the daemon's clock with libfaketime, preloaded,
 * which reads FAKETIME_TIMESTAMP_FILE (renamed into place, so a new
 * inode each time) on every clock read. When both say so, that file's
 * directory stays readable: 0 with its path in dir, or -1. Whoever sets
 * the daemon's environment starts it as root, so this grants nothing to
 * anyone else; a daemon without libfaketime is unaffected.
 */
static int
sandbox_faketime_dir(char *dir, size_t len)
{
	const char *pre = getenv("LD_PRELOAD"), *file = getenv("FAKETIME_TIMESTAMP_FILE");
	int n;

	if (pre == NULL || strstr(pre, "libfaketime") == NULL || file == NULL || file[0] != '/')
		return -1;
	n = snprintf(dir, len, "%s", file);
	if (n < 0 || (size_t)n >= len)
		return -1;
	(void)dirname(dir);
	return 0;
}

int
sandbox_network(const char *dir, const char *web_dir, const char *hosts_file,
		const char *backup_dir, char *err, size_t errlen)
{
	/* What getaddrinfo() and res_nquery() read, for ACME's challenges
	 * (the gateway resolves the names it validates): the resolver's
	 * files in /etc (not /etc itself: the network process is kept off
	 * it), the directory /etc/resolv.conf links into (systemd-resolved's
	 * /run/...), which its owner replaces files in, and the libraries,
	 * for the NSS modules nsswitch.conf may name (mdns4_minimal for
	 * .local). A file of /etc replaced by rename while serve runs (a
	 * DHCP client's resolv.conf) is the old one's rule, not the new
	 * file's: it is read again after a restart (docs/acme.md). */
	static const char *const resolver[] = {
		"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",
		"/etc/gai.conf", "/usr/lib", "/lib",
	};
	struct sandbox_path p[8 + sizeof(resolver) / sizeof(resolver[0])];
	char hosts_dir[4096], clock_dir[4096], resolv_dir[4096];
	size_t n = 0, i;
	int len, rc;

	p[n].path = dir;
	p[n++].write = 1;
	/* Without one the daemon serves its built-in page. */
	if (access(web_dir, F_OK) == 0) {
		p[n].path = web_dir;
		p[n++].write = 0;
	}
	if (hosts_file != NULL) {
		/* Written by rename into place: its directory, not the file. */
		len = snprintf(hosts_dir, sizeof(hosts_dir), "%s", hosts_file);
		if (len < 0 || (size_t)len >= sizeof(hosts_dir)) {
			snprintf(err, errlen, "landlock: --hosts-file path too long");
			return -1;
		}
		/* A missing one is hosts_file_start()'s to report, as before. */
		p[n].path = dirname(hosts_dir);
		p[n].write = 1;
		if (access(p[n].path, F_OK) == 0)
			n++;
	}
	if (backup_dir != NULL) {
		p[n].path = backup_dir;
		p[n++].write = 1;
	}
	for (i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++) {
		if (access(resolver[i], F_OK) != 0)
			continue;
		p[n].path = resolver[i];
		p[n++].write = 0;
	}
	if (realpath("/etc/resolv.conf", resolv_dir) != NULL &&
	    strncmp(resolv_dir, "/etc/", 5) != 0) {
		p[n].path = dirname(resolv_dir);
		p[n++].write = 0;
	}
	/* localtime() opens it again when it changed on disk */
	p[n].path = "/etc/localtime";
	p[n++].write = 0;
	if (access(p[n - 1].path, F_OK) != 0)
		n--;
	if (sandbox_faketime_dir(clock_dir, sizeof(clock_dir)) == 0) {
		p[n].path = clock_dir;
		p[n++].write = 0;
	}
#ifdef SANDBOX_ASAN
	/* LeakSanitizer's check at exit lists this process's threads in
	 * /proc/PID/task (and reads /proc/PID/maps) to stop and scan them: a
	 * sanitizer build keeps its leak check. */
	p[n].path = "/proc/self";
	p[n++].write = 0;
#endif
	rc = sandbox_landlock(p, n, 0, err, errlen);
	if (rc == 1)
		log_warn("no Landlock here (the kernel lacks it, or a system call filter "
			 "refuses it): the network process is not confined to its directories");
	return rc < 0 ? -1 : 0;
}
