/*
 * test_signer.c - the signer process, driven through its client handle
 * and directly over its channel: it answers what it should, refuses what
 * breaks an invariant, and ends itself on anything that breaks framing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "ca/crl.h"
#include "ca/csr.h"
#include "common/buf.h"
#include "ca/auditseal.h"
#include "signer/ipc.h"
#include "signer/proto.h"
#include "signer/files.h"
#include "signer/signer.h"
#include "ca/x509.h"
#include "fixture.h"

static const unsigned char serial[X509_SERIAL_LEN] = { 0x22, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };
static struct signer *sg;

static void
setup(void)
{
	struct signer_config c;
	struct lerr e;

	fx_make_ca();
	memset(&c, 0, sizeof(c));
	c.dir = fx_dir;
	c.threads = 2;
	if (signer_start(&c, &sg, &e) != 0)
		ck_abort_msg("signer_start: %s", e.msg);
}

static void
teardown(void)
{
	signer_stop(sg);
	fx_remove_ca();
}

/* Waits up to 5 s for the signer to exit; returns its exit status or -1. */
static int
signer_exit_status(void)
{
	int st, i;
	pid_t pid = signer_pid(sg);

	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	return -1;
}

/* Sends one ISSUE for fixture name via the handle; the error code or NULL. */
static const char *
issue(const char *name, enum policy_profile prof, unsigned days, gnutls_x509_crt_t *crt)
{
	struct sign_req r = { prof, days, serial };
	struct sign_out out;
	struct csr *c = NULL;
	struct lerr e;
	unsigned char *p;
	const char *code = NULL;
	size_t n;

	p = fx_csr(name, &n);
	/* The remote signer parses the bytes itself; a request our side
	 * would refuse (RSA-1024) still goes over to show the signer refuses
	 * it too. */
	(void)csr_parse(p, n, &c, &e);
	if (signer_issue(sg, p, n, c, &r, &out, &e) != 0)
		code = lerr_str(e.code);
	else if (crt != NULL)
		ck_assert_int_eq(x509_import(out.der.data, out.der.size, crt, &e), 0);
	sign_out_free(&out);
	csr_free(c);
	free(p);
	return code;
}

START_TEST(test_issue_over_channel)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned char got[32];
	size_t len = sizeof(got);
	unsigned ca = 9;

	ck_assert_ptr_null(issue("p256.pem", POLICY_DEVICE, 0, &crt));
	ck_assert_int_eq(gnutls_x509_crt_get_serial(crt, got, &len), 0);
	ck_assert_uint_eq(len, X509_SERIAL_LEN);
	ck_assert_int_eq(memcmp(got, serial, len), 0);
	gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL);
	ck_assert_uint_eq(ca, 0);
	gnutls_x509_crt_deinit(crt);
}
END_TEST

/* The answer says which key and names the certificate carries, exactly
 * as the certificate does: the daemon records them without parsing it. */
