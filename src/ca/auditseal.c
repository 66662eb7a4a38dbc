/*
 * auditseal.c - the audit log's chain hash, its signed checkpoints and
 * the checkpoint key's text form (see auditseal.h).
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "ca/auditseal.h"
#include "common/hex.h"

#define AUDITSEAL_ROW_DOMAIN	"lanca audit row v1"
#define AUDITSEAL_CP_DOMAIN	"lanca audit checkpoint v1"
#define AUDITSEAL_SEED_WORD	"ed25519-seed"
#define AUDITSEAL_PK_WORD	"ed25519"
/* Domain (with its NUL), row id, head, time. */
#define AUDITSEAL_CP_MSG_LEN	(sizeof(AUDITSEAL_CP_DOMAIN) + 8 + AUDITSEAL_HASH_LEN + 8)

static void
auditseal_u64(unsigned char out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* Hashes one text field: its presence, then its length and bytes. */
static int
auditseal_field(crypto_generichash_state *h, const char *s)
{
	unsigned char tag = s != NULL;
	unsigned char len[4];
	size_t n;

	if (crypto_generichash_update(h, &tag, 1) != 0)
		return -1;
	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n > UINT32_MAX)
		return -1;
	len[0] = (unsigned char)(n >> 24);
	len[1] = (unsigned char)(n >> 16);
	len[2] = (unsigned char)(n >> 8);
	len[3] = (unsigned char)n;
	if (crypto_generichash_update(h, len, sizeof(len)) != 0 ||
	    crypto_generichash_update(h, (const unsigned char *)s, n) != 0)
		return -1;
	return 0;
}

int
auditseal_row_hash(const unsigned char *prev, const struct auditseal_row *r,
		   unsigned char out[AUDITSEAL_HASH_LEN])
{
	static const unsigned char zero[AUDITSEAL_HASH_LEN];
	crypto_generichash_state h;
	unsigned char num[16];

	auditseal_u64(num, (uint64_t)r->id);
	auditseal_u64(num + 8, (uint64_t)r->at);
	if (crypto_generichash_init(&h, NULL, 0, AUDITSEAL_HASH_LEN) != 0 ||
	    crypto_generichash_update(&h, (const unsigned char *)AUDITSEAL_ROW_DOMAIN,
				      sizeof(AUDITSEAL_ROW_DOMAIN)) != 0 ||
	    crypto_generichash_update(&h, prev != NULL ? prev : zero, AUDITSEAL_HASH_LEN) != 0 ||
	    crypto_generichash_update(&h, num, sizeof(num)) != 0 ||
	    auditseal_field(&h, r->actor) != 0 || auditseal_field(&h, r->event) != 0 ||
	    auditseal_field(&h, r->subject) != 0 || auditseal_field(&h, r->detail) != 0 ||
	    crypto_generichash_final(&h, out, AUDITSEAL_HASH_LEN) != 0)
		return -1;
	return 0;
}

/* The signed message of a checkpoint. */
static void
auditseal_cp_msg(int64_t row_id, const unsigned char head[AUDITSEAL_HASH_LEN], int64_t at,
		 unsigned char msg[AUDITSEAL_CP_MSG_LEN])
{
	size_t o = sizeof(AUDITSEAL_CP_DOMAIN);

	memcpy(msg, AUDITSEAL_CP_DOMAIN, o);
	auditseal_u64(msg + o, (uint64_t)row_id);
	memcpy(msg + o + 8, head, AUDITSEAL_HASH_LEN);
	auditseal_u64(msg + o + 8 + AUDITSEAL_HASH_LEN, (uint64_t)at);
}

int
auditseal_sign(const unsigned char sk[AUDITSEAL_SK_LEN], int64_t row_id,
	       const unsigned char head[AUDITSEAL_HASH_LEN], int64_t at,
	       unsigned char sig[AUDITSEAL_SIG_LEN])
{
	unsigned char msg[AUDITSEAL_CP_MSG_LEN];

	auditseal_cp_msg(row_id, head, at, msg);
	return crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk) == 0 ? 0 : -1;
}

