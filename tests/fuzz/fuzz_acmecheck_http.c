/*
 * fuzz_acmecheck_http.c - fuzz target for the HTTP/1.x response parser of
 * ACME's http-01 validation (daemon/acmecheck.c: acmecheck_http_parse),
 * the one place lanca parses HTTP as a client, over bytes a device sends.
 *
 * Every input is a response as received. It is parsed whole, as a closed
 * connection (eof), and in two pieces at a point the first byte chooses,
 * as the validator re-parses after each read. Besides memory errors, the
 * target aborts on a broken contract: an answer other than 1, 0 or -1; 0
 * at eof; a refusal without a code or message; a complete response whose
 * status is outside 100..599, whose head is longer than the input or the
 * cap, whose body is over ACMECHECK_BODY_MAX or read for a status other
 * than 200, or whose Location is not NUL-ended within its buffer; a
 * prefix that completes with another status, head or body than the
 * whole input (a response, once complete, is not changed by what
 * follows it).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/acmecheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_check(const uint8_t *data, size_t size, int eof, struct acmecheck_http_resp *r)
{
	struct lerr e;
	int rc;

	lerr_clear(&e);
	rc = acmecheck_http_parse(data, size, eof, r, &e);
	if (rc < -1 || rc > 1 || (eof && rc == 0))
		abort();
	if (rc < 0 && (e.code == LERR_NONE || e.msg[0] == '\0'))
		abort();
	if (rc == 1) {
		if (r->status < 100 || r->status > 599 || r->head_len > size ||
		    r->head_len > ACMECHECK_HEAD_MAX || r->body_len > ACMECHECK_BODY_MAX ||
		    (r->body_read != (r->status == 200)) || (!r->body_read && r->body_len != 0) ||
		    memchr(r->location, '\0', sizeof(r->location)) == NULL ||
		    (!r->has_location && r->location[0] != '\0'))
			abort();
	}
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acmecheck_http_resp *whole, *part;
	size_t cut;
	int rw, rp;

	if (size > ACMECHECK_RAW_MAX)
		return 0;
	whole = malloc(sizeof(*whole));
	part = malloc(sizeof(*part));
	if (whole == NULL || part == NULL)
		abort();
	rw = fuzz_check(data, size, 0, whole);
	(void)fuzz_check(data, size, 1, part);
	cut = size > 0 ? (size_t)data[0] * size / 256 : 0;
	rp = fuzz_check(data, cut, 0, part);
	/* A prefix that is complete: the whole is the same response (unless
	 * the rest makes it malformed, which only a 200's body can). */
	if (rp == 1 && rw == 1 &&
	    (part->status != whole->status || part->head_len != whole->head_len ||
	     part->body_len != whole->body_len ||
	     memcmp(part->body, whole->body, part->body_len) != 0 ||
	     strcmp(part->location, whole->location) != 0))
		abort();
	free(whole);
	free(part);
	return 0;
}
