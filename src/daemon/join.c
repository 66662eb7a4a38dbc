/*
 * join.c - `lanca join`: a gateway of an existing site (see join.h).
 *
 * The order matters as init's does: everything is built in a sibling
 * directory DIR.join-XXXXXX, the token's key is proven to be the site's
 * issuing CA's (or the root key the site root's) before anything is made
 * with it, the gateway's certificate is issued through the signer like
 * any other, and the join is recorded (the "gateway:NAME" setting and
 * its audit row, in one transaction that fails if another join took the
 * name meanwhile) only once the directory is complete and in place. A
 * join that fails may be run again with the same name: its own settings
 * are overwritten, an issuing CA it recorded is retired (at once, or by
 * the next join of the name if it was killed), and only a recorded join
 * holds the name.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ca/keystore.h"
#include "ca/names.h"
#include "ca/policy.h"
#include "ca/x509.h"
#include "common/buf.h"
#include "common/dburl.h"
#include "common/fileio.h"
#include "common/log.h"
#include "daemon/gateway.h"
#include "daemon/init.h"
#include "daemon/issue.h"
#include "daemon/join.h"
#include "daemon/revocation.h"
#include "daemon/rollover.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "signer/signer.h"
#include "store/store.h"

/* Whether name is a DNS label (lower case), as gateway names are. */
static int
join_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > STATE_GATEWAY_NAME_MAX || name[0] == '-' || name[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-'))
			return 0;
	return 1;
}

/* Whether the site's policy allows every name of the gateway's
 * certificate: checked before anything is made or recorded for it. */
static int
join_names_ok(const struct policy *pol, const struct names *gw, struct lerr *e)
{
	size_t i;

	for (i = 0; i < gw->ndns; i++)
		if (policy_check_dns(pol, gw->dns[i], POLICY_GATEWAY, e) != 0)
			return -1;
	for (i = 0; i < gw->nip; i++)
		if (policy_check_ip(pol, &gw->ip[i], POLICY_GATEWAY, e) != 0)
			return -1;
	return 0;
}

/* Writes the gateway's name to DIR/gateway.name. */
static int
join_write_name(const char *dir, const char *name, struct lerr *e)
{
	char path[STATE_PATH_MAX], line[STATE_GATEWAY_NAME_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", name);

	if (state_path(path, dir, STATE_GATEWAY_NAME) != 0 || n < 0 || (size_t)n >= sizeof(line))
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	return fileio_write_atomic(path, line, (size_t)n, 0644, 1, e);
}

/* The site's issuing key in a shared token: proven to be the issuing
 * CA's, then named by keys/issuing.key; the CRL URL is the site's. */
static int
join_shared_key(const struct state_join_opts *o, struct store *s, const struct ca_set *ca,
		const char *tmp, char *crl_url, size_t n, struct lerr *e)
{
	char path[STATE_PATH_MAX], *url = NULL;
	gnutls_privkey_t key = NULL;
	struct lerr why;
	int rc = -1;

	if (keystore_token_open(o->issuing_token, &key, e) != 0)
		goto out;
	if (x509_key_matches(key, ca->issuing, ca->issuing_subject, &why) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "the token's key is not the site's issuing CA's "
			 "(%s, SHA-256 %s)", ca->issuing_subject, ca->issuing_fp);
		goto out;
	}
	if (state_path(path, tmp, SIGNER_ISSUING_KEY) != 0 ||
	    keystore_token_write(path, o->issuing_token, e) != 0 ||
	    store_setting_get(s, "crl_url", &url, e) != 0)
		goto out;
	snprintf(crl_url, n, "%s", url);
	rc = 0;
out:
	free(url);
	if (key != NULL)
		gnutls_privkey_deinit(key);
	return rc;
}

/* An issuing CA of the gateway's own: a new key in keys/issuing.key, its
 * certificate signed with the site root's key (proven first, used here
 * only), recorded for the gateway name. The rest of the site's CAs stay
 * as they are. *crl_url receives the new CA's CRL URL, *id its row. */
