/*
 * control.c - the daemon's local control socket (see control.h).
 *
 * A command is one row of control_cmds: its name, how its arguments are
 * read from the request and written back (control_parse and
 * control_req_json share them, so the CLI sends exactly what the daemon
 * reads), and its handler, which calls admin.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "daemon/admin.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "common/log.h"
#include "daemon/state.h"

#define CONTROL_TIMEOUT_S	5	/* for a client to send its line */

struct control {
	int fd;
	int stop[2];		/* a pipe: written to stop the thread */
	pthread_t tid;
	struct enroll *en;
	struct revocation *rv;
	struct store *store;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- the request grammar ---- */

/* Copies string member key of cmd into out (size bytes with the NUL):
 * absent leaves out "". 0, or -1 if it is not a string, holds a NUL or
 * a control byte, or does not fit. */
static int
control_str(const json_t *cmd, const char *key, char *out, size_t size)
{
	json_t *v = json_object_get(cmd, key);
	const char *s;
	size_t i, n;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= size || strlen(s) != n)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

static int
control_parse_press(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	return admin_press_parse(cmd, &rq->press, e);
}

static int
control_put_press(json_t *j, const struct control_req *rq)
{
	return (rq->press.seconds != 0 &&
		json_object_set_new(j, "seconds", json_integer(rq->press.seconds)) != 0) ||
	       (rq->press.count != 0 &&
		json_object_set_new(j, "count", json_integer(rq->press.count)) != 0) ? -1 : 0;
}

static int
control_parse_id(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	json_t *v = json_object_get(cmd, "id");
	const char *id = NULL;

	/* A NUL inside the string must not pass for its end. */
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		id = json_string_value(v);
	if (admin_id_check(id, e) != 0)
		return -1;
	memcpy(rq->id, id, STORE_REQUEST_ID_LEN + 1);
	return 0;
}

static int
control_put_id(json_t *j, const struct control_req *rq)
{
	return json_object_set_new(j, "id", json_string(rq->id));
}

static int
control_parse_deny(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	if (control_parse_id(cmd, rq, e) != 0)
		return -1;
	if (control_str(cmd, "reason", rq->reason, sizeof(rq->reason)) != 0)
		return lerr_set(e, LERR_BAD_REQUEST,
				"a reason is text of at most %d bytes", ADMIN_REASON_MAX);
	return admin_reason_check(rq->reason, e);
}

static int
control_put_deny(json_t *j, const struct control_req *rq)
{
	return control_put_id(j, rq) != 0 ||
	       (rq->reason[0] != '\0' &&
		json_object_set_new(j, "reason", json_string(rq->reason)) != 0) ? -1 : 0;
}

static int
control_parse_revoke(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	char target[ADMIN_TARGET_MAX + 1], reason[32], comment[ADMIN_REASON_MAX + 1];

	if (control_str(cmd, "target", target, sizeof(target)) != 0 ||
	    control_str(cmd, "reason", reason, sizeof(reason)) != 0 ||
	    control_str(cmd, "comment", comment, sizeof(comment)) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "a revocation is a target (a serial or "
				"device id), a reason and a comment, each short text");
	return admin_revoke_parse(target, reason, comment, &rq->revoke, e);
}

static int
control_put_revoke(json_t *j, const struct control_req *rq)
{
	return json_object_set_new(j, "target", json_string(rq->revoke.target)) != 0 ||
	       json_object_set_new(j, "reason",
				   json_string(crl_reason_str((int)rq->revoke.reason))) != 0 ||
	       (rq->revoke.comment[0] != '\0' &&
		json_object_set_new(j, "comment", json_string(rq->revoke.comment)) != 0) ? -1 : 0;
}

static int
control_parse_list(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	return admin_list_parse(cmd, &rq->list, e);
}

static int
control_put_list(json_t *j, const struct control_req *rq)
{
	char cursor[ADMIN_CURSOR_MAX + 1];

	admin_cursor_format(rq->list.after, cursor);
	return (rq->list.state != STORE_REQ_ANY &&
		json_object_set_new(j, "state",
				    json_string(store_req_state_str(rq->list.state))) != 0) ||
	       (rq->list.limit != 0 &&
		json_object_set_new(j, "limit", json_integer(rq->list.limit)) != 0) ||
	       (cursor[0] != '\0' &&
		json_object_set_new(j, "cursor", json_string(cursor)) != 0) ? -1 : 0;
}

/* A command without arguments. */
static int
control_parse_none(const json_t *cmd, struct control_req *rq, struct lerr *e)
{
	(void)cmd;
	(void)rq;
	(void)e;
	return 0;
}

static int
control_put_none(json_t *j, const struct control_req *rq)
{
	(void)j;
	(void)rq;
	return 0;
}

/* ---- the handlers: admin.c acts, they only translate ---- */

static json_t *
control_do_press(struct control *c, const struct control_req *rq, const char *who,
		 struct lerr *e)
{
	json_t *out = NULL;

