/*
 * signer.h - the signer: the only process that holds a CA private key,
 * and the handle the rest of lanca uses to ask it for certificates.
 *
 * Owns: the API of the signer process (started by `lanca serve` through
 * proc_start before anything touches the network; signer.c) and of the
 * client side of its channels (client.c); the wire is proto.h. The signer is not a signing oracle: it is
 * sent the request's bytes and a few parameters, parses the request
 * itself, re-applies policy, builds the certificate itself and checks it
 * (sign.c) before answering.
 *
 * A handle is either remote (a signer process with one channel per
 * signing thread; callers borrow a free channel, so N requests sign on N
 * cores at once) or local (the same core in this process, for `lanca
 * init`, `lanca sign` and benchmarks). Callers cannot tell the difference.
 */
#ifndef LANCA_SIGNER_H
#define LANCA_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ca/csr.h"
#include "common/lerr.h"
#include "signer/files.h"
#include "signer/sign.h"

#define SIGNER_THREADS_MAX	8
#define SIGNER_TIMEOUT_S	30
/* Its start: keys under a passphrase are decrypted (PBKDF2) first, which
 * on a slow gateway, or under valgrind, takes far longer than a signature. */
#define SIGNER_START_S		300

struct signer;
struct bkf_recipient;
struct bkf_author;

struct signer_config {
	const char *dir;		/* state directory */
	const char *pass_file;		/* CA key passphrase file, may be NULL */
	const char *user;		/* drop to this user when root, may be NULL */
	unsigned threads;		/* signing threads (0 = one per core, max 8) */
	int allow_unlocked_keys;	/* start even if the key memory cannot be locked */
	/* For a state directory older than keys/'s certificates: what the
	 * store says they are, proven by the signer before it writes them
	 * (signer_files_adopt). NULL when keys/ is complete. */
	const struct signer_adopt *adopt;
	/* Scheduled backups: keys/ is sealed to this recipient at the start
	 * (signer_backup_keys hands it out), and every backup's END tag is
	 * made with this author key (signer_backup_tag), which only the
	 * signer keeps. NULL: none. */
	const struct bkf_recipient *backup_to;
	const struct bkf_author *backup_author;
};

/* keys/ as the signer sealed it at its start to signer_config.backup_to
 * (signer/files.h): ciphertext, into malloc'd *blob. 0, or -1 with e
 * (LERR_NOT_FOUND when started without it; LERR_SIGNER when gone). */
int signer_backup_keys(struct signer *s, unsigned char **blob, size_t *len, struct lerr *e);
/* A scheduled backup's END tag of digest (ca/backupfile.h), made by the
 * signer with the author key it was started with; a bkf_tag_fn with the
 * signer as ctx. 0, or -1 with e as signer_backup_keys. */
int signer_backup_tag(void *signer, const unsigned char digest[32], unsigned char tag[32],
		      struct lerr *e);

/* Starts the signer process and waits until it has loaded its keys (or
 * failed to: e then says why, e.g. a wrong passphrase). */
int signer_start(const struct signer_config *c, struct signer **out, struct lerr *e);
/* Loads the signing core into this process (init, sign, benchmarks). */
int signer_open_local(const char *dir, const char *pass, struct signer **out, struct lerr *e);

/* Issues a certificate for the request in csr_der (csr is the caller's
 * parse of the same bytes; a remote signer parses them again itself).
 * out->der is the certificate; free out with sign_out_free. Safe to call
 * from many threads. A dead signer gives LERR_SIGNER (503). */
int signer_issue(struct signer *s, const unsigned char *csr_der, size_t csr_len,
		 const struct csr *csr, const struct sign_req *r, struct sign_out *out,
		 struct lerr *e);

/* Asks the signer to check the proof of possession of the request in
 * csr (its self-signature): the signer parses and verifies the bytes
 * itself and remembers them, so that issuing the same bytes afterwards
 * does not verify them again (an ISSUE of bytes it has not verified, or
 * no longer remembers, is verified in full). Returns 0, or -1 with e as
 * csr_parse would give it (LERR_BAD_SIGNATURE, 400, for a forged
 * request), or LERR_SIGNER (503) when the signer is gone. Safe to call
 * from many threads. */
int signer_verify(struct signer *s, const unsigned char *csr, size_t csr_len, struct lerr *e);

/* Asks the signer to sign the audit checkpoint "row row_id has chain hash
 * head at time at" with its audit key (proto.h, CHECKPOINT); sig
 * receives the Ed25519 signature (ca/auditseal.h checks it). 0, or -1
 * with e (LERR_SIGNER, 503, when the signer is gone). Safe from many
 * threads. */
int signer_checkpoint(struct signer *s, int64_t row_id, const unsigned char head[32],
		      int64_t at, unsigned char sig[64], struct lerr *e);
/* The latency of the round trips of operation i (0, 1, ...: "issue",
 * "verify", then "other" for any operation not named) since the handle
 * was made, from the send to the answer, answered or not: the name into
 * *op, a snapshot into out. 0, or -1 past the last (or for NULL). A local
 * handle makes no round trips: its histograms stay empty. */
struct metric_histogram_snap;
int signer_roundtrip(const struct signer *s, unsigned i, const char **op,
		     struct metric_histogram_snap *out);
/* Asks the signer for the CRL p describes, built, signed with generation
 * gen's issuing CA key (SIGN_GEN_CURRENT, or SIGN_GEN_PREVIOUS after a
 * rollover: sign.h) and checked there (sign_crl); *der (gnutls_free) is
 * the CRL. A local handle builds it in this process the same way. Safe
 * to call from many threads. 0, or -1 with e (too_large past
 * CRL_ENTRIES_MAX, signer when the signer is gone). */
int signer_crl(struct signer *s, unsigned gen, const struct crl_params *p, gnutls_datum_t *der,
	       struct lerr *e);

/* The signer process id (0 for a local handle, or for none: NULL, the
 * CLI deciding without a daemon). */
pid_t signer_pid(const struct signer *s);
/* Closes the channels (the signer exits when it sees them close), waits
 * for the process and returns its exit status (0 clean); NULL-safe. */
int signer_stop(struct signer *s);

/* Tests only: the raw channel fds of a remote signer, to speak the
 * protocol directly. */
int signer_channel_fd(const struct signer *s, unsigned i);

#endif
