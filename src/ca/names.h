/*
 * names.h - lists of DNS names and IP addresses (SANs, name constraints).
 *
 * Owns: the one in-memory form of "a set of names" that csr.c fills from a
 * request, policy.c checks, x509.c writes into certificates and reads back
 * out of them, and the store records. Bounded: at most NAMES_MAX entries,
 * each DNS name at most NAMES_DNS_MAX bytes.
 */
#ifndef LANCA_NAMES_H
#define LANCA_NAMES_H

#include <stddef.h>
#include "common/buf.h"

#define NAMES_MAX	32	/* SANs per certificate, subtrees per constraint */
#define NAMES_DNS_MAX	253	/* RFC 1035 presentation length */

struct ipnet {
	unsigned char addr[16];	/* network byte order */
	unsigned len;		/* 4 or 16 */
	unsigned prefix;	/* prefix bits; 32 or 128 for a single address */
};

struct names {
	char *dns[NAMES_MAX];	/* lower-case, no trailing dot, malloc'd */
	size_t ndns;
	struct ipnet ip[NAMES_MAX];
	size_t nip;
};

void names_init(struct names *n);
void names_free(struct names *n);	/* frees the strings; n may be reused after names_init */
/* Adds a copy of a DNS name (lower-cased); -1 if full, too long or malformed. */
int names_add_dns(struct names *n, const char *name) LANCA_WUR;
/*
 * Checks the IDNA labels of a DNS name as names_add_dns keeps it (lower
 * case): every label starting "xn--" (an A-label) must decode to a
 * Unicode label that encodes back to exactly that label (RFC 5891 5.4),
 * through GnuTLS and its libidn2. Other labels are plain LDH and pass.
 * Returns 0, or -1 with *bad and *bad_len naming the first label that
 * fails (pointing into name).
 */
int names_dns_idna_check(const char *name, const char **bad, size_t *bad_len);
/* Adds an address or network; -1 if full. */
int names_add_ip(struct names *n, const struct ipnet *ip) LANCA_WUR;
/* Parses "10.0.0.0/8", "fc00::/7", "192.168.1.5", "::1" (prefix defaults to
 * the full length); 0 or -1. */
int ipnet_parse(const char *text, struct ipnet *out) LANCA_WUR;
/* Formats an address (with "/prefix" when it is a network) into out. */
int ipnet_format(const struct ipnet *ip, char *out, size_t n);
/* 1 if addr (len 4 or 16) lies inside net. */
int ipnet_contains(const struct ipnet *net, const unsigned char *addr, unsigned len);
/* 1 if n holds the DNS name dns (compared without case) or the address
 * or network ip (the same bytes and prefix), 0 otherwise. */
int names_has_dns(const struct names *n, const char *dns);
int names_has_ip(const struct names *n, const struct ipnet *ip);
/* 1 if a and b hold the same names, whatever their order (each list
 * free of repeats, as names_add_* keep them). */
int names_same(const struct names *a, const struct names *b);
/* Appends "DNS:a,DNS:b,IP:10.0.0.1" to b (the store's and CLI's text form). */
int names_format(const struct names *n, struct buf *b) LANCA_WUR;

#endif
