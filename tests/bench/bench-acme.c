/*
 * bench-acme.c - what the ACME door costs per request, in one run on one
 * machine (issue 15).
 *
 * Measures, in this process:
 *   (a) a signed ACME POST: a flattened JWS with a kid header and a
 *       finalize-sized payload, as src/http/acme/jws.c sees it, for
 *       account keys ES256 (P-256), ES384 (P-384), RS256 (RSA 2048) and
 *       EdDSA (Ed25519). The bodies are made here with GnuTLS (ECDSA's
 *       DER signature turned into JWS's R||S, each half zero-padded to
 *       the curve's size); each is checked to verify, and to be refused
 *       with a bit of its signature changed, before it is timed. Three
 *       figures per key: jws_parse alone, jws_parse + jws_verify, and
 *       the door's whole check of a kid request, which also reads the
 *       account's stored JWK (json_loads + jws_jwk_import) each time;
 *   (b) nonces: acme_nonce_make + acme_nonce_take pairs, on 1 thread and
 *       on 2 sharing the set (its one lock);
 *   (c) the store's durable writes of one order's life, on a temporary
 *       store: store_acme_order_new (1 identifier), store_acme_chall_start,
 *       store_acme_chall_done, store_acme_order_begin, store_acme_order_end.
 *       Each is a store_submit, a durable transaction (synchronous=FULL):
 *       this one is bound by the disk's fsync, not the CPU. On 1, 2 and 4
 *       threads (orders of different clients at once), with the store's
 *       commits per order: below 5 when the group commit shared them.
 * Each prints CPU per operation and operations per second (wall), the
 * medians of ROUNDS runs. Printed, never asserted.
 *
 * usage: bench-acme [-n N] [-r ROUNDS] [-d DIR]
 * N: operations per measurement (2000; (c) runs N/10 orders, at least
 * 10); ROUNDS: how many times each is measured, the median printed (3);
 * DIR: where (c)'s store lives (default $TMPDIR or /tmp): its disk is
 * what (c) measures.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <sodium.h>

#include "common/fileio.h"
#include "common/lerr.h"
#include "http/acme/jws.h"
#include "http/acme/nonce.h"
#include "store/store.h"
#include "measure.h"

#define USAGE		"usage: bench-acme [-n N] [-r ROUNDS 1..9] [-d DIR]"
#define ROUNDS_MAX	9
#define BENCH_URL	"https://ca.lan.example:8443/acme"
#define BENCH_KID	BENCH_URL "/acct/AAAAAAAAAAAAAAAAAAAAAA"

/* The account keys measured. */
static const struct {
	const char *name;		/* as printed */
	enum jws_alg alg;
	gnutls_pk_algorithm_t pk;
	unsigned bits;			/* GnuTLS's for generation */
	gnutls_digest_algorithm_t dig;
	size_t half;			/* ECDSA: R's and S's size; else 0 */
} keys[] = {
	{ "ES256 (P-256)", JWS_ES256, GNUTLS_PK_ECDSA,
	  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), GNUTLS_DIG_SHA256, 32 },
	{ "ES384 (P-384)", JWS_ES384, GNUTLS_PK_ECDSA,
	  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), GNUTLS_DIG_SHA384, 48 },
	{ "RS256 (RSA 2048)", JWS_RS256, GNUTLS_PK_RSA, 2048, GNUTLS_DIG_SHA256, 0 },
	{ "EdDSA (Ed25519)", JWS_EDDSA, GNUTLS_PK_EDDSA_ED25519,
	  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), GNUTLS_DIG_SHA512, 0 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* One account key's request, made once. */
struct signed_req {
	char *body;			/* the flattened JWS */
	size_t len;
	char *jwk;			/* the account's public JWK, as the store keeps it */
};

