/*
 * onboard.c - the snapshot an onboarding decision reads (see store.h,
 * struct store_onboard): the key's owner, the key's request (and its
 * certificate once issued), whether the device id is held under another
 * key, the first of the request's names another device holds, the device
 * id's pre-authorisation and the vendor CAs, read in one read transaction
 * on one pooled connection. A decision that read these one query at a
 * time saw the store change between its reads and paid a connection
 * round trip for each.
 *
 * Reuses the families' statements (certs.c, requests.c, devices.c) on its
 * own connection; its own are the transaction's bounds. The names are
 * looked up one index probe each: one query over all of them (a recursive
 * split) needed a temporary b-tree per enrollment, whose allocation and
 * release cost more than the probes (measured with bench-enroll).
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>


#include "common/lerr.h"
#include "store/store.h"
#include "store/internal.h"

const char *const store_sql_onboard[Q_COUNT] = {
	/* Deferred: a read-only connection takes its snapshot at the first
	 * read and keeps it until COMMIT. */
	/* Device ?1 had a certificate revoked (not as superseded by a
	 * renewal) and holds no valid one at ?2. */
	[Q_DEVICE_REVOKED] =
		"SELECT 1 FROM certificates WHERE device_id = ?1 AND status = 'revoked' "
		"AND revoke_reason NOT IN ('superseded', 'cACompromise') AND NOT EXISTS (SELECT 1 FROM certificates "
		"WHERE device_id = ?1 AND status = 'valid' AND not_after > ?2) LIMIT 1",
};

void
store_onboard_clear(struct store_onboard *o)
{
	size_t i;

	if (o == NULL)
		return;
	store_request_free(o->request);
	store_cert_free(o->cert);
	store_preauth_free(o->preauth);
	for (i = 0; i < o->nvendors; i++)
		free(o->vendors[i].der);
	free(o->vendors);
	o->request = NULL;
	o->cert = NULL;
	o->preauth = NULL;
	o->vendors = NULL;
	o->nvendors = 0;
	o->key_owner[0] = o->name[0] = o->name_owner[0] = '\0';
	o->device_held = 0;
	o->device_revoked = 0;
}

/* The first of o->names ("DNS:a,IP:10.0.0.2") held by another device
 * into o->name and o->name_owner, on c. 0, or -1 with e. */
static int
store_onboard_names(struct store_conn *c, struct store_onboard *o, struct lerr *e)
{
	struct store_text_buf b = { o->name_owner, sizeof(o->name_owner) };
	const char *p = o->names, *comma;
	size_t len;
	int lrc;

	while (*p != '\0') {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(o->name))
			return lerr_set(e, LERR_BAD_NAME, "a name is too long");
		memcpy(o->name, p, len);
		o->name[len] = '\0';
		if (len > 0) {
			const struct store_query x = {
				Q_NAME_OWNER, "looking up an owner",
				{ store_arg_text(o->name), store_arg_int(o->now),
				  store_arg_text(o->device_id) },
			};

			if ((lrc = store_conn_lookup(c, &x, store_row_text, &b, e)) < 0)
				return -1;
			if (lrc == 0)
				return 0;
		}
		p += len + (comma != NULL);
	}
	o->name[0] = o->name_owner[0] = '\0';
	return 0;
}

/* Row reader: one more vendor CA at the end of o->vendors. */
static int
store_onboard_vendor_row(struct store_row *st, void *arg, struct lerr *e)
{
	struct store_onboard *o = arg;
	struct store_vendor *v;

	if (o->nvendors >= INT_MAX / sizeof(*v) ||
	    (v = realloc(o->vendors, (o->nvendors + 1) * sizeof(*v))) == NULL)
		return lerr_set(e, LERR_STORE, "out of memory");
	o->vendors = v;
	v = &o->vendors[o->nvendors];
	memset(v, 0, sizeof(*v));
	if (store_vendor_from_row(st, v, e) != 0) {
		free(v->der);
		return -1;
	}
	o->nvendors++;
	return 0;
}

