/*
 * cmd_enroll.c - `lanca-enroll enroll`: a new device gets its first
 * certificate.
 *
 * Makes a key that never leaves the device, settles the gateway's root
 * (root.c) before anything is sent or written, then speaks only HTTPS
 * anchored at that root: posts a CSR, waits out "pending" answers until a
 * button press or an admin approves it (exchange.c), checks that what came
 * back is for its key and chains to the root, and writes the files
 * atomically (device.c). A run that fails before the gateway took the
 * request leaves the output directory as it found it (and no directory
 * where there was none). Once the gateway may hold a request for the key
 * (it answered pending or with a certificate, or the answer was lost),
 * key.pem.new and its directory stay whatever happens next: the key is
 * then the device's identity there, and the next run asks with it again
 * (a new key would meet "device holds a certificate for another key").
 * With --key the key is a PKCS#11 token's (devkey.c) and key.token.new,
 * its record, plays key.pem.new's part.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "client/client.h"
#include "client/device.h"
#include "client/devkey.h"
#include "client/estc.h"
#include "client/exchange.h"
#include "client/root.h"
#include "common/lerr.h"

struct enroll_opts {
	const char *gateway, *id, *out, *fingerprint, *http;
	const char *label, *secret_file;	/* --est-label, --secret-file */
	int token;				/* --key: the key is in a token */
	struct p11key_ref tok;		/* --key, --pin-file, --pkcs11-module */
	int bind;				/* --bind */
	enum client_protocol proto;
	struct device_sans sans;
	int tofu;
	long timeout;
};

/* A pre-authorisation secret's length, as the gateway takes it
 * (daemon/preauth.h). */
#define ENROLL_SECRET_MIN	8
#define ENROLL_SECRET_MAX	256

/* The files enroll writes besides the key, in the order it writes them. */
static const char *const enroll_files[] = { "cert.pem", "chain.pem", "root.pem", "gateway.url" };
#define ENROLL_N_FILES	(sizeof(enroll_files) / sizeof(enroll_files[0]))

/* What this run added to the output directory, so that a failure can take
 * it away again and nothing else. */
struct enroll_undo {
	const char *key_new;		/* key.pem.new, or key.token.new for a token key */
	int made_dir;			/* the directory did not exist */
	int made_key;			/* key_new is this run's and nobody else knows it */
	int made[ENROLL_N_FILES];	/* enroll_files[i] did not exist and was written */
	int kept_key;			/* the gateway may hold key_new's key: it stays */
	int done;			/* key.pem is in place: nothing to undo */
};

static void
enroll_usage(FILE *f)
{
	fputs("usage: lanca-enroll enroll --gateway https://HOST[:PORT] --id DEVICE_ID --out DIR\n"
	      "                           (--fingerprint SHA256 | --trust-on-first-use)\n"
	      "                           [--name NAME.local]... [--ip IP]... [--http URL] [--timeout S]\n"
	      "                           [--protocol api|est] [--est-label LABEL] [--secret-file FILE]\n"
	      "                           [--bind] [--key pkcs11:URL [--pin-file FILE]\n"
	      "                           [--pkcs11-module PATH]]\n"
	      "\n"
	      "Makes a key and gets it a certificate from the gateway. The root is fetched\n"
	      "from --http (default http://HOST/ca.crt) and checked against --fingerprint,\n"
	      "the SHA-256 the gateway shows, before anything is sent.\n"
	      "\n"
	      "--key keeps the key in a PKCS#11 token (a TPM through tpm2-pkcs11, a secure\n"
	      "element, SoftHSM2) instead of DIR/key.pem: the URL's private key\n"
	      "(pkcs11:token=NAME;object=LABEL) is used when it exists, else made there\n"
	      "(ECDSA P-256, sensitive, not extractable). The PIN comes from --pin-file\n"
	      "(one line) or the URL's pin-source/pin-value. --pkcs11-module loads that\n"
	      "module alone (else p11-kit's configured ones). DIR/key.token records the URL\n"
	      "(without a pin-value), the module and the PIN file's path, so that renew and\n"
	      "trust refresh use the same key.\n"
	      "\n"
	      "--protocol est speaks EST (RFC 7030) instead of lanca's API: the root comes\n"
	      "from /.well-known/est[/LABEL]/cacerts (and --http is not used), the request\n"
	      "goes to simpleenroll, and when the gateway asks for HTTP Basic the device id\n"
	      "and the pre-authorisation secret in --secret-file answer it. --bind ties\n"
	      "each request to its TLS connection (RFC 7030 3.5: tls-exporter or\n"
	      "tls-unique in its challengePassword), for gateways that require it.\n"
	      "\n"
	      "exit: 0 issued, 1 refused or failed, 2 usage, 3 still pending at --timeout\n", f);
}