/* Base64url without padding of n bytes, malloc'd; NULL out of memory. */
static char *
b64url(const void *p, size_t n)
{
	size_t max = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(max);

	if (s != NULL)
		sodium_bin2base64(s, max, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* d's value right-aligned in size bytes at out (GnuTLS may give it with
 * a leading zero octet or without its leading zeros). 0, or -1 when it
 * does not fit. */
static int
pad_to(unsigned char *out, size_t size, const gnutls_datum_t *d)
{
	const unsigned char *p = d->data;
	size_t n = d->size;

	while (n > size && *p == 0) {
		p++;
		n--;
	}
	if (n > size)
		return -1;
	memset(out, 0, size - n);
	memcpy(out + size - n, p, n);
	return 0;
}

/* A member of the JWK: base64url of d (padded to size when size != 0). */
static int
jwk_member(json_t *jwk, const char *name, const gnutls_datum_t *d, size_t size)
{
	unsigned char buf[1024];
	const unsigned char *p = d->data;
	size_t n = d->size;
	char *s;
	int rc;

	if (size != 0) {
		if (size > sizeof(buf) || pad_to(buf, size, d) != 0)
			return -1;
		p = buf;
		n = size;
	} else {
		/* RFC 7518: n and e without a leading zero octet. */
		while (n > 1 && *p == 0) {
			p++;
			n--;
		}
	}
	if ((s = b64url(p, n)) == NULL)
		return -1;
	rc = json_object_set_new(jwk, name, json_string(s));
	free(s);
	return rc;
}

/* The public JWK of key k as compact JSON (malloc'd), or NULL. */
static char *
make_jwk(gnutls_privkey_t key, size_t k)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	json_t *jwk = json_object();
	char *text = NULL;
	int bad;

	if (jwk == NULL)
		return NULL;
	if (keys[k].pk == GNUTLS_PK_RSA) {
		bad = gnutls_privkey_export_rsa_raw2(key, &a, &b, NULL, NULL, NULL, NULL, NULL,
						     NULL, 0) < 0 ||
		      json_object_set_new(jwk, "kty", json_string("RSA")) != 0 ||
		      jwk_member(jwk, "n", &a, 0) != 0 || jwk_member(jwk, "e", &b, 0) != 0;
	} else if (keys[k].pk == GNUTLS_PK_ECDSA) {
		bad = gnutls_privkey_export_ecc_raw2(key, &curve, &a, &b, NULL, 0) < 0 ||
		      json_object_set_new(jwk, "kty", json_string("EC")) != 0 ||
		      json_object_set_new(jwk, "crv", json_string(keys[k].half == 32 ?
								   "P-256" : "P-384")) != 0 ||
		      jwk_member(jwk, "x", &a, keys[k].half) != 0 ||
		      jwk_member(jwk, "y", &b, keys[k].half) != 0;
	} else {
		bad = gnutls_privkey_export_ecc_raw2(key, &curve, &a, NULL, NULL, 0) < 0 ||
		      json_object_set_new(jwk, "kty", json_string("OKP")) != 0 ||
		      json_object_set_new(jwk, "crv", json_string("Ed25519")) != 0 ||
		      jwk_member(jwk, "x", &a, 32) != 0;
	}
	if (!bad)
		text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	gnutls_free(a.data);
	gnutls_free(b.data);
	json_decref(jwk);
	return text;
}

/* A request signed by a new key of kind k into *r: a finalize POST (a
 * CSR's worth of payload) with a kid header. 0, or -1 (said on stderr). */
