/*
 * backupfile.c - writing and reading the backup format (backupfile.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "ca/backupfile.h"

#define BKF_RECORD_MAX	(BKF_RECORD_HEAD + BKF_NAME_MAX + BKF_DATA_MAX)
#define BKF_FRAME_MAX	(BKF_RECORD_MAX + crypto_secretstream_xchacha20poly1305_ABYTES)
#define BKF_HASH_LEN	32
#define BKF_KDF_CONTEXT	"lancabak"	/* crypto_kdf's 8-byte context */
#define BKF_KDF_AUTHOR	1		/* the author key's subkey id */

struct bkf_writer {
	int fd;
	int sealed, done;
	crypto_secretstream_xchacha20poly1305_state st;
	/* plain: every byte so far; sealed: the header and every record */
	crypto_generichash_state hash;
	unsigned char header[BKF_SEALED_HEADER_LEN];
	size_t header_len;
	uint64_t frames;
	unsigned char rec[BKF_RECORD_MAX];
	unsigned char frame[4 + BKF_FRAME_MAX];
};

struct bkf_reader {
	bkf_read_fn rd;
	void *ctx;
	int sealed, done;
	crypto_secretstream_xchacha20poly1305_state st;
	crypto_generichash_state hash;		/* as the writer's */
	struct bkf_author author;		/* sealed: to check the END's tag */
	unsigned char header[BKF_SEALED_HEADER_LEN];
	size_t header_len;
	uint64_t frames;
	unsigned char rec[BKF_RECORD_MAX];
	unsigned char frame[BKF_FRAME_MAX];
};

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* seed = Argon2id(pass, salt); pk (and sk, the author key, when wanted)
 * from it. */
static int
bkf_derive(const char *pass, size_t pass_len, const struct bkf_kdf *kdf,
	   const unsigned char salt[16], unsigned char pk[32], unsigned char *sk,
	   struct bkf_author *a, struct lerr *e)
{
	unsigned char seed[crypto_kx_SEEDBYTES], skbuf[crypto_kx_SECRETKEYBYTES];
	int rc;

