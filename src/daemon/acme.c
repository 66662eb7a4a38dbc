/*
 * acme.c - the ACME door's decisions (see acme.h).
 *
 * Validation runs on ACME_THREADS threads of their own, fed by a bounded
 * queue of authorisation ids: a challenge POST only records that the
 * authorisation is processing and queues it, so no HTTP thread ever
 * waits on a connection to the LAN. A thread reads the authorisation,
 * its order and account afresh (the queue holds ids only), validates,
 * and records the verdict with the order's in one transaction.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/metric.h"
#include "ca/names.h"
#include "ca/x509.h"
#include "daemon/acme.h"
#include "daemon/acmecheck.h"
#include "daemon/admin.h"
#include "daemon/enroll.h"
#include "daemon/issue.h"
#include "daemon/state.h"

#define ACME_CONTACTS_MAX	4
#define ACME_PROBLEM		"urn:ietf:params:acme:error:"

struct acme {
	struct enroll *en;
	struct store *store;
	const struct policy *policy;
	struct revocation *rv;
	const struct ca_set *ca;
	struct acme_config c;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Each entry: an authorisation id and its account's. */
	struct {
		char authz[STORE_ACME_ID_LEN + 1];
		char account[STORE_ACME_ID_LEN + 1];
	} queue[ACME_QUEUE_MAX];
	size_t head, count;
	int stop;
	pthread_t threads[ACME_THREADS];
	size_t nthreads;
	struct metric_counter counts[ACME_COUNTS];
};

uint64_t
acme_count_get(const struct acme *a, enum acme_count c)
{
	return a != NULL && c < ACME_COUNTS ? metric_counter_get(&a->counts[c]) : 0;
}

int
acme_waiting(struct acme *a, int64_t *n, struct lerr *e)
{
	return store_acme_accounts_waiting(a->store, n, e);
}

static int64_t
acme_now(const struct acme *a)
{
	return (int64_t)(a->c.now != NULL ? a->c.now(a->c.now_arg) : time(NULL));
}

/* A random id: n bytes of libsodium's randomness in base64url, drawn
 * again while it begins with '-' (one in 64), which a command line would
 * take for an option: `lanca acme approve ID`, certbot's --eab-kid KID. */
