/*
 * policy.c - what lanca may issue (see policy.h).
 *
 * One struct policy answers both "which name space do the CA certificates
 * permit" (x509.c writes it into nameConstraints at init) and "may this
 * leaf carry this name" (signer/sign.c, the HTTP handlers). Leaves are held to a
 * stricter rule than the constraints: localhost and loopback addresses are
 * permitted by the CAs (so the gateway can have them) but never issued to a
 * device, where they would let one device impersonate another's local view.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ca/policy.h"

#define POLICY_DAY	86400
#define POLICY_SKEW	60	/* not_before is this many seconds in the past */

/* The name space every lanca CA permits, before site additions. */
static const char *const policy_default_dns[] = { "local", "home.arpa", "localhost" };
static const char *const policy_default_ip[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7", "::1/128",
};
/* Permitted by the CAs, but for the gateway's own certificate only. */
static const char *const policy_loopback_ip[] = { "127.0.0.0/8", "::1/128" };
#define POLICY_LOCALHOST "localhost"

#define POLICY_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define POLICY_SHOW_MAX	64	/* bytes of an untrusted string shown in a message */
#define POLICY_DESCRIBE_MAX	400	/* what a refusal lists as permitted */

/*
 * Copies at most POLICY_SHOW_MAX bytes of an untrusted string into out
 * (POLICY_SHOW_MAX + 4 bytes) with anything but visible ASCII replaced by
 * '?' and "..." when cut, so a refusal can name it in a log or JSON body.
 */
