/*
 * ipc.h - framing for the channel between the daemon and the signer.
 *
 * Owns: the wire format. A message is a fixed 8-byte header
 * {u32 length, u16 type, u16 flags} in network byte order followed by
 * `length` payload bytes, at most IPC_MAX. The length is checked on send
 * and, on receipt, before anything is allocated. A short read, a bad
 * length or EOF is an error the caller must treat as the end of the peer.
 * Payload fields are written and read with the ipc_put_* / ipc_get_*
 * helpers, which check every bound.
 */
#ifndef LANCA_IPC_H
#define LANCA_IPC_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

#define IPC_MAX		(64 * 1024)
#define IPC_HDR_LEN	8

/* 0 on success; -1 on error (errno set; EMSGSIZE for an oversized payload). */
int ipc_send(int fd, uint16_t type, uint16_t flags, const void *payload, size_t len) LANCA_WUR;
/* Receives one message into b (reset first, cap IPC_MAX).
 * 0 on success; -1 on error or EOF (errno EPIPE for EOF, EMSGSIZE for a
 * length over IPC_MAX, EPROTO for a short message). */
int ipc_recv(int fd, uint16_t *type, uint16_t *flags, struct buf *b) LANCA_WUR;

/* Building a payload: append big-endian integers and length-prefixed bytes. */
int ipc_put_u8(struct buf *b, uint8_t v) LANCA_WUR;
int ipc_put_u16(struct buf *b, uint16_t v) LANCA_WUR;
int ipc_put_u32(struct buf *b, uint32_t v) LANCA_WUR;
int ipc_put_u64(struct buf *b, uint64_t v) LANCA_WUR;
int ipc_put_bytes(struct buf *b, const void *p, size_t n) LANCA_WUR;	/* u32 length + bytes */
int ipc_put_str(struct buf *b, const char *s) LANCA_WUR;		/* as bytes, no NUL */

/* Reading a payload: a cursor that refuses to run past the end. */
struct ipc_rd {
	const unsigned char *p;
	size_t left;
	int failed;	/* sticky */
};
void ipc_rd_init(struct ipc_rd *r, const void *p, size_t n);
uint8_t ipc_get_u8(struct ipc_rd *r);
uint16_t ipc_get_u16(struct ipc_rd *r);
uint32_t ipc_get_u32(struct ipc_rd *r);
uint64_t ipc_get_u64(struct ipc_rd *r);
/* Points *p at the next length-prefixed field (no copy); max bounds n. */
int ipc_get_bytes(struct ipc_rd *r, const unsigned char **p, size_t *n, size_t max);
/* Copies the next field into out as a NUL-terminated string; -1 if it
 * does not fit in outlen-1 bytes or holds a NUL. */
int ipc_get_str(struct ipc_rd *r, char *out, size_t outlen);
/* 0 if the whole payload was read without error, else -1. */
int ipc_rd_done(const struct ipc_rd *r);

#endif
