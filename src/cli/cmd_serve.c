/*
 * cmd_serve.c - `lanca serve`: the signer, the store, the HTTP and HTTPS
 * servers, and the main thread that waits for signals.
 *
 * Start-up order matters: signals are blocked first (every thread made
 * later inherits the mask, and the main thread sigwait()s for them); the
 * signer is forked before anything else opens a file or a socket, so it
 * inherits nothing of the daemon; the ports are bound as root, then root
 * is dropped, and only then is the store opened and the gateway's key
 * read: under contrib/lanca.service root has neither CAP_CHOWN nor
 * CAP_DAC_OVERRIDE, so it may not read the user's files, and nothing it
 * created would be the user's (handover.h). What root needs from the
 * store before the signer starts (a rollover's recovery, an older state
 * directory's chain) it reads with the user's ids (serve_read_as_user).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ca/keystore.h"
#include "cli/cmd.h"
#include "daemon/acme.h"
#include "daemon/admin.h"
#include "daemon/auditlog.h"
#include "daemon/backupsched.h"
#include "daemon/caexpiry.h"
#include "daemon/control.h"
#include "daemon/enroll.h"
#include "common/fileio.h"
#include "daemon/gateway.h"
#include "daemon/handover.h"
#include "daemon/hosts.h"
#include "http/acme/nonce.h"
#include "http/httpd.h"
#include "http/route.h"
#include "http/routes.h"
#include "daemon/issue.h"
#include "common/log.h"
#include "signer/files.h"
#include "signer/proc.h"
#include "signer/sandbox.h"
#include "daemon/ratelimit.h"
#include "signer/signer.h"
#include "daemon/revocation.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "store/store.h"

#define SERVE_TLS_MAX		(256 * 1024)
#define SERVE_TICK_S		60	/* how often expiry and renewal are looked at */
#define SERVE_RATE_PER_S	2	/* enrollment requests per address: 2/s ... */
#define SERVE_RATE_BURST	20	/* ... after a burst of 20 */
#define SERVE_RATE_ADDRS	4096

struct serve_opts {
	const char *dir, *https, *http, *user, *web_dir, *pass_file;
	unsigned threads;
	unsigned rate, burst;		/* enrollment requests per second and burst, per address */
	const char *est_label;		/* --est-label: /.well-known/est/LABEL/ names this CA */
	int est_require_binding;	/* --est-require-binding */
	int est_serverkeygen;		/* --est-serverkeygen */
	struct enroll_config enroll;
	struct revocation_config crl;	/* --crl-days */
	const char *hosts_file;		/* --hosts-file: kept current for the LAN's DNS */
	int allow_unlocked_keys;	/* --allow-unlocked-keys: for the signer */
	unsigned request_s;		/* --request-timeout; 0: httpd's default */
	/* Scheduled backups (--backup-dir; backupsched.h) */
	const char *backup_dir, *backup_pass_file;
	int64_t backup_every_s;
	unsigned backup_keep;
	int no_acme;			/* --no-acme */
	struct acme_config acme;	/* --acme-insecure-ports: its challenge ports */
};

static void
serve_usage(FILE *f)
{
	fprintf(f,
		"usage: lanca serve [--dir DIR] [--https ADDR:PORT] [--http ADDR:PORT] [--user USER]\n"
		"                   [--web-dir DIR] [--passphrase-file FILE] [--signer-threads N]\n"
		"                   [--monitor SECONDS] [--renew-grace DAYS] [--pending-days DAYS]\n"
		"                   [--enroll-rate PER_SECOND] [--enroll-burst N]\n"
		"                   [--est-label LABEL] [--est-require-binding] [--est-serverkeygen]\n"
		"                   [--crl-days DAYS] [--hosts-file FILE] [--allow-unlocked-keys]\n"
		"                   [--request-timeout SECONDS]\n"
		"                   [--backup-dir DIR --backup-passphrase-file F\n"
		"                    [--backup-every DURATION] [--backup-keep N]]\n"
		"                   [--no-acme] [--acme-insecure-ports HTTP01,TLSALPN01]\n");
}