	if (admin_press(c->en, &rq->press, who, &out, e) != 0)
		return NULL;
	if (out == NULL || json_object_set_new(out, "ok", json_true()) != 0) {
		json_decref(out);
		lerr_set(e, LERR_INTERNAL, "out of memory");
		return NULL;
	}
	return out;
}

static json_t *
control_do_approve(struct control *c, const struct control_req *rq, const char *who,
		   struct lerr *e)
{
	char serial[2 * STORE_SERIAL_MAX + 1];

	if (admin_approve(c->en, rq->id, who, serial, e) != 0)
		return NULL;
	return json_pack("{s:b, s:s, s:s}", "ok", 1, "id", rq->id, "serial", serial);
}

static json_t *
control_do_deny(struct control *c, const struct control_req *rq, const char *who,
		struct lerr *e)
{
	if (admin_deny(c->en, rq->id, rq->reason[0] != '\0' ? rq->reason : NULL, who, e) != 0)
		return NULL;
	return json_pack("{s:b, s:s}", "ok", 1, "id", rq->id);
}

static json_t *
control_do_revoke(struct control *c, const struct control_req *rq, const char *who,
		  struct lerr *e)
{
	json_t *o = NULL;

	if (admin_revoke(c->store, c->rv, &rq->revoke, who, &o, e) != 0)
		return NULL;
	if (json_object_set_new(o, "ok", json_true()) != 0) {
		json_decref(o);
		lerr_set(e, LERR_INTERNAL, "out of memory");
		return NULL;
	}
	return o;
}

static json_t *
control_do_list(struct control *c, const struct control_req *rq, const char *who,
		struct lerr *e)
{
	json_t *page;

	(void)who;
	if (admin_list_json(c->store, &rq->list, (int64_t)time(NULL), &page, e) != 0)
		return NULL;
	if (json_object_set_new(page, "ok", json_true()) != 0) {
		json_decref(page);
		lerr_set(e, LERR_INTERNAL, "out of memory");
		return NULL;
	}
	return page;
}

static json_t *
control_do_stats(struct control *c, const struct control_req *rq, const char *who,
		 struct lerr *e)
{
	struct store_stats st;
	json_t *j;

	(void)rq;
	(void)who;
	store_stats(c->store, &st);
	j = json_pack("{s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "ok", 1, "store",
		      "commits", (json_int_t)st.commits, "jobs", (json_int_t)st.jobs,
		      "wal_frames", (json_int_t)st.wal_frames,
		      "wal_bytes", (json_int_t)st.wal_bytes,
		      "checkpoints", (json_int_t)st.checkpoints,
		      "checkpointed_pages", (json_int_t)st.checkpointed_pages,
		      "page_size", (json_int_t)st.page_size);
	if (j == NULL)
		lerr_set(e, LERR_INTERNAL, "out of memory");
	return j;
}

static const struct control_cmd {
	const char *name;
	enum control_op op;
	int (*parse)(const json_t *cmd, struct control_req *rq, struct lerr *e);
	int (*put)(json_t *j, const struct control_req *rq);
	json_t *(*run)(struct control *c, const struct control_req *rq, const char *who,
		       struct lerr *e);
} control_cmds[] = {
	{ "press", CONTROL_PRESS, control_parse_press, control_put_press, control_do_press },
	{ "approve", CONTROL_APPROVE, control_parse_id, control_put_id, control_do_approve },
	{ "deny", CONTROL_DENY, control_parse_deny, control_put_deny, control_do_deny },
	{ "list", CONTROL_LIST, control_parse_list, control_put_list, control_do_list },
	{ "stats", CONTROL_STATS, control_parse_none, control_put_none, control_do_stats },
	{ "revoke", CONTROL_REVOKE, control_parse_revoke, control_put_revoke, control_do_revoke },
};
#define CONTROL_NCMDS	(sizeof(control_cmds) / sizeof(control_cmds[0]))

static const struct control_cmd *
control_cmd_of(enum control_op op)
{
	size_t i;

	for (i = 0; i < CONTROL_NCMDS; i++)
		if (control_cmds[i].op == op)
			return &control_cmds[i];
	return NULL;
}

int
control_parse(const char *line, size_t len, struct control_req *out, struct lerr *e)
{
	const struct control_cmd *cmd = NULL;
	json_error_t je;
	json_t *j = NULL;
	const char *name;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > CONTROL_MSG_MAX) {
		lerr_set(e, LERR_TOO_LARGE, "a command is one line of at most %d bytes",
			 CONTROL_MSG_MAX);
		goto out;
	}
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		lerr_set(e, LERR_BAD_REQUEST, "a command is a JSON object");
		goto out;
	}
	name = json_string_value(json_object_get(j, "cmd"));
	if (name == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "no command");
		goto out;
	}
	for (i = 0; i < CONTROL_NCMDS && cmd == NULL; i++)
		if (strcmp(name, control_cmds[i].name) == 0)
			cmd = &control_cmds[i];
	if (cmd == NULL) {
		lerr_set(e, LERR_BAD_REQUEST, "unknown command %.32s", name);
		goto out;
	}
	if (control_str(j, "actor", out->actor, sizeof(out->actor)) != 0) {
		lerr_set(e, LERR_BAD_REQUEST, "actor is a name of at most %d bytes",
			 CONTROL_ACTOR_MAX);
		goto out;
	}
	if (cmd->parse(j, out, e) != 0)
		goto out;
	out->op = cmd->op;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	json_decref(j);
	return rc;
}

