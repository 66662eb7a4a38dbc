/*
 * rollout.c - the table of policy-file formats and what the writers
 * share (see rollout.h). The writers themselves are in rollout_*.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/rollout.h"

const struct rollout_format rollout_formats[] = {
	{ "windows", "Windows: .reg (Root store), Group Policy Registry.pol, PowerShell/certutil script",
	  rollout_write_windows, 0 },
	{ "apple", "Apple .mobileconfig (iOS, iPadOS, macOS), CMS-signed with --sign",
	  rollout_write_apple, 1 },
	{ "java", "Java PKCS#12 truststore and the keytool commands", rollout_write_java, 0 },
	{ "chromeos", "ChromeOS ONC file (Authority certificates trusted for Web)",
	  rollout_write_chromeos, 0 },
	{ "android", "Android CA certificate (.crt, DER) with instructions", rollout_write_android, 0 },
};
const size_t rollout_nformats = sizeof(rollout_formats) / sizeof(rollout_formats[0]);

const struct rollout_format *
rollout_find(const char *name)
{
	size_t i;

	for (i = 0; i < rollout_nformats; i++)
		if (strcmp(rollout_formats[i].name, name) == 0)
			return &rollout_formats[i];
	return NULL;
}

void
rollout_files_free(struct rollout_file *f, size_t n)
{
	size_t i;

	for (i = 0; f != NULL && i < n; i++) {
		gnutls_free(f[i].data.data);
		f[i].data.data = NULL;
		f[i].data.size = 0;
	}
}

int
rollout_add(struct rollout_file *out, size_t max, size_t *n, const char *name, const void *data,
	    size_t len, struct lerr *e)
{
	struct rollout_file *f;

	if (*n >= max)
		return lerr_set(e, LERR_INTERNAL, "%s: more than %zu files", name, max);
	if (strlen(name) >= sizeof(out->name))
		return lerr_set(e, LERR_INTERNAL, "%s: file name too long", name);
	if (len > ROLLOUT_FILE_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "%s: %zu bytes, more than %d", name, len,
				ROLLOUT_FILE_MAX);
	f = &out[*n];
	memset(f, 0, sizeof(*f));
	/* One byte more, so that an empty file still has a buffer. */
	if ((f->data.data = gnutls_malloc(len + 1)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "%s: out of memory", name);
	if (len > 0)
		memcpy(f->data.data, data, len);
	f->data.size = (unsigned)len;
	strcpy(f->name, name);
	(*n)++;
	return 0;
}

int
rollout_add_buf(struct rollout_file *out, size_t max, size_t *n, const char *name, struct buf *b,
		struct lerr *e)
{
	int rc;

	if (buf_failed(b))
		rc = lerr_set(e, LERR_TOO_LARGE, "%s: more than %d bytes", name, ROLLOUT_FILE_MAX);
	else
		rc = rollout_add(out, max, n, name, b->data, b->len, e);
	buf_free(b);
	return rc;
}

int
rollout_der(const struct rollout_in *in, size_t i, gnutls_datum_t *der, struct lerr *e)
{
	if (gnutls_x509_crt_export2(in->roots[i], GNUTLS_X509_FMT_DER, der) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode root %zu", i + 1);
	return 0;
}

int
rollout_fp(const struct rollout_in *in, size_t i, gnutls_digest_algorithm_t algo, char *out,
	   size_t size, struct lerr *e)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[64];
	size_t len = sizeof(md), k;

	if (gnutls_x509_crt_get_fingerprint(in->roots[i], algo, md, &len) < 0 ||
	    2 * len + 1 > size)
		return lerr_set(e, LERR_INTERNAL, "cannot take root %zu's fingerprint", i + 1);
	for (k = 0; k < len; k++) {
		out[2 * k] = hex[md[k] >> 4];
		out[2 * k + 1] = hex[md[k] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int
rollout_check(const struct rollout_in *in, struct lerr *e)
{
	unsigned ca = 0;
	size_t i;

	if (in->n == 0 || in->roots == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "no root to put in a policy file");
	if (in->n > ROLLOUT_ROOTS_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "%zu roots: at most %d", in->n,
				ROLLOUT_ROOTS_MAX);
	/* A store installs only what says it is a CA (Apple lists a root
	 * for full trust only with CA:TRUE). */
	for (i = 0; i < in->n; i++)
		if (gnutls_x509_crt_get_basic_constraints(in->roots[i], NULL, &ca, NULL) < 0 ||
		    !ca)
			return lerr_set(e, LERR_BAD_REQUEST, "root %zu is not a CA certificate",
					i + 1);
	return 0;
}

int
rollout_b64(struct buf *b, const unsigned char *data, size_t len)
{
	gnutls_datum_t raw = { (unsigned char *)(uintptr_t)data, (unsigned)len }, t;
	int rc;

	if (len > (size_t)0x3fffffff || gnutls_base64_encode2(&raw, &t) < 0)
		return -1;
	rc = buf_append(b, t.data, t.size);
	gnutls_free(t.data);
	return rc;
}
