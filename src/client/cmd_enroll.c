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
#include "client/exchange.h"
#include "client/root.h"
#include "common/lerr.h"

struct enroll_opts {
	const char *gateway, *id, *out, *fingerprint, *http;
	struct device_sans sans;
	int tofu;
	long timeout;
};

/* The files enroll writes besides the key, in the order it writes them. */
static const char *const enroll_files[] = { "cert.pem", "chain.pem", "root.pem", "gateway.url" };
#define ENROLL_N_FILES	(sizeof(enroll_files) / sizeof(enroll_files[0]))

/* What this run added to the output directory, so that a failure can take
 * it away again and nothing else. */
struct enroll_undo {
	int made_dir;			/* the directory did not exist */
	int made_key;			/* key.pem.new is this run's and nobody else knows it */
	int made[ENROLL_N_FILES];	/* enroll_files[i] did not exist and was written */
	int kept_key;			/* the gateway may hold key.pem.new: it stays */
	int done;			/* key.pem is in place: nothing to undo */
};

static void
enroll_usage(FILE *f)
{
	fputs("usage: lanca-enroll enroll --gateway https://HOST[:PORT] --id DEVICE_ID --out DIR\n"
	      "                           (--fingerprint SHA256 | --trust-on-first-use)\n"
	      "                           [--name NAME.local]... [--ip IP]... [--http URL] [--timeout S]\n"
	      "\n"
	      "Makes a key and gets it a certificate from the gateway. The root is fetched\n"
	      "from --http (default http://HOST/ca.crt) and checked against --fingerprint,\n"
	      "the SHA-256 the gateway shows, before anything is sent.\n"
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
		device_file_remove(out, "key.pem.new");
	/* rmdir, not a tree removal: anything someone else put there stays. */
	if (!u->kept_key && u->made_dir && rmdir(out) != 0)
		client_msg("%s: cannot remove: %s", out, strerror(errno));
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
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t root = { NULL, 0 }, csr = { NULL, 0 };
	unsigned char *pem = NULL;
	size_t pem_len = 0, i;
	char url[1100];
	double start = client_now();
	int rc = CLIENT_FAIL, w;

	memset(&undo, 0, sizeof(undo));
	lerr_clear(&e);
	if (httpc_url_parse(o->gateway, &gw, &e) != 0 || !gw.tls) {
		client_msg("--gateway %s: %s", o->gateway, gw.tls ? e.msg : "must be an https:// URL");
		return CLIENT_USAGE;
	}
	if (device_file_exists(o->out, "key.pem")) {
		client_msg("%s already holds key.pem: this device is enrolled (use renew), or "
			   "choose another --out", o->out);
		goto out;
	}
	if (root_fetch(o->http, &gw, o->fingerprint, o->timeout, &root) != 0)
		goto out;

	/* The directory appears only once the root is settled. */
	if (mkdir(o->out, 0700) == 0) {
		undo.made_dir = 1;
	} else if (errno != EEXIST) {
		client_msg("%s: %s", o->out, strerror(errno));
		goto out;
	}
	/* A key left from an enrollment that was still pending is used again,
	 * so that the request an admin approves is the one we ask about. */
	if (device_file_exists(o->out, "key.pem.new")) {
		if (device_key_load(o->out, "key.pem.new", &key) != 0)
			goto out;
		client_msg("using the key from the earlier attempt (%s/key.pem.new)", o->out);
	} else {
		if (device_keygen(&key) != 0)
			goto out;
		undo.made_key = 1;
		if (device_key_write(key, o->out, "key.pem.new") != 0)
			goto out;
	}
	if (device_csr(key, o->id, &o->sans, &csr) != 0)
		goto out;
	if (exchange_connect(o->gateway, &root, NULL, NULL, o->timeout, &c) != 0)
		goto out;
	rc = exchange_run(c, &gw, "/api/v1/enroll", &csr, o->timeout, start, &pem, &pem_len,
			  &undo.kept_key);
	if (rc != CLIENT_OK)
		goto out;
	rc = CLIENT_FAIL;
	if (device_chain_check(pem, pem_len, key, &root, &chain) != 0)
		goto out;
	w = snprintf(url, sizeof(url), "%s\n", o->gateway);
	if (w < 0 || (size_t)w >= sizeof(url)) {
		client_msg("--gateway: too long");
		goto out;
	}
	for (i = 0; i < ENROLL_N_FILES; i++)
		undo.made[i] = !device_file_exists(o->out, enroll_files[i]);
	/* The key becomes key.pem last: a crash before it leaves key.pem.new,
	 * which the next run uses again. */
	if (device_chain_write(&chain, o->out, "cert.pem", "chain.pem") != 0 ||
	    device_file_write(o->out, "root.pem", root.data, root.size, 0644) != 0 ||
	    device_file_write(o->out, "gateway.url", url, (size_t)w, 0644) != 0 ||
	    device_file_rename(o->out, "key.pem.new", "key.pem") != 0)
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
			client_msg("keeping %s/key.pem.new: the gateway may hold a request for it; "
				   "run this again to go on with the same key", o->out);
	}
	device_chain_free(&chain);
	httpc_close(c);
	free(pem);
	gnutls_free(csr.data);
	gnutls_free(root.data);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct enroll_opts o;
	char fp[65];
	int ch;

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
		case 'H': o.http = optarg; break;
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
	return enroll_run(&o);
}
