/*
 * fuzz_httpc.c - fuzz target for the device client's HTTP/1.1 response
 * parser (httpc_parse_response in httpc.c): everything lanca-enroll reads
 * from the network goes through it, and on plain http the gateway's
 * answer is no more trusted than any other bytes on the LAN.
 *
 * The input is one byte stream from a server. It is parsed as the client
 * would, for each of the four cases: peer still open or closed (eof), after
 * a GET or a HEAD; a complete response is followed by the next one on the
 * same bytes, as on a kept-alive connection. Besides memory errors and
 * leaks, the target aborts when the parser breaks its contract (httpc.h):
 * "more bytes needed" once the peer has closed, a response that claims
 * more bytes than it was given or none at all, resp touched on failure, a
 * body over the cap or not NUL-terminated, or a complete response that
 * does not parse the same from its own bytes alone.
 *
 * The JSON members lanca-enroll reads from a body (exchange_json_str in
 * exchange.c: the "id" of a pending enrollment or renewal, the "error",
 * "message" and "reason" of a refusal) are read from every body parsed
 * and from the whole input as one body; what comes out must be printable
 * ASCII, terminated inside its buffer. exchange.c is linked here; the two
 * helpers of lanca-enroll's main.c it calls are stood in for below.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/exchange.h"
#include "client/httpc.h"
#include "common/lerr.h"

#define FUZZ_HTTPC_MAX_RESPONSES	16	/* per stream and case */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lanca-enroll's main.c gives exchange.c these; nothing here prints or
 * waits. */
void
client_msg(const char *fmt, ...)
{
	(void)fmt;
}

double
client_now(void)
{
	return 0;
}

/* Reads every member lanca-enroll reads from body[0..len), into buffers of
 * the sizes exchange.c uses (and of one byte, the least it allows). */
static void
fuzz_httpc_members(const unsigned char *body, size_t len)
{
	static const char *const keys[] = { "id", "error", "message", "reason" };
	static const size_t sizes[] = { 1, 64, 256, 512 };
	char out[512];
	size_t i, k, j;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			memset(out, 'X', sizeof(out));
			if (exchange_json_str(body, len, keys[k], out, sizes[i]) != 0) {
				if (out[0] != 'X')
					abort();	/* touched on failure */
				continue;
			}
			if (memchr(out, '\0', sizes[i]) == NULL)
				abort();
			for (j = 0; out[j] != '\0'; j++)
				if (out[j] < 0x20 || out[j] >= 0x7f)
					abort();
		}
}

/* 1 if every byte of r is zero (what "resp untouched" leaves here). */
static int
fuzz_httpc_zero(const struct httpc_response *r)
{
	static const struct httpc_response zero;

	return r->status == zero.status && r->content_type == NULL && r->location == NULL &&
	       r->retry_after == zero.retry_after && r->close == zero.close &&
	       r->body == NULL && r->body_len == 0;
}

/* Aborts unless a complete response r (of used bytes) is well-formed. */
static void
fuzz_httpc_check(const struct httpc_response *r, size_t used, size_t avail, int head)
{
	if (used == 0 || used > avail || r->status < 100 || r->status > 599)
		abort();
	if (r->retry_after < -1 || r->retry_after > HTTPC_MAX_RETRY_AFTER)
		abort();
	if ((r->body == NULL) != (r->body_len == 0) || r->body_len > HTTPC_MAX_BODY ||
	    (r->body != NULL && r->body[r->body_len] != '\0') || (head && r->body != NULL))
		abort();
	/* Reading the strings to their NUL lets ASan check their bounds. */
	if ((r->content_type != NULL && strlen(r->content_type) > HTTPC_MAX_HEADERS) ||
	    (r->location != NULL && strlen(r->location) > HTTPC_MAX_HEADERS))
		abort();
}

/*
 * A response that was complete while the peer was still open ended at
 * used: the bytes after it cannot have mattered, so its own bytes alone
 * must give the same response.
 */
static void
fuzz_httpc_reparse(const unsigned char *p, const struct httpc_response *r, size_t used,
		   int head)
{
	struct httpc_response again;
	struct lerr e;
	size_t used2 = 0;

	memset(&again, 0, sizeof(again));
	lerr_clear(&e);
	if (httpc_parse_response(p, used, 0, head, &again, &used2, &e) != 1 || used2 != used ||
	    again.status != r->status || again.body_len != r->body_len ||
	    again.retry_after != r->retry_after || again.close != r->close ||
	    (r->body_len > 0 && memcmp(again.body, r->body, r->body_len) != 0))
		abort();
	httpc_response_free(&again);
}

/* Parses the stream p[0..len) as one connection would, for one case. */
static void
fuzz_httpc_stream(const unsigned char *p, size_t len, int eof, int head)
{
	struct httpc_response r;
	struct lerr e;
	size_t off = 0, used;
	int i, rc;

	for (i = 0; i < FUZZ_HTTPC_MAX_RESPONSES; i++) {
		memset(&r, 0, sizeof(r));
		lerr_clear(&e);
		used = 0;
		rc = httpc_parse_response(p + off, len - off, eof, head, &r, &used, &e);
		if (rc != 1) {
			/* Untouched response; an error names itself. */
			if (!fuzz_httpc_zero(&r) || (rc == 0 && eof) || (rc < 0 && e.code == LERR_NONE) ||
			    (rc != 0 && rc != -1))
				abort();
			return;
		}
		fuzz_httpc_check(&r, used, len - off, head);
		fuzz_httpc_members(r.body, r.body_len);
		if (!eof)
			fuzz_httpc_reparse(p + off, &r, used, head);
		rc = r.close;
		httpc_response_free(&r);
		if (!fuzz_httpc_zero(&r))
			abort();
		off += used;
		/* The client reads nothing more after a closing response. */
		if (rc || off == len)
			return;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int eof, head;

	fuzz_httpc_members(data, size);
	for (eof = 0; eof <= 1; eof++)
		for (head = 0; head <= 1; head++)
			fuzz_httpc_stream(data, size, eof, head);
	return 0;
}
