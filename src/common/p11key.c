/*
 * p11key.c - private keys in PKCS#11 tokens (see p11key.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

#include "common/hex.h"
#include "common/p11key.h"

/* ---- the URL ---- */

/* Decodes the n percent-escaped bytes at s into out (size max). Returns
 * the decoded length, or -1 (bad escape, too long). */
static long
p11key_unescape(const char *s, size_t n, unsigned char *out, size_t max)
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
p11key_attr_is(const char *a, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n > l && strncmp(a, name, l) == 0 && a[l] == '=';
}

/* Whether the path attribute name (len bytes) appears among those from
 * start up to end (';'-separated). */
static int
p11key_seen(const char *start, const char *end, const char *name, size_t len)
{
	const char *p;

	for (p = start; p < end; p += strcspn(p, ";") + 1)
		if ((size_t)(end - p) > len && strncmp(p, name, len) == 0 && p[len] == '=')
			return 1;
	return 0;
}

int
p11key_url_parse(const char *opt, const char *arg, struct p11key_ref *r, struct lerr *e)
{
	const char *p, *end, *q, *a;
	size_t n, len, rl = 0;
	long dl;
	unsigned char tmp[P11KEY_URL_MAX];
	int path_part = 1, first_q = 1;

	r->url[0] = r->record[0] = r->label[0] = '\0';
	r->id_len = 0;
	r->pin_in_url = r->pin_value = 0;
	/* The scheme is case-insensitive (RFC 3986); GnuTLS is given it as
	 * "pkcs11:" (below). */
	if (strncasecmp(arg, "pkcs11:", 7) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "%s: not a pkcs11: URL (RFC 7512), such as "
				"pkcs11:token=NAME;object=LABEL", opt);
	len = strlen(arg);
	if (len >= sizeof(r->url))
		return lerr_set(e, LERR_BAD_REQUEST, "%s: the URL is longer than %d bytes", opt,
				P11KEY_URL_MAX - 1);
	for (p = arg; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return lerr_set(e, LERR_BAD_REQUEST, "%s: the URL holds a space, a control "
					"character or a non-ASCII byte (percent-encode it)", opt);
	memcpy(r->url, arg, len + 1);
	memcpy(r->url, "pkcs11:", 7);
	memcpy(r->record, "pkcs11:", 7);
	rl = 7;
	/* pkcs11:path-attr;path-attr?query-attr&query-attr */
	for (p = arg + 7; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		end = p + strcspn(p, path_part ? ";?" : "&");
		a = p;
		n = (size_t)(end - p);
		q = memchr(a, '=', n);
		if (n > 0 && q == NULL) {
			lerr_set(e, LERR_BAD_REQUEST, "%s: an attribute has no '=value'", opt);
			goto fail;
		}
		/* RFC 7512: a path attribute appears once. A second object= or
		 * id= would otherwise silently win over the first. */
		if (path_part && n > 0 && p11key_seen(arg + 7, p, a, (size_t)(q - a))) {
			lerr_set(e, LERR_BAD_REQUEST, "%s: attribute '%.*s' appears twice", opt,
				 (int)(q - a), a);
			goto fail;
		}
		/* A PIN belongs in the query (RFC 7512 section 2.3), where it is
		 * kept out of the record; in the path it would be written down. */
		if (path_part && (p11key_attr_is(a, n, "pin-value") ||
				  p11key_attr_is(a, n, "pin-source"))) {
			lerr_set(e, LERR_BAD_REQUEST,
				 "%s: pin-value and pin-source go after '?', not in the path", opt);
			goto fail;
		}
		dl = 0;
		if (n > 0) {
			dl = p11key_unescape(q + 1, n - (size_t)(q + 1 - a), tmp, sizeof(tmp));
			if (dl < 0) {
				lerr_set(e, LERR_BAD_REQUEST,
					 "%s: attribute '%.*s' has a bad percent-escape", opt,
					 (int)(q - a), a);
				goto fail;
			}
		}
		if (path_part && p11key_attr_is(a, n, "object")) {
			if ((size_t)dl >= sizeof(r->label) || memchr(tmp, '\0', (size_t)dl) != NULL) {
				lerr_set(e, LERR_BAD_REQUEST,
					 "%s: object= is too long or holds a NUL byte", opt);
				goto fail;
			}
			memcpy(r->label, tmp, (size_t)dl);
			r->label[dl] = '\0';
		} else if (path_part && p11key_attr_is(a, n, "id")) {
			if ((size_t)dl > sizeof(r->id)) {
				lerr_set(e, LERR_BAD_REQUEST, "%s: id= is longer than %d bytes", opt,
					 P11KEY_ID_MAX);
				goto fail;
			}
			memcpy(r->id, tmp, (size_t)dl);
			r->id_len = (size_t)dl;
		} else if (path_part && p11key_attr_is(a, n, "type")) {
			if (dl != 7 || memcmp(tmp, "private", 7) != 0) {
				lerr_set(e, LERR_BAD_REQUEST, "%s: type=%.*s: the key is a private key "
					 "(type=private, or no type=)", opt, (int)dl, (const char *)tmp);
				goto fail;
			}
		} else if (!path_part && (p11key_attr_is(a, n, "pin-value") ||
					  p11key_attr_is(a, n, "pin-source"))) {
			r->pin_in_url = 1;
			r->pin_value = r->pin_value || p11key_attr_is(a, n, "pin-value");
		}
		/* The record keeps everything but the PIN itself. */
		if (!(!path_part && p11key_attr_is(a, n, "pin-value")) && n > 0) {
			if (!path_part)
				r->record[rl++] = first_q ? '?' : '&';
			else if (rl > 7)
				r->record[rl++] = ';';
			memcpy(r->record + rl, a, n);
			rl += n;
			if (!path_part)
				first_q = 0;
		}
		if (path_part && *end == '?')
			path_part = 0;
	}
	r->record[rl] = '\0';
	if (r->label[0] == '\0' && r->id_len == 0) {
		lerr_set(e, LERR_BAD_REQUEST, "%s %s: name the key with object=LABEL or id=%%XX... "
			 "(it is found or made under that name)", opt, r->record);
		goto fail;
	}
	gnutls_memset(tmp, 0, sizeof(tmp));
	return 0;
fail:
	/* tmp may hold a decoded pin-value; r->url the URL with it. */
	gnutls_memset(tmp, 0, sizeof(tmp));
	gnutls_memset(r->url, 0, sizeof(r->url));
	return -1;
}

/* ---- the record ---- */

int
p11key_is_record(const unsigned char *text, size_t len)
{
	size_t h = sizeof(P11KEY_RECORD_HEAD) - 1;

	return (len >= h && memcmp(text, P11KEY_RECORD_HEAD, h) == 0) ||
	       (len >= 4 && memcmp(text, "url=", 4) == 0);
}

/* Whether s can stand on one line of the record. */
static int
p11key_line_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Appends "name=value\n" to out at *at when value is set. */
static int
p11key_put(char *out, size_t max, size_t *at, const char *name, const char *value)
{
	int w;

	if (value[0] == '\0')
		return 0;
	w = snprintf(out + *at, max - *at, "%s=%s\n", name, value);
	if (w < 0 || (size_t)w >= max - *at)
		return -1;
	*at += (size_t)w;
	return 0;
}

long
p11key_record_format(const struct p11key_ref *r, char *out, size_t max, struct lerr *e)
{
	size_t at = 0, i;
	int bad = 0;

	if (!p11key_line_ok(r->module) || !p11key_line_ok(r->pin_file))
		return lerr_set(e, LERR_BAD_REQUEST,
				"a --pkcs11-module or --pin-file path holds a control character");
	for (i = 0; i < r->nallow; i++)
		if (p11key_allow_ok(r->allow[i], e) != 0)
			return -1;
	if (max < sizeof(P11KEY_RECORD_HEAD))
		bad = 1;
	else {
		memcpy(out, P11KEY_RECORD_HEAD, sizeof(P11KEY_RECORD_HEAD) - 1);
		at = sizeof(P11KEY_RECORD_HEAD) - 1;
	}
	bad = bad || p11key_put(out, max, &at, "url", r->record) != 0 ||
	      p11key_put(out, max, &at, "module", r->module) != 0 ||
	      p11key_put(out, max, &at, "pin-file", r->pin_file) != 0;
	for (i = 0; i < r->nallow && !bad; i++)
		bad = p11key_put(out, max, &at, "allow", r->allow[i]) != 0;
	if (bad)
		return lerr_set(e, LERR_TOO_LARGE, "the token key record is too long");
	return (long)at;
}

/* Copies the value at v (n bytes) into out (size max) as a string. */
static int
p11key_copy_str(char *out, size_t max, const char *v, size_t n)
{
	if (n == 0 || n >= max || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

int
p11key_record_parse(const char *name, const unsigned char *text, size_t len,
		    struct p11key_ref *r, struct lerr *e)
{
	char url[P11KEY_URL_MAX] = "";
	const char *p, *end, *lim = (const char *)text + len;
	size_t n, i;
	int bad = 0;

	memset(r, 0, sizeof(*r));
	for (p = (const char *)text; p < lim && !bad; p = end + 1) {
		end = memchr(p, '\n', (size_t)(lim - p));
		if (end == NULL) {
			bad = 1;	/* every line ends in a newline */
			break;
		}
		n = (size_t)(end - p);
		if (n > 0 && p[0] == '#')
			continue;
		if (n > 4 && strncmp(p, "url=", 4) == 0 && url[0] == '\0')
			bad = p11key_copy_str(url, sizeof(url), p + 4, n - 4) != 0;
		else if (n > 7 && strncmp(p, "module=", 7) == 0 && r->module[0] == '\0')
			bad = p11key_copy_str(r->module, sizeof(r->module), p + 7, n - 7) != 0 ||
			      r->module[0] != '/';
		else if (n > 9 && strncmp(p, "pin-file=", 9) == 0 && r->pin_file[0] == '\0')
			bad = p11key_copy_str(r->pin_file, sizeof(r->pin_file), p + 9, n - 9) != 0 ||
			      r->pin_file[0] != '/';
		else if (n > 6 && strncmp(p, "allow=", 6) == 0 && r->nallow < P11KEY_ALLOW_MAX)
			bad = p11key_copy_str(r->allow[r->nallow], PATH_MAX, p + 6, n - 6) != 0 ||
			      r->allow[r->nallow++][0] != '/';
		else
			bad = 1;
	}
	bad = bad || !p11key_line_ok(r->module) || !p11key_line_ok(r->pin_file);
	for (i = 0; !bad && i < r->nallow; i++) {
		if (p11key_allow_ok(r->allow[i], e) != 0) {
			char why[sizeof(e->msg)];

			memset(r, 0, sizeof(*r));
			snprintf(why, sizeof(why), "%s", e->msg);
			return lerr_set(e, LERR_BAD_REQUEST, "%s: %s", name, why);
		}
	}
	if (bad || url[0] == '\0') {
		memset(r, 0, sizeof(*r));
		return lerr_set(e, LERR_BAD_REQUEST, "%s: not a token key record (url=, and absolute "
				"module=, pin-file= and allow= lines, each once but allow=)", name);
	}
	if (p11key_url_parse("url=", url, r, e) != 0) {
		memset(r, 0, sizeof(*r));
		return lerr_set(e, LERR_BAD_REQUEST, "%s: the recorded URL is not usable", name);
	}
	if (r->pin_value) {
		memset(r, 0, sizeof(*r));
		return lerr_set(e, LERR_BAD_REQUEST, "%s: the recorded URL holds a pin-value: a "
				"record never holds the PIN (name a pin-file= instead)", name);
	}
	/* What is opened is what the record says, as it would write it. */
	memcpy(r->url, r->record, sizeof(r->url));
	gnutls_memset(url, 0, sizeof(url));
	return 0;
}

/* ---- the PKCS#11 layer ---- */

int
p11key_allow_ok(const char *path, struct lerr *e)
{
	const char *p;
	size_t n;
	int depth = 0;

	if (path[0] != '/' || !p11key_line_ok(path))
		return lerr_set(e, LERR_BAD_REQUEST, "token path %s: not an absolute path on one line",
				path);
	/* How deep the path ends: each name one down, ".." one up. */
	for (p = path; *p != '\0'; p += n) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			depth = depth > 0 ? depth - 1 : 0;
		else
			depth++;
	}
	if (depth == 0)
		return lerr_set(e, LERR_BAD_REQUEST, "token path %s is the root directory: name the "
				"token's own files or directory", path);
	return 0;
}

int
p11key_same_access(const struct p11key_ref *a, const struct p11key_ref *b)
{
	size_t i;

	if (strcmp(a->module, b->module) != 0 || strcmp(a->pin_file, b->pin_file) != 0 ||
	    a->nallow != b->nallow)
		return 0;
	for (i = 0; i < a->nallow; i++)
		if (strcmp(a->allow[i], b->allow[i]) != 0)
			return 0;
	return 1;
}

int
p11key_file_trusted(const char *what, const char *path, struct lerr *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return lerr_set(e, LERR_NOT_FOUND, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022) != 0)
		return lerr_set(e, LERR_FORBIDDEN, "%s %s: not a file of this user's (or root's) "
				"that only its owner may write: refused", what, path);
	return 0;
}

/* The PIN GnuTLS asks for through p11key_pin_cb, and what happened when
 * it asked: GnuTLS's PIN callback is one for the process. */
static struct {
	const unsigned char *pin;	/* NUL-terminated; NULL: none */
	size_t len;
	int missing;			/* asked when there was none */
	int refused;			/* asked again: the token refused it */
	int low;			/* the token is near blocking the PIN: not tried */
	int so;				/* the security officer's PIN was asked for */
} p11key_pin;
static int p11key_users;		/* starts not yet stopped */
static char p11key_module[PATH_MAX];	/* the loaded one; "": p11-kit's */

static int
p11key_pin_cb(void *userdata, int attempt, const char *token_url, const char *token_label,
	      unsigned int flags, char *pin, size_t pin_max)
{
	(void)userdata;
	(void)attempt;
	(void)token_url;
	(void)token_label;
	if (flags & GNUTLS_PIN_WRONG) {
		p11key_pin.refused = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	/* The file holds the user's PIN; and a wrong one tried at every
	 * start (a service restarted in a loop) must not block the token. */
	if (flags & GNUTLS_PIN_SO) {
		p11key_pin.so = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (flags & (GNUTLS_PIN_FINAL_TRY | GNUTLS_PIN_COUNT_LOW)) {
		p11key_pin.low = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (p11key_pin.pin == NULL) {
		p11key_pin.missing = 1;
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (p11key_pin.len >= pin_max)
		return GNUTLS_E_PKCS11_PIN_ERROR;
	memcpy(pin, p11key_pin.pin, p11key_pin.len + 1);
	return 0;
}

void
p11key_pin_set(const unsigned char *pin, size_t len)
{
	p11key_pin.pin = pin;
	p11key_pin.len = pin != NULL ? len : 0;
}

int
p11key_start(const char *module, struct lerr *e)
{
	int manual = module != NULL && module[0] != '\0', g;

	if (p11key_users > 0) {
		if (strcmp(p11key_module, manual ? module : "") != 0)
			return lerr_set(e, LERR_BAD_REQUEST, "PKCS#11 module %s: this process uses "
					"%s already, and one module is all it loads", manual ? module :
					"p11-kit's modules", p11key_module[0] != '\0' ? p11key_module :
					"p11-kit's modules");
		p11key_users++;
		return 0;
	}
	p11key_users++;
	g = gnutls_pkcs11_init(manual ? GNUTLS_PKCS11_FLAG_MANUAL : GNUTLS_PKCS11_FLAG_AUTO, NULL);
	if (g < 0) {
		lerr_set(e, LERR_INTERNAL, "PKCS#11: %s", gnutls_strerror(g));
		goto fail;
	}
	if (manual && (g = gnutls_pkcs11_add_provider(module, NULL)) < 0) {
		lerr_set(e, LERR_NOT_FOUND, "PKCS#11 module %s: cannot load or initialise it: %s", module,
			 gnutls_strerror(g));
		gnutls_pkcs11_deinit();
		goto fail;
	}
	gnutls_pkcs11_set_pin_function(p11key_pin_cb, NULL);
	snprintf(p11key_module, sizeof(p11key_module), "%s", manual ? module : "");
	return 0;
fail:
	p11key_users--;
	return -1;
}

void
p11key_stop(void)
{
	if (p11key_users == 0 || --p11key_users > 0)
		return;
	gnutls_pkcs11_deinit();
	memset(&p11key_pin, 0, sizeof(p11key_pin));
}

/* Says what went wrong with token operation g on r (what: "opening",
 * "making"). */
static int
p11key_error(const struct p11key_ref *r, const char *what, int g, struct lerr *e)
{
	if (p11key_pin.low)
		return lerr_set(e, LERR_UNAUTHORIZED, "%s: the token says few PIN attempts are left "
				"before it blocks: lanca does not spend them (check the PIN file, then "
				"log in once by hand, e.g. with p11tool --login, which resets the count)",
				r->record);
	if (p11key_pin.so)
		return lerr_set(e, LERR_UNAUTHORIZED, "%s: the token asks for its security "
				"officer's PIN, which lanca never gives", r->record);
	if (p11key_pin.missing)
		return lerr_set(e, LERR_UNAUTHORIZED, "%s: the token wants a PIN: give --pin-file "
				"FILE", r->record);
	if (p11key_pin.refused || g == GNUTLS_E_PKCS11_PIN_ERROR)
		return lerr_set(e, LERR_UNAUTHORIZED, "%s: the token refused the PIN (%s)", r->record,
				r->pin_file[0] != '\0' ? r->pin_file : "given in the URL");
	return lerr_set(e, LERR_INTERNAL, "%s: %s the key: %s", r->record, what,
			gnutls_strerror(g));
}

/* Whether lanca can use priv (see p11key.h). */
static int
p11key_usable(gnutls_privkey_t priv, const struct p11key_ref *r, struct lerr *e)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
	const char *name;
	unsigned bits = 0;
	int pk, g, rc = -1;

	if ((g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0) {
		lerr_set(e, LERR_INTERNAL, "%s: cannot read the key's public half: %s", r->record,
			 gnutls_strerror(g));
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
	name = gnutls_pk_get_name((gnutls_pk_algorithm_t)pk);
	lerr_set(e, LERR_WEAK_KEY, "%s: an unsupported key (%s, %u bits): lanca takes ECDSA P-256 "
		 "or P-384, or RSA of 2048 bits or more", r->record, name != NULL ? name : "unknown",
		 bits);
out:
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* Finds the token r names: 0, or -1 with e. */
static int
p11key_find_token(const struct p11key_ref *r, struct lerr *e)
{
	unsigned tflags;
	int g;

	/* gnutls_pkcs11_token_get_info answers from the URL alone; the
	 * flags come from a token that matches it. */
	g = gnutls_pkcs11_token_get_flags(r->url, &tflags);
	if (g < 0)
		return lerr_set(e, LERR_NOT_FOUND, "%s: no PKCS#11 token matches it%s: %s", r->record,
				r->module[0] != '\0' ? " in --pkcs11-module" :
				" (is the module in p11-kit's configuration, or give --pkcs11-module)",
				gnutls_strerror(g));
	return 0;
}

int
p11key_open(const struct p11key_ref *r, const struct p11key_gen *gen, gnutls_privkey_t *out,
	    int *made, struct lerr *e)
{
	gnutls_datum_t label_id = { NULL, 0 }, pub = { NULL, 0 };
	gnutls_privkey_t priv = NULL;
	unsigned flags;
	int g, rc = -1;

	*out = NULL;
	if (made != NULL)
		*made = 0;
	p11key_pin.missing = p11key_pin.refused = p11key_pin.low = p11key_pin.so = 0;
	if (p11key_find_token(r, e) != 0)
		goto out;
	if ((g = gnutls_privkey_init(&priv)) < 0) {
		lerr_set(e, LERR_INTERNAL, "key: %s", gnutls_strerror(g));
		goto out;
	}
	g = gnutls_privkey_import_url(priv, r->url, 0);
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && gen != NULL) {
		gnutls_privkey_deinit(priv);
		priv = NULL;
		/* Sensitive and never extractable (GnuTLS marks a new key
		 * extractable only when asked): the key stays in the token. */
		flags = GNUTLS_PKCS11_OBJ_FLAG_LOGIN | GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE |
			GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE;
		label_id.data = (unsigned char *)(uintptr_t)r->id;
		label_id.size = (unsigned)r->id_len;
		g = gnutls_pkcs11_privkey_generate3(r->url, gen->pk, gen->bits,
						    r->label[0] != '\0' ? r->label : NULL,
						    r->id_len > 0 ? &label_id : NULL,
						    GNUTLS_X509_FMT_DER, &pub, gen->usage, flags);
		gnutls_free(pub.data);
		if (g < 0) {
			p11key_error(r, "making", g, e);
			goto out;
		}
		if (made != NULL)
			*made = 1;
		if ((g = gnutls_privkey_init(&priv)) < 0) {
			lerr_set(e, LERR_INTERNAL, "key: %s", gnutls_strerror(g));
			goto out;
		}
		g = gnutls_privkey_import_url(priv, r->url, 0);
	}
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		lerr_set(e, LERR_NOT_FOUND, "%s: the token holds no private key of that name",
			 r->record);
		goto out;
	}
	if (g < 0) {
		p11key_error(r, "opening", g, e);
		goto out;
	}
	if (p11key_usable(priv, r, e) != 0)
		goto out;
	*out = priv;
	priv = NULL;
	rc = 0;
out:
	if (priv != NULL)
		gnutls_privkey_deinit(priv);
	return rc;
}

/* r's URL with type=private in its path (where it has no type= yet: the
 * parser took only "private" there) into out. 0, or -1 if too long. */
static int
p11key_private_url(const struct p11key_ref *r, char *out, size_t max)
{
	size_t path = strcspn(r->url, "?");
	int w;

	if (p11key_seen(r->url + 7, r->url + path + 1, "type", 4))
		w = snprintf(out, max, "%s", r->url);
	else
		w = snprintf(out, max, "%.*s%stype=private%s", (int)path, r->url,
			     path > 7 ? ";" : "", r->url + path);
	return w < 0 || (size_t)w >= max ? -1 : 0;
}

int
p11key_check_kept(const struct p11key_ref *r, struct lerr *e)
{
	char url[P11KEY_URL_MAX + 16];
	gnutls_pkcs11_obj_t obj = NULL;
	unsigned flags = 0;
	int g, rc = -1;

	/* The private object's flags, not its public half's: the class
	 * goes in the URL (import_url chooses by the URL's attributes). */
	if (p11key_private_url(r, url, sizeof(url)) != 0)
		return lerr_set(e, LERR_BAD_REQUEST, "%s: the URL is too long", r->record);
	if ((g = gnutls_pkcs11_obj_init(&obj)) < 0 ||
	    (g = gnutls_pkcs11_obj_import_url(obj, url, GNUTLS_PKCS11_OBJ_FLAG_LOGIN)) < 0 ||
	    (g = gnutls_pkcs11_obj_get_flags(obj, &flags)) < 0) {
		lerr_set(e, LERR_INTERNAL, "%s: cannot read the key's attributes: %s", r->record,
			 gnutls_strerror(g));
		goto out;
	}
	if (!(flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE) ||
	    (flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_EXTRACTABLE)) {
		lerr_set(e, LERR_WEAK_KEY, "%s: the token would give this key out (%s%s%s): a CA key "
			 "is kept only in one it cannot be made to give out: name another", r->record,
			 !(flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE) ? "not sensitive" : "",
			 !(flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE) &&
			 (flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_EXTRACTABLE) ? ", " : "",
			 (flags & GNUTLS_PKCS11_OBJ_FLAG_MARK_EXTRACTABLE) ? "extractable" : "");
		goto out;
	}
	rc = 0;
out:
	if (obj != NULL)
		gnutls_pkcs11_obj_deinit(obj);
	return rc;
}

int
p11key_copy(const struct p11key_ref *r, gnutls_x509_privkey_t key, unsigned usage,
	    struct lerr *e)
{
	gnutls_privkey_t there = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t id = { NULL, 0 };
	struct lerr ignored;
	int g;

	p11key_pin.missing = p11key_pin.refused = p11key_pin.low = p11key_pin.so = 0;
	if (p11key_find_token(r, e) != 0)
		return -1;
	lerr_clear(&ignored);
	if (p11key_open(r, NULL, &there, NULL, &ignored) == 0) {
		gnutls_privkey_deinit(there);
		there = NULL;
		return lerr_set(e, LERR_CONFLICT, "%s: the token already holds a private key of "
				"that name: not replacing it", r->record);
	}
	/* The token was found just now: not found is "no key of that name".
	 * Anything else under that name (a key lanca cannot use, one
	 * without its public half) is not written over or beside. */
	if (ignored.code != LERR_NOT_FOUND) {
		if (ignored.code == LERR_UNAUTHORIZED) {
			*e = ignored;
			return -1;
		}
		return lerr_set(e, LERR_CONFLICT, "%s: the token holds a private key of that name "
				"that lanca cannot use (%s): choose another name", r->record,
				ignored.msg);
	}
	id.data = (unsigned char *)(uintptr_t)r->id;
	id.size = (unsigned)r->id_len;
	p11key_pin.missing = p11key_pin.refused = p11key_pin.low = p11key_pin.so = 0;
	g = gnutls_pkcs11_copy_x509_privkey2(r->url, key, r->label[0] != '\0' ? r->label : NULL,
					     r->id_len > 0 ? &id : NULL, usage,
					     GNUTLS_PKCS11_OBJ_FLAG_LOGIN |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE);
	if (g < 0)
		return p11key_error(r, "copying", g, e);
	/* A token need not derive the public half from a private object
	 * (SoftHSM2 does not for EC keys): it goes in beside it, under the
	 * same label and id, where GnuTLS looks for it. */
	if ((g = gnutls_privkey_init(&there)) < 0 ||
	    (g = gnutls_privkey_import_x509(there, key, 0)) < 0 ||
	    (g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, there, 0, 0)) < 0 ||
	    (g = gnutls_pkcs11_copy_pubkey(r->url, pub, r->label[0] != '\0' ? r->label : NULL,
					   r->id_len > 0 ? &id : NULL, usage,
					   GNUTLS_PKCS11_OBJ_FLAG_LOGIN)) < 0)
		lerr_set(e, LERR_INTERNAL, "%s: the private key was copied into the token, its "
			 "public half was not: %s", r->record, gnutls_strerror(g));
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (there != NULL)
		gnutls_privkey_deinit(there);
	return g < 0 ? -1 : 0;
}