/* The reads of the snapshot, on c inside its transaction. */
static int
store_onboard_reads(struct store_conn *c, struct store_onboard *o, struct lerr *e)
{
	struct store_text_buf b = { o->key_owner, sizeof(o->key_owner) };
	char id[STORE_REQUEST_ID_LEN + 1];
	struct store_text_buf idb = { id, sizeof(id) };
	struct store_query x = {
		Q_KEY_OWNER, "looking up the key's owner",
		{ store_arg_blob(o->key_id, 32), store_arg_int(o->now),
		  store_arg_text(o->device_id) },
	};
	int lrc;

	if ((lrc = store_conn_lookup(c, &x, store_row_text, &b, e)) < 0)
		return -1;
	if (lrc == 0)
		return 0;	/* the decision is made: not this device's key */
	o->key_owner[0] = '\0';

	x = (struct store_query){
		Q_REQ_FIND_KEY, "looking up the key's request",
		{ store_arg_blob(o->key_id, 32), store_arg_int(o->now) },
	};
	if ((lrc = store_conn_lookup(c, &x, store_row_text, &idb, e)) < 0)
		return -1;
	if (lrc == 0 && store_req_read(c, id, &o->request, e) < 0)
		return -1;
	if (o->request != NULL && o->request->state == STORE_REQ_ISSUED) {
		x = (struct store_query){
			Q_CERT_BY_KEY, "looking up the certificate",
			{ store_arg_blob(o->key_id, 32) },
		};
		if (store_conn_lookup(c, &x, store_cert_row, &o->cert, e) < 0)
			return -1;
		return 0;	/* asked again after it was issued: nothing else matters */
	}

	x = (struct store_query){
		Q_DEVICE_HOLDER, "looking up a device",
		{ store_arg_blob(o->key_id, 32), store_arg_int(o->now),
		  store_arg_text(o->device_id) },
	};
	if ((lrc = store_conn_lookup(c, &x, NULL, NULL, e)) < 0)
		return -1;
	o->device_held = lrc == 0;
	x = (struct store_query){
		Q_DEVICE_REVOKED, "looking up a device's revocations",
		{ store_arg_text(o->device_id), store_arg_int(o->now) },
	};
	if ((lrc = store_conn_lookup(c, &x, NULL, NULL, e)) < 0)
		return -1;
	o->device_revoked = lrc == 0;

	if (o->names != NULL && store_onboard_names(c, o, e) != 0)
		return -1;

	x = (struct store_query){
		Q_PREAUTH_GET, "reading a pre-authorisation", { store_arg_text(o->device_id) },
	};
	if (store_conn_lookup(c, &x, store_preauth_row, &o->preauth, e) < 0)
		return -1;

	if (o->want_vendors) {
		x = (struct store_query){ .q = Q_VENDOR_EACH, .what = "listing vendor CAs" };
		if (store_conn_each(c, &x, store_onboard_vendor_row, o, e) != 0)
			return -1;
	}
	return 0;
}

int
store_onboard_read(struct store *s, struct store_onboard *o, struct lerr *e)
{
	struct store_conn *c = NULL;
	int rc = -1, open = 0;

	if (s == NULL || o == NULL || o->key_id == NULL || o->device_id == NULL)
		return lerr_set(e, LERR_INTERNAL, "store_onboard_read: bad arguments");
	store_onboard_clear(o);
	if ((c = store_reader_get(s, e)) == NULL || store_read_begin(c, e) != 0)
		goto out;
	open = 1;
	if (store_onboard_reads(c, o, e) != 0)
		goto out;
	rc = 0;
out:
	/* A read transaction changed nothing: ending it cannot lose work,
	 * and leaving it open would pin the snapshot (and the WAL) forever. */
	if (open && store_read_end(c, rc == 0 ? e : NULL) != 0 && rc == 0)
		rc = -1;
	if (rc != 0)
		store_onboard_clear(o);
	store_reader_put(s, c);
	return rc;
}
