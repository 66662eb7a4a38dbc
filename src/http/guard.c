/*
 * guard.c - the bound on a request's arrival time and the room kept for
 * new connections (see guard.h).
 *
 * The waiting connections form one list per server in the order their
 * clocks started, so the oldest is always the head: the timer pops
 * expired heads, making room pops the head; both are O(1) per connection.
 * One lock per server, held for a few pointer moves (and a shutdown(2)),
 * shared by libmicrohttpd's pool threads and the timer.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http/guard.h"
#include "common/log.h"
#include "common/metric.h"

#define GUARD_TICK_MS	250
#define GUARD_LOG_S	10

struct guard_conn {
	struct http_guard *g;
	MHD_socket fd;
	uint64_t since_ns;		/* when its clock started */
	uint64_t bytes;			/* body bytes dropped since then */
	int waiting;			/* in the list */
	int shut;			/* shut down by the guard: never again */
	struct guard_conn *prev, *next;
};

struct http_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t timer;
	int stop;
	uint64_t deadline_ns;
	uint64_t renew_bytes;
	unsigned waiting_max, waiting;
	struct guard_conn *head, *tail;
	uint64_t expired, evicted;
};

/* The list, under g->lock. */
static void
guard_unlink(struct http_guard *g, struct guard_conn *k)
{
	if (!k->waiting)
		return;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		g->head = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	else
		g->tail = k->prev;
	k->prev = k->next = NULL;
	k->waiting = 0;
	g->waiting--;
}

static void
guard_append(struct http_guard *g, struct guard_conn *k, uint64_t now)
{
	if (k->waiting || k->shut)
		return;
	k->since_ns = now;
	k->bytes = 0;
	k->prev = g->tail;
	k->next = NULL;
	if (g->tail != NULL)
		g->tail->next = k;
	else
		g->head = k;
	g->tail = k;
	k->waiting = 1;
	g->waiting++;
}

/* Ends k's connection (see guard.h: its thread sees end-of-file). */
static void
guard_shut(struct http_guard *g, struct guard_conn *k)
{
	guard_unlink(g, k);
	k->shut = 1;
	(void)shutdown(k->fd, SHUT_RDWR);
}

/* Closes the connections past their deadline every GUARD_TICK_MS and,
 * at most every GUARD_LOG_S, logs how many were closed and why (under
 * attack that is many a second: one line per connection would flood the
 * log). */
static void *
guard_timer(void *arg)
{
	struct http_guard *g = arg;
	struct guard_conn *k;
	struct timespec ts;
	uint64_t now, last_log = 0, logged_exp = 0, logged_evi = 0, exp, evi;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		now = metric_now_ns();
		while ((k = g->head) != NULL && now - k->since_ns >= g->deadline_ns) {
			if (k->bytes >= g->renew_bytes) {
				/* A refused body still pouring in: its clock
				 * starts again, at the back of the list. */
				guard_unlink(g, k);
				guard_append(g, k, now);
				continue;
			}
			guard_shut(g, k);
			g->expired++;
		}
		exp = g->expired;
		evi = g->evicted;
		if ((exp != logged_exp || evi != logged_evi) &&
		    (last_log == 0 || now - last_log >= (uint64_t)GUARD_LOG_S * 1000000000u)) {
			pthread_mutex_unlock(&g->lock);
			log_info("httpd: closed %llu connection(s) whose request took over %llu ms "
				 "to arrive and %llu to make room for new ones (since start)",
				 (unsigned long long)exp,
				 (unsigned long long)(g->deadline_ns / 1000000u),
				 (unsigned long long)evi);
			pthread_mutex_lock(&g->lock);
			logged_exp = exp;
			logged_evi = evi;
			last_log = now;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct http_guard *
http_guard_new(unsigned deadline_ms, unsigned waiting_max, uint64_t renew_bytes,
	       struct lerr *e)
{
	struct http_guard *g;
	pthread_condattr_t ca;
	int rc;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		return NULL;
	}
	g->deadline_ns = (uint64_t)deadline_ms * 1000000u;
	g->waiting_max = waiting_max;
	g->renew_bytes = renew_bytes;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&g->timer, NULL, guard_timer, g)) != 0) {
		lerr_set(e, LERR_INTERNAL, "the connection guard's thread: %s", strerror(rc));
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void
http_guard_free(struct http_guard *g)
{
	struct guard_conn *k;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->timer, NULL);
	/* libmicrohttpd announces every close before it stops; anything
	 * left would be a connection it never announced. */
	while ((k = g->head) != NULL) {
		guard_unlink(g, k);
		k->g = NULL;
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void
http_guard_notify(struct http_guard *g, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct guard_conn *k;
	uint64_t evicted = 0;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		k = *socket_context;
		if (k == NULL)
			return;
		pthread_mutex_lock(&g->lock);
		guard_unlink(g, k);
		pthread_mutex_unlock(&g->lock);
		free(k);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	k = calloc(1, sizeof(*k));
	if (k == NULL || ci == NULL) {
		/* Unguarded, but served: libmicrohttpd's idle timeout still
		 * applies. */
		free(k);
		log_err("httpd: cannot guard a connection: out of memory");
		return;
	}
	k->g = g;
	k->fd = ci->connect_fd;
	pthread_mutex_lock(&g->lock);
	guard_append(g, k, metric_now_ns());
	while (g->waiting > g->waiting_max && g->head != k) {
		guard_shut(g, g->head);
		evicted++;
	}
	g->evicted += evicted;
	pthread_mutex_unlock(&g->lock);
	*socket_context = k;
}

static struct guard_conn *
guard_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
http_guard_arrived(struct MHD_Connection *c)
{
	struct guard_conn *k = guard_of(c);

	if (k == NULL || k->g == NULL)
		return;
	pthread_mutex_lock(&k->g->lock);
	guard_unlink(k->g, k);
	pthread_mutex_unlock(&k->g->lock);
}

void
http_guard_next(struct MHD_Connection *c)
{
	struct guard_conn *k = guard_of(c);

	if (k == NULL || k->g == NULL)
		return;
	pthread_mutex_lock(&k->g->lock);
	guard_append(k->g, k, metric_now_ns());
	pthread_mutex_unlock(&k->g->lock);
}

void
http_guard_progress(struct MHD_Connection *c, size_t n)
{
	struct guard_conn *k = guard_of(c);

	if (k == NULL || k->g == NULL)
		return;
	pthread_mutex_lock(&k->g->lock);
	k->bytes += n;
	pthread_mutex_unlock(&k->g->lock);
}

void
http_guard_counts(struct http_guard *g, uint64_t *expired, uint64_t *evicted)
{
	pthread_mutex_lock(&g->lock);
	*expired = g->expired;
	*evicted = g->evicted;
	pthread_mutex_unlock(&g->lock);
}
