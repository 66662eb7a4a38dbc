/*
 * backupsched.c - the daemon's scheduled backups (backupsched.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/log.h"
#include "daemon/backup.h"
#include "daemon/backupsched.h"
#include "signer/signer.h"
#include "store/store.h"

#define BACKUPSCHED_PREFIX	"lanca-"
#define BACKUPSCHED_SUFFIX	".bk"
/* lanca-SITE-YYYYMMDDTHHMMSSZ.bk: SITE is BACKUPSCHED_SITE_LEN characters */
#define BACKUPSCHED_STAMP_AT	(sizeof(BACKUPSCHED_PREFIX) - 1 + BACKUPSCHED_SITE_LEN + 1)
#define BACKUPSCHED_NAME_LEN	(BACKUPSCHED_STAMP_AT + 16 + sizeof(BACKUPSCHED_SUFFIX) - 1)

struct backupsched {
	struct backupsched_config c;
	pthread_mutex_t lock;		/* st: the scrapes and the API read it */
	struct backupsched_status st;
};

/* Whether name is one of this site's: lanca-SITE-YYYYMMDDTHHMMSSZ.bk
 * exactly. Another gateway's backups in the same directory are not. */
static int
backupsched_ours(const char *name, const char *site)
{
	size_t i, p = BACKUPSCHED_STAMP_AT;

	if (strlen(name) != BACKUPSCHED_NAME_LEN ||
	    strncmp(name, BACKUPSCHED_PREFIX, sizeof(BACKUPSCHED_PREFIX) - 1) != 0 ||
	    strncmp(name + sizeof(BACKUPSCHED_PREFIX) - 1, site, BACKUPSCHED_SITE_LEN) != 0 ||
	    name[p - 1] != '-' || strcmp(name + p + 16, BACKUPSCHED_SUFFIX) != 0 ||
	    name[p + 8] != 'T' || name[p + 15] != 'Z')
		return 0;
	for (i = 0; i < 15; i++)
		if (i != 8 && (name[p + i] < '0' || name[p + i] > '9'))
			return 0;
	return 1;
}