START_TEST(test_issue_says_key_and_names)
{
	struct sign_req r = { POLICY_DEVICE, 0, serial };
	gnutls_x509_crt_t crt = NULL;
	unsigned char kid[32];
	struct sign_out out;
	struct names sans;
	struct csr *c = NULL;
	struct buf b;
	struct lerr e;
	unsigned char *p;
	size_t n;

	p = fx_csr("p256.pem", &n);
	ck_assert_int_eq(csr_parse(p, n, &c, &e), 0);
	ck_assert_msg(signer_issue(sg, p, n, c, &r, &out, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(memcmp(out.key_id, c->key_id, sizeof(kid)), 0);
	ck_assert_int_eq(x509_import(out.der.data, out.der.size, &crt, &e), 0);
	ck_assert_int_eq(x509_key_id(crt, kid), 0);
	ck_assert_int_eq(memcmp(out.key_id, kid, sizeof(kid)), 0);
	names_init(&sans);
	buf_init(&b, 16 * 1024);
	ck_assert_int_eq(x509_sans(crt, &sans), 0);
	ck_assert_int_eq(names_format(&sans, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	ck_assert_ptr_nonnull(out.names);
	ck_assert_str_eq(out.names, (const char *)b.data);
	ck_assert_ptr_nonnull(strstr(out.names, "DNS:"));
	buf_free(&b);
	names_free(&sans);
	gnutls_x509_crt_deinit(crt);
	sign_out_free(&out);
	csr_free(c);
	free(p);
}
END_TEST

/* Requests that break an invariant are refused with the reason, and the
 * signer goes on serving. */
START_TEST(test_invariants_refused)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned ca = 9;

	ck_assert_str_eq(issue("public-san.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(issue("public-ip.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(issue("localhost.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_FORBIDDEN_NAME));
	ck_assert_str_eq(issue("p256.pem", POLICY_DEVICE, 5000, NULL), lerr_str(LERR_BAD_VALIDITY));
	ck_assert_str_eq(issue("rsa1024.pem", POLICY_DEVICE, 0, NULL), lerr_str(LERR_WEAK_KEY));
	/* A request for CA:TRUE still gets a CA:FALSE certificate. */
	ck_assert_ptr_null(issue("ca-true.pem", POLICY_DEVICE, 0, &crt));
	gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL);
	ck_assert_uint_eq(ca, 0);
	gnutls_x509_crt_deinit(crt);
	ck_assert_int_eq(signer_exit_status() == -1, 1);	/* still running */
}
END_TEST

/* The signer re-parses: a bad signature sent raw (bypassing the client's
 * parse) is refused by the signer itself. */
START_TEST(test_signer_reparses)
{
	struct buf b, in;
	uint16_t type, flags;
	unsigned char *p;
	size_t n;
	int fd = signer_channel_fd(sg, 0);

	buf_init(&b, IPC_MAX);
	buf_init(&in, IPC_MAX);
	p = fx_csr("badsig.der", &n);
	ck_assert_int_eq(ipc_put_u8(&b, POLICY_DEVICE) | ipc_put_u32(&b, 0) |
			 ipc_put_bytes(&b, serial, sizeof(serial)) | ipc_put_bytes(&b, p, n), 0);
	ck_assert_int_eq(ipc_send(fd, SIGNER_MSG_ISSUE, 0, b.data, b.len), 0);
	ck_assert_int_eq(ipc_recv(fd, &type, &flags, &in), 0);
	ck_assert_uint_eq(type, SIGNER_MSG_ERROR);
	ck_assert_ptr_nonnull(strstr((char *)in.data + 4, lerr_str(LERR_BAD_SIGNATURE)));
	free(p);
	buf_free(&b);
	buf_free(&in);
}
END_TEST

/* Sends one raw ISSUE for bytes p over channel fd; the answer's type,
 * with its payload in in. */
static uint16_t
raw_issue(int fd, const unsigned char *p, size_t n, struct buf *in)
{
	struct buf b;
	uint16_t type, flags;

	buf_init(&b, IPC_MAX);
	ck_assert_int_eq(ipc_put_u8(&b, POLICY_DEVICE) | ipc_put_u32(&b, 0) |
			 ipc_put_bytes(&b, serial, sizeof(serial)) | ipc_put_bytes(&b, p, n), 0);
	ck_assert_int_eq(ipc_send(fd, SIGNER_MSG_ISSUE, 0, b.data, b.len), 0);
	ck_assert_int_eq(ipc_recv(fd, &type, &flags, in), 0);
	ck_assert_uint_eq(flags, 0);
	buf_free(&b);
	return type;
}

/* VERIFY: the signer checks a request's proof of possession itself and
 * answers a forged one with the reason a device gets today; it goes on
 * serving either way. */
START_TEST(test_verify_over_channel)
{
	unsigned char *p;
	struct lerr e;
	size_t n;

	p = fx_csr("p256.der", &n);
	ck_assert_int_eq(signer_verify(sg, p, n, &e), 0);
	ck_assert_int_eq(signer_verify(sg, p, n, &e), 0);
	free(p);
	p = fx_csr("badsig.der", &n);
	ck_assert_int_eq(signer_verify(sg, p, n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_int_eq(e.http, 400);
	ck_assert_ptr_nonnull(strstr(e.msg, "self-signature does not verify"));
	free(p);
	p = fx_csr("garbage.bin", &n);
	ck_assert_int_eq(signer_verify(sg, p, n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_CSR);
	free(p);
	ck_assert_ptr_null(issue("p256.pem", POLICY_DEVICE, 0, NULL));
	ck_assert_int_eq(signer_exit_status() == -1, 1);	/* still running */
}
END_TEST

/* A daemon cannot skip the verification by lying: after the signer
 * verified a request, an ISSUE of other bytes (the same request with its
 * signature changed) is verified, and refused. */
START_TEST(test_issue_of_unverified_bytes_verified)
{
	unsigned char *p, *forged;
	struct buf in;
	struct lerr e;
	size_t n;
	int fd = signer_channel_fd(sg, 0);

	buf_init(&in, IPC_MAX);
	p = fx_csr("p256.der", &n);
	ck_assert_int_eq(signer_verify(sg, p, n, &e), 0);
	forged = malloc(n);
	ck_assert_ptr_nonnull(forged);
	memcpy(forged, p, n);
	forged[n - 1] ^= 0x01;
	ck_assert_uint_eq(raw_issue(fd, forged, n, &in), SIGNER_MSG_ERROR);
	ck_assert_ptr_nonnull(strstr((char *)in.data + 4, lerr_str(LERR_BAD_SIGNATURE)));
	/* Nor does a refused VERIFY make the bytes good. */
	ck_assert_int_eq(signer_verify(sg, forged, n, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SIGNATURE);
	ck_assert_uint_eq(raw_issue(fd, forged, n, &in), SIGNER_MSG_ERROR);
	/* The verified bytes themselves are issued. */
	ck_assert_uint_eq(raw_issue(fd, p, n, &in), SIGNER_MSG_OK);
	free(forged);
	free(p);
	buf_free(&in);
}
END_TEST

/* A VERIFY with anything after the request is a protocol violation. */
START_TEST(test_malformed_verify_ends_signer)
{
	struct buf b;
	unsigned char *p;
	size_t n;

	buf_init(&b, IPC_MAX);
	p = fx_csr("p256.der", &n);
	ck_assert_int_eq(ipc_put_bytes(&b, p, n) | ipc_put_u8(&b, 0), 0);
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), SIGNER_MSG_VERIFY, 0, b.data, b.len), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	free(p);
	buf_free(&b);
}
END_TEST

START_TEST(test_unknown_operation_ends_signer)
{
	struct lerr e;
	struct sign_out out;
	struct sign_req r = { POLICY_DEVICE, 0, serial };

	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), 99, 0, "x", 1), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	/* The handle now reports the signer as gone. */
	ck_assert_int_eq(signer_issue(sg, (const unsigned char *)"x", 1, NULL, &r, &out, &e), -1);
	ck_assert_int_eq(e.code, LERR_SIGNER);
}
END_TEST

START_TEST(test_flags_end_signer)
{
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 1), SIGNER_MSG_ISSUE, 1, "x", 1), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
}
END_TEST

START_TEST(test_truncated_frame_ends_signer)
{
	unsigned char h[8] = { 0, 0, 0, 100, 0, SIGNER_MSG_ISSUE, 0, 0 };
	int fd = signer_channel_fd(sg, 0);

	ck_assert_int_eq(write(fd, h, sizeof(h)), 8);
	ck_assert_int_eq(write(fd, "short", 5), 5);
	shutdown(fd, SHUT_WR);
	ck_assert_int_eq(signer_exit_status(), 3);
}
END_TEST

START_TEST(test_oversized_frame_ends_signer)
{
	unsigned char h[8] = { 0x7f, 0xff, 0xff, 0xff, 0, SIGNER_MSG_ISSUE, 0, 0 };

	ck_assert_int_eq(write(signer_channel_fd(sg, 0), h, sizeof(h)), 8);
	ck_assert_int_eq(signer_exit_status(), 3);
}
END_TEST

/* A well-framed ISSUE whose fields are wrong is a protocol violation. */
START_TEST(test_malformed_issue_ends_signer)
{
	struct buf b;

	buf_init(&b, IPC_MAX);
	/* profile 7 does not exist */
	ck_assert_int_eq(ipc_put_u8(&b, 7) | ipc_put_u32(&b, 0) |
			 ipc_put_bytes(&b, serial, sizeof(serial)) | ipc_put_bytes(&b, "x", 1), 0);
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), SIGNER_MSG_ISSUE, 0, b.data, b.len), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	buf_free(&b);
}
END_TEST

START_TEST(test_short_serial_ends_signer)
{
	struct buf b;

	buf_init(&b, IPC_MAX);
	ck_assert_int_eq(ipc_put_u8(&b, POLICY_DEVICE) | ipc_put_u32(&b, 0) |
			 ipc_put_bytes(&b, serial, 8) | ipc_put_bytes(&b, "x", 1), 0);
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), SIGNER_MSG_ISSUE, 0, b.data, b.len), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	buf_free(&b);
}
END_TEST

