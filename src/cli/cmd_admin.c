/*
 * cmd_admin.c - `lanca admin passwd USER [--dir DIR] [--password-file F]`:
 * creates an administrator of the web interface or replaces their
 * password, which ends every session of that administrator. `lanca admin
 * setup-code [--dir DIR]`: replaces the one-time setup code `lanca init`
 * printed (lost, or a state directory older than setup codes), as long as
 * no administrator exists.
 *
 * The password comes from the first line of F, else from standard input:
 * asked twice without echo on a terminal, or read as one line from a pipe.
 * It is read with read(2) into one locked buffer (no stdio buffer keeps a
 * copy), never appears on the command line, and is wiped before exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "daemon/auth.h"
#include "cli/cmd.h"
#include "daemon/state.h"
#include "store/store.h"

/* Room for the longest password, its line end and one byte to tell that a
 * line was too long. */
#define ADMIN_LINE_MAX	(AUTH_PASSWORD_MAX + 3)

static void
admin_usage(FILE *f)
{
	fprintf(f, "usage: lanca admin passwd USER [--dir DIR] [--password-file FILE]\n"
		   "       lanca admin setup-code [--dir DIR]\n");
}

/*
 * Reads one line from fd into buf (cap bytes) without any buffering
 * beyond buf, drops its "\n" or "\r\n", NUL-terminates it and sets *len.
 * Returns 0, or -1 with a message in why (a read error, an empty input, a
 * line that does not fit, or a NUL byte in it).
 */
static int
admin_read_line(int fd, char *buf, size_t cap, size_t *len, const char **why)
{
	size_t n = 0;
	ssize_t got;
	char c = 0;
	int rc = -1;

	*len = 0;
	for (;;) {
		got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*why = strerror(errno);
			goto out;
		}
		if (got == 0 || c == '\n')
			break;
		if (n + 1 >= cap) {
			*why = "the password is too long";
			goto out;
		}
		buf[n++] = c;
	}
	if (got == 0 && n == 0) {
		*why = "no password given";
		goto out;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		*why = "the password contains a NUL byte";
		goto out;
	}
	*len = n;
	rc = 0;
out:
	sodium_memzero(&c, sizeof(c));
	if (rc != 0)
		sodium_memzero(buf, cap);
	return rc;
}

/*
 * Asks for a line on the terminal fd with echo off, restoring the
 * terminal whatever happens. Same contract as admin_read_line.
 */
static int
admin_ask(int fd, const char *prompt, char *buf, size_t cap, size_t *len, const char **why)
{
	struct termios old, quiet;
	int rc;

	if (tcgetattr(fd, &old) != 0) {
		*why = strerror(errno);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		*why = strerror(errno);
		return -1;
	}
	rc = admin_read_line(fd, buf, cap, len, why);
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/*
 * Gets the new password into pw (ADMIN_LINE_MAX bytes) from file (NULL =
 * standard input). 0, or -1 after printing why.
 */
static int
admin_get_password(const char *file, const char *user, char *pw, size_t *len)
{
	char *again = NULL;
	char prompt[128];
	const char *why = NULL;
	size_t len2 = 0;
	int fd = -1, rc = -1, w;

	if (file != NULL) {
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			cmd_error("admin", "%s: %s", file, strerror(errno));
			goto out;
		}
		if (admin_read_line(fd, pw, ADMIN_LINE_MAX, len, &why) != 0) {
			cmd_error("admin", "%s: %s", file, why);
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		w = snprintf(prompt, sizeof(prompt), "New password for %s: ", user);
		if (w < 0 || (size_t)w >= sizeof(prompt))
			goto out;
		if (admin_ask(STDIN_FILENO, prompt, pw, ADMIN_LINE_MAX, len, &why) != 0) {
			cmd_error("admin", "%s", why);
			goto out;
		}
		again = sodium_malloc(ADMIN_LINE_MAX);
		if (again == NULL) {
			cmd_error("admin", "out of memory");
			goto out;
		}
		if (admin_ask(STDIN_FILENO, "Again: ", again, ADMIN_LINE_MAX, &len2, &why) != 0) {
			cmd_error("admin", "%s", why);
			goto out;
		}
		if (len2 != *len || sodium_memcmp(pw, again, *len) != 0) {
			cmd_error("admin", "the passwords do not match");
			goto out;
		}
	} else if (admin_read_line(STDIN_FILENO, pw, ADMIN_LINE_MAX, len, &why) != 0) {
		cmd_error("admin", "standard input: %s", why);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	sodium_free(again);	/* wipes */
	return rc;
}

/* `lanca admin passwd USER`: hashes the new password and stores it. */
static int
admin_passwd(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *file = NULL, *user;
	char *pw = NULL, *hash = NULL;
	struct store *s = NULL;
	struct lerr e;
	size_t len = 0;
	int c, rc = CMD_FAILED;

	lerr_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': file = optarg; break;
		case 'h':
			admin_usage(stdout);
			return CMD_OK;
		default:
			admin_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		admin_usage(stderr);
		return CMD_USAGE;
	}
	user = argv[optind];
	if (!auth_user_ok(user)) {
		cmd_error("admin", "invalid user name '%.64s': use 1 to %d of A-Z a-z 0-9 . _ - @",
			  user, AUTH_USER_MAX);
		return CMD_USAGE;
	}
	/* Guarded, locked memory: the password never reaches swap. */
	pw = sodium_malloc(ADMIN_LINE_MAX);
	if (pw == NULL) {
		cmd_error("admin", "out of memory");
		goto out;
	}
	if (admin_get_password(file, user, pw, &len) != 0)
		goto out;
	if (auth_hash_password(pw, len, &hash, &e) != 0) {
		cmd_error("admin", "%s", e.msg);
		goto out;
	}
	dir = cmd_dir(dir);
	if (state_store_open(dir, 0, &s, &e) != 0 ||
	    store_admin_set(s, user, hash, NULL, "cli", &e) != 0) {
		cmd_error("admin", "%s", e.msg);
		goto out;
	}
	printf("password set for %s\n", user);
	rc = CMD_OK;
out:
	store_close(s);
	free(hash);
	sodium_free(pw);	/* wipes */
	return rc;
}

/* `lanca admin setup-code`: a new setup code, printed once. */
static int
admin_setup_code(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char code[AUTH_SETUP_CODE_SIZE] = "";
	const char *dir = NULL;
	struct store *s = NULL;
	struct lerr e;
	int c, rc = CMD_FAILED;

	lerr_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h':
			admin_usage(stdout);
			return CMD_OK;
		default:
			admin_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		admin_usage(stderr);
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	if (state_store_open(dir, 0, &s, &e) != 0 || auth_setup_code_new(s, "cli", code, &e) != 0) {
		if (e.code == LERR_CONFLICT)
			cmd_error("admin", "an administrator exists already: a setup code is only for "
				  "the first one (use `lanca admin passwd USER`)");
		else
			cmd_error("admin", "%s", e.msg);
		goto out;
	}
	printf("setup code: %s\n", code);
	rc = CMD_OK;
out:
	sodium_memzero(code, sizeof(code));
	store_close(s);
	return rc;
}

static const struct cmd_sub admin_commands[] = {
	{ "passwd", admin_passwd, "create an administrator or set their password" },
	{ "setup-code", admin_setup_code, "a new one-time setup code, while no administrator exists" },
};

int
cmd_admin(int argc, char *argv[])
{
	return cmd_subcommand("admin", argc, argv, admin_commands,
			      sizeof(admin_commands) / sizeof(admin_commands[0]), admin_usage);
}
