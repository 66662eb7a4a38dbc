/*
 * hosts.c - names that resolve (see hosts.h).
 *
 * The store hands over each valid certificate's names in order of
 * certificate; a certificate's entries are made once all its names are
 * seen (its IP SANs decide its addresses), then every entry is sorted by
 * name so that one set of certificates always gives the same file: the
 * daemon's copy is rewritten only when the bytes differ.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/fileio.h"
#include "common/log.h"
#include "daemon/hosts.h"

#define HOSTS_ADDR_MAX	46	/* INET6_ADDRSTRLEN */
#define HOSTS_FILE_MAX	(64u * 1024 * 1024)

static const char *const hosts_format_names[] = {
	[HOSTS_HOSTS] = "hosts",
	[HOSTS_DNSMASQ] = "dnsmasq",
	[HOSTS_UNBOUND] = "unbound",
};

int
hosts_format_parse(const char *name, enum hosts_format *out)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(hosts_format_names) / sizeof(hosts_format_names[0]);
	     i++) {
		if (strcmp(hosts_format_names[i], name) == 0) {
			*out = (enum hosts_format)i;
			return 0;
		}
	}
	return -1;
}

/* One line of the output: name resolves to addr. */
struct hosts_entry {
	char *name;
	char addr[HOSTS_ADDR_MAX];
	int v6;
	int64_t cert;
};

/* The certificate being read and every entry made so far. */
struct hosts_walk {
	struct hosts_entry *v;
	size_t n, cap;
	int64_t cert;			/* 0: none yet */
	char **names;			/* its DNS names to publish */
	size_t nnames, capnames;
	char ips[16][HOSTS_ADDR_MAX];	/* its IP SANs (more are not needed to resolve it) */
	size_t nips;
	char address[HOSTS_ADDR_MAX];	/* where it was asked from ("" none) */
	struct lerr err;		/* why the walk stopped */
};

/* A name the LAN's unicast DNS should answer: not an mDNS one (`.local`),
 * not `localhost`, not a wildcard, and only characters a DNS name has
 * (the formats quote nothing). */
static int
hosts_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 253 || strcasecmp(name, "localhost") == 0 ||
	    strcasecmp(name, "local") == 0 ||
	    (n > 6 && strcasecmp(name + n - 6, ".local") == 0))
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '.' ||
		      name[i] == '_'))
			return 0;
	return 1;
}

/* text as an address in its canonical form (out); 0, or -1 for what is
 * not an address, or is a loopback one unless loopback is set. */
static int
hosts_addr(const char *text, int loopback, char out[HOSTS_ADDR_MAX], int *v6)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, text, a) == 1) {
		if ((a[0] == 127 && !loopback) || inet_ntop(AF_INET, a, out, HOSTS_ADDR_MAX) == NULL)
			return -1;
		*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a) == 1) {
		if ((memcmp(a, &in6addr_loopback, 16) == 0 && !loopback) ||
		    inet_ntop(AF_INET6, a, out, HOSTS_ADDR_MAX) == NULL)
			return -1;
		*v6 = 1;
		return 0;
	}
	return -1;
}

static int
hosts_add(struct hosts_walk *w, const char *name, const char *addr, struct lerr *e)
{
	struct hosts_entry *nv;
	char canon[HOSTS_ADDR_MAX];
	int v6;

	if (hosts_addr(addr, 1, canon, &v6) != 0)
		return 0;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		if ((nv = realloc(w->v, w->cap * sizeof(*nv))) == NULL)
			return lerr_set(e, LERR_INTERNAL, "out of memory");
		w->v = nv;
	}
	if ((w->v[w->n].name = strdup(name)) == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	memcpy(w->v[w->n].addr, canon, sizeof(canon));
	w->v[w->n].v6 = v6;
	w->v[w->n].cert = w->cert;
	w->n++;
	return 0;
}

/* The entries of the certificate read so far: each of its names with
 * each of its IP SANs, or with the address it was asked from when it has
 * none. Then forgets it. */