static int
join_own_ca(const struct state_join_opts *o, struct store *s, const struct ca_set *ca,
	    const char *name, const char *tmp, char *crl_url, size_t n, int64_t *id,
	    struct lerr *e)
{
	char path[STATE_PATH_MAX], ou[192], fp[65], subject[256], *site = NULL, *detail = NULL;
	gnutls_privkey_t root_key = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der = { NULL, 0 };
	struct store_ca *site_ca = NULL;
	struct store_rollover roll;
	struct signer_conf conf;
	struct store_ca_new rec;
	struct policy pol;
	int rc = -1;

	memset(&pol, 0, sizeof(pol));
	/* The site's root must be the one every device trusts. */
	if (store_rollover_newest(s, &roll, e) == 0) {
		if (roll.finished_at == 0) {
			lerr_set(e, LERR_CONFLICT, "a root rollover is under way on this site: "
				 "finish it (`lanca rollover finish` on the gateway holding the "
				 "root) before a gateway joins with an issuing CA of its own");
			goto out;
		}
	} else if (e->code != LERR_NOT_FOUND) {
		goto out;
	}
	lerr_clear(e);
	if (keystore_load(o->site_root_key, o->site_root_pass, &root_key, e) != 0)
		goto out;
	if (x509_key_matches(root_key, ca->root, ca->root_subject, e) != 0) {
		lerr_set(e, LERR_FORBIDDEN, "%s is not the site root's key (%s, SHA-256 %s)",
			 o->site_root_key, ca->root_subject, ca->root_fp);
		goto out;
	}
	if (policy_from_ca(&pol, ca->root, e) != 0 || store_setting_get(s, "name", &site, e) != 0)
		goto out;
	/* Not "Issuing CA N", a rollover's: a gateway may be named 2. */
	snprintf(ou, sizeof(ou), "%s Issuing CA of gateway %s", site, name);
	if (rollover_make_issuing(s, o->key_type, ou, &pol.permitted, ca->root, root_key,
				  time(NULL), &key, &crt, e) != 0)
		goto out;
	if (state_path(path, tmp, SIGNER_ISSUING_KEY) != 0 ||
	    keystore_write(path, key, o->pass, e) != 0)
		goto out;
	if (x509_export_der(crt, &der) != 0 || x509_fingerprint(crt, fp) != 0 ||
	    x509_subject(crt, subject, sizeof(subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the new issuing CA");
		goto out;
	}
	/* The URL as the signer will take it, before the CA records it. */
	if (store_ca_get(s, ca->issuing_id, &site_ca, e) != 0 ||
	    revocation_crl_url_next(site_ca->crl_url, o->crl_url, fp, crl_url, n, e) != 0 ||
	    revocation_crl_url_free(s, crl_url, e) != 0 || signer_conf_init(&conf, crl_url, e) != 0)
		goto out;
	{
		json_t *d = json_pack("{s:s, s:s, s:s}", "subject", subject, "sha256", fp,
				      "crl_url", crl_url);

		detail = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
		json_decref(d);
	}
	if (detail == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.subject = subject;
	rec.fingerprint = fp;
	rec.not_before = gnutls_x509_crt_get_activation_time(crt);
	rec.not_after = gnutls_x509_crt_get_expiration_time(crt);
	rec.der = der.data;
	rec.der_len = der.size;
	if (store_ca_join(s, name, &rec, crl_url, o->actor, detail, id, e) != 0)
		goto out;
	rc = 0;
out:
	free(detail);
	free(site);
	gnutls_free(der.data);
	store_ca_free(site_ca);
	policy_free(&pol);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	if (root_key != NULL)
		gnutls_privkey_deinit(root_key);
	return rc;
}

/* Everything join makes, inside the temporary directory tmp, which it
 * then renames to o->dir (*moved set) before it claims the name; on a
 * failure after the rename it removes o->dir again. */
static int
join_build(const struct state_join_opts *o, const char *tmp, int *moved, struct lerr *e)
{
	char path[STATE_PATH_MAX], host_buf[64], key[96], cn[128], crl_url[SIGNER_CRL_URL_MAX];
	const char *host, *name;
	struct signer *signer = NULL;
	struct signer_conf conf;
	struct store *s = NULL;
	char *joined = NULL, *detail = NULL;
	struct policy pol;
	struct ca_set ca;
	struct issuer is;
	struct names gw;
	struct buf b;
	struct lerr why;
	int64_t own_ca = 0;
	int rc = -1;

	memset(&pol, 0, sizeof(pol));
	memset(&ca, 0, sizeof(ca));
	names_init(&gw);
	buf_init(&b, 16 * 1024);
	host = init_hostname(host_buf, sizeof(host_buf));
	name = o->name != NULL ? o->name : host;
	if (name == NULL || !join_name_ok(name)) {
		lerr_set(e, LERR_BAD_NAME, "--name %s: a gateway's name is a DNS label (a-z, 0-9 "
			 "and -, at most %d)", name != NULL ? name : "(no host name)",
			 STATE_GATEWAY_NAME_MAX);
		goto out;
	}
	if (init_gateway_names(o->sans, o->nsans, name, &gw, e) != 0)
		goto out;
	if (state_path(path, tmp, SIGNER_KEYS_DIR) != 0 || mkdir(path, 0700) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	if (state_store_url_write(tmp, o->store_url, e) != 0 || state_store_open(tmp, 0, &s, e) != 0)
		goto out;
	if (ca_set_load(s, &ca, &why) != 0) {
		lerr_set(e, LERR_NOT_FOUND, "the site's database holds no CA (%s): make the site "
			 "with `lanca init --store` on its first gateway", why.msg);
		goto out;
	}
	snprintf(key, sizeof(key), "gateway:%s", name);
	if (store_setting_get(s, key, &joined, &why) == 0) {
		lerr_set(e, LERR_CONFLICT, "a gateway named %s has joined the site already: "
			 "choose another --name", name);
		goto out;
	}
	if (why.code != LERR_NOT_FOUND) {
		*e = why;
		goto out;
	}

	/* The gateway's names, checked before anything is made for it
	 * against the constraints of the CA that will sign them: the site's
	 * issuing CA, or a new one with the root's. */
	if (policy_from_ca(&pol, o->issuing_token != NULL ? ca.issuing : ca.root, e) != 0 ||
	    join_names_ok(&pol, &gw, e) != 0)
		goto out;

	if (o->issuing_token != NULL) {
		/* A CA left for this name by a join that did not finish would
		 * be found as this gateway's. */
		if (join_shared_key(o, s, &ca, tmp, crl_url, sizeof(crl_url), e) != 0 ||
		    store_ca_retire_gateway(s, name, 0, o->actor, e) != 0)
			goto out;
	} else {
		/* From here on the store finds this gateway's issuing CA. */
		if (join_own_ca(o, s, &ca, name, tmp, crl_url, sizeof(crl_url), &own_ca, e) != 0 ||
		    store_set_gateway(s, name, e) != 0)
			goto out;
		ca_set_free(&ca);
		if (ca_set_load(s, &ca, e) != 0)
			goto out;
	}
	if (signer_conf_init(&conf, crl_url, e) != 0 ||
	    signer_files_write(tmp, ca.root, ca.issuing, &conf, 0, e) != 0 ||
	    init_root_pem(tmp, ca.root, e) != 0 || join_write_name(tmp, name, e) != 0)
		goto out;

	/* This gateway's own names, beside the other gateways'. */
	if (names_format(&gw, &b) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot format the gateway's names");
		goto out;
	}
	snprintf(cn, sizeof(cn), "%s.local", name);
	if (gateway_setting_key(tmp, "gateway_sans", key, sizeof(key), e) != 0 ||
	    store_setting_set(s, key, (const char *)b.data, e) != 0 ||
	    gateway_setting_key(tmp, "gateway_cn", key, sizeof(key), e) != 0 ||
	    store_setting_set(s, key, cn, e) != 0)
		goto out;

	if (signer_open_local(tmp, o->pass, &signer, e) != 0)
		goto out;
	is.store = s;
	is.signer = signer;
	is.policy = &pol;
	is.ca_id = ca.issuing_id;
	if (gateway_issue(&is, tmp, &ca, e) != 0)
		goto out;

	signer_stop(signer);
	signer = NULL;

	/* The directory complete, into place; then the name claimed, with
	 * its audit row, only if no other join took it meanwhile. */
	{
		char now[24];
		json_t *o_detail = json_pack("{s:s, s:s, s:s}", "issuing_sha256", ca.issuing_fp,
					     "key", o->issuing_token != NULL ? "shared token" :
					     "own issuing CA", "names", (const char *)b.data);
		struct store_audit_new row = { o->actor, "join", name, NULL };

		snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
		detail = o_detail != NULL ? json_dumps(o_detail, JSON_COMPACT) : NULL;
		json_decref(o_detail);
		snprintf(key, sizeof(key), "gateway:%s", name);
		if (detail == NULL) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			goto out;
		}
		row.detail = detail;
		/* Replaces DIR if it is an empty directory; fails if it
		 * filled up meanwhile. */
		if (rename(tmp, o->dir) != 0) {
			lerr_set(e, LERR_INTERNAL, "cannot move the new state into %s: %s", o->dir,
				 strerror(errno));
			goto out;
		}
		*moved = 1;
		if (store_setting_swap(s, key, NULL, now, &row, 1, e) != 0) {
			if (e->code == LERR_CONFLICT)
				lerr_set(e, LERR_CONFLICT, "a gateway named %s joined the site "
					 "meanwhile: choose another --name", name);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0 && *moved) {
		fileio_remove_tree(o->dir);
		*moved = 0;
	}
	/* A CA recorded for a join that did not finish: retired, so that
	 * neither a later join of the name nor anyone else takes it. */
	if (rc != 0 && own_ca != 0 && store_ca_retire_gateway(s, name, own_ca, o->actor, &why) != 0)
		log_warn("cannot retire the issuing CA recorded for %s: %s", name, why.msg);
	free(detail);
	free(joined);
	signer_stop(signer);
	ca_set_free(&ca);
	store_close(s);
	policy_free(&pol);
	names_free(&gw);
	buf_free(&b);
	return rc;
}

int
state_join(const struct state_join_opts *o, struct lerr *e)
{
	char tmp[STATE_PATH_MAX], parent[STATE_PATH_MAX];
	int rc = -1, made = 0, moved = 0;

	if (o->dir == NULL || o->store_url == NULL || o->actor == NULL ||
	    (o->issuing_token == NULL) == (o->site_root_key == NULL))
		return lerr_set(e, LERR_BAD_REQUEST, "join needs --store, and --issuing-key or "
				"--site-root-key");
	if (init_dir_free(o->dir, e) != 0 || dburl_check(o->store_url, e) != 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.join-XXXXXX", o->dir) >= (int)sizeof(tmp))
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (mkdtemp(tmp) == NULL)
		return lerr_set(e, LERR_INTERNAL, "cannot create a directory beside %s: %s",
				o->dir, strerror(errno));
	made = 1;
	if (chmod(tmp, 0700) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot make %s private: %s", tmp, strerror(errno));
		goto out;
	}
	rc = join_build(o, tmp, &moved, e);
	if (moved)
		made = 0;
	if (rc != 0)
		goto out;
	rc = -1;
	snprintf(parent, sizeof(parent), "%s", o->dir);
	if (fileio_sync_dir(dirname(parent)) != 0)
		log_warn("cannot sync the directory holding %s", o->dir);
	rc = 0;
out:
	if (made)
		fileio_remove_tree(tmp);
	return rc;
}