static void
acme_random_id(char *out, size_t outsz, size_t n)
{
	unsigned char raw[32];

	do {
		randombytes_buf(raw, n);
		sodium_bin2base64(out, outsz, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	} while (out[0] == '-');
}

void
acme_device_id(const char *account_id, char out[sizeof(ACME_DEVICE_PREFIX) + STORE_ACME_ID_LEN])
{
	snprintf(out, sizeof(ACME_DEVICE_PREFIX) + STORE_ACME_ID_LEN, "%s%s", ACME_DEVICE_PREFIX,
		 account_id);
}

void
acme_detail_ascii(const char *in, char *out, size_t n)
{
	size_t i, k = 0;

	if (n < 4) {
		if (n > 0)
			out[0] = '\0';
		return;
	}
	for (i = 0; in[i] != '\0' && k < n - 4; i++) {
		unsigned char c = (unsigned char)in[i];

		out[k++] = c == '"' || c == '\\' ? '\'' : c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (in[i] != '\0') {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

/* A problem document's JSON for the store: {"type", "detail", "status"}.
 * The detail may hold bytes a validated server sent (a header, a URL):
 * acme_detail_ascii keeps it UTF-8 and its escaped form within the
 * store's column. Never NULL but out of memory. */
#define ACME_DETAIL_MAX	400
static char *
acme_problem_json(const char *type, const char *detail)
{
	char clean[ACME_DETAIL_MAX + 4];
	json_t *o;
	char *s;

	acme_detail_ascii(detail, clean, sizeof(clean));
	o = json_pack("{s:s+, s:s, s:i}", "type", ACME_PROBLEM, type, "detail", clean, "status",
		      strcmp(type, "serverInternal") == 0 ? 500 : 403);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* ---- validation ---- */

/* What the validator may connect to: an address the policy would put in
 * a server's certificate (a permitted private network, not loopback). */
static int
acme_addr_ok(const struct sockaddr *sa, socklen_t len, void *arg)
{
	const struct acme *a = arg;
	struct ipnet ip;

	memset(&ip, 0, sizeof(ip));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(ip.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		ip.len = 4;
		ip.prefix = 32;
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		memcpy(ip.addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		ip.len = 16;
		ip.prefix = 128;
	} else {
		return 0;
	}
	return policy_check_ip(a->policy, &ip, POLICY_SERVER, NULL) == 0;
}

/* Validates one processing authorisation and records the verdict. */
static void
acme_validate(struct acme *a, const char *authz_id)
{
	struct store_acme_account *acct = NULL;
	struct store_acme_order *o = NULL;
	struct store_acme_authz z;
	struct acmecheck_target t;
	char key_auth[2 * STORE_ACME_THUMB_LEN + 2], *problem = NULL;
	struct lerr e, ve;
	int ok;

	lerr_clear(&e);
	if (store_acme_authz_get(a->store, authz_id, &z, &e) != 0 ||
	    z.chall_status != STORE_ACME_PROCESSING ||
	    store_acme_order_get(a->store, z.order_id, &o, &e) != 0 ||
	    store_acme_account_get(a->store, o->account_id, &acct, &e) != 0) {
		if (e.code != LERR_NONE)
			log_warn("ACME validation of %s: %s", authz_id, e.msg);
		goto out;
	}
	snprintf(key_auth, sizeof(key_auth), "%s.%s", z.token, acct->thumbprint);
	memset(&t, 0, sizeof(t));
	t.identifier = z.value;
	t.is_ip = z.ip;
	t.token = z.token;
	t.key_auth = key_auth;
	t.timeout_ms = a->c.validate_ms != 0 ? a->c.validate_ms : ACME_VALIDATE_MS;
	t.addr_ok = acme_addr_ok;
	t.addr_arg = a;
	lerr_clear(&ve);
	if (strcmp(z.chall, "http-01") == 0) {
		t.port = a->c.http_port;
		ok = acmecheck_http01(&t, &ve) == 0;
	} else if (strcmp(z.chall, "dns-01") == 0) {
		ok = acmecheck_dns01(&t, &ve) == 0;
	} else {
		t.port = a->c.tls_port;
		ok = acmecheck_tlsalpn01(&t, &ve) == 0;
	}
	if (!ok) {
		log_info("ACME %s for %s failed: %s", z.chall, z.value, ve.msg);
		problem = acme_problem_json(strcmp(z.chall, "http-01") == 0 ? "incorrectResponse" :
					    strcmp(z.chall, "dns-01") == 0 ? "dns" : "tls", ve.msg);
		if (problem == NULL)
			goto out;
	} else {
		log_info("ACME %s for %s holds", z.chall, z.value);
	}
	metric_counter_add(&a->counts[(strcmp(z.chall, "http-01") == 0 ? ACME_COUNT_HTTP01_VALID :
				       strcmp(z.chall, "dns-01") == 0 ? ACME_COUNT_DNS01_VALID :
				       ACME_COUNT_TLSALPN01_VALID) + !ok]);
	if (store_acme_chall_done(a->store, authz_id, ok, problem, acme_now(a), &e) < 0)
		log_err("cannot record the ACME validation of %s: %s", z.value, e.msg);
out:
	free(problem);
	free(o);
	store_acme_account_free(acct);
}

static void *
acme_worker(void *arg)
{
	struct acme *a = arg;
	char id[STORE_ACME_ID_LEN + 1];

	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (!a->stop && a->count == 0)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		memcpy(id, a->queue[a->head].authz, sizeof(id));
		a->head = (a->head + 1) % ACME_QUEUE_MAX;
		a->count--;
		pthread_mutex_unlock(&a->mu);
		acme_validate(a, id);
	}
}

/* The room an account's validation needs, under a->mu: the queue is not
 * full and the account has fewer than ACME_QUEUE_PER_ACCOUNT waiting, so
 * that one account cannot hold everyone else's up. 0, or -1 with e
 * (LERR_RATE_LIMITED, 503: nothing changed, ask again later). */
static int
acme_room_locked(const struct acme *a, const char *account, struct lerr *e)
{
	size_t i, mine = 0;

	if (a->count >= ACME_QUEUE_MAX)
		return lerr_set_http(e, LERR_RATE_LIMITED, 503, "%d validations wait already: "
				     "ask for the challenge again in a minute", ACME_QUEUE_MAX);
	for (i = 0; account != NULL && i < a->count; i++)
		if (strcmp(a->queue[(a->head + i) % ACME_QUEUE_MAX].account, account) == 0)
			mine++;
	if (mine >= ACME_QUEUE_PER_ACCOUNT)
		return lerr_set_http(e, LERR_RATE_LIMITED, 503, "this account has %zu validations "
				     "waiting already: ask for the challenge again in a minute", mine);
	return 0;
}

/* Whether an account's validation would be queued now (acme_room_locked). */
static int
acme_room(struct acme *a, const char *account, struct lerr *e)
{
	int rc;

	pthread_mutex_lock(&a->mu);
	rc = acme_room_locked(a, account, e);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* Queues authorisation id (of account, NULL when not known: a restart's)
 * for a thread: 0, or -1 with e when there is no room. */
static int
acme_enqueue(struct acme *a, const char *id, const char *account, struct lerr *e)
{
	int rc;

	pthread_mutex_lock(&a->mu);
	rc = acme_room_locked(a, account, e);
	if (rc == 0) {
		size_t k = (a->head + a->count) % ACME_QUEUE_MAX;

		snprintf(a->queue[k].authz, sizeof(a->queue[k].authz), "%s", id);
		snprintf(a->queue[k].account, sizeof(a->queue[k].account), "%s",
			 account != NULL ? account : "");
		a->count++;
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static int
acme_requeue(const char *id, void *arg)
{
	struct acme *a = arg;
	struct lerr e;

	if (acme_enqueue(a, id, NULL, &e) != 0)
		log_warn("ACME validation of %s not resumed: %s", id, e.msg);
	return 0;
}

int
acme_new(struct enroll *en, struct store *s, const struct policy *p, struct revocation *rv,
	 const struct ca_set *ca, const struct acme_config *c, struct acme **out,
	 struct lerr *e)
{
	struct acme *a;
	char *problem;
	struct lerr re;
	size_t i;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	a->en = en;
	a->store = s;
	a->policy = p;
	a->rv = rv;
	a->ca = ca;
	a->c = *c;
	if (a->c.http_port == 0)
		a->c.http_port = 80;
	if (a->c.tls_port == 0)
		a->c.tls_port = 443;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	for (i = 0; i < ACME_THREADS; i++) {
		if (pthread_create(&a->threads[i], NULL, acme_worker, a) != 0) {
			acme_free(a);
			return lerr_set(e, LERR_INTERNAL, "cannot start the ACME validation threads");
		}
		a->nthreads++;
	}
	/* What a restart interrupted: validations go on, finalisations end. */
	problem = acme_problem_json("serverInternal", "lanca restarted while it finalized this "
				    "order: make a new order");
	/* A store that takes no writes now (full, read-only) serves what it
	 * can, as the rest of serve does: the next start tries again. */
	if (problem == NULL ||
	    store_acme_recover(s, acme_now(a), problem, acme_requeue, a, &re) != 0)
		log_warn("interrupted ACME orders and validations not resumed: %s",
			 problem == NULL ? "out of memory" : re.msg);
	free(problem);
	*out = a;
	return 0;
}

void
acme_free(struct acme *a)
{
	size_t i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < a->nthreads; i++)
		pthread_join(a->threads[i], NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
acme_tick(struct acme *a)
{
	struct lerr e;

	if (a != NULL && store_acme_expire(a->store, acme_now(a), &e) != 0)
		log_warn("cannot expire ACME orders: %s", e.msg);
}

/* ---- accounts ---- */

int
acme_account_get(struct acme *a, const char *id, struct store_acme_account **out,
		 struct lerr *e)
{
	return store_acme_account_get(a->store, id, out, e);
}

int
acme_account_by_key(struct acme *a, const char *thumbprint, struct store_acme_account **out,
		    struct lerr *e)
{
	return store_acme_account_by_key(a->store, thumbprint, out, e);
}

void
acme_account_free(struct store_acme_account *acct)
{
	store_acme_account_free(acct);
}

int
acme_account_approve(struct acme *a, const char *id, const char *actor, struct lerr *e)
{
	return store_acme_account_approve(a->store, id, STORE_ACME_BY_ADMIN, actor, acme_now(a), e);
}

int
acme_account_each(struct acme *a, int (*fn)(const struct store_acme_account *acct, void *arg),
		  void *arg, struct lerr *e)
{
	return store_acme_account_each(a->store, fn, arg, e);
}

const char *
acme_approval_str(enum store_acme_approval how)
{
	return how == STORE_ACME_WAITING ? "waiting" : store_acme_approval_str(how);
}

const char *
acme_status_str(enum store_acme_status st)
{
	return store_acme_status_str(st);
}

int
acme_account_update(struct acme *a, const struct store_acme_account *acct, const char *contact,
		    int deactivate, struct store_acme_account **out, struct lerr *e)
{
	char actor[96];
	int lrc;

	*out = NULL;
	snprintf(actor, sizeof(actor), "acme account %s", acct->id);
	if (store_acme_account_update(a->store, acct->id, contact,
				      deactivate ? STORE_ACME_DEACTIVATED : STORE_ACME_VALID, actor,
				      acme_now(a), e) != 0)
		return -1;
	if ((lrc = store_acme_account_get(a->store, acct->id, out, e)) != 0)
		return lrc < 0 ? -1 : lerr_set(e, LERR_STORE, "the account vanished");
	return 0;
}

int
acme_account_rekey(struct acme *a, const struct store_acme_account *acct, const char *jwk,
		   const char *thumbprint, struct lerr *e)
{
	char actor[96];

	snprintf(actor, sizeof(actor), "acme account %s", acct->id);
	return store_acme_account_rekey(a->store, acct->id, jwk, thumbprint, actor, acme_now(a),
					e);
}

int
acme_orders_of(struct acme *a, const struct store_acme_account *acct,
	       char (*ids)[STORE_ACME_ID_LEN + 1], size_t n, size_t *got, struct lerr *e)
{
	return store_acme_orders_of(a->store, acct->id, ids, n, got, e);
}

int
acme_contact_check(const json_t *contact, struct lerr *e)
{
	const json_t *v;
	const char *s;
	size_t i, j, n;

	if (contact == NULL)
		return 0;
	if (!json_is_array(contact) || json_array_size(contact) > ACME_CONTACTS_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "contact must be an array of at most %d "
				"mailto: URLs", ACME_CONTACTS_MAX);
	json_array_foreach(contact, i, v) {
		s = json_string_value(v);
		if (s == NULL || strncmp(s, "mailto:", 7) != 0 ||
		    (n = strlen(s)) < 10 || n > 254 || strchr(s + 7, '@') == NULL)
			return lerr_set(e, LERR_BAD_REQUEST, "contact %zu is not a mailto: URL", i + 1);
		/* RFC 8555 section 7.3: no hfields, one address. */
		for (j = 7; j < n; j++)
			if (s[j] == '?' || s[j] == ',' || (unsigned char)s[j] <= ' ' ||
			    (unsigned char)s[j] >= 0x7f)
				return lerr_set(e, LERR_BAD_REQUEST, "contact %zu is not a single "
						"plain mailto: address", i + 1);
	}
	return 0;
}

int
acme_account_new(struct acme *a, const struct acme_account_ask *ask,
		 struct store_acme_account **out, struct lerr *e)
{
	struct store_acme_account row;
	unsigned char key[64];
	size_t key_len = 0;
	char actor[96];
	int admitted = 0, lrc;

	*out = NULL;
	memset(&row, 0, sizeof(row));
	acme_random_id(row.id, sizeof(row.id), 16);
	snprintf(row.thumbprint, sizeof(row.thumbprint), "%s", ask->thumbprint);
	row.jwk = (char *)ask->jwk;
	row.contact = (char *)(ask->contact != NULL ? ask->contact : "[]");
	row.status = STORE_ACME_VALID;
	row.created_at = acme_now(a);
	snprintf(row.source, sizeof(row.source), "%s", ask->source != NULL ? ask->source : "");
	snprintf(actor, sizeof(actor), "acme %s", row.source);
	if (ask->eab_kid != NULL) {
		snprintf(row.eab_kid, sizeof(row.eab_kid), "%s", ask->eab_kid);
		row.approved = STORE_ACME_BY_EAB;
	} else if (sodium_base642bin(key, sizeof(key), ask->thumbprint, strlen(ask->thumbprint),
				     NULL, &key_len, NULL,
				     sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
		   key_len == 32) {
		/* The window sees the account as it sees a device: its key. */
		admitted = enroll_window_account(a->en, key, row.id, actor, e);
		if (admitted < 0) {
			log_warn("the onboarding window could not decide on ACME account %s: %s",
				 row.id, e->msg);
			admitted = 0;
		}
		if (admitted)
			row.approved = STORE_ACME_BY_WINDOW;
	}
	if (store_acme_account_new(a->store, &row, e) != 0) {
		if (admitted)
			enroll_window_account_failed(a->en, key);
		return -1;
	}
	if ((lrc = store_acme_account_get(a->store, row.id, out, e)) != 0)
		return lrc < 0 ? -1 : lerr_set(e, LERR_STORE, "the new account vanished");
	log_info("ACME account %s from %s: %s", row.id, row.source,
		 row.approved == STORE_ACME_WAITING ? "waits for an admin's approval" :
		 row.approved == STORE_ACME_BY_EAB ? "bound to an EAB key" :
		 "approved by the onboarding window");
	return 0;
}

/* The gateway's EAB secret: 0 with the bytes, or -1 with e. */
static int
acme_eab_secret(const char *dir, unsigned char secret[32], struct lerr *e)
{
	char path[4096];
	unsigned char *p = NULL;
	size_t len = 0;

	if (fileio_join(path, sizeof(path), dir, ACME_EAB_SECRET) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	if (fileio_read(path, 32, 1, &p, &len, e) != 0) {
		if (e != NULL && e->code == LERR_NOT_FOUND)
			lerr_set(e, LERR_FORBIDDEN, "no external account binding key was made "
				 "(lanca acme eab new)");
		return -1;
	}
	if (len != 32) {
		fileio_free_secret(p, len);
		return lerr_set(e, LERR_INTERNAL, "%s is not 32 bytes", path);
	}
	memcpy(secret, p, 32);
	fileio_free_secret(p, len);
	return 0;
}

/* The MAC key of kid under secret. */
static void
acme_eab_derive(const unsigned char secret[32], const char *kid,
		unsigned char key[ACME_EAB_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, secret, 32, ACME_EAB_KEY_LEN);
	crypto_generichash_update(&st, (const unsigned char *)"lanca acme eab v1", 17);
	crypto_generichash_update(&st, (const unsigned char *)kid, strlen(kid));
	crypto_generichash_final(&st, key, ACME_EAB_KEY_LEN);
}

int
acme_eab_key(struct acme *a, const char *kid, unsigned char key[ACME_EAB_KEY_LEN],
	     struct lerr *e)
{
	unsigned char secret[32];

	if (acme_eab_secret(a->c.dir, secret, e) != 0)
		return -1;
	acme_eab_derive(secret, kid, key);
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

int
acme_eab_make(struct store *s, const char *dir, const char *actor, char kid[33],
	      char key_b64[64], int64_t *expires_at, struct lerr *e)
{
	unsigned char secret[32], key[ACME_EAB_KEY_LEN];
	char path[4096], store_path[STATE_PATH_MAX];
	struct stat st;
	int64_t now = (int64_t)time(NULL);
	int fd;

	if (fileio_join(path, sizeof(path), dir, ACME_EAB_SECRET) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	if (acme_eab_secret(dir, secret, e) != 0) {
		if (e->code != LERR_FORBIDDEN)
			return -1;
		/* The first key: the secret is made, for the daemon's user. */
		randombytes_buf(secret, sizeof(secret));
		if (fileio_write_atomic(path, secret, sizeof(secret), 0600, 1, e) != 0) {
			sodium_memzero(secret, sizeof(secret));
			return -1;
		}
		/* The daemon's user reads it: the store's owner (lanca init
		 * --user hands the daemon's files to it: lanca.db, or store.url
		 * for a store on PostgreSQL), not the directory's (root's then). */
		if (((state_path(store_path, dir, STATE_STORE_URL) == 0 &&
		     lstat(store_path, &st) == 0) ||
		    (state_path(store_path, dir, STORE_FILE) == 0 && stat(store_path, &st) == 0)) &&
		    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			if (fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM)
				log_warn("cannot hand %s to the daemon's user: %s", path,
					 strerror(errno));
			close(fd);
		}
	}
	acme_random_id(kid, 33, 16);
	*expires_at = now + (int64_t)ACME_EAB_DAYS * 86400;
	if (store_acme_eab_new(s, kid, now, *expires_at, actor, e) != 0) {
		sodium_memzero(secret, sizeof(secret));
		return -1;
	}
	acme_eab_derive(secret, kid, key);
	sodium_bin2base64(key_b64, 64, key, sizeof(key), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(key, sizeof(key));
	return 0;
}

/* ---- orders ---- */

/* Reads one identifier of an order into z, checked against the policy.
 * The value kept is the normalised one (lower case, canonical address). */
static int
acme_identifier(struct acme *a, const json_t *id, size_t i, struct store_acme_authz *z,
		struct lerr *e)
{
	const char *type, *value;
	struct names one;
	struct ipnet ip;

	type = json_string_value(json_object_get(id, "type"));
	value = json_string_value(json_object_get(id, "value"));
	if (!json_is_object(id) || type == NULL || value == NULL || json_object_size(id) != 2)
		return lerr_set(e, LERR_BAD_REQUEST, "identifier %zu is not {\"type\", \"value\"}",
				i + 1);
	/* lego 4.9 (Debian 12) sends an address as a "dns" identifier, as
	 * clients did before RFC 8738: taken as the "ip" it means. */
	if (strcmp(type, "dns") == 0 && strchr(value, '/') == NULL && ipnet_parse(value, &ip) == 0)
		type = "ip";
	if (strcmp(type, "dns") == 0) {
		if (value[0] == '*')
			return lerr_set(e, LERR_FORBIDDEN_NAME, "%s: lanca issues no wildcard "
					"names", value);
		if (policy_check_dns(a->policy, value, POLICY_SERVER, e) != 0)
			return -1;
		names_init(&one);
		if (names_add_dns(&one, value) != 0 || one.ndns != 1) {
			names_free(&one);
			return lerr_set(e, LERR_BAD_NAME, "\"%s\" is not a DNS name", value);
		}
		snprintf(z->value, sizeof(z->value), "%s", one.dns[0]);
		names_free(&one);
		z->ip = 0;
		return 0;
	}
	if (strcmp(type, "ip") == 0) {
		/* RFC 8738: an address, not a network, in its text form. */
		if (strchr(value, '/') != NULL || ipnet_parse(value, &ip) != 0)
			return lerr_set(e, LERR_BAD_NAME, "\"%s\" is not an IP address", value);
		if (policy_check_ip(a->policy, &ip, POLICY_SERVER, e) != 0)
			return -1;
		if (ipnet_format(&ip, z->value, sizeof(z->value)) < 0)
			return lerr_set(e, LERR_BAD_NAME, "\"%s\" is not an IP address", value);
		z->value[strcspn(z->value, "/")] = '\0';
		z->ip = 1;
		return 0;
	}
	return lerr_set(e, LERR_FORBIDDEN_NAME, "identifier type \"%s\": lanca takes \"dns\" "
			"and \"ip\"", type);
}

/* 1 if the account may order: valid and approved; 0 with e if not. */
static int
acme_account_usable(const struct store_acme_account *acct, struct lerr *e)
{
	if (acct->status != STORE_ACME_VALID) {
		lerr_set(e, LERR_UNAUTHORIZED, "the account is %s",
			 store_acme_status_str(acct->status));
		return 0;
	}
	if (acct->approved == STORE_ACME_WAITING) {
		lerr_set(e, LERR_UNAUTHORIZED, "account %s waits for an admin's approval: on the "
			 "gateway, run `lanca acme approve %s`, or make the account during a "
			 "button press, or with an EAB key", acct->id, acct->id);
		return 0;
	}
	return 1;
}

int
acme_order_new(struct acme *a, const struct store_acme_account *acct, const json_t *identifiers,
	       struct store_acme_order **out, struct lerr *e)
{
	struct store_acme_order *o;
	json_t *norm = NULL, *id;
	char *text = NULL;
	size_t i, j, n;
	int64_t now = acme_now(a);
	int rc = -1;

	*out = NULL;
	if (!acme_account_usable(acct, e))
		return -1;
	n = json_array_size(identifiers);
	if (!json_is_array(identifiers) || n == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "identifiers must be a non-empty array");
	if (n > STORE_ACME_IDENTS_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "an order of %zu identifiers: at most %d", n,
				STORE_ACME_IDENTS_MAX);
	o = calloc(1, sizeof(*o));
	norm = json_array();
	if (o == NULL || norm == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	json_array_foreach(identifiers, i, id) {
		struct store_acme_authz *z = &o->authz[i];

		if (acme_identifier(a, id, i, z, e) != 0)
			goto out;
		for (j = 0; j < i; j++)
			if (o->authz[j].ip == z->ip && strcmp(o->authz[j].value, z->value) == 0) {
				lerr_set(e, LERR_BAD_REQUEST, "identifier %s is listed twice",
					 z->value);
				goto out;
			}
		acme_random_id(z->id, sizeof(z->id), 16);
		acme_random_id(z->token, sizeof(z->token), 32);
		z->status = STORE_ACME_PENDING;
		z->expires_at = now + (int64_t)ACME_ORDER_HOURS * 3600;
		json_array_append_new(norm, json_pack("{s:s, s:s}", "type", z->ip ? "ip" : "dns",
						      "value", z->value));
	}
	o->nauthz = n;
	acme_random_id(o->id, sizeof(o->id), 16);
	snprintf(o->account_id, sizeof(o->account_id), "%s", acct->id);
	o->status = STORE_ACME_PENDING;
	o->created_at = now;
	o->updated_at = now;
	o->expires_at = now + (int64_t)ACME_ORDER_HOURS * 3600;
	text = json_dumps(norm, JSON_COMPACT);
	if (text == NULL || strlen(text) >= sizeof(o->identifiers)) {
		lerr_set(e, LERR_TOO_LARGE, "the identifiers are too long");
		goto out;
	}
	memcpy(o->identifiers, text, strlen(text) + 1);
	if (store_acme_order_new(a->store, o, e) != 0)
		goto out;
	for (i = 0; i < n; i++)
		memcpy(o->authz[i].order_id, o->id, sizeof(o->id));
	*out = o;
	o = NULL;
	rc = 0;
out:
	free(text);
	json_decref(norm);
	free(o);
	return rc;
}

int
acme_order_get(struct acme *a, const struct store_acme_account *acct, const char *id,
	       struct store_acme_order **out, struct lerr *e)
{
	int lrc;

	*out = NULL;
	if ((lrc = store_acme_order_get(a->store, id, out, e)) < 0)
		return -1;
	if (lrc > 0 || strcmp((*out)->account_id, acct->id) != 0) {
		free(*out);
		*out = NULL;
		return lerr_set(e, LERR_NOT_FOUND, "no such order");
	}
	return 0;
}

int
acme_authz_get(struct acme *a, const struct store_acme_account *acct, const char *id,
	       struct store_acme_authz *out, struct lerr *e)
{
	struct store_acme_order *o = NULL;
	int lrc;

	if ((lrc = store_acme_authz_get(a->store, id, out, e)) < 0)
		return -1;
	if (lrc > 0 || acme_order_get(a, acct, out->order_id, &o, e) != 0)
		return lerr_set(e, LERR_NOT_FOUND, "no such authorization");
	free(o);
	return 0;
}

size_t
acme_chall_types(const struct acme *a, const struct store_acme_authz *z,
		 const char *types[ACME_CHALL_TYPES])
{
	size_t n = 0;

	types[n++] = "http-01";
	types[n++] = "tls-alpn-01";
	if (!z->ip && policy_site_name(a->policy, z->value))
		types[n++] = "dns-01";
	return n;
}

int
acme_challenge(struct acme *a, const struct store_acme_account *acct, const char *id,
	       const char *type, struct store_acme_authz *out, struct lerr *e)
{
	const char *types[ACME_CHALL_TYPES];
	size_t i, n;
	int lrc;

	if (!acme_account_usable(acct, e) || acme_authz_get(a, acct, id, out, e) != 0)
		return -1;
	n = acme_chall_types(a, out, types);
	for (i = 0; i < n && strcmp(types[i], type) != 0; i++)
		;
	if (i == n)
		return lerr_set(e, LERR_NOT_FOUND, "no such challenge");
	/* No room now: the challenge stays pending, for the client to ask
	 * again (503), rather than fail for another account's load. */
	if (out->status == STORE_ACME_PENDING && out->chall_status == STORE_ACME_PENDING &&
	    acme_room(a, acct->id, e) != 0)
		return -1;
	if ((lrc = store_acme_chall_start(a->store, id, type, acme_now(a), e)) < 0)
		return -1;
	if (lrc == 0 && acme_enqueue(a, id, acct->id, e) != 0) {
		/* Nobody will validate it: it fails now rather than hang. */
		char *problem = acme_problem_json("serverInternal", e->msg);
		struct lerr ie;

		if (problem == NULL ||
		    store_acme_chall_done(a->store, id, 0, problem, acme_now(a), &ie) < 0)
			log_err("cannot fail the ACME challenge of %s", id);
		free(problem);
		return -1;
	}
	/* Asked again, or another type was tried: as it is. */
	return acme_authz_get(a, acct, id, out, e);
}

int
acme_authz_deactivate(struct acme *a, const struct store_acme_account *acct, const char *id,
		      struct store_acme_authz *out, struct lerr *e)
{
	int lrc;

	if (acme_authz_get(a, acct, id, out, e) != 0)
		return -1;
	if ((lrc = store_acme_authz_deactivate(a->store, id, acme_now(a), e)) < 0)
		return -1;
	if (lrc > 0)
		return lerr_set(e, LERR_FORBIDDEN, "the authorization is %s: only a pending or "
				"valid one can be deactivated", store_acme_status_str(out->status));
	return acme_authz_get(a, acct, id, out, e);
}

/* The order's identifiers as names (each was checked when it was made). */
static int
acme_order_names(const struct store_acme_order *o, struct names *n, struct lerr *e)
{
	struct ipnet ip;
	size_t i;

	names_init(n);
	for (i = 0; i < o->nauthz; i++) {
		if (o->authz[i].ip ? ipnet_parse(o->authz[i].value, &ip) != 0 ||
				     names_add_ip(n, &ip) != 0 :
				     names_add_dns(n, o->authz[i].value) != 0) {
			names_free(n);
			return lerr_set(e, LERR_STORE, "order %s holds a bad identifier", o->id);
		}
	}
	return 0;
}

/* The ACME error type of a finalisation's failure. */
static const char *
acme_finalize_type(enum lerr_code code)
{
	switch (code) {
	case LERR_BAD_CSR:
	case LERR_BAD_SIGNATURE:
	case LERR_BAD_NAME:
	case LERR_TOO_LARGE:
	case LERR_BAD_REQUEST:
	case LERR_FORBIDDEN_NAME:
		return "badCSR";
	case LERR_WEAK_KEY:
	case LERR_UNSUPPORTED_KEY:
		return "badPublicKey";
	case LERR_FORBIDDEN:
	case LERR_UNAUTHORIZED:
	case LERR_CONFLICT:
		return "unauthorized";
	default:
		return "serverInternal";
	}
}

int
acme_finalize(struct acme *a, const struct store_acme_account *acct, const char *id,
	      const unsigned char *csr, size_t len, const char *source,
	      struct store_acme_order **out, struct lerr *e)
{
	char device[sizeof(ACME_DEVICE_PREFIX) + STORE_ACME_ID_LEN], *problem;
	struct store_acme_order *o = NULL;
	struct enroll_order_ask ask;
	struct enroll_result res;
	struct names proven;
	struct lerr fe, se;
	int lrc, rc;

	*out = NULL;
	if (!acme_account_usable(acct, e) || acme_order_get(a, acct, id, &o, e) != 0)
		return -1;
	if ((lrc = store_acme_order_begin(a->store, id, acme_now(a), e)) != 0) {
		if (lrc > 0)
			lerr_set(e, LERR_CONFLICT, "the order is %s, not ready: %s",
				 store_acme_status_str(o->status),
				 o->status == STORE_ACME_PENDING ? "its authorizations are not "
				 "all valid yet" : "it cannot be finalized now");
		free(o);
		return -1;
	}
	if (acme_order_names(o, &proven, e) != 0) {
		free(o);
		return -1;
	}
	free(o);
	o = NULL;
	acme_device_id(acct->id, device);
	memset(&ask, 0, sizeof(ask));
	ask.csr = csr;
	ask.csr_len = len;
	ask.device_id = device;
	ask.proven = &proven;
	ask.source = source;
	enroll_result_init(&res);
	lerr_clear(&fe);
	rc = enroll_order(a->en, &ask, &res, &fe);
	metric_counter_add(&a->counts[rc == 0 ? ACME_COUNT_ISSUED : ACME_COUNT_REFUSED]);
	names_free(&proven);
	if (rc == 0) {
		if (store_acme_order_end(a->store, id, res.serial, NULL, acme_now(a), &se) != 0)
			log_err("certificate %s was issued for ACME order %s, which could not be "
				"marked valid: %s", res.serial, id, se.msg);
	} else if (strcmp(acme_finalize_type(fe.code), "badCSR") == 0 ||
		   strcmp(acme_finalize_type(fe.code), "badPublicKey") == 0) {
		/* The request was at fault, not the order: it is ready again,
		 * for a better one (as Boulder does). */
		if (store_acme_order_end(a->store, id, NULL, NULL, acme_now(a), &se) != 0)
			log_err("ACME order %s could not be made ready again: %s", id, se.msg);
		*e = fe;
	} else {
		problem = acme_problem_json(acme_finalize_type(fe.code), fe.msg);
		if (problem == NULL ||
		    store_acme_order_end(a->store, id, NULL, problem, acme_now(a), &se) != 0)
			log_err("ACME order %s failed (%s) and could not be marked invalid", id,
				fe.msg);
		free(problem);
		*e = fe;
		/* LERR_CONFLICT means "not ready" to the door: from issuance it
		 * is the store's. */
		if (e->code == LERR_CONFLICT)
			e->code = LERR_STORE;
	}
	enroll_result_free(&res);
	if (rc != 0)
		return -1;
	return acme_order_get(a, acct, id, out, e);
}

int
acme_cert_chain(struct acme *a, const struct store_acme_account *acct, const char *id,
		struct buf *pem, struct lerr *e)
{
	struct store_acme_order *o = NULL;
	struct store_cert *c = NULL;
	unsigned char serial[STORE_SERIAL_MAX];
	size_t i, n;
	int rc = -1;

	if (acme_order_get(a, acct, id, &o, e) != 0)
		return -1;
	n = strlen(o->cert_serial) / 2;
	if (o->status != STORE_ACME_VALID || n == 0 || n > sizeof(serial)) {
		lerr_set(e, LERR_NOT_FOUND, "the order has no certificate");
		goto out;
	}
	for (i = 0; i < n; i++)
		serial[i] = (unsigned char)(hex_digit(o->cert_serial[2 * i]) << 4 |
					    hex_digit(o->cert_serial[2 * i + 1]));
	if (store_cert_by_serial(a->store, serial, n, &c, e) != 0)
		goto out;
	if (issue_chain_pem(a->store, c, a->ca, pem, e) != 0)
		goto out;
	rc = 0;
out:
	store_cert_free(c);
	free(o);
	return rc;
}

/* ---- revocation and renewal information ---- */

/* The store's row of certificate der, which must be one lanca issued. */
static int
acme_cert_row(struct acme *a, const unsigned char *der, size_t len, struct store_cert **row,
	      struct lerr *e)
{
	gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[STORE_SERIAL_MAX + 1];
	size_t slen = sizeof(serial);
	int rc = -1;

	*row = NULL;
	if (gnutls_x509_crt_init(&crt) < 0)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_serial(crt, serial, &slen) < 0 || slen > STORE_SERIAL_MAX) {
		lerr_set(e, LERR_BAD_REQUEST, "certificate is not an X.509 certificate in DER");
		goto out;
	}
	if (store_cert_by_serial(a->store, serial, slen, row, e) != 0 ||
	    (*row)->der_len != len || memcmp((*row)->der, der, len) != 0) {
		store_cert_free(*row);
		*row = NULL;
		lerr_set(e, LERR_NOT_FOUND, "lanca did not issue this certificate");
		goto out;
	}
	rc = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

int
acme_revoke(struct acme *a, const struct store_acme_account *acct, gnutls_pubkey_t key,
	    const unsigned char *der, size_t len, enum crl_reason reason, struct lerr *e)
{
	char device[sizeof(ACME_DEVICE_PREFIX) + STORE_ACME_ID_LEN], actor[96];
	unsigned char id[64];
	size_t id_len = sizeof(id);
	struct admin_revoke_req rq;
	struct store_cert *row = NULL;
	json_t *done = NULL;
	int rc = -1;

	if (reason != CRL_REASON_UNSPECIFIED && reason != CRL_REASON_KEY_COMPROMISE &&
	    reason != CRL_REASON_AFFILIATION_CHANGED && reason != CRL_REASON_SUPERSEDED &&
	    reason != CRL_REASON_CESSATION_OF_OPERATION)
		return lerr_set(e, LERR_BAD_REQUEST, "badRevocationReason");
	if (acme_cert_row(a, der, len, &row, e) != 0)
		return -1;
	if (acct != NULL) {
		acme_device_id(acct->id, device);
		if (strcmp(row->device_id, device) != 0) {
			lerr_set(e, LERR_UNAUTHORIZED, "this certificate is not the account's");
			goto out;
		}
		snprintf(actor, sizeof(actor), "acme account %s", acct->id);
	} else {
		/* Signed with the certificate's own key (csr.h's key id). */
		unsigned char spki[4096];
		size_t spki_len = sizeof(spki);

		if (gnutls_pubkey_export(key, GNUTLS_X509_FMT_DER, spki, &spki_len) < 0 ||
		    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki, spki_len, id) < 0 ||
		    sodium_memcmp(id, row->key_id, 32) != 0) {
			lerr_set(e, LERR_UNAUTHORIZED, "the request is not signed with the "
				 "certificate's key");
			goto out;
		}
		snprintf(actor, sizeof(actor), "acme certificate key");
	}
	(void)id_len;
	if (row->status == STORE_CERT_REVOKED) {
		lerr_set(e, LERR_CONFLICT, "the certificate is revoked already");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	hex_encode(row->serial, row->serial_len, rq.target);
	rq.reason = reason;
	if (admin_revoke(a->store, a->rv, &rq, actor, &done, e) != 0)
		goto out;
	rc = 0;
out:
	json_decref(done);
	store_cert_free(row);
	return rc;
}

/* The subject key id of issuing CA ca_id (*len bytes at most in, then
 * the id's): this gateway's own, or one of the site's on record. -1 with
 * e when the store fails (else e is clear). */
static int
acme_ca_ski(struct acme *a, int64_t ca_id, unsigned char *ski, size_t *len, struct lerr *e)
{
	struct store_ca *row = NULL;
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	lerr_clear(e);
	if (ca_id == a->ca->issuing_id)
		return gnutls_x509_crt_get_subject_key_id(a->ca->issuing, ski, len, NULL) < 0 ? -1 : 0;
	if (store_ca_get(a->store, ca_id, &row, e) != 0 ||
	    x509_import(row->der, row->der_len, &crt, e) != 0)
		goto out;
	rc = gnutls_x509_crt_get_subject_key_id(crt, ski, len, NULL) < 0 ? -1 : 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	store_ca_free(row);
	return rc;
}

int
acme_renewal_info(struct acme *a, const char *certid, int64_t *start, int64_t *end,
		  struct lerr *e)
{
	unsigned char aki[64], serial[STORE_SERIAL_MAX + 2], ski[64];
	size_t aki_len = 0, serial_len = 0, ski_len = sizeof(ski);
	const char *dot = strchr(certid, '.');
	struct store_cert *c = NULL;
	int64_t life, now = acme_now(a);
	size_t off = 0;
	int rc = -1;

	if (dot == NULL ||
	    sodium_base642bin(aki, sizeof(aki), certid, (size_t)(dot - certid), NULL, &aki_len,
			      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    sodium_base642bin(serial, sizeof(serial), dot + 1, strlen(dot + 1), NULL,
			      &serial_len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    aki_len == 0 || serial_len == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "a certificate id is base64url(AKI) \".\" "
				"base64url(serial) (RFC 9773)");
	/* The serial as DER's INTEGER has it: a leading zero keeps it positive. */
	if (serial_len > 1 && serial[0] == 0)
		off = 1;
	/* The AKI must be the key of the CA that signed the certificate of
	 * that serial: this gateway's, or another of the site's. */
	if (serial_len - off > STORE_SERIAL_MAX ||
	    store_cert_by_serial(a->store, serial + off, serial_len - off, &c, e) != 0 ||
	    acme_ca_ski(a, c->ca_id, ski, &ski_len, e) != 0 ||
	    ski_len != aki_len || memcmp(ski, aki, aki_len) != 0) {
		/* A store that cannot answer says so; anything else is unknown. */
		if (e->code != LERR_STORE && e->code != LERR_STORE_UNAVAILABLE)
			lerr_set(e, LERR_NOT_FOUND, "lanca's issuing CAs issued no certificate %s",
				 certid);
		goto out;
	}
	if (c->status == STORE_CERT_REVOKED) {
		/* Renew now: the window is already open, and closes soon. */
		*start = now - 3600;
		*end = now;
	} else {
		life = c->not_after - c->not_before;
		*start = c->not_before + life * 2 / 3;
		*end = c->not_after - life / 9;
	}
	rc = 0;
out:
	store_cert_free(c);
	return rc;
}
