/*
 * rollout_apple.c - Apple's configuration profile for lanca's roots
 * (lanca.mobileconfig: iOS, iPadOS, macOS): an XML plist of type
 * Configuration with one com.apple.security.root payload per root, its
 * PayloadContent the root's DER. The UUIDs are name-based (RFC 4122
 * version 5) from the roots' SHA-256 fingerprints, so that exporting the
 * same bundle again gives the same profile and a device replaces rather
 * than duplicates it. With a signer, the file is instead a CMS
 * SignedData (DER) embedding that plist, made by gnutls_pkcs7_sign.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ca/rollout.h"

#define APPLE_FILE	"lanca.mobileconfig"
#define APPLE_ID	"lanca.trust"	/* the profile's PayloadIdentifier prefix */

/* lanca's namespace for version 5 UUIDs (a random UUID fixed once). */
static const unsigned char apple_ns[16] = {
	0x6f, 0x1c, 0x2a, 0x8e, 0x4b, 0x53, 0x4d, 0x1e,
	0x9a, 0x07, 0x3c, 0x52, 0xe1, 0x80, 0x6b, 0x2d,
};

/* The version 5 UUID of name in lanca's namespace, as text (37 bytes). */
static int
apple_uuid(const char *name, char out[37], struct lerr *e)
{
	unsigned char in[16 + 512], md[20];
	size_t len = strlen(name);

	if (len > sizeof(in) - 16)
		return lerr_set(e, LERR_INTERNAL, "UUID name too long");
	memcpy(in, apple_ns, 16);
	memcpy(in + 16, name, len);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, in, 16 + len, md) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot hash a UUID name");
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10],
		 md[11], md[12], md[13], md[14], md[15]);
	return 0;
}

/* Text for a plist <string>: &, < and > escaped. */
static int
put_xml(struct buf *b, const char *s)
{
	int bad = 0;

	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': bad |= buf_puts(b, "&amp;"); break;
		case '<': bad |= buf_puts(b, "&lt;"); break;
		case '>': bad |= buf_puts(b, "&gt;"); break;
		default: bad |= buf_append(b, s, 1); break;
		}
	return bad ? -1 : 0;
}

static int
put_key_string(struct buf *b, const char *indent, const char *key, const char *value)
{
	int bad = 0;

	bad |= buf_printf(b, "%s<key>%s</key>\n%s<string>", indent, key, indent);
	bad |= put_xml(b, value);
	bad |= buf_puts(b, "</string>\n");
	return bad ? -1 : 0;
}

