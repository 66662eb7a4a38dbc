/*
 * init.c - `lanca init`: the CA hierarchy and a whole state directory,
 * created atomically (see init.h).
 *
 * state_init builds everything in a sibling directory DIR.init-XXXXXX and
 * renames it onto DIR only when complete, so an init that fails (or is
 * killed) half-way leaves no state directory that looks usable. The
 * signer's own files (keys, chain, settings: signer/files.h) are written
 * there before the first certificate, the gateway's, is issued through
 * the same signing core as every other.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "common/dburl.h"
#include "common/fileio.h"
#include "ca/policy.h"
#include "ca/x509.h"
#include "daemon/auth.h"
#include "daemon/gateway.h"
#include "daemon/auditlog.h"
#include "daemon/backuproot.h"
#include "daemon/init.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "signer/files.h"
#include "signer/signer.h"
#include "store/store.h"

#define YEAR_S	(365L * 24 * 3600 + 6 * 3600)	/* a Julian year */

int
init_dir_free(const char *path, struct lerr *e)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int used = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 :
		       lerr_set(e, LERR_INTERNAL, "cannot inspect %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lerr_set(e, LERR_CONFLICT, "%s exists and is not a directory", path);
	dir = opendir(path);
	if (dir == NULL)
		return lerr_set(e, LERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			used = 1;
	closedir(dir);
	if (used)
		return lerr_set(e, LERR_CONFLICT,
				"%s already holds a state directory (not empty): refusing to overwrite it",
				path);
	return 0;
}

const char *
init_hostname(char *out, size_t n)
{
	size_t i;

	if (gethostname(out, n) != 0)
		return NULL;
	out[n - 1] = '\0';
	out[strcspn(out, ".")] = '\0';
	for (i = 0; out[i] != '\0'; i++) {
		out[i] = (char)tolower((unsigned char)out[i]);
		if (!isalnum((unsigned char)out[i]) && out[i] != '-')
			return NULL;
	}
	return i > 0 && i <= 63 ? out : NULL;
}

/* The gateway's names: --san values, HOSTNAME.local, localhost, loopback. */
int
init_gateway_names(const char *const *sans, size_t nsans, const char *host, struct names *n,
		   struct lerr *e)
{
	static const char *const fixed[] = { "localhost", "127.0.0.1", "::1" };
	char local[80];
	struct ipnet ip;
	size_t i;

	for (i = 0; i < nsans; i++) {
		if (ipnet_parse(sans[i], &ip) == 0) {
			if (ip.prefix != ip.len * 8 || names_add_ip(n, &ip) != 0)
				return lerr_set(e, LERR_BAD_NAME, "bad --san address %s", sans[i]);
		} else if (names_add_dns(n, sans[i]) != 0) {
			return lerr_set(e, LERR_BAD_NAME, "bad --san name %s", sans[i]);
		}
	}
	if (host != NULL && snprintf(local, sizeof(local), "%s.local", host) < (int)sizeof(local) &&
	    names_add_dns(n, local) != 0)
		return lerr_set(e, LERR_TOO_LARGE, "too many gateway names");
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (ipnet_parse(fixed[i], &ip) == 0 ? names_add_ip(n, &ip) != 0 :
		    names_add_dns(n, fixed[i]) != 0)
			return lerr_set(e, LERR_TOO_LARGE, "too many gateway names");
	}
	return 0;
}

/* Generates a CA key, writes it, and gives back its private handle; or,
 * with token, opens or makes the key there and writes its record. */
static int
init_make_key(const char *dir, const char *rel, const struct state_init_opts *o,
	      const struct p11key_ref *token, int *made, gnutls_privkey_t *out, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	gnutls_x509_privkey_t x = NULL;
	int rc = -1;

	if (state_path(path, dir, rel) != 0) {
		lerr_set(e, LERR_INTERNAL, "path too long");
		goto out;
	}
	if (token != NULL) {
		rc = keystore_token_make(path, token, o->key_type, out, made, e);
		goto out;
	}
	if (keystore_generate(o->key_type, &x, e) != 0 ||
	    keystore_write(path, x, o->passphrase, e) != 0)
		goto out;
	if (gnutls_privkey_init(out) != 0 ||
	    gnutls_privkey_import_x509(*out, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot use the new key");
		goto out;
	}
	x = NULL;	/* now owned by *out */
	rc = 0;
out:
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);
	return rc;
}

