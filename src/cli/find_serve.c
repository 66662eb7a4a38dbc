/*
 * find_serve.c - which state directories a running `lanca serve` uses
 * (see cmd.h), so that a command that finds no CA where it looked can
 * point at the one that is there instead of suggesting `lanca init`.
 *
 * A daemon is a process whose argv[0] is named "lanca" and whose first
 * argument is "serve"; its directory is its --dir, else the LANCA_DIR of
 * its environment, else the default, resolved against its working
 * directory when relative. The newest daemons are named first. What the
 * kernel does not let us read (another user's environment or working
 * directory) falls back to what we can.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"

#define FIND_ARGS_MAX	8192	/* bytes of /proc/PID/cmdline or environ read */
#define FIND_HITS_MAX	64	/* daemons looked at */

/* Reads up to FIND_ARGS_MAX bytes of /proc/pid/name into buf (size
 * FIND_ARGS_MAX + 1, NUL-terminated after the data). Returns the length,
 * or -1. */
static ssize_t
find_read(const char *pid, const char *name, char *buf)
{
	char path[64];
	ssize_t n, got = 0;
	int fd;

	if (snprintf(path, sizeof(path), "/proc/%s/%s", pid, name) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (got < FIND_ARGS_MAX &&
	       (n = read(fd, buf + got, (size_t)(FIND_ARGS_MAX - got))) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* The NUL-separated string after the one at *p in buf[0..len), or NULL. */
static const char *
find_next(const char *buf, ssize_t len, const char *p)
{
	p += strlen(p) + 1;
	return p < buf + len ? p : NULL;
}

/* The state directory of process pid if it is a `lanca serve`, into out
 * (PATH_MAX bytes). 0, or -1 if it is not one. */
static int
find_serve_dir(const char *pid, char out[PATH_MAX])
{
	static char args[FIND_ARGS_MAX + 1], env[FIND_ARGS_MAX + 1];
	const char *a, *base, *dir = NULL;
	char cwd[PATH_MAX], joined[PATH_MAX];
	ssize_t n, m, w;

	n = find_read(pid, "cmdline", args);
	if (n <= 0)
		return -1;
	base = strrchr(args, '/');
	base = base != NULL ? base + 1 : args;
	a = find_next(args, n, args);
	if (strcmp(base, "lanca") != 0 || a == NULL || strcmp(a, "serve") != 0)
		return -1;
	while ((a = find_next(args, n, a)) != NULL) {
		if (strcmp(a, "--dir") == 0) {
			dir = find_next(args, n, a);
			break;
		}
		if (strncmp(a, "--dir=", 6) == 0) {
			dir = a + 6;
			break;
		}
		if (strcmp(a, "--") == 0)
			break;
	}
	if (dir == NULL && (m = find_read(pid, "environ", env)) > 0)
		for (a = env; a != NULL && dir == NULL; a = find_next(env, m, a))
			if (strncmp(a, "LANCA_DIR=", 10) == 0 && a[10] != '\0')
				dir = a + 10;
	if (dir == NULL)
		dir = STATE_DIR_DEFAULT;
	if (dir[0] != '/') {
		snprintf(joined, sizeof(joined), "/proc/%s/cwd", pid);
		w = readlink(joined, cwd, sizeof(cwd) - 1);
		if (w > 0) {
			cwd[w] = '\0';
			if (snprintf(joined, sizeof(joined), "%s/%s", cwd, dir) < (int)sizeof(joined))
				dir = joined;
		}
	}
	if (realpath(dir, out) == NULL)
		snprintf(out, PATH_MAX, "%s", dir);
	return 0;
}

/* When process pid started (clock ticks after boot), 0 if unknown. */
static unsigned long long
find_started(const char *pid)
{
	static char stat[FIND_ARGS_MAX + 1];
	unsigned long long t = 0;
	const char *p;
	int field;

	if (find_read(pid, "stat", stat) <= 0 || (p = strrchr(stat, ')')) == NULL)
		return 0;
	/* Field 22 (starttime); the text after ')' starts at field 3. */
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

struct find_hit {
	char dir[PATH_MAX];
	unsigned long long started;
};

/* Newest first: the daemon started last is likeliest the one meant. */
static int
find_newest_first(const void *a, const void *b)
{
	const struct find_hit *x = a, *y = b;

	return x->started < y->started ? 1 : x->started > y->started ? -1 : 0;
}

int
cmd_find_serve(const char *dir, char *out, size_t size)
{
	static struct find_hit hits[FIND_HITS_MAX];
	char self[PATH_MAX], found[PATH_MAX];
	struct dirent *d;
	size_t nhits = 0, i, n, used = 0;
	DIR *proc;
	int w;

	if (size > 0)
		out[0] = '\0';
	if (realpath(dir, self) == NULL)
		snprintf(self, sizeof(self), "%s", dir);
	proc = opendir("/proc");
	if (proc == NULL)
		return 0;
	while (nhits < FIND_HITS_MAX && (d = readdir(proc)) != NULL) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
		    strspn(d->d_name, "0123456789") != strlen(d->d_name))
			continue;
		if (find_serve_dir(d->d_name, found) != 0 || strcmp(found, self) == 0)
			continue;
		for (i = 0; i < nhits && strcmp(hits[i].dir, found) != 0; i++)
			;
		if (i < nhits)
			continue;
		memcpy(hits[nhits].dir, found, sizeof(found));
		hits[nhits++].started = find_started(d->d_name);
	}
	closedir(proc);
	qsort(hits, nhits, sizeof(hits[0]), find_newest_first);
	for (n = 0; n < nhits && n < CMD_SERVE_MAX; n++) {
		w = snprintf(out + used, size - used, "%s%s", n > 0 ? ", " : "", hits[n].dir);
		if (w < 0 || (size_t)w >= size - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	return (int)n;
}
