/*
 * backupsched.h - the daemon's scheduled backups (`lanca serve
 * --backup-dir D --backup-every 24h --backup-keep 7
 * --backup-passphrase-file F`).
 *
 * Owns: when one is due, the files' names (lanca-SITE-YYYYMMDDTHHMMSSZ.bk
 * in D, SITE the root's SHA-256's first 8 hex digits, so that gateways may
 * share a directory), keeping the newest --backup-keep of this site's, and
 * what the last ones
 * did: the audit row of each ("backup", its file and size, or why it
 * failed), the store setting "backup" that `lanca status` reads, and the
 * counts /metrics and /api/v1/status show. A failure is logged as an
 * error and tried again at the next period.
 *
 * No passphrase stays on the gateway: serve derives from it, at its
 * start, a bkf_recipient (the public half) and the author key
 * (ca/backupfile.h), gives both to the signer, keeps the recipient and
 * wipes the rest. The signer seals keys/ to the recipient once, at its own
 * start (signer/files.h), and tags each backup's digest with the author
 * key on request; every backup holds that ciphertext and the store's
 * snapshot, sealed to the same recipient (daemon/backup.h). So the network
 * process writes backups it cannot read, never sees a key, and one who has
 * read backups cannot make one that restore accepts.
 */
#ifndef LANCA_BACKUPSCHED_H
#define LANCA_BACKUPSCHED_H

#include <stdint.h>
#include <jansson.h>
#include "ca/backupfile.h"
#include "common/lerr.h"

#define BACKUPSCHED_EVERY_MIN_S	5		/* a test's period; a day is usual */
#define BACKUPSCHED_EVERY_DEFAULT_S	86400
#define BACKUPSCHED_KEEP_DEFAULT	7
#define BACKUPSCHED_KEEP_MAX	1000
#define BACKUPSCHED_SETTING	"backup"
#define BACKUPSCHED_SITE_LEN	8

struct store;
struct signer;

struct backupsched_config {
	const char *state_dir;
	const char *dir;		/* --backup-dir */
	int64_t every_s;
	unsigned keep;
	char site[BACKUPSCHED_SITE_LEN + 1];	/* the root's SHA-256's first hex digits */
	struct bkf_recipient to;	/* the public half; the author key is the signer's */
	int keys_encrypted;		/* the CA keys are under their own passphrase */
};

/* What the last backups did. Times are Unix seconds, 0 for never. */
struct backupsched_status {
	int64_t last_success, last_failure, next;
	uint64_t successes, failures, last_bytes;
	char last_file[256];		/* the newest good one's name in dir */
	char last_error[512];		/* the newest failure's reason */
};

struct backupsched;
/* The first backup is due now, unless the store says the last one (of a
 * previous run) is younger than a period: then a period after it. NULL
 * when out of memory. */
struct backupsched *backupsched_new(const struct backupsched_config *c, struct store *s,
				    int64_t now);
void backupsched_free(struct backupsched *b);	/* NULL-safe */

/* Runs a backup when one is due at now; does nothing otherwise. 1 when
 * one was made, 0 when none was due, -1 when it failed (logged, audited,
 * and retried at the next period). */
int backupsched_tick(struct backupsched *b, struct store *s, struct signer *sg, int64_t now);
/* Seconds until the next is due (0 when due). */
int64_t backupsched_wait(struct backupsched *b, int64_t now);
/* A copy of the status; safe from any thread. */
void backupsched_status(struct backupsched *b, struct backupsched_status *out);
/* The status as the store's setting holds it, and as /api/v1/status
 * shows it without the file's name and the reason (public_view):
 * {"every":S, "keep":N, "next":T, "last_success":T|null,
 *  "last_failure":T|null, "failing":bool, "successes":N, "failures":N,
 *  "file":NAME, "bytes":N, "error":TEXT}. New reference, NULL when out
 * of memory. */
json_t *backupsched_json(struct backupsched *b, int public_view);

#endif
