/*
 * hex.h - lower-case hex encoding, the one way lanca writes bytes as text
 * (serials, fingerprints, key ids, tokens). Header-only so that the
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

#endif
