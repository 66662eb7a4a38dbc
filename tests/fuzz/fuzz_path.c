/*
 * fuzz_path.c - fuzz target for the request path check (http_path_ok) and
 * the segment and parameter extraction of the matcher (route.c), over a
 * table of patterns of its own, with up to HTTP_PARAMS_MAX parameters and
 * one over the limit. The input is the decoded path as libmicrohttpd
 * hands it over (up to the first NUL).
 *
 * Aborts on a broken contract: an accepted path that starts without '/',
 * holds a control byte or backslash, or has a "." or ".." segment (and a
 * refused one that has none of these); a match the oracle
 * (route_oracle.h) disagrees with; a parameter out of bounds, outside its
 * character set, or not the segment at its place; http_param() not
 * finding what the match extracted.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/route.h"
#include "route_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum MHD_Result
fuzz_path_none(struct http_req *r)
{
	(void)r;
	return MHD_NO;
}

static const struct http_route fuzz_path_rows[] = {
	{ "GET", "/static/path", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/x/{a}/y/{b}", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/{a}/{b}/{c}/{d}/{e}", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/{a}/{b}/{c}/{d}", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/{a}/{b}/", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/{}/{a}", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
	{ "GET", "/{a}", 0, fuzz_path_none, HTTP_ON_BOTH, 0 },
};
static const struct http_table fuzz_path_table = {
	fuzz_path_rows, sizeof(fuzz_path_rows) / sizeof(fuzz_path_rows[0]), NULL,
};

/* What http_path_ok must say, read from its contract. */
static int
fuzz_path_expect(const char *path)
{
	const char *seg, *end;
	size_t i;

	if (path[0] != '/')
		return -1;
	for (i = 0; path[i] != '\0'; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f || path[i] == '\\')
			return -1;
	for (seg = path + 1;; seg = end + 1) {
		end = strchr(seg, '/');
		if (end == NULL)
			end = seg + strlen(seg);
		if ((end - seg == 1 && seg[0] == '.') ||
		    (end - seg == 2 && seg[0] == '.' && seg[1] == '.'))
			return -1;
		if (*end == '\0')
			return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_route *rt;
	struct http_req r;
	struct http_match m;
	char *path;
	size_t i;

	path = malloc(size + 1);
	if (path == NULL)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	if (http_path_ok(path) != fuzz_path_expect(path))
		abort();
	/* The matcher must be safe on any string, checked or not. */
	rt = oracle_check_table(&fuzz_path_table, HTTP_ON_TLS, "GET", path);
	if (rt != NULL) {
		rt = http_route_match(&fuzz_path_table, HTTP_ON_TLS, "GET", path, &m);
		memset(&r, 0, sizeof(r));
		r.params = m.params;
		for (i = 0; i < m.params.n; i++) {
			char name[8];

			if (m.params.p[i].name_len >= sizeof(name))
				abort();
			memcpy(name, m.params.p[i].name, m.params.p[i].name_len);
			name[m.params.p[i].name_len] = '\0';
			/* Names are unique in each row: the lookup finds this one. */
			if (http_param(&r, name) != r.params.p[i].value)
				abort();
		}
		if (http_param(&r, "zz") != NULL)
			abort();
	}
	free(path);
	return 0;
}
