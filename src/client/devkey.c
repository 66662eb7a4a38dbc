/*
 * devkey.c - the device's private key, in a file or a PKCS#11 token (see
 * devkey.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"

/* ---- the --key URL ---- */

int
devkey_token_parse(const char *arg, struct p11key_ref *t)
{
	struct lerr e;

	lerr_clear(&e);
	if (p11key_url_parse("--key", arg, t, &e) != 0) {
		client_msg("%s", e.msg);
		return -1;
	}
	return 0;
}

/* ---- the record ---- */

/* The absolute path of the existing regular file path (what names it:
 * opt) into out (PATH_MAX bytes). Symbolic links stay as they are: a
 * module's link follows the library's upgrades. */
static int
devkey_abs(const char *opt, const char *path, char *out)
{
	char cwd[PATH_MAX];
	struct stat st;
	int w;

	if (stat(path, &st) != 0) {
		client_msg("%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		client_msg("%s %s: not a regular file", opt, path);
		return -1;
	}
	if (path[0] == '/') {
		w = snprintf(out, PATH_MAX, "%s", path);
	} else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		client_msg("%s %s: the current directory: %s", opt, path, strerror(errno));
		return -1;
	} else {
		w = snprintf(out, PATH_MAX, "%s/%s", cwd, path);
	}
	if (w < 0 || w >= PATH_MAX) {
		client_msg("%s %s: path too long", opt, path);
		return -1;
	}
	return 0;
}

int
devkey_token_paths(const char *pin_file, const char *module, struct p11key_ref *t)
{
	if (pin_file != NULL && devkey_abs("--pin-file", pin_file, t->pin_file) != 0)
		return -1;
	if (module != NULL && devkey_abs("--pkcs11-module", module, t->module) != 0)
		return -1;
	return 0;
}

int
devkey_token_write(const struct p11key_ref *t, const char *dir, const char *name)
{
	char text[P11KEY_RECORD_MAX];
	struct lerr e;
	long w;

	lerr_clear(&e);
	w = p11key_record_format(t, text, sizeof(text), &e);
	if (w < 0) {
		client_msg("%s/%s: %s", dir, name, e.msg);
		return -1;
	}
	return device_file_write(dir, name, text, (size_t)w, 0600);
}

/* Whether dir/name (name alone when dir is NULL) may be believed
 * (p11key_file_trusted). 0, or -1 said with what. */
static int
devkey_trusted(const char *dir, const char *name, const char *what)
{
	char path[PATH_MAX];
	struct lerr e;

	if (dir != NULL ? snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) :
			  snprintf(path, sizeof(path), "%s", name) >= (int)sizeof(path)) {
		client_msg("%s: path too long", what);
		return -1;
	}
	lerr_clear(&e);
	if (p11key_file_trusted(what, path, &e) != 0) {
		client_msg("%s", e.msg);
		return -1;
	}
	return 0;
}

int
devkey_token_read(const char *dir, const char *name, struct p11key_ref *t)
{
	gnutls_datum_t d = { NULL, 0 };
	char what[PATH_MAX + 8];
	struct lerr e;
	int rc = -1;

	/* The record names a library this program loads: only one its own
	 * user made, that nobody else may write, is believed. */
	if (devkey_trusted(dir, name, "the token key record") != 0 ||
	    device_file_read(dir, name, P11KEY_RECORD_MAX, 0, &d) != 0)
		return -1;
	snprintf(what, sizeof(what), "%s/%s", dir, name);
	lerr_clear(&e);
	if (p11key_record_parse(what, d.data, d.size, t, &e) != 0) {
		client_msg("%s", e.msg);
		goto out;
	}
	if (t->module[0] != '\0' && devkey_trusted(NULL, t->module, "the PKCS#11 module") != 0)
		goto out;
	rc = 0;
out:
	device_file_free(&d, 0);
	return rc;
}

/* ---- file keys ---- */

