/*
 * p11put.c - puts a private key into a PKCS#11 token the way lanca never
 * does: extractable and not sensitive, as some tools and some tokens'
 * defaults leave a key. t_token.sh uses it to show that `lanca init`
 * refuses to make a CA of such a key (p11key_check_kept).
 *
 * usage: p11put MODULE TOKEN-URL LABEL PIN-FILE KEY.pem
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

static char pin[256];

static int
p11put_pin(void *u, int attempt, const char *url, const char *label, unsigned flags, char *out,
	   size_t max)
{
	(void)u;
	(void)url;
	(void)label;
	if (attempt > 0 || (flags & GNUTLS_PIN_WRONG) || strlen(pin) >= max)
		return -1;
	memcpy(out, pin, strlen(pin) + 1);
	return 0;
}

int
main(int argc, char *argv[])
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = { NULL, 0 };
	FILE *f;
	int g;

	if (argc != 6) {
		fprintf(stderr, "usage: p11put MODULE TOKEN-URL LABEL PIN-FILE KEY.pem\n");
		return 2;
	}
	if ((f = fopen(argv[4], "r")) == NULL || fgets(pin, sizeof(pin), f) == NULL) {
		fprintf(stderr, "p11put: cannot read %s\n", argv[4]);
		return 1;
	}
	fclose(f);
	pin[strcspn(pin, "\r\n")] = '\0';
	if ((g = gnutls_load_file(argv[5], &d)) < 0 || (g = gnutls_x509_privkey_init(&key)) < 0 ||
	    (g = gnutls_x509_privkey_import(key, &d, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (g = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL)) < 0 ||
	    (g = gnutls_pkcs11_add_provider(argv[1], NULL)) < 0) {
		fprintf(stderr, "p11put: %s\n", gnutls_strerror(g));
		return 1;
	}
	gnutls_pkcs11_set_pin_function(p11put_pin, NULL);
	g = gnutls_pkcs11_copy_x509_privkey2(argv[2], key, argv[3], NULL, GNUTLS_KEY_DIGITAL_SIGNATURE,
					     GNUTLS_PKCS11_OBJ_FLAG_LOGIN |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_NOT_SENSITIVE |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_EXTRACTABLE);
	if (g < 0) {
		fprintf(stderr, "p11put: copying: %s\n", gnutls_strerror(g));
		return 1;
	}
	/* Its public half beside it, as GnuTLS looks for it. */
	if ((g = gnutls_privkey_init(&priv)) < 0 ||
	    (g = gnutls_privkey_import_x509(priv, key, 0)) < 0 || (g = gnutls_pubkey_init(&pub)) < 0 ||
	    (g = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0 ||
	    (g = gnutls_pkcs11_copy_pubkey(argv[2], pub, argv[3], NULL, GNUTLS_KEY_DIGITAL_SIGNATURE,
					   GNUTLS_PKCS11_OBJ_FLAG_LOGIN)) < 0) {
		fprintf(stderr, "p11put: the public key: %s\n", gnutls_strerror(g));
		return 1;
	}
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	gnutls_free(d.data);
	gnutls_x509_privkey_deinit(key);
	gnutls_pkcs11_deinit();
	return 0;
}
