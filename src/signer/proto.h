/*
 * proto.h - what the signer process (signer.c) and the daemon's side of
 * it (client.c) say to each other, and nothing else: the message types,
 * the layout of each payload, and the process's entry point.
 *
 * Framing is ipc.h's: {u32 length, u16 type, u16 flags}, at most IPC_MAX.
 * Payloads (ipc_put_* / ipc_get_* fields, in this order, nothing after):
 *   READY   signer -> daemon once, on channel 0, empty: keys and chain
 *           loaded and verified, privileges dropped. Or ERROR instead.
 *   ISSUE   daemon -> signer: u8 profile, u32 days,
 *           bytes serial (X509_SERIAL_LEN), bytes csr (<= CSR_MAX_BYTES).
 *           The signer parses csr and verifies its self-signature unless
 *           it verified these very bytes itself before (popcache.h).
 *   VERIFY  daemon -> signer: bytes csr (<= CSR_MAX_BYTES). The signer
 *           parses csr, verifies its self-signature (the proof that the
 *           device holds the key) and remembers the bytes' digest.
 *   VERIFIED signer -> daemon: empty: csr parsed and its signature holds.
 *           Or ERROR with the reason (bad_signature for a forged one).
 *   OK      signer -> daemon: u64 not_before, u64 not_after,
 *           bytes certificate DER, bytes key id (32), str names (as
 *           names_format writes them): the key and names the signer put
 *           in the certificate and found again in its re-parsed bytes, so
 *           the daemon records them without parsing the certificate.
 *   CHECKPOINT daemon -> signer: u64 row id, bytes head (32), u64 time:
 *           "audit row `row id` has chain hash `head` at `time`". The
 *           signer lays out the domain-separated message itself
 *           (ca/auditseal.h) and signs it with keys/audit.key.
 *   SIGNED  signer -> daemon: bytes signature (64, Ed25519). Or ERROR.
 *   CRL     daemon -> signer: u8 generation (0: the active issuing CA
 *           signs; 1: the previous generation's, after a rollover),
 *           u64 number, u64 this_update,
 *           u64 next_update, u32 total (<= CRL_ENTRIES_MAX), u32 count
 *           (<= SIGNER_CRL_ENTRIES_PER_MSG, at least 1 unless total is
 *           0), then count entries of: bytes serial (<= CRL_SERIAL_MAX),
 *           u64 revoked_at, u8 reason (the RFC 5280 code).
 *   CRL_MORE daemon -> signer, right after a CRL and until total
 *           entries have come: u32 count (1 to SIGNER_CRL_ENTRIES_PER_MSG,
 *           no more than are left), then count entries as above. The
 *           signer builds the CRL from these alone, signs it with the
 *           issuing CA's key and checks it (crl_make: re-parsed, verified
 *           under the issuing CA), then answers.
 *   CRL_OK  signer -> daemon: u32 size (<= CRL_DER_MAX), bytes the CRL's
 *           first SIGNER_CRL_PIECE bytes (or all, when fewer).
 *   CRL_PART signer -> daemon, right after a CRL_OK and until size bytes
 *           have come: bytes the next piece (1 to SIGNER_CRL_PIECE).
 *           With 1,000 entries of 20-byte serials a CRL or CRL_MORE takes
 *           33 KiB, and a piece 48 KiB: each fits IPC_MAX, whatever the
 *           CRL's size (test_signer sends the largest CRL).
 *   BACKUP_KEYS daemon -> signer: empty: keys/ for a scheduled backup.
 *   KEYS    signer -> daemon: bytes keys/ as a backup stream sealed at
 *           the signer's start to the recipient serve gave it
 *           (signer_config.backup_to; files.h, signer_files_seal), at
 *           most SIGNER_SEALED_KEYS_MAX. Or ERROR (not_found) when serve
 *           has no scheduled backups.
 *   BACKUP_TAG daemon -> signer: bytes digest (32): a scheduled backup's.
 *   TAG     signer -> daemon: bytes tag (32): the digest's BLAKE2b keyed
 *           with the author key serve gave the signer (ca/backupfile.h).
 *           Or ERROR (not_found) without scheduled backups.
 *   ERROR   signer -> daemon: str code (lerr_str), u16 http status,
 *           str message.
 * Flags are always 0. The signer answers only the operations in its
 * table (signer.c); an unknown type, non-zero flags, a malformed payload,
 * an oversized or short message ends the signer process. The daemon
 * treats a malformed answer the same way: it ends the signer.
 */
#ifndef LANCA_SIGNER_PROTO_H
#define LANCA_SIGNER_PROTO_H

enum signer_msg {
	SIGNER_MSG_READY = 1,		/* signer -> daemon, once: keys loaded */
	SIGNER_MSG_ISSUE = 2,		/* daemon -> signer: issue a leaf */
	SIGNER_MSG_VERIFY = 3,		/* daemon -> signer: check a request's proof of possession */
	SIGNER_MSG_CRL = 4,		/* daemon -> signer: sign a CRL */
	SIGNER_MSG_CHECKPOINT = 5,	/* daemon -> signer: sign the audit chain's head */
	SIGNER_MSG_CRL_MORE = 6,	/* daemon -> signer: more of a CRL's entries */
	SIGNER_MSG_BACKUP_KEYS = 7,	/* daemon -> signer: keys/, sealed for a backup */
	SIGNER_MSG_BACKUP_TAG = 8,	/* daemon -> signer: a backup's author tag */
	SIGNER_MSG_OK = 0x100,		/* signer -> daemon: the certificate */
	SIGNER_MSG_ERROR = 0x101,	/* signer -> daemon: refused, with reason */
	SIGNER_MSG_VERIFIED = 0x102,	/* signer -> daemon: the request's signature holds */
	SIGNER_MSG_CRL_OK = 0x103,	/* signer -> daemon: the CRL */
	SIGNER_MSG_SIGNED = 0x104,	/* signer -> daemon: the checkpoint's signature */
	SIGNER_MSG_CRL_PART = 0x105,	/* signer -> daemon: more of the CRL */
	SIGNER_MSG_KEYS = 0x106,	/* signer -> daemon: keys/, sealed */
	SIGNER_MSG_TAG = 0x107,		/* signer -> daemon: the backup's tag */
};

#define SIGNER_CRL_ENTRIES_PER_MSG	1000		/* entries in a CRL or CRL_MORE */
#define SIGNER_CRL_PIECE		(48 * 1024)	/* CRL bytes in a CRL_OK or CRL_PART */

/* The signer process's entry (proc_start's child function): arg is the
 * struct signer_config, copied into the child by fork. Returns the
 * process's exit status. */
int signer_process_main(int *fds, int n, void *arg);

#endif
