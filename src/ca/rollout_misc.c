/*
 * rollout_misc.c - the small formats for lanca's roots:
 *   chromeos-lanca.onc   ChromeOS Open Network Configuration: one
 *                        Authority certificate per root with TrustBits
 *                        ["Web"] (the Admin console's "use as an HTTPS
 *                        certificate authority")
 *   android-root-N.crt   the root as DER, what Android's "Install a
 *                        certificate > CA certificate" takes, and
 *   android-README.txt   how to install it and what it does not cover.
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "ca/rollout.h"

#define ONC_FILE	"chromeos-lanca.onc"

/* Root i as an ONC certificate object, or NULL with e. */
static json_t *
onc_cert(const struct rollout_in *in, size_t i, struct lerr *e)
{
	char fp[129], guid[64];
	gnutls_datum_t der = { NULL, 0 };
	json_t *c = NULL;
	struct buf b64;

	if (rollout_fp(in, i, GNUTLS_DIG_SHA256, fp, sizeof(fp), e) != 0 ||
	    rollout_der(in, i, &der, e) != 0)
		return NULL;
	/* The GUID names the entry across imports: the same root, the same
	 * entry, replaced instead of added twice. */
	snprintf(guid, sizeof(guid), "lanca-root-%.32s", fp);
	buf_init(&b64, ROLLOUT_FILE_MAX);
	if (rollout_b64(&b64, der.data, der.size) == 0)
		c = json_pack("{s:s, s:s, s:s, s:[s]}", "GUID", guid, "Type", "Authority",
			      "X509", (const char *)b64.data, "TrustBits", "Web");
	buf_free(&b64);
	gnutls_free(der.data);
	if (c == NULL)
		lerr_set(e, LERR_INTERNAL, ONC_FILE ": out of memory");
	return c;
}

int
rollout_write_chromeos(const struct rollout_in *in, struct rollout_file *out, size_t max,
		       size_t *n, struct lerr *e)
{
	json_t *onc, *certs, *c;
	char *text = NULL;
	struct buf b;
	size_t i;
	int rc = -1;

	if (rollout_in_check(in, e) != 0)
		return -1;
	if ((onc = json_pack("{s:s, s:[]}", "Type", "UnencryptedConfiguration",
			     "Certificates")) == NULL)
		return lerr_set(e, LERR_INTERNAL, ONC_FILE ": out of memory");
	certs = json_object_get(onc, "Certificates");
	for (i = 0; i < in->n; i++) {
		if ((c = onc_cert(in, i, e)) == NULL)
			goto out;
		if (json_array_append_new(certs, c) != 0) {
			lerr_set(e, LERR_INTERNAL, ONC_FILE ": out of memory");
			goto out;
		}
	}
	if ((text = json_dumps(onc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		lerr_set(e, LERR_INTERNAL, ONC_FILE ": out of memory");
		goto out;
	}
	/* json_dumps ends without a newline; a text file has one. */
	buf_init(&b, ROLLOUT_FILE_MAX);
	if (buf_puts(&b, text) != 0 || buf_puts(&b, "\n") != 0)
		b.failed = 1;
	rc = rollout_add_buf(out, max, n, ONC_FILE, &b, e);
out:
	free(text);
	json_decref(onc);
	return rc;
}

int
rollout_write_android(const struct rollout_in *in, struct rollout_file *out, size_t max,
		      size_t *n, struct lerr *e)
{
	char name[64], fp[129];
	gnutls_datum_t der = { NULL, 0 };
	size_t first = *n, i;
	struct buf b;
	int bad = 0;

	if (rollout_in_check(in, e) != 0)
		return -1;
	buf_init(&b, ROLLOUT_FILE_MAX);
	bad |= buf_puts(&b,
		"Installing lanca's root certificate on Android\n"
		"==============================================\n\n"
		"1. Copy android-root-1.crt to the phone (download it, or USB).\n"
		"2. Settings > Security > Encryption & credentials > Install a certificate >\n"
		"   CA certificate (the path differs between vendors; search Settings for\n"
		"   \"CA certificate\"), accept the warning and pick the file.\n"
		"3. Check: Settings > ... > Trusted credentials > User lists the root with the\n"
		"   SHA-256 fingerprint below.\n\n"
		"Android 11 and later install CA certificates only through Settings. A device\n"
		"policy controller installs them with DevicePolicyManager.installCaCert().\n"
		"Browsers trust user CA certificates; apps targeting Android 7 (API 24) or\n"
		"later trust them only if their network_security_config says\n"
		"<certificates src=\"user\"/>.\n\nRoots:\n");
	for (i = 0; i < in->n; i++) {
		snprintf(name, sizeof(name), "android-root-%zu.crt", i + 1);
		if (rollout_fp(in, i, GNUTLS_DIG_SHA256, fp, sizeof(fp), e) != 0 ||
		    rollout_der(in, i, &der, e) != 0)
			goto fail;
		bad |= buf_printf(&b, "  %s  SHA-256 %s\n", name, fp);
		if (rollout_file_add(out, max, n, name, der.data, der.size, e) != 0)
			goto fail;
		gnutls_free(der.data);
		der.data = NULL;
	}
	if (bad)
		b.failed = 1;
	if (rollout_add_buf(out, max, n, "android-README.txt", &b, e) != 0)
		goto fail_freed;
	return 0;
fail:
	buf_free(&b);
fail_freed:
	gnutls_free(der.data);
	rollout_files_free(out + first, *n - first);
	*n = first;
	return -1;
}
