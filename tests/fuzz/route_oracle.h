/*
 * route_oracle.h - a second, deliberately plain reading of the router's
 * rules (route.h), for the fuzz targets fuzz_path and fuzz_route to hold
 * route.c's answers against: what a pattern matches, what a parameter may
 * hold, what the Allow header of a 405 lists. Written from the contract,
 * not copied from route.c, so the two can disagree.
 */
#ifndef LANCA_FUZZ_ROUTE_ORACLE_H
#define LANCA_FUZZ_ROUTE_ORACLE_H

#include <stdlib.h>
#include <string.h>

#include "http/route.h"

/* 1 if c may appear in a path parameter. */
static int
oracle_param_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* 1 if the segment [s, s+len) is a "{name}" pattern segment. */
static int
oracle_is_param(const char *s, size_t len)
{
	return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

/*
 * 1 if path matches pattern: both split at every '/', the same number of
 * segments, each literal segment equal, each "{name}" segment 1 to
 * HTTP_PARAM_MAX parameter characters, at most HTTP_PARAMS_MAX of them.
 */
static int
oracle_match(const char *pattern, const char *path)
{
	const char *p = pattern, *q = path, *pe, *qe;
	size_t nparams = 0, i;

	if (*p != '/' || *q != '/')
		return 0;
	for (;;) {
		p++;
		q++;
		pe = strchr(p, '/');
		qe = strchr(q, '/');
		if (pe == NULL)
			pe = p + strlen(p);
		if (qe == NULL)
			qe = q + strlen(q);
		if (oracle_is_param(p, (size_t)(pe - p))) {
			if (qe == q || (size_t)(qe - q) > HTTP_PARAM_MAX || ++nparams > HTTP_PARAMS_MAX)
				return 0;
			for (i = 0; q + i < qe; i++)
				if (!oracle_param_char((unsigned char)q[i]))
					return 0;
		} else if (pe - p != qe - q || memcmp(p, q, (size_t)(pe - p)) != 0) {
			return 0;
		}
		if (*pe == '\0' || *qe == '\0')
			return *pe == '\0' && *qe == '\0';
		p = pe;
		q = qe;
	}
}

/* Aborts unless m's parameters are exactly the "{name}" segments of
 * pattern, in order, holding path's segments at those places. */
static void
oracle_check_params(const char *pattern, const char *path, const struct http_params *m)
{
	const char *p = pattern, *q = path, *pe, *qe;
	size_t k = 0;

	if (m->n > HTTP_PARAMS_MAX)
		abort();
	while (*p == '/' && *q == '/') {
		p++;
		q++;
		pe = p + strcspn(p, "/");
		qe = q + strcspn(q, "/");
		if (oracle_is_param(p, (size_t)(pe - p))) {
			if (k >= m->n || m->p[k].name != p + 1 ||
			    m->p[k].name_len != (size_t)(pe - p) - 2 ||
			    strlen(m->p[k].value) != (size_t)(qe - q) ||
			    strlen(m->p[k].value) > HTTP_PARAM_MAX ||
			    memcmp(m->p[k].value, q, (size_t)(qe - q)) != 0)
				abort();
			k++;
		}
		p = pe;
		q = qe;
	}
	if (k != m->n)
		abort();
}

/* 1 if a row for rmethod answers method. */
static int
oracle_method(const char *rmethod, const char *method)
{
	return strcmp(rmethod, method) == 0 ||
	       (strcmp(rmethod, "GET") == 0 && strcmp(method, "HEAD") == 0);
}

/* Appends m to the list unless present ("A, B" form). */
static void
oracle_allow_add(char *allow, size_t n, const char *m)
{
	char copy[HTTP_ALLOW_MAX * 2], *tok, *save = NULL;
	size_t used = strlen(allow);

	memcpy(copy, allow, used + 1);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
		if (strcmp(tok, m) == 0)
			return;
	if (used + (used ? 2 : 0) + strlen(m) + 1 > n)
		return;
	if (used)
		strcat(allow, ", ");
	strcat(allow, m);
}

/*
 * Checks http_route_match(t, on, method, path) against the oracle: the
 * first row that answers, or 405 with the right Allow, or 404. Aborts on
 * any disagreement; returns the route found.
 */
static const struct http_route *
oracle_check_table(const struct http_table *t, unsigned on, const char *method,
		   const char *path)
{
	const struct http_route *rt, *want = NULL;
	struct http_match m;
	char allow[HTTP_ALLOW_MAX] = "";
	int known = 0;
	size_t i;

	memset(&m, 0x5a, sizeof(m));
	rt = http_route_match(t, on, method, path, &m);
	for (i = 0; i < t->n && want == NULL; i++) {
		const struct http_route *r = &t->routes[i];

		if ((r->on & on) == 0 || !oracle_match(r->path, path))
			continue;
		if (oracle_method(r->method, method)) {
			want = r;
		} else {
			known = 1;
			oracle_allow_add(allow, sizeof(allow), r->method);
			if (strcmp(r->method, "GET") == 0)
				oracle_allow_add(allow, sizeof(allow), "HEAD");
		}
	}
	if (rt != want)
		abort();
	if (rt != NULL) {
		oracle_check_params(rt->path, path, &m.params);
	} else {
		if (m.path_known != known || strcmp(m.allow, allow) != 0 || m.params.n != 0 ||
		    (known && m.allow[0] == '\0'))
			abort();
	}
	return rt;
}

#endif