/* Whether key's public half is pub. */
static int
init_same_key(gnutls_privkey_t key, gnutls_pubkey_t pub)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	gnutls_pubkey_t kp = NULL;
	int same;

	if (gnutls_pubkey_init(&kp) < 0)
		return 0;
	same = gnutls_pubkey_import_privkey(kp, key, 0, 0) >= 0 &&
	       gnutls_pubkey_get_key_id(kp, GNUTLS_KEYID_USE_SHA256, a, &alen) >= 0 &&
	       gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, b, &blen) >= 0 &&
	       alen == blen && memcmp(a, b, alen) == 0;
	gnutls_pubkey_deinit(kp);
	return same;
}

/* Records a CA certificate in the store. */
static int
init_record_ca(struct store *s, const char *role, gnutls_x509_crt_t crt, int64_t *id,
		struct lerr *e)
{
	gnutls_datum_t der = { NULL, 0 };
	char fp[65], subject[256];
	int rc = -1;

	if (x509_export_der(crt, &der) != 0 || x509_fingerprint(crt, fp) != 0 ||
	    x509_subject(crt, subject, sizeof(subject)) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot encode the %s CA", role);
		goto out;
	}
	rc = store_ca_insert(s, role, subject, fp, gnutls_x509_crt_get_activation_time(crt),
			     gnutls_x509_crt_get_expiration_time(crt), der.data, der.size, id, e);
out:
	gnutls_free(der.data);
	return rc;
}