/* Reads the gateway's chain and key (the key into locked memory). */
static int
serve_read_tls(const char *dir, unsigned char **chain, size_t *chain_len,
	       unsigned char **key, size_t *key_len, struct lerr *e)
{
	char path[STATE_PATH_MAX];

	*chain = *key = NULL;
	if (state_path(path, dir, STATE_GATEWAY_PEM) != 0 ||
	    fileio_read(path, SERVE_TLS_MAX, 0, chain, chain_len, e) != 0)
		return -1;
	if (state_path(path, dir, STATE_GATEWAY_KEY) != 0 ||
	    fileio_read(path, SERVE_TLS_MAX, 1, key, key_len, e) != 0) {
		free(*chain);
		*chain = NULL;
		return -1;
	}
	return 0;
}

/* Renews the gateway's certificate when due and, if h is running, hands
 * the new one to it. Failures are logged: the old certificate still works. */
static void
serve_renew_gateway(struct app *app, struct httpd *h)
{
	unsigned char *chain = NULL, *key = NULL;
	size_t chain_len = 0, key_len = 0;
	struct issuer is;
	struct lerr e;

	if (!gateway_due(app->dir, &app->ca, time(NULL)))
		return;
	is.store = app->store;
	is.signer = app->signer;
	is.policy = &app->policy;
	is.ca_id = app->ca.issuing_id;
	if (gateway_issue(&is, app->dir, &app->ca, &e) != 0) {
		log_err("cannot renew the gateway certificate: %s", e.msg);
		return;
	}
	log_info("renewed the gateway certificate");
	if (h == NULL)
		return;
	if (serve_read_tls(app->dir, &chain, &chain_len, &key, &key_len, &e) != 0 ||
	    httpd_set_tls(h, (const char *)chain, (const char *)key, &e) != 0)
		log_err("cannot load the renewed gateway certificate: %s", e.msg);
	free(chain);
	fileio_free_secret(key, key_len);
}

/* Housekeeping on every tick: expired requests, the gateway certificate,
 * the audit log's ended sessions and checkpoints, the CRL when one is due. */
static void
serve_tick(struct app *app, struct httpd *h)
{
	struct lerr e;
	size_t n = 0;

	if (store_request_expire(app->store, time(NULL), &n, &e) != 0)
		log_warn("cannot expire old requests: %s", e.msg);
	serve_renew_gateway(app, h);
	caexpiry_daily(&app->ca, (int64_t)time(NULL));
	enroll_tick(app->enroll);
	acme_tick(app->acme);
	auditlog_tick(app->store, app->signer, (int64_t)time(NULL));
	if (revocation_tick(app->revocation, &e) < 0)
		log_err("cannot make the CRL: %s", e.msg);
	if (app->revocation_prev != NULL && revocation_tick(app->revocation_prev, &e) < 0)
		log_err("cannot make the previous issuing CA's CRL: %s", e.msg);
}

/* Takes user's ids as the effective ones, keeping root's as the real and
 * saved ids to come back to (serve_become_root), when root runs serve
 * --user; otherwise does nothing (*pw NULL). */
static int
serve_become_user(const char *user, struct passwd **pw, gid_t *gid, struct lerr *e)
{
	int err;

	*pw = NULL;
	if (user == NULL || geteuid() != 0)
		return 0;
	if ((*pw = getpwnam(user)) == NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "no such user: %s", user);
	*gid = getegid();
	if (setegid((*pw)->pw_gid) != 0)
		goto fail;
	if (seteuid((*pw)->pw_uid) != 0) {
		err = errno;
		if (setegid(*gid) != 0)	/* still root, and it just worked */
			err = errno;
		errno = err;
		goto fail;
	}
	return 0;
fail:
	*pw = NULL;
	return lerr_set(e, LERR_INTERNAL, "cannot act as %s: %s", user, strerror(errno));
}

/* Back to root after serve_become_user. Failing that (a system-call
 * filter could), serve must not go on: -1 with e. */
static int
serve_become_root(const struct passwd *pw, gid_t gid, struct lerr *e)
{
	if (pw != NULL && (seteuid(0) != 0 || setegid(gid) != 0))
		return lerr_set(e, LERR_INTERNAL, "cannot become root again after acting as %s: %s",
				pw->pw_name, strerror(errno));
	return 0;
}

