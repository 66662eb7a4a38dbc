/*
 * main.c - the `lanca` command table: one row per subcommand, and the
 * usage text printed from it.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "daemon/admin.h"
#include "daemon/auth.h"
#include "daemon/state.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *help;
} commands[] = {
	{ "init", cmd_init, "create the CA hierarchy and the state directory" },
	{ "join", cmd_join, "make this machine a gateway of a site that shares a PostgreSQL store" },
	{ "gateway", cmd_gateway, "list the gateways that joined the site, or remove one" },
	{ "serve", cmd_serve, "run the signer and the HTTP/HTTPS service" },
	{ "status", cmd_status, "show the CAs, their fingerprints and expiry dates" },
	{ "sign", cmd_sign, "sign a PKCS#10 request by hand and print the chain" },
	{ "press", cmd_press, "open the onboarding window in the running daemon" },
	{ "pending", cmd_pending, "list enrollment requests waiting for a decision" },
	{ "approve", cmd_approve, "issue a pending request" },
	{ "deny", cmd_deny, "refuse a pending request, with a reason" },
	{ "list", cmd_list, "list certificates: by status, expiry or device, a page at a time" },
	{ "show", cmd_show, "show a certificate (or a device's) with its history" },
	{ "export", cmd_export, "print a certificate as PEM, with its chain if asked" },
	{ "revoke", cmd_revoke, "revoke a certificate, or a device's, with an RFC 5280 reason" },
	{ "crl", cmd_crl, "print the newest CRL (PEM, or DER with --der)" },
	{ "preauth", cmd_preauth, "import pre-authorised devices from CSV" },
	{ "vendor", cmd_vendor, "register a manufacturer CA for factory certificates" },
	{ "admin", cmd_admin, "manage administrator accounts" },
	{ "audit", cmd_audit, "list the audit log; `audit verify` checks its hash chain" },
	{ "stats", cmd_stats, "show the running daemon's counters (commits, WAL)" },
	{ "metrics", cmd_metrics, "the bearer token for GET /metrics (Prometheus)" },
	{ "backup-root", cmd_backup_root, "the backup root: create it, confirm its key is stored" },
	{ "rollover", cmd_rollover, "root rollover: start, status, finish" },
	{ "key", cmd_key, "the issuing CA's key: move-to-token (PKCS#11)" },
	{ "backup", cmd_backup, "the whole CA as one encrypted file, while it serves" },
	{ "restore", cmd_restore, "a backup into a new state directory, checked first" },
	{ "acme", cmd_acme, "ACME accounts: list, approve, EAB keys (docs/acme.md)" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: lanca COMMAND [options]   (lanca COMMAND --help for its options)\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nThe state directory is --dir DIR, else $LANCA_DIR, else %s.\n",
		STATE_DIR_DEFAULT);
}

int
cmd_reason_args(const char *cmd, int argc, char *argv[], void (*show_usage)(FILE *),
		const char **dir, const char **reason, const char **arg)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lerr e;
	int c;

	*dir = *reason = *arg = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': *dir = optarg; break;
		case 'r':
			if (admin_reason_check(optarg, &e) != 0) {
				cmd_error(cmd, "--reason: %s", e.msg);
				return CMD_USAGE;
			}
			*reason = optarg;
			break;
		case 'h':
			show_usage(stdout);
			return CMD_OK;
		default:
			show_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		show_usage(stderr);
		return CMD_USAGE;
	}
	*arg = argv[optind];
	return -1;
}

const char *
cmd_dir(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	env = getenv("LANCA_DIR");
	return env != NULL && env[0] != '\0' ? env : STATE_DIR_DEFAULT;
}

int
cmd_dir_args(int argc, char *argv[], const char **dir, int *json, void (*show_usage)(FILE *))
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': *dir = optarg; break;
		case 'j':
			if (json == NULL) {
				show_usage(stderr);
				return CMD_USAGE;
			}
			*json = 1;
			break;
		case 'h':
			show_usage(stdout);
			return CMD_OK;
		default:
			show_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		show_usage(stderr);
		return CMD_USAGE;
	}
	*dir = cmd_dir(*dir);
	return -1;
}

int
cmd_subcommand(const char *cmd, int argc, char *argv[], const struct cmd_sub *t, size_t n,
	       void (*show_usage)(FILE *))
{
	size_t i;

	if (argc < 2) {
		show_usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		show_usage(stdout);
		for (i = 0; i < n; i++)
			printf("  %-10s %s\n", t[i].name, t[i].what);
		return CMD_OK;
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[1], t[i].name) == 0)
			return t[i].run(argc - 1, argv + 1);
	cmd_error(cmd, "unknown subcommand '%s'", argv[1]);
	show_usage(stderr);
	return CMD_USAGE;
}

void
cmd_actor(char out[CONTROL_ACTOR_MAX + 1])
{
	const char *user = getenv("USER");

	if (user != NULL && auth_user_ok(user) && strlen(user) <= CONTROL_ACTOR_MAX)
		snprintf(out, CONTROL_ACTOR_MAX + 1, "%s", user);
	else
		snprintf(out, CONTROL_ACTOR_MAX + 1, "uid %lu", (unsigned long)getuid());
}

void
cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lanca %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CMD_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("lanca %s\n", PACKAGE_VERSION);
		return CMD_OK;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0) {
		fprintf(stderr, "lanca: cannot initialise the crypto libraries\n");
		return CMD_FAILED;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "lanca: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CMD_USAGE;
}
