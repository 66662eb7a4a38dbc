/*
 * cmd_pending.c - `lanca pending`: requests waiting for a decision.
 * Through the running daemon when there is one, else through the same
 * admin.c here; either way the rows are admin_request_json()'s.
 *
 * Listings come a page at a time (admin.h). Without --limit or --cursor
 * this command fetches page after page and shows every pending request;
 * with either it shows one page and the cursor of the next.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/control.h"

/* Where the pages come from: the daemon, or (none running) the CA here,
 * opened on the first page that needs it. */
struct pending_src {
	const char *dir;
	int local;
	struct cmd_ca ca;
};

static void
pending_usage(FILE *f)
{
	fprintf(f, "usage: lanca pending [--dir DIR] [--json] [--limit N] [--cursor NEXT]\n");
}

/* One page as rq->list says: *page (the caller's) is admin_list_json's
 * {"requests", "next"}. 0, or -1 with e. */
static int
pending_fetch(struct pending_src *src, const struct control_req *rq, json_t **page,
	      struct lerr *e)
{
	json_t *reply = NULL;
	int r;

	*page = NULL;
	if (!src->local) {
		r = control_call(src->dir, rq, &reply, e);
		if (r == 0) {
			if (!json_is_array(json_object_get(reply, "requests"))) {
				json_decref(reply);
				return lerr_set(e, LERR_INTERNAL, "the daemon's answer holds no list");
			}
			*page = reply;
			return 0;
		}
		if (r != CONTROL_NOT_RUNNING || cmd_ca_open(src->dir, NULL, 0, &src->ca, e) != 0)
			return -1;
		src->local = 1;
	}
	return admin_list_json(src->ca.store, &rq->list, (int64_t)time(NULL), page, e);
}

/*
 * The position page's "next" names into *after (0: the last page). A
 * cursor that does not lead further down would page for ever: -1 with e.
 */
static int
pending_next(const json_t *page, int64_t *after, struct lerr *e)
{
	const char *next = json_string_value(json_object_get(page, "next"));
	struct admin_list l;
	int64_t was = *after;

	*after = 0;
	if (json_object_get(page, "next") == NULL)
		return 0;
	if (next == NULL || admin_list_text(NULL, NULL, next, &l, e) != 0 ||
	    (was != 0 && l.after >= was))
		return lerr_set(e, LERR_INTERNAL, "the listing gave a bad cursor");
	*after = l.after;
	return 0;
}

/* A row's string member, "" when the daemon sent none. */
static const char *
pending_str(const json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));

	return s != NULL ? s : "";
}

static void
pending_print(const json_t *list)
{
	time_t now = time(NULL);
	json_t *row;
	size_t i;

	printf("%-32s  %-24s  %-15s  %-11s  %6s  %s\n", "ID", "DEVICE", "FROM", "DOOR", "SEEN",
	       "WHY");
	json_array_foreach(list, i, row) {
		char door[32];

		/* The door and, when something other than an admin is in play,
		 * the way: "est/window", "api/vendor", "api". */
		snprintf(door, sizeof(door), "%s%s%s", pending_str(row, "door"),
			 strcmp(pending_str(row, "via"), "none") != 0 ? "/" : "",
			 strcmp(pending_str(row, "via"), "none") != 0 ? pending_str(row, "via") : "");
		printf("%-32s  %-24s  %-15s  %-11s  %5llds  %s\n", pending_str(row, "id"),
		       pending_str(row, "device_id"), pending_str(row, "source"), door,
		       (long long)(now - json_integer_value(json_object_get(row, "last_seen"))),
		       pending_str(row, "reason"));
	}
}

/* Every pending request into *list (a new array), page after page. */
static int
pending_all(struct pending_src *src, struct control_req *rq, json_t **list, struct lerr *e)
{
	json_t *page = NULL;
	int rc = -1;

	if ((*list = json_array()) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	rq->list.limit = ADMIN_LIST_MAX;
	do {
		json_decref(page);
		if (pending_fetch(src, rq, &page, e) != 0)
			goto out;
		if (json_array_extend(*list, json_object_get(page, "requests")) != 0) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
		if (pending_next(page, &rq->list.after, e) != 0)
			goto out;
	} while (rq->list.after != 0);
	rc = 0;
out:
	json_decref(page);
	if (rc != 0) {
		json_decref(*list);
		*list = NULL;
	}
	return rc;
}

int
cmd_pending(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "cursor", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *limit = NULL, *cursor = NULL;
	char next[ADMIN_CURSOR_MAX + 1];
	struct pending_src src;
	struct control_req rq;
	json_t *page = NULL, *list = NULL;
	struct lerr e;
	int c, json = 0, rc = CMD_FAILED;

	memset(&src, 0, sizeof(src));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': src.dir = optarg; break;
		case 'j': json = 1; break;
		case 'l': limit = optarg; break;
		case 'c': cursor = optarg; break;
		case 'h':
			pending_usage(stdout);
			return CMD_OK;
		default:
			pending_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		pending_usage(stderr);
		return CMD_USAGE;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CONTROL_LIST;
	if (admin_list_text(store_req_state_str(STORE_REQ_PENDING), limit, cursor, &rq.list,
			    &e) != 0) {
		cmd_error("pending", "%s", e.msg);
		pending_usage(stderr);
		return CMD_USAGE;
	}
	cmd_actor(rq.actor);
	src.dir = cmd_dir(src.dir);
	if (limit == NULL && cursor == NULL) {
		if (pending_all(&src, &rq, &list, &e) != 0) {
			cmd_error("pending", "%s", e.msg);
			goto out;
		}
		if (json) {
			json_dumpf(list, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			pending_print(list);
		}
		rc = CMD_OK;
		goto out;
	}
	if (pending_fetch(&src, &rq, &page, &e) != 0) {
		cmd_error("pending", "%s", e.msg);
		goto out;
	}
	/* One page: the API's shape, without the daemon's "ok". Its cursor
	 * goes to a terminal: it is printed as this side writes one. */
	json_object_del(page, "ok");
	if (pending_next(page, &rq.list.after, &e) != 0) {
		cmd_error("pending", "%s", e.msg);
		goto out;
	}
	admin_cursor_format(rq.list.after, next);
	if (json) {
		json_dumpf(page, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		pending_print(json_object_get(page, "requests"));
		if (next[0] != '\0')
			printf("more: lanca pending --cursor %s%s%s\n", next,
			       limit != NULL ? " --limit " : "", limit != NULL ? limit : "");
	}
	rc = CMD_OK;
out:
	json_decref(page);
	json_decref(list);
	if (src.local)
		cmd_ca_close(&src.ca);
	return rc;
}
