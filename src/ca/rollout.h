/*
 * rollout.h - the enterprise policy files that put lanca's roots on a fleet.
 *
 * Owns: the one table of formats `lanca export policy --format NAME`
 * offers, and the contract every writer keeps: it gets the roots devices
 * should trust (primary first), the CA's name and the roots' permitted name
 * space, and returns named files in memory. Writers are pure: GnuTLS for
 * every certificate encoding, jansson for JSON, nothing read or written on
 * disk (the CLI writes the files). One writer per family, in its own file:
 * rollout.c (the table, Linux), rollout_browser.c (Firefox, Chrome),
 * rollout_windows.c (.reg, Registry.pol, PowerShell), rollout_apple.c
 * (.mobileconfig, optionally CMS-signed), rollout_java.c (PKCS#12
 * truststore), rollout_misc.c (ChromeOS ONC, Android .crt).
 * docs/enterprise.md says which file goes to which fleet.
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

#define ROLLOUT_FILES_MAX	16	/* files one format may produce */
#define ROLLOUT_ROOTS_MAX	8	/* roots a bundle may hold */
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
	const struct names *permitted;	/* the roots' name constraints (policy_from_ca) */
	const struct rollout_signer *signer;	/* NULL: unsigned */
};

struct rollout_file {			/* one output file */
	char name[64];			/* a plain file name, no '/' */
	gnutls_datum_t data;		/* gnutls_malloc'd, NUL after size (text files
					 * read as strings); rollout_files_free */
};

struct rollout_format {
	const char *name, *what;	/* "firefox", "Firefox policies.json" */
	/* Appends the format's files to out[*n..max) and advances *n.
	 * 0, or -1 with e (files already added stay for the caller to free). */
	int (*write)(const struct rollout_in *in, struct rollout_file *out, size_t max,
		     size_t *n, struct lerr *e);
	int signable;			/* 1: uses rollout_in.signer (--sign) */
};

extern const struct rollout_format rollout_formats[];
extern const size_t rollout_nformats;

/* The format called name, or NULL. */
const struct rollout_format *rollout_find(const char *name);
/* Frees the data of f[0..n) (NULL-safe) and zeroes them. */
void rollout_files_free(struct rollout_file *f, size_t n);

/* For writers. */
/* Appends a copy of data[0..len), NUL-terminated, as file name to out.
 * 0 or -1 with e (out full, name too long or not a plain name, more than
 * ROLLOUT_FILE_MAX bytes, out of memory). */
int rollout_file_add(struct rollout_file *out, size_t max, size_t *n, const char *name,
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
/* Appends the base64 of len bytes (no line breaks) to b. */
int rollout_b64(struct buf *b, const unsigned char *data, size_t len) LANCA_WUR;
/* The file name a root is shipped under, the same in every format that
 * carries the certificate as a file: "lanca-" and the first 12 hex digits
 * of its SHA-256 fingerprint, ".crt". Stable across bundles, so a root kept
 * through a rollover keeps its file and a retired one can be found by its
 * fingerprint. 0 or -1 with e. */
int rollout_root_filename(gnutls_x509_crt_t root, char out[64], struct lerr *e);
/* The roots as in->n PEM files, named by rollout_root_filename. */
int rollout_add_root_files(const struct rollout_in *in, struct rollout_file *out, size_t max,
			   size_t *n, struct lerr *e);
/* Checks what every writer relies on: at least one root, at most
 * ROLLOUT_ROOTS_MAX, none NULL, each a CA certificate (a store installs
 * only what says it is a CA). 0 or -1 with e. */
int rollout_in_check(const struct rollout_in *in, struct lerr *e);

/* The writers (one family per file). */
int rollout_write_linux(const struct rollout_in *in, struct rollout_file *out, size_t max,
			size_t *n, struct lerr *e);
int rollout_write_firefox(const struct rollout_in *in, struct rollout_file *out, size_t max,
			  size_t *n, struct lerr *e);
int rollout_write_chrome(const struct rollout_in *in, struct rollout_file *out, size_t max,
			 size_t *n, struct lerr *e);
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

#endif