/* Takes back what a failed run added to o->out (see struct enroll_undo). */
static void
enroll_undo(const char *out, const struct enroll_undo *u)
{
	size_t i;

	if (u->done)
		return;
	for (i = 0; i < ENROLL_N_FILES; i++)
		if (u->made[i])
			device_file_remove(out, enroll_files[i]);
	if (!u->kept_key && u->made_key)
		device_file_remove(out, u->key_new);
	/* rmdir, not a tree removal: anything someone else put there stays. */
	if (!u->kept_key && u->made_dir && rmdir(out) != 0)
		client_msg("%s: cannot remove: %s", out, strerror(errno));
}

/*
 * The key this run asks with, into *k: --key's token key (found, or made
 * there); else a key left from an enrollment that was still pending
 * (key.token.new, key.pem.new), so that the request an admin approves is
 * the one we ask about; else a new key file. The key's file or record is
 * written as undo->key_new before anything is sent.
 */
static int
enroll_key(const struct enroll_opts *o, struct enroll_undo *u, struct devkey *k)
{
	struct p11key_ref t;
	int made = 0;

	if (o->token) {
		if (device_file_exists(o->out, DEVKEY_FILE ".new")) {
			client_msg("%s holds %s.new from an earlier attempt with a key file: go on "
				   "without --key, or remove it", o->out, DEVKEY_FILE);
			return -1;
		}
		if (devkey_token_open(&o->tok, 1, k, &made) != 0)
			return -1;
		client_msg("%s the key in the token: %s", made ? "made" : "using", o->tok.record);
		u->made_key = !device_file_exists(o->out, u->key_new);
		return devkey_token_write(&o->tok, o->out, u->key_new);
	}
	if (device_file_exists(o->out, DEVKEY_TOKEN_FILE ".new")) {
		memset(&t, 0, sizeof(t));
		if (devkey_token_read(o->out, DEVKEY_TOKEN_FILE ".new", &t) != 0 ||
		    devkey_token_open(&t, 0, k, NULL) != 0)
			return -1;
		u->key_new = DEVKEY_TOKEN_FILE ".new";
		client_msg("using the token key from the earlier attempt (%s/%s.new: %s)", o->out,
			   DEVKEY_TOKEN_FILE, t.record);
		return 0;
	}
	if (device_file_exists(o->out, u->key_new)) {
		if (devkey_load_file(o->out, u->key_new, k) != 0)
			return -1;
		client_msg("using the key from the earlier attempt (%s/%s)", o->out, u->key_new);
		return 0;
	}
	if (devkey_generate(k) != 0)
		return -1;
	u->made_key = 1;
	return devkey_write_file(k, o->out, u->key_new);
}

