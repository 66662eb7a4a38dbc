/*
 * cmd_stats.c - `lanca stats`: the running daemon's counters, read over
 * its control socket (what its store committed and wrote to the WAL).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/control.h"

static void
stats_usage(FILE *f)
{
	fprintf(f, "usage: lanca stats [--dir DIR] [--json]\n");
}

static long long
stats_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

int
cmd_stats(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct control_req rq;
	json_t *reply = NULL, *st;
	struct lerr e;
	int c, r, json = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			stats_usage(stdout);
			return CMD_OK;
		default:
			stats_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		stats_usage(stderr);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_STATS;
	cmd_actor(rq.actor);
	r = control_call(cmd_dir(dir), &rq, &reply, &e);
	if (r != 0) {
		cmd_error("stats", "%s%s", e.msg,
			  r == CONTROL_NOT_RUNNING ? ": the counters are the daemon's (start lanca serve)" : "");
		return CMD_FAILED;
	}
	if (json) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		st = json_object_get(reply, "store");
		printf("store: %lld commits of %lld jobs; WAL %lld frames, %lld bytes "
		       "(page %lld); %lld checkpoints copied %lld pages\n",
		       stats_int(st, "commits"), stats_int(st, "jobs"), stats_int(st, "wal_frames"),
		       stats_int(st, "wal_bytes"), stats_int(st, "page_size"),
		       stats_int(st, "checkpoints"), stats_int(st, "checkpointed_pages"));
	}
	json_decref(reply);
	return CMD_OK;
}
