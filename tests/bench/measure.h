/*
 * measure.h - what the benchmarks read of the clock and of processes:
 * wall time, this process's CPU time, another process's CPU time and
 * memory from /proc, and the median of repeated figures. Shared by every tests/bench/bench-*.c.
 */
#ifndef LANCA_BENCH_MEASURE_H
#define LANCA_BENCH_MEASURE_H

#include <stddef.h>
#include <sys/types.h>

/* Seconds on the monotonic clock. */
double bench_wall_s(void);
/* User + system CPU seconds of getrusage(who): RUSAGE_SELF (every
 * thread of this process) or RUSAGE_CHILDREN (children waited for). */
double bench_cpu_s(int who);
/* User + system CPU seconds a process (every thread, live or exited) has
 * used so far, from /proc/PID/stat; -1 when it is gone or unreadable. */
double bench_proc_cpu_s(pid_t pid);
/* CPU seconds of a server process and the processes it forked: its own
 * and its reaped children's (cutime, cstime), plus each live child's (a
 * PostgreSQL postmaster and its backends: single-threaded processes, one
 * level deep). A child exiting during the reading may be counted twice,
 * never missed. -1 when pid is gone or unreadable. */
double bench_proc_tree_cpu_s(pid_t pid);
/* The number of a "Field:" line of /proc/PID/FILE in KiB (status: VmRSS,
 * VmHWM; smaps_rollup: Pss); -1 when missing. */
long bench_proc_kb(pid_t pid, const char *file, const char *field);
/* Sorts v's n values in ascending order. */
void bench_sort(double *v, size_t n);
/* The median of v's n values (n > 0); sorts v. */
double bench_median(double *v, unsigned n);

/* An option's number from lo to hi; otherwise prints usage (one line,
 * the program's) and exits 2. */
unsigned bench_arg_uint(const char *s, unsigned lo, unsigned hi, const char *usage);

/* Starts argv[0] (a path, or a name found on PATH) with its output and
 * errors appended to log; does not wait. Its pid, or -1. */
pid_t bench_spawn(char *const argv[], const char *log);
/* Runs argv[0] (a path, or a name found on PATH) with its output and
 * errors appended to log ("/dev/null" to drop them); waits for it.
 * Its exit status, or -1 when it could not run or died by a signal. */
int bench_run_cmd(char *const argv[], const char *log);

#endif
