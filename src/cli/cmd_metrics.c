/*
 * cmd_metrics.c - `lanca metrics token [--dir DIR] [--revoke]`: makes the
 * bearer token a Prometheus server scrapes GET /metrics with, replacing
 * any older one, and prints it once on standard output (alone on its
 * line, for a script to put into the scraper's credentials file); with
 * --revoke, removes it. Only the token's hash is stored (see
 * daemon/metrics_token.h). It writes the store directly, like `lanca
 * admin`, so it works whether the daemon runs or not: a running daemon
 * reads the token from the store at each scrape.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "daemon/metrics_token.h"
#include "daemon/state.h"
#include "store/store.h"

static void
metrics_usage(FILE *f)
{
	fprintf(f, "usage: lanca metrics token [--dir DIR] [--revoke]\n");
}

/* `lanca metrics token`. */
static int
metrics_token(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "revoke", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char actor[CONTROL_ACTOR_MAX + 1], tok[METRICS_TOKEN_CHARS + 1] = "";
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int c, revoke = 0, rc = CMD_FAILED;

	lerr_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': revoke = 1; break;
		case 'h':
			metrics_usage(stdout);
			return CMD_OK;
		default:
			metrics_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		metrics_usage(stderr);
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	cmd_actor(actor);
	if (state_store_open(dir, 0, &s, &e) != 0) {
		cmd_error("metrics", "%s", e.msg);
		goto out;
	}
	if (revoke) {
		if (metrics_token_revoke(s, actor, &e) != 0) {
			cmd_error("metrics", "%s", e.msg);
			goto out;
		}
		fprintf(stderr, "lanca metrics: the metrics token is revoked: /metrics now takes "
			"an admin session only\n");
	} else {
		if (metrics_token_new(s, actor, tok, &e) != 0) {
			cmd_error("metrics", "%s", e.msg);
			goto out;
		}
		/* The old token is gone already: a token nobody saw must say so. */
		if (printf("%s\n", tok) < 0 || fflush(stdout) != 0) {
			cmd_error("metrics", "cannot write the new token to standard output; "
				  "run the command again");
			goto out;
		}
		fprintf(stderr, "lanca metrics: a new metrics token, shown only this once; any "
			"older one no longer works. Scrape with \"Authorization: Bearer TOKEN\".\n");
	}
	rc = CMD_OK;
out:
	sodium_memzero(tok, sizeof(tok));
	store_close(s);
	return rc;
}

static const struct cmd_sub metrics_commands[] = {
	{ "token", metrics_token, "a new bearer token for GET /metrics, or --revoke it" },
};

int
cmd_metrics(int argc, char *argv[])
{
	return cmd_subcommand("metrics", argc, argv, metrics_commands,
			      sizeof(metrics_commands) / sizeof(metrics_commands[0]), metrics_usage);
}
