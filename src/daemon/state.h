/*
 * state.h - the state directory's layout, and the CA certificates a
 * running lanca serves.
 *
 * Layout of DIR (0700):
 *   lanca.db            the store (certificates, CAs, settings, audit)
 *   store.url           instead of lanca.db, when the store is on a
 *                       PostgreSQL server: its URL on the first line
 *                       (0600: it may hold the password; the daemon's own)
 *   keys/ (0700)        the signer's: CA keys, the chain it trusts and its
 *                       settings (signer/files.h); never the daemon's user's
 *   gateway.key         the gateway's TLS key (0600, the daemon's own)
 *   gateway.pem         the gateway's certificate chain
 *   root.pem            the root, for people and scripts
 *   backup-root.pem     the backup root's certificate, when there is one
 *                       (its key is never here: backuproot.h)
 *   gateway.name        on a gateway that joined a site (join.h): its
 *                       name there, which keys its own settings in the
 *                       shared store (its certificate's names)
 * Owns: the names above (keys/'s are signer/files.h's), and loading the
 * public half of the CA hierarchy from the store. `lanca init`, which
 * creates all of it, is init.h.
 */
#ifndef LANCA_STATE_H
#define LANCA_STATE_H

#include <stddef.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "common/lerr.h"
#include "ca/names.h"
#include "signer/files.h"

#define STATE_DIR_DEFAULT	"/var/lib/lanca"
#define STATE_GATEWAY_KEY	"gateway.key"
#define STATE_GATEWAY_PEM	"gateway.pem"
#define STATE_ROOT_PEM		"root.pem"
#define STATE_BACKUP_ROOT_PEM	"backup-root.pem"
#define STATE_STORE_URL		"store.url"
#define STATE_GATEWAY_NAME	"gateway.name"
#define STATE_GATEWAY_NAME_MAX	63	/* a DNS label */
#define STATE_PATH_MAX		4096

/* The public side of the CA hierarchy, as served to clients: the primary
 * root, and the issuing CA as chains carry it (during a rollover the
 * primary root's certificate of the new issuing CA: ca_set_load), with
 * the issuing CA's own fingerprint and dates. */
struct ca_set {
	gnutls_x509_crt_t root, issuing;
	gnutls_datum_t root_der, root_pem, issuing_der, issuing_pem;
	char root_fp[65], issuing_fp[65];	/* SHA-256 hex */
	char root_fp_colon[96], issuing_fp_colon[96];	/* AB:CD:.. (as browsers show it) */
	char root_subject[256], issuing_subject[256];
	time_t root_not_before, root_not_after;
	time_t issuing_not_before, issuing_not_after;
	int64_t issuing_id;			/* store row */
	int64_t root_id;			/* store row */
};
struct store;
/* Loads the active root and issuing CA from the store. */
int ca_set_load(struct store *s, struct ca_set *c, struct lerr *e);
void ca_set_free(struct ca_set *c);
/* The site's issuing CAs in use other than c's (other gateways' of a
 * shared site: store_ca_site_issuing), their DER into out[0..*n) (the
 * first max, the rest logged; freed with ca_set_others_free). 0 or -1. */
int ca_set_others(struct store *s, const struct ca_set *c, gnutls_datum_t *out, size_t max,
		  size_t *n, struct lerr *e);
void ca_set_others_free(gnutls_datum_t *v, size_t n);

/* What the store says keys/'s chain and CRL URL are, for a state
 * directory made before keys/ held them (signer_config.adopt). a is
 * freed with signer_adopt_free. 0 or -1 with e. */
int state_signer_adopt(const char *dir, struct signer_adopt *a, struct lerr *e);

/* Opens dir's store: the PostgreSQL database DIR/store.url names when
 * that file exists, else the SQLite file DIR/lanca.db (flags and the
 * rest as store_open's). store.url must be a regular file (no symbolic
 * link), of mode 0600 or stricter, owned by the effective user or root
 * (or, for root, handed to the daemon's user as handover.h does); its
 * first line is a postgresql:// or postgres:// URL (dburl.h). Anything
 * else is refused, with an error naming the file, never the URL. 0 or
 * -1 with e (LERR_NOT_FOUND when there is neither). */
int state_store_open(const char *dir, unsigned flags, struct store **out, struct lerr *e);

/* The gateway's name in its site (DIR/gateway.name, `lanca join`), or ""
 * for a gateway that made its site or has one of its own. 0, or -1 with e
 * when the file is there but unreadable or not one name. */
int state_gateway_name(const char *dir, char out[STATE_GATEWAY_NAME_MAX + 1], struct lerr *e);

/* What dir's store is, fit to show (status): the URL in store.url with
 * its password masked (dburl_mask), or the path of lanca.db. 0, or -1
 * with e when store.url is refused (as state_store_open refuses it). */
int state_store_describe(const char *dir, char *out, size_t n, struct lerr *e);

/* Whether dir has a store: 1 when it has store.url or lanca.db (neither
 * followed nor read), else 0. */
int state_store_present(const char *dir);

/* For what works on the SQLite file itself (`lanca backup` copies it):
 * 0 when dir's store is lanca.db, -1 with e (LERR_CONFLICT) when dir has
 * a store.url, whose database pg_dump backs up. */
int state_store_need_file(const char *dir, struct lerr *e);

/* Writes url (checked as dburl_check does) to dir/store.url: a new file
 * (O_EXCL, no symbolic link followed), mode 0600, fsync'd with dir.
 * `lanca init --store`. 0 or -1 with e; a failed write leaves no file. */
int state_store_url_write(const char *dir, const char *url, struct lerr *e);

/* Joins dir and a relative path from above; -1 if too long. */
int state_path(char out[STATE_PATH_MAX], const char *dir, const char *rel);

#endif
