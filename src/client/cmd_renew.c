/*
 * cmd_renew.c - `lanca-enroll renew`: replace the key and certificate in a
 * directory that enroll wrote.
 *
 * Makes a new key (a key in a PKCS#11 token, which key.token names, stays
 * the same: it never leaves the token, so there is nothing to replace) and
 * asks the gateway in gateway.url for a certificate with the current one's
 * names, presenting the current chain and key as its TLS client
 * certificate and trusting the device's roots alone
 * (trust.pem once trust refresh wrote it, else root.pem: a device that
 * followed a rollover reaches a gateway under the new root). The old files
 * stay until every new one is on disk; a renewal that does not finish
 * leaves them as they were and nothing half-made beside them.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "client/estc.h"
#include "client/exchange.h"
#include "common/lerr.h"

/* What a renewal stages beside the current files before renaming them. */
static const char *const renew_staged[] = { "key.pem.new", "cert.pem.new", "chain.pem.new" };

static void
renew_usage(FILE *f)
{
	fputs("usage: lanca-enroll renew --dir DIR [--when-due] [--timeout S]\n"
	      "                          [--protocol api|est] [--est-label LABEL] [--bind]\n"
	      "                          [--pin-file FILE] [--pkcs11-module PATH]\n"
	      "\n"
	      "Replaces the key and certificate in DIR (as written by enroll) over mTLS.\n"
	      "A key in a PKCS#11 token (DIR/key.token, from enroll --key) is kept and\n"
	      "presented from the token; --pin-file and --pkcs11-module replace the ones\n"
	      "enroll recorded.\n"
	      "--when-due does nothing until two thirds of the certificate's lifetime\n"
	      "have passed. --protocol est asks EST's simplereenroll instead of lanca's API;\n"
	      "--bind ties the request to its TLS connection (see enroll --help).\n"
	      "\n"
	      "exit: 0 renewed or not due, 1 refused or failed, 2 usage, 3 still pending\n", f);
}

/* What renew was asked to do. */
struct renew_opts {
	const char *dir;
	const char *label;		/* --est-label, or NULL */
	int bind;			/* --bind */
	enum client_protocol proto;
	int when_due;			/* first check whether it is time */
	long timeout;
	struct p11key_ref over;	/* --pin-file, --pkcs11-module */
};

