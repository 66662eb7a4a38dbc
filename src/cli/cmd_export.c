/*
 * cmd_export.c - `lanca export`: a certificate as PEM, the bytes the
 * device got; with --chain followed by the issuing CA, the chain
 * /api/v1/enroll answers (issue_chain_pem: the root is not in it, a
 * verifier holds that as its trust anchor).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/buf.h"
#include "daemon/admin.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "store/store.h"

static void
export_usage(FILE *f)
{
	fprintf(f, "usage: lanca export [--dir DIR] [--chain] SERIAL\n"
		   "       lanca export policy --format FORMAT|all [--out OUTDIR] (--help: the formats)\n"
		   "       lanca export hosts [--format hosts|dnsmasq|unbound] [--out FILE]\n");
}

int
cmd_export(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "chain", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char serial[STORE_SERIAL_MAX];
	const char *dir = NULL;
	struct store_cert *cert = NULL;
	struct store *s = NULL;
	struct ca_set ca;
	struct buf out;
	struct lerr e;
	size_t len;
	int c, chain = 0, rc = CMD_FAILED;

	if (argc > 1 && strcmp(argv[1], "policy") == 0)
		return cmd_export_policy(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "hosts") == 0)
		return cmd_export_hosts(argc - 1, argv + 1);
	memset(&ca, 0, sizeof(ca));
	buf_init(&out, 64 * 1024);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': chain = 1; break;
		case 'h':
			export_usage(stdout);
			return CMD_OK;
		default:
			export_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		export_usage(stderr);
		return CMD_USAGE;
	}
	if (admin_serial_parse(argv[optind], serial, &len, &e) != 0) {
		cmd_error("export", "%s: %s", argv[optind], e.msg);
		export_usage(stderr);
		return CMD_USAGE;
	}
	if (cmd_store_read(cmd_dir(dir), &s, &e) != 0 ||
	    store_cert_by_serial(s, serial, len, &cert, &e) != 0 ||
	    (chain && ca_set_load(s, &ca, &e) != 0)) {
		cmd_error("export", "%s", e.msg);
		goto out;
	}
	/* The chain names the CA that signed it, whichever of the site's. */
	if (chain ? issue_chain_pem(s, cert, &ca, &out, &e) != 0 : issue_cert_pem(cert, &out) != 0) {
		cmd_error("export", "%s", chain ? e.msg : "cannot encode the certificate");
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		cmd_error("export", "cannot write the PEM");
		goto out;
	}
	rc = CMD_OK;
out:
	buf_free(&out);
	ca_set_free(&ca);
	store_cert_free(cert);
	store_close(s);
	return rc;
}