START_TEST(test_trailing_bytes_end_signer)
{
	struct buf b;
	unsigned char *p;
	size_t n;

	buf_init(&b, IPC_MAX);
	p = fx_csr("p256.der", &n);
	ck_assert_int_eq(ipc_put_u8(&b, POLICY_DEVICE) | ipc_put_u32(&b, 0) |
			 ipc_put_bytes(&b, serial, sizeof(serial)) | ipc_put_bytes(&b, p, n) |
			 ipc_put_u8(&b, 0), 0);
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), SIGNER_MSG_ISSUE, 0, b.data, b.len), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	free(p);
	buf_free(&b);
}
END_TEST

/* The issuing CA's certificate, as the signer loaded it. */
static gnutls_x509_crt_t
issuing_ca(void)
{
	char path[STATE_PATH_MAX + 32];
	unsigned char *p = NULL;
	gnutls_x509_crt_t crt;
	struct lerr e;
	size_t n;

	if (snprintf(path, sizeof(path), "%s/%s", fx_dir, SIGNER_ISSUING_PEM) >= (int)sizeof(path))
		ck_abort_msg("path too long");
	if (fileio_read(path, 1 << 20, 0, &p, &n, &e) != 0 || x509_import(p, n, &crt, &e) != 0)
		ck_abort_msg("%s", e.msg);
	free(p);
	return crt;
}

