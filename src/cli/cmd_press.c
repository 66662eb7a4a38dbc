/*
 * cmd_press.c - `lanca press`: the onboarding button, pressed from a
 * shell (or a GPIO script) in the running daemon. The window lives in the
 * daemon, so there is nothing to press without one.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/control.h"
#include "daemon/window.h"

static void
press_usage(FILE *f)
{
	fprintf(f, "usage: lanca press [--dir DIR] [--seconds N] [--count N] [--json]\n");
}

/* Sets member key of args to the number s; -1 if s is not a number
 * (whether the number is in range is admin_press_parse's to say). */
static int
press_number(json_t *args, const char *key, const char *s)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	return json_object_set_new(args, key, json_integer(v)) == 0 ? 0 : -1;
}

/* What the window said, for people (decided on the parsed state). */
static void
press_print(const json_t *w)
{
	enum window_state st = WINDOW_CLOSED;

	(void)window_state_parse(json_string_value(json_object_get(w, "state")), &st);
	if (st == WINDOW_OPEN)
		printf("onboarding window open for %lld s: admits %lld more device(s)\n",
		       (long long)json_integer_value(json_object_get(w, "seconds_left")),
		       (long long)(json_integer_value(json_object_get(w, "count")) -
				   json_integer_value(json_object_get(w, "admitted"))));
	else if (st == WINDOW_OVERLAP)
		printf("session overlap: %lld devices are waiting; nothing was admitted "
		       "(see lanca pending)\n",
		       (long long)json_integer_value(json_object_get(w, "overlap_keys")));
	else
		printf("admitted %lld waiting device(s); the window is closed\n",
		       (long long)json_integer_value(json_object_get(w, "admitted")));
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
	const char *dir = NULL;
	struct control_req rq;
	json_t *args = json_object(), *reply = NULL;
	struct lerr e;
	int c, r, json = 0, rc = CMD_USAGE;

	if (args == NULL) {
		cmd_error("press", "out of memory");
		return CMD_FAILED;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 's':
		case 'n':
			if (press_number(args, c == 's' ? "seconds" : "count", optarg) != 0) {
				cmd_error("press", "--%s %s: not a number",
					  c == 's' ? "seconds" : "count", optarg);
				goto out;
			}
			break;
		case 'h':
			press_usage(stdout);
			rc = CMD_OK;
			goto out;
		default:
			press_usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		press_usage(stderr);
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_PRESS;
	if (admin_press_parse(args, &rq.press, &e) != 0) {
		cmd_error("press", "%s", e.msg);
		goto out;
	}
	rc = CMD_FAILED;
	cmd_actor(rq.actor);
	dir = cmd_dir(dir);
	r = control_call(dir, &rq, &reply, &e);
	if (r != 0) {
		if (r == CONTROL_NOT_RUNNING)
			cmd_error("press", "%s: the button is the daemon's (start lanca serve)",
				  e.msg);
		else
			cmd_error("press", "%s", e.msg);
		goto out;
	}
	if (json) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		press_print(reply);
	}
	rc = CMD_OK;
out:
	json_decref(args);
	json_decref(reply);
	return rc;
}
