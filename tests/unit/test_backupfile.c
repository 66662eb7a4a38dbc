/*
 * test_backupfile.c - the backup format (ca/backupfile.h): records come
 * back as written, sealed or plain; a wrong or missing passphrase, a newer
 * format, a file cut at any byte, any byte changed, and anything after
 * the end are refused with their reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "ca/backupfile.h"

/* Argon2id at its cheapest: these tests derive keys hundreds of times. */
static const struct bkf_kdf cheap = { 1, 8 };

struct mem {
	const unsigned char *p;
	size_t len, off;
};

static ssize_t
mem_read(void *ctx, void *buf, size_t n)
{
	struct mem *m = ctx;

	if (n > m->len - m->off)
		n = m->len - m->off;
	/* A short read now and then: the reader must not assume whole ones. */
	if (n > 7 && m->off % 3 == 1)
		n = 7;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* Writes a backup of three records (sealed with pass, or plain) into a
 * malloc'd buffer. */
static unsigned char *
make(const char *pass, size_t *len)
{
	struct bkf_recipient r;
	struct bkf_author a;
	struct bkf_writer *w;
	struct lerr e;
	unsigned char big[BKF_DATA_MAX];
	char *p;
	size_t n;
	FILE *f;
	int fd;

	memset(&e, 0, sizeof(e));
	randombytes_buf(big, sizeof(big));
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	fd = fileno(f);
	if (pass != NULL)
		ck_assert_int_eq(bkf_recipient_derive(pass, strlen(pass), &cheap, &r, &a, &e), 0);
	ck_assert_int_eq(bkf_writer_new(fd, pass != NULL ? &r : NULL, &w, &e), 0);
	ck_assert_int_eq(bkf_put(w, BKF_META, NULL, "{\"format\":1}", 12, &e), 0);
	ck_assert_int_eq(bkf_put(w, BKF_FILE, "keys/root.key", "\0\0\0\0\0\0\0\3", 8, &e), 0);
	ck_assert_int_eq(bkf_put(w, BKF_DATA, NULL, big, sizeof(big), &e), 0);
	ck_assert_int_eq(bkf_finish(w, bkf_tag_author, &a, &e), 0);
	ck_assert_int_ne(bkf_put(w, BKF_DATA, NULL, "x", 1, &e), 0);
	bkf_writer_free(w);
	n = (size_t)lseek(fd, 0, SEEK_END);
	p = malloc(n);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(pread(fd, p, n, 0), (ssize_t)n);
	fclose(f);
	*len = n;
	return (unsigned char *)p;
}

/* Reads the whole of buf: the number of records before END, or -1 with
 * e. */
static int
read_all(const unsigned char *buf, size_t len, const char *pass, struct lerr *e)
{
	struct mem m = { buf, len, 0 };
	struct bkf_reader *r;
	struct bkf_record rec;
	int n = 0, k;

	memset(e, 0, sizeof(*e));
	if (bkf_reader_new(mem_read, &m, pass, pass != NULL ? strlen(pass) : 0, 0, &r, e) != 0)
		return -1;
	while ((k = bkf_next(r, &rec, e)) == 1)
		n++;
	bkf_reader_free(r);
	return k == 0 ? n : -1;
}

START_TEST(test_round_trip)
{
	struct mem m;
	struct bkf_reader *r;
	struct bkf_record rec;
	struct lerr e;
	unsigned char *buf;
	size_t len;
	int sealed;

	for (sealed = 0; sealed < 2; sealed++) {
		buf = make(sealed ? "correct horse" : NULL, &len);
		ck_assert_int_eq(memcmp(buf, BKF_MAGIC, 8), 0);
		m = (struct mem){ buf, len, 0 };
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(bkf_reader_new(mem_read, &m, "correct horse", 13, 0, &r, &e), 0);
		ck_assert_int_eq(bkf_reader_sealed(r), sealed);
		ck_assert_int_eq(bkf_next(r, &rec, &e), 1);
		ck_assert_int_eq(rec.type, BKF_META);
		ck_assert_str_eq(rec.name, "");
		ck_assert_uint_eq(rec.len, 12);
		ck_assert_int_eq(memcmp(rec.data, "{\"format\":1}", 12), 0);
		ck_assert_int_eq(bkf_next(r, &rec, &e), 1);
		ck_assert_int_eq(rec.type, BKF_FILE);
		ck_assert_str_eq(rec.name, "keys/root.key");
		ck_assert_int_eq(bkf_next(r, &rec, &e), 1);
		ck_assert_int_eq(rec.type, BKF_DATA);
		ck_assert_uint_eq(rec.len, BKF_DATA_MAX);
		ck_assert_int_eq(bkf_next(r, &rec, &e), 0);
		ck_assert_int_eq(bkf_next(r, &rec, &e), 0);
		bkf_reader_free(r);
		/* Sealed, the secret is not in the file. */
		if (sealed)
			ck_assert_ptr_null(memmem(buf, len, "format", 6));
		else
			ck_assert_ptr_nonnull(memmem(buf, len, "format", 6));
		free(buf);
	}
}
END_TEST

START_TEST(test_passphrase)
{
	struct lerr e;
	unsigned char *buf;
	size_t len;

	buf = make("correct horse", &len);
	ck_assert_int_eq(read_all(buf, len, "correct horse", &e), 3);
	ck_assert_int_eq(read_all(buf, len, "correct horsf", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_ptr_nonnull(strstr(e.msg, "wrong passphrase"));
	ck_assert_int_eq(read_all(buf, len, NULL, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_SECRET);
	ck_assert_ptr_nonnull(strstr(e.msg, "encrypted: give its passphrase"));
	free(buf);
	/* Two backups with one passphrase differ everywhere after the magic. */
	{
		unsigned char *b2;
		size_t l2;

		buf = make("correct horse", &len);
		b2 = make("correct horse", &l2);
		ck_assert_uint_eq(len, l2);
		ck_assert_int_ne(memcmp(buf + 20, b2 + 20, 16), 0);	/* salt */
		ck_assert_int_ne(memcmp(buf + 68, b2 + 68, 32), 0);	/* one-time key */
		free(buf);
		free(b2);
	}
	memset(&e, 0, sizeof(e));
	{
		struct bkf_recipient r;

		ck_assert_int_ne(bkf_recipient_derive("", 0, &cheap, &r, NULL, &e), 0);
		ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
	}
}
END_TEST

/* Every byte of a sealed backup counts: header, lengths, ciphertext. */
START_TEST(test_any_byte_changed)
{
	struct lerr e;
	unsigned char *buf;
	size_t len, i, step;
	int sealed;

	for (sealed = 0; sealed < 2; sealed++) {
		buf = make(sealed ? "pw" : NULL, &len);
		/* The big record is 64 KiB of the same kind of bytes: every byte
		 * of the rest, and a sample of it. */
		for (i = 0; i < len; i += step) {
			step = i > 300 && i < len - 300 ? 997 : 1;
			/* Plain files carry no authentication of what they hold
			 * before the checksum: the checksum must catch it. */
			buf[i] ^= 0x20;
			ck_assert_msg(read_all(buf, len, "pw", &e) < 0,
				      "%s byte %zu changed unseen", sealed ? "sealed" : "plain", i);
			ck_assert_str_ne(e.msg, "");
			buf[i] ^= 0x20;
		}
		ck_assert_int_eq(read_all(buf, len, "pw", &e), 3);
		free(buf);
	}
}
END_TEST

START_TEST(test_cut_or_extended)
{
	struct lerr e;
	unsigned char *buf, *more;
	size_t len, i;
	int sealed;

	for (sealed = 0; sealed < 2; sealed++) {
		buf = make(sealed ? "pw" : NULL, &len);
		for (i = 0; i < len; i += i < 200 || i > len - 200 ? 1 : 1009) {
			ck_assert_msg(read_all(buf, i, "pw", &e) < 0, "cut at %zu read whole", i);
			ck_assert_msg(strstr(e.msg, "cut short") != NULL || strstr(e.msg, "empty") != NULL ||
				      strstr(e.msg, "not a lanca backup") != NULL,
				      "cut at %zu: %s", i, e.msg);
		}
		more = malloc(len + 1);
		memcpy(more, buf, len);
		more[len] = 0;
		ck_assert_int_eq(read_all(more, len + 1, "pw", &e), -1);
		ck_assert_ptr_nonnull(strstr(e.msg, "goes on after its end"));
		free(more);
		free(buf);
	}
}
END_TEST

START_TEST(test_header_refusals)
{
	struct lerr e;
	unsigned char *buf;
	size_t len;

	buf = make("pw", &len);
	buf[9] = BKF_VERSION + 1;
	ck_assert_int_eq(read_all(buf, len, "pw", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "format 2, from a newer lanca"));
	buf[9] = BKF_VERSION;
	buf[11] = 7;
	ck_assert_int_eq(read_all(buf, len, "pw", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "mode 7 is unknown"));
	buf[11] = BKF_SEALED;
	/* A file that asks restore for 2 GiB of memory is refused unread. */
	buf[16] = 0; buf[17] = 0x20; buf[18] = 0; buf[19] = 0;
	ck_assert_int_eq(read_all(buf, len, "pw", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "2048 MiB of memory"));
	buf[0] = 'X';
	ck_assert_int_eq(read_all(buf, len, "pw", &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a lanca backup"));
	free(buf);
}
END_TEST

/* A backup of one META record sealed to r and tagged with author's key,
 * as a malloc'd buffer. */
static unsigned char *
seal_one(const struct bkf_recipient *r, struct bkf_author *author, size_t *len)
{
	struct bkf_writer *w;
	struct lerr e;
	unsigned char *buf;
	FILE *f = tmpfile();
	int fd;

	ck_assert_ptr_nonnull(f);
	fd = fileno(f);
	ck_assert_int_eq(bkf_writer_new(fd, r, &w, &e), 0);
	ck_assert_int_eq(bkf_put(w, BKF_META, NULL, "{}", 2, &e), 0);
	ck_assert_int_eq(bkf_finish(w, bkf_tag_author, author, &e), 0);
	bkf_writer_free(w);
	*len = (size_t)lseek(fd, 0, SEEK_END);
	buf = malloc(*len);
	ck_assert_int_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
	fclose(f);
	return buf;
}

/* Whoever has read one backup has its recipient (the header holds it):
 * a file of their own sealed to it, with any author key but the
 * passphrase's, opens and decrypts, and is refused at its end. */
START_TEST(test_forged_refused)
{
	struct bkf_recipient r;
	struct bkf_author real, forged;
	struct bkf_writer *w;
	struct lerr e;
	unsigned char *buf;
	size_t len;
	FILE *f;
	int i;

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(bkf_recipient_derive("pw", 2, &cheap, &r, &real, &e), 0);
	for (i = 0; i < 2; i++) {
		/* 0: a key of the forger's own; 1: none at all (zeros). */
		if (i == 0)
			randombytes_buf(forged.key, sizeof(forged.key));
		else
			memset(&forged, 0, sizeof(forged));
		buf = seal_one(&r, &forged, &len);
		ck_assert_int_eq(read_all(buf, len, "pw", &e), -1);
		ck_assert_msg(strstr(e.msg, "not made with this passphrase's author key") != NULL,
			      "%s", e.msg);
		free(buf);
	}
	/* With the real key, the same file is accepted: the tag is all. */
	buf = seal_one(&r, &real, &len);
	ck_assert_int_eq(read_all(buf, len, "pw", &e), 1);
	free(buf);
	/* A sealed file cannot be finished without a tag. */
	f = tmpfile();
	ck_assert_int_eq(bkf_writer_new(fileno(f), &r, &w, &e), 0);
	ck_assert_int_ne(bkf_finish(w, NULL, NULL, &e), 0);
	bkf_writer_free(w);
	fclose(f);
}
END_TEST

static Suite *
backupfile_suite(void)
{
	Suite *s = suite_create("backupfile");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_passphrase);
	tcase_add_test(tc, test_any_byte_changed);
	tcase_add_test(tc, test_cut_or_extended);
	tcase_add_test(tc, test_header_refusals);
	tcase_add_test(tc, test_forged_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(backupfile_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
