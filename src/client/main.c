/*
 * main.c - the `lanca-enroll` command table: one row per command, the
 * usage text printed from it, and the helpers every command shares
 * (client.h).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "client/estc.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *help;
} commands[] = {
	{ "enroll", cmd_enroll, "make a key and get it a certificate from the gateway" },
	{ "renew", cmd_renew, "replace the key and certificate in a directory over mTLS" },
	{ "trust", cmd_trust, "trust refresh: add the gateway's vouched-for roots to a directory" },
};

static void
usage(FILE *f)
{
	size_t i;

	fputs("usage: lanca-enroll COMMAND [options]   "
	      "(lanca-enroll COMMAND --help for its options)\n\n", f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fputs("\nexit: 0 issued, 1 refused or failed, 2 usage, 3 still pending at --timeout\n", f);
}

void
client_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("lanca-enroll: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
client_parse_timeout(const char *s, long *timeout)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || x < 1 || x > 86400) {
		client_msg("--timeout %s: want seconds from 1 to 86400", s);
		return -1;
	}
	*timeout = x;
	return 0;
}

int
client_parse_protocol(const char *s, enum client_protocol *p)
{
	if (strcmp(s, "api") == 0) {
		*p = CLIENT_PROTO_API;
	} else if (strcmp(s, "est") == 0) {
		*p = CLIENT_PROTO_EST;
	} else {
		client_msg("--protocol %s: want api or est", s);
		return -1;
	}
	return 0;
}

int
client_check_label(const char *label, enum client_protocol p)
{
	if (label == NULL)
		return 0;
	if (p != CLIENT_PROTO_EST) {
		client_msg("--est-label needs --protocol est");
		return -1;
	}
	if (!estc_label_ok(label)) {
		client_msg("--est-label %.80s: want 1 to %d letters, digits, '.', '_', '~' or '-'", label,
			   ESTC_LABEL_MAX);
		return -1;
	}
	return 0;
}

double
client_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	size_t i;

	/* httpc needs it: a peer closing mid-write must be an error. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return CLIENT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLIENT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	client_msg("unknown command '%s'", argv[1]);
	fputc('\n', stderr);
	usage(stderr);
	return CLIENT_USAGE;
}
