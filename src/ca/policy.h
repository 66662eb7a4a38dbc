/*
 * policy.h - what lanca may issue.
 *
 * Owns: the permitted name space (the nameConstraints of the CA hierarchy:
 * `local`, `home.arpa`, site domains, `localhost`, private and loopback
 * ranges, the gateway's ranges), the rule that `localhost` and loopback
 * addresses are for the gateway's own certificate only, the rule that a
 * device's name lies strictly below a permitted suffix (never `local`,
 * `home.arpa` or a site domain itself), that "xn--" labels are real
 * IDNA, and leaf validity
 * (default 90 days, at most 825, never past the issuing CA).
 * The same struct builds the CA certificates' constraints at init (x509.c)
 * and filters every leaf (sign.c), so the two can never disagree.
 * Callers: signer/sign.c, daemon/init.c, daemon/enroll.c (early, clear errors).
 */
#ifndef LANCA_POLICY_H
#define LANCA_POLICY_H

#include <time.h>
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/csr.h"

#define POLICY_LEAF_DAYS_DEFAULT	90
#define POLICY_LEAF_DAYS_MAX		825
#define POLICY_GATEWAY_DAYS		365
#define POLICY_ROOT_YEARS		20
#define POLICY_ISSUING_YEARS		5

enum policy_profile {
	POLICY_DEVICE = 1,	/* a device's certificate */
	POLICY_GATEWAY = 2,	/* the gateway's own TLS certificate */
	/* A LAN server's, through ACME: a device's name rules, every name
	 * proven by a challenge, the CN optional (CSR_PARSE_CN_OPTIONAL)
	 * and never made up: the request names itself in its SANs. */
	POLICY_SERVER = 3,
};
/* 1 for a profile that policy_check_* hold to the device rules (not the
 * gateway's own certificate), 0 for the gateway's, -1 for no profile. */
int policy_profile_kind(enum policy_profile prof);
/* The csr_parse_flags a profile's requests are parsed with: a server's
 * may leave out the CN (CSR_PARSE_CN_OPTIONAL), the others may not. */
unsigned policy_csr_flags(enum policy_profile prof);

struct policy {
	struct names permitted;	/* DNS suffixes and IP networks the CAs permit */
	unsigned leaf_days;	/* default leaf lifetime in days */
};

/* The default permitted space plus the given site domains and gateway
 * networks (either list may be NULL). Returns 0 or -1 with e (bad domain). */
int policy_init(struct policy *p, const char *const *domains, size_t ndomains,
		const struct ipnet *nets, size_t nnets, struct lerr *e);
/* Rebuilds a policy from a CA certificate's nameConstraints extension. */
int policy_from_ca(struct policy *p, gnutls_x509_crt_t ca, struct lerr *e);
void policy_free(struct policy *p);

/* Checks one DNS name / address for a profile. 0 or -1 with e naming it. */
int policy_check_dns(const struct policy *p, const char *name, enum policy_profile prof, struct lerr *e);
int policy_check_ip(const struct policy *p, const struct ipnet *ip, enum policy_profile prof, struct lerr *e);
/* Checks every SAN the request asked for and copies the allowed set into
 * out (after names_init). A single refused entry refuses the request.
 * A request without a DNS SAN gets "<device id>.local" (GnuTLS would
 * otherwise check the CN against the name constraints as a DNS name). */
int policy_names(const struct policy *p, const struct csr *c, enum policy_profile prof,
		 struct names *out, struct lerr *e);
/* The subject CN of a leaf for request c with the names policy_names
 * accepted: a device's is its CN (the device id). A server's is its CN
 * when that is one of its DNS names, else its first DNS name (if it fits
 * a CN), else none (""): an address in a CN would be checked as a DNS
 * name against the name constraints, and fail. */
const char *policy_leaf_cn(const struct csr *c, const struct names *sans,
			   enum policy_profile prof);
/* 1 if the DNS name dns lies below a site domain (lanca init --domain),
 * not only below local, home.arpa or localhost: a name a public zone can
 * prove (ACME's dns-01), 0 otherwise. */
int policy_site_name(const struct policy *p, const char *dns);
/* Computes [not_before, not_after] for a leaf: days 0 means the default.
 * not_before is now less one minute (clock skew); more than 825 days is
 * refused; an end past ca_not_after is cut back to ca_not_after. */
int policy_validity(const struct policy *p, unsigned days, time_t now, time_t ca_not_after,
		    time_t *not_before, time_t *not_after, struct lerr *e);

#endif
