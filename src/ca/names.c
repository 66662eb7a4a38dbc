/*
 * names.c - bounded lists of DNS names and IP networks (see names.h).
 *
 * Every DNS name that enters a struct names has passed names_add_dns's
 * syntax check, so the rest of lanca (policy, certificates, the store, log
 * lines, JSON) can treat the strings as plain lower-case ASCII hostnames.
 * Whether an "xn--" label is real IDNA is a separate check
 * (names_dns_idna_check), made where a name is about to be issued: names
 * read back from certificates and constraints lanca already holds are
 * taken as they are.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>

#include "ca/names.h"

#define NAMES_LABEL_MAX	63

void
names_init(struct names *n)
{
	memset(n, 0, sizeof(*n));
}

void
names_free(struct names *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->ndns && i < NAMES_MAX; i++)
		free(n->dns[i]);
	memset(n, 0, sizeof(*n));
}

/*
 * Checks a lower-cased hostname: labels of 1..63 bytes of [a-z0-9-], none
 * starting or ending with '-', at most NAMES_DNS_MAX bytes in all. No
 * trailing dot and no wildcard: lanca issues neither. Returns 0 or -1.
 */
static int
names_dns_valid(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > NAMES_DNS_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			/* empty label, or one ending with '-' */
			if (label == 0 || s[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -1;
		if (c == '-' && label == 0)
			return -1;
		if (++label > NAMES_LABEL_MAX)
			return -1;
	}
	/* the last label: not empty (trailing dot), not ending with '-' */
	if (label == 0 || s[len - 1] == '-')
		return -1;
	return 0;
}

/*
 * Adds a lower-cased copy of name. A name already in the list is not added
 * twice (the list is a set) and counts as success. Returns -1 when the name
 * is malformed (see names_dns_valid), the list is full, or out of memory.
 */
int
names_add_dns(struct names *n, const char *name)
{
	char *copy = NULL;
	size_t len, i;
	int rc = -1;

	if (n == NULL || name == NULL)
		goto out;
	len = strnlen(name, NAMES_DNS_MAX + 1);
	if (len == 0 || len > NAMES_DNS_MAX)
		goto out;
	copy = malloc(len + 1);
	if (copy == NULL)
		goto out;
	for (i = 0; i < len; i++) {
		char c = name[i];

		copy[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	copy[len] = '\0';
	if (names_dns_valid(copy, len) < 0)
		goto out;
	for (i = 0; i < n->ndns; i++) {
		if (strcmp(n->dns[i], copy) == 0) {
			rc = 0;
			goto out;
		}
	}
	if (n->ndns >= NAMES_MAX)
		goto out;
	n->dns[n->ndns++] = copy;
	copy = NULL;
	rc = 0;
out:
	free(copy);
	return rc;
}

/* 1 if the A-label lab (len bytes, lower case) is the encoding of a
 * Unicode label: it decodes, and encoding the result gives it back (a
 * label that decodes to nothing, to plain ASCII, to code points IDNA
 * does not allow, or that is not the canonical encoding, does not). */
static int
names_alabel_ok(const char *lab, size_t len)
{
	gnutls_datum_t u = { NULL, 0 }, back = { NULL, 0 };
	int ok = 0;

	if (gnutls_idna_reverse_map(lab, (unsigned)len, &u, 0) == 0 && u.size > 0 &&
	    gnutls_idna_map((const char *)u.data, u.size, &back, 0) == 0 &&
	    back.size == len && memcmp(back.data, lab, len) == 0)
		ok = 1;
	gnutls_free(u.data);
	gnutls_free(back.data);
	return ok;
}

int
names_dns_idna_check(const char *name, const char **bad, size_t *bad_len)
{
	const char *p = name, *dot;
	size_t len;

	if (name == NULL)
		return -1;
	for (;;) {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (len >= 4 && memcmp(p, "xn--", 4) == 0 && !names_alabel_ok(p, len)) {
			*bad = p;
			*bad_len = len;
			return -1;
		}
		if (dot == NULL)
			return 0;
		p = dot + 1;
	}
}

/* Clears the bits of addr past prefix (a network's host part). */
static void
ipnet_mask(unsigned char *addr, unsigned len, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < len; i++) {
		unsigned bit = i * 8;

		if (bit >= prefix)
			addr[i] = 0;
		else if (prefix - bit < 8)
			addr[i] &= (unsigned char)(0xff << (8 - (prefix - bit)));
	}
}

/*
 * Adds a copy of ip with its host bits cleared. An entry already in the
 * list counts as success. Returns -1 when ip is not a valid address or
 * network, or the list is full.
 */
int
names_add_ip(struct names *n, const struct ipnet *ip)
{
	struct ipnet copy;
	size_t i;

	if (n == NULL || ip == NULL)
		return -1;
	if ((ip->len != 4 && ip->len != 16) || ip->prefix > ip->len * 8)
		return -1;
	memset(&copy, 0, sizeof(copy));
	memcpy(copy.addr, ip->addr, ip->len);
	copy.len = ip->len;
	copy.prefix = ip->prefix;
	ipnet_mask(copy.addr, copy.len, copy.prefix);
	for (i = 0; i < n->nip; i++) {
		if (n->ip[i].len == copy.len && n->ip[i].prefix == copy.prefix &&
		    memcmp(n->ip[i].addr, copy.addr, copy.len) == 0)
			return 0;
	}
	if (n->nip >= NAMES_MAX)
		return -1;
	n->ip[n->nip++] = copy;
	return 0;
}

/*
 * Parses an IPv4 or IPv6 address with an optional "/prefix" into out; the
 * prefix defaults to the full length and the host bits beyond it are
 * cleared, so "10.1.2.3/8" reads as 10.0.0.0/8. Returns 0 or -1 (out is
 * left zeroed on failure).
 */
int
ipnet_parse(const char *text, struct ipnet *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash;
	size_t alen;
	unsigned long prefix;
	int family;
	int rc = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		goto out;
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(addr))
		goto out;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	family = memchr(addr, ':', alen) ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, out->addr) != 1)
		goto out;
	out->len = family == AF_INET ? 4 : 16;
	out->prefix = out->len * 8;
	if (slash != NULL) {
		const char *p = slash + 1;
		char *end = NULL;

		/* strtoul would take " 8", "+8" and "-8": digits only */
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			goto out;
		errno = 0;
		prefix = strtoul(p, &end, 10);
		if (errno != 0 || end == p || *end != '\0' || prefix > out->len * 8)
			goto out;
		out->prefix = (unsigned)prefix;
	}
	ipnet_mask(out->addr, out->len, out->prefix);
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/*
 * Writes ip as text into out ("10.0.0.0/8", "192.168.1.5", "fc00::/7");
 * the "/prefix" appears only for networks. Returns 0, or -1 if ip is not
 * valid or out is too small.
 */