/* Reads what root needs from the store before the signer starts: the
 * view that a rollover's recovery and the keys/ check go by (*have_view
 * 0 when there is no store: its own open says so later) and, when keys/
 * lacks the signer's chain (an older state directory, want_adopt), the
 * store's. As --user when root serves as another user: the store and
 * what SQLite makes beside it (-wal, -shm) are the user's, and root may
 * not read them without CAP_DAC_OVERRIDE; all of it is closed again
 * before root's ids come back. */
static int
serve_read_as_user(const char *dir, const char *user, struct rollover_view *view,
		   int *have_view, int want_adopt, struct signer_adopt *adopt, struct lerr *e)
{
	struct passwd *pw;
	struct store *s = NULL;
	gid_t gid = 0;
	int rc = -1;

	*have_view = 0;
	if (serve_become_user(user, &pw, &gid, e) != 0)
		return -1;
	if (state_store_present(dir)) {
		if (state_store_open(dir, STORE_READONLY, &s, e) != 0 ||
		    rollover_view_read(s, view, e) != 0)
			goto out;
		*have_view = 1;
	}
	if (want_adopt && state_signer_adopt(dir, adopt, e) != 0) {
		char why[sizeof(e->msg)];

		memcpy(why, e->msg, sizeof(why));
		lerr_set(e, e->code, "cannot read the CA chain to recreate %s/%s: %s", dir,
			 SIGNER_KEYS_DIR, why);
		goto out;
	}
	rc = 0;
out:
	store_close(s);
	if (serve_become_root(pw, gid, e) != 0)
		rc = -1;
	return rc;
}

/* The issuing CA the newest rollover succeeded, when its leaves may still
 * need CRLs: not after a compromise (that CA is revoked, its key gone),
 * nor once it has expired (and every leaf of it with it), nor on a
 * gateway whose own issuing CA (current) is not the one the rollover made,
 * nor on any gateway that joined a site (dir has a gateway.name): join
 * writes no previous generation's keys, so its signer holds none. */
static int
serve_previous_ca(const char *dir, struct store *s, int64_t current, int64_t *ca_id,
		  struct lerr *e)
{
	char joined[STATE_GATEWAY_NAME_MAX + 1];
	struct store_ca *old = NULL;
	struct store_rollover r;

	*ca_id = 0;
	if (state_gateway_name(dir, joined, e) != 0)
		return -1;
	if (joined[0] != '\0')
		return 0;
	if (store_rollover_newest(s, &r, e) != 0) {
		if (e->code != LERR_NOT_FOUND)
			return -1;
		lerr_clear(e);
		return 0;
	}
	if (r.compromise || r.new_issuing != current)
		return 0;
	if (store_ca_get(s, r.old_issuing, &old, e) != 0)
		return -1;
	if (old->not_after > (int64_t)time(NULL) && old->revoked_at == 0)
		*ca_id = r.old_issuing;
	store_ca_free(old);
	return 0;
}

/* Waits for a signal to stop; returns the exit status. SIGUSR1 is the
 * button with its defaults (for GPIO scripts and `kill -USR1`). */
static int
serve_wait(struct app *app, struct httpd *h, const sigset_t *set)
{
	struct timespec tick = { SERVE_TICK_S, 0 };
	siginfo_t si;
	struct lerr e;
	int sig, status;
	pid_t pid = signer_pid(app->signer);
	struct timespec mono;
	time_t now, last;

	/* Housekeeping is timed on the monotonic clock: a wall clock that
	 * steps back must not hold it off. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	last = mono.tv_sec;

	for (;;) {
		/* A scheduled backup due before the next tick wakes it early. */
		tick.tv_sec = SERVE_TICK_S;
		if (app->backups != NULL) {
			int64_t due = backupsched_wait(app->backups, (int64_t)time(NULL));

			if (due < SERVE_TICK_S)
				tick.tv_sec = (time_t)due;
		}
		sig = sigtimedwait(set, &si, &tick);
		if (sig < 0 && errno == EAGAIN) {
			if (app->backups != NULL)
				(void)backupsched_tick(app->backups, app->store, app->signer,
						       (int64_t)time(NULL));
			clock_gettime(CLOCK_MONOTONIC, &mono);
			now = mono.tv_sec;
			if (now - last >= SERVE_TICK_S) {
				serve_tick(app, h);
				last = now;
			}
			continue;
		}
		if (sig == SIGUSR1) {
			if (admin_press(app->enroll, NULL, "signal SIGUSR1", NULL, &e) != 0)
				log_err("press: %s", e.msg);
			else
				log_info("onboarding window opened by SIGUSR1");
			continue;
		}
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on signal %d", sig);
			return CMD_OK;
		}
		if (sig == SIGCHLD && pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			log_err("the signer process stopped (%s %d): stopping",
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return CMD_FAILED;
		}
	}
}

