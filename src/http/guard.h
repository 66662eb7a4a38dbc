/*
 * guard.h - a bound on the time a request may take to arrive, and room
 * for new connections when slow ones pile up.
 *
 * libmicrohttpd's timeout is an idle timeout: a client that sends one
 * header line every 29 seconds keeps a connection for ever, and 256 such
 * connections (8 addresses at the per-address limit of 32) shut everyone
 * else out. The guard keeps, per server, every connection whose request
 * has not fully arrived yet (TLS handshake, request line, headers, body)
 * in a list, oldest first, and
 *   - closes one whose request has been arriving for longer than the
 *     deadline (a timer thread looks every quarter of a second);
 *   - when a new connection makes more than `waiting_max` of them, closes
 *     the oldest, so that a new client always finds a free slot below
 *     libmicrohttpd's connection limit and keeps it for as long as it
 *     takes a normal client to send a request.
 * A connection's clock starts when it is accepted and again when a
 * response has been sent (a kept-alive connection waiting for its next
 * request is waiting too); it stops when the request has arrived whole.
 * One exception: a body refused for its size but still arriving (read and
 * dropped so that its 413 can be sent) starts its clock again at the
 * deadline if enough of it came meanwhile, so that a big body on a slow
 * link gets its answer while a trickle does not hold a connection.
 *
 * Closing is shutdown(2) on the connection's socket from outside the
 * thread that serves it: that thread then reads end-of-file and closes
 * the connection the usual way. The socket cannot be closed and its
 * number reused under us: a connection leaves the guard (under its lock)
 * when libmicrohttpd announces the close, before it closes the socket.
 * Nothing is sent to a connection closed this way.
 *
 * Owns: the per-connection records (libmicrohttpd's socket context) and
 * the timer thread. httpd.c calls it from its connection, access and
 * completion callbacks.
 */
#ifndef LANCA_HTTP_GUARD_H
#define LANCA_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

#include "common/lerr.h"

struct http_guard;

/* Starts a guard (and its timer thread) for one server: a request must
 * arrive within deadline_ms of its clock's start, and at most waiting_max
 * connections may be waiting for theirs. A connection that reported at
 * least renew_bytes of progress (http_guard_progress) when its deadline
 * comes gets a new deadline instead. NULL with e on failure. */
struct http_guard *http_guard_new(unsigned deadline_ms, unsigned waiting_max,
				  uint64_t renew_bytes, struct lerr *e);
/* Stops the timer thread and frees the guard; call after the server has
 * stopped (every connection closed). NULL-safe. */
void http_guard_free(struct http_guard *g);

/* libmicrohttpd's connection notification: a record is made on STARTED
 * (its clock starts) and freed on CLOSED. */
void http_guard_notify(struct http_guard *g, struct MHD_Connection *c, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);
/* The request on c has arrived whole: its clock stops. */
void http_guard_arrived(struct MHD_Connection *c);
/* n bytes of a body refused for its size arrived on c and were dropped
 * (the 413 goes out when the body ends, see httpd.c): enough of them make
 * its deadline start again. */
void http_guard_progress(struct MHD_Connection *c, size_t n);
/* The request on c is done: the clock starts for the next one. */
void http_guard_next(struct MHD_Connection *c);

/* Connections closed so far for their deadline and to make room. */
void http_guard_counts(struct http_guard *g, uint64_t *expired, uint64_t *evicted);

#endif