json_t *
control_req_json(const struct control_req *rq)
{
	const struct control_cmd *cmd = control_cmd_of(rq->op);
	json_t *j;

	if (cmd == NULL)
		return NULL;
	j = json_pack("{s:s, s:s}", "cmd", cmd->name, "actor", rq->actor);
	if (j != NULL && cmd->put(j, rq) != 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* ---- the socket ---- */

static int
control_addr(const char *dir, struct sockaddr_un *sa, struct lerr *e)
{
	char path[STATE_PATH_MAX];

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (state_path(path, dir, CONTROL_SOCK) != 0 || strlen(path) >= sizeof(sa->sun_path))
		return lerr_set(e, LERR_INTERNAL,
				"state directory path too long for a control socket: %s", dir);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/*
 * Reads one line (without the newline) into b, whose cap bounds it. A
 * peer sends one line per connection, so what follows a newline is
 * dropped. 0, or -1 with e saying which: too long, too slow, or nothing.
 */
static int
control_read_line(int fd, struct buf *b, struct lerr *e)
{
	char chunk[4096], *nl;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return lerr_set(e, LERR_BAD_REQUEST,
					"no complete command line within %d seconds", CONTROL_TIMEOUT_S);
		if (n < 0)
			return lerr_set(e, LERR_BAD_REQUEST, "reading the command: %s",
					strerror(errno));
		if (n == 0 && b->len > 0)
			return 0;
		if (n == 0)
			return lerr_set(e, LERR_BAD_REQUEST, "no command was sent");
		nl = memchr(chunk, '\n', (size_t)n);
		if (buf_append(b, chunk, nl != NULL ? (size_t)(nl - chunk) : (size_t)n) != 0)
			return lerr_set(e, LERR_TOO_LARGE, "a command is one line of at most %d bytes",
					CONTROL_MSG_MAX);
		if (nl != NULL)
			return 0;
	}
}

static int
control_write_json(int fd, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	size_t len, off = 0;
	ssize_t n;
	int rc = 0;

	if (text == NULL)
		return -1;
	len = strlen(text);
	while (off < len && rc == 0) {
		n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else
			off += (size_t)n;
	}
	if (rc == 0 && send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		rc = -1;
	free(text);
	return rc;
}

static json_t *
control_error(const struct lerr *e)
{
	return json_pack("{s:s, s:s}", "error",
			 lerr_str(e->code != LERR_NONE ? e->code : LERR_INTERNAL),
			 "message", e->code != LERR_NONE ? e->msg : "failed");
}

/* Answers one connection. */
static void
control_serve(struct control *c, int fd)
{
	struct timeval tv = { CONTROL_TIMEOUT_S, 0 };
	struct control_req rq;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	json_t *reply = NULL;
	char who[16 + CONTROL_ACTOR_MAX];
	struct buf b;
	struct lerr e;

	lerr_clear(&e);
	/* One byte over the cap tells an over-long line from one that fits. */
	buf_init(&b, CONTROL_MSG_MAX + 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		lerr_set(&e, LERR_FORBIDDEN, "only root or the daemon's user may do that");
		goto out;
	}
	if (control_read_line(fd, &b, &e) != 0)
		goto out;
	if (control_parse((const char *)b.data, b.len, &rq, &e) != 0)
		goto out;
	snprintf(who, sizeof(who), "cli %s", rq.actor);
	reply = control_cmd_of(rq.op)->run(c, &rq, who, &e);
out:
	if (reply == NULL)
		reply = control_error(&e);
	if (reply != NULL)
		(void)control_write_json(fd, reply);
	json_decref(reply);
	buf_free(&b);
}

static void *
control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd p[2];
	int fd;

	p[0].fd = c->fd;
	p[0].events = POLLIN;
	p[1].fd = c->stop[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		control_serve(c, fd);
		close(fd);
	}
	return NULL;
}

int
control_start(const char *dir, struct enroll *en, struct revocation *rv, struct store *s,
	      struct control **out, struct lerr *e)
{
	struct sockaddr_un sa;
	struct control *c = NULL;
	mode_t old;
	int probe, rc = -1;

	*out = NULL;
	if (control_addr(dir, &sa, e) != 0) {
		/* Serving matters more than the shell's button. */
		log_warn("%s: lanca press/approve/deny will not reach this daemon "
			 "(SIGUSR1 and the admin API still work)", e->msg);
		lerr_clear(e);
		return 0;
	}
	/* A socket that answers belongs to a daemon that is running. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		return lerr_set(e, LERR_CONFLICT,
				"another lanca serve is running on %s", dir);
	}
	if (probe >= 0)
		close(probe);
	unlink(sa.sun_path);	/* left by a daemon that died */
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	c->fd = -1;
	c->rv = rv;
	c->stop[0] = c->stop[1] = -1;
	c->en = en;
	c->store = s;
	memcpy(c->path, sa.sun_path, sizeof(c->path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(077);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", sa.sun_path, strerror(errno));
		goto out;
	}
	umask(old);
	if (listen(c->fd, 8) != 0 || pipe2(c->stop, O_CLOEXEC) != 0 ||
	    pthread_create(&c->tid, NULL, control_main, c) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot serve %s: %s", sa.sun_path, strerror(errno));
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (c != NULL) {
		if (c->fd >= 0) {
			close(c->fd);
			unlink(c->path);
		}
		if (c->stop[0] >= 0) {
			close(c->stop[0]);
			close(c->stop[1]);
		}
		free(c);
	}
	return rc;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	if (write(c->stop[1], "x", 1) == 1)
		pthread_join(c->tid, NULL);
	close(c->stop[0]);
	close(c->stop[1]);
	close(c->fd);
	unlink(c->path);
	free(c);
}

int
control_call(const char *dir, const struct control_req *rq, json_t **reply, struct lerr *e)
{
	struct timeval tv = { 60, 0 };
	struct sockaddr_un sa;
	json_error_t je;
	struct lerr why;
	json_t *cmd = NULL, *r = NULL, *err;
	const char *msg;
	struct buf b;
	int fd = -1, rc = -1;

	*reply = NULL;
	buf_init(&b, CONTROL_REPLY_MAX);
	if (control_addr(dir, &sa, e) != 0)
		goto out;
	cmd = control_req_json(rq);
	if (cmd == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		lerr_set(e, LERR_INTERNAL, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* No socket file, or one nobody accepts on (left by a daemon
		 * that died): nothing is running. Anything else (EACCES, say)
		 * may hide a running daemon and is an error of its own. */
		if (errno == ENOENT || errno == ECONNREFUSED) {
			lerr_set(e, LERR_NOT_FOUND, "lanca serve is not running on %s", dir);
			rc = CONTROL_NOT_RUNNING;
		} else {
			lerr_set(e, LERR_INTERNAL, "cannot reach the daemon at %s: %s",
				 sa.sun_path, strerror(errno));
		}
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (control_write_json(fd, cmd) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot send the command to the daemon");
		goto out;
	}
	if (control_read_line(fd, &b, &why) != 0) {
		lerr_set(e, LERR_INTERNAL, "the daemon did not answer: %s", why.msg);
		goto out;
	}
	r = json_loadb((const char *)b.data, b.len, 0, &je);
	if (!json_is_object(r)) {
		lerr_set(e, LERR_INTERNAL, "the daemon's answer is not JSON");
		goto out;
	}
	err = json_object_get(r, "error");
	if (err != NULL) {
		msg = json_string_value(json_object_get(r, "message"));
		lerr_set(e, lerr_from_str(json_string_value(err)), "%s",
			 msg != NULL ? msg : "failed");
		goto out;
	}
	*reply = r;
	r = NULL;
	rc = 0;
out:
	json_decref(cmd);
	json_decref(r);
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return rc;
}
