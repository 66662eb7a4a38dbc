/*
 * backupfile.h - the format of a backup file: what `lanca backup` writes
 * and `lanca restore` reads, sealed to a passphrase.
 *
 * Owns: the header, the records, their framing and their encryption. Pure
 * over libsodium; which files go into a backup and where they come back
 * is daemon/backup.h's.
 *
 * A file is a header, then frames: a 4-byte length (big-endian, as every
 * integer here) and that many bytes. Each frame holds one record.
 *
 * Header:
 *   "LANCABAK"     magic (8 bytes)
 *   version  u16   BKF_VERSION; a reader refuses a newer one and says so
 *   mode     u16   BKF_PLAIN or BKF_SEALED
 *   sealed only (BKF_SEALED_HEADER_LEN in all):
 *   ops      u32   Argon2id's passes
 *   mem      u32   Argon2id's memory, KiB
 *   salt     16    Argon2id's salt
 *   pk       32    the passphrase's public key
 *   epk      32    this file's one-time public key
 *   stream   24    crypto_secretstream_xchacha20poly1305's header
 *
 * Sealed: seed = Argon2id(passphrase, salt, ops, mem); (pk, sk) =
 * crypto_kx_seed_keypair(seed); the author key = crypto_kdf subkey 1 of
 * seed (context "lancabak"). The writer makes a one-time key pair (epk)
 * and takes its crypto_kx client session key with pk as the stream key;
 * the reader, from sk and epk, the matching server key. So a wrong
 * passphrase shows as a pk other than the header's, before any decryption,
 * and whoever holds only pk (a bkf_recipient) can write a file that only
 * the passphrase opens. Each frame is one secretstream message: the first
 * carries the header as additional data; the END record is tagged FINAL,
 * so a file cut short is told from a whole one, and nothing may follow.
 * That much keeps a backup secret and whole, but anyone who has read the
 * header of one could seal a file of their own to the same pk: so the END
 * record's data is a tag, the BLAKE2b-256 keyed with the author key of
 * the BLAKE2b-256 of the header and every record before END as written.
 * Only who holds the passphrase (`lanca backup`), or the signer that
 * serve gave the author key to (scheduled backups), can make it; restore
 * derives it again and refuses a file without it.
 *
 * Plain (`lanca backup --insecure-plaintext`): frames are records in
 * clear and the END record's data is the BLAKE2b-256 of every byte before
 * its frame, header included: that catches damage, not tampering.
 *
 * Record: type u8, 0 u8, name length u16, data length u32, name (no NUL),
 * data; at most BKF_NAME_MAX and BKF_DATA_MAX bytes.
 */
#ifndef LANCA_CA_BACKUPFILE_H
#define LANCA_CA_BACKUPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/lerr.h"

#define BKF_VERSION		1
#define BKF_PLAIN		0
#define BKF_SEALED		1
#define BKF_MAGIC		"LANCABAK"
#define BKF_PLAIN_HEADER_LEN	12
#define BKF_SEALED_HEADER_LEN	(12 + 4 + 4 + 16 + 32 + 32 + 24)
#define BKF_NAME_MAX		255
#define BKF_DATA_MAX		(64 * 1024)
#define BKF_RECORD_HEAD		8

/* Argon2id's cost as written: passes and KiB. The default costs 64 MiB
 * (a gateway has it to spare once, at backup time); a reader refuses a
 * file that asks for more than BKF_MEM_MAX_KIB or BKF_OPS_MAX, so that a
 * file cannot make restore exhaust the machine. */
#define BKF_OPS_DEFAULT		3
#define BKF_MEM_DEFAULT_KIB	(64 * 1024)
#define BKF_OPS_MAX		10
#define BKF_MEM_MAX_KIB		(1024 * 1024)

enum bkf_type {
	BKF_META = 1,		/* JSON: what the backup holds (daemon/backup.h) */
	BKF_FILE = 2,		/* a file begins: name, data = its size (u64) */
	BKF_DATA = 3,		/* the next bytes of the file begun last */
	BKF_END = 4,		/* the last record (the format's own) */
};

struct bkf_kdf {
	uint32_t ops, mem_kib;
};

