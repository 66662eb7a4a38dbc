/*
 * device.h - the device's credentials and the files that hold them.
 *
 * Owns: what enroll and renew share about the device itself (its key is
 * devkey.c's, used here through gnutls_privkey_t): the names it asks for and the certificate request that
 * carries them, checking the chain the gateway sends back before anything
 * is written, which file holds the roots it trusts (trust.pem before
 * root.pem), and reading, writing (atomically, through common/fileio),
 * renaming and removing the files in the output directory. Callers are
 * cmd_enroll.c and cmd_renew.c. Every function prints what went wrong
 * (client_msg) and returns -1; nothing here talks to the network.
 */
#ifndef LANCA_CLIENT_DEVICE_H
#define LANCA_CLIENT_DEVICE_H

#include <stddef.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#include "client/httpc.h"

#define DEVICE_MAX_NAMES	32	/* of each kind: DNS names, IP addresses */
#define DEVICE_MAX_CHAIN	8

/* The names a request asks for. */
struct device_sans {
	char dns[DEVICE_MAX_NAMES][256];
	size_t n_dns;
	unsigned char ip[DEVICE_MAX_NAMES][16];
	size_t ip_len[DEVICE_MAX_NAMES];
	size_t n_ip;
};

/* Adds a DNS name / an IPv4 or IPv6 address given as text (a --name or
 * --ip value). Returns 0 or -1 (message printed). */
int device_sans_add_dns(struct device_sans *s, const char *name);
int device_sans_add_ip(struct device_sans *s, const char *text);
/* Fills s with the DNS and IP names of crt. */
int device_sans_from_crt(gnutls_x509_crt_t crt, struct device_sans *s);

/* A CSR for key with CN = cn and the names in s, signed with SHA-256, as
 * DER into *der (gnutls_malloc'd: the caller gnutls_frees it). challenge,
 * when not NULL, goes in as its challengePassword (EST channel binding). */
int device_csr(gnutls_privkey_t key, const char *cn, const struct device_sans *s,
	       const char *challenge, gnutls_datum_t *der);

/* A chain received from the gateway, checked. */
struct device_chain {
	gnutls_x509_crt_t *crts;
	unsigned n;
};

/* NULL-safe; leaves c empty. */
void device_chain_free(struct device_chain *c);
/*
 * Parses the PEM chain the gateway sent and checks it before anything is
 * written: leaf first and in order, at most DEVICE_MAX_CHAIN certificates,
 * the leaf's public key is key's, the leaf is not a CA, and the chain
 * verifies up to one of the roots in root_pem (trust_verify_chain: a
 * chain that ends in a cross-certificate to an old root verifies under the
 * old root or the new one). Returns 0 with *out filled
 * (device_chain_free), or -1.
 */
int device_chain_check(const unsigned char *pem, size_t len, gnutls_privkey_t key,
		       const gnutls_datum_t *root_pem, struct device_chain *out);
/* Writes the leaf to dir/cert_name and the whole chain to dir/chain_name. */
int device_chain_write(const struct device_chain *c, const char *dir, const char *cert_name,
		       const char *chain_name);
/* Prints on stdout what was issued: subject, serial, expiry, where. */
void device_report(const struct device_chain *c, const char *dir, const char *verb);

/*
 * Reads dir/name (a regular file of at most max bytes) into d: malloc'd and
 * NUL-terminated (the NUL not counted), or with secret != 0 in locked
 * memory. Release with device_file_free(d, secret).
 */
int device_file_read(const char *dir, const char *name, size_t max, int secret,
		     gnutls_datum_t *d);
/* NULL-safe; wipes a secret. Leaves d empty. */
void device_file_free(gnutls_datum_t *d, int secret);
/*
 * Reads a secret (what: "secret", "PIN") from the file path that option
 * opt named into d (the whole file, in locked memory, NUL-terminated after
 * the secret: device_file_free(d, 1)) and its length into *len: the
 * file's bytes without one trailing line break, min to max of them, no
 * control characters. Returns 0, or -1 with a message printed (nothing
 * kept).
 */
int device_secret_read(const char *opt, const char *what, const char *path, size_t min,
		       size_t max, gnutls_datum_t *d, size_t *len);
/* Writes len bytes to dir/name atomically with mode (fileio_write_atomic). */
int device_file_write(const char *dir, const char *name, const void *data, size_t len,
		      mode_t mode);
/* Renames dir/from to dir/to (one directory, so atomic). */
int device_file_rename(const char *dir, const char *from, const char *to);
/* Removes dir/name if it is there; quiet. */
void device_file_remove(const char *dir, const char *name);
/* Whether dir/name exists (as anything). */
int device_file_exists(const char *dir, const char *name);
/*
 * The roots the device trusts for HTTPS after enrolment: dir/trust.pem
 * (what trust refresh writes) when it exists, else dir/root.pem (what
 * enroll wrote). Reads it into d as device_file_read does and, when name
 * is not NULL, sets *name to the file's name. Returns 0, or -1 with a
 * message printed.
 */
int device_trust_read(const char *dir, gnutls_datum_t *d, const char **name);
#define DEVICE_TRUST_FILE	"trust.pem"
#define DEVICE_ROOT_FILE	"root.pem"
/* Reads dir/gateway.url (written by enroll: one https:// URL, a trailing
 * newline allowed) into gateway (size n) and parses it into *gw. 0, or -1
 * with a message printed. */
int device_gateway_read(const char *dir, char *gateway, size_t n, struct httpc_url *gw);
/* fsyncs dir so that renames in it are durable. */
int device_dir_sync(const char *dir);

#endif
