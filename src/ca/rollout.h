/*
 * rollout.h - enterprise policy files that push lanca's roots to a fleet.
 *
 * Owns: the one table of policy-file formats (`lanca export policy
 * --format NAME`), what every writer is given (rollout_in) and what it
 * gives back (rollout_file), and the helpers the writers share. Each
 * family's writer lives in its own file: rollout_windows.c (.reg,
 * Registry.pol, PowerShell), rollout_apple.c (.mobileconfig, optionally
 * CMS-signed), rollout_java.c (PKCS#12 truststore), rollout_misc.c
 * (ChromeOS ONC, Android .crt). Pure over GnuTLS, libtasn1 and jansson:
 * no store, no files; the CLI writes what they return.
 */
#ifndef LANCA_ROLLOUT_H
#define LANCA_ROLLOUT_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include "ca/names.h"
#include "common/buf.h"
#include "common/lerr.h"

#define ROLLOUT_FILES_MAX	8	/* files one format writes */
#define ROLLOUT_ROOTS_MAX	4	/* roots in one bundle (primary, backup, ...) */
#define ROLLOUT_FILE_MAX	(1024 * 1024)	/* bytes in one file */

/* A CMS signer for the formats that can be signed (Apple's profile):
 * its certificate, its key, and the certificates that chain it to a
 * root (issuing CA first), carried in the signature. */
struct rollout_signer {
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
	const gnutls_x509_crt_t *chain;
	size_t nchain;
};

struct rollout_in {			/* what every writer gets */
	const gnutls_x509_crt_t *roots;	/* the trust bundle's roots, primary first */
	size_t n;
	const char *ca_name;		/* the CA's display name ("lanca CA for home.arpa") */
	const struct names *permitted;	/* the root's name constraints (ca/names.h) */
	const struct rollout_signer *signer;	/* NULL: unsigned */
};

struct rollout_file {			/* one output file */
	char name[64];
	gnutls_datum_t data;		/* gnutls_free'd by rollout_files_free */
};

struct rollout_format {
	const char *name, *what;	/* "firefox", "Firefox policies.json" */
	int (*write)(const struct rollout_in *in, struct rollout_file *out, size_t max,
		     size_t *n, struct lerr *e);
	int signable;			/* 1: uses rollout_in.signer (--sign) */
};

extern const struct rollout_format rollout_formats[];
extern const size_t rollout_nformats;

/* The format called name, or NULL. */
const struct rollout_format *rollout_find(const char *name);
/* Frees the data of n files. */
void rollout_files_free(struct rollout_file *f, size_t n);

/* The writers (one family per file). */
int rollout_write_windows(const struct rollout_in *in, struct rollout_file *out, size_t max,
			  size_t *n, struct lerr *e);
int rollout_write_apple(const struct rollout_in *in, struct rollout_file *out, size_t max,
			size_t *n, struct lerr *e);
int rollout_write_java(const struct rollout_in *in, struct rollout_file *out, size_t max,
		       size_t *n, struct lerr *e);
int rollout_write_chromeos(const struct rollout_in *in, struct rollout_file *out, size_t max,
			   size_t *n, struct lerr *e);
int rollout_write_android(const struct rollout_in *in, struct rollout_file *out, size_t max,
			  size_t *n, struct lerr *e);

/* Shared by the writers. */
/* Appends a file called name holding len bytes of data to out (n of max
 * used). 0, or -1 with e (too many files, a name too long, no memory). */
int rollout_add(struct rollout_file *out, size_t max, size_t *n, const char *name,
		const void *data, size_t len, struct lerr *e);
/* The same, taking b's bytes (b is freed either way; a failed b is an
 * error naming the file). */
int rollout_add_buf(struct rollout_file *out, size_t max, size_t *n, const char *name,
		    struct buf *b, struct lerr *e);
/* Root i's DER (gnutls_free). 0 or -1 with e. */
int rollout_der(const struct rollout_in *in, size_t i, gnutls_datum_t *der, struct lerr *e);
/* Root i's fingerprint with algo (GNUTLS_DIG_SHA1: Windows' thumbprint)
 * as upper-case hex without separators; out holds 2 * 64 + 1. */
int rollout_fp(const struct rollout_in *in, size_t i, gnutls_digest_algorithm_t algo,
	       char *out, size_t size, struct lerr *e);
/* Checks in: at least one root, at most ROLLOUT_ROOTS_MAX, each a CA. */
int rollout_check(const struct rollout_in *in, struct lerr *e);
/* Appends the base64 of len bytes (no line breaks) to b. */
int rollout_b64(struct buf *b, const unsigned char *data, size_t len) LANCA_WUR;

#endif