int
auditseal_verify(const unsigned char pk[AUDITSEAL_PK_LEN], int64_t row_id,
		 const unsigned char head[AUDITSEAL_HASH_LEN], int64_t at,
		 const unsigned char sig[AUDITSEAL_SIG_LEN])
{
	unsigned char msg[AUDITSEAL_CP_MSG_LEN];

	auditseal_cp_msg(row_id, head, at, msg);
	return crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) == 0 ? 0 : -1;
}

/* "WORD HEX\n" for n bytes of p. */
static void
auditseal_line(const char *word, const unsigned char *p, size_t n,
	       char out[AUDITSEAL_KEY_TEXT_MAX])
{
	size_t w = strlen(word);

	memcpy(out, word, w);
	out[w] = ' ';
	hex_encode(p, n, out + w + 1);
	out[w + 1 + 2 * n] = '\n';
	out[w + 2 + 2 * n] = '\0';
}

void
auditseal_pk_text(const unsigned char sk[AUDITSEAL_SK_LEN],
		  char pub_text[AUDITSEAL_KEY_TEXT_MAX])
{
	unsigned char pk[AUDITSEAL_PK_LEN];

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	auditseal_line(AUDITSEAL_PK_WORD, pk, sizeof(pk), pub_text);
}

int
auditseal_keygen(char seed_text[AUDITSEAL_KEY_TEXT_MAX], char pub_text[AUDITSEAL_KEY_TEXT_MAX],
		 struct lerr *e)
{
	unsigned char seed[AUDITSEAL_SEED_LEN], pk[AUDITSEAL_PK_LEN], sk[AUDITSEAL_SK_LEN];
	int rc = -1;

	if (sodium_init() < 0) {
		lerr_set(e, LERR_INTERNAL, "libsodium failed to initialise");
		goto out;
	}
	randombytes_buf(seed, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot make the audit key");
		goto out;
	}
	auditseal_line(AUDITSEAL_SEED_WORD, seed, sizeof(seed), seed_text);
	auditseal_line(AUDITSEAL_PK_WORD, pk, sizeof(pk), pub_text);
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* Parses "WORD HEX" (one newline allowed after) of exactly n bytes. */
static int
auditseal_parse(const char *name, const char *word, const char *text, size_t len,
		unsigned char *out, size_t n, struct lerr *e)
{
	size_t w = strlen(word), bin = 0;
	const char *end = NULL;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len != w + 1 + 2 * n || memcmp(text, word, w) != 0 || text[w] != ' ' ||
	    sodium_hex2bin(out, n, text + w + 1, 2 * n, NULL, &bin, &end) != 0 ||
	    bin != n || end != text + len)
		return lerr_set(e, LERR_BAD_REQUEST,
				"%s is not an audit key: one line \"%s\" and %zu hex digits expected",
				name, word, 2 * n);
	return 0;
}

int
auditseal_sk_parse(const char *name, const char *text, size_t len,
		   unsigned char sk[AUDITSEAL_SK_LEN], struct lerr *e)
{
	unsigned char seed[AUDITSEAL_SEED_LEN], pk[AUDITSEAL_PK_LEN];
	int rc = -1;

	if (auditseal_parse(name, AUDITSEAL_SEED_WORD, text, len, seed, sizeof(seed), e) != 0)
		goto out;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		lerr_set(e, LERR_INTERNAL, "%s: cannot derive the audit key", name);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

int
auditseal_pk_parse(const char *name, const char *text, size_t len,
		   unsigned char pk[AUDITSEAL_PK_LEN], struct lerr *e)
{
	return auditseal_parse(name, AUDITSEAL_PK_WORD, text, len, pk, AUDITSEAL_PK_LEN, e);
}
