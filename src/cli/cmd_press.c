/*
 * cmd_press.c - `lanca press`: the onboarding button, pressed from a
 * shell (or a GPIO script) in the running daemon.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/control.h"
#include "daemon/window.h"

static void
press_usage(FILE *f)
{
	fprintf(f, "usage: lanca press [--dir DIR] [--seconds N] [--count N] [--json]\n");
}

/* Parses a number in [1, max]; -1 if it is not one. */
static int
press_number(const char *s, unsigned long max, json_int_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] == '-' || v < 1 || v > max)
		return -1;
	*out = (json_int_t)v;
	return 0;
}

int
cmd_press(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *state;
	json_int_t seconds = 0, count = 0;
	json_t *cmd = NULL, *reply = NULL;
	struct lerr e;
	int c, json = 0, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 's':
			if (press_number(optarg, WINDOW_SECONDS_MAX, &seconds) != 0) {
				cmd_error("press", "--seconds %s: from 1 to %d", optarg, WINDOW_SECONDS_MAX);
				return CMD_USAGE;
			}
			break;
		case 'n':
			if (press_number(optarg, WINDOW_COUNT_MAX, &count) != 0) {
				cmd_error("press", "--count %s: from 1 to %d", optarg, WINDOW_COUNT_MAX);
				return CMD_USAGE;
			}
			break;
		case 'h':
			press_usage(stdout);
			return CMD_OK;
		default:
			press_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		press_usage(stderr);
		return CMD_USAGE;
	}
	cmd = json_pack("{s:s, s:I, s:I, s:s}", "cmd", "press", "seconds", seconds,
			"count", count, "actor", getenv("USER") ? getenv("USER") : "");
	if (cmd == NULL || control_call(cmd_dir(dir), cmd, &reply, &e) != 0) {
		cmd_error("press", "%s", cmd == NULL ? "out of memory" : e.msg);
		goto out;
	}
	if (json) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		state = json_string_value(json_object_get(reply, "state"));
		if (state != NULL && strcmp(state, "open") == 0)
			printf("onboarding window open for %lld s: admits %lld more device(s)\n",
			       (long long)json_integer_value(json_object_get(reply, "seconds_left")),
			       (long long)(json_integer_value(json_object_get(reply, "count")) -
					   json_integer_value(json_object_get(reply, "admitted"))));
		else if (state != NULL && strcmp(state, "overlap") == 0)
			printf("session overlap: %lld devices are waiting; nothing was admitted "
			       "(see lanca pending)\n",
			       (long long)json_integer_value(json_object_get(reply, "overlap_keys")));
		else
			printf("admitted %lld waiting device(s); the window is closed\n",
			       (long long)json_integer_value(json_object_get(reply, "admitted")));
	}
	rc = CMD_OK;
out:
	json_decref(cmd);
	json_decref(reply);
	return rc;
}