/* What a sealed backup is written to: the passphrase's public half. */
struct bkf_recipient {
	struct bkf_kdf kdf;
	unsigned char salt[16];
	unsigned char pk[32];
};

#define BKF_TAG_LEN		32
/* The key that vouches for a backup's author: secret, as the passphrase
 * it comes from. */
struct bkf_author {
	unsigned char key[32];
};

/* Derives a recipient from a passphrase with a fresh salt (kdf NULL: the
 * defaults), and its author key into a (NULL: not wanted). The seed and
 * the secret half are wiped. 0 or -1 with e. */
int bkf_recipient_derive(const char *pass, size_t pass_len, const struct bkf_kdf *kdf,
			 struct bkf_recipient *r, struct bkf_author *a, struct lerr *e);
/* The tag of a backup's digest under the author key. */
void bkf_author_tag(const struct bkf_author *a, const unsigned char digest[32],
		    unsigned char tag[BKF_TAG_LEN]);
/* What makes the END record's tag from the digest: bkf_author_tag where
 * the author key is at hand, the signer where it is not. 0 or -1 with e. */
typedef int (*bkf_tag_fn)(void *ctx, const unsigned char digest[32],
			  unsigned char tag[BKF_TAG_LEN], struct lerr *e);

struct bkf_writer;
/* Starts a backup on fd with its header: sealed to r, or plain when r is
 * NULL. Writes go straight to fd; the caller makes the file durable and
 * gives it its name. 0 or -1 with e. */
int bkf_writer_new(int fd, const struct bkf_recipient *r, struct bkf_writer **out,
		   struct lerr *e);
/* One record (name may be NULL for none). 0 or -1 with e. */
int bkf_put(struct bkf_writer *w, enum bkf_type type, const char *name,
	    const void *data, size_t len, struct lerr *e);
/* The END record (a sealed one's tag from tag(ctx, ...); a plain one
 * takes none: NULL); nothing may be put after it. 0 or -1 with e. */
int bkf_finish(struct bkf_writer *w, bkf_tag_fn tag, void *ctx, struct lerr *e);
/* bkf_tag_fn over a struct bkf_author (ctx). */
int bkf_tag_author(void *ctx, const unsigned char digest[32], unsigned char tag[BKF_TAG_LEN],
		   struct lerr *e);
void bkf_writer_free(struct bkf_writer *w);	/* wipes; NULL-safe */

/* Reads up to n bytes into buf: the count, 0 at the end, -1 on error
 * (errno set). */
typedef ssize_t (*bkf_read_fn)(void *ctx, void *buf, size_t n);

/* A backup held in memory, read through bkf_read_mem (keys.bkf inside a
 * daemon's backup; the fuzz target). */
struct bkf_mem {
	const unsigned char *p;
	size_t len, off;
};
ssize_t bkf_read_mem(void *ctx, void *buf, size_t n);	/* ctx: struct bkf_mem */

struct bkf_record {
	enum bkf_type type;
	char name[BKF_NAME_MAX + 1];
	const unsigned char *data;	/* valid until the next bkf_next */
	size_t len;
};

struct bkf_reader;
/* Reads and checks the header; for a sealed file derives the key from
 * pass (NULL: refused, naming what is missing) and refuses a wrong one.
 * max_mem_kib caps Argon2id's memory (0: BKF_MEM_MAX_KIB). 0 or -1 with
 * e; a newer format is LERR_BAD_REQUEST naming both versions. */
int bkf_reader_new(bkf_read_fn rd, void *ctx, const char *pass, size_t pass_len,
		   uint32_t max_mem_kib, struct bkf_reader **out, struct lerr *e);
int bkf_reader_sealed(const struct bkf_reader *r);
/* The next record: 1 with rec filled, 0 after END (the file is whole:
 * authenticated, its author's tag holds, and nothing follows), -1 with e
 * (damaged, tampered with, cut short, not a record, or sealed by someone
 * without the author key). */
int bkf_next(struct bkf_reader *r, struct bkf_record *rec, struct lerr *e);
void bkf_reader_free(struct bkf_reader *r);	/* wipes; NULL-safe */

#endif
