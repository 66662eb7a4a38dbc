/*
 * auditseal.h - what makes the audit log tamper-evident: the hash that
 * chains each row to the one before it, the message a checkpoint signs,
 * and the text form of the checkpoint key.
 *
 * Owns: the one definition of a row's chain hash (the store computes it as
 * it appends a row, `lanca audit verify` recomputes it), the one layout of
 * a signed checkpoint (the signer signs it, the verifier checks it), and
 * the key files' format. Pure over libsodium: no files, no store.
 *
 * A row's hash is BLAKE2b-256 (crypto_generichash) keyed by nothing, over
 *   "lanca audit row v1" NUL, prev (32 bytes: the previous row's hash, or
 *   32 zero bytes for the first row), u64 id, u64 at, then for each of
 *   actor, event, subject, detail: u8 0 for NULL, or u8 1, u32 length and
 *   the bytes,
 * integers big-endian (at as its two's complement). Every field has its
 * length or a fixed size, so two different rows never encode alike, and a
 * NULL never encodes like "".
 *
 * A checkpoint is an Ed25519 signature (crypto_sign_detached) over
 *   "lanca audit checkpoint v1" NUL, u64 row id, head (32), u64 at:
 * "the row with this id had this hash at that time", from a key that only
 * the signer holds. The domain prefix keeps a checkpoint signature from
 * meaning anything else, and anything else from passing as one.
 *
 * Key files (text, one line): the secret key "ed25519-seed HEX" (32
 * bytes, from which crypto_sign_seed_keypair derives the pair), the
 * public key "ed25519 HEX".
 */
#ifndef LANCA_AUDITSEAL_H
#define LANCA_AUDITSEAL_H

#include <stddef.h>
#include <stdint.h>
#include "common/lerr.h"

#define AUDITSEAL_HASH_LEN	32
#define AUDITSEAL_SIG_LEN	64
#define AUDITSEAL_PK_LEN	32
#define AUDITSEAL_SK_LEN	64	/* libsodium's secret key: seed, then public key */
#define AUDITSEAL_SEED_LEN	32
#define AUDITSEAL_KEY_TEXT_MAX	96	/* a key file's line, NUL included */

/* A row's content as it is hashed; subject and detail may be NULL. */
struct auditseal_row {
	int64_t id, at;
	const char *actor, *event, *subject, *detail;
};

/* out = the chain hash of r after prev (NULL: the first row). 0, or -1
 * when libsodium refuses (never for a valid row). */
int auditseal_row_hash(const unsigned char *prev, const struct auditseal_row *r,
		       unsigned char out[AUDITSEAL_HASH_LEN]);

/* Signs the checkpoint (row_id, head, at) with sk. 0 or -1. */
int auditseal_sign(const unsigned char sk[AUDITSEAL_SK_LEN], int64_t row_id,
		   const unsigned char head[AUDITSEAL_HASH_LEN], int64_t at,
		   unsigned char sig[AUDITSEAL_SIG_LEN]);
/* 0 when sig is pk's signature of the checkpoint (row_id, head, at). */
int auditseal_verify(const unsigned char pk[AUDITSEAL_PK_LEN], int64_t row_id,
		     const unsigned char head[AUDITSEAL_HASH_LEN], int64_t at,
		     const unsigned char sig[AUDITSEAL_SIG_LEN]);

/* A new key pair: its seed's line (the secret key file) and its public
 * key's line, each NUL-terminated with its newline. Wipe seed_text. */
int auditseal_keygen(char seed_text[AUDITSEAL_KEY_TEXT_MAX],
		     char pub_text[AUDITSEAL_KEY_TEXT_MAX], struct lerr *e);
/* Parses a secret key file's text (len bytes) into sk (64 bytes, libsodium's
 * form); name is the file, for messages. 0 or -1 with e. */
int auditseal_sk_parse(const char *name, const char *text, size_t len,
		       unsigned char sk[AUDITSEAL_SK_LEN], struct lerr *e);
/* Parses a public key file's text into pk. 0 or -1 with e. */
int auditseal_pk_parse(const char *name, const char *text, size_t len,
		       unsigned char pk[AUDITSEAL_PK_LEN], struct lerr *e);
/* The public key's line for sk (for audit.pub). */
void auditseal_pk_text(const unsigned char sk[AUDITSEAL_SK_LEN],
		       char pub_text[AUDITSEAL_KEY_TEXT_MAX]);

#endif