static int
make_req(size_t k, struct signed_req *r)
{
	unsigned char csr[420], rs[2 * 48];
	char header[512], *csr64 = NULL, *prot64 = NULL, *pay64 = NULL, *sig64 = NULL;
	char *payload = NULL, *input = NULL, nonce[ACME_NONCE_LEN + 1];
	gnutls_privkey_t key = NULL;
	gnutls_datum_t msg, sig = { NULL, 0 }, r_v, s_v;
	size_t n;
	int g, rc = -1;

	memset(r, 0, sizeof(*r));
	/* Any 32 base64url characters do for the nonce: jws_parse reads it,
	 * the door's nonce set (measured in (b)) judges it. */
	randombytes_buf(csr, 24);
	sodium_bin2base64(nonce, sizeof(nonce), csr, 24, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	/* A P-256 CSR's DER is about 400 bytes; its bytes are not read. */
	randombytes_buf(csr, sizeof(csr));
	if ((g = gnutls_privkey_init(&key)) < 0 ||
	    (g = gnutls_privkey_generate(key, keys[k].pk, keys[k].bits, 0)) < 0) {
		fprintf(stderr, "bench-acme: generating a %s key: %s\n", keys[k].name,
			gnutls_strerror(g));
		goto out;
	}
	if ((r->jwk = make_jwk(key, k)) == NULL)
		goto nomem;
	n = (size_t)snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\","
			     "\"nonce\":\"%s\",\"url\":\"%s/order/BBBBBBBBBBBBBBBBBBBBBB/finalize\"}",
			     jws_alg_name(keys[k].alg), BENCH_KID, nonce, BENCH_URL);
	if ((csr64 = b64url(csr, sizeof(csr))) == NULL ||
	    (payload = malloc(strlen(csr64) + 16)) == NULL)
		goto nomem;
	sprintf(payload, "{\"csr\":\"%s\"}", csr64);
	if ((prot64 = b64url(header, n)) == NULL ||
	    (pay64 = b64url(payload, strlen(payload))) == NULL ||
	    (input = malloc(strlen(prot64) + strlen(pay64) + 2)) == NULL)
		goto nomem;
	sprintf(input, "%s.%s", prot64, pay64);
	msg.data = (unsigned char *)input;
	msg.size = (unsigned)strlen(input);
	if ((g = gnutls_privkey_sign_data(key, keys[k].dig, 0, &msg, &sig)) < 0) {
		fprintf(stderr, "bench-acme: signing with %s: %s\n", keys[k].name,
			gnutls_strerror(g));
		goto out;
	}
	if (keys[k].half != 0) {
		/* RFC 7518 3.4: R || S, each the curve's size, not X9.62's DER. */
		if ((g = gnutls_decode_rs_value(&sig, &r_v, &s_v)) < 0) {
			fprintf(stderr, "bench-acme: %s signature: %s\n", keys[k].name,
				gnutls_strerror(g));
			goto out;
		}
		g = pad_to(rs, keys[k].half, &r_v) | pad_to(rs + keys[k].half, keys[k].half, &s_v);
		gnutls_free(r_v.data);
		gnutls_free(s_v.data);
		if (g != 0) {
			fprintf(stderr, "bench-acme: %s signature: R or S too long\n",
				keys[k].name);
			goto out;
		}
		sig64 = b64url(rs, 2 * keys[k].half);
	} else
		sig64 = b64url(sig.data, sig.size);
	if (sig64 == NULL)
		goto nomem;
	n = strlen(prot64) + strlen(pay64) + strlen(sig64) + 64;
	if ((r->body = malloc(n)) == NULL)
		goto nomem;
	r->len = (size_t)snprintf(r->body, n, "{\"protected\":\"%s\",\"payload\":\"%s\","
				  "\"signature\":\"%s\"}", prot64, pay64, sig64);
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "bench-acme: out of memory (or a key GnuTLS would not export)\n");
out:
	if (rc != 0) {
		free(r->body);
		free(r->jwk);
		memset(r, 0, sizeof(*r));
	}
	gnutls_free(sig.data);
	free(csr64);
	free(payload);
	free(prot64);
	free(pay64);
	free(sig64);
	free(input);
	if (key != NULL)
		gnutls_privkey_deinit(key);
	return rc;
}

/* How much of the door's check check_once does. */
enum check_how {
	CHECK_PARSE,		/* jws_parse only */
	CHECK_VERIFY,		/* jws_parse + jws_verify with the key imported once */
	CHECK_DOOR,		/* + the account's stored JWK imported each time */
};

/* The door's check of r once, as far as how says. 0 when it parses and
 * (unless CHECK_PARSE) verifies. */
