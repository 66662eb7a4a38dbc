/*
 * test_storeurl.c - choosing the store: which strings are PostgreSQL
 * URLs (common/dburl.c), the masked form shown in messages, and
 * DIR/store.url as daemon/state.c writes, reads and refuses it. No server
 * is needed: t_pg_harness.sh and make check-postgresql use a real one.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dburl.h"
#include "common/fileio.h"
#include "daemon/state.h"
#include "store/store.h"

static char dir[64];

static void
mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/lanca-storeurl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	fileio_remove_tree(dir);
}

/* Writes text to dir/name with mode. */
static void
put(const char *name, const char *text, mode_t mode)
{
	char path[STATE_PATH_MAX];
	int fd;

	ck_assert_int_eq(state_path(path, dir, name), 0);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* The message state_store_open gives for dir; the store must not open. */
static const char *
refused(struct lerr *e)
{
	struct store *s = (struct store *)1;

	ck_assert_int_eq(state_store_open(dir, STORE_READONLY, &s, e), -1);
	ck_assert_ptr_null(s);
	return e->msg;
}

START_TEST(test_is_postgres)
{
	ck_assert(dburl_is_postgres("postgresql://h/db"));
	ck_assert(dburl_is_postgres("postgres://h/db"));
	ck_assert(dburl_is_postgres("postgres://"));
	/* libpq's schemes are lower case, and a path is a path. */
	ck_assert(!dburl_is_postgres("POSTGRESQL://h/db"));
	ck_assert(!dburl_is_postgres("postgresql:/h/db"));
	ck_assert(!dburl_is_postgres("/var/lib/lanca/lanca.db"));
	ck_assert(!dburl_is_postgres("lanca.db"));
	ck_assert(!dburl_is_postgres(""));
	ck_assert(!dburl_is_postgres(NULL));
}
END_TEST

START_TEST(test_check)
{
	char big[DBURL_MAX + 2];
	struct lerr e;

	ck_assert_int_eq(dburl_check("postgresql://lanca:pw@127.0.0.1:5432/lanca", &e), 0);
	ck_assert_int_eq(dburl_check("postgres:///lanca?host=/run/postgresql", &e), 0);
	ck_assert_int_eq(dburl_check("", &e), -1);
	ck_assert_int_eq(dburl_check(NULL, &e), -1);
	ck_assert_int_eq(dburl_check("mysql://u:p@h/db", &e), -1);
	ck_assert_int_eq(e.code, LERR_BAD_REQUEST);
	ck_assert_ptr_null(strstr(e.msg, "u:p"));
	ck_assert_int_eq(dburl_check("/var/lib/lanca/lanca.db", &e), -1);
	ck_assert_int_eq(dburl_check("postgresql://", &e), -1);
	/* A second line, a space, a tab: never part of one URL. */
	ck_assert_int_eq(dburl_check("postgresql://h/db\npostgresql://other/db", &e), -1);
	ck_assert_int_eq(dburl_check("postgresql://h/db ", &e), -1);
	ck_assert_int_eq(dburl_check("postgresql://u:p\tw@h/db", &e), -1);
	ck_assert_int_eq(dburl_check("postgresql://h/db\x7f", &e), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "postgresql://", 13);
	big[DBURL_MAX] = '\0';
	ck_assert_int_eq(dburl_check(big, &e), 0);
	big[DBURL_MAX] = 'a';
	big[DBURL_MAX + 1] = '\0';
	ck_assert_int_eq(dburl_check(big, &e), -1);
}
END_TEST

/* dburl_mask(in) must give want. */
static void
mask_is(const char *in, const char *want)
{
	char out[DBURL_MAX + 16];

	ck_assert_int_eq(dburl_mask(in, out, sizeof(out)), 0);
	ck_assert_str_eq(out, want);
}

START_TEST(test_mask)
{
	char small[24];

	mask_is("postgresql://lanca:s3cret@127.0.0.1:5432/lanca",
		"postgresql://lanca:***@127.0.0.1:5432/lanca");
	mask_is("postgres://lanca:s3cret@db.example/lanca?sslmode=verify-full",
		"postgres://lanca:***@db.example/lanca?sslmode=verify-full");
	/* No password: nothing to mask. */
	mask_is("postgresql://lanca@127.0.0.1/lanca", "postgresql://lanca@127.0.0.1/lanca");
	mask_is("postgresql://127.0.0.1:5432/lanca", "postgresql://127.0.0.1:5432/lanca");
	mask_is("postgresql://:pw@h/db", "postgresql://:***@h/db");
	/* A password parameter, in any place and case. */
	mask_is("postgresql://h/db?user=lanca&password=s3cret&sslmode=require",
		"postgresql://h/db?user=lanca&password=***&sslmode=require");
	mask_is("postgresql://h/db?PassWord=s3cret", "postgresql://h/db?PassWord=***");
	mask_is("postgresql://h/db?passwordx=1&password=", "postgresql://h/db?passwordx=***&password=***");
	/* The client key's passphrase, and a key libpq would decode. */
	mask_is("postgresql://h/db?sslkey=/k&sslpassword=s3&sslmode=require",
		"postgresql://h/db?sslkey=/k&sslpassword=***&sslmode=require");
	mask_is("postgresql://h/db?pass%77ord=s3", "postgresql://h/db?pass%77ord=***");
	/* Raw '@', '/', '?' and ':' inside a password: more is masked, never less. */
	mask_is("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db");
	mask_is("postgresql://u:p/a?s:s@h/db", "postgresql://u:***@h/db");
	/* A path is not masked. */
	mask_is("/var/lib/lanca/lanca.db", "/var/lib/lanca/lanca.db");
	/* Too long for out: a placeholder, never a cut URL. */
	ck_assert_int_eq(dburl_mask("postgresql://lanca:s3cret@127.0.0.1:5432/lanca", small,
				    sizeof(small)), -1);
	ck_assert_ptr_null(strstr(small, "s3c"));
	ck_assert_str_eq(small, "(store URL)");
}
END_TEST

START_TEST(test_scrub)
{
	const char *url = "postgresql://lanca:s3cret@127.0.0.1:1/lanca";
	char msg[512], tiny[40];

	snprintf(msg, sizeof(msg), "cannot connect to %s: refused (%s)", url, url);
	dburl_scrub(msg, sizeof(msg), url);
	ck_assert_str_eq(msg, "cannot connect to postgresql://lanca:***@127.0.0.1:1/lanca: "
			 "refused (postgresql://lanca:***@127.0.0.1:1/lanca)");
	/* The URL in a message too long for its buffer: cut in the
	 * password, or after it. */
	memcpy(tiny, "at ", 3);
	memcpy(tiny + 3, url, 18 + 3);	/* "postgresql://lanca" ":s3" */
	tiny[3 + 21] = '\0';
	dburl_scrub(tiny, sizeof(tiny), url);
	ck_assert_str_eq(tiny, "at postgresql://lanca:***");
	memcpy(tiny + 3, url, sizeof(tiny) - 4);
	tiny[sizeof(tiny) - 1] = '\0';
	dburl_scrub(tiny, sizeof(tiny), url);
	ck_assert_str_eq(tiny, "at postgresql://lanca:***");
	/* Up to the ':' only: nothing secret yet. */
	snprintf(tiny, sizeof(tiny), "at postgresql://lanca:");
	dburl_scrub(tiny, sizeof(tiny), url);
	ck_assert_str_eq(tiny, "at postgresql://lanca:");
	snprintf(msg, sizeof(msg), "x postgresql://h/db?sslmode=require&password=s3");
	dburl_scrub(msg, sizeof(msg), "postgresql://h/db?sslmode=require&password=s3cret");
	ck_assert_str_eq(msg, "x postgresql://h/db?sslmode=require&password=***");
	/* A message without it is left alone. */
	snprintf(msg, sizeof(msg), "no such table");
	dburl_scrub(msg, sizeof(msg), url);
	ck_assert_str_eq(msg, "no such table");
}
END_TEST

START_TEST(test_url_write)
{
	char path[STATE_PATH_MAX], *text = NULL;
	unsigned char *data = NULL;
	struct stat st;
	struct lerr e;
	size_t len;

	mkdir_tmp();
	umask(0);	/* the mode is 0600 whatever the umask */
	ck_assert_int_eq(state_store_url_write(dir, "postgresql://lanca:pw@127.0.0.1/lanca", &e), 0);
	ck_assert_int_eq(state_path(path, dir, STATE_STORE_URL), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(fileio_read(path, 4096, 0, &data, &len, &e), 0);
	text = (char *)data;
	ck_assert_str_eq(text, "postgresql://lanca:pw@127.0.0.1/lanca\n");
	ck_assert_int_eq(state_store_present(dir), 1);
	/* Never over an existing one, nor through a symbolic link. */
	ck_assert_int_eq(state_store_url_write(dir, "postgresql://h/other", &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	unlink(path);
	ck_assert_int_eq(symlink("/tmp/lanca-storeurl-elsewhere", path), 0);
	ck_assert_int_eq(state_store_url_write(dir, "postgresql://h/db", &e), -1);
	ck_assert_int_eq(access("/tmp/lanca-storeurl-elsewhere", F_OK), -1);
	unlink(path);
	/* A bad URL leaves no file. */
	ck_assert_int_eq(state_store_url_write(dir, "sqlite:///x.db", &e), -1);
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(state_store_present(dir), 0);
	free(data);
	umask(022);
	rm_tmp();
}
END_TEST

START_TEST(test_url_refused)
{
	char path[STATE_PATH_MAX], target[STATE_PATH_MAX];
	struct lerr e;
	const char *m;

	mkdir_tmp();
	ck_assert_int_eq(state_path(path, dir, STATE_STORE_URL), 0);
	/* Readable by others: it may hold the password. */
	put(STATE_STORE_URL, "postgresql://lanca:s3cret@127.0.0.1:1/lanca\n", 0644);
	m = refused(&e);
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(m, path));
	ck_assert_ptr_nonnull(strstr(m, "0644"));
	ck_assert_ptr_null(strstr(m, "s3cret"));
	put(STATE_STORE_URL, "postgresql://lanca:s3cret@127.0.0.1:1/lanca\n", 0640);
	ck_assert_ptr_nonnull(strstr(refused(&e), "0640"));
	put(STATE_STORE_URL, "postgresql://lanca:s3cret@127.0.0.1:1/lanca\n", 0604);
	refused(&e);
	/* Empty, an empty first line, another scheme, a path. */
	put(STATE_STORE_URL, "", 0600);
	ck_assert_ptr_nonnull(strstr(refused(&e), "empty"));
	put(STATE_STORE_URL, "\npostgresql://h/db\n", 0600);
	ck_assert_ptr_nonnull(strstr(refused(&e), "empty"));
	put(STATE_STORE_URL, "mysql://lanca:s3cret@h/db\n", 0600);
	m = refused(&e);
	ck_assert_ptr_nonnull(strstr(m, path));
	ck_assert_ptr_null(strstr(m, "s3cret"));
	put(STATE_STORE_URL, "/var/lib/lanca/lanca.db\n", 0600);
	refused(&e);
	/* A symbolic link, even to a good file; a directory. */
	unlink(path);
	snprintf(target, sizeof(target), "%s/real", dir);
	put("real", "postgresql://h/db\n", 0600);
	ck_assert_int_eq(symlink(target, path), 0);
	refused(&e);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	refused(&e);
	rmdir(path);
	/* Too large to be one. */
	{
		char big[DBURL_MAX + 2048];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "postgresql://", 13);
		put(STATE_STORE_URL, big, 0600);
		refused(&e);
	}
	rm_tmp();
}
END_TEST

/* Another user's store.url: refused, unless root finds it handed to the
 * daemon's user as handover.h does. Needs root (chown). */
START_TEST(test_url_owner)
{
	char path[STATE_PATH_MAX];
	struct lerr e;

	if (geteuid() != 0)
		return;
	mkdir_tmp();
	ck_assert_int_eq(state_path(path, dir, STATE_STORE_URL), 0);
	put(STATE_STORE_URL, "postgresql://lanca:s3cret@127.0.0.1:1/lanca\n", 0600);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_ptr_nonnull(strstr(refused(&e), "uid 65534"));
	ck_assert_int_eq(e.code, LERR_FORBIDDEN);
	/* DIR root:GROUP, the file USER:GROUP: past the owner check (what
	 * refuses it then is that no server answers, or no driver). */
	ck_assert_int_eq(chown(dir, 0, 65534), 0);
	refused(&e);
	ck_assert_ptr_null(strstr(e.msg, "uid 65534"));
	ck_assert_ptr_null(strstr(e.msg, "s3cret"));
	rm_tmp();
}
END_TEST

START_TEST(test_fallback)
{
	struct store *s = NULL;
	struct lerr e;

	mkdir_tmp();
	/* Neither store.url nor lanca.db: lanca.db's own "not found". */
	ck_assert_int_eq(state_store_present(dir), 0);
	ck_assert_int_eq(state_store_open(dir, 0, &s, &e), -1);
	ck_assert_int_eq(e.code, LERR_NOT_FOUND);
	ck_assert_int_eq(state_store_need_file(dir, &e), 0);
	/* lanca.db, made as init makes it, and opened again. */
	ck_assert_int_eq(state_store_open(dir, STORE_CREATE, &s, &e), 0);
	store_close(s);
	s = NULL;
	ck_assert_int_eq(state_store_present(dir), 1);
	ck_assert_int_eq(state_store_open(dir, STORE_READONLY, &s, &e), 0);
	store_close(s);
	/* With a store.url, what copies lanca.db is refused. */
	put(STATE_STORE_URL, "postgresql://h/db\n", 0600);
	ck_assert_int_eq(state_store_need_file(dir, &e), -1);
	ck_assert_int_eq(e.code, LERR_CONFLICT);
	ck_assert_ptr_nonnull(strstr(e.msg, "the store is PostgreSQL: back it up with pg_dump"));
	rm_tmp();
}
END_TEST

/* A store.url that is read and passed on: whatever refuses it (no server
 * on port 1, or a lanca without PostgreSQL), the message keeps the
 * password out. */
START_TEST(test_url_no_leak)
{
	struct store *s = NULL;
	struct lerr e;

	mkdir_tmp();
	put(STATE_STORE_URL, "postgresql://lanca:s3cret@127.0.0.1:1/lanca\n", 0600);
	ck_assert_int_eq(state_store_open(dir, STORE_READONLY, &s, &e), -1);
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(strstr(e.msg, "s3cret"));
	rm_tmp();
}
END_TEST

static Suite *
storeurl_suite(void)
{
	Suite *s = suite_create("storeurl");
	TCase *tc = tcase_create("dburl");
	TCase *tf = tcase_create("store.url");

	tcase_add_test(tc, test_is_postgres);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_mask);
	tcase_add_test(tc, test_scrub);
	suite_add_tcase(s, tc);
	tcase_add_test(tf, test_url_write);
	tcase_add_test(tf, test_url_refused);
	tcase_add_test(tf, test_url_owner);
	tcase_add_test(tf, test_fallback);
	tcase_add_test(tf, test_url_no_leak);
	tcase_set_timeout(tf, 30);
	suite_add_tcase(s, tf);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(storeurl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
