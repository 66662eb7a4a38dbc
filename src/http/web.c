/*
 * web.c - the onboarding page's static files under app->web_dir (see api.h).
 *
 * Only plain files directly in web_dir are served, by names that cannot
 * climb out of it ([A-Za-z0-9._-]+, no leading dot), with a Content-Type
 * chosen by extension from a short list; anything else is a 404. Files
 * are opened with O_NOFOLLOW, so a symlink dropped into web_dir is not
 * followed, and read whole with a 1 MiB cap. Plain HTTP gets only the
 * public page's own files, each a row of its own in routes.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/api.h"
#include "common/log.h"

static const struct {
	const char *ext;
	const char *ctype;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
};

int
web_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > WEB_NAME_MAX || name[0] == '.')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-") == n;
}

/* The Content-Type for name's extension, or NULL if we do not serve it. */
static const char *
web_ctype(const char *name)
{
	size_t n = strlen(name), i, el;

	for (i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++) {
		el = strlen(web_types[i].ext);
		if (n > el && strcmp(name + n - el, web_types[i].ext) == 0)
			return web_types[i].ctype;
	}
	return NULL;
}

int
web_load(const char *dir, const char *name, struct buf *b)
{
	char path[4096], chunk[8192];
	struct stat st;
	ssize_t got;
	int fd = -1, rc = -1, w;

	if (dir == NULL || !web_name_ok(name))
		return 1;
	w = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		rc = 1;
		goto out;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == EACCES)
			rc = 1;
		else
			log_warn("web: open %s: %s", path, strerror(errno));
		goto out;
	}
	/* Only regular files: never a FIFO or device someone left there. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
		rc = 1;
		goto out;
	}
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			log_warn("web: read %s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		/* The file may have grown since fstat: the buffer's cap holds. */
		if (buf_append(b, chunk, (size_t)got) != 0) {
			rc = 1;
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Serves one file by name, or a 404 naming the request path. */
static enum MHD_Result
web_serve(struct http_req *r, const char *name)
{
	const char *ctype;
	enum MHD_Result ret;
	struct buf b;
	int rc;

	ctype = web_ctype(name);
	if (r->app->web_dir == NULL || !web_name_ok(name) || ctype == NULL)
		return http_reply_error(r, LERR_NOT_FOUND,
					"no such path: %s", r->url);
	buf_init(&b, WEB_FILE_MAX);
	rc = web_load(r->app->web_dir, name, &b);
	if (rc == 0)
		ret = http_reply(r, MHD_HTTP_OK, ctype, b.data != NULL ? b.data : (unsigned char *)"",
				 b.len);
	else if (rc == 1)
		ret = http_reply_error(r, LERR_NOT_FOUND,
				       "no such path: %s", r->url);
	else
		ret = http_reply_error(r, LERR_INTERNAL, "cannot read %s", name);
	buf_free(&b);
	return ret;
}

enum MHD_Result
web_file(struct http_req *r)
{
	const char *name = http_param(r, "name");

	if (name == NULL)	/* a table row without {name}: a bug */
		return http_reply_error(r, LERR_INTERNAL, "no file name in the route");
	return web_serve(r, name);
}

enum MHD_Result
web_page_file(struct http_req *r)
{
	/* Its row is the file's own exact path: "/style.css". */
	return web_serve(r, r->url + 1);
}
