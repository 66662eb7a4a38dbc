/*
 * fuzz_host.c - fuzz target for the Host header parser (http_host_parse)
 * and the HTTPS Location built from it (http_https_location), both in
 * reply.c: the one piece of a plain-HTTP request that ends up in a header
 * we send back.
 *
 * Input: two bytes of port, one byte of output size, then the Host value
 * up to the first '\n' and the request path after it.
 *
 * Aborts on a broken contract: a parsed host that is not the value's
 * prefix, is too long, or holds a byte outside [A-Za-z0-9.-] (or, in
 * brackets, outside an IPv6 literal's); what follows it being anything but
 * ":" and 1 to 5 digits; the output written on a refusal or past its size;
 * a Location that is not "https://HOST[:PORT]PATH" with the parsed host
 * (or "localhost"), holds a byte a header may not carry raw, or does not
 * decode back to the path.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HOST_CANARY	0xa5

/* The host must be a DNS-ish name or a bracketed literal of IPv6 bytes. */
static void
fuzz_host_check_host(const char *h)
{
	size_t len = strlen(h), i;

	if (len == 0 || len > 253)
		abort();
	if (h[0] == '[') {
		if (len < 3 || h[len - 1] != ']')
			abort();
		for (i = 1; i + 1 < len; i++)
			if (strchr("0123456789abcdefABCDEF:.", h[i]) == NULL)
				abort();
		return;
	}
	if (h[0] == '.' || h[0] == '-')
		abort();
	for (i = 0; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
			   h[i]) == NULL || h[i] == '\0')
			abort();
}

static int
fuzz_host_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* loc must be "https://" host [":" port] then path, encoded. */
static void
fuzz_host_check_location(const char *loc, const char *host, unsigned port, const char *path)
{
	char prefix[HTTP_HOST_MAX + 32];
	const char *p;
	size_t i;

	if (port == 443)
		snprintf(prefix, sizeof(prefix), "https://%s", host);
	else
		snprintf(prefix, sizeof(prefix), "https://%s:%u", host, port);
	if (strncmp(loc, prefix, strlen(prefix)) != 0)
		abort();
	for (i = 0; loc[i] != '\0'; i++)
		if ((unsigned char)loc[i] <= 0x20 || (unsigned char)loc[i] >= 0x7f ||
		    loc[i] == '"' || loc[i] == '?' || loc[i] == '#' || loc[i] == '\\')
			abort();
	/* Decoding the rest gives the path back, byte for byte. */
	for (p = loc + strlen(prefix); *p != '\0'; p++, path++) {
		if (*p == '%') {
			int hi = fuzz_host_hex(p[1]), lo = hi < 0 ? -1 : fuzz_host_hex(p[2]);

			if (lo < 0 || (unsigned char)*path != (unsigned)(hi * 16 + lo))
				abort();
			p += 2;
		} else if (*p != *path) {
			abort();
		}
	}
	if (*path != '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[HTTP_HOST_MAX + 1], *out, *value, *path, *nl;
	size_t n, i, len;
	unsigned port;
	int rc;

	if (size < 3)
		return 0;
	port = (unsigned)data[0] << 8 | data[1];
	n = data[2];
	value = malloc(size - 3 + 1);
	out = malloc(n + 16);
	if (value == NULL || out == NULL)
		goto out;
	memcpy(value, data + 3, size - 3);
	value[size - 3] = '\0';
	nl = strchr(value, '\n');
	path = nl != NULL ? nl + 1 : (char *)"/";
	if (nl != NULL)
		*nl = '\0';

	/* The parser, into an output of the size the input asks for. */
	memset(out, FUZZ_HOST_CANARY, n + 16);
	rc = http_host_parse(value, out, n);
	if (rc == 0) {
		len = strlen(out);
		if (len >= n || strncmp(value, out, len) != 0)
			abort();
		fuzz_host_check_host(out);
		if (value[len] != '\0' &&
		    (value[len] != ':' || strlen(value + len + 1) < 1 ||
		     strlen(value + len + 1) > 5 ||
		     strspn(value + len + 1, "0123456789") != strlen(value + len + 1)))
			abort();
	} else if (rc != -1) {
		abort();
	}
	for (i = rc == 0 ? strlen(out) + 1 : 0; i < n + 16; i++)
		if ((unsigned char)out[i] != FUZZ_HOST_CANARY)
			abort();
	/* With a roomy output the parse may only get better, never worse. */
	if (rc == 0 && http_host_parse(value, host, sizeof(host)) != 0)
		abort();
	if (http_host_parse(value, host, sizeof(host)) != 0)
		strcpy(host, "localhost");

	/* The Location, into the same output. */
	memset(out, FUZZ_HOST_CANARY, n + 16);
	rc = http_https_location(value, (uint16_t)port, path, out, n);
	if (rc == 0) {
		if (strlen(out) >= n)
			abort();
		fuzz_host_check_location(out, host, port, path);
		i = strlen(out) + 1;
	} else if (rc != -1) {
		abort();
	} else {
		i = n;
	}
	for (; i < n + 16; i++)
		if ((unsigned char)out[i] != FUZZ_HOST_CANARY)
			abort();
out:
	free(value);
	free(out);
	return 0;
}
