/*
 * rollout_browser.c - the browsers' own policy files (see rollout.h).
 *
 * Firefox keeps its own trust store on every OS: policies.json's
 * Certificates.Install names certificate files that Firefox imports into
 * each profile. Chrome, Chromium and Edge take base64 DER in their managed
 * policy (CACertificates; CACertificatesWithConstraints adds the browser's
 * own check of the names the root may vouch for). The facts behind each
 * field, and how each was tried on Debian 12, are in
 * shared/policy-formats.md sections 2 and 3.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "ca/rollout.h"
#include "ca/x509.h"

/* Where Debian and Ubuntu (amd64) keep p11-kit's trust module: through
 * it Firefox on Linux sees the system store the linux format fills
 * (docs/enterprise.md names the paths of other distributions). */
#define ROLLOUT_P11KIT_TRUST	"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so"

/* Dumps j (which it takes) as file name, indented, with a final newline. */
static int
rollout_json_file(json_t *j, const char *name, struct rollout_file *out, size_t max,
		  size_t *n, struct lerr *e)
{
	char *text = NULL, *grown;
	size_t len;
	int rc = -1;

	if (j == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	text = json_dumps(j, JSON_INDENT(2));
	if (text == NULL) {
		lerr_set(e, LERR_INTERNAL, "cannot encode %s", name);
		goto out;
	}
	/* The file ends with a newline, as editors and diff expect. */
	len = strlen(text);
	if ((grown = realloc(text, len + 2)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	text = grown;
	text[len] = '\n';
	text[len + 1] = '\0';
	if (rollout_file_add(out, max, n, name, text, len + 1, e) != 0)
		goto out;
	rc = 0;
out:
	free(text);
	json_decref(j);
	return rc;
}

/* ["lanca-0123456789ab.crt", ...]: the names rollout_add_root_files
 * gives the roots, which Firefox looks up in its certificates folders. */
static json_t *
rollout_firefox_install(const struct rollout_in *in, struct lerr *e)
{
	json_t *list = json_array();
	char name[64];
	size_t i;

	if (list == NULL)
		return NULL;
	for (i = 0; i < in->n; i++) {
		if (rollout_root_filename(in->roots[i], name, e) != 0 ||
		    json_array_append_new(list, json_string(name)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/*
 * Firefox: the roots as .crt files and two policies.json:
 * - policies.json for every OS: Install by file name (the files go into
 *   a certificates folder Firefox searches), ImportEnterpriseRoots for
 *   Windows and macOS, where it makes Firefox read the OS store too;
 * - policies-linux.json: the same Install, and p11-kit's trust module as a
 *   security device so Firefox also follows the system store
 *   (ImportEnterpriseRoots does nothing on Linux).
 */
int
rollout_write_firefox(const struct rollout_in *in, struct rollout_file *out, size_t max,
		      size_t *n, struct lerr *e)
{
	json_t *install = NULL, *all = NULL, *linux_ = NULL;
	int rc = -1;

	if (rollout_in_check(in, e) != 0 || rollout_add_root_files(in, out, max, n, e) != 0)
		goto out;
	if ((install = rollout_firefox_install(in, e)) == NULL)
		goto nomem;
	all = json_pack("{s:{s:{s:b,s:O}}}", "policies", "Certificates",
			"ImportEnterpriseRoots", 1, "Install", install);
	if (rollout_json_file(all, "policies.json", out, max, n, e) != 0)
		goto out;
	linux_ = json_pack("{s:{s:{s:O},s:{s:{s:s}}}}", "policies", "Certificates",
			   "Install", install, "SecurityDevices", "Add", "p11-kit-trust",
			   ROLLOUT_P11KIT_TRUST);
	if (rollout_json_file(linux_, "policies-linux.json", out, max, n, e) != 0)
		goto out;
	rc = 0;
	goto out;
nomem:
	if (e == NULL || e->code == LERR_NONE)
		lerr_set(e, LERR_INTERNAL, "out of memory");
out:
	json_decref(install);
	return rc;
}

/* A root's DER in base64 (no line breaks), as Chrome's policies take it. */
static json_t *
rollout_b64_der(gnutls_x509_crt_t crt)
{
	gnutls_datum_t der = { NULL, 0 };
	char *b64 = NULL;
	size_t len;
	json_t *j = NULL;

	if (x509_export_der(crt, &der) != 0)
		goto out;
	len = sodium_base64_ENCODED_LEN(der.size, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(len)) == NULL)
		goto out;
	sodium_bin2base64(b64, len, der.data, der.size, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(b64);
out:
	free(b64);
	gnutls_free(der.data);
	return j;
}

/* {"permitted_dns_names": [...], "permitted_cidrs": [...]}: the roots'
 * permitted subtrees. Chrome parses each range as a CIDR block, so a
 * single address keeps its /32 or /128. */
static json_t *
rollout_chrome_constraints(const struct names *permitted, struct lerr *e)
{
	json_t *dns = json_array(), *cidrs = json_array(), *c = NULL;
	char text[INET6_ADDRSTRLEN + 8];
	size_t i, l;

	if (dns == NULL || cidrs == NULL)
		goto fail;
	for (i = 0; i < permitted->ndns; i++)
		if (json_array_append_new(dns, json_string(permitted->dns[i])) != 0)
			goto fail;
	for (i = 0; i < permitted->nip; i++) {
		if (ipnet_format(&permitted->ip[i], text, sizeof(text)) != 0) {
			lerr_set(e, LERR_INTERNAL, "a permitted range cannot be written");
			goto fail;
		}
		l = strlen(text);
		if (strchr(text, '/') == NULL)
			snprintf(text + l, sizeof(text) - l, "/%u", permitted->ip[i].prefix);
		if (json_array_append_new(cidrs, json_string(text)) != 0)
			goto fail;
	}
	/* Chrome refuses an entry without any constraint. */
	if (json_array_size(dns) + json_array_size(cidrs) == 0) {
		lerr_set(e, LERR_INTERNAL, "the roots carry no name constraints");
		goto fail;
	}
	c = json_object();
	if (c == NULL)
		goto fail;
	if (json_array_size(dns) > 0 && json_object_set(c, "permitted_dns_names", dns) != 0)
		goto fail;
	if (json_array_size(cidrs) > 0 && json_object_set(c, "permitted_cidrs", cidrs) != 0)
		goto fail;
	json_decref(dns);
	json_decref(cidrs);
	return c;
fail:
	json_decref(c);
	json_decref(dns);
	json_decref(cidrs);
	return NULL;
}

/*
 * Chrome, Chromium and Edge: two managed-policy files for
 * /etc/chromium/policies/managed/ (or /etc/opt/chrome/..., /etc/opt/edge/...):
 * - lanca.json: CACertificatesWithConstraints, each root with lanca's
 *   permitted names and ranges, so the browser itself keeps the root to
 *   them whatever else the certificate says;
 * - lanca-unconstrained.json: CACertificates, the plain list, for the
 *   tools that take only that one.
 */
int
rollout_write_chrome(const struct rollout_in *in, struct rollout_file *out, size_t max,
		     size_t *n, struct lerr *e)
{
	json_t *plain = NULL, *constrained = NULL, *cons = NULL, *b64;
	size_t i;
	int rc = -1;

	if (rollout_in_check(in, e) != 0)
		goto out;
	if (in->permitted == NULL) {
		lerr_set(e, LERR_INTERNAL, "the Chrome policy needs the roots' name constraints");
		goto out;
	}
	if ((cons = rollout_chrome_constraints(in->permitted, e)) == NULL)
		goto nomem;
	if ((plain = json_array()) == NULL || (constrained = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < in->n; i++) {
		if ((b64 = rollout_b64_der(in->roots[i])) == NULL)
			goto nomem;
		if (json_array_append(plain, b64) != 0 ||
		    json_array_append_new(constrained, json_pack("{s:O,s:O}", "certificate", b64,
								 "constraints", cons)) != 0) {
			json_decref(b64);
			goto nomem;
		}
		json_decref(b64);
	}
	if (rollout_json_file(json_pack("{s:O}", "CACertificatesWithConstraints", constrained),
			      "lanca.json", out, max, n, e) != 0 ||
	    rollout_json_file(json_pack("{s:O}", "CACertificates", plain),
			      "lanca-unconstrained.json", out, max, n, e) != 0)
		goto out;
	rc = 0;
	goto out;
nomem:
	if (e == NULL || e->code == LERR_NONE)
		lerr_set(e, LERR_INTERNAL, "out of memory");
out:
	json_decref(cons);
	json_decref(plain);
	json_decref(constrained);
	return rc;
}
