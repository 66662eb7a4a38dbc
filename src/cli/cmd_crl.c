/*
 * cmd_crl.c - `lanca crl [--dir DIR] [--der]`: the newest CRL the CA
 * made, from the store (no daemon needed), as PEM on standard output, or
 * as DER with --der (what /crl serves).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>

#include "ca/crl.h"
#include "cli/cmd.h"
#include "daemon/revocation.h"

static void
crl_usage(FILE *f)
{
	fprintf(f, "usage: lanca crl [--dir DIR] [--der]\n");
}

int
cmd_crl(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "der", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct revocation_crl c;
	gnutls_datum_t pem = { NULL, 0 };
	struct cmd_ca ca;
	struct lerr e;
	int opt, der = 0, open = 0, rc = CMD_FAILED;

	memset(&c, 0, sizeof(c));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'D': der = 1; break;
		case 'h':
			crl_usage(stdout);
			return CMD_OK;
		default:
			crl_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		crl_usage(stderr);
		return CMD_USAGE;
	}
	if (cmd_ca_open(cmd_dir(dir), NULL, 0, &ca, &e) != 0)
		goto fail;
	open = 1;
	if (revocation_newest(ca.store, ca.ca.issuing_id, &c, &e) != 0) {
		if (e.code == LERR_NOT_FOUND)
			lerr_set(&e, LERR_NOT_FOUND, "no CRL was made yet: `lanca serve` makes "
				 "the first when it starts");
		goto fail;
	}
	if (der) {
		if (fwrite(c.der, 1, c.der_len, stdout) != c.der_len)
			goto write;
	} else {
		if (crl_pem(c.der, c.der_len, &pem) != 0) {
			lerr_set(&e, LERR_INTERNAL, "cannot encode the CRL as PEM");
			goto fail;
		}
		if (fwrite(pem.data, 1, pem.size, stdout) != pem.size)
			goto write;
	}
	if (fflush(stdout) != 0)
		goto write;
	rc = CMD_OK;
	goto out;
write:
	lerr_set(&e, LERR_INTERNAL, "cannot write the CRL");
fail:
	cmd_error("crl", "%s", e.msg);
out:
	gnutls_free(pem.data);
	revocation_crl_clear(&c);
	if (open)
		cmd_ca_close(&ca);
	return rc;
}
