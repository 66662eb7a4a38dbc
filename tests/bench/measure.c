/*
 * measure.c - the benchmarks' clock and /proc readers (see measure.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"

double
bench_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_cpu_s(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double
bench_proc_cpu_s(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	long tck = sysconf(_SC_CLK_TCK);
	FILE *f;
	int ok;

	if (pid <= 0 || tck <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* utime and stime are fields 14 and 15; the command name before them
	 * may hold spaces and parentheses: skip to the last ')'. */
	if (!ok || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)tck;
}

/* utime, stime, cutime and cstime of pid in clock ticks (fields 14-17
 * of /proc/PID/stat). 0, or -1 when it is gone or unreadable. */
static int
bench_proc_ticks(pid_t pid, unsigned long long t[4])
{
	char path[64], line[1024], *p;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ok || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		   &t[0], &t[1], &t[2], &t[3]) != 4)
		return -1;
	return 0;
}

double
bench_proc_tree_cpu_s(pid_t pid)
{
	unsigned long long t[4], total;
	long tck = sysconf(_SC_CLK_TCK);
	char path[96];
	long c;
	FILE *f;

	if (pid <= 0 || tck <= 0)
		return -1;
	/* The live children first: one that exits before pid is read is then
	 * counted twice (live, and in pid's cutime), never missed. */
	total = 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid, (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fscanf(f, "%ld", &c) == 1)
		if (bench_proc_ticks((pid_t)c, t) == 0)
			total += t[0] + t[1] + t[2] + t[3];
	fclose(f);
	if (bench_proc_ticks(pid, t) != 0)
		return -1;
	total += t[0] + t[1] + t[2] + t[3];
	return (double)total / (double)tck;
}

long
bench_proc_kb(pid_t pid, const char *file, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && sscanf(line + fl, " %ld", &kb) != 1)
			kb = -1;
	fclose(f);
	return kb;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
}

double
bench_median(double *v, unsigned n)
{
	bench_sort(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

unsigned
bench_arg_uint(const char *s, unsigned lo, unsigned hi, const char *usage)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s\n", usage);
		exit(2);
	}
	return (unsigned)v;
}

pid_t
bench_spawn(char *const argv[], const char *log)
{
	pid_t p;
	int fd;

	fflush(stdout);
	p = fork();
	if (p != 0)
		return p;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

int
bench_run_cmd(char *const argv[], const char *log)
{
	pid_t p = bench_spawn(argv, log);
	int st;

	if (p < 0)
		return -1;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
