/*
 * test_fileio.c - bounded reads, secret reads and atomic writes.
 *
 * Linked like lanca-enroll (common/ and GnuTLS, no libsodium), so this
 * test also shows that fileio stays usable by the device client.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_fileio.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	fileio_remove_tree(dir);
}

/* dir/name into a static buffer. */
static const char *
at(const char *name)
{
	static char p[128];

	ck_assert_int_eq(fileio_join(p, sizeof(p), dir, name), 0);
	return p;
}

static void
put(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(at(name), "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* A secret spanning more than one page comes back whole and terminated,
 * and an empty one too. */
START_TEST(test_read_secret)
{
	unsigned char data[9000], *p = NULL;
	size_t i, len = 0;
	struct lerr e;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 1);
	put("key", data, sizeof(data));
	ck_assert_int_eq(fileio_read(at("key"), sizeof(data), 1, &p, &len, &e), 0);
	ck_assert_uint_eq(len, sizeof(data));
	ck_assert_mem_eq(p, data, sizeof(data));
	ck_assert_uint_eq(p[len], 0);
	fileio_free_secret(p, len);

	put("empty", "", 0);
	p = NULL;
	ck_assert_int_eq(fileio_read(at("empty"), 10, 1, &p, &len, &e), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(p[0], 0);
	fileio_free_secret(p, len);
	fileio_free_secret(NULL, 0);
}
END_TEST

START_TEST(test_read_refuses)
{
	unsigned char *p = NULL;
	size_t len = 0;
	struct lerr e;

	put("big", "0123456789", 10);
	ck_assert_int_eq(fileio_read(at("big"), 9, 0, &p, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_int_eq(fileio_read(at("big"), 9, 1, &p, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_TOO_LARGE);
	ck_assert_int_eq(fileio_read(at("missing"), 9, 0, &p, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(fileio_read(dir, 4096, 0, &p, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_int_eq(symlink("big", at("link")), 0);
	ck_assert_int_eq(fileio_read(at("link"), 100, 0, &p, &len, &e), -1);
	ck_assert_ptr_null(p);
}
END_TEST

/* The final mode whatever the umask, the content, no temporary left, and
 * excl never replaces. */
START_TEST(test_write_atomic)
{
	unsigned char *p = NULL;
	struct dirent *d;
	struct stat st;
	size_t len = 0;
	struct lerr e;
	mode_t old = umask(0);
	DIR *dh;
	int n = 0;

	ck_assert_int_eq(fileio_write_atomic(at("k"), "secret", 6, 0600, 0, &e), 0);
	umask(old);
	ck_assert_int_eq(stat(at("k"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(fileio_write_atomic(at("k"), "new", 3, 0644, 0, &e), 0);
	ck_assert_int_eq(fileio_write_atomic(at("k"), "excl", 4, 0644, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(fileio_read(at("k"), 100, 0, &p, &len, &e), 0);
	ck_assert_str_eq((char *)p, "new");
	free(p);
	ck_assert_ptr_nonnull(dh = opendir(dir));
	while ((d = readdir(dh)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dh);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* The _at reads open a name in one directory: not through a symlink,
 * not a FIFO (at once, without waiting for a writer), and for the owned
 * form not someone else's file. */
START_TEST(test_read_at)
{
	unsigned char *p = NULL;
	size_t len = 0;
	struct lerr e;
	int dfd;

	ck_assert_int_ge(dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	put("f", "text", 4);
	ck_assert_int_eq(fileio_read_at(dfd, "f", 100, 0, &p, &len, &e), 0);
	ck_assert_str_eq((char *)p, "text");
	free(p);
	p = NULL;
	ck_assert_int_eq(fileio_read_owned_at(dfd, "f", "certificate", 100, &p, &len, &e), 0);
	free(p);
	p = NULL;
	ck_assert_int_eq(symlink("f", at("link")), 0);
	ck_assert_int_eq(fileio_read_at(dfd, "link", 100, 0, &p, &len, &e), -1);
	ck_assert_int_eq(fileio_read_owned_at(dfd, "link", "certificate", 100, &p, &len, &e), -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
	ck_assert_int_eq(fileio_read_owned_at(dfd, "fifo", "certificate", 100, &p, &len, &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	if (geteuid() == 0) {	/* only root can give a file away */
		ck_assert_int_eq(chown(at("f"), 65534, 65534), 0);
		ck_assert_int_eq(fileio_read_owned_at(dfd, "f", "certificate", 100, &p, &len, &e),
				 -1);
		ck_assert_int_eq(e.code, LERR_FORBIDDEN);
		ck_assert_ptr_nonnull(strstr(e.msg, "certificate f belongs to uid 65534"));
		ck_assert_ptr_null(p);
	}
	close(dfd);
}
END_TEST

/* What a loose mode is told: a file only group-writable is not called
 * readable, whatever is denied. */
START_TEST(test_check_owned)
{
	struct stat st;
	struct lerr e;

	memset(&st, 0, sizeof(st));
	st.st_uid = geteuid();
	st.st_mode = S_IFREG | 0620;
	ck_assert_int_eq(fileio_check_owned(&st, "f", "key file", 077, &e), -1);
	ck_assert_msg(strstr(e.msg, "writable by group or others: chmod go-w") != NULL, "%s",
		      e.msg);
	ck_assert_int_eq(fileio_check_owned(&st, "f", "certificate", 022, &e), -1);
	ck_assert_msg(strstr(e.msg, "writable by group or others") != NULL, "%s", e.msg);
	st.st_mode = S_IFREG | 0640;
	ck_assert_int_eq(fileio_check_owned(&st, "f", "key file", 077, &e), -1);
	ck_assert_msg(strstr(e.msg, "readable by group or others: chmod 600") != NULL, "%s",
		      e.msg);
	ck_assert_int_eq(fileio_check_owned(&st, "f", "certificate", 022, &e), 0);
	st.st_mode = S_IFREG | 0600;
	ck_assert_int_eq(fileio_check_owned(&st, "f", "key file", 077, &e), 0);
}
END_TEST

/* The _at write: through the descriptor, never a name with a '/' (its
 * temporary file and fsync would be in another directory). */
START_TEST(test_write_atomic_at)
{
	unsigned char *p = NULL;
	size_t len = 0;
	struct lerr e;
	int dfd;

	ck_assert_int_ge(dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	ck_assert_int_eq(fileio_write_atomic_at(dfd, "w", "abc", 3, 0600, 1, &e), 0);
	ck_assert_int_eq(fileio_read(at("w"), 100, 0, &p, &len, &e), 0);
	ck_assert_str_eq((char *)p, "abc");
	free(p);
	ck_assert_int_eq(fileio_write_atomic_at(dfd, "w", "x", 1, 0600, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	/* excl: a symlink at the name counts as a file, dangling or not. */
	ck_assert_int_eq(symlink("nowhere", at("dangling")), 0);
	ck_assert_int_eq(fileio_write_atomic_at(dfd, "dangling", "x", 1, 0600, 1, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_int_eq(access(at("nowhere"), F_OK), -1);
	ck_assert_int_eq(mkdir(at("sub"), 0700), 0);
	ck_assert_int_eq(fileio_write_atomic_at(dfd, "sub/w", "x", 1, 0600, 0, &e), -1);
	ck_assert_int_eq(access(at("sub/w"), F_OK), -1);
	close(dfd);
}
END_TEST

START_TEST(test_sync_dir)
{
	ck_assert_int_eq(fileio_sync_dir(dir), 0);
	put("f", "x", 1);
	ck_assert_int_eq(fileio_sync_dir(at("f")), -1);
	ck_assert_int_eq(fileio_sync_dir(at("missing")), -1);
}
END_TEST

static Suite *
fileio_suite(void)
{
	Suite *s = suite_create("fileio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_read_secret);
	tcase_add_test(tc, test_read_refuses);
	tcase_add_test(tc, test_write_atomic);
	tcase_add_test(tc, test_sync_dir);
	tcase_add_test(tc, test_read_at);
	tcase_add_test(tc, test_check_owned);
	tcase_add_test(tc, test_write_atomic_at);
	/* A read that waits on a FIFO never gets here. */
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fileio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