int
init_root_pem(const char *dir, gnutls_x509_crt_t root, struct lerr *e)
{
	char path[STATE_PATH_MAX];
	gnutls_datum_t pem = { NULL, 0 };
	int rc;

	if (state_path(path, dir, STATE_ROOT_PEM) != 0)
		return lerr_set(e, LERR_INTERNAL, "state directory path too long");
	if (x509_export_pem(root, &pem) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode the root");
	rc = fileio_write_atomic(path, pem.data, pem.size, 0644, 1, e);
	gnutls_free(pem.data);
	return rc;
}

/* Everything init creates, inside the temporary directory tmp. */
static int
init_build(const struct state_init_opts *o, const char *tmp, char setup_code[AUTH_SETUP_CODE_SIZE],
	   int *backup_made, struct lerr *e)
{
	char path[STATE_PATH_MAX], host_buf[64], cn[512], fp[65];
	const char *host, *name;
	gnutls_privkey_t root_key = NULL, issuing_key = NULL;
	gnutls_pubkey_t issuing_pub = NULL;
	gnutls_x509_crt_t root = NULL, issuing = NULL;
	unsigned char root_serial[X509_SERIAL_LEN], issuing_serial[X509_SERIAL_LEN];
	struct x509_ca_params cp;
	struct store *s = NULL;
	struct signer *signer = NULL;
	struct signer_conf conf;
	struct policy pol;
	struct ca_set ca;
	struct issuer is;
	struct names gw;
	struct buf b;
	int64_t root_id, issuing_id;
	time_t now = time(NULL);
	json_t *detail = NULL;
	char *detail_text = NULL;
	int rc = -1;

	memset(&pol, 0, sizeof(pol));
	memset(&ca, 0, sizeof(ca));
	names_init(&gw);
	buf_init(&b, 16 * 1024);
	host = init_hostname(host_buf, sizeof(host_buf));
	name = o->name != NULL ? o->name : host != NULL ? host : "lanca";
	if (strlen(name) > 64) {
		lerr_set(e, LERR_BAD_NAME, "--name is longer than 64 characters");
		goto out;
	}

	if (policy_init(&pol, o->domains, o->ndomains, o->nets, o->nnets, e) != 0 ||
	    init_gateway_names(o->sans, o->nsans, host, &gw, e) != 0)
		goto out;
	if (state_path(path, tmp, SIGNER_KEYS_DIR) != 0 || mkdir(path, 0700) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	/* store.url first: the store is opened the way every later command
	 * opens it. */
	if (o->store_url != NULL && state_store_url_write(tmp, o->store_url, e) != 0)
		goto out;
	if (state_store_open(tmp, STORE_CREATE, &s, e) != 0)
		goto out;
	/* A shared database may hold a site already: a second init there
	 * would make a second root beside it. */
	if (o->store_url != NULL) {
		struct store_ca *held = NULL;
		struct lerr why;

		if (store_ca_active(s, "root", &held, &why) == 0) {
			store_ca_free(held);
			lerr_set(e, LERR_CONFLICT, "the database holds a CA already (a site, or what "
				 "a failed lanca init left there): a gateway of that site is made "
				 "with lanca join; a new site needs an empty database");
			goto out;
		}
		if (why.code != LERR_NOT_FOUND) {
			*e = why;
			goto out;
		}
	}
	if (init_make_key(tmp, SIGNER_ROOT_KEY, o, o->root_token, o->root_made, &root_key, e) != 0 ||
	    init_make_key(tmp, SIGNER_ISSUING_KEY, o, o->issuing_token, o->issuing_made, &issuing_key,
			  e) != 0 ||
	    keystore_pubkey(issuing_key, &issuing_pub, e) != 0)
		goto out;
	/* Two URLs may name one object in a token. */
	if (init_same_key(root_key, issuing_pub)) {
		lerr_set(e, LERR_BAD_REQUEST, "--root-key and --issuing-key name the same key in "
			 "the token: each CA needs its own");
		goto out;
	}
	if (store_serial_reserve(s, root_serial, e) != 0 ||
	    store_serial_reserve(s, issuing_serial, e) != 0)
		goto out;

	memset(&cp, 0, sizeof(cp));
	snprintf(cn, sizeof(cn), "%s Root CA", name);
	cp.cn = cn;
	cp.org = "lanca";
	cp.permitted = &pol.permitted;
	cp.pathlen = 1;
	cp.not_before = now - 60;
	cp.not_after = now + POLICY_ROOT_YEARS * YEAR_S;
	cp.serial = root_serial;
	if (x509_make_root(&cp, root_key, &root, e) != 0)
		goto out;
	/* No CN: GnuTLS would check it against the root's constraints as a
	 * DNS name (see x509.h). The unit name carries the label instead. */
	snprintf(cn, sizeof(cn), "%s Issuing CA", name);
	cp.cn = NULL;
	cp.ou = cn;
	cp.pathlen = 0;
	cp.not_after = now + POLICY_ISSUING_YEARS * YEAR_S;
	cp.serial = issuing_serial;
	if (x509_make_ca(&cp, issuing_pub, root, root_key, &issuing, e) != 0)
		goto out;
	if (init_record_ca(s, "root", root, &root_id, e) != 0 ||
	    init_record_ca(s, "issuing", issuing, &issuing_id, e) != 0)
		goto out;

	/* Settings the running service needs later. */
	if (names_format(&gw, &b) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot format the gateway's names");
		goto out;
	}
	snprintf(cn, sizeof(cn), "%s.local", host != NULL ? host : "gateway");
	if (store_setting_set(s, "name", name, e) != 0 ||
	    store_setting_set(s, "gateway_sans", (const char *)b.data, e) != 0 ||
	    store_setting_set(s, "gateway_cn", cn, e) != 0)
		goto out;
	snprintf(cn, sizeof(cn), "http://%s.local/crl", host != NULL ? host : "gateway");
	if (signer_conf_init(&conf, o->crl_url != NULL ? o->crl_url : cn, e) != 0 ||
	    store_setting_set(s, "crl_url", conf.crl_url, e) != 0 ||
	    store_ca_set_crl_url(s, issuing_id, conf.crl_url, e) != 0)
		goto out;
	/* What the signer trusts, beside its keys: never the store. */
	if (signer_files_write(tmp, root, issuing, &conf, 0, e) != 0)
		goto out;

	if (init_root_pem(tmp, root, e) != 0)
		goto out;

	/* The gateway's certificate goes through the same core as any other. */
	if (signer_open_local(tmp, o->passphrase, &signer, e) != 0 ||
	    ca_set_load(s, &ca, e) != 0)
		goto out;
	is.store = s;
	is.signer = signer;
	is.policy = &pol;
	is.ca_id = issuing_id;
	if (gateway_issue(&is, tmp, &ca, e) != 0)
		goto out;

	/* The backup root, while the primary's key is at hand to vouch for it. */
	if (o->backup_key_out != NULL) {
		struct backuproot_opts bo = {
			tmp, name, o->key_type, o->backup_key_out, o->backup_pass,
		};

		if (backuproot_create(s, root, root_key, &bo, NULL, e) != 0)
			goto out;
		*backup_made = 1;
	}

	x509_fingerprint(root, fp);
	detail = json_pack("{s:s, s:s, s:s}", "root_sha256", fp, "root", ca.root_subject,
			   "issuing", ca.issuing_subject);
	detail_text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	if (store_audit(s, "cli", "init", name, detail_text, e) != 0)
		goto out;
	/* Last, so that it is audited after the init it belongs to. */
	if (auth_setup_code_new(s, "cli", setup_code, e) != 0)
		goto out;
	/* The new CA's history signed from its first rows on. */
	if (auditlog_checkpoint(s, signer, (int64_t)now, e) != 0)
		goto out;
	rc = 0;
out:
	(void)root_id;
	free(detail_text);
	json_decref(detail);
	signer_stop(signer);
	ca_set_free(&ca);
	store_close(s);
	if (root_key != NULL)
		gnutls_privkey_deinit(root_key);
	if (issuing_key != NULL)
		gnutls_privkey_deinit(issuing_key);
	gnutls_pubkey_deinit(issuing_pub);
	if (root != NULL)
		gnutls_x509_crt_deinit(root);
	if (issuing != NULL)
		gnutls_x509_crt_deinit(issuing);
	policy_free(&pol);
	names_free(&gw);
	buf_free(&b);
	return rc;
}

int
state_init(const struct state_init_opts *o, char setup_code[AUTH_SETUP_CODE_SIZE], struct lerr *e)
{
	char tmp[STATE_PATH_MAX], parent[STATE_PATH_MAX], code[AUTH_SETUP_CODE_SIZE];
	int fd, rc = -1, made = 0, backup_made = 0;

	if (init_dir_free(o->dir, e) != 0)
		return -1;
	/* Refused before anything is made. */
	if (o->store_url != NULL && dburl_check(o->store_url, e) != 0)
		return -1;
	/* The state directory may exist already (empty): the key file must
	 * not go into it, where the build below would not see it. */
	if (o->backup_key_out != NULL && backuproot_outside(o->dir, o->backup_key_out, e) != 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.init-XXXXXX", o->dir) >= (int)sizeof(tmp))
		return lerr_set(e, LERR_BAD_REQUEST, "state directory path too long");
	if (mkdtemp(tmp) == NULL)
		return lerr_set(e, LERR_INTERNAL, "cannot create a directory beside %s: %s",
				o->dir, strerror(errno));
	made = 1;
	if (chmod(tmp, 0700) != 0 || init_build(o, tmp, code, &backup_made, e) != 0)
		goto out;
	/* Replaces DIR if it is an empty directory; fails if it filled up meanwhile. */
	if (rename(tmp, o->dir) != 0) {
		lerr_set(e, LERR_INTERNAL, "cannot move the new state into %s: %s",
			 o->dir, strerror(errno));
		goto out;
	}
	made = 0;
	snprintf(parent, sizeof(parent), "%s", o->dir);
	fd = open(dirname(parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (setup_code != NULL)
		memcpy(setup_code, code, sizeof(code));
	rc = 0;
out:
	if (made)
		fileio_remove_tree(tmp);
	/* A key file whose root was never installed would only mislead. */
	if (rc != 0 && backup_made)
		unlink(o->backup_key_out);
	sodium_memzero(code, sizeof(code));
	return rc;
}