static int
serve_parse(int argc, char *argv[], struct serve_opts *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "https", required_argument, NULL, 's' },
		{ "http", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "web-dir", required_argument, NULL, 'w' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "signer-threads", required_argument, NULL, 't' },
		{ "monitor", required_argument, NULL, 'm' },
		{ "renew-grace", required_argument, NULL, 'g' },
		{ "pending-days", required_argument, NULL, 'D' },
		{ "enroll-rate", required_argument, NULL, 'r' },
		{ "enroll-burst", required_argument, NULL, 'b' },
		{ "est-label", required_argument, NULL, 'L' },
		{ "est-require-binding", no_argument, NULL, 'B' },
		{ "est-serverkeygen", no_argument, NULL, 'K' },
		{ "crl-days", required_argument, NULL, 'C' },
		{ "hosts-file", required_argument, NULL, 'H' },
		{ "allow-unlocked-keys", no_argument, NULL, 'U' },
		{ "request-timeout", required_argument, NULL, 'T' },
		{ "backup-dir", required_argument, NULL, 'A' },
		{ "backup-passphrase-file", required_argument, NULL, 'Q' },
		{ "backup-every", required_argument, NULL, 'E' },
		{ "backup-keep", required_argument, NULL, 'k' },
		{ "no-acme", no_argument, NULL, 'N' },
		{ "acme-insecure-ports", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->https = "0.0.0.0:443";
	o->http = "0.0.0.0:80";
	o->web_dir = LANCA_WEBDIR;
	o->rate = SERVE_RATE_PER_S;
	o->burst = SERVE_RATE_BURST;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 's': o->https = optarg; break;
		case 'p': o->http = optarg[0] != '\0' ? optarg : NULL; break;
		case 'u': o->user = optarg; break;
		case 'w': o->web_dir = optarg; break;
		case 'P': o->pass_file = optarg; break;
		case 'B': o->est_require_binding = 1; break;
		case 'H': o->hosts_file = optarg; break;
		case 'K': o->est_serverkeygen = 1; break;
		case 'U': o->allow_unlocked_keys = 1; break;
		case 'N': o->no_acme = 1; break;
		case 'I': {
			/* Tests only: RFC 8555 and 8737 fix ports 80 and 443. */
			unsigned long hp, tp;

			errno = 0;
			hp = strtoul(optarg, &end, 10);
			tp = *end == ',' ? strtoul(end + 1, &end, 10) : 0;
			if (errno != 0 || *end != '\0' || hp < 1 || hp > 65535 || tp < 1 ||
			    tp > 65535) {
				cmd_error("serve", "--acme-insecure-ports %s: two ports, HTTP01,TLSALPN01",
					  optarg);
				return CMD_USAGE;
			}
			o->acme.http_port = (uint16_t)hp;
			o->acme.tls_port = (uint16_t)tp;
			break;
		}
		case 'L':
			/* A label is one path segment (RFC 7030 §3.2.2). */
			if (!http_param_ok(optarg, strlen(optarg))) {
				cmd_error("serve", "--est-label %s: 1 to %d of A-Z a-z 0-9 . _ ~ -",
					  optarg, HTTP_PARAM_MAX);
				return CMD_USAGE;
			}
			o->est_label = optarg;
			break;
		case 't':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > SIGNER_THREADS_MAX) {
				cmd_error("serve", "--signer-threads %s: from 1 to %d", optarg,
					  SIGNER_THREADS_MAX);
				return CMD_USAGE;
			}
			o->threads = (unsigned)n;
			break;
		case 'r':
		case 'b':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || n < 1 || n > 100000) {
				cmd_error("serve", "--enroll-%s %s: from 1 to 100000",
					  c == 'r' ? "rate" : "burst", optarg);
				return CMD_USAGE;
			}
			if (c == 'r')
				o->rate = (unsigned)n;
			else
				o->burst = (unsigned)n;
			break;
		case 'm':
		case 'g':
		case 'D':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' ||
			    (c == 'm' && (n < 1 || n > 3600)) || (c == 'g' && n > 3650) ||
			    (c == 'D' && (n < 1 || n > 365))) {
				cmd_error("serve", "--%s %s: out of range (monitor 1-3600 s, "
					  "renew-grace 0-3650 days, pending-days 1-365)",
					  c == 'm' ? "monitor" : c == 'g' ? "renew-grace" : "pending-days",
					  optarg);
				return CMD_USAGE;
			}
			if (c == 'm')
				o->enroll.monitor_s = (unsigned)n;
			else if (c == 'g')
				o->enroll.renew_grace_days = (unsigned)n;
			else
				o->enroll.pending_days = (unsigned)n;
			break;
		case 'C':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || n < 1 ||
			    n > REVOCATION_DAYS_MAX) {
				cmd_error("serve", "--crl-days %s: from 1 to %d", optarg,
					  REVOCATION_DAYS_MAX);
				return CMD_USAGE;
			}
			o->crl.days = (unsigned)n;
			break;
		case 'T':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || n < 1 ||
			    n > HTTPD_REQUEST_MAX_S) {
				cmd_error("serve", "--request-timeout %s: from 1 to %d seconds",
					  optarg, HTTPD_REQUEST_MAX_S);
				return CMD_USAGE;
			}
			o->request_s = (unsigned)n;
			break;
		case 'A': o->backup_dir = optarg; break;
		case 'Q': o->backup_pass_file = optarg; break;
		case 'E': {
			struct lerr e;

			if (admin_duration_parse(optarg, &o->backup_every_s, &e) != 0 ||
			    o->backup_every_s < BACKUPSCHED_EVERY_MIN_S) {
				cmd_error("serve", "--backup-every %s: a span of at least %d s "
					  "(N, Ns, Nh or Nd; 24h is usual)", optarg,
					  BACKUPSCHED_EVERY_MIN_S);
				return CMD_USAGE;
			}
			break;
		}
		case 'k':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' || n < 1 ||
			    n > BACKUPSCHED_KEEP_MAX) {
				cmd_error("serve", "--backup-keep %s: from 1 to %d", optarg,
					  BACKUPSCHED_KEEP_MAX);
				return CMD_USAGE;
			}
			o->backup_keep = (unsigned)n;
			break;
		case 'h':
			serve_usage(stdout);
			return -1;
		default:
			serve_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		serve_usage(stderr);
		return CMD_USAGE;
	}
	if ((o->backup_dir != NULL) != (o->backup_pass_file != NULL) ||
	    (o->backup_dir == NULL && (o->backup_every_s != 0 || o->backup_keep != 0))) {
		cmd_error("serve", "scheduled backups need --backup-dir and "
			  "--backup-passphrase-file together (--backup-every and --backup-keep "
			  "only with them)");
		return CMD_USAGE;
	}
	if (o->backup_dir != NULL && o->backup_dir[0] != '/') {
		cmd_error("serve", "--backup-dir %s: an absolute path", o->backup_dir);
		return CMD_USAGE;
	}
	if (o->backup_every_s == 0)
		o->backup_every_s = BACKUPSCHED_EVERY_DEFAULT_S;
	if (o->backup_keep == 0)
		o->backup_keep = BACKUPSCHED_KEEP_DEFAULT;
	o->dir = cmd_dir(o->dir);
	return 0;
}

