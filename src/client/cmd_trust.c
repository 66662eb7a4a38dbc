/*
 * cmd_trust.c - `lanca-enroll trust refresh`: bring the device's trust
 * store up to date with the gateway's trust bundle.
 *
 * The store is DIR/trust.pem, or before the first refresh DIR/root.pem
 * (what enroll wrote, left as it is for the scripts that read it; see
 * device_trust_read). The bundle is fetched over HTTPS verified with the
 * store's roots alone, merged by trust.c's rule (the bundle's roots that
 * are trusted already or vouched for, transitively; roots the bundle no
 * longer lists dropped and named on stdout) and written atomically as
 * DIR/trust.pem. A refused bundle changes nothing.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "client/exchange.h"
#include "client/trust.h"
#include "common/lerr.h"

#define TRUST_PATH	"/trust-bundle.pem"

static void
trust_usage(FILE *f)
{
	fputs("usage: lanca-enroll trust refresh --dir DIR [--gateway https://HOST[:PORT]] [--timeout S]\n"
	      "                                  [--pin-file FILE] [--pkcs11-module PATH]\n"
	      "\n"
	      "Fetches the gateway's trust bundle over HTTPS verified with the roots DIR\n"
	      "trusts (DIR/trust.pem, else DIR/root.pem) and writes DIR/trust.pem: the\n"
	      "bundle's roots, each trusted already or vouched for by a cross-certificate\n"
	      "in the bundle from a trusted root or from a root so accepted. A trusted root\n"
	      "the bundle no longer lists is dropped (one line each on stdout). A bundle\n"
	      "with a root nothing vouches for, or with no root, is refused whole and\n"
	      "nothing changes. --gateway defaults to DIR/gateway.url. A key in a token\n"
	      "(DIR/key.token) is presented from the token; --pin-file and --pkcs11-module\n"
	      "replace the ones enroll recorded.\n"
	      "\n"
	      "exit: 0 up to date, 1 refused or failed, 2 usage\n", f);
}

/* The refresh. */
static int
trust_refresh(const char *dir, const char *gateway_opt, const struct p11key_ref *over,
	      long timeout)
{
	gnutls_datum_t store = { NULL, 0 }, merged = { NULL, 0 };
	gnutls_datum_t chain = { NULL, 0 };
	struct devkey key = { NULL, 0 };
	struct httpc_response resp;
	struct httpc_conn *c = NULL;
	struct httpc_url gw;
	char gateway[1100];
	const char *from;
	gnutls_datum_t bundle;
	struct trust_result res;
	unsigned i;
	struct lerr e;
	int rc = CLIENT_FAIL;

	memset(&resp, 0, sizeof(resp));
	lerr_clear(&e);
	if (gateway_opt != NULL) {
		if (strlen(gateway_opt) >= sizeof(gateway) ||
		    httpc_url_parse(gateway_opt, &gw, &e) != 0 || !gw.tls) {
			client_msg("--gateway %.200s: %s", gateway_opt,
				   e.code != LERR_NONE ? e.msg : "not an https:// URL");
			return CLIENT_USAGE;
		}
		snprintf(gateway, sizeof(gateway), "%s", gateway_opt);
	} else if (device_gateway_read(dir, gateway, sizeof(gateway), &gw) != 0) {
		goto out;
	}
	if (device_trust_read(dir, &store, &from) != 0)
		goto out;
	/* The device's certificate, when it has one, as TLS client
	 * certificate: the gateway counts who refreshed (`lanca rollover
	 * status`). The bundle is the same with or without it. */
	if (device_file_exists(dir, "chain.pem") && devkey_in_dir(dir) &&
	    (device_file_read(dir, "chain.pem", CLIENT_MAX_FILE, 0, &chain) != 0 ||
	     devkey_load_dir(dir, over, &key) != 0))
		goto out;
	if (exchange_connect(gateway, &store, key.priv != NULL ? &chain : NULL, key.priv, timeout,
			     &c) != 0)
		goto out;
	if (httpc_request(c, "GET", TRUST_PATH, NULL, NULL, 0, &resp, &e) != 0) {
		client_msg("%s%s: %s", gateway, TRUST_PATH, e.msg);
		goto out;
	}
	if (resp.status != 200) {
		client_msg("%s%s: HTTP %d", gateway, TRUST_PATH, resp.status);
		goto out;
	}
	bundle.data = resp.body;
	bundle.size = (unsigned)resp.body_len;
	if (trust_merge(&store, &bundle, &merged, &res, &e) != 0) {
		client_msg("%s%s: %s; %s/%s kept as it was", gateway, TRUST_PATH, e.msg, dir, from);
		goto out;
	}
	if (device_file_write(dir, DEVICE_TRUST_FILE, merged.data, merged.size, 0644) != 0)
		goto out;
	for (i = 0; i < res.ndropped; i++)
		printf("lanca-enroll: dropped root %s (SHA-256 %s): the gateway no longer lists it\n",
		       res.dropped[i].subject, res.dropped[i].sha256);
	printf("lanca-enroll: %s/%s: %u new root%s trusted, %u dropped, %u in all\n", dir,
	       DEVICE_TRUST_FILE, res.added, res.added == 1 ? "" : "s", res.ndropped, res.kept);
	rc = CLIENT_OK;
out:
	httpc_response_free(&resp);
	httpc_close(c);
	device_file_free(&store, 0);
	device_file_free(&chain, 0);
	devkey_free(&key);
	gnutls_free(merged.data);
	return rc;
}

int
cmd_trust(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "timeout", required_argument, NULL, 't' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "pkcs11-module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *gateway = NULL, *pin_file = NULL, *module = NULL;
	struct p11key_ref over;
	long timeout = CLIENT_IO_TIMEOUT;
	int ch;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		trust_usage(stdout);
		return CLIENT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "refresh") != 0) {
		client_msg("trust: want the subcommand refresh");
		trust_usage(stderr);
		return CLIENT_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'g': gateway = optarg; break;
		case 'p': pin_file = optarg; break;
		case 'm': module = optarg; break;
		case 't':
			if (client_parse_timeout(optarg, &timeout) != 0)
				return CLIENT_USAGE;
			break;
		case 'h':
			trust_usage(stdout);
			return CLIENT_OK;
		default:
			trust_usage(stderr);
			return CLIENT_USAGE;
		}
	}
	if (optind != argc) {
		client_msg("trust refresh: unexpected argument %s", argv[optind]);
		return CLIENT_USAGE;
	}
	if (dir == NULL) {
		client_msg("trust refresh needs --dir");
		return CLIENT_USAGE;
	}
	memset(&over, 0, sizeof(over));
	if (devkey_token_paths(pin_file, module, &over) != 0)
		return CLIENT_USAGE;
	return trust_refresh(dir, gateway, &over, timeout);
}
