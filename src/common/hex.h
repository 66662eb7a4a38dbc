/*
 * hex.h - lower-case hex encoding, the one way lanca writes bytes as text
 * (serials, fingerprints, key ids, tokens), and a digit's value. Header-only so that the
 * device client, which links GnuTLS alone, shares it too.
 */
#ifndef LANCA_HEX_H
#define LANCA_HEX_H

#include <stddef.h>

/* Writes n bytes of p as 2n lower-case hex digits and a NUL into out,
 * which must hold 2n + 1 bytes. */
static inline void
hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* A hex digit's value, either case; -1 for anything else. */
static inline int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