static int
backupsched_newer_first(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Removes our backups in dir beyond the newest keep (names sort as their
 * times). Other files are never touched. */
static void
backupsched_prune(const char *dir, const char *site, unsigned keep, const char *just)
{
	char **names = NULL, **more, path[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dh;

	dh = opendir(dir);
	if (dh == NULL) {
		log_warn("cannot list %s to remove old backups: %s", dir, strerror(errno));
		return;
	}
	while ((d = readdir(dh)) != NULL) {
		if (!backupsched_ours(d->d_name, site))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			more = realloc(names, cap * sizeof(*names));
			if (more == NULL)
				break;
			names = more;
		}
		if ((names[n] = strdup(d->d_name)) == NULL)
			break;
		n++;
	}
	closedir(dh);
	qsort(names, n, sizeof(*names), backupsched_newer_first);
	/* Names sort as their times: one after the backup just written was
	 * made when the clock ran ahead. It is counted, never preferred to
	 * the one just written, which is never removed. */
	if (n > 0 && strcmp(names[0], just) > 0)
		log_warn("%s holds backups named after %s (the clock ran ahead once?): they count "
			 "towards --backup-keep", dir, just);
	for (i = 0; i < n; i++) {
		if (i >= keep && strcmp(names[i], just) != 0 &&
		    fileio_join(path, sizeof(path), dir, names[i]) == 0) {
			if (unlink(path) == 0)
				log_info("removed the old backup %s (--backup-keep %u)", names[i], keep);
			else
				log_warn("cannot remove the old backup %s: %s", path, strerror(errno));
		}
		free(names[i]);
	}
	free(names);
	if (keep < n)
		(void)fileio_sync_dir(dir);
}

json_t *
backupsched_json(struct backupsched *b, int public_view)
{
	struct backupsched_status st;
	json_t *j;

	backupsched_status(b, &st);
	j = json_pack("{s:I, s:i, s:I, s:o, s:o, s:b, s:I, s:I}",
		      "every", (json_int_t)b->c.every_s, "keep", (int)b->c.keep,
		      "next", (json_int_t)st.next,
		      "last_success", st.last_success ? json_integer(st.last_success) : json_null(),
		      "last_failure", st.last_failure ? json_integer(st.last_failure) : json_null(),
		      "failing", st.last_failure > st.last_success,
		      "successes", (json_int_t)st.successes, "failures", (json_int_t)st.failures);
	if (j == NULL || public_view)
		return j;
	if (json_object_set_new(j, "file", json_string(st.last_file)) != 0 ||
	    json_object_set_new(j, "bytes", json_integer((json_int_t)st.last_bytes)) != 0 ||
	    json_object_set_new(j, "error", json_string(st.last_error)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* What a previous run left in the store: when its last backup was. */
static void
backupsched_load(struct backupsched *b, struct store *s)
{
	json_t *j = NULL, *v;
	char *text = NULL;
	const char *str;
	struct lerr e;

	if (s == NULL || store_setting_get(s, BACKUPSCHED_SETTING, &text, &e) != 0 || text == NULL)
		return;
	j = json_loads(text, 0, NULL);
	free(text);
	if (j == NULL)
		return;
	if (json_is_integer(v = json_object_get(j, "last_success")))
		b->st.last_success = json_integer_value(v);
	if (json_is_integer(v = json_object_get(j, "last_failure")))
		b->st.last_failure = json_integer_value(v);
	if (json_is_integer(v = json_object_get(j, "bytes")))
		b->st.last_bytes = (uint64_t)json_integer_value(v);
	if ((str = json_string_value(json_object_get(j, "file"))) != NULL)
		snprintf(b->st.last_file, sizeof(b->st.last_file), "%s", str);
	if ((str = json_string_value(json_object_get(j, "error"))) != NULL)
		snprintf(b->st.last_error, sizeof(b->st.last_error), "%s", str);
	json_decref(j);
}

struct backupsched *
backupsched_new(const struct backupsched_config *c, struct store *s, int64_t now)
{
	struct backupsched *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->c = *c;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	backupsched_load(b, s);
	/* A period after the last good one, or now when there was none or
	 * it is overdue: a new schedule proves at once that it works. */
	b->st.next = b->st.last_success != 0 && b->st.last_success + c->every_s > now ?
		     b->st.last_success + c->every_s : now;
	/* A last backup "in the future" was made while the clock ran ahead:
	 * waiting for it would stop backups until then. */
	if (b->st.next > now + c->every_s)
		b->st.next = now;
	{
		char prefix[sizeof(BACKUPSCHED_PREFIX) + BACKUPSCHED_SITE_LEN + 1];

		if (snprintf(prefix, sizeof(prefix), "%s%s-", BACKUPSCHED_PREFIX, c->site) <
		    (int)sizeof(prefix))
			backup_sweep(c->state_dir, c->dir, prefix);
	}
	return b;
}

void
backupsched_free(struct backupsched *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->lock);
	sodium_memzero(&b->c.to, sizeof(b->c.to));
	free(b);
}

int64_t
backupsched_wait(struct backupsched *b, int64_t now)
{
	int64_t next;

	pthread_mutex_lock(&b->lock);
	next = b->st.next;
	pthread_mutex_unlock(&b->lock);
	return next > now ? next - now : 0;
}

void
backupsched_status(struct backupsched *b, struct backupsched_status *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->st;
	pthread_mutex_unlock(&b->lock);
}

/* The audit row and the store's setting for what just happened. */
static void
backupsched_record(struct backupsched *b, struct store *s, int ok, const char *name,
		   const struct backup_summary *sum, const char *why)
{
	json_t *detail, *setting;
	char *dt = NULL, *st = NULL;
	struct lerr e;

	detail = ok ? json_pack("{s:I, s:I}", "bytes", (json_int_t)sum->bytes,
				"certificates", (json_int_t)sum->certificates) :
		      json_pack("{s:s}", "error", why);
	setting = backupsched_json(b, 0);
	if (detail != NULL)
		dt = json_dumps(detail, JSON_COMPACT);
	if (setting != NULL)
		st = json_dumps(setting, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(detail);
	json_decref(setting);
	if (dt == NULL || store_audit(s, "daemon", ok ? "backup" : "backup-failed", name, dt, &e) != 0)
		log_err("cannot audit the scheduled backup %s: %s", name,
			dt == NULL ? "out of memory" : e.msg);
	if (st == NULL || store_setting_set(s, BACKUPSCHED_SETTING, st, &e) != 0)
		log_err("cannot record the scheduled backup %s: %s", name,
			st == NULL ? "out of memory" : e.msg);
	free(dt);
	free(st);
}

int
backupsched_tick(struct backupsched *b, struct store *s, struct signer *sg, int64_t now)
{
	char name[64], path[4096];
	struct backup_summary sum;
	unsigned char *keys = NULL;
	size_t keys_len = 0;
	time_t t = (time_t)now;
	struct tm tm;
	struct lerr e;
	int rc;

	pthread_mutex_lock(&b->lock);
	/* Not due, unless the clock stepped back by more than a period. */
	if (now < b->st.next && b->st.next - now <= b->c.every_s) {
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	/* Whatever happens, the next try is a period away. */
	b->st.next = now + b->c.every_s;
	pthread_mutex_unlock(&b->lock);
	memset(&sum, 0, sizeof(sum));
	lerr_clear(&e);
	if (snprintf(name, sizeof(name), "%s%s-", BACKUPSCHED_PREFIX, b->c.site) !=
	    (int)BACKUPSCHED_STAMP_AT || gmtime_r(&t, &tm) == NULL ||
	    strftime(name + BACKUPSCHED_STAMP_AT, sizeof(name) - BACKUPSCHED_STAMP_AT,
		     "%Y%m%dT%H%M%SZ" BACKUPSCHED_SUFFIX, &tm) == 0 ||
	    fileio_join(path, sizeof(path), b->c.dir, name) != 0) {
		lerr_set(&e, LERR_INTERNAL, "cannot name the backup");
		rc = -1;
	} else {
		rc = signer_backup_keys(sg, &keys, &keys_len, &e);
		if (rc == 0)
			rc = backup_write_sealed(b->c.state_dir, path, &b->c.to, signer_backup_tag, sg,
						 keys, keys_len, b->c.keys_encrypted, s, &sum, &e);
	}
	free(keys);
	pthread_mutex_lock(&b->lock);
	if (rc == 0) {
		b->st.successes++;
		b->st.last_success = now;
		b->st.last_bytes = sum.bytes;
		snprintf(b->st.last_file, sizeof(b->st.last_file), "%s", name);
	} else {
		b->st.failures++;
		b->st.last_failure = now;
		snprintf(b->st.last_error, sizeof(b->st.last_error), "%s", e.msg);
	}
	pthread_mutex_unlock(&b->lock);
	if (rc == 0) {
		log_info("scheduled backup %s: %llu bytes, certificates: %lld", path,
			 (unsigned long long)sum.bytes, (long long)sum.certificates);
		backupsched_prune(b->c.dir, b->c.site, b->c.keep, name);
	} else {
		log_err("scheduled backup into %s failed: %s (next try in %lld s)", b->c.dir, e.msg,
			(long long)b->c.every_s);
	}
	backupsched_record(b, s, rc == 0, name, &sum, e.msg);
	return rc == 0 ? 1 : -1;
}