int
devkey_generate(struct devkey *k)
{
	int g;

	k->token = 0;
	if ((g = gnutls_privkey_init(&k->priv)) < 0) {
		client_msg("key: %s", gnutls_strerror(g));
		k->priv = NULL;
		return -1;
	}
	g = gnutls_privkey_generate2(k->priv, GNUTLS_PK_ECDSA,
				     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
	if (g < 0) {
		client_msg("key generation: %s", gnutls_strerror(g));
		devkey_free(k);
		return -1;
	}
	return 0;
}

int
devkey_load_file(const char *dir, const char *name, struct devkey *k)
{
	gnutls_datum_t d = { NULL, 0 };
	int g, rc = -1;

	k->priv = NULL;
	k->token = 0;
	if (device_file_read(dir, name, CLIENT_MAX_KEY, 1, &d) != 0)
		goto out;
	if ((g = gnutls_privkey_init(&k->priv)) < 0 ||
	    (g = gnutls_privkey_import_x509_raw(k->priv, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		client_msg("%s/%s: %s", dir, name, gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		devkey_free(k);
	device_file_free(&d, 1);
	return rc;
}

int
devkey_write_file(const struct devkey *k, const char *dir, const char *name)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_datum_t d = { NULL, 0 };
	int g, rc = -1;

	if ((g = gnutls_privkey_export_x509(k->priv, &x)) < 0 ||
	    (g = gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
						   &d)) < 0) {
		client_msg("key export: %s", gnutls_strerror(g));
		goto out;
	}
	if (device_file_write(dir, name, d.data, d.size, 0600) != 0)
		goto out;
	rc = 0;
out:
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
	}
	if (x != NULL)
		gnutls_x509_privkey_deinit(x);
	return rc;
}

/* ---- token keys ---- */

/* The PIN file's contents, while token keys are open (p11key_pin_set
 * borrows it), and how many are. */
static gnutls_datum_t devkey_pin;
static int devkey_tokens;

static void
devkey_pkcs11_stop(void)
{
	if (devkey_tokens == 0 || --devkey_tokens > 0)
		return;
	p11key_pin_set(NULL, 0);
	p11key_stop();
	device_file_free(&devkey_pin, 1);
}

int
devkey_token_open(const struct p11key_ref *t, int create, struct devkey *k, int *made)
{
	static const struct p11key_gen p256 = {
		GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
		GNUTLS_KEY_DIGITAL_SIGNATURE
	};
	struct lerr e;
	size_t n;

	k->priv = NULL;
	k->token = 1;
	lerr_clear(&e);
	if (p11key_start(t->module, &e) != 0) {
		client_msg("%s", e.msg);
		return -1;
	}
	devkey_tokens++;
	if (t->pin_file[0] != '\0' && devkey_pin.data == NULL) {
		if (device_secret_read("--pin-file", "PIN", t->pin_file, 1, P11KEY_PIN_MAX,
				       &devkey_pin, &n) != 0)
			goto fail;
		p11key_pin_set(devkey_pin.data, n);
	}
	if (p11key_open(t, create ? &p256 : NULL, &k->priv, made, &e) != 0) {
		client_msg("%s", e.msg);
		goto fail;
	}
	return 0;
fail:
	devkey_pkcs11_stop();
	return -1;
}

int
devkey_load_dir(const char *dir, const struct p11key_ref *over, struct devkey *k)
{
	struct p11key_ref t;

	k->priv = NULL;
	k->token = 0;
	if (device_file_exists(dir, DEVKEY_TOKEN_FILE)) {
		memset(&t, 0, sizeof(t));
		if (devkey_token_read(dir, DEVKEY_TOKEN_FILE, &t) != 0)
			return -1;
		if (over != NULL && over->pin_file[0] != '\0')
			memcpy(t.pin_file, over->pin_file, sizeof(t.pin_file));
		if (over != NULL && over->module[0] != '\0')
			memcpy(t.module, over->module, sizeof(t.module));
		return devkey_token_open(&t, 0, k, NULL);
	}
	if (!device_file_exists(dir, DEVKEY_FILE))
		return 1;
	if (over != NULL && (over->pin_file[0] != '\0' || over->module[0] != '\0')) {
		client_msg("--pin-file and --pkcs11-module are for a key in a token; %s/%s is a file",
			   dir, DEVKEY_FILE);
		return -1;
	}
	return devkey_load_file(dir, DEVKEY_FILE, k);
}

int
devkey_in_dir(const char *dir)
{
	return device_file_exists(dir, DEVKEY_TOKEN_FILE) || device_file_exists(dir, DEVKEY_FILE);
}

int
devkey_key_id(gnutls_privkey_t key, unsigned char *id, size_t *len)
{
	gnutls_pubkey_t pub = NULL;
	int g, rc = -1;

	if ((g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, key, 0, 0)) < 0 ||
	    (g = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id, len)) < 0)
		goto out;
	rc = 0;
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

void
devkey_free(struct devkey *k)
{
	if (k == NULL || k->priv == NULL)
		return;
	gnutls_privkey_deinit(k->priv);
	k->priv = NULL;
	if (k->token)
		devkey_pkcs11_stop();
}
