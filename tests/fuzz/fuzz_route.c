/*
 * fuzz_route.c - fuzz target for route matching against the real table
 * (routes.c): method and path in, route or 405 (with Allow) or 404 out,
 * with the path parameters, on either server.
 *
 * Input: one byte choosing the server (bit 0) and the method (the rest:
 * one of the methods below, or, past them, the text up to the first '\n'
 * as the method), then the decoded path.
 *
 * Aborts when route.c and the oracle (route_oracle.h) disagree: a route
 * that is not the first row answering the method on that server, a
 * parameter that is not its segment or is out of bounds, a 405 whose
 * Allow is not the path's methods, a 404 where a row has the path. It
 * also checks what the router relies on: a row that matches an accepted
 * path never hands a handler a parameter with '/', '.' or ".." alone, or
 * a control byte.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/route.h"
#include "http/routes.h"
#include "route_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_route_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "",
};
#define FUZZ_ROUTE_NMETHODS	(sizeof(fuzz_route_methods) / sizeof(fuzz_route_methods[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_route *rt;
	struct http_match m;
	unsigned on, pick;
	char *text, *method, *path, *nl;
	size_t i, j;

	if (size < 1)
		return 0;
	on = (data[0] & 1) ? HTTP_ON_PLAIN : HTTP_ON_TLS;
	pick = data[0] >> 1;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (pick < FUZZ_ROUTE_NMETHODS) {
		method = (char *)fuzz_route_methods[pick];
		path = text;
	} else {
		nl = strchr(text, '\n');
		method = text;
		path = nl != NULL ? nl + 1 : text + strlen(text);
		if (nl != NULL)
			*nl = '\0';
	}
	rt = oracle_check_table(&http_routes, on, method, path);
	if (rt != NULL && http_path_ok(path) == 0) {
		rt = http_route_match(&http_routes, on, method, path, &m);
		for (i = 0; i < m.params.n; i++) {
			const char *v = m.params.p[i].value;

			if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0 || v[0] == '\0')
				abort();
			for (j = 0; v[j] != '\0'; j++)
				if (v[j] == '/' || (unsigned char)v[j] < 0x21 ||
				    (unsigned char)v[j] >= 0x7f)
					abort();
		}
		/* Every row has a handler and a server. */
		if (rt->handler == NULL || (rt->on & HTTP_ON_BOTH) == 0)
			abort();
	}
	free(text);
	return 0;
}
