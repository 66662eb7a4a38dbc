/*
 * buf.c - the capped growable buffer (see buf.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Makes room for n more bytes plus a NUL; keeps the old bytes on failure. */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t want, alloc;
	unsigned char *p;

	if (b->failed)
		return -1;
	if (n > b->max - b->len) {	/* overflow-safe: len <= max always */
		b->failed = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 256;
	while (alloc < want)
		alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
	if (alloc > b->max + 1)
		alloc = b->max + 1;
	if (b->secret) {
		p = malloc(alloc);
		if (p != NULL && b->data != NULL) {
			memcpy(p, b->data, b->len + 1);
			explicit_bzero(b->data, b->alloc);
			free(b->data);
		}
	} else {
		p = realloc(b->data, alloc);
	}
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

unsigned char *
buf_extend(struct buf *b, size_t n)
{
	unsigned char *p;

	if (buf_reserve(b, n) != 0)
		return NULL;
	p = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return p;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->failed = 1;
		return -1;
	}
	if (buf_reserve(b, (size_t)n) != 0)
		return -1;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

unsigned char *
buf_steal(struct buf *b, size_t *len)
{
	unsigned char *p = b->data;

	if (p == NULL) {	/* an empty buffer still yields a string */
		p = calloc(1, 1);
	}
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	b->failed = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
	b->failed = 0;
}

void
buf_free_secret(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		explicit_bzero(b->data, b->alloc);	/* not optimised away */
	buf_free(b);
}