static int
hosts_flush(struct hosts_walk *w, struct lerr *e)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < w->nnames && rc == 0; i++) {
		if (w->nips == 0)
			rc = hosts_add(w, w->names[i], w->address, e);
		for (j = 0; j < w->nips && rc == 0; j++)
			rc = hosts_add(w, w->names[i], w->ips[j], e);
	}
	for (i = 0; i < w->nnames; i++)
		free(w->names[i]);
	w->nnames = 0;
	w->nips = 0;
	w->address[0] = '\0';
	return rc;
}

static int
hosts_row(const struct store_host_name *h, void *arg)
{
	struct hosts_walk *w = arg;
	char **nn;
	char canon[HOSTS_ADDR_MAX];
	int v6;

	if (h->cert_id != w->cert) {
		if (hosts_flush(w, &w->err) != 0)
			return -1;
		w->cert = h->cert_id;
		snprintf(w->address, sizeof(w->address), "%s", h->address);
	}
	if (strncmp(h->name, "IP:", 3) == 0) {
		/* A loopback SAN (the gateway's, for localhost) is not where
		 * the LAN finds it. The address a device asked from is what it
		 * was, loopback included (a device on the gateway itself). */
		if (w->nips < sizeof(w->ips) / sizeof(w->ips[0]) &&
		    hosts_addr(h->name + 3, 0, canon, &v6) == 0)
			memcpy(w->ips[w->nips++], canon, sizeof(canon));
		return 0;
	}
	if (strncmp(h->name, "DNS:", 4) != 0 || !hosts_name_ok(h->name + 4))
		return 0;
	if (w->nnames == w->capnames) {
		w->capnames = w->capnames ? w->capnames * 2 : 16;
		if ((nn = realloc(w->names, w->capnames * sizeof(*nn))) == NULL)
			return lerr_set(&w->err, LERR_INTERNAL, "out of memory");
		w->names = nn;
	}
	if ((w->names[w->nnames] = strdup(h->name + 4)) == NULL)
		return lerr_set(&w->err, LERR_INTERNAL, "out of memory");
	w->nnames++;
	return 0;
}

/* By name (case-insensitively), the newest certificate first, then by
 * address. */
static int
hosts_cmp(const void *pa, const void *pb)
{
	const struct hosts_entry *a = pa, *b = pb;
	int c = strcasecmp(a->name, b->name);

	if (c != 0)
		return c;
	if (a->cert != b->cert)
		return a->cert > b->cert ? -1 : 1;
	return strcmp(a->addr, b->addr);
}

static int
hosts_line(struct buf *out, enum hosts_format f, const struct hosts_entry *x)
{
	switch (f) {
	case HOSTS_HOSTS:
		return buf_printf(out, "%s %s\n", x->addr, x->name);
	case HOSTS_DNSMASQ:
		return buf_printf(out, "host-record=%s,%s\n", x->name, x->addr);
	case HOSTS_UNBOUND:
		return buf_printf(out, "\tlocal-data: \"%s. IN %s %s\"\n"
				  "\tlocal-data-ptr: \"%s %s.\"\n", x->name, x->v6 ? "AAAA" : "A",
				  x->addr, x->addr, x->name);
	}
	return -1;
}

int
hosts_render(struct store *s, enum hosts_format f, int64_t now, struct buf *out, size_t *n,
	     struct lerr *e)
{
	struct hosts_walk w;
	size_t i, count = 0;
	int64_t group = 0;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	lerr_clear(&w.err);
	if (n != NULL)
		*n = 0;
	if ((unsigned)f >= sizeof(hosts_format_names) / sizeof(hosts_format_names[0]))
		return lerr_set(e, LERR_BAD_REQUEST, "unknown hosts format");
	if (store_host_names(s, now, hosts_row, &w, e) != 0) {
		if (w.err.code != LERR_NONE)
			*e = w.err;
		goto out;
	}
	if (hosts_flush(&w, e) != 0)
		goto out;
	if (w.n > 0)
		qsort(w.v, w.n, sizeof(*w.v), hosts_cmp);
	if (buf_printf(out, "%s written by lanca: the names of its valid certificates\n",
		       f == HOSTS_UNBOUND ? "# unbound local-data," :
		       f == HOSTS_DNSMASQ ? "# dnsmasq host-record lines," : "# hosts file,") < 0 ||
	    (f == HOSTS_UNBOUND && buf_puts(out, "server:\n") < 0))
		goto oom;
	for (i = 0; i < w.n; i++) {
		/* A name two certificates hold: the newest one's addresses
		 * (sorted first); an address twice: once. */
		if (i == 0 || strcasecmp(w.v[i].name, w.v[i - 1].name) != 0)
			group = w.v[i].cert;
		else if (w.v[i].cert != group || strcmp(w.v[i].addr, w.v[i - 1].addr) == 0)
			continue;
		if (hosts_line(out, f, &w.v[i]) < 0)
			goto oom;
		count++;
	}
	if (n != NULL)
		*n = count;
	rc = 0;
	goto out;
oom:
	lerr_set(e, LERR_INTERNAL, "out of memory writing the names");
out:
	for (i = 0; i < w.nnames; i++)
		free(w.names[i]);
	free(w.names);
	for (i = 0; i < w.n; i++)
		free(w.v[i].name);
	free(w.v);
	return rc;
}