/* The renewal. */
static int
renew_run(const struct renew_opts *o)
{
	const char *dir = o->dir;
	struct httpc_url gw;
	struct device_sans sans;
	struct device_chain chain = { NULL, 0 };
	struct estc_bind bind;
	struct httpc_conn *c = NULL;
	gnutls_x509_crt_t crt = NULL;
	struct devkey cur = { NULL, 0 }, fresh = { NULL, 0 }, *key;
	gnutls_datum_t root = { NULL, 0 }, cert = { NULL, 0 }, present = { NULL, 0 };
	gnutls_datum_t csr = { NULL, 0 };
	unsigned char *pem = NULL;
	size_t pem_len = 0, cl, i;
	char cn[256], gateway[1100];
	time_t nb, na, now = time(NULL);
	long timeout = o->timeout;
	double start = client_now();
	int rc = CLIENT_FAIL, g, staged = 0;

	if (device_file_read(dir, "cert.pem", CLIENT_MAX_FILE, 0, &cert) != 0)
		goto out;
	if ((g = gnutls_x509_crt_init(&crt)) < 0 ||
	    (g = gnutls_x509_crt_import(crt, &cert, GNUTLS_X509_FMT_PEM)) < 0) {
		client_msg("%s/cert.pem: %s", dir, gnutls_strerror(g));
		goto out;
	}
	nb = gnutls_x509_crt_get_activation_time(crt);
	na = gnutls_x509_crt_get_expiration_time(crt);
	if (nb == (time_t)-1 || na == (time_t)-1 || na <= nb) {
		client_msg("%s/cert.pem: unusable validity period", dir);
		goto out;
	}
	if (o->when_due && now < nb + (na - nb) / 3 * 2) {
		char when[64];
		time_t due = nb + (na - nb) / 3 * 2;
		struct tm tm;

		if (gmtime_r(&due, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
			snprintf(when, sizeof(when), "later");
		printf("lanca-enroll: not due: renewal is due from %s\n", when);
		rc = CLIENT_OK;
		goto out;
	}

	if (device_gateway_read(dir, gateway, sizeof(gateway), &gw) != 0 ||
	    device_trust_read(dir, &root, NULL) != 0)
		goto out;
	/* Present the whole chain when we have it, so that the gateway need
	 * not know the intermediate; else the leaf alone. */
	if (device_file_exists(dir, "chain.pem")) {
		if (device_file_read(dir, "chain.pem", CLIENT_MAX_FILE, 0, &present) != 0)
			goto out;
	} else {
		present = cert;
		cert.data = NULL;
		cert.size = 0;
	}
	g = devkey_load_dir(dir, &o->over, &cur);
	if (g == 1)
		client_msg("%s holds neither %s nor %s", dir, DEVKEY_FILE, DEVKEY_TOKEN_FILE);
	if (g != 0)
		goto out;

	cl = sizeof(cn);
	if ((g = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cl)) < 0) {
		client_msg("current certificate has no common name: %s", gnutls_strerror(g));
		goto out;
	}
	if (device_sans_from_crt(crt, &sans) != 0)
		goto out;
	staged = 1;
	key = &cur;
	if (!cur.token) {
		if (devkey_generate(&fresh) != 0 || devkey_write_file(&fresh, dir, "key.pem.new") != 0)
			goto out;
		key = &fresh;
	}
	if (device_csr(key->priv, cn, &sans, NULL, &csr) != 0)
		goto out;
	if (exchange_connect(gateway, &root, &present, cur.priv, timeout, &c) != 0)
		goto out;
	bind.key = key->priv;
	bind.cn = cn;
	bind.sans = &sans;
	if (o->proto == CLIENT_PROTO_EST)
		rc = estc_run(c, o->label, "simplereenroll", &csr, o->bind ? &bind : NULL, key->priv, NULL,
			      timeout, start, &pem, &pem_len, NULL);
	else
		rc = exchange_run(c, &gw, "/api/v1/renew", &csr, timeout, start, &pem, &pem_len, NULL);
	if (rc != CLIENT_OK)
		goto out;
	rc = CLIENT_FAIL;
	if (device_chain_check(pem, pem_len, key->priv, &root, &chain) != 0)
		goto out;
	/* The old files stay until every new one is on disk. */
	if (device_chain_write(&chain, dir, "cert.pem.new", "chain.pem.new") != 0 ||
	    (!cur.token && device_file_rename(dir, "key.pem.new", "key.pem") != 0) ||
	    device_file_rename(dir, "cert.pem.new", "cert.pem") != 0 ||
	    device_file_rename(dir, "chain.pem.new", "chain.pem") != 0 || device_dir_sync(dir) != 0)
		goto out;
	device_report(&chain, dir, "renewed");
	rc = CLIENT_OK;
out:
	if (rc != CLIENT_OK && staged)
		for (i = 0; i < sizeof(renew_staged) / sizeof(renew_staged[0]); i++)
			device_file_remove(dir, renew_staged[i]);
	device_chain_free(&chain);
	httpc_close(c);
	free(pem);
	gnutls_free(csr.data);
	device_file_free(&root, 0);
	device_file_free(&cert, 0);
	device_file_free(&present, 0);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	devkey_free(&fresh);
	devkey_free(&cur);
	return rc;
}

int
cmd_renew(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "when-due", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 't' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "est-label", required_argument, NULL, 'L' },
		{ "bind", no_argument, NULL, 'B' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "pkcs11-module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct renew_opts o;
	const char *pin_file = NULL, *module = NULL;
	int ch;

	memset(&o, 0, sizeof(o));
	o.timeout = CLIENT_DEFAULT_TIMEOUT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': o.dir = optarg; break;
		case 'W': o.when_due = 1; break;
		case 'L': o.label = optarg; break;
		case 'B': o.bind = 1; break;
		case 'p': pin_file = optarg; break;
		case 'm': module = optarg; break;
		case 't':
			if (client_parse_timeout(optarg, &o.timeout) != 0)
				return CLIENT_USAGE;
			break;
		case 'P':
			if (client_parse_protocol(optarg, &o.proto) != 0)
				return CLIENT_USAGE;
			break;
		case 'h':
			renew_usage(stdout);
			return CLIENT_OK;
		default:
			renew_usage(stderr);
			return CLIENT_USAGE;
		}
	}
	if (optind != argc) {
		client_msg("renew: unexpected argument %s", argv[optind]);
		return CLIENT_USAGE;
	}
	if (o.dir == NULL) {
		client_msg("renew needs --dir");
		return CLIENT_USAGE;
	}
	if (client_check_label(o.label, o.proto) != 0)
		return CLIENT_USAGE;
	if (o.bind && o.proto != CLIENT_PROTO_EST) {
		client_msg("--bind needs --protocol est");
		return CLIENT_USAGE;
	}
	if (devkey_token_paths(pin_file, module, &o.over) != 0)
		return CLIENT_USAGE;
	return renew_run(&o);
}
