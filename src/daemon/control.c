/*
 * control.c - the daemon's local control socket (see control.h).
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
#include <unistd.h>

#include "common/buf.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "common/log.h"
#include "daemon/state.h"

struct control {
	int fd;
	int stop[2];		/* a pipe: written to stop the thread */
	pthread_t tid;
	struct enroll *en;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

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

/* Reads one line (without the newline) of at most CONTROL_MSG_MAX bytes. */
static int
control_read_line(int fd, struct buf *b)
{
	char c;
	ssize_t n;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return b->len > 0 ? 0 : -1;
		if (c == '\n')
			return 0;
		if (buf_append(b, &c, 1) != 0)
			return -1;
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
	text[len] = '\0';
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
	return json_pack("{s:s, s:s}", "error", lerr_str(e->code != LERR_NONE ? e->code : LERR_INTERNAL),
			 "message", e->msg);
}

/* Runs one command; returns the answer. */
static json_t *
control_dispatch(struct control *c, json_t *cmd)
{
	const char *name = json_string_value(json_object_get(cmd, "cmd"));
	const char *id = json_string_value(json_object_get(cmd, "id"));
	const char *actor = json_string_value(json_object_get(cmd, "actor"));
	struct enroll_result res;
	struct lerr e;
	json_t *out = NULL;
	char who[96];

	lerr_clear(&e);
	snprintf(who, sizeof(who), "cli %s", actor != NULL ? actor : "");
	if (name == NULL) {
		lerr_set(&e, LERR_BAD_REQUEST, "no command");
		return control_error(&e);
	}
	if (strcmp(name, "press") == 0) {
		json_int_t s = json_integer_value(json_object_get(cmd, "seconds"));
		json_int_t n = json_integer_value(json_object_get(cmd, "count"));

		if (s < 0 || s > WINDOW_SECONDS_MAX || n < 0 || n > WINDOW_COUNT_MAX) {
			lerr_set(&e, LERR_BAD_REQUEST, "seconds or count out of range");
			return control_error(&e);
		}
		if (enroll_press(c->en, (unsigned)s, (unsigned)n, who, &e) != 0)
			return control_error(&e);
		out = enroll_window_json(c->en);
		if (out != NULL)
			json_object_set_new(out, "ok", json_true());
		return out;
	}
	if (id == NULL || strlen(id) != STORE_REQUEST_ID_LEN) {
		lerr_set(&e, LERR_BAD_REQUEST, "a request id is 32 hex characters");
		return control_error(&e);
	}
	if (strcmp(name, "approve") == 0) {
		enroll_result_init(&res);
		if (enroll_approve(c->en, id, who, &res, &e) == 0)
			out = json_pack("{s:b, s:s, s:s}", "ok", 1, "id", id, "serial", res.serial);
		enroll_result_free(&res);
		return out != NULL ? out : control_error(&e);
	}
	if (strcmp(name, "deny") == 0) {
		if (enroll_deny(c->en, id, json_string_value(json_object_get(cmd, "reason")), who,
				&e) != 0)
			return control_error(&e);
		return json_pack("{s:b, s:s}", "ok", 1, "id", id);
	}
	lerr_set(&e, LERR_BAD_REQUEST, "unknown command %.32s", name);
	return control_error(&e);
}

/* Answers one connection. */
static void
control_serve(struct control *c, int fd)
{
	struct timeval tv = { 5, 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	json_error_t je;
	json_t *cmd = NULL, *reply = NULL;
	struct buf b;
	struct lerr e;

	buf_init(&b, CONTROL_MSG_MAX);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		lerr_set(&e, LERR_FORBIDDEN, "only root or the daemon's user may do that");
		reply = control_error(&e);
		goto out;
	}
	if (control_read_line(fd, &b) != 0) {
		lerr_set(&e, LERR_TOO_LARGE, "a command is one line of at most %d bytes",
			 CONTROL_MSG_MAX);
		reply = control_error(&e);
		goto out;
	}
	cmd = json_loadb((const char *)b.data, b.len, 0, &je);
	if (!json_is_object(cmd)) {
		lerr_set(&e, LERR_BAD_REQUEST, "a command is a JSON object");
		reply = control_error(&e);
		goto out;
	}
	reply = control_dispatch(c, cmd);
out:
	if (reply != NULL)
		(void)control_write_json(fd, reply);
	json_decref(reply);
	json_decref(cmd);
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
control_start(const char *dir, struct enroll *en, struct control **out, struct lerr *e)
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
	c->stop[0] = c->stop[1] = -1;
	c->en = en;
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
control_call(const char *dir, json_t *cmd, json_t **reply, struct lerr *e)
{
	struct timeval tv = { 60, 0 };
	struct sockaddr_un sa;
	json_error_t je;
	json_t *r = NULL, *err;
	struct buf b;
	int fd = -1, rc = -1;

	*reply = NULL;
	buf_init(&b, 64 * 1024);
	if (control_addr(dir, &sa, e) != 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		lerr_set(e, LERR_NOT_FOUND, "lanca serve is not running on %s", dir);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (control_write_json(fd, cmd) != 0 || control_read_line(fd, &b) != 0) {
		lerr_set(e, LERR_INTERNAL, "the daemon did not answer");
		goto out;
	}
	r = json_loadb((const char *)b.data, b.len, 0, &je);
	if (!json_is_object(r)) {
		lerr_set(e, LERR_INTERNAL, "the daemon's answer is not JSON");
		goto out;
	}
	err = json_object_get(r, "error");
	if (err != NULL) {
		lerr_set(e, lerr_from_str(json_string_value(err)),
			 "%s", json_string_value(json_object_get(r, "message")) ?
			 json_string_value(json_object_get(r, "message")) : "failed");
		goto out;
	}
	*reply = r;
	r = NULL;
	rc = 0;
out:
	json_decref(r);
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return rc;
}