/* n entries with 20-byte serials and every reason lanca uses, revoked
 * before t. */
static void
crl_entries(struct crl_entry *ent, size_t n, time_t t)
{
	static const enum crl_reason rs[] = {
		CRL_REASON_KEY_COMPROMISE, CRL_REASON_SUPERSEDED, CRL_REASON_UNSPECIFIED,
		CRL_REASON_PRIVILEGE_WITHDRAWN,
	};
	size_t i;

	memset(ent, 0, n * sizeof(*ent));
	for (i = 0; i < n; i++) {
		memset(ent[i].serial, 0x7f, 20);
		ent[i].serial[17] = (unsigned char)(i >> 16);
		ent[i].serial[18] = (unsigned char)(i >> 8);
		ent[i].serial[19] = (unsigned char)i;
		ent[i].serial_len = 20;
		ent[i].revoked_at = t - 1000 + (time_t)(i % 1000);
		ent[i].reason = rs[i % 4];
	}
}

/* The CRL DER verifies under the issuing CA and lists n certificates. */
static void
crl_holds(const gnutls_datum_t *der, gnutls_x509_crt_t ca, int n)
{
	gnutls_x509_crl_t crl;
	unsigned status = 1;

	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_int_eq(gnutls_x509_crl_import(crl, der, GNUTLS_X509_FMT_DER), 0);
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ca, 1, 0, &status), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), n);
	gnutls_x509_crl_deinit(crl);
}