/* The enrollment itself, once the options are known to be sound. */
static int
enroll_run(const struct enroll_opts *o)
{
	struct enroll_undo undo;
	struct httpc_url gw;
	struct device_chain chain = { NULL, 0 };
	struct httpc_conn *c = NULL;
	struct lerr e;
	struct devkey key = { NULL, 0 };
	gnutls_datum_t root = { NULL, 0 }, csr = { NULL, 0 }, secret = { NULL, 0 };
	struct estc_basic basic;
	struct estc_bind bind;
	unsigned char *pem = NULL;
	size_t pem_len = 0, i, secret_len = 0;
	char url[1100];
	double start = client_now();
	int rc = CLIENT_FAIL, w;

	memset(&undo, 0, sizeof(undo));
	undo.key_new = o->token ? DEVKEY_TOKEN_FILE ".new" : DEVKEY_FILE ".new";
	lerr_clear(&e);
	if (httpc_url_parse(o->gateway, &gw, &e) != 0 || !gw.tls) {
		client_msg("--gateway %s: %s", o->gateway, gw.tls ? e.msg : "must be an https:// URL");
		return CLIENT_USAGE;
	}
	if (devkey_in_dir(o->out)) {
		client_msg("%s already holds %s: this device is enrolled (use renew), or "
			   "choose another --out", o->out,
			   device_file_exists(o->out, DEVKEY_FILE) ? DEVKEY_FILE : DEVKEY_TOKEN_FILE);
		goto out;
	}
	if (o->secret_file != NULL &&
	    device_secret_read("--secret-file", "secret", o->secret_file, ENROLL_SECRET_MIN,
			       ENROLL_SECRET_MAX, &secret, &secret_len) != 0)
		goto out;
	if (o->proto == CLIENT_PROTO_EST) {
		if (estc_bootstrap_root(o->gateway, o->label, o->fingerprint, o->timeout, &root) != 0)
			goto out;
	} else if (root_fetch(o->http, &gw, o->fingerprint, o->timeout, &root) != 0) {
		goto out;
	}

	/* The directory appears only once the root is settled. */
	if (mkdir(o->out, 0700) == 0) {
		undo.made_dir = 1;
	} else if (errno != EEXIST) {
		client_msg("%s: %s", o->out, strerror(errno));
		goto out;
	}
	if (enroll_key(o, &undo, &key) != 0)
		goto out;
	if (device_csr(key.priv, o->id, &o->sans, NULL, &csr) != 0)
		goto out;
	if (exchange_connect(o->gateway, &root, NULL, NULL, o->timeout, &c) != 0)
		goto out;
	if (o->proto == CLIENT_PROTO_EST) {
		basic.user = o->id;
		basic.secret = secret.data;
		basic.secret_len = secret_len;
		bind.key = key.priv;
		bind.cn = o->id;
		bind.sans = &o->sans;
		rc = estc_run(c, o->label, "simpleenroll", &csr, o->bind ? &bind : NULL, key.priv,
			      secret.data != NULL ? &basic : NULL, o->timeout, start, &pem, &pem_len,
			      &undo.kept_key);
	} else {
		rc = exchange_run(c, &gw, "/api/v1/enroll", &csr, o->timeout, start, &pem, &pem_len,
				  &undo.kept_key);
	}
	if (rc != CLIENT_OK)
		goto out;
	rc = CLIENT_FAIL;
	if (device_chain_check(pem, pem_len, key.priv, &root, &chain) != 0)
		goto out;
	w = snprintf(url, sizeof(url), "%s\n", o->gateway);
	if (w < 0 || (size_t)w >= sizeof(url)) {
		client_msg("--gateway: too long");
		goto out;
	}
	for (i = 0; i < ENROLL_N_FILES; i++)
		undo.made[i] = !device_file_exists(o->out, enroll_files[i]);
	/* The key becomes key.pem (key.token) last: a crash before it leaves
	 * key.pem.new (key.token.new), which the next run uses again. */
	if (device_chain_write(&chain, o->out, "cert.pem", "chain.pem") != 0 ||
	    device_file_write(o->out, "root.pem", root.data, root.size, 0644) != 0 ||
	    device_file_write(o->out, "gateway.url", url, (size_t)w, 0644) != 0 ||
	    device_file_rename(o->out, undo.key_new, key.token ? DEVKEY_TOKEN_FILE : DEVKEY_FILE) != 0)
		goto out;
	undo.done = 1;
	if (device_dir_sync(o->out) != 0)
		goto out;
	device_report(&chain, o->out, "issued");
	rc = CLIENT_OK;
out:
	/* Pending keeps key.pem.new for the next run; anything else that did
	 * not issue leaves the directory as it was, but for a key the gateway
	 * may hold. */
	if (rc == CLIENT_FAIL) {
		enroll_undo(o->out, &undo);
		if (undo.kept_key && !undo.done)
			client_msg("keeping %s/%s: the gateway may hold a request for its key; "
				   "run this again to go on with the same key", o->out, undo.key_new);
	}
	device_chain_free(&chain);
	httpc_close(c);
	free(pem);
	device_file_free(&secret, 1);
	gnutls_free(csr.data);
	gnutls_free(root.data);
	devkey_free(&key);
	return rc;
}