static int
check_once(const struct signed_req *r, gnutls_pubkey_t key, enum check_how how)
{
	int door = how == CHECK_DOOR;
	char thumb[JWS_THUMBPRINT_LEN + 1];
	gnutls_pubkey_t k = key;
	struct jws j;
	struct lerr e;
	json_t *jwk;
	int rc = -1;

	if (jws_parse(r->body, r->len, &j, &e) != 0)
		return -1;
	if (door) {
		jwk = json_loads(r->jwk, 0, NULL);
		k = NULL;
		if (jwk == NULL || jws_jwk_import(jwk, &k, thumb, &e) != 0) {
			json_decref(jwk);
			goto out;
		}
		json_decref(jwk);
	}
	rc = how == CHECK_PARSE ? 0 : jws_verify(&j, k, &e);
out:
	if (door && k != NULL)
		gnutls_pubkey_deinit(k);
	jws_free(&j);
	return rc;
}

/* 0 when r with one bit of its signature changed is refused as a bad
 * signature (the figures are of checks that can fail). */
static int
tampered_refused(const struct signed_req *r, gnutls_pubkey_t key)
{
	struct jws j;
	struct lerr e;
	int rc;

	if (jws_parse(r->body, r->len, &j, &e) != 0)
		return -1;
	j.sig[j.sig_len / 2] ^= 0x01;
	lerr_clear(&e);
	rc = jws_verify(&j, key, &e) == -1 && e.code == LERR_BAD_SIGNATURE ? 0 : -1;
	jws_free(&j);
	return rc;
}

/* (a) for every key, rounds times: n checks each way. */
static int
bench_jws(const struct signed_req reqs[NKEYS], gnutls_pubkey_t pubs[NKEYS], unsigned n,
	  unsigned rounds)
{
	static const char *const what[] = { "jws_parse alone", "jws_parse + jws_verify",
					    "+ the account's JWK imported (the door's kid path)" };
	double rate[ROUNDS_MAX], cpu[ROUNDS_MAX], w0, c0;
	unsigned r, i;
	size_t k;
	int how, errors;

	printf("(a) a signed ACME POST (flattened JWS, kid header, finalize payload), %u per "
	       "round\n", n);
	for (k = 0; k < NKEYS; k++)
		for (how = CHECK_PARSE; how <= CHECK_DOOR; how++) {
			errors = 0;
			for (r = 0; r < rounds; r++) {
				c0 = bench_cpu_s(RUSAGE_SELF);
				w0 = bench_wall_s();
				for (i = 0; i < n; i++)
					errors += check_once(&reqs[k], pubs[k],
							     (enum check_how)how) != 0;
				rate[r] = (double)n / (bench_wall_s() - w0);
				cpu[r] = (bench_cpu_s(RUSAGE_SELF) - c0) * 1e6 / (double)n;
			}
			printf("  %-17s %-52s %7.1f us CPU/req  %8.0f req/s  errors %d\n",
			       how != CHECK_PARSE ? "" : keys[k].name, what[how],
			       bench_median(cpu, rounds),
			       bench_median(rate, rounds), errors);
			fflush(stdout);
			if (errors != 0)
				return -1;
		}
	return 0;
}

struct nonce_run {
	struct acme_nonces *set;
	unsigned per_thread;
	atomic_int errors;
};

static void *
nonce_worker(void *arg)
{
	struct nonce_run *run = arg;
	char nonce[ACME_NONCE_LEN + 1];
	unsigned i;

	for (i = 0; i < run->per_thread; i++) {
		acme_nonce_make(run->set, nonce);
		if (acme_nonce_take(run->set, nonce) != 1)
			atomic_fetch_add(&run->errors, 1);
	}
	return NULL;
}