static void
policy_show(const char *in, char out[POLICY_SHOW_MAX + 4])
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < POLICY_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (in[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/*
 * Builds the default permitted space plus the site domains and gateway
 * networks into p (which the caller frees with policy_free). Returns 0, or
 * -1 with e naming a malformed domain or too many entries; p is then empty.
 */
int
policy_init(struct policy *p, const char *const *domains, size_t ndomains,
	    const struct ipnet *nets, size_t nnets, struct lerr *e)
{
	char show[POLICY_SHOW_MAX + 4];
	struct ipnet net;
	size_t i;
	int rc = -1;

	if (p == NULL)
		return lerr_set(e, LERR_INTERNAL, "policy_init: no policy");
	names_init(&p->permitted);
	p->leaf_days = POLICY_LEAF_DAYS_DEFAULT;
	for (i = 0; i < POLICY_NELEM(policy_default_dns); i++) {
		if (names_add_dns(&p->permitted, policy_default_dns[i]) < 0) {
			lerr_set(e, LERR_INTERNAL, "cannot add default domain");
			goto out;
		}
	}
	for (i = 0; i < POLICY_NELEM(policy_default_ip); i++) {
		if (ipnet_parse(policy_default_ip[i], &net) < 0 ||
		    names_add_ip(&p->permitted, &net) < 0) {
			lerr_set(e, LERR_INTERNAL, "cannot add default network");
			goto out;
		}
	}
	for (i = 0; domains != NULL && i < ndomains; i++) {
		if (domains[i] == NULL || names_add_dns(&p->permitted, domains[i]) < 0) {
			if (p->permitted.ndns >= NAMES_MAX)
				lerr_set(e, LERR_TOO_LARGE, "too many site domains: at most %d in all",
					 NAMES_MAX);
			else {
				policy_show(domains[i] != NULL ? domains[i] : "(null)", show);
				lerr_set(e, LERR_BAD_NAME,
					 "site domain \"%s\" is not a valid DNS name", show);
			}
			goto out;
		}
	}
	for (i = 0; nets != NULL && i < nnets; i++) {
		if (names_add_ip(&p->permitted, &nets[i]) < 0) {
			lerr_set(e, p->permitted.nip >= NAMES_MAX ? LERR_TOO_LARGE : LERR_BAD_REQUEST,
				 "cannot add gateway network %zu (invalid or too many)", i + 1);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		names_free(&p->permitted);
	return rc;
}

/* Turns a contiguous netmask into a prefix length; -1 if not contiguous. */
static int
policy_mask_prefix(const unsigned char *mask, unsigned len)
{
	unsigned i, prefix = 0;
	int ended = 0;

	for (i = 0; i < len * 8; i++) {
		int bit = (mask[i / 8] >> (7 - i % 8)) & 1;

		if (bit && ended)
			return -1;
		if (bit)
			prefix++;
		else
			ended = 1;
	}
	return (int)prefix;
}

/*
 * Rebuilds p from the permitted subtrees of ca's nameConstraints: DNS names
 * and IP networks (GnuTLS gives an IP subtree as address then mask, 8 or 32
 * bytes). Subtrees of other types grant no DNS name or address and are
 * skipped. Returns 0 or -1 with e; p is empty on failure, and the caller
 * frees it with policy_free on success.
 */
int
policy_from_ca(struct policy *p, gnutls_x509_crt_t ca, struct lerr *e)
{
	gnutls_x509_name_constraints_t nc = NULL;
	gnutls_datum_t name;
	unsigned critical = 0, type, i;
	char dns[NAMES_DNS_MAX + 1], show[POLICY_SHOW_MAX + 4];
	struct ipnet net;
	int prefix, ret, rc = -1;

	if (p == NULL)
		return lerr_set(e, LERR_INTERNAL, "policy_from_ca: no policy");
	names_init(&p->permitted);
	p->leaf_days = POLICY_LEAF_DAYS_DEFAULT;
	if (ca == NULL) {
		lerr_set(e, LERR_INTERNAL, "policy_from_ca: no CA certificate");
		goto out;
	}
	if (gnutls_x509_name_constraints_init(&nc) < 0) {
		nc = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	ret = gnutls_x509_crt_get_name_constraints(ca, nc, 0, &critical);
	if (ret < 0) {
		lerr_set(e, LERR_INTERNAL, "the CA certificate has no readable nameConstraints");
		goto out;
	}
	for (i = 0;; i++) {
		ret = gnutls_x509_name_constraints_get_permitted(nc, i, &type, &name);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0) {
			lerr_set(e, LERR_INTERNAL, "cannot read the CA's nameConstraints");
			goto out;
		}
		if (type == GNUTLS_SAN_DNSNAME) {
			size_t off = name.size > 0 && name.data[0] == '.' ? 1 : 0;

			/* An empty DNS subtree would permit every name: refuse it. */
			if (name.size - off == 0 || name.size - off > NAMES_DNS_MAX ||
			    memchr(name.data, '\0', name.size) != NULL) {
				lerr_set(e, LERR_INTERNAL, "the CA permits a malformed DNS subtree");
				goto out;
			}
			memcpy(dns, name.data + off, name.size - off);
			dns[name.size - off] = '\0';
			if (names_add_dns(&p->permitted, dns) < 0) {
				policy_show(dns, show);
				lerr_set(e, LERR_INTERNAL,
					 "the CA permits a DNS subtree lanca cannot use (\"%s\")", show);
				goto out;
			}
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			if (name.size != 8 && name.size != 32) {
				lerr_set(e, LERR_INTERNAL, "the CA permits a malformed IP subtree");
				goto out;
			}
			memset(&net, 0, sizeof(net));
			net.len = name.size / 2;
			memcpy(net.addr, name.data, net.len);
			prefix = policy_mask_prefix(name.data + net.len, net.len);
			if (prefix < 0) {
				lerr_set(e, LERR_INTERNAL,
					 "the CA permits an IP subtree with a non-contiguous mask");
				goto out;
			}
			net.prefix = (unsigned)prefix;
			if (names_add_ip(&p->permitted, &net) < 0) {
				lerr_set(e, LERR_INTERNAL, "the CA permits too many IP subtrees");
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (nc != NULL)
		gnutls_x509_name_constraints_deinit(nc);
	if (rc != 0)
		names_free(&p->permitted);
	return rc;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	names_free(&p->permitted);
}

/* 1 if name equals suffix or ends with "." suffix (a label boundary). */
static int
policy_dns_under(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n == s)
		return strcmp(name, suffix) == 0;
	return n > s && name[n - s - 1] == '.' && strcmp(name + n - s, suffix) == 0;
}

/* A bounded text being built for a message; cut short with "..." when
 * full (the error message has a fixed size). */
struct policy_text {
	char *out;
	size_t size, used;
	int full;
};

static void
policy_text_add(struct policy_text *t, const char *sep, const char *item)
{
	int w;

	if (t->full)
		return;
	w = snprintf(t->out + t->used, t->size - t->used, "%s%s", t->used ? sep : "", item);
	if (w < 0 || (size_t)w >= t->size - t->used) {
		size_t at = t->used < t->size - 4 ? t->used : t->size - 4;

		snprintf(t->out + at, t->size - at, "%s", "...");
		t->full = 1;
		return;
	}
	t->used += (size_t)w;
}

/* 1 if net is one of the loopback networks kept for the gateway. */
static int
policy_is_loopback(const struct ipnet *net)
{
	struct ipnet lo;
	size_t j;

	for (j = 0; j < POLICY_NELEM(policy_loopback_ip); j++)
		if (ipnet_parse(policy_loopback_ip[j], &lo) == 0 && lo.len == net->len &&
		    lo.prefix == net->prefix && memcmp(lo.addr, net->addr, lo.len) == 0)
			return 1;
	return 0;
}

/*
 * Writes everything a profile may be issued into out, for a refusal:
 * "names under local, home.arpa, site.example; addresses in 10.0.0.0/8,
 * ...; and for the gateway's own certificate only: localhost, 127.0.0.0/8,
 * ::1/128". A device is told what it may have and what is kept for the
 * gateway, so nobody has to guess why a name was refused.
 */
int
policy_profile_kind(enum policy_profile prof)
{
	switch (prof) {
	case POLICY_DEVICE:
	case POLICY_SERVER:
		return 1;
	case POLICY_GATEWAY:
		return 0;
	}
	return -1;
}

unsigned
policy_csr_flags(enum policy_profile prof)
{
	return prof == POLICY_SERVER ? CSR_PARSE_CN_OPTIONAL : 0;
}

static void
policy_describe(const struct policy *p, enum policy_profile prof, char *out, size_t n)
{
	struct policy_text t = { out, n, 0, 0 };
	char ip[INET6_ADDRSTRLEN + 8];
	size_t i, first;

	out[0] = '\0';
	if (n < 4)
		return;
	policy_text_add(&t, "", "names under ");
	first = t.used;
	for (i = 0; i < p->permitted.ndns; i++)
		if (policy_profile_kind(prof) != 1 ||
		    strcmp(p->permitted.dns[i], POLICY_LOCALHOST) != 0)
			policy_text_add(&t, t.used > first ? ", " : "", p->permitted.dns[i]);
	policy_text_add(&t, "", "; addresses in ");
	first = t.used;
	for (i = 0; i < p->permitted.nip; i++)
		if ((policy_profile_kind(prof) != 1 || !policy_is_loopback(&p->permitted.ip[i])) &&
		    ipnet_format(&p->permitted.ip[i], ip, sizeof(ip)) >= 0)
			policy_text_add(&t, t.used > first ? ", " : "", ip);
	if (policy_profile_kind(prof) != 1)
		return;
	policy_text_add(&t, "", "; for the gateway's own certificate only: ");
	first = t.used;
	for (i = 0; i < p->permitted.ndns; i++)
		if (strcmp(p->permitted.dns[i], POLICY_LOCALHOST) == 0)
			policy_text_add(&t, "", POLICY_LOCALHOST);
	for (i = 0; i < p->permitted.nip; i++)
		if (policy_is_loopback(&p->permitted.ip[i]) &&
		    ipnet_format(&p->permitted.ip[i], ip, sizeof(ip)) >= 0)
			policy_text_add(&t, t.used > first ? ", " : "", ip);
}

/*
 * Checks one DNS name for a profile: syntactically valid, every "xn--"
 * label real IDNA, under a permitted suffix at a label boundary, and for
 * devices not localhost or under it, and strictly below the suffix: a
 * device named "local", "home.arpa" or a site domain itself would hold
 * the name of the whole domain (the gateway's own names are the
 * administrator's choice, and include the bare "localhost").
 * Returns 0 or -1 with e naming the name.
 */
int
policy_check_dns(const struct policy *p, const char *name, enum policy_profile prof,
		 struct lerr *e)
{
	struct names one;
	char list[POLICY_DESCRIBE_MAX], show[POLICY_SHOW_MAX + 4];
	const char *dns, *bad;
	size_t i, bad_len;
	int rc = -1;

	names_init(&one);
	if (p == NULL || name == NULL) {
		lerr_set(e, LERR_INTERNAL, "policy_check_dns: no policy or name");
		goto out;
	}
	/* Normalise (lower case) and refuse malformed names and wildcards. */
	if (names_add_dns(&one, name) < 0 || one.ndns != 1) {
		policy_show(name, show);
		lerr_set(e, LERR_BAD_NAME, "\"%s\" is not a valid DNS name", show);
		goto out;
	}
	dns = one.dns[0];
	if (names_dns_idna_check(dns, &bad, &bad_len) != 0) {
		lerr_set(e, LERR_BAD_NAME,
			 "\"%s\" is not a valid DNS name: its label \"%.*s\" is not valid IDNA "
			 "(an xn-- label must be the punycode of a Unicode label)", dns,
			 (int)bad_len, bad);
		goto out;
	}
	if (policy_profile_kind(prof) == 1 && policy_dns_under(dns, POLICY_LOCALHOST)) {
		lerr_set(e, LERR_FORBIDDEN_NAME,
			 "%s: localhost is reserved for the gateway's own certificate", dns);
		goto out;
	}
	for (i = 0; policy_profile_kind(prof) == 1 && i < p->permitted.ndns; i++) {
		if (strcmp(dns, p->permitted.dns[i]) == 0) {
			lerr_set(e, LERR_FORBIDDEN_NAME,
				 "%s is a permitted domain itself: a device name needs at least one "
				 "label below it (such as device.%s)", dns, dns);
			goto out;
		}
	}
	for (i = 0; i < p->permitted.ndns; i++) {
		if (policy_dns_under(dns, p->permitted.dns[i])) {
			rc = 0;
			goto out;
		}
	}
	policy_describe(p, prof, list, sizeof(list));
	lerr_set(e, LERR_FORBIDDEN_NAME, "%s is not under a permitted domain (permitted: %s)", dns,
		 list);
out:
	names_free(&one);
	return rc;
}

/* 1 if every address of ip lies inside net. */
static int
policy_net_inside(const struct ipnet *net, const struct ipnet *ip)
{
	return net->len == ip->len && net->prefix <= ip->prefix &&
	       ipnet_contains(net, ip->addr, ip->len);
}

/* 1 if ip shares any address with net. */
static int
policy_net_overlaps(const struct ipnet *net, const struct ipnet *ip)
{
	if (net->len != ip->len)
		return 0;
	return net->prefix <= ip->prefix ? ipnet_contains(net, ip->addr, ip->len)
					 : ipnet_contains(ip, net->addr, net->len);
}

/*
 * Checks one address (or network) for a profile: inside a permitted
 * network, and for devices not loopback. Returns 0 or -1 with e naming it.
 */
int
policy_check_ip(const struct policy *p, const struct ipnet *ip, enum policy_profile prof,
		struct lerr *e)
{
	char text[INET6_ADDRSTRLEN + 8], list[POLICY_DESCRIBE_MAX];
	struct ipnet lo;
	size_t i;

	if (p == NULL || ip == NULL)
		return lerr_set(e, LERR_INTERNAL, "policy_check_ip: no policy or address");
	if (ipnet_format(ip, text, sizeof(text)) < 0)
		return lerr_set(e, LERR_BAD_NAME, "malformed IP address");
	if (policy_profile_kind(prof) == 1) {
		for (i = 0; i < POLICY_NELEM(policy_loopback_ip); i++) {
			if (ipnet_parse(policy_loopback_ip[i], &lo) == 0 && policy_net_overlaps(&lo, ip))
				return lerr_set(e, LERR_FORBIDDEN_NAME,
						"%s: loopback addresses are reserved for the gateway's own certificate",
						text);
		}
	}
	for (i = 0; i < p->permitted.nip; i++)
		if (policy_net_inside(&p->permitted.ip[i], ip))
			return 0;
	policy_describe(p, prof, list, sizeof(list));
	return lerr_set(e, LERR_FORBIDDEN_NAME, "%s is not in a permitted network (permitted: %s)",
			text, list);
}

/*
 * Checks every SAN c asked for and copies them into out (initialised here;
 * the caller frees it with names_free even on failure, which is harmless).
 * The CN is not a SAN and is not added. Returns 0, or -1 with e naming the
 * first refused entry and out left empty.
 */
/*
 * A certificate without a DNS SAN has its CN read as a DNS name by
 * GnuTLS's name-constraint check (for anything usable as a TLS server),
 * so a device id like "sensor-1" would make the certificate fail
 * verification everywhere GnuTLS is used. Such a request gets the
 * device's mDNS name, "<device id>.local", as its one DNS name; a device
 * id that is no DNS label must ask for a name itself.
 */
static int
policy_mdns_name(const struct policy *p, const struct csr *c, enum policy_profile prof,
		   struct names *out, struct lerr *e)
{
	char name[CSR_CN_MAX + sizeof(".local")];
	int n;

	n = snprintf(name, sizeof(name), "%s.local", c->cn);
	if (n < 0 || (size_t)n >= sizeof(name) || strchr(c->cn, '.') != NULL ||
	    policy_check_dns(p, name, prof, NULL) != 0 || names_add_dns(out, name) != 0)
		return lerr_set(e, LERR_BAD_NAME,
				"the request names no DNS subjectAltName and its device id is not a "
				"DNS label: ask for a name such as device.local");
	return 0;
}

int
policy_site_name(const struct policy *p, const char *dns)
{
	size_t i, j;

	for (i = 0; i < p->permitted.ndns; i++) {
		for (j = 0; j < POLICY_NELEM(policy_default_dns); j++)
			if (strcmp(p->permitted.dns[i], policy_default_dns[j]) == 0)
				break;
		if (j == POLICY_NELEM(policy_default_dns) && policy_dns_under(dns, p->permitted.dns[i]) &&
		    strcasecmp(dns, p->permitted.dns[i]) != 0)
			return 1;
	}
	return 0;
}

const char *
policy_leaf_cn(const struct csr *c, const struct names *sans, enum policy_profile prof)
{
	size_t i;

	if (prof != POLICY_SERVER)
		return c->cn;
	for (i = 0; c->cn[0] != '\0' && i < sans->ndns; i++)
		if (strcasecmp(c->cn, sans->dns[i]) == 0)
			return c->cn;
	if (sans->ndns > 0 && strlen(sans->dns[0]) <= CSR_CN_MAX)
		return sans->dns[0];
	return "";
}

int
policy_names(const struct policy *p, const struct csr *c, enum policy_profile prof,
	     struct names *out, struct lerr *e)
{
	size_t i;
	int rc = -1;

	if (out == NULL)
		return lerr_set(e, LERR_INTERNAL, "policy_names: no output");
	names_init(out);
	if (p == NULL || c == NULL) {
		lerr_set(e, LERR_INTERNAL, "policy_names: no policy or request");
		goto out;
	}
	if (policy_profile_kind(prof) < 0) {
		lerr_set(e, LERR_INTERNAL, "policy_names: unknown profile");
		goto out;
	}
	for (i = 0; i < c->sans.ndns; i++) {
		struct ipnet ip;

		/* lego 4.9 (Debian 12) writes an address it was asked for as
		 * a dNSName: a server's certificate carries it as the address
		 * it is, as the ACME order proved it (RFC 8738). */
		if (prof == POLICY_SERVER && ipnet_parse(c->sans.dns[i], &ip) == 0 &&
		    ip.prefix == ip.len * 8) {
			if (policy_check_ip(p, &ip, prof, e) < 0)
				goto out;
			if (!names_has_ip(out, &ip) && names_add_ip(out, &ip) < 0) {
				lerr_set(e, LERR_TOO_LARGE, "too many IP addresses");
				goto out;
			}
			continue;
		}
		if (policy_check_dns(p, c->sans.dns[i], prof, e) < 0)
			goto out;
		if (names_add_dns(out, c->sans.dns[i]) < 0) {
			lerr_set(e, LERR_TOO_LARGE, "too many DNS names");
			goto out;
		}
	}
	for (i = 0; i < c->sans.nip; i++) {
		if (policy_check_ip(p, &c->sans.ip[i], prof, e) < 0)
			goto out;
		if (names_has_ip(out, &c->sans.ip[i]))
			continue;
		if (names_add_ip(out, &c->sans.ip[i]) < 0) {
			lerr_set(e, LERR_TOO_LARGE, "too many IP addresses");
			goto out;
		}
	}
	if (out->ndns == 0 && prof != POLICY_SERVER && policy_mdns_name(p, c, prof, out, e) != 0)
		goto out;
	if (out->ndns + out->nip == 0) {
		lerr_set(e, LERR_BAD_NAME, "the request names no subjectAltName");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		names_free(out);
	return rc;
}

/*
 * Computes a leaf's validity (see policy.h): days 0 means p->leaf_days;
 * more than POLICY_LEAF_DAYS_MAX is refused, as is an issuing CA that has
 * already expired; the end is cut back to ca_not_after. 0 or -1 with e.
 */
int
policy_validity(const struct policy *p, unsigned days, time_t now, time_t ca_not_after,
		time_t *not_before, time_t *not_after, struct lerr *e)
{
	time_t span;

	if (p == NULL || not_before == NULL || not_after == NULL)
		return lerr_set(e, LERR_INTERNAL, "policy_validity: missing argument");
	if (days == 0)
		days = p->leaf_days;
	if (days == 0 || days > POLICY_LEAF_DAYS_MAX)
		return lerr_set(e, LERR_BAD_VALIDITY,
				"a validity of %u days is not allowed: 1 to %d days", days,
				POLICY_LEAF_DAYS_MAX);
	if (ca_not_after <= now)
		return lerr_set_http(e, LERR_BAD_VALIDITY, 500,
				"the issuing CA expired: no certificate can be issued");
	span = (time_t)days * POLICY_DAY;	/* at most 825 days: no overflow */
	*not_before = now - POLICY_SKEW;
	/* compare spans, not sums, so a far-off ca_not_after cannot overflow */
	*not_after = ca_not_after - now < span ? ca_not_after : now + span;
	return 0;
}