/* The plist itself. */
static int
apple_plist(const struct rollout_in *in, struct buf *b, struct lerr *e)
{
	char fp[129], all[ROLLOUT_ROOTS_MAX * 64 + 16], uuid[37], id[128], text[512];
	gnutls_datum_t der = { NULL, 0 };
	const char *name = in->ca_name != NULL && in->ca_name[0] != '\0' ? in->ca_name : "lanca";
	size_t i;
	int bad = 0;

	/* The profile is named by the primary root, so that a later export
	 * (with a backup root added) replaces the installed one. */
	if (rollout_fp(in, 0, GNUTLS_DIG_SHA256, fp, sizeof(fp), e) != 0)
		return -1;
	snprintf(id, sizeof(id), APPLE_ID ".%.16s", fp);
	all[0] = '\0';
	bad |= buf_puts(b,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
		"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
		"<plist version=\"1.0\">\n<dict>\n"
		"\t<key>PayloadContent</key>\n\t<array>\n");
	for (i = 0; i < in->n; i++) {
		if (rollout_fp(in, i, GNUTLS_DIG_SHA256, fp, sizeof(fp), e) != 0 ||
		    apple_uuid(fp, uuid, e) != 0 || rollout_der(in, i, &der, e) != 0)
			return -1;
		strcat(all, fp);
		bad |= buf_puts(b, "\t\t<dict>\n\t\t\t<key>PayloadCertificateFileName</key>\n");
		bad |= buf_printf(b, "\t\t\t<string>lanca-root-%zu.cer</string>\n", i + 1);
		bad |= buf_puts(b, "\t\t\t<key>PayloadContent</key>\n\t\t\t<data>");
		bad |= rollout_b64(b, der.data, der.size);
		bad |= buf_puts(b, "</data>\n");
		gnutls_free(der.data);
		der.data = NULL;
		snprintf(text, sizeof(text), "%s: root %zu", name, i + 1);
		bad |= put_key_string(b, "\t\t\t", "PayloadDisplayName", text);
		snprintf(text, sizeof(text), "%s.root.%.16s", id, fp);
		bad |= put_key_string(b, "\t\t\t", "PayloadIdentifier", text);
		bad |= put_key_string(b, "\t\t\t", "PayloadType", "com.apple.security.root");
		bad |= put_key_string(b, "\t\t\t", "PayloadUUID", uuid);
		bad |= buf_puts(b, "\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n"
				"\t\t</dict>\n");
	}
	bad |= buf_puts(b, "\t</array>\n");
	snprintf(text, sizeof(text),
		 "Installs the root certificates of %s, so that this device trusts the "
		 "certificates it issues on the local network.", name);
	bad |= put_key_string(b, "\t", "PayloadDescription", text);
	bad |= put_key_string(b, "\t", "PayloadDisplayName", name);
	bad |= put_key_string(b, "\t", "PayloadIdentifier", id);
	bad |= put_key_string(b, "\t", "PayloadOrganization", name);
	bad |= put_key_string(b, "\t", "PayloadType", "Configuration");
	strcat(all, ":profile");
	if (apple_uuid(all, uuid, e) != 0)
		return -1;
	bad |= put_key_string(b, "\t", "PayloadUUID", uuid);
	bad |= buf_puts(b, "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n</plist>\n");
	if (bad || buf_failed(b))
		return lerr_set(e, LERR_TOO_LARGE, APPLE_FILE ": more than %d bytes",
				ROLLOUT_FILE_MAX);
	return 0;
}

/* The plist in a CMS SignedData by in->signer, its chain carried along. */
static int
apple_sign(const struct rollout_signer *s, const struct buf *plist, gnutls_datum_t *out,
	   struct lerr *e)
{
	gnutls_datum_t data = { plist->data, (unsigned)plist->len };
	gnutls_pkcs7_t p7 = NULL;
	size_t i;
	int r, rc = -1;

	out->data = NULL;
	if (gnutls_pkcs7_init(&p7) < 0)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	/* The chain goes in once the SignedData exists: sign makes it. */
	if ((r = gnutls_pkcs7_sign(p7, s->crt, s->key, &data, NULL, NULL, GNUTLS_DIG_SHA256,
				   GNUTLS_PKCS7_EMBED_DATA | GNUTLS_PKCS7_INCLUDE_TIME |
				   GNUTLS_PKCS7_INCLUDE_CERT)) < 0) {
		lerr_set(e, LERR_INTERNAL, "signing the profile: %s", gnutls_strerror(r));
		goto out;
	}
	for (i = 0; i < s->nchain; i++)
		if ((r = gnutls_pkcs7_set_crt(p7, s->chain[i])) < 0) {
			lerr_set(e, LERR_INTERNAL, "signing the profile: chain %zu: %s", i + 1,
				 gnutls_strerror(r));
			goto out;
		}
	if ((r = gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, out)) < 0) {
		lerr_set(e, LERR_INTERNAL, "signing the profile: %s", gnutls_strerror(r));
		goto out;
	}
	rc = 0;
out:
	gnutls_pkcs7_deinit(p7);
	return rc;
}

int
rollout_write_apple(const struct rollout_in *in, struct rollout_file *out, size_t max,
		    size_t *n, struct lerr *e)
{
	gnutls_datum_t cms = { NULL, 0 };
	struct buf b;
	int rc;

	if (rollout_in_check(in, e) != 0)
		return -1;
	buf_init(&b, ROLLOUT_FILE_MAX);
	if (apple_plist(in, &b, e) != 0) {
		buf_free(&b);
		return -1;
	}
	if (in->signer == NULL)
		return rollout_add_buf(out, max, n, APPLE_FILE, &b, e);
	rc = apple_sign(in->signer, &b, &cms, e);
	buf_free(&b);
	if (rc == 0)
		rc = rollout_file_add(out, max, n, APPLE_FILE, cms.data, cms.size, e);
	gnutls_free(cms.data);
	return rc;
}
