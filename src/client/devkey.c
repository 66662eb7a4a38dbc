/*
 * devkey.c - the device's private key, in a file or a PKCS#11 token (see
 * devkey.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "common/hex.h"
#include "client/device.h"
#include "client/devkey.h"

/* ---- the --key URL ---- */

/* Decodes the n percent-escaped bytes at s into out (size max). Returns
 * the decoded length, or -1 (bad escape, too long). */
static long
devkey_unescape(const char *s, size_t n, unsigned char *out, size_t max)
{
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (k == max)
			return -1;
		if (s[i] != '%') {
			out[k++] = (unsigned char)s[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		hi = hex_digit(s[i + 1]);
		lo = hex_digit(s[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		out[k++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return (long)k;
}

/* Whether the attribute at a (n bytes, "name=value") is called name. */
static int
devkey_attr_is(const char *a, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n > l && strncmp(a, name, l) == 0 && a[l] == '=';
}

int
devkey_token_parse(const char *arg, struct devkey_token *t)
{
	const char *p, *end, *q, *a;
	size_t n, len, rl = 0;
	long dl;
	unsigned char tmp[DEVKEY_URL_MAX];
	int path_part = 1, named = 0, first_q = 1;

	t->url[0] = t->record[0] = t->label[0] = '\0';
	t->id_len = 0;
	t->pin_in_url = 0;
	/* Nothing of the argument is quoted back: it may hold a PIN. The
	 * scheme is case-insensitive (RFC 3986); GnuTLS is given it as
	 * "pkcs11:" (below). */
	if (strncasecmp(arg, "pkcs11:", 7) != 0) {
		client_msg("--key: not a pkcs11: URL (RFC 7512), such as "
			   "pkcs11:token=NAME;object=LABEL");
		return -1;
	}
	len = strlen(arg);
	if (len >= sizeof(t->url)) {
		client_msg("--key: the URL is longer than %d bytes", DEVKEY_URL_MAX - 1);
		return -1;
	}
	for (p = arg; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			client_msg("--key: the URL holds a space, a control character or a "
				   "non-ASCII byte (percent-encode it)");
			return -1;
		}
	}
	memcpy(t->url, arg, len + 1);
	memcpy(t->url, "pkcs11:", 7);
	memcpy(t->record, "pkcs11:", 7);
	rl = 7;
	/* pkcs11:path-attr;path-attr?query-attr&query-attr */
	for (p = arg + 7; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		if (path_part) {
			end = p + strcspn(p, ";?");
		} else {
			end = p + strcspn(p, "&");
		}
		a = p;
		n = (size_t)(end - p);
		q = memchr(a, '=', n);
		if (n > 0 && q == NULL) {
			client_msg("--key: an attribute has no '=value'");
			goto fail;
		}
		/* A PIN belongs in the query (RFC 7512 section 2.3), where it is
		 * kept out of the record; in the path it would be written down. */
		if (path_part && (devkey_attr_is(a, n, "pin-value") ||
				  devkey_attr_is(a, n, "pin-source"))) {
			client_msg("--key: pin-value and pin-source go after '?', not in the path");
			goto fail;
		}
		if (n > 0) {
			dl = devkey_unescape(q + 1, n - (size_t)(q + 1 - a), tmp, sizeof(tmp));
			if (dl < 0) {
				client_msg("--key: attribute '%.*s' has a bad percent-escape",
					   (int)(q - a), a);
				goto fail;
			}
		} else {
			dl = 0;
		}
		if (path_part && devkey_attr_is(a, n, "object")) {
			if ((size_t)dl >= sizeof(t->label) || memchr(tmp, '\0', (size_t)dl) != NULL) {
				client_msg("--key: object= is too long or holds a NUL byte");
				goto fail;
			}
			memcpy(t->label, tmp, (size_t)dl);
			t->label[dl] = '\0';
			named = dl > 0;
		} else if (path_part && devkey_attr_is(a, n, "id")) {
			if ((size_t)dl > sizeof(t->id)) {
				client_msg("--key: id= is longer than %d bytes", DEVKEY_ID_MAX);
				goto fail;
			}
			memcpy(t->id, tmp, (size_t)dl);
			t->id_len = (size_t)dl;
			named = named || dl > 0;
		} else if (path_part && devkey_attr_is(a, n, "type")) {
			if (dl != 7 || memcmp(tmp, "private", 7) != 0) {
				client_msg("--key: type=%.*s: the device key is a private key "
					   "(type=private, or no type=)", (int)dl, (const char *)tmp);
				goto fail;
			}
		} else if (!path_part &&
			   (devkey_attr_is(a, n, "pin-value") || devkey_attr_is(a, n, "pin-source"))) {
			t->pin_in_url = 1;
		}
		/* The record keeps everything but the PIN itself. */
		if (!(!path_part && devkey_attr_is(a, n, "pin-value")) && n > 0) {
			if (!path_part)
				t->record[rl++] = first_q ? '?' : '&';
			else if (rl > 7)
				t->record[rl++] = ';';
			memcpy(t->record + rl, a, n);
			rl += n;
			if (!path_part)
				first_q = 0;
		}
		if (path_part && *end == '?')
			path_part = 0;
	}
	t->record[rl] = '\0';
	if (!named) {
		client_msg("--key %s: name the key with object=LABEL or id=%%XX... "
			   "(it is found or made under that name)", t->record);
		goto fail;
	}
	gnutls_memset(tmp, 0, sizeof(tmp));
	return 0;
fail:
	/* tmp may hold a decoded pin-value; t->url the URL with it. */
	gnutls_memset(tmp, 0, sizeof(tmp));
	gnutls_memset(t->url, 0, sizeof(t->url));
	return -1;
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
devkey_token_paths(const char *pin_file, const char *module, struct devkey_token *t)
{
	if (pin_file != NULL && devkey_abs("--pin-file", pin_file, t->pin_file) != 0)
		return -1;
	if (module != NULL && devkey_abs("--pkcs11-module", module, t->module) != 0)
		return -1;
	return 0;
}

/* Whether s can stand on one line of the record. */
static int
devkey_line_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
devkey_token_write(const struct devkey_token *t, const char *dir, const char *name)
{
	char text[DEVKEY_URL_MAX + 2 * PATH_MAX + 64];
	int w;

	if (!devkey_line_ok(t->module) || !devkey_line_ok(t->pin_file)) {
		client_msg("a --pkcs11-module or --pin-file path holds a control character");
		return -1;
	}
	w = snprintf(text, sizeof(text), "url=%s\n%s%s%s%s%s%s", t->record,
		     t->module[0] != '\0' ? "module=" : "", t->module, t->module[0] != '\0' ? "\n" : "",
		     t->pin_file[0] != '\0' ? "pin-file=" : "", t->pin_file,
		     t->pin_file[0] != '\0' ? "\n" : "");
	if (w < 0 || (size_t)w >= sizeof(text)) {
		client_msg("%s/%s: too long", dir, name);
		return -1;
	}
	return device_file_write(dir, name, text, (size_t)w, 0600);
}

/* Copies the value at v (n bytes) into out (size max) as a string. */
static int
devkey_copy(char *out, size_t max, const char *v, size_t n)
{
	if (n >= max || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* Whether dir/name (name alone when dir is NULL; symbolic links
 * followed) is a regular file of this user's or root's that no group or
 * other may write. 0, or -1 said with what. */
static int
devkey_trusted(const char *dir, const char *name, const char *what)
{
	char path[PATH_MAX];
	struct stat st;

	if (dir != NULL ? snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) :
			  snprintf(path, sizeof(path), "%s", name) >= (int)sizeof(path)) {
		client_msg("%s: path too long", what);
		return -1;
	}
	if (stat(path, &st) != 0) {
		client_msg("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022) != 0) {
		client_msg("%s %s: not a file of this user's (or root's) that only its owner "
			   "may write: refused", what, path);
		return -1;
	}
	return 0;
}

int
devkey_token_read(const char *dir, const char *name, struct devkey_token *t)
{
	gnutls_datum_t d = { NULL, 0 };
	char url[DEVKEY_URL_MAX] = "", module[PATH_MAX] = "", pin[PATH_MAX] = "";
	const char *p, *end, *lim;
	size_t n;
	int rc = -1, bad = 0;

	/* The record names a library this program loads: only one its own
	 * user made, that nobody else may write, is believed. */
	if (devkey_trusted(dir, name, "the token key record") != 0 ||
	    device_file_read(dir, name, 4 * PATH_MAX, 0, &d) != 0)
		return -1;
	lim = (const char *)d.data + d.size;
	for (p = (const char *)d.data; p < lim && !bad; p = end + 1) {
		end = memchr(p, '\n', (size_t)(lim - p));
		if (end == NULL) {
			bad = 1;	/* every line ends in a newline */
			break;
		}
		n = (size_t)(end - p);
		if (n > 4 && strncmp(p, "url=", 4) == 0)
			bad = devkey_copy(url, sizeof(url), p + 4, n - 4) != 0 || url[0] == '\0';
		else if (n > 7 && strncmp(p, "module=", 7) == 0)
			bad = devkey_copy(module, sizeof(module), p + 7, n - 7) != 0;
		else if (n > 9 && strncmp(p, "pin-file=", 9) == 0)
			bad = devkey_copy(pin, sizeof(pin), p + 9, n - 9) != 0;
		else
			bad = 1;
	}
	if (bad || url[0] == '\0' || (module[0] != '\0' && module[0] != '/') ||
	    (pin[0] != '\0' && pin[0] != '/')) {
		client_msg("%s/%s: not a token key record (url=, and absolute module= and "
			   "pin-file= lines)", dir, name);
		goto out;
	}
	if (module[0] != '\0' && devkey_trusted(NULL, module, "the PKCS#11 module") != 0)
		goto out;
	if (devkey_token_parse(url, t) != 0) {
		client_msg("%s/%s: the recorded URL is not usable", dir, name);
		goto out;
	}
	memcpy(t->module, module, sizeof(module));
	memcpy(t->pin_file, pin, sizeof(pin));
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

/* The PIN GnuTLS asks for through devkey_pin_cb, and what happened when it
 * asked: GnuTLS's PIN callback is one for the process. */
static struct {
	unsigned char *pin;		/* NUL-terminated; NULL: none */
	size_t len;
	gnutls_datum_t read;		/* the file in locked memory: device_file_free */
	int missing;			/* asked when there was none */
	int refused;			/* asked again: the token refused it */
} devkey_pin;
static int devkey_pkcs11_users;		/* open token keys holding gnutls_pkcs11_init */

static int
devkey_pin_cb(void *userdata, int attempt, const char *token_url, const char *token_label,
	      unsigned int flags, char *pin, size_t pin_max)
{
	(void)userdata;
	(void)attempt;
	(void)token_url;
	(void)token_label;
	if (flags & GNUTLS_PIN_WRONG) {
		devkey_pin.refused = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (devkey_pin.pin == NULL) {
		devkey_pin.missing = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (devkey_pin.len >= pin_max)
		return GNUTLS_E_PKCS11_PIN_ERROR;
	memcpy(pin, devkey_pin.pin, devkey_pin.len + 1);
	return 0;
}

static void
devkey_pin_clear(void)
{
	device_file_free(&devkey_pin.read, 1);
	gnutls_memset(&devkey_pin, 0, sizeof(devkey_pin));
}

/* Reads the PIN file (device_secret_read's rules) into devkey_pin. */
static int
devkey_pin_read(const char *path)
{
	gnutls_datum_t d;
	size_t n;

	if (device_secret_read("--pin-file", "PIN", path, 1, DEVKEY_PIN_MAX, &d, &n) != 0)
		return -1;
	devkey_pin.pin = d.data;
	devkey_pin.len = n;
	devkey_pin.read = d;
	return 0;
}

/* Explains a failed token operation g on t (what: "opening", "making"). */
static void
devkey_token_error(const struct devkey_token *t, const char *what, int g)
{
	if (devkey_pin.missing)
		client_msg("%s: the token wants a PIN: give --pin-file FILE (or pin-source= in the URL)",
			   t->record);
	else if (devkey_pin.refused || g == GNUTLS_E_PKCS11_PIN_ERROR)
		client_msg("%s: the token refused the PIN (%s)", t->record,
			   t->pin_file[0] != '\0' ? t->pin_file : "given in the URL");
	else
		client_msg("%s: %s the key: %s", t->record, what, gnutls_strerror(g));
}

/* Loads the PKCS#11 layer: t's module alone, or p11-kit's modules. */
static int
devkey_pkcs11_start(const struct devkey_token *t)
{
	int g;

	if (devkey_pkcs11_users++ > 0)
		return 0;
	g = gnutls_pkcs11_init(t->module[0] != '\0' ? GNUTLS_PKCS11_FLAG_MANUAL :
			       GNUTLS_PKCS11_FLAG_AUTO, NULL);
	if (g < 0) {
		client_msg("PKCS#11: %s", gnutls_strerror(g));
		goto fail;
	}
	if (t->module[0] != '\0' && (g = gnutls_pkcs11_add_provider(t->module, NULL)) < 0) {
		client_msg("--pkcs11-module %s: cannot load it: %s", t->module, gnutls_strerror(g));
		gnutls_pkcs11_deinit();
		goto fail;
	}
	gnutls_pkcs11_set_pin_function(devkey_pin_cb, NULL);
	return 0;
fail:
	devkey_pkcs11_users--;
	return -1;
}

static void
devkey_pkcs11_stop(void)
{
	if (devkey_pkcs11_users == 0 || --devkey_pkcs11_users > 0)
		return;
	gnutls_pkcs11_deinit();
	devkey_pin_clear();
}

/* Whether the device can use priv (see devkey.h). */
static int
devkey_usable(gnutls_privkey_t priv, const struct devkey_token *t)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
	unsigned bits = 0;
	int pk, g, rc = -1;

	if ((g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0) {
		client_msg("%s: cannot read the key's public half: %s", t->record, gnutls_strerror(g));
		goto out;
	}
	pk = gnutls_pubkey_get_pk_algorithm(pub, &bits);
	if (pk == GNUTLS_PK_ECDSA) {
		/* A token key's size comes with its curve, not from bits. */
		if (gnutls_pubkey_export_ecc_raw(pub, &curve, &x, &y) < 0)
			curve = GNUTLS_ECC_CURVE_INVALID;
		gnutls_free(x.data);
		gnutls_free(y.data);
		bits = gnutls_ecc_curve_get_size(curve) * 8;
		if (curve == GNUTLS_ECC_CURVE_SECP256R1 || curve == GNUTLS_ECC_CURVE_SECP384R1) {
			rc = 0;
			goto out;
		}
	} else if (pk == GNUTLS_PK_RSA && bits >= 2048) {
		rc = 0;
		goto out;
	}
	client_msg("%s: an unsupported key (%s, %u bits): the device takes ECDSA P-256 or P-384, "
		   "or RSA of 2048 bits or more", t->record,
		   gnutls_pk_get_name((gnutls_pk_algorithm_t)pk) != NULL ?
		   gnutls_pk_get_name((gnutls_pk_algorithm_t)pk) : "unknown", bits);
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

int
devkey_token_open(const struct devkey_token *t, int create, struct devkey *k, int *made)
{
	gnutls_datum_t label_id = { NULL, 0 }, pub = { NULL, 0 };
	unsigned flags, tflags;
	int g, rc = -1, started = 0;

	k->priv = NULL;
	k->token = 1;
	if (made != NULL)
		*made = 0;
	if (devkey_pkcs11_start(t) != 0)
		goto out;
	started = 1;
	if (t->pin_file[0] != '\0' && devkey_pin.pin == NULL && devkey_pin_read(t->pin_file) != 0)
		goto out;
	devkey_pin.missing = devkey_pin.refused = 0;
	/* gnutls_pkcs11_token_get_info answers from the URL alone; the
	 * flags come from a token that matches it. */
	g = gnutls_pkcs11_token_get_flags(t->url, &tflags);
	if (g < 0) {
		client_msg("%s: no PKCS#11 token matches it%s: %s", t->record,
			   t->module[0] != '\0' ? " in --pkcs11-module" : " (is the module in p11-kit's "
			   "configuration, or give --pkcs11-module)", gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_privkey_init(&k->priv)) < 0) {
		client_msg("key: %s", gnutls_strerror(g));
		goto out;
	}
	g = gnutls_privkey_import_url(k->priv, t->url, 0);
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && create) {
		gnutls_privkey_deinit(k->priv);
		k->priv = NULL;
		/* Sensitive and never extractable (GnuTLS marks a new key
		 * extractable only when asked): the key stays in the token. */
		flags = GNUTLS_PKCS11_OBJ_FLAG_LOGIN | GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE |
			GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE;
		label_id.data = (unsigned char *)(uintptr_t)t->id;
		label_id.size = (unsigned)t->id_len;
		g = gnutls_pkcs11_privkey_generate3(t->url, GNUTLS_PK_ECDSA,
						    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						    t->label[0] != '\0' ? t->label : NULL,
						    t->id_len > 0 ? &label_id : NULL,
						    GNUTLS_X509_FMT_DER, &pub,
						    GNUTLS_KEY_DIGITAL_SIGNATURE, flags);
		gnutls_free(pub.data);
		if (g < 0) {
			devkey_token_error(t, "making", g);
			goto out;
		}
		if (made != NULL)
			*made = 1;
		if ((g = gnutls_privkey_init(&k->priv)) < 0) {
			client_msg("key: %s", gnutls_strerror(g));
			goto out;
		}
		g = gnutls_privkey_import_url(k->priv, t->url, 0);
	}
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		client_msg("%s: the token holds no private key of that name", t->record);
		goto out;
	}
	if (g < 0) {
		devkey_token_error(t, "opening", g);
		goto out;
	}
	if (devkey_usable(k->priv, t) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		if (k->priv != NULL)
			gnutls_privkey_deinit(k->priv);
		k->priv = NULL;
		if (started)
			devkey_pkcs11_stop();
	}
	return rc;
}

int
devkey_load_dir(const char *dir, const struct devkey_token *over, struct devkey *k)
{
	struct devkey_token t;

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
