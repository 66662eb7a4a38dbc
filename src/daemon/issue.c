/*
 * issue.c - the issuance path (see issue.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <gnutls/gnutls.h>

#include "ca/csr.h"
#include "daemon/auditlog.h"
#include "daemon/issue.h"
#include "common/log.h"
#include "signer/signer.h"
#include "store/store.h"
#include "ca/x509.h"

/* Records a refusal (why) in the audit log. A refusal that cannot be
 * recorded is not given: why becomes the audit log's 503 (the refusal's
 * reason goes to the log). */
static void
issue_audit_refusal(const struct issuer *is, const struct issue_req *r,
		    const struct csr *csr, struct lerr *why)
{
	json_t *d = json_pack("{s:s, s:s}", "error", lerr_str(why->code != LERR_NONE ? why->code : LERR_INTERNAL),
			      "message", why->msg);
	char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
	struct lerr e;

	if (d != NULL && text == NULL)
		lerr_set(&e, LERR_INTERNAL, "out of memory");
	if ((d == NULL || text != NULL) &&
	    store_audit(is->store, r->actor, "refuse", csr ? csr->cn : NULL, text, &e) == 0)
		goto out;
	log_err("cannot audit a refusal (%s): %s", why->msg, e.msg);
	auditlog_unwritable(why, &e);
out:
	free(text);
	json_decref(d);
}

/*
 * The certificate must be for the key the caller parsed: a parse handed in
 * with other bytes than those signed would otherwise tie one device's row
 * to another's certificate. The signer says which key and names it put in
 * the certificate (it checked them on the re-parsed bytes); the row
 * records those names, which are the signer's policy's, not necessarily
 * the daemon's.
 */
static int
issue_check_signed(const struct sign_out *signed_cert, const struct csr *csr, struct lerr *e)
{
	if (signed_cert->names == NULL)
		return lerr_set(e, LERR_INVARIANT, "the signer did not say the certificate's names");
	if (memcmp(signed_cert->key_id, csr->key_id, sizeof(signed_cert->key_id)) != 0)
		return lerr_set(e, LERR_INVARIANT, "the new certificate is not for the request's key");
	return 0;
}

/* Fills the row from what was asked for and what the signer produced. */
static int
issue_fill_row(struct store_cert *row, const struct issuer *is, const struct issue_req *r,
	       const struct csr *csr, const struct names *sans, const unsigned char *serial,
	       struct sign_out *signed_cert, struct lerr *e)
{
	const char *cn;
	int n;

	memset(row, 0, sizeof(*row));
	memcpy(row->serial, serial, X509_SERIAL_LEN);
	row->serial_len = X509_SERIAL_LEN;
	row->ca_id = is->ca_id;
	n = snprintf(row->device_id, sizeof(row->device_id), "%s",
		     r->device_id != NULL ? r->device_id : csr->cn);
	if (n < 0 || (size_t)n >= sizeof(row->device_id))
		return lerr_set(e, LERR_BAD_NAME, "device id too long");
	/* The signer's subject: the CN, or nothing (sign.c, x509.h). */
	cn = policy_leaf_cn(csr, sans, r->profile);
	n = snprintf(row->subject, sizeof(row->subject), "%s%s", cn[0] != '\0' ? "CN=" : "", cn);
	if (n < 0 || (size_t)n >= sizeof(row->subject))
		return lerr_set(e, LERR_BAD_NAME, "subject too long");
	/* The row takes the names over from the signer's answer. */
	row->sans = signed_cert->names;
	signed_cert->names = NULL;
	/* The store knows two kinds (schema/0001's CHECK): a server's
	 * certificate is a device's there, its door says ACME. */
	row->profile = r->profile == POLICY_GATEWAY ? POLICY_GATEWAY : POLICY_DEVICE;
	row->status = STORE_CERT_VALID;
	row->not_before = signed_cert->not_before;
	row->not_after = signed_cert->not_after;
	row->issued_at = r->now != 0 ? r->now : (int64_t)time(NULL);
	memcpy(row->key_id, csr->key_id, sizeof(row->key_id));
	if (r->request_id != NULL)
		snprintf(row->request_id, sizeof(row->request_id), "%s", r->request_id);
	if (r->preauth_id != NULL)
		snprintf(row->preauth_id, sizeof(row->preauth_id), "%s", r->preauth_id);
	row->approved = r->approved;
	row->exclusive = r->exclusive;
	if (r->address != NULL)
		snprintf(row->address, sizeof(row->address), "%s", r->address);
	if (r->supersedes != NULL) {
		if (r->supersedes_len == 0 || r->supersedes_len > sizeof(row->supersedes))
			return lerr_set(e, LERR_INTERNAL, "the renewed certificate's serial is malformed");
		memcpy(row->supersedes, r->supersedes, r->supersedes_len);
		row->supersedes_len = r->supersedes_len;
	}
	/* The row takes the DER over from the signer's answer. */
	row->der = signed_cert->der.data;
	row->der_len = signed_cert->der.size;
	signed_cert->der.data = NULL;
	signed_cert->der.size = 0;
	return 0;
}

