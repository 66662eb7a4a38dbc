/*
 * cmd.h - the `lanca` subcommands and what they share.
 *
 * Each command is `int cmd_<name>(int argc, char *argv[])` in its own
 * file, parses its own options with getopt_long and returns the exit
 * status: 0 ok, 1 the operation failed, 2 usage. main.c holds the table.
 */
#ifndef LANCA_CMD_H
#define LANCA_CMD_H

#define CMD_OK		0
#define CMD_FAILED	1
#define CMD_USAGE	2

int cmd_init(int argc, char *argv[]);
int cmd_join(int argc, char *argv[]);
int cmd_gateway(int argc, char *argv[]);
int cmd_serve(int argc, char *argv[]);
int cmd_status(int argc, char *argv[]);
int cmd_sign(int argc, char *argv[]);
int cmd_press(int argc, char *argv[]);
int cmd_pending(int argc, char *argv[]);
int cmd_approve(int argc, char *argv[]);
int cmd_deny(int argc, char *argv[]);
int cmd_revoke(int argc, char *argv[]);
int cmd_crl(int argc, char *argv[]);
int cmd_admin(int argc, char *argv[]);
int cmd_preauth(int argc, char *argv[]);
int cmd_vendor(int argc, char *argv[]);
int cmd_stats(int argc, char *argv[]);
int cmd_audit(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_show(int argc, char *argv[]);
int cmd_export(int argc, char *argv[]);
int cmd_export_policy(int argc, char *argv[]);	/* `lanca export policy` */
int cmd_export_hosts(int argc, char *argv[]);	/* `lanca export hosts` */
int cmd_metrics(int argc, char *argv[]);
int cmd_backup_root(int argc, char *argv[]);
int cmd_rollover(int argc, char *argv[]);
int cmd_key(int argc, char *argv[]);
int cmd_backup(int argc, char *argv[]);
int cmd_restore(int argc, char *argv[]);
int cmd_acme(int argc, char *argv[]);

#include <stdio.h>

#include "daemon/issue.h"
#include "common/lerr.h"
#include "ca/policy.h"
#include "daemon/state.h"
#include "daemon/control.h"

/* The handles a command needs to issue in-process (ca_open.c). */
struct cmd_ca {
	struct store *store;
	struct signer *signer;		/* NULL unless asked for */
	struct ca_set ca;
	struct policy policy;
	struct issuer is;
};
/* Opens the store and CA of dir; with_signer also loads the issuing key
 * (reading the passphrase from pass_file when given). */
int cmd_ca_open(const char *dir, const char *pass_file, int with_signer, struct cmd_ca *c,
		struct lerr *e);
void cmd_ca_close(struct cmd_ca *c);
/* Opens the store of dir to read (STORE_READONLY: beside a running
 * daemon, whose writes SQLite's WAL keeps apart), with cmd_ca_open's
 * message when dir holds no CA. *s is the caller's (store_close). */
int cmd_store_read(const char *dir, struct store **s, struct lerr *e);

/* The name the CLI acts under in the audit log: $USER when it is a
 * plausible name (auth_user_ok), else "uid N". */
void cmd_actor(char out[CONTROL_ACTOR_MAX + 1]);

/* Looks in /proc for a running `lanca serve` whose state directory is not
 * dir and writes the directories of up to CMD_SERVE_MAX of them, newest
 * first, absolute where they could be resolved, into out ("A" or "A, B").
 * Read-only; needs no privileges beyond reading /proc/PID/cmdline (and
 * environ and cwd where the kernel allows). Returns how many were found
 * (0: none, out ""). */
#define CMD_SERVE_MAX	3
int cmd_find_serve(const char *dir, char *out, size_t size);

/* The state directory: the --dir value, else $LANCA_DIR, else the default. */
const char *cmd_dir(const char *opt);
/* deny's arguments: "[--dir DIR] [--reason TEXT] ARG",
 * the reason checked as every door checks it (admin_reason_check). On
 * success *dir, *reason (NULL when not given) and *arg are set and -1 is
 * returned; otherwise the exit status to return (help, or a usage error
 * with usage printed). */
int cmd_reason_args(const char *cmd, int argc, char *argv[], void (*show_usage)(FILE *),
		    const char **dir, const char **reason, const char **arg);
/* A command made of subcommands (`lanca admin passwd`): one row each. */
struct cmd_sub {
	const char *name;
	int (*run)(int argc, char *argv[]);	/* argv[0] is the subcommand */
	const char *what;			/* for --help */
};
/* A subcommand's arguments when they are [--dir DIR] and, when json is
 * not NULL, [--json]: -1 to go on (*dir the state directory, cmd_dir's),
 * else the exit status (help printed, or usage refused). */
int cmd_dir_args(int argc, char *argv[], const char **dir, int *json,
		 void (*show_usage)(FILE *));
/* Runs the subcommand of t (n rows) that argv[1] names; --help prints
 * show_usage and the table. Without one, or with an unknown one, a usage
 * error. Returns the exit status. */
int cmd_subcommand(const char *cmd, int argc, char *argv[], const struct cmd_sub *t, size_t n,
		   void (*show_usage)(FILE *));
/* Prints the backup root of s and where its key went (key_out), as
 * `lanca init` and `lanca backup-root create` report it. 0, or -1 with a
 * message printed. */
struct store;
int cmd_backup_root_report(struct store *s, const char *key_out);
/* Prints "lanca <cmd>: <message>" to stderr. */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct backup_summary;
/* Prints what a backup holds: `lanca backup` ("wrote") and `lanca
 * restore` ("restored"). */
void cmd_backup_summary(const char *verb, const char *file, const struct backup_summary *s);

#endif