/* The scheduled backups' recipient from --backup-passphrase-file, read
 * as root before anything else runs; the passphrase is wiped. Argon2id
 * at its default cost: each backup needs the passphrase to be opened. */
static int
serve_backup_recipient(const struct serve_opts *o, struct backupsched_config *bc,
		       struct bkf_author *author, struct lerr *e)
{
	char *pass = NULL, why[sizeof(e->msg)];
	struct stat st;
	int rc;

	/* Refused at the start rather than failing at every backup. */
	if (state_store_need_file(o->dir, e) != 0) {
		memcpy(why, e->msg, sizeof(why));
		return lerr_set(e, e->code, "--backup-dir: %s", why);
	}
	if (stat(o->backup_dir, &st) != 0)
		return lerr_set(e, LERR_NOT_FOUND, "--backup-dir %s: %s", o->backup_dir,
				strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lerr_set(e, LERR_BAD_REQUEST, "--backup-dir %s: not a directory",
				o->backup_dir);
	if (keystore_pass_read(o->backup_pass_file, &pass, e) != 0)
		return -1;
	rc = bkf_recipient_derive(pass, strlen(pass), NULL, &bc->to, author, e);
	keystore_pass_free(pass);
	return rc;
}

int
cmd_serve(int argc, char *argv[])
{
	unsigned char *chain = NULL, *key = NULL;
	size_t chain_len = 0, key_len = 0;
	struct signer_config sc;
	struct signer_adopt adopt;
	struct rollover_view view;
	struct httpd_config hc;
	struct httpd *h = NULL;
	struct control *ctl = NULL;
	struct hosts_file *hosts = NULL;
	struct window window;
	struct issuer is, prev_is;
	struct serve_opts o;
	struct backupsched_config bc;
	struct bkf_author author;
	struct app app;
	sigset_t set;
	char why[256];
	struct lerr e;
	int rc = CMD_FAILED, stop, window_ready = 0, lock = -1, want_adopt, have_view = 0, started;

	memset(&app, 0, sizeof(app));
	memset(&bc, 0, sizeof(bc));
	memset(&author, 0, sizeof(author));
	memset(&prev_is, 0, sizeof(prev_is));
	memset(&adopt, 0, sizeof(adopt));
	memset(&view, 0, sizeof(view));
	rc = serve_parse(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? CMD_OK : rc;
	rc = CMD_FAILED;
	log_set_tag("lanca");

	/* Blocked here, inherited by every thread; the signer unblocks them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);	/* reserved: ignored, never fatal */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Held until serve exits: no rollover changes keys/ meanwhile. */
	if (rollover_lock(o.dir, &lock, &e) != 0 ||
	    (o.user != NULL && geteuid() == 0 && handover_state(o.dir, o.user, &e) != 0)) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	/* A state directory from before keys/ held the signer's chain: offer
	 * the store's, which the signer writes only after proving it. */
	want_adopt = signer_files_missing(o.dir) != 0;
	if (serve_read_as_user(o.dir, o.user, &view, &have_view, want_adopt, &adopt, &e) != 0 ||
	    (have_view && rollover_recover_view(o.dir, &view, &e) != 0)) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	/* Scheduled backups: only the passphrase's public half stays
	 * (backupsched.h); the signer seals keys/ to it. */
	if (o.backup_dir != NULL && serve_backup_recipient(&o, &bc, &author, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	memset(&sc, 0, sizeof(sc));
	sc.backup_to = o.backup_dir != NULL ? &bc.to : NULL;
	sc.backup_author = o.backup_dir != NULL ? &author : NULL;
	sc.dir = o.dir;
	sc.pass_file = o.pass_file;
	sc.user = o.user;
	sc.threads = o.threads;
	sc.allow_unlocked_keys = o.allow_unlocked_keys;
	if (want_adopt) {
		log_info("%s/%s lacks the signer's chain: the signer checks the store's and writes it",
			 o.dir, SIGNER_KEYS_DIR);
		sc.adopt = &adopt;
	}
	started = signer_start(&sc, &app.signer, &e);
	/* The signer has its copy: this process, which faces the network,
	 * keeps none. */
	sodium_memzero(&author, sizeof(author));
	sc.backup_author = NULL;
	if (started != 0) {
		cmd_error("serve", "cannot start the signer: %s", e.msg);
		goto out;
	}
	/* After the signer proved keys/ (its refusal names what is wrong with
	 * them), that the store records under the same issuing CA. */
	if (have_view && rollover_check_keys(o.dir, &view, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	/* The ports, without the certificate: its key is the user's. */
	memset(&hc, 0, sizeof(hc));
	hc.https_addr = o.https;
	hc.http_addr = o.http;
	hc.request_s = o.request_s;
	if (httpd_bind(&hc, &h, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	if (proc_drop_privileges(o.user, why, sizeof(why)) != 0 ||
	    sandbox_network(o.dir, o.web_dir, o.hosts_file, o.backup_dir, why, sizeof(why)) != 0) {
		cmd_error("serve", "%s", why);
		goto out;
	}
	if (o.backup_dir != NULL && access(o.backup_dir, W_OK | X_OK) != 0) {
		cmd_error("serve", "--backup-dir %s: %s for the user serve runs as (%s)",
			  o.backup_dir, strerror(errno), o.user != NULL ? o.user : "this one");
		goto out;
	}
	/* From here on as the user: everything the store and the gateway's
	 * renewal create is the user's. */
	app.dir = o.dir;
	app.web_dir = o.web_dir;
	app.started = time(NULL);
	if (state_store_open(o.dir, 0, &app.store, &e) != 0 ||
	    ca_set_load(app.store, &app.ca, &e) != 0 ||
	    policy_from_ca(&app.policy, app.ca.issuing, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	/* On record before anything is served, and signed at once: the
	 * rows of an older state directory are chained by now, and a
	 * checkpoint vouches for them from here on. */
	if (auditlog_key_load(app.store, signer_pid(app.signer), app.ca.issuing_fp, &e) != 0 ||
	    (auditlog_checkpoint(app.store, app.signer, (int64_t)time(NULL), &e) != 0 &&
	     e.code != LERR_STORE_UNAVAILABLE)) {
		cmd_error("serve", "audit log: %s", e.msg);
		goto out;
	}
	serve_renew_gateway(&app, NULL);
	window_init(&window);
	window_ready = 1;
	is.store = app.store;
	is.signer = app.signer;
	is.policy = &app.policy;
	is.ca_id = app.ca.issuing_id;
	app.ratelimit = ratelimit_new((double)o.rate, (double)o.burst, SERVE_RATE_ADDRS);
	app.login_fails = ratelimit_fails_new();
	app.secret_fails = ratelimit_fails_new();
	app.est_label = o.est_label;
	app.est_require_binding = o.est_require_binding;
	app.est_serverkeygen = o.est_serverkeygen;
	if (revocation_new(&is, &o.crl, &app.revocation, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	/* A CRL is served from the first request on: made now when there is
	 * none, or a revocation came after the newest (`lanca revoke` while
	 * no daemon ran). Failing that, serving goes on with the newest. */
	if (revocation_tick(app.revocation, &e) < 0)
		log_err("cannot make the CRL: %s", e.msg);
	if (serve_previous_ca(o.dir, app.store, app.ca.issuing_id, &prev_is.ca_id, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	if (prev_is.ca_id != 0) {
		struct revocation_config pc = o.crl;

		prev_is.store = app.store;
		prev_is.signer = app.signer;
		prev_is.policy = &app.policy;
		pc.generation = 1;
		if (revocation_new(&prev_is, &pc, &app.revocation_prev, &e) != 0) {
			cmd_error("serve", "%s", e.msg);
			goto out;
		}
		if (revocation_tick(app.revocation_prev, &e) < 0)
			log_err("cannot make the previous issuing CA's CRL: %s", e.msg);
		revocation_chain(app.revocation, app.revocation_prev);
	}
	o.enroll.revocation = app.revocation;
	if (app.ratelimit == NULL || app.login_fails == NULL || app.secret_fails == NULL ||
	    enroll_new(&is, &app.ca, &window, &o.enroll, &app.enroll, &e) != 0) {
		cmd_error("serve", "%s", app.ratelimit == NULL || app.login_fails == NULL ||
						 app.secret_fails == NULL ?
				  "out of memory" : e.msg);
		goto out;
	}
	if (!o.no_acme) {
		if (o.acme.http_port != 0)
			log_warn("ACME challenges are validated on ports %u and %u, not 80 and 443: "
				 "for tests only", o.acme.http_port, o.acme.tls_port);
		o.acme.dir = o.dir;
		if (acme_nonces_new(&app.acme_nonces) != 0 ||
		    acme_new(app.enroll, app.store, &app.policy, app.revocation, &app.ca, &o.acme,
			     &app.acme, &e) != 0) {
			cmd_error("serve", "%s", app.acme_nonces == NULL ? "out of memory" : e.msg);
			goto out;
		}
	}
	if (serve_read_tls(o.dir, &chain, &chain_len, &key, &key_len, &e) != 0 ||
	    httpd_set_tls(h, (const char *)chain, (const char *)key, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl;

		if (httpd_parse_addr(o.https, &ss, &sl, &app.https_port, &e) != 0 ||
		    (o.http != NULL && httpd_parse_addr(o.http, &ss, &sl, &app.http_port, &e) != 0)) {
			cmd_error("serve", "%s", e.msg);
			goto out;
		}
	}
	/* Written as the user serve runs as, before any request can change
	 * what it lists. */
	if (o.hosts_file != NULL &&
	    hosts_file_start(app.store, o.hosts_file, NULL, NULL, &hosts, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	if (o.backup_dir != NULL) {
		bc.state_dir = o.dir;
		bc.dir = o.backup_dir;
		bc.every_s = o.backup_every_s;
		bc.keep = o.backup_keep;
		bc.keys_encrypted = o.pass_file != NULL;
		snprintf(bc.site, sizeof(bc.site), "%.*s", BACKUPSCHED_SITE_LEN, app.ca.root_fp);
		app.backups = backupsched_new(&bc, app.store, (int64_t)time(NULL));
		if (app.backups == NULL) {
			cmd_error("serve", "out of memory");
			goto out;
		}
	}
	if (httpd_start(h, &app, &http_routes, &e) != 0 ||
	    control_start(o.dir, app.enroll, app.revocation, app.store, &ctl, &e) != 0) {
		cmd_error("serve", "%s", e.msg);
		goto out;
	}
	fileio_free_secret(key, key_len);
	key = NULL;
	log_info("serving https on %s%s%s (signer pid %ld)", o.https,
		 o.http ? ", http on " : "", o.http ? o.http : "", (long)signer_pid(app.signer));
	/* At once too: an admin restarting the daemon sees the warning. */
	caexpiry_daily(&app.ca, (int64_t)time(NULL));
	rc = serve_wait(&app, h, &set);
	/* The last rows signed while the signer is still there. */
	if (auditlog_checkpoint(app.store, app.signer, (int64_t)time(NULL), &e) != 0)
		log_err("cannot take the last audit checkpoint: %s", e.msg);
out:
	control_stop(ctl);
	httpd_stop(h);
	hosts_file_stop(hosts);
	acme_free(app.acme);
	acme_nonces_free(app.acme_nonces);
	enroll_free(app.enroll);
	revocation_free(app.revocation);
	revocation_free(app.revocation_prev);
	ratelimit_free(app.ratelimit);
	ratelimit_fails_free(app.login_fails);
	ratelimit_fails_free(app.secret_fails);
	backupsched_free(app.backups);
	store_close(app.store);
	stop = signer_stop(app.signer);
	if (rc == CMD_OK && stop != 0) {
		log_err("the signer exited with status %d", stop);
		rc = CMD_FAILED;
	}
	if (window_ready)
		window_destroy(&window);
	ca_set_free(&app.ca);
	policy_free(&app.policy);
	signer_adopt_free(&adopt);
	rollover_view_free(&view);
	rollover_unlock(lock);
	free(chain);
	fileio_free_secret(key, key_len);
	sodium_memzero(&bc, sizeof(bc));
	sodium_memzero(&author, sizeof(author));
	return rc;
}
