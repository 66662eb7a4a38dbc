/*
 * ipc.c - length-checked framing for the daemon <-> signer channel
 * (see ipc.h). Everything here treats the peer as hostile: sizes are
 * checked before allocation, reads never run past what was received.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signer/ipc.h"

/* Writes all of p, retrying short writes; -1 on error. */
static int
ipc_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; 0, or -1 with errno EPIPE at EOF before any byte
 * and EPROTO at EOF in the middle. */
static int
ipc_read_all(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, c + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = got == 0 ? EPIPE : EPROTO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
ipc_send(int fd, uint16_t type, uint16_t flags, const void *payload, size_t len)
{
	unsigned char hdr[IPC_HDR_LEN];
	uint32_t l32;
	uint16_t t16, f16;

	if (len > IPC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	l32 = htonl((uint32_t)len);
	t16 = htons(type);
	f16 = htons(flags);
	memcpy(hdr, &l32, 4);
	memcpy(hdr + 4, &t16, 2);
	memcpy(hdr + 6, &f16, 2);
	if (ipc_write_all(fd, hdr, sizeof(hdr)) != 0)
		return -1;
	return len > 0 ? ipc_write_all(fd, payload, len) : 0;
}

int
ipc_recv(int fd, uint16_t *type, uint16_t *flags, struct buf *b)
{
	unsigned char hdr[IPC_HDR_LEN];
	uint32_t l32;
	uint16_t t16, f16;
	unsigned char *p;
	size_t len;

	buf_free(b);
	buf_init(b, IPC_MAX);
	if (ipc_read_all(fd, hdr, sizeof(hdr)) != 0)
		return -1;
	memcpy(&l32, hdr, 4);
	memcpy(&t16, hdr + 4, 2);
	memcpy(&f16, hdr + 6, 2);
	len = ntohl(l32);
	if (len > IPC_MAX) {	/* checked before a single byte is allocated */
		errno = EMSGSIZE;
		return -1;
	}
	*type = ntohs(t16);
	*flags = ntohs(f16);
	p = buf_extend(b, len);	/* len <= IPC_MAX: the cap holds */
	if (p == NULL)
		return -1;
	if (len > 0 && ipc_read_all(fd, p, len) != 0) {
		if (errno == EPIPE)
			errno = EPROTO;	/* a header without its body */
		return -1;
	}
	return 0;
}

int
ipc_put_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int
ipc_put_u16(struct buf *b, uint16_t v)
{
	unsigned char c[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	return buf_append(b, c, sizeof(c));
}

int
ipc_put_u32(struct buf *b, uint32_t v)
{
	unsigned char c[4] = {
		(unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v,
	};

	return buf_append(b, c, sizeof(c));
}

int
ipc_put_u64(struct buf *b, uint64_t v)
{
	if (ipc_put_u32(b, (uint32_t)(v >> 32)) != 0)
		return -1;
	return ipc_put_u32(b, (uint32_t)v);
}

int
ipc_put_bytes(struct buf *b, const void *p, size_t n)
{
	if (n > IPC_MAX) {
		b->failed = 1;
		return -1;
	}
	if (ipc_put_u32(b, (uint32_t)n) != 0)
		return -1;
	return buf_append(b, p, n);
}

int
ipc_put_str(struct buf *b, const char *s)
{
	return ipc_put_bytes(b, s, strlen(s));
}

void
ipc_rd_init(struct ipc_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->failed = 0;
}

/* Takes n bytes from the cursor or marks it failed; NULL when failed. */
static const unsigned char *
ipc_take(struct ipc_rd *r, size_t n)
{
	const unsigned char *p;

	if (r->failed || n > r->left) {
		r->failed = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t
ipc_get_u8(struct ipc_rd *r)
{
	const unsigned char *p = ipc_take(r, 1);

	return p ? p[0] : 0;
}

uint16_t
ipc_get_u16(struct ipc_rd *r)
{
	const unsigned char *p = ipc_take(r, 2);

	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t
ipc_get_u32(struct ipc_rd *r)
{
	const unsigned char *p = ipc_take(r, 4);

	if (p == NULL)
		return 0;
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint64_t
ipc_get_u64(struct ipc_rd *r)
{
	uint64_t hi = ipc_get_u32(r);

	return (hi << 32) | ipc_get_u32(r);
}

int
ipc_get_bytes(struct ipc_rd *r, const unsigned char **p, size_t *n, size_t max)
{
	uint32_t len = ipc_get_u32(r);

	if (r->failed || len > max) {
		r->failed = 1;
		return -1;
	}
	*p = ipc_take(r, len);
	if (*p == NULL)
		return -1;
	*n = len;
	return 0;
}

int
ipc_get_str(struct ipc_rd *r, char *out, size_t outlen)
{
	const unsigned char *p;
	size_t n;

	if (outlen == 0 || ipc_get_bytes(r, &p, &n, outlen - 1) != 0)
		return -1;
	if (memchr(p, '\0', n) != NULL) {
		r->failed = 1;
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
ipc_rd_done(const struct ipc_rd *r)
{
	return (r->failed || r->left != 0) ? -1 : 0;
}
