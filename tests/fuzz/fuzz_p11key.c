/*
 * fuzz_p11key.c - fuzz target for the token key record and the pkcs11:
 * URL check (common/p11key.h: p11key_record_parse, p11key_url_parse),
 * which the signer reads in keys/ and lanca-enroll in its device
 * directory before either loads a module.
 *
 * The input is parsed as a record and, up to its first newline, as a
 * --key value. Besides memory errors, the target aborts on a broken
 * contract: a refusal with an empty message, or one that leaves fields
 * set; an accepted record whose paths are not absolute, whose url is not
 * its record (no PIN is ever kept from a record), that a formatted copy
 * does not parse back to, or whose formatted copy is not seen as a
 * record; an accepted URL whose record keeps a pin-value, does not start
 * "pkcs11:", is longer than the URL, or names no key.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/p11key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct p11key_ref ref, again;
static char text[P11KEY_RECORD_MAX];

/* Whether the URL u holds a pin-value attribute, as the parser splits it:
 * path attributes by ';' up to the first '?', query ones by '&'. */
static int
fuzz_p11key_has_pin(const char *u)
{
	const char *p = u + 7, *end;
	int query = 0;

	for (;;) {
		end = p + strcspn(p, query ? "&" : ";?");
		if ((size_t)(end - p) > 10 && strncmp(p, "pin-value=", 10) == 0)
			return 1;
		if (*end == '\0')
			return 0;
		if (*end == '?')
			query = 1;
		p = end + 1;
	}
}

static void
fuzz_p11key_record(const uint8_t *data, size_t size)
{
	struct lerr e;
	size_t i;
	long n;

	lerr_clear(&e);
	if (p11key_record_parse("fuzz", data, size, &ref, &e) != 0) {
		if (e.msg[0] == '\0' || ref.url[0] != '\0' || ref.nallow != 0 || ref.module[0] != '\0')
			abort();
		return;
	}
	if (strcmp(ref.url, ref.record) != 0 || fuzz_p11key_has_pin(ref.record) ||
	    (ref.module[0] != '\0' && ref.module[0] != '/') ||
	    (ref.pin_file[0] != '\0' && ref.pin_file[0] != '/') || ref.nallow > P11KEY_ALLOW_MAX)
		abort();
	for (i = 0; i < ref.nallow; i++)
		if (ref.allow[i][0] != '/')
			abort();
	n = p11key_record_format(&ref, text, sizeof(text), &e);
	if (n < 0)
		return;		/* a path with a control byte: refused, never written */
	if (!p11key_is_record((const unsigned char *)text, (size_t)n) ||
	    p11key_record_parse("again", (const unsigned char *)text, (size_t)n, &again, &e) != 0 ||
	    strcmp(again.url, ref.url) != 0 || strcmp(again.module, ref.module) != 0 ||
	    strcmp(again.pin_file, ref.pin_file) != 0 || again.nallow != ref.nallow ||
	    again.id_len != ref.id_len || memcmp(again.id, ref.id, ref.id_len) != 0 ||
	    strcmp(again.label, ref.label) != 0)
		abort();
	for (i = 0; i < ref.nallow; i++)
		if (strcmp(again.allow[i], ref.allow[i]) != 0)
			abort();
}

static void
fuzz_p11key_url(const uint8_t *data, size_t size)
{
	char arg[P11KEY_URL_MAX + 16];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl != NULL ? (size_t)(nl - data) : size;
	struct lerr e;

	if (n >= sizeof(arg) || memchr(data, '\0', n) != NULL)
		return;
	memcpy(arg, data, n);
	arg[n] = '\0';
	lerr_clear(&e);
	if (p11key_url_parse("--key", arg, &ref, &e) != 0) {
		if (e.msg[0] == '\0' || ref.url[0] != '\0')
			abort();
		return;
	}
	if (strncmp(ref.record, "pkcs11:", 7) != 0 || strlen(ref.record) > strlen(ref.url) ||
	    fuzz_p11key_has_pin(ref.record) || (ref.label[0] == '\0' && ref.id_len == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&ref, 0, sizeof(ref));
	fuzz_p11key_record(data, size);
	memset(&ref, 0, sizeof(ref));
	fuzz_p11key_url(data, size);
	return 0;
}