int
cmd_enroll(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "gateway", required_argument, NULL, 'g' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "fingerprint", required_argument, NULL, 'f' },
		{ "trust-on-first-use", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "http", required_argument, NULL, 'H' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "est-label", required_argument, NULL, 'L' },
		{ "secret-file", required_argument, NULL, 'S' },
		{ "bind", no_argument, NULL, 'B' },
		{ "key", required_argument, NULL, 'K' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "pkcs11-module", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct enroll_opts o;
	const char *pin_file = NULL, *module = NULL;
	char fp[65];
	int ch, rc;

	memset(&o, 0, sizeof(o));
	o.timeout = CLIENT_DEFAULT_TIMEOUT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'g': o.gateway = optarg; break;
		case 'i': o.id = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': o.fingerprint = optarg; break;
		case 'T': o.tofu = 1; break;
		case 'B': o.bind = 1; break;
		case 'H': o.http = optarg; break;
		case 'L': o.label = optarg; break;
		case 'S': o.secret_file = optarg; break;
		case 'p': pin_file = optarg; break;
		case 'm': module = optarg; break;
		case 'K':
			if (devkey_token_parse(optarg, &o.tok) != 0)
				return CLIENT_USAGE;
			o.token = 1;
			break;
		case 'P':
			if (client_parse_protocol(optarg, &o.proto) != 0)
				return CLIENT_USAGE;
			break;
		case 'n':
			if (device_sans_add_dns(&o.sans, optarg) != 0)
				return CLIENT_USAGE;
			break;
		case 'a':
			if (device_sans_add_ip(&o.sans, optarg) != 0)
				return CLIENT_USAGE;
			break;
		case 't':
			if (client_parse_timeout(optarg, &o.timeout) != 0)
				return CLIENT_USAGE;
			break;
		case 'h':
			enroll_usage(stdout);
			return CLIENT_OK;
		default:
			enroll_usage(stderr);
			return CLIENT_USAGE;
		}
	}
	if (optind != argc) {
		client_msg("enroll: unexpected argument %s", argv[optind]);
		return CLIENT_USAGE;
	}
	if (o.gateway == NULL || o.id == NULL || o.out == NULL) {
		client_msg("enroll needs --gateway, --id and --out");
		return CLIENT_USAGE;
	}
	if ((o.fingerprint != NULL) == o.tofu) {
		client_msg("enroll needs exactly one of --fingerprint and --trust-on-first-use");
		return CLIENT_USAGE;
	}
	if (o.fingerprint != NULL && root_norm_fp(o.fingerprint, fp) != 0) {
		client_msg("--fingerprint: want 64 hex digits (colons allowed)");
		return CLIENT_USAGE;
	}
	if (o.id[0] == '\0' || strlen(o.id) > 64) {
		client_msg("--id: want 1 to 64 characters");
		return CLIENT_USAGE;
	}
	if (client_check_label(o.label, o.proto) != 0)
		return CLIENT_USAGE;
	if (o.proto == CLIENT_PROTO_EST && o.http != NULL) {
		client_msg("--http is for --protocol api: EST takes the root from /cacerts");
		return CLIENT_USAGE;
	}
	if (o.secret_file != NULL && o.proto != CLIENT_PROTO_EST) {
		client_msg("--secret-file needs --protocol est");
		return CLIENT_USAGE;
	}
	if (o.bind && o.proto != CLIENT_PROTO_EST) {
		client_msg("--bind needs --protocol est");
		return CLIENT_USAGE;
	}
	if (!o.token && (pin_file != NULL || module != NULL)) {
		client_msg("--pin-file and --pkcs11-module go with --key pkcs11:...");
		return CLIENT_USAGE;
	}
	if (devkey_token_paths(pin_file, module, &o.tok) != 0)
		return CLIENT_USAGE;
	/* HTTP Basic ends the user id at the first ':' (RFC 7617). */
	if (o.secret_file != NULL && strchr(o.id, ':') != NULL) {
		client_msg("--id with ':' cannot go with --secret-file (HTTP Basic)");
		return CLIENT_USAGE;
	}
	rc = enroll_run(&o);
	/* o.tok.url may hold a pin-value. */
	gnutls_memset(&o.tok, 0, sizeof(o.tok));
	return rc;
}
