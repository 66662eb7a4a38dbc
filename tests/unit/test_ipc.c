/*
 * test_ipc.c - framing: round trips, and every way a peer can lie.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signer/ipc.h"

static int sv[2];

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
teardown(void)
{
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

/* Writes a raw header claiming len bytes of type. */
static void
raw_header(int fd, uint32_t len, uint16_t type)
{
	unsigned char h[8];
	uint32_t l = htonl(len);
	uint16_t t = htons(type), f = 0;

	memcpy(h, &l, 4);
	memcpy(h + 4, &t, 2);
	memcpy(h + 6, &f, 2);
	ck_assert_int_eq(write(fd, h, sizeof(h)), 8);
}

START_TEST(test_round_trip)
{
	struct buf out, in;
	struct ipc_rd rd;
	const unsigned char *p;
	uint16_t type, flags;
	size_t n;
	char s[16];

	buf_init(&out, IPC_MAX);
	buf_init(&in, IPC_MAX);
	ck_assert_int_eq(ipc_put_u8(&out, 7) | ipc_put_u16(&out, 513) | ipc_put_u32(&out, 70000) |
			 ipc_put_u64(&out, 1ULL << 40) | ipc_put_bytes(&out, "abc", 3) |
			 ipc_put_str(&out, "dev-1"), 0);
	ck_assert_int_eq(ipc_send(sv[0], 42, 0, out.data, out.len), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &type, &flags, &in), 0);
	ck_assert_uint_eq(type, 42);
	ck_assert_uint_eq(flags, 0);
	ipc_rd_init(&rd, in.data, in.len);
	ck_assert_uint_eq(ipc_get_u8(&rd), 7);
	ck_assert_uint_eq(ipc_get_u16(&rd), 513);
	ck_assert_uint_eq(ipc_get_u32(&rd), 70000);
	ck_assert(ipc_get_u64(&rd) == (1ULL << 40));
	ck_assert_int_eq(ipc_get_bytes(&rd, &p, &n, 16), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(memcmp(p, "abc", 3), 0);
	ck_assert_int_eq(ipc_get_str(&rd, s, sizeof(s)), 0);
	ck_assert_str_eq(s, "dev-1");
	ck_assert_int_eq(ipc_rd_done(&rd), 0);
	/* Reading past the end fails, and the cursor stays failed. */
	ck_assert_uint_eq(ipc_get_u8(&rd), 0);
	ck_assert_int_eq(ipc_rd_done(&rd), -1);
	buf_free(&out);
	buf_free(&in);
}
END_TEST

START_TEST(test_oversized_send_refused)
{
	static unsigned char big[IPC_MAX + 1];

	ck_assert_int_eq(ipc_send(sv[0], 1, 0, big, sizeof(big)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(ipc_send(sv[0], 1, 0, big, IPC_MAX), 0);
}
END_TEST

START_TEST(test_oversized_header_refused_before_alloc)
{
	struct buf in;
	uint16_t type, flags;

	buf_init(&in, IPC_MAX);
	raw_header(sv[0], 0xfffffff0u, 2);
	ck_assert_int_eq(ipc_recv(sv[1], &type, &flags, &in), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_ptr_null(in.data);	/* nothing was allocated for it */
	buf_free(&in);
}
END_TEST

START_TEST(test_truncated_body)
{
	struct buf in;
	uint16_t type, flags;

	buf_init(&in, IPC_MAX);
	raw_header(sv[0], 100, 2);
	ck_assert_int_eq(write(sv[0], "short", 5), 5);
	close(sv[0]);
	sv[0] = socket(AF_UNIX, SOCK_STREAM, 0);	/* keep teardown simple */
	ck_assert_int_eq(ipc_recv(sv[1], &type, &flags, &in), -1);
	ck_assert_int_eq(errno, EPROTO);
	buf_free(&in);
}
END_TEST

START_TEST(test_truncated_header_and_eof)
{
	struct buf in;
	uint16_t type, flags;

	buf_init(&in, IPC_MAX);
	ck_assert_int_eq(write(sv[0], "\0\0", 2), 2);
	shutdown(sv[0], SHUT_WR);
	ck_assert_int_eq(ipc_recv(sv[1], &type, &flags, &in), -1);
	ck_assert_int_eq(errno, EPROTO);
	/* A clean EOF between messages is EPIPE. */
	ck_assert_int_eq(ipc_recv(sv[1], &type, &flags, &in), -1);
	ck_assert_int_eq(errno, EPIPE);
	buf_free(&in);
}
END_TEST

START_TEST(test_field_bounds)
{
	unsigned char lying[8] = { 0, 0, 1, 0, 'a', 'b', 'c', 'd' };	/* claims 256 bytes */
	unsigned char nul[7] = { 0, 0, 0, 3, 'a', 0, 'b' };
	const unsigned char *p;
	struct ipc_rd rd;
	size_t n;
	char s[8];

	ipc_rd_init(&rd, lying, sizeof(lying));
	ck_assert_int_eq(ipc_get_bytes(&rd, &p, &n, 1024), -1);
	ipc_rd_init(&rd, lying, sizeof(lying));
	ck_assert_int_eq(ipc_get_bytes(&rd, &p, &n, 16), -1);	/* over the caller's max */
	ipc_rd_init(&rd, nul, sizeof(nul));
	ck_assert_int_eq(ipc_get_str(&rd, s, sizeof(s)), -1);	/* embedded NUL */
	ipc_rd_init(&rd, nul, sizeof(nul));
	ck_assert_int_eq(ipc_get_str(&rd, s, 3), -1);		/* does not fit */
}
END_TEST

static Suite *
ipc_suite(void)
{
	Suite *s = suite_create("ipc");
	TCase *tc = tcase_create("framing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_oversized_send_refused);
	tcase_add_test(tc, test_oversized_header_refused_before_alloc);
	tcase_add_test(tc, test_truncated_body);
	tcase_add_test(tc, test_truncated_header_and_eof);
	tcase_add_test(tc, test_field_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ipc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