	if (crypto_pwhash(seed, sizeof(seed), pass, pass_len, salt, kdf->ops,
			  (size_t)kdf->mem_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return lerr_set(e, LERR_INTERNAL, "Argon2id with %u MiB: out of memory",
				kdf->mem_kib / 1024);
	rc = crypto_kx_seed_keypair(pk, sk != NULL ? sk : skbuf, seed);
	if (rc == 0 && a != NULL)
		rc = crypto_kdf_derive_from_key(a->key, sizeof(a->key), BKF_KDF_AUTHOR,
						BKF_KDF_CONTEXT, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(skbuf, sizeof(skbuf));
	return rc == 0 ? 0 : lerr_set(e, LERR_INTERNAL, "deriving the backup's keys failed");
}

static int
bkf_kdf_check(const struct bkf_kdf *k, uint32_t max_mem_kib, struct lerr *e)
{
	if (k->ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || k->ops > BKF_OPS_MAX)
		return lerr_set(e, LERR_BAD_REQUEST, "Argon2id passes %u: from %u to %u",
				(unsigned)k->ops, (unsigned)crypto_pwhash_argon2id_OPSLIMIT_MIN,
				BKF_OPS_MAX);
	if ((size_t)k->mem_kib * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN)
		return lerr_set(e, LERR_BAD_REQUEST, "Argon2id memory %u KiB: at least %u KiB",
				(unsigned)k->mem_kib,
				(unsigned)(crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024));
	if (k->mem_kib > max_mem_kib)
		return lerr_set(e, LERR_TOO_LARGE, "its key derivation asks for %u MiB of memory, "
				"more than the %u MiB allowed", (unsigned)(k->mem_kib / 1024),
				(unsigned)(max_mem_kib / 1024));
	return 0;
}

void
bkf_author_tag(const struct bkf_author *a, const unsigned char digest[32],
	       unsigned char tag[BKF_TAG_LEN])
{
	crypto_generichash(tag, BKF_TAG_LEN, digest, 32, a->key, sizeof(a->key));
}

int
bkf_tag_author(void *ctx, const unsigned char digest[32], unsigned char tag[BKF_TAG_LEN],
	       struct lerr *e)
{
	(void)e;
	bkf_author_tag(ctx, digest, tag);
	return 0;
}

int
bkf_recipient_derive(const char *pass, size_t pass_len, const struct bkf_kdf *kdf,
		     struct bkf_recipient *r, struct bkf_author *a, struct lerr *e)
{
	static const struct bkf_kdf def = { BKF_OPS_DEFAULT, BKF_MEM_DEFAULT_KIB };

	if (pass_len == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the passphrase is empty");
	r->kdf = kdf != NULL ? *kdf : def;
	if (bkf_kdf_check(&r->kdf, BKF_MEM_MAX_KIB, e) != 0)
		return -1;
	randombytes_buf(r->salt, sizeof(r->salt));
	return bkf_derive(pass, pass_len, &r->kdf, r->salt, r->pk, NULL, a, e);
}

/* ---- writing ---- */

static int
bkf_write_all(int fd, const unsigned char *p, size_t n, struct lerr *e)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return lerr_set(e, errno == ENOSPC || errno == EDQUOT ?
					LERR_STORE_UNAVAILABLE : LERR_INTERNAL,
					"writing the backup: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
bkf_writer_new(int fd, const struct bkf_recipient *r, struct bkf_writer **out, struct lerr *e)
{
	unsigned char epk[crypto_kx_PUBLICKEYBYTES], esk[crypto_kx_SECRETKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	struct bkf_writer *w;
	unsigned char *h;
	int rc;

	*out = NULL;
	w = sodium_malloc(sizeof(*w));
	if (w == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->sealed = r != NULL;
	h = w->header;
	memcpy(h, BKF_MAGIC, 8);
	put16(h + 8, BKF_VERSION);
	put16(h + 10, r != NULL ? BKF_SEALED : BKF_PLAIN);
	if (r == NULL) {
		w->header_len = BKF_PLAIN_HEADER_LEN;
		crypto_generichash_init(&w->hash, NULL, 0, BKF_HASH_LEN);
		crypto_generichash_update(&w->hash, h, w->header_len);
	} else {
		w->header_len = BKF_SEALED_HEADER_LEN;
		put32(h + 12, r->kdf.ops);
		put32(h + 16, r->kdf.mem_kib);
		memcpy(h + 20, r->salt, 16);
		memcpy(h + 36, r->pk, 32);
		crypto_kx_keypair(epk, esk);
		memcpy(h + 68, epk, 32);
		rc = crypto_kx_client_session_keys(rx, tx, epk, esk, r->pk);
		sodium_memzero(esk, sizeof(esk));
		if (rc != 0) {
			sodium_free(w);
			return lerr_set(e, LERR_BAD_REQUEST, "the backup's public key is not usable");
		}
		crypto_secretstream_xchacha20poly1305_init_push(&w->st, h + 100, tx);
		sodium_memzero(rx, sizeof(rx));
		sodium_memzero(tx, sizeof(tx));
		crypto_generichash_init(&w->hash, NULL, 0, BKF_HASH_LEN);
		crypto_generichash_update(&w->hash, h, w->header_len);
	}
	if (bkf_write_all(fd, h, w->header_len, e) != 0) {
		bkf_writer_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

int
bkf_put(struct bkf_writer *w, enum bkf_type type, const char *name,
	const void *data, size_t len, struct lerr *e)
{
	size_t nlen = name != NULL ? strlen(name) : 0, rlen, flen;
	unsigned long long clen;
	unsigned char tag;

	if (w->done)
		return lerr_set(e, LERR_INTERNAL, "a record after the backup's end");
	if (nlen > BKF_NAME_MAX || len > BKF_DATA_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "a backup record over its bounds");
	w->rec[0] = (unsigned char)type;
	w->rec[1] = 0;
	put16(w->rec + 2, (uint16_t)nlen);
	put32(w->rec + 4, (uint32_t)len);
	if (nlen > 0)
		memcpy(w->rec + BKF_RECORD_HEAD, name, nlen);
	if (len > 0)
		memcpy(w->rec + BKF_RECORD_HEAD + nlen, data, len);
	rlen = BKF_RECORD_HEAD + nlen + len;
	if (w->sealed) {
		if (type != BKF_END)
			crypto_generichash_update(&w->hash, w->rec, rlen);
		tag = type == BKF_END ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
		crypto_secretstream_xchacha20poly1305_push(&w->st, w->frame + 4, &clen, w->rec, rlen,
			w->frames == 0 ? w->header : NULL, w->frames == 0 ? w->header_len : 0, tag);
		flen = (size_t)clen;
	} else {
		memcpy(w->frame + 4, w->rec, rlen);
		flen = rlen;
	}
	sodium_memzero(w->rec, rlen);
	put32(w->frame, (uint32_t)flen);
	if (!w->sealed)
		crypto_generichash_update(&w->hash, w->frame, 4 + flen);
	w->frames++;
	if (type == BKF_END)
		w->done = 1;
	return bkf_write_all(w->fd, w->frame, 4 + flen, e);
}

int
bkf_finish(struct bkf_writer *w, bkf_tag_fn tag, void *ctx, struct lerr *e)
{
	unsigned char sum[BKF_HASH_LEN], t[BKF_TAG_LEN];
	int rc;

	crypto_generichash_final(&w->hash, sum, sizeof(sum));
	if (!w->sealed)
		return bkf_put(w, BKF_END, NULL, sum, sizeof(sum), e);
	if (tag == NULL)
		return lerr_set(e, LERR_INTERNAL, "a sealed backup without its author's tag");
	if (tag(ctx, sum, t, e) != 0)
		return -1;
	rc = bkf_put(w, BKF_END, NULL, t, sizeof(t), e);
	sodium_memzero(t, sizeof(t));
	return rc;
}

void
bkf_writer_free(struct bkf_writer *w)
{
	if (w != NULL)
		sodium_free(w);		/* wipes */
}

/* ---- reading ---- */

ssize_t
bkf_read_mem(void *ctx, void *buf, size_t n)
{
	struct bkf_mem *m = ctx;

	if (n > m->len - m->off)
		n = m->len - m->off;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* Exactly n bytes: 1; 0 at an end before the first byte when may_end;
 * else -1 with e (cut short, or a read error). */
static int
bkf_read_exact(struct bkf_reader *r, unsigned char *p, size_t n, const char *what,
	       int may_end, struct lerr *e)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = r->rd(r->ctx, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return lerr_set(e, LERR_INTERNAL, "reading the backup: %s", strerror(errno));
		if (k == 0) {
			if (got == 0 && may_end)
				return 0;
			return lerr_set(e, LERR_BAD_REQUEST,
					"the backup is cut short (in %s)", what);
		}
		got += (size_t)k;
	}
	return 1;
}

static int
bkf_header(struct bkf_reader *r, const char *pass, size_t pass_len, uint32_t max_mem_kib,
	   struct lerr *e)
{
	unsigned char *h = r->header, pk[32], sk[crypto_kx_SECRETKEYBYTES];
	unsigned char rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	struct bkf_kdf kdf;
	unsigned version, mode;
	int k, rc;

	k = bkf_read_exact(r, h, BKF_PLAIN_HEADER_LEN, "its header", 1, e);
	if (k <= 0)
		return k == 0 ? lerr_set(e, LERR_BAD_REQUEST, "the backup is empty") : -1;
	if (memcmp(h, BKF_MAGIC, 8) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "not a lanca backup (no %s at its start)",
				BKF_MAGIC);
	version = get16(h + 8);
	mode = get16(h + 10);
	if (version > BKF_VERSION)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup is in format %u, from a newer "
				"lanca: this one reads format %d and older", version, BKF_VERSION);
	if (version == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup names format 0, which never existed");
	if (mode == BKF_PLAIN) {
		r->header_len = BKF_PLAIN_HEADER_LEN;
		crypto_generichash_init(&r->hash, NULL, 0, BKF_HASH_LEN);
		crypto_generichash_update(&r->hash, h, r->header_len);
		return 0;
	}
	if (mode != BKF_SEALED)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup's mode %u is unknown", mode);
	r->sealed = 1;
	r->header_len = BKF_SEALED_HEADER_LEN;
	if (bkf_read_exact(r, h + BKF_PLAIN_HEADER_LEN, BKF_SEALED_HEADER_LEN - BKF_PLAIN_HEADER_LEN,
			   "its header", 0, e) != 1)
		return -1;
	kdf.ops = get32(h + 12);
	kdf.mem_kib = get32(h + 16);
	if (bkf_kdf_check(&kdf, max_mem_kib != 0 ? max_mem_kib : BKF_MEM_MAX_KIB, e) != 0)
		return -1;
	if (pass == NULL)
		return lerr_set(e, LERR_BAD_SECRET, "the backup is encrypted: give its passphrase "
				"(--passphrase-file)");
	if (bkf_derive(pass, pass_len, &kdf, h + 20, pk, sk, &r->author, e) != 0)
		return -1;
	if (sodium_memcmp(pk, h + 36, 32) != 0) {
		sodium_memzero(sk, sizeof(sk));
		return lerr_set(e, LERR_BAD_SECRET, "wrong passphrase for this backup");
	}
	rc = crypto_kx_server_session_keys(rx, tx, pk, sk, h + 68);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(tx, sizeof(tx));
	if (rc != 0 || crypto_secretstream_xchacha20poly1305_init_pull(&r->st, h + 100, rx) != 0)
		rc = -1;
	sodium_memzero(rx, sizeof(rx));
	crypto_generichash_init(&r->hash, NULL, 0, BKF_HASH_LEN);
	crypto_generichash_update(&r->hash, h, r->header_len);
	return rc == 0 ? 0 : lerr_set(e, LERR_BAD_REQUEST, "the backup's header is damaged");
}

int
bkf_reader_new(bkf_read_fn rd, void *ctx, const char *pass, size_t pass_len,
	       uint32_t max_mem_kib, struct bkf_reader **out, struct lerr *e)
{
	struct bkf_reader *r;

	*out = NULL;
	r = sodium_malloc(sizeof(*r));
	if (r == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	memset(r, 0, sizeof(*r));
	r->rd = rd;
	r->ctx = ctx;
	if (bkf_header(r, pass, pass_len, max_mem_kib, e) != 0) {
		bkf_reader_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int
bkf_reader_sealed(const struct bkf_reader *r)
{
	return r->sealed;
}

/* Parses the record in r->rec[0..len) into rec. */
static int
bkf_parse(struct bkf_reader *r, size_t len, struct bkf_record *rec, struct lerr *e)
{
	const unsigned char *p = r->rec;
	size_t nlen, dlen;

	if (len < BKF_RECORD_HEAD)
		return lerr_set(e, LERR_BAD_REQUEST, "record %llu is too short",
				(unsigned long long)r->frames);
	nlen = get16(p + 2);
	dlen = get32(p + 4);
	if (p[0] < BKF_META || p[0] > BKF_END || p[1] != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "record %llu has the unknown type %u",
				(unsigned long long)r->frames, p[0]);
	if (nlen > BKF_NAME_MAX || dlen > BKF_DATA_MAX || BKF_RECORD_HEAD + nlen + dlen != len)
		return lerr_set(e, LERR_BAD_REQUEST, "record %llu: its lengths do not add up",
				(unsigned long long)r->frames);
	if (memchr(p + BKF_RECORD_HEAD, '\0', nlen) != NULL)
		return lerr_set(e, LERR_BAD_REQUEST, "record %llu: a NUL in its name",
				(unsigned long long)r->frames);
	rec->type = (enum bkf_type)p[0];
	memcpy(rec->name, p + BKF_RECORD_HEAD, nlen);
	rec->name[nlen] = '\0';
	rec->data = p + BKF_RECORD_HEAD + nlen;
	rec->len = dlen;
	return 0;
}

int
bkf_next(struct bkf_reader *r, struct bkf_record *rec, struct lerr *e)
{
	unsigned char lenb[4], sum[BKF_HASH_LEN], extra;
	unsigned long long mlen;
	unsigned char tag = 0;
	size_t flen, max;
	int k;

	if (r->done)
		return 0;
	k = bkf_read_exact(r, lenb, 4, "a record's length", 1, e);
	if (k < 0)
		return -1;
	if (k == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "the backup is cut short: it ends after "
				"%llu records, without its end record",
				(unsigned long long)r->frames);
	flen = get32(lenb);
	max = r->sealed ? BKF_FRAME_MAX : BKF_RECORD_MAX;
	if (flen > max)
		return lerr_set(e, LERR_BAD_REQUEST, "record %llu is %zu bytes, over the %zu allowed",
				(unsigned long long)r->frames, flen, max);
	if (bkf_read_exact(r, r->frame, flen, "a record", 0, e) != 1)
		return -1;
	if (r->sealed) {
		if (crypto_secretstream_xchacha20poly1305_pull(&r->st, r->rec, &mlen, &tag,
				r->frame, flen, r->frames == 0 ? r->header : NULL,
				r->frames == 0 ? r->header_len : 0) != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "the backup has been changed or damaged: "
					"record %llu does not authenticate",
					(unsigned long long)r->frames);
		if (bkf_parse(r, (size_t)mlen, rec, e) != 0)
			return -1;
		if ((tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != (rec->type == BKF_END))
			return lerr_set(e, LERR_BAD_REQUEST, "record %llu: the end is out of place",
					(unsigned long long)r->frames);
		if (rec->type != BKF_END) {
			crypto_generichash_update(&r->hash, r->rec, (size_t)mlen);
		} else {
			unsigned char want[BKF_TAG_LEN];
			int bad;

			crypto_generichash_final(&r->hash, sum, sizeof(sum));
			bkf_author_tag(&r->author, sum, want);
			bad = rec->len != BKF_TAG_LEN || sodium_memcmp(want, rec->data, BKF_TAG_LEN) != 0;
			sodium_memzero(want, sizeof(want));
			if (bad)
				return lerr_set(e, LERR_BAD_REQUEST, "the backup was not made with this "
						"passphrase's author key: it is sealed to the "
						"passphrase, but by someone who had only its public "
						"half (forged, or put together from another backup)");
		}
	} else {
		memcpy(r->rec, r->frame, flen);
		if (bkf_parse(r, flen, rec, e) != 0)
			return -1;
		if (rec->type == BKF_END) {
			crypto_generichash_final(&r->hash, sum, sizeof(sum));
			if (rec->len != sizeof(sum) || sodium_memcmp(sum, rec->data, sizeof(sum)) != 0)
				return lerr_set(e, LERR_BAD_REQUEST, "the backup is damaged: its "
						"checksum does not match");
		} else {
			crypto_generichash_update(&r->hash, lenb, 4);
			crypto_generichash_update(&r->hash, r->frame, flen);
		}
	}
	r->frames++;
	if (rec->type != BKF_END)
		return 1;
	k = bkf_read_exact(r, &extra, 1, "its end", 1, e);
	if (k != 0)
		return k < 0 ? -1 :
			lerr_set(e, LERR_BAD_REQUEST, "the backup goes on after its end record");
	r->done = 1;
	return 0;
}

void
bkf_reader_free(struct bkf_reader *r)
{
	if (r != NULL)
		sodium_free(r);
}