/* ---- the daemon's copy ---- */

struct hosts_file {
	struct store *s;
	char *path;
	time_t (*now)(void *arg);
	void *now_arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;		/* stop was set */
	int stop;
	struct buf last;		/* what the file holds */
	uint64_t seen;			/* store_cert_changes() when it was written */
	int64_t checked;		/* when the store was last compared */
};

/* Renders the names and writes the file when they changed. */
static int
hosts_file_update(struct hosts_file *h, struct lerr *e)
{
	struct buf next;
	int64_t now = (int64_t)(h->now != NULL ? h->now(h->now_arg) : time(NULL));
	uint64_t changes = store_cert_changes(h->s);	/* before the read: a later change is seen next */
	int rc = -1;

	buf_init(&next, HOSTS_FILE_MAX);
	if (hosts_render(h->s, HOSTS_HOSTS, now, &next, NULL, e) != 0)
		goto out;
	h->checked = now;
	if (next.len == h->last.len && h->last.len > 0 &&
	    memcmp(next.data, h->last.data, next.len) == 0) {
		h->seen = changes;
		rc = 0;
		goto out;
	}
	if (fileio_write_atomic(h->path, next.data, next.len, 0644, 0, e) != 0)
		goto out;
	buf_free(&h->last);
	h->last = next;
	buf_init(&next, HOSTS_FILE_MAX);
	h->seen = changes;
	rc = 0;
out:
	buf_free(&next);
	return rc;
}

static void *
hosts_file_run(void *arg)
{
	struct hosts_file *h = arg;
	struct timespec until;
	struct lerr e;
	int64_t now;

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		(void)pthread_cond_timedwait(&h->cond, &h->mu, &until);
		if (h->stop)
			break;
		pthread_mutex_unlock(&h->mu);
		now = (int64_t)(h->now != NULL ? h->now(h->now_arg) : time(NULL));
		if ((store_cert_changes(h->s) != h->seen ||
		     now - h->checked >= HOSTS_FILE_EVERY_S || now < h->checked) &&
		    hosts_file_update(h, &e) != 0) {
			log_err("cannot rewrite the hosts file %s (tried again within a minute): %s",
				h->path, e.msg);
			/* Not every second: a full disk or a directory gone
			 * would fill the log. */
			h->checked = now;
			h->seen = store_cert_changes(h->s);
		}
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int
hosts_file_start(struct store *s, const char *path, time_t (*now)(void *arg), void *now_arg,
		 struct hosts_file **out, struct lerr *e)
{
	struct hosts_file *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL || (h->path = strdup(path)) == NULL) {
		free(h);
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	}
	h->s = s;
	h->now = now;
	h->now_arg = now_arg;
	buf_init(&h->last, HOSTS_FILE_MAX);
	if (hosts_file_update(h, e) != 0) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		lerr_set(e, e->code, "the hosts file %s: %s", path, why);
		goto fail;
	}
	if (pthread_mutex_init(&h->mu, NULL) != 0 || pthread_cond_init(&h->cond, NULL) != 0 ||
	    pthread_create(&h->thread, NULL, hosts_file_run, h) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot start the hosts file's thread");
		goto fail;
	}
	*out = h;
	return 0;
fail:
	buf_free(&h->last);
	free(h->path);
	free(h);
	return -1;
}

void
hosts_file_stop(struct hosts_file *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cond);
	buf_free(&h->last);
	free(h->path);
	free(h);
}