int
ipnet_format(const struct ipnet *ip, char *out, size_t n)
{
	char addr[INET6_ADDRSTRLEN];
	int w;

	if (ip == NULL || out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if ((ip->len != 4 && ip->len != 16) || ip->prefix > ip->len * 8)
		return -1;
	if (inet_ntop(ip->len == 4 ? AF_INET : AF_INET6, ip->addr, addr, sizeof(addr)) == NULL)
		return -1;
	if (ip->prefix < ip->len * 8)
		w = snprintf(out, n, "%s/%u", addr, ip->prefix);
	else
		w = snprintf(out, n, "%s", addr);
	if (w < 0 || (size_t)w >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* 1 if addr lies inside net: same family and the first prefix bits agree. */
int
ipnet_contains(const struct ipnet *net, const unsigned char *addr, unsigned len)
{
	unsigned full, rem;

	if (net == NULL || addr == NULL || net->len != len || (len != 4 && len != 16))
		return 0;
	if (net->prefix > len * 8)
		return 0;
	full = net->prefix / 8;
	rem = net->prefix % 8;
	if (memcmp(net->addr, addr, full) != 0)
		return 0;
	if (rem != 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - rem));

		if ((net->addr[full] & mask) != (addr[full] & mask))
			return 0;
	}
	return 1;
}

/*
 * Appends "DNS:a,DNS:b,IP:10.0.0.1" to b (DNS names first, in list order).
 * Returns 0, or -1 if b overflowed or an address would not format.
 */
int
names_has_dns(const struct names *n, const char *dns)
{
	size_t i;

	for (i = 0; i < n->ndns; i++)
		if (strcasecmp(n->dns[i], dns) == 0)
			return 1;
	return 0;
}

int
names_has_ip(const struct names *n, const struct ipnet *ip)
{
	size_t i;

	for (i = 0; i < n->nip; i++)
		if (n->ip[i].len == ip->len && n->ip[i].prefix == ip->prefix &&
		    memcmp(n->ip[i].addr, ip->addr, ip->len) == 0)
			return 1;
	return 0;
}

int
names_same(const struct names *a, const struct names *b)
{
	size_t i;

	if (a->ndns != b->ndns || a->nip != b->nip)
		return 0;
	for (i = 0; i < a->ndns; i++)
		if (!names_has_dns(b, a->dns[i]))
			return 0;
	for (i = 0; i < a->nip; i++)
		if (!names_has_ip(b, &a->ip[i]))
			return 0;
	return 1;
}

int
names_format(const struct names *n, struct buf *b)
{
	char ip[INET6_ADDRSTRLEN + 8];
	const char *sep = "";
	size_t i;

	if (n == NULL || b == NULL)
		return -1;
	for (i = 0; i < n->ndns; i++) {
		if (buf_printf(b, "%sDNS:%s", sep, n->dns[i]) < 0)
			return -1;
		sep = ",";
	}
	for (i = 0; i < n->nip; i++) {
		if (ipnet_format(&n->ip[i], ip, sizeof(ip)) < 0)
			return -1;
		if (buf_printf(b, "%sIP:%s", sep, ip) < 0)
			return -1;
		sep = ",";
	}
	return buf_failed(b) ? -1 : 0;
}
