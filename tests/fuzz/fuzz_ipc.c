/*
 * fuzz_ipc.c - fuzz target for the daemon <-> signer framing (ipc.c): the
 * signer holds the CA keys and treats every byte from the network-facing
 * daemon as hostile, so its message reader is a parser like any other.
 *
 * The input is the byte stream one end of the channel receives: it is
 * written into a socketpair and read back with ipc_recv, message after
 * message, exactly as the signer and the daemon do. Each payload, and the
 * raw input as one payload, then goes through the three readers the two
 * processes use (signer.c): ISSUE (u8 profile, u32 days, bytes serial of
 * at most X509_SERIAL_LEN, bytes csr of at most CSR_MAX_BYTES, nothing
 * after), VERIFY (bytes csr of at most CSR_MAX_BYTES, nothing after),
 * OK (u64, u64, bytes) and ERROR (str, u16, str).
 *
 * Besides memory errors and leaks, the target aborts when the framing
 * breaks its contract (ipc.h): a payload that is not the bytes that
 * followed its header, a field past its bound or outside the payload, or
 * an ISSUE or VERIFY payload the reader accepts but ipc_put_* would not write back
 * byte for byte (the format has one encoding per message).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "ca/csr.h"
#include "signer/ipc.h"
#include "ca/x509.h"

#define FUZZ_IPC_MAX_MESSAGES	64	/* per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the field f[0..n) lies inside p[0..len) and n <= max. */
static void
fuzz_ipc_inside(const unsigned char *p, size_t len, const unsigned char *f, size_t n,
		size_t max)
{
	if (n > max || f < p || n > len || (size_t)(f - p) > len - n)
		abort();
}

/* The signer's ISSUE reader (signer_op_issue), then the round trip. */
static void
fuzz_ipc_issue(const unsigned char *p, size_t len)
{
	const unsigned char *serial, *der;
	size_t serial_len, der_len;
	struct ipc_rd rd;
	struct buf b;
	uint8_t profile;
	uint32_t days;

	ipc_rd_init(&rd, p, len);
	profile = ipc_get_u8(&rd);
	days = ipc_get_u32(&rd);
	if (ipc_get_bytes(&rd, &serial, &serial_len, X509_SERIAL_LEN) != 0 ||
	    ipc_get_bytes(&rd, &der, &der_len, CSR_MAX_BYTES) != 0 ||
	    ipc_rd_done(&rd) != 0)
		return;
	fuzz_ipc_inside(p, len, serial, serial_len, X509_SERIAL_LEN);
	fuzz_ipc_inside(p, len, der, der_len, CSR_MAX_BYTES);

	buf_init(&b, IPC_MAX);
	if (ipc_put_u8(&b, profile) != 0 || ipc_put_u32(&b, days) != 0 ||
	    ipc_put_bytes(&b, serial, serial_len) != 0 || ipc_put_bytes(&b, der, der_len) != 0 ||
	    b.len != len || memcmp(b.data, p, len) != 0)
		abort();
	buf_free(&b);
}

/* The signer's VERIFY reader (signer_op_verify), then the round trip. */
static void
fuzz_ipc_verify(const unsigned char *p, size_t len)
{
	const unsigned char *der;
	size_t der_len;
	struct ipc_rd rd;
	struct buf b;

	ipc_rd_init(&rd, p, len);
	if (ipc_get_bytes(&rd, &der, &der_len, CSR_MAX_BYTES) != 0 || ipc_rd_done(&rd) != 0)
		return;
	fuzz_ipc_inside(p, len, der, der_len, CSR_MAX_BYTES);
	buf_init(&b, IPC_MAX);
	if (ipc_put_bytes(&b, der, der_len) != 0 || b.len != len || memcmp(b.data, p, len) != 0)
		abort();
	buf_free(&b);
}

/* The daemon's OK reader (the reply to ISSUE). */
static void
fuzz_ipc_ok(const unsigned char *p, size_t len)
{
	const unsigned char *der;
	size_t der_len;
	struct ipc_rd rd;

	ipc_rd_init(&rd, p, len);
	(void)ipc_get_u64(&rd);
	(void)ipc_get_u64(&rd);
	if (ipc_get_bytes(&rd, &der, &der_len, IPC_MAX) != 0 || ipc_rd_done(&rd) != 0)
		return;
	fuzz_ipc_inside(p, len, der, der_len, IPC_MAX);
}

/* The daemon's ERROR reader (signer_parse_error). */
static void
fuzz_ipc_error(const unsigned char *p, size_t len)
{
	char code[32], msg[256];
	struct ipc_rd rd;

	ipc_rd_init(&rd, p, len);
	if (ipc_get_str(&rd, code, sizeof(code)) != 0)
		return;
	if (strlen(code) >= sizeof(code))
		abort();
	(void)ipc_get_u16(&rd);
	if (ipc_get_str(&rd, msg, sizeof(msg)) != 0 || ipc_rd_done(&rd) != 0)
		return;
	if (strlen(msg) >= sizeof(msg))
		abort();
}

/* Every reader over one payload: a peer may send any payload any type. */
static void
fuzz_ipc_payload(const unsigned char *p, size_t len)
{
	fuzz_ipc_issue(p, len);
	fuzz_ipc_verify(p, len);
	fuzz_ipc_ok(p, len);
	fuzz_ipc_error(p, len);
}

/*
 * Writes as much of data as the socket takes without blocking, closes the
 * writing end, and reads messages back until ipc_recv refuses (EOF, a
 * short message, an oversized length). Each payload must be the bytes that
 * followed its header in the input.
 */
static void
fuzz_ipc_stream(const uint8_t *data, size_t size)
{
	uint16_t type, flags, t16, f16;
	size_t sent = 0, off = 0;
	uint32_t l32;
	struct buf b;
	ssize_t w;
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		abort();
	while (sent < size) {
		w = send(sv[1], data + sent, size - sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;	/* full: what was sent is the stream */
		sent += (size_t)w;
	}
	close(sv[1]);

	buf_init(&b, IPC_MAX);
	for (i = 0; i < FUZZ_IPC_MAX_MESSAGES; i++) {
		if (ipc_recv(sv[0], &type, &flags, &b) != 0)
			break;
		if (sent - off < IPC_HDR_LEN)
			abort();
		memcpy(&l32, data + off, 4);
		memcpy(&t16, data + off + 4, 2);
		memcpy(&f16, data + off + 6, 2);
		if (ntohl(l32) != b.len || ntohs(t16) != type || ntohs(f16) != flags ||
		    b.len > IPC_MAX || sent - off - IPC_HDR_LEN < b.len ||
		    (b.len > 0 && memcmp(b.data, data + off + IPC_HDR_LEN, b.len) != 0))
			abort();
		fuzz_ipc_payload(b.data, b.len);
		off += IPC_HDR_LEN + b.len;
	}
	buf_free(&b);
	close(sv[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ipc_payload(data, size);
	fuzz_ipc_stream(data, size);
	return 0;
}
