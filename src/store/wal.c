/*
 * wal.c - the write-ahead log's accounting and checkpoints (see internal.h).
 *
 * SQLite's own policy checkpoints on the committing connection once the
 * WAL passes 1,000 pages: the writer thread then copies pages into the
 * database file and fsyncs it while every caller of the next batch waits.
 * Here a hook on the writer's connection only counts the frames each
 * commit appended and, past STORE_WAL_CHECKPOINT frames, wakes a thread
 * of its own, which runs a PASSIVE checkpoint on its own connection: it
 * copies what no reader still needs without taking the write lock, and
 * the next write transaction after a complete checkpoint starts the WAL
 * again from its beginning. Setting the hook turns SQLite's automatic
 * checkpoints off (both use the same slot), so this thread is the only
 * one that checkpoints while the store is open.
 *
 * The WAL starts over only when a write transaction begins with every
 * frame copied. Under a steady stream of commits the thread never quite
 * gets there (the writer appends while it copies), so past STORE_WAL_HARD
 * frames the writer itself runs a PASSIVE checkpoint after its commit, as
 * SQLite's own policy would: the thread has copied most frames already,
 * so the writer copies only the rest, and its next batch writes from the
 * WAL's start. The WAL stays a few MiB however long the load lasts. (A
 * RESTART checkpoint from the thread would have to catch the write lock
 * between two batches, which its busy handler's sleeps keep missing.)
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "store/db_sqlite.h"
#include "store/store.h"

#define STORE_WAL_CHECKPOINT	1000	/* frames: wake the checkpointer */
#define STORE_WAL_HARD		4000	/* frames: the writer checkpoints the rest itself */
#define STORE_WAL_FRAME_HDR	24	/* bytes each frame adds to its page */
#define STORE_WAL_BUSY_MS	2000

struct store_wal {
	sqlite3 *db;			/* the checkpointer's connection */
	char *path;			/* the database, to open db afresh */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int want;			/* frames in the WAL when woken, 0 = idle */
	int stopping;
	int last;			/* writer thread only: frames after its last commit */
	int64_t page_size;
	atomic_uint_least64_t frames, checkpoints, ckpt_pages;
};

/*
 * The writer's commit hook: n is the number of frames in the WAL after the
 * commit. Fewer than after the last one means the WAL started over, and
 * everything in it now is this commit's.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int n)
{
	struct store_wal *w = arg;
	int added = n >= w->last ? n - w->last : n;
	int nlog, nckpt;

	w->last = n;
	atomic_fetch_add(&w->frames, (uint_least64_t)added);
	if (n >= STORE_WAL_HARD) {
		/* Busy while the thread checkpoints: the next commit retries. */
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &nlog,
					      &nckpt) == SQLITE_OK) {
			atomic_fetch_add(&w->checkpoints, 1);
			if (nckpt > 0)
				atomic_fetch_add(&w->ckpt_pages, (uint_least64_t)nckpt);
		}
		return SQLITE_OK;
	}
	if (n >= STORE_WAL_CHECKPOINT) {
		pthread_mutex_lock(&w->lock);
		if (w->want == 0) {
			w->want = n;
			pthread_cond_signal(&w->cond);
		}
		pthread_mutex_unlock(&w->lock);
	}
	return SQLITE_OK;
}

/* Opens the checkpointer's connection on path into *db: 0, or -1 (with *db
 * to close). */
static int
store_wal_open(const char *path, sqlite3 **db)
{
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(*db, STORE_WAL_BUSY_MS) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    /* It copies pages from the WAL into the file; it caches none. */
	    sqlite3_exec(*db, "PRAGMA cache_size = -64", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	return 0;
}

/* A connection opened on a file that was read-only then stays read-only
 * (see store_writer_writable): open it afresh once the file can be
 * written, or no checkpoint ever copies a page again. */
static void
store_wal_writable(struct store_wal *w)
{
	sqlite3 *fresh = NULL;

	if (sqlite3_db_readonly(w->db, "main") != 1)
		return;
	if (store_wal_open(w->path, &fresh) != 0 || sqlite3_db_readonly(fresh, "main") != 0) {
		sqlite3_close(fresh);
		return;
	}
	sqlite3_close(w->db);
	w->db = fresh;
}

static void *
store_wal_main(void *arg)
{
	struct store_wal *w = arg;
	int nlog, nckpt, rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->want == 0 && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stopping)
			break;
		pthread_mutex_unlock(&w->lock);

		store_wal_writable(w);
		nlog = nckpt = 0;
		rc = sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
					       &nckpt);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("checkpointing the WAL: %s", sqlite3_errmsg(w->db));
		atomic_fetch_add(&w->checkpoints, 1);
		if (nckpt > 0)
			atomic_fetch_add(&w->ckpt_pages, (uint_least64_t)nckpt);

		pthread_mutex_lock(&w->lock);
		w->want = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int
store_wal_start(const char *path, sqlite3 *writer, struct store_wal **out, struct lerr *e)
{
	struct store_wal *w;
	sqlite3_stmt *st = NULL;
	sigset_t all, old;
	int err;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return lerr_set(e, LERR_STORE, "out of resources");
	}
	if (pthread_cond_init(&w->cond, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return lerr_set(e, LERR_STORE, "out of resources");
	}
	if ((w->path = strdup(path)) == NULL) {
		lerr_set(e, LERR_STORE, "out of memory");
		goto fail;
	}
	if (store_wal_open(path, &w->db) != 0) {
		lerr_set(e, LERR_STORE, "opening the checkpointer's connection: %s",
			 w->db != NULL ? sqlite3_errmsg(w->db) : "out of memory");
		goto fail;
	}
	if (sqlite3_prepare_v2(writer, "PRAGMA page_size", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		store_sqlite_err(writer, e, "reading the page size");
		goto fail;
	}
	w->page_size = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, store_wal_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		lerr_set(e, LERR_STORE, "starting the checkpointer: %s", strerror(err));
		goto fail;
	}
	w->started = 1;
	/* From here on the writer's commits report to us and SQLite no
	 * longer checkpoints on its own. */
	sqlite3_wal_hook(writer, store_wal_hook, w);
	*out = w;
	return 0;
fail:
	sqlite3_finalize(st);
	store_wal_stop(w, NULL);
	return -1;
}

void
store_wal_stop(struct store_wal *w, sqlite3 *writer)
{
	if (w == NULL)
		return;
	if (writer != NULL)
		sqlite3_wal_hook(writer, NULL, NULL);
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stopping = 1;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	if (w->db != NULL && sqlite3_close(w->db) != SQLITE_OK)
		log_err("closing the checkpointer's connection: %s", sqlite3_errmsg(w->db));
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	free(w);
}

void
store_wal_attach(struct store_wal *w, sqlite3 *old, sqlite3 *writer)
{
	if (w == NULL)
		return;
	/* The count of frames (w->last) is the WAL file's, whichever
	 * connection appends: it carries over. */
	sqlite3_wal_hook(old, NULL, NULL);
	sqlite3_wal_hook(writer, store_wal_hook, w);
}

void
store_wal_stats(const struct store_wal *w, struct store_stats *st)
{
	uint64_t frames;

	if (w == NULL)
		return;
	frames = atomic_load(&w->frames);
	st->wal_frames = frames;
	st->wal_bytes = frames * (uint64_t)(w->page_size + STORE_WAL_FRAME_HDR);
	st->checkpoints = atomic_load(&w->checkpoints);
	st->checkpointed_pages = atomic_load(&w->ckpt_pages);
	st->page_size = (uint64_t)w->page_size;
}
