/*
 * cmd_sign.c - `lanca sign`: an admin signs a request by hand, through
 * the same issuance path as the network (policy, checks, store, audit).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "ca/csr.h"
#include "common/fileio.h"
#include "daemon/issue.h"
#include "ca/keystore.h"
#include "signer/signer.h"
#include "daemon/state.h"
#include "store/store.h"

static void
sign_usage(FILE *f)
{
	fprintf(f, "usage: lanca sign CSRFILE [--days N] [--dir DIR] [--passphrase-file FILE]\n");
}

int
cmd_sign(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'n' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *pass_file = NULL;
	unsigned char *csr = NULL;
	size_t csr_len = 0;
	unsigned long days = 0;
	struct store_cert *cert = NULL;
	struct issue_req req;
	struct cmd_ca ca;
	struct buf out;
	struct lerr e;
	char *end;
	int c, rc = CMD_FAILED;

	memset(&ca, 0, sizeof(ca));
	buf_init(&out, 64 * 1024);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'n':
			errno = 0;
			days = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || days < 1 || days > 825 || optarg[0] == '-') {
				cmd_error("sign", "--days %s: a number of days from 1 to 825", optarg);
				return CMD_USAGE;
			}
			break;
		case 'h':
			sign_usage(stdout);
			return CMD_OK;
		default:
			sign_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		sign_usage(stderr);
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	if (fileio_read(argv[optind], CSR_MAX_BYTES, 0, &csr, &csr_len, &e) != 0) {
		cmd_error("sign", "%s", e.msg);
		goto out;
	}
	if (cmd_ca_open(dir, pass_file, 1, &ca, &e) != 0) {
		cmd_error("sign", "%s", e.msg);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.csr_len = csr_len;
	req.profile = POLICY_DEVICE;
	req.days = (unsigned)days;
	req.actor = "cli";
	if (issue_cert(&ca.is, &req, &cert, &e) != 0) {
		cmd_error("sign", "%s: %s", argv[optind], e.msg);
		goto out;
	}
	if (issue_chain_pem(ca.store, cert, &ca.ca, &out, &e) != 0) {
		cmd_error("sign", "%s", e.msg);
		goto out;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		cmd_error("sign", "cannot write the chain");
		goto out;
	}
	rc = CMD_OK;
out:
	store_cert_free(cert);
	cmd_ca_close(&ca);
	free(csr);
	buf_free(&out);
	return rc;
}