/* (b) n make + take pairs on threads threads, rounds times. */
static int
bench_nonce(struct acme_nonces *set, unsigned n, int threads, unsigned rounds)
{
	double rate[ROUNDS_MAX], cpu[ROUNDS_MAX], w0, c0;
	struct nonce_run run;
	pthread_t tid[2];
	unsigned r, total;
	int i, errors = 0;

	run.set = set;
	run.per_thread = n / (unsigned)threads;
	total = run.per_thread * (unsigned)threads;
	for (r = 0; r < rounds; r++) {
		atomic_init(&run.errors, 0);
		c0 = bench_cpu_s(RUSAGE_SELF);
		w0 = bench_wall_s();
		for (i = 0; i < threads; i++)
			if (pthread_create(&tid[i], NULL, nonce_worker, &run) != 0)
				return -1;
		for (i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		rate[r] = (double)total / (bench_wall_s() - w0);
		cpu[r] = (bench_cpu_s(RUSAGE_SELF) - c0) * 1e6 / (double)total;
		errors += atomic_load(&run.errors);
	}
	printf("  %d thread%s  %5.2f us CPU/pair  %9.0f pairs/s  errors %d\n", threads,
	       threads > 1 ? "s" : " ", bench_median(cpu, rounds), bench_median(rate, rounds),
	       errors);
	fflush(stdout);
	return errors != 0 ? -1 : 0;
}

/* An id of STORE_ACME_ID_LEN characters from a tag and a number. */
static void
make_id(char out[STORE_ACME_ID_LEN + 1], const char *tag, unsigned long n)
{
	snprintf(out, STORE_ACME_ID_LEN + 1, "%s%0*lu", tag, (int)(STORE_ACME_ID_LEN - strlen(tag)),
		 n);
}

/* One order's life in the store, as the daemon writes it: made with one
 * identifier, its challenge started and passed, finalisation begun and
 * ended with a certificate. The five writes' results, or -1. */
static int
order_life(struct store *s, struct store_acme_order *o, unsigned long n, int64_t now)
{
	struct store_acme_authz *z = &o->authz[0];
	char serial[2 * 16 + 1];
	struct lerr e;

	memset(o, 0, sizeof(*o));
	make_id(o->id, "ordr", n);
	make_id(o->account_id, "acct", 1);
	snprintf(o->identifiers, sizeof(o->identifiers),
		 "[{\"type\":\"dns\",\"value\":\"gw%lu.lan.example\"}]", n);
	o->created_at = now;
	o->expires_at = now + 7 * 86400;
	o->nauthz = 1;
	make_id(z->id, "authz", n);
	snprintf(z->value, sizeof(z->value), "gw%lu.lan.example", n);
	snprintf(z->token, sizeof(z->token), "tok%040lu", n);
	z->expires_at = o->expires_at;
	snprintf(serial, sizeof(serial), "%032lx", n + 1);
	lerr_clear(&e);
	if (store_acme_order_new(s, o, &e) != 0 ||
	    store_acme_chall_start(s, z->id, "http-01", now, &e) != 0 ||
	    store_acme_chall_done(s, z->id, 1, NULL, now + 1, &e) != 0 ||
	    store_acme_order_begin(s, o->id, now + 2, &e) != 0 ||
	    store_acme_order_end(s, o->id, serial, NULL, now + 3, &e) != 0) {
		fprintf(stderr, "bench-acme: order %lu: %s\n", n, e.msg[0] ? e.msg :
			"a write changed nothing");
		return -1;
	}
	return 0;
}

/* 0 when order n went all the way: valid, with its certificate. */
static int
order_valid(struct store *s, unsigned long n)
{
	char id[STORE_ACME_ID_LEN + 1];
	struct store_acme_order *o = NULL;
	struct lerr e;
	int rc;

	make_id(id, "ordr", n);
	if (store_acme_order_get(s, id, &o, &e) != 0)
		return -1;
	rc = o->status == STORE_ACME_VALID && o->cert_serial[0] != '\0' &&
	     o->nauthz == 1 && o->authz[0].status == STORE_ACME_VALID ? 0 : -1;
	free(o);
	return rc;
}

struct store_run {
	struct store *s;
	unsigned per_thread;
	atomic_ulong next;		/* the last order's number */
	atomic_int errors;
};

static void *
store_worker(void *arg)
{
	struct store_run *run = arg;
	struct store_acme_order *o = malloc(sizeof(*o));
	unsigned long n;
	unsigned i;

	if (o == NULL) {
		atomic_fetch_add(&run->errors, 1);
		return NULL;
	}
	for (i = 0; i < run->per_thread; i++) {
		n = atomic_fetch_add(&run->next, 1) + 1;
		if (order_life(run->s, o, n, 2000 + (int64_t)n) != 0) {
			atomic_fetch_add(&run->errors, 1);
			break;
		}
	}
	free(o);
	return NULL;
}

/* (c) orders orders' lives on threads threads (1..4; each order on one), rounds
 * times, on the open store s. */
static int
bench_store(struct store_run *run, unsigned orders, int threads, unsigned rounds)
{
	double rate[ROUNDS_MAX], cpu[ROUNDS_MAX], fsyncs[ROUNDS_MAX], w0, c0;
	struct store_stats st0, st1;
	pthread_t tid[4];
	unsigned r, total;
	int i;

	run->per_thread = orders / (unsigned)threads;
	total = run->per_thread * (unsigned)threads;
	for (r = 0; r < rounds; r++) {
		store_stats(run->s, &st0);
		c0 = bench_cpu_s(RUSAGE_SELF);
		w0 = bench_wall_s();
		for (i = 0; i < threads; i++)
			if (pthread_create(&tid[i], NULL, store_worker, run) != 0)
				return -1;
		for (i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		rate[r] = (double)total / (bench_wall_s() - w0);
		cpu[r] = (bench_cpu_s(RUSAGE_SELF) - c0) * 1e6 / (double)total;
		store_stats(run->s, &st1);
		fsyncs[r] = (double)(st1.commits - st0.commits) / (double)total;
		if (atomic_load(&run->errors) != 0)
			return -1;
	}
	/* CPU includes the store's writer thread (SQLite's work); the wall
	 * time is mostly the commits' fsyncs. */
	printf("  %d thread%s  %6.0f us CPU/order  %6.0f orders/s  %4.2f commits/order "
	       "(5 writes)\n", threads, threads > 1 ? "s" : " ", bench_median(cpu, rounds),
	       bench_median(rate, rounds), bench_median(fsyncs, rounds));
	fflush(stdout);
	return 0;
}

/* Opens a new store at path, with the account every order belongs to,
 * into run->s. 0, or -1 (said on stderr). */
static int
store_setup(const char *path, struct store_run *run)
{
	static char jwk[] = "{\"kty\":\"EC\"}", contact[] = "[]";
	struct store_acme_account a;
	struct lerr e;

	lerr_clear(&e);
	memset(&a, 0, sizeof(a));
	make_id(a.id, "acct", 1);
	snprintf(a.thumbprint, sizeof(a.thumbprint), "thumb%038d", 1);
	a.jwk = jwk;
	a.contact = contact;
	a.status = STORE_ACME_VALID;
	a.approved = STORE_ACME_BY_ADMIN;
	snprintf(a.source, sizeof(a.source), "192.0.2.1");
	a.created_at = 1000;
	if (store_open(path, STORE_CREATE, &run->s, &e) != 0 ||
	    store_acme_account_new(run->s, &a, &e) != 0) {
		fprintf(stderr, "bench-acme: the store: %s\n", e.msg);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *base = getenv("TMPDIR");
	char dir[512], path[600];
	struct store_run run;
	struct signed_req reqs[NKEYS];
	gnutls_pubkey_t pubs[NKEYS];
	struct acme_nonces *set = NULL;
	unsigned n = 2000, rounds = 3, orders;
	struct lerr e;
	json_t *jwk;
	char thumb[JWS_THUMBPRINT_LEN + 1], nonce[ACME_NONCE_LEN + 1];
	size_t k;
	int opt, rc = 1, made_dir = 0;

	memset(reqs, 0, sizeof(reqs));
	memset(pubs, 0, sizeof(pubs));
	memset(&run, 0, sizeof(run));
	atomic_init(&run.next, 0);
	atomic_init(&run.errors, 0);
	while ((opt = getopt(argc, argv, "n:r:d:")) != -1) {
		if (opt == 'n')
			n = bench_arg_uint(optarg, 2, 10000000, USAGE);
		else if (opt == 'r')
			rounds = bench_arg_uint(optarg, 1, ROUNDS_MAX, USAGE);
		else if (opt == 'd')
			base = optarg;
		else {
			fprintf(stderr, "%s\n", USAGE);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s\n", USAGE);
		return 2;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0)
		return 1;
	/* Each request made once, and checked to verify as the door checks it. */
	for (k = 0; k < NKEYS; k++) {
		if (make_req(k, &reqs[k]) != 0)
			goto out;
		jwk = json_loads(reqs[k].jwk, 0, NULL);
		lerr_clear(&e);
		if (jwk == NULL || jws_jwk_import(jwk, &pubs[k], thumb, &e) != 0) {
			json_decref(jwk);
			fprintf(stderr, "bench-acme: %s: the JWK made here is refused: %s\n",
				keys[k].name, e.msg);
			goto out;
		}
		json_decref(jwk);
		if (check_once(&reqs[k], pubs[k], CHECK_VERIFY) != 0 ||
		    check_once(&reqs[k], pubs[k], CHECK_DOOR) != 0) {
			fprintf(stderr, "bench-acme: %s: the request made here does not verify\n",
				keys[k].name);
			goto out;
		}
		if (tampered_refused(&reqs[k], pubs[k]) != 0) {
			fprintf(stderr, "bench-acme: %s: a request with a bad signature is "
				"not refused\n", keys[k].name);
			goto out;
		}
	}
	printf("bench-acme: medians of %u rounds; CPU is this process's (every thread), "
	       "rates are wall\n", rounds);
	printf("  a request body is %zu (ES256) to %zu (RS256) bytes\n", reqs[0].len,
	       reqs[2].len);
	if (bench_jws(reqs, pubs, n, rounds) != 0)
		goto out;
	if (acme_nonces_new(&set) != 0)
		goto out;
	printf("(b) nonces: acme_nonce_make + acme_nonce_take, %u pairs per round\n", n);
	acme_nonce_make(set, nonce);
	if (acme_nonce_take(set, nonce) != 1 || acme_nonce_take(set, nonce) != 0) {
		fprintf(stderr, "bench-acme: a nonce was not taken exactly once\n");
		goto out;
	}
	if (bench_nonce(set, n, 1, rounds) != 0 || bench_nonce(set, n, 2, rounds) != 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s/lanca-bench-acme.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench-acme: mkdtemp");
		goto out;
	}
	made_dir = 1;
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	orders = n / 10 < 10 ? 10 : n / 10;
	if (store_setup(path, &run) != 0)
		goto out;
	printf("(c) the store's durable writes of one order's life in %s (order_new with 1 "
	       "identifier, chall_start, chall_done, order_begin, order_end), %u orders per "
	       "round\n", dir, orders);
	if (bench_store(&run, orders, 1, rounds) != 0 || bench_store(&run, orders, 2, rounds) != 0 ||
	    bench_store(&run, orders, 4, rounds) != 0 ||
	    order_valid(run.s, atomic_load(&run.next)) != 0) {
		fprintf(stderr, "bench-acme: an order's writes failed\n");
		goto out;
	}
	rc = 0;
out:
	store_close(run.s);
	acme_nonces_free(set);
	for (k = 0; k < NKEYS; k++) {
		free(reqs[k].body);
		free(reqs[k].jwk);
		if (pubs[k] != NULL)
			gnutls_pubkey_deinit(pubs[k]);
	}
	if (made_dir)
		fileio_remove_tree(dir);
	gnutls_global_deinit();
	return rc;
}