/* A signed certificate whose row is on its way to the disk. */
struct issue_pending {
	struct store_cert *row;
	struct store_ticket *ticket;
	char actor[128];
};

int
issue_cert_submit(const struct issuer *is, const struct issue_req *r,
		  struct issue_pending **out, struct lerr *e)
{
	unsigned char serial[X509_SERIAL_LEN];
	struct issue_pending *p = NULL;
	struct store_cert *row = NULL;
	struct csr *own = NULL;
	const struct csr *csr = r->parsed;
	struct sign_out signed_cert;
	struct sign_req sr;
	struct names own_sans;
	const struct names *sans = r->sans;
	int rc = -1, refused = 1;

	memset(&signed_cert, 0, sizeof(signed_cert));
	names_init(&own_sans);
	*out = NULL;
	/* Parse and check here as well as in the signer: the client gets a
	 * clear answer without a serial or a signature being spent. A remote
	 * signer parses the bytes again and verifies the self-signature
	 * before it signs anything, so only a local one (which signs this
	 * very parse) needs it verified here: a forged request then costs a
	 * reserved serial, never a certificate. */
	if (csr == NULL) {
		if (csr_parse_flags(r->csr, r->csr_len,
				    (signer_pid(is->signer) != 0 ? CSR_PARSE_NO_VERIFY : 0) |
				    policy_csr_flags(r->profile), &own, e) != 0)
			goto out;
		csr = own;
	}
	if (sans == NULL) {
		if (policy_names(is->policy, csr, r->profile, &own_sans, e) != 0)
			goto out;
		sans = &own_sans;
	}
	refused = 0;
	if (store_serial_reserve(is->store, serial, e) != 0)
		goto out;
	sr.profile = r->profile;
	sr.days = r->days;
	sr.serial = serial;
	if (signer_issue(is->signer, r->csr, r->csr_len, csr, &sr, &signed_cert, e) != 0) {
		refused = e->code != LERR_SIGNER;
		goto out;
	}
	if (issue_check_signed(&signed_cert, csr, e) != 0) {
		log_err("refused to record a certificate: %s", e->msg);
		goto out;
	}
	row = calloc(1, sizeof(*row));
	if (row == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (issue_fill_row(row, is, r, csr, sans, serial, &signed_cert, e) != 0)
		goto out;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(p->actor, sizeof(p->actor), "%s", r->actor != NULL ? r->actor : "?");
	if (store_cert_submit_new(is->store, row, r->record, p->actor, &p->ticket, e) != 0)
		goto out;
	p->row = row;
	row = NULL;
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (rc != 0 && refused)
		issue_audit_refusal(is, r, csr, e);
	free(p);
	store_cert_free(row);
	sign_out_free(&signed_cert);
	names_free(&own_sans);
	csr_free(own);
	return rc;
}

int
issue_cert_finish(struct issue_pending *p, struct store_cert **out, struct lerr *e)
{
	int rc;

	*out = NULL;
	/* Durable before anybody sees the bytes. */
	rc = store_ticket_wait(p->ticket, e);
	if (rc == 0)
		*out = p->row;
	else
		store_cert_free(p->row);
	free(p);
	return rc;
}

int
issue_cert(const struct issuer *is, const struct issue_req *r,
	   struct store_cert **out, struct lerr *e)
{
	struct issue_pending *p;

	*out = NULL;
	if (issue_cert_submit(is, r, &p, e) != 0)
		return -1;
	return issue_cert_finish(p, out, e);
}

int
issue_cert_pem(const struct store_cert *c, struct buf *out)
{
	gnutls_datum_t der = { c->der, (unsigned)c->der_len }, pem = { NULL, 0 };
	int rc;

	if (gnutls_pem_base64_encode2("CERTIFICATE", &der, &pem) != 0)
		return -1;
	rc = buf_append(out, pem.data, pem.size);
	gnutls_free(pem.data);
	return rc;
}

int
issue_chain_pem(struct store *s, const struct store_cert *c, const struct ca_set *ca,
		struct buf *out, struct lerr *e)
{
	struct store_ca *other = NULL;
	struct store_cert der;
	int rc = -1;

	if (issue_cert_pem(c, out) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode the certificate");
	if (c->ca_id == ca->issuing_id || c->ca_id == 0) {
		if (buf_append(out, ca->issuing_pem.data, ca->issuing_pem.size) != 0)
			return lerr_set(e, LERR_INTERNAL, "out of memory");
		return 0;
	}
	if (store_ca_get(s, c->ca_id, &other, e) != 0)
		return -1;
	/* issue_cert_pem encodes a certificate's DER, whoever's it is. */
	memset(&der, 0, sizeof(der));
	der.der = other->der;
	der.der_len = other->der_len;
	if (issue_cert_pem(&der, out) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the issuing CA's certificate");
		goto out;
	}
	rc = 0;
out:
	store_ca_free(other);
	return rc;
}