/* A CRL over the channel, and the same from a local handle. */
START_TEST(test_crl_over_channel_and_local)
{
	struct crl_entry ent[5];
	time_t now = time(NULL);
	struct crl_params p = { 12, now, now + 7 * 86400, ent, 5 };
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t ca = issuing_ca();
	struct signer *local = NULL;
	struct lerr e;

	crl_entries(ent, 5, now);
	ck_assert_msg(signer_crl(sg, 0, &p, &der, &e) == 0, "%s", e.msg);
	crl_holds(&der, ca, 5);
	gnutls_free(der.data);
	ck_assert_msg(signer_open_local(fx_dir, NULL, &local, &e) == 0, "%s", e.msg);
	ck_assert_msg(signer_crl(local, 0, &p, &der, &e) == 0, "%s", e.msg);
	crl_holds(&der, ca, 5);
	gnutls_free(der.data);
	signer_stop(local);
	gnutls_x509_crt_deinit(ca);
}
END_TEST

/* The most entries a CRL may have, with the longest serials, times past
 * 2049 (GeneralizedTime, the longer form) and reasons: they go to the
 * signer in many messages and the CRL, far larger than one message,
 * comes back in many; the bytes that arrive are the CRL asked for, signed
 * by the issuing CA (crl_check reads every entry back). One more is
 * refused, and the signer lives on. */
