/*
 * policyfiles.c - the policy files of the current trust bundle (see
 * policyfiles.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <gnutls/x509.h>

#include "ca/policy.h"
#include "daemon/policyfiles.h"
#include "daemon/trustbundle.h"

int
policyfiles_make(struct store *s, const struct rollout_format *f,
		 const struct rollout_signer *signer, struct rollout_file *out, size_t max,
		 size_t *n, struct lerr *e)
{
	struct trust_bundle b;
	struct rollout_in in;
	struct policy pol;
	char name[256];
	size_t len = sizeof(name);
	int rc = -1;

	memset(&pol, 0, sizeof(pol));
	if (trustbundle_load(s, &b, e) != 0)
		goto out;
	/* The display name is the root's CN; a root without one goes by its DN. */
	if (gnutls_x509_crt_get_dn_by_oid(b.roots[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, name,
					  &len) < 0)
		snprintf(name, sizeof(name), "%s", b.entry[0].subject);
	if (policy_from_ca(&pol, b.roots[0], e) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.roots = b.roots;
	in.n = b.nroots;
	in.ca_name = name;
	in.permitted = &pol.permitted;
	in.signer = signer;
	rc = f->write(&in, out, max, n, e);
out:
	policy_free(&pol);
	trustbundle_free(&b);
	return rc;
}
