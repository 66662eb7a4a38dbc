/*
 * buf.h - a growable byte buffer with a hard cap fixed at creation.
 *
 * Owns: nothing global. Every caller that assembles bytes of unknown length
 * (HTTP bodies, IPC payloads, PEM chains, JSON) uses one of these, so that
 * "how much may this grow" is answered once, where the buffer is made.
 * Errors are sticky: after a failed append every later append fails too and
 * buf_failed() says so, so a caller may append several times and check once.
 */
#ifndef LANCA_BUF_H
#define LANCA_BUF_H

#include <stddef.h>
#include <stdarg.h>

#define LANCA_WUR __attribute__((warn_unused_result))

struct buf {
	unsigned char *data;	/* NUL-terminated after every append (not counted in len) */
	size_t len;		/* bytes used */
	size_t alloc;		/* bytes allocated */
	size_t max;		/* hard cap on len */
	int failed;		/* sticky: an append went past max or out of memory */
	int secret;		/* buf_init_secret: no copy is left behind unwiped */
};

/* Starts an empty buffer that may hold at most max bytes. Never fails. */
void buf_init(struct buf *b, size_t max);
/* The same for a buffer that will hold a secret (a key, a password):
 * growing it copies into a new block and wipes the old one instead of
 * realloc(), which may free the old bytes as they are. Free it with
 * buf_free_secret. */
void buf_init_secret(struct buf *b, size_t max);
/* Appends n bytes; 0 on success, -1 past the cap or out of memory (sticky). */
int buf_append(struct buf *b, const void *p, size_t n) LANCA_WUR;
int buf_puts(struct buf *b, const char *s) LANCA_WUR;
int buf_printf(struct buf *b, const char *fmt, ...) LANCA_WUR __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) LANCA_WUR __attribute__((format(printf, 2, 0)));
/* Appends n bytes left for the caller to fill and returns where they
 * start (NULL past the cap; sticky). */
unsigned char *buf_extend(struct buf *b, size_t n) LANCA_WUR;
/* Gives the caller ownership of the bytes (malloc'd, NUL-terminated); resets b. */
unsigned char *buf_steal(struct buf *b, size_t *len);
/* Frees the bytes; buf_free_secret wipes them first. NULL-safe. */
void buf_free(struct buf *b);
void buf_free_secret(struct buf *b);
static inline int buf_failed(const struct buf *b) { return b->failed; }

#endif