START_TEST(test_crl_largest_fits)
{
	static struct crl_entry ent[CRL_ENTRIES_MAX + 1];
	time_t t = 2600000000;	/* 2052 */
	struct crl_params p = { 0x7fffffffffffffffULL, t, t + 86400, ent, CRL_ENTRIES_MAX };
	gnutls_datum_t der = { NULL, 0 };
	gnutls_x509_crt_t ca = issuing_ca();
	struct lerr e;

	crl_entries(ent, CRL_ENTRIES_MAX + 1, t);
	ck_assert_msg(signer_crl(sg, 0, &p, &der, &e) == 0, "%s", e.msg);
	ck_assert_uint_gt(der.size, 50 * IPC_MAX);
	ck_assert_uint_le(der.size, CRL_DER_MAX);
	ck_assert_msg(crl_check(&der, &p, ca, &e) == 0, "%s", e.msg);
	gnutls_free(der.data);
	p.n = CRL_ENTRIES_MAX + 1;
	ck_assert_int_eq(signer_crl(sg, 0, &p, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	/* Just past one message's entries: a CRL and one CRL_MORE (dated
	 * now, for GnuTLS's reader judges the dates by the clock). */
	p.this_update = time(NULL);
	p.next_update = p.this_update + 86400;
	crl_entries(ent, SIGNER_CRL_ENTRIES_PER_MSG + 1, p.this_update);
	p.n = SIGNER_CRL_ENTRIES_PER_MSG + 1;
	ck_assert_msg(signer_crl(sg, 0, &p, &der, &e) == 0, "%s", e.msg);
	crl_holds(&der, ca, SIGNER_CRL_ENTRIES_PER_MSG + 1);
	gnutls_free(der.data);
	p.n = 0;
	ck_assert_msg(signer_crl(sg, 0, &p, &der, &e) == 0, "%s", e.msg);
	crl_holds(&der, ca, 0);
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(ca);
}
END_TEST

/* Parameters the builder refuses are an answer, not the end. */
START_TEST(test_crl_refusal_answered)
{
	struct crl_entry ent[1];
	time_t now = time(NULL);
	struct crl_params p = { 0, now, now + 60, ent, 1 };
	gnutls_datum_t der = { NULL, 0 };
	struct lerr e;

	crl_entries(ent, 1, now);
	ck_assert_int_eq(signer_crl(sg, 0, &p, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	p.number = 1;
	ent[0].reason = (enum crl_reason)77;
	ck_assert_int_eq(signer_crl(sg, 0, &p, &der, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ent[0].reason = CRL_REASON_SUPERSEDED;
	ck_assert_msg(signer_crl(sg, 0, &p, &der, &e) == 0, "%s", e.msg);
	gnutls_free(der.data);
}
END_TEST

/* A CRL message that says more entries than it carries, or more than
 * CRL_ENTRIES_MAX, or whose entries do not follow as CRL_MORE, or a
 * CRL_MORE with more entries than are left, ends the signer. */
static void
crl_message_ends_signer(unsigned chan, uint32_t total, uint32_t count, unsigned carried,
			uint16_t then, uint32_t then_count, unsigned then_carried)
{
	struct buf b;
	unsigned i;
	int fd = signer_channel_fd(sg, chan);

	buf_init(&b, IPC_MAX);
	ck_assert_int_eq(ipc_put_u64(&b, 1) | ipc_put_u64(&b, 1000) | ipc_put_u64(&b, 2000) |
			 ipc_put_u32(&b, total) | ipc_put_u32(&b, count), 0);
	for (i = 0; i < carried; i++)
		ck_assert_int_eq(ipc_put_bytes(&b, serial, sizeof(serial)) | ipc_put_u64(&b, 900) |
				 ipc_put_u8(&b, 1), 0);
	ck_assert_int_eq(ipc_send(fd, SIGNER_MSG_CRL, 0, b.data, b.len), 0);
	if (then != 0) {
		b.len = 0;
		ck_assert_int_eq(ipc_put_u32(&b, then_count), 0);
		for (i = 0; i < then_carried; i++)
			ck_assert_int_eq(ipc_put_bytes(&b, serial, sizeof(serial)) |
					 ipc_put_u64(&b, 900) | ipc_put_u8(&b, 1), 0);
		ck_assert_int_eq(ipc_send(fd, then, 0, b.data, b.len), 0);
	}
	ck_assert_int_eq(signer_exit_status(), 3);
	buf_free(&b);
}

START_TEST(test_malformed_crl_ends_signer)
{
	crl_message_ends_signer(0, 5, 5, 1, 0, 0, 0);	/* says 5, carries 1 */
}
END_TEST

START_TEST(test_crl_count_over_bound_ends_signer)
{
	crl_message_ends_signer(1, CRL_ENTRIES_MAX + 1, 1, 1, 0, 0, 0);
}
END_TEST

START_TEST(test_crl_more_in_step_or_signer_ends)
{
	/* The rest of the entries in a message that is not a CRL_MORE. */
	crl_message_ends_signer(0, 2, 1, 1, SIGNER_MSG_VERIFY, 1, 1);
}
END_TEST

START_TEST(test_crl_more_past_total_ends_signer)
{
	/* A CRL_MORE with two entries where one is left. */
	crl_message_ends_signer(0, 2, 1, 1, SIGNER_MSG_CRL_MORE, 2, 2);
}
END_TEST

START_TEST(test_clean_stop)
{
	int st = signer_stop(sg);

	sg = NULL;
	ck_assert_int_eq(st, 0);
}
END_TEST

START_TEST(test_missing_key_reported)
{
	struct signer_config c;
	struct signer *other = NULL;
	char pass[STATE_PATH_MAX];
	struct lerr e;

	ck_assert_int_eq(state_path(pass, fx_tmp, "pass"), 0);
	ck_assert_int_eq(fileio_write_atomic(pass, "nope\n", 5, 0600, 0, &e), 0);
	memset(&c, 0, sizeof(c));
	c.dir = fx_dir;
	c.pass_file = pass;
	/* A start-up failure in the signer reaches the caller as a reason. */
	ck_assert_int_eq(state_path(pass, fx_dir, SIGNER_ISSUING_KEY), 0);
	ck_assert_int_eq(unlink(pass), 0);
	ck_assert_int_eq(signer_start(&c, &other, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "issuing.key"));
}
END_TEST

/* A chain in keys/ that does not verify stops the signer at start, and
 * the reason reaches the caller (serve prints it and does not start). */
START_TEST(test_bad_chain_reported)
{
	struct signer_config c;
	struct signer *other = NULL;
	char path[STATE_PATH_MAX];
	const char junk[] = "crl_url = http://a.local/crl\nextra = 1\n";
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_ROOT_PEM), 0);
	ck_assert_int_eq(unlink(path), 0);
	/* The issuing certificate where the root belongs: not self-signed. */
	{
		char from[STATE_PATH_MAX];
		unsigned char *p = NULL;
		size_t n = 0;

		ck_assert_int_eq(state_path(from, fx_dir, SIGNER_ISSUING_PEM), 0);
		ck_assert_int_eq(fileio_read(from, 1 << 16, 0, &p, &n, &e), 0);
		ck_assert_int_eq(fileio_write_atomic(path, p, n, 0644, 0, &e), 0);
		free(p);
	}
	memset(&c, 0, sizeof(c));
	c.dir = fx_dir;
	c.threads = 1;
	ck_assert_int_eq(signer_start(&c, &other, &e), -1);
	ck_assert_int_eq(e.code, LERR_INVARIANT);
	ck_assert_msg(strstr(e.msg, "do not form a valid CA chain") != NULL, "%s", e.msg);
	/* And a settings file with an unknown key. */
	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_CONF), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(fileio_write_atomic(path, junk, sizeof(junk) - 1, 0600, 0, &e), 0);
	ck_assert_int_eq(signer_start(&c, &other, &e), -1);
	ck_assert_msg(strstr(e.msg, "unknown setting \"extra\"") != NULL, "%s", e.msg);
}
END_TEST

/* ---- audit checkpoints ---- */

/* keys/audit.pub of the fixture's CA. */
static void
audit_pub(unsigned char pk[AUDITSEAL_PK_LEN])
{
	char path[STATE_PATH_MAX];
	unsigned char *p = NULL;
	size_t n = 0;
	struct lerr e;

	ck_assert_int_eq(state_path(path, fx_dir, SIGNER_AUDIT_PUB), 0);
	ck_assert_int_eq(fileio_read(path, 1024, 0, &p, &n, &e), 0);
	ck_assert_msg(auditseal_pk_parse(path, (const char *)p, n, pk, &e) == 0, "%s", e.msg);
	free(p);
}

/* The signer signs a checkpoint over its channel with the key whose
 * public half init wrote to keys/audit.pub; the signature says exactly
 * that row, head and time, and nothing else. A local signer signs alike. */
START_TEST(test_checkpoint_over_channel)
{
	unsigned char head[32], sig[64], pk[AUDITSEAL_PK_LEN];
	struct signer *local = NULL;
	struct lerr e;

	memset(head, 0xab, sizeof(head));
	audit_pub(pk);
	ck_assert_msg(signer_checkpoint(sg, 42, head, 1700000000, sig, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(auditseal_verify(pk, 42, head, 1700000000, sig), 0);
	ck_assert_int_ne(auditseal_verify(pk, 41, head, 1700000000, sig), 0);
	ck_assert_int_ne(auditseal_verify(pk, 42, head, 1700000001, sig), 0);
	head[31] ^= 1;
	ck_assert_int_ne(auditseal_verify(pk, 42, head, 1700000000, sig), 0);
	head[31] ^= 1;
	/* No row, no time: refused, and the signer keeps serving. */
	ck_assert_int_eq(signer_checkpoint(sg, 0, head, 1700000000, sig, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_msg(signer_checkpoint(sg, 43, head, 1700000000, sig, &e) == 0, "%s", e.msg);

	ck_assert_msg(signer_open_local(fx_dir, NULL, &local, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(signer_checkpoint(local, 7, head, 5, sig, &e), 0);
	ck_assert_int_eq(auditseal_verify(pk, 7, head, 5, sig), 0);
	signer_stop(local);
}
END_TEST

/* A CHECKPOINT with a short head is a protocol violation. */
START_TEST(test_malformed_checkpoint_ends_signer)
{
	struct buf b;

	buf_init(&b, IPC_MAX);
	ck_assert_int_eq(ipc_put_u64(&b, 1) | ipc_put_bytes(&b, "short", 5) | ipc_put_u64(&b, 1), 0);
	ck_assert_int_eq(ipc_send(signer_channel_fd(sg, 0), SIGNER_MSG_CHECKPOINT, 0, b.data,
				  b.len), 0);
	ck_assert_int_eq(signer_exit_status(), 3);
	buf_free(&b);
}
END_TEST

/* A state directory made before the audit key: the signer's first start
 * makes keys/audit.key (0600) and audit.pub, and signs with it; a lost
 * audit.pub is written again from the key, unchanged. */
START_TEST(test_audit_key_made_for_older_state)
{
	unsigned char head[32], sig[64], pk[AUDITSEAL_PK_LEN], pk2[AUDITSEAL_PK_LEN];
	char key[STATE_PATH_MAX], pub[STATE_PATH_MAX];
	struct signer_config c;
	struct signer *other = NULL;
	struct stat st;
	struct lerr e;

	signer_stop(sg);
	sg = NULL;
	ck_assert_int_eq(state_path(key, fx_dir, SIGNER_AUDIT_KEY), 0);
	ck_assert_int_eq(state_path(pub, fx_dir, SIGNER_AUDIT_PUB), 0);
	ck_assert_int_eq(unlink(key), 0);
	ck_assert_int_eq(unlink(pub), 0);
	memset(&c, 0, sizeof(c));
	c.dir = fx_dir;
	c.threads = 1;
	ck_assert_msg(signer_start(&c, &other, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	audit_pub(pk);
	memset(head, 1, sizeof(head));
	ck_assert_int_eq(signer_checkpoint(other, 1, head, 9, sig, &e), 0);
	ck_assert_int_eq(auditseal_verify(pk, 1, head, 9, sig), 0);
	signer_stop(other);

	ck_assert_int_eq(unlink(pub), 0);
	ck_assert_msg(signer_start(&c, &other, &e) == 0, "%s", e.msg);
	audit_pub(pk2);
	ck_assert_int_eq(memcmp(pk, pk2, sizeof(pk)), 0);
	signer_stop(other);
}
END_TEST

static Suite *
signer_suite(void)
{
	Suite *s = suite_create("signer");
	TCase *tc = tcase_create("channel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_issue_over_channel);
	tcase_add_test(tc, test_issue_says_key_and_names);
	tcase_add_test(tc, test_invariants_refused);
	tcase_add_test(tc, test_signer_reparses);
	tcase_add_test(tc, test_verify_over_channel);
	tcase_add_test(tc, test_issue_of_unverified_bytes_verified);
	tcase_add_test(tc, test_malformed_verify_ends_signer);
	tcase_add_test(tc, test_unknown_operation_ends_signer);
	tcase_add_test(tc, test_flags_end_signer);
	tcase_add_test(tc, test_truncated_frame_ends_signer);
	tcase_add_test(tc, test_oversized_frame_ends_signer);
	tcase_add_test(tc, test_malformed_issue_ends_signer);
	tcase_add_test(tc, test_short_serial_ends_signer);
	tcase_add_test(tc, test_trailing_bytes_end_signer);
	tcase_add_test(tc, test_crl_over_channel_and_local);
	tcase_add_test(tc, test_crl_largest_fits);
	tcase_add_test(tc, test_crl_refusal_answered);
	tcase_add_test(tc, test_malformed_crl_ends_signer);
	tcase_add_test(tc, test_crl_count_over_bound_ends_signer);
	tcase_add_test(tc, test_crl_more_in_step_or_signer_ends);
	tcase_add_test(tc, test_crl_more_past_total_ends_signer);
	tcase_add_test(tc, test_clean_stop);
	tcase_add_test(tc, test_missing_key_reported);
	tcase_add_test(tc, test_bad_chain_reported);
	tcase_add_test(tc, test_checkpoint_over_channel);
	tcase_add_test(tc, test_malformed_checkpoint_ends_signer);
	tcase_add_test(tc, test_audit_key_made_for_older_state);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0 || gnutls_global_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(signer_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
