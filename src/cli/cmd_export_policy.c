/*
 * cmd_export_policy.c - `lanca export policy`: the enterprise policy
 * files that push lanca's roots to a fleet (ca/rollout.h's formats),
 * written into a directory. With --sign, the formats that can carry a
 * signature (Apple's profile) are CMS-signed by a certificate lanca
 * issues for that purpose on the spot, through the same issuance path
 * as `lanca sign` (recorded in the inventory and the audit log); its key
 * is made fresh and never written anywhere.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ca/csr.h"
#include "ca/keystore.h"
#include "ca/rollout.h"
#include "cli/cmd.h"
#include "common/fileio.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "store/store.h"

#define POLICY_SIGNER_CN	"lanca-profile-signer"
#define POLICY_SIGNER_DAYS	365

static void
policy_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: lanca export policy --format FORMAT|all [--out DIR] [--dir DIR]\n"
		   "                          [--sign [--passphrase-file FILE]]\n"
		   "formats:\n");
	for (i = 0; i < rollout_nformats; i++)
		fprintf(f, "  %-10s %s\n", rollout_formats[i].name, rollout_formats[i].what);
}

/* The roots to push, primary first, read the way `lanca export` and
 * `lanca status` read them (the active root), with the CA's name and
 * the root's name constraints. roots[0] and permitted are the caller's
 * (gnutls_x509_crt_deinit, policy_free). */
static int
policy_roots(const char *dir, gnutls_x509_crt_t *roots, size_t *n, char *name, size_t size,
	     struct policy *permitted, struct lerr *e)
{
	struct store *s = NULL;
	struct ca_set ca;
	size_t len = size - 1;
	int rc = -1;

	memset(&ca, 0, sizeof(ca));
	*n = 0;
	if (cmd_store_read(dir, &s, e) != 0 || ca_set_load(s, &ca, e) != 0)
		goto out;
	if (gnutls_x509_crt_init(&roots[0]) < 0 ||
	    gnutls_x509_crt_import(roots[0], &ca.root_der, GNUTLS_X509_FMT_DER) < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot read the root certificate");
		goto out;
	}
	*n = 1;
	if (gnutls_x509_crt_get_dn_by_oid(roots[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0, name,
					  &len) < 0)
		snprintf(name, size, "lanca");
	if (policy_from_ca(permitted, roots[0], e) != 0)
		goto out;
	rc = 0;
out:
	ca_set_free(&ca);
	store_close(s);
	return rc;
}

/* A profile signer: a fresh key and a certificate for it issued by the
 * issuing CA, its chain being the issuing CA. sg's fields are the
 * caller's (policy_signer_free). */
struct policy_signer {
	struct cmd_ca ca;
	gnutls_x509_crt_t crt, chain[1];
	gnutls_privkey_t key;
	struct rollout_signer rs;
};

static void
policy_signer_free(struct policy_signer *sg)
{
	if (sg->crt != NULL)
		gnutls_x509_crt_deinit(sg->crt);
	if (sg->chain[0] != NULL)
		gnutls_x509_crt_deinit(sg->chain[0]);
	gnutls_privkey_deinit(sg->key);
	cmd_ca_close(&sg->ca);
}

static int
policy_signer(const char *dir, const char *pass_file, struct policy_signer *sg, struct lerr *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t csr = { NULL, 0 }, der;
	struct store_cert *cert = NULL;
	struct issue_req req;
	struct names none;
	int rc = -1;

	memset(sg, 0, sizeof(*sg));
	names_init(&none);
	if (cmd_ca_open(dir, pass_file, 1, &sg->ca, e) != 0 ||
	    keystore_generate(KEYSTORE_ECDSA_P256, &key, e) != 0 ||
	    csr_make(key, POLICY_SIGNER_CN, &none, &csr, e) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.csr = csr.data;
	req.csr_len = csr.size;
	req.profile = POLICY_DEVICE;
	req.days = POLICY_SIGNER_DAYS;
	req.actor = "cli";
	if (issue_cert(&sg->ca.is, &req, &cert, e) != 0)
		goto out;
	der.data = cert->der;
	der.size = (unsigned)cert->der_len;
	if (gnutls_x509_crt_init(&sg->crt) < 0 ||
	    gnutls_x509_crt_import(sg->crt, &der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_init(&sg->chain[0]) < 0 ||
	    gnutls_x509_crt_import(sg->chain[0], &sg->ca.ca.issuing_der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_privkey_init(&sg->key) < 0 ||
	    gnutls_privkey_import_x509(sg->key, key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
		lerr_set(e, LERR_INTERNAL, "cannot load the profile signer");
		goto out;
	}
	key = NULL;
	sg->rs.crt = sg->crt;
	sg->rs.key = sg->key;
	sg->rs.chain = (const gnutls_x509_crt_t *)sg->chain;
	sg->rs.nchain = 1;
	rc = 0;
out:
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	gnutls_free(csr.data);
	store_cert_free(cert);
	return rc;
}

/* Runs format f and writes its files into out_dir, one line each on
 * stdout. */
static int
policy_write(const struct rollout_format *f, const struct rollout_in *in, const char *out_dir,
	     struct lerr *e)
{
	struct rollout_file files[ROLLOUT_FILES_MAX];
	char path[STATE_PATH_MAX];
	size_t n = 0, i;
	int rc = -1;

	if (f->write(in, files, ROLLOUT_FILES_MAX, &n, e) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (state_path(path, out_dir, files[i].name) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "%s: path too long", out_dir);
			goto out;
		}
		/* Shell scripts are run as they are; the rest are documents. */
		if (fileio_write_atomic(path, files[i].data.data, files[i].data.size,
					strstr(files[i].name, ".sh") != NULL ? 0755 : 0644, 0,
					e) != 0)
			goto out;
		printf("%s\n", path);
	}
	rc = 0;
out:
	rollout_files_free(files, n);
	return rc;
}

int
cmd_export_policy(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "sign", no_argument, NULL, 's' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *format = NULL, *out_dir = ".", *pass_file = NULL;
	const struct rollout_format *f = NULL;
	gnutls_x509_crt_t roots[1] = { NULL };
	struct policy_signer sg;
	struct policy permitted;
	struct rollout_in in;
	char name[256];
	struct stat st;
	struct lerr e;
	size_t i, n = 0;
	int c, sign = 0, rc = CMD_FAILED;

	memset(&sg, 0, sizeof(sg));
	memset(&permitted, 0, sizeof(permitted));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': format = optarg; break;
		case 'o': out_dir = optarg; break;
		case 's': sign = 1; break;
		case 'p': pass_file = optarg; break;
		case 'h':
			policy_usage(stdout);
			return CMD_OK;
		default:
			policy_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc || format == NULL) {
		policy_usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(format, "all") != 0 && (f = rollout_find(format)) == NULL) {
		cmd_error("export policy", "--format %s: unknown format (see --help)", format);
		return CMD_USAGE;
	}
	/* A signer is a certificate issued for nothing: only where it is used. */
	if (sign && f != NULL && !f->signable) {
		cmd_error("export policy", "--sign: the %s format is not signed", f->name);
		return CMD_USAGE;
	}
	if (pass_file != NULL && !sign) {
		cmd_error("export policy", "--passphrase-file is for --sign");
		return CMD_USAGE;
	}
	if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cmd_error("export policy", "--out %s: not a directory", out_dir);
		return CMD_USAGE;
	}
	dir = cmd_dir(dir);
	if (policy_roots(dir, roots, &n, name, sizeof(name), &permitted, &e) != 0 ||
	    (sign && policy_signer(dir, pass_file, &sg, &e) != 0)) {
		cmd_error("export policy", "%s", e.msg);
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.roots = (const gnutls_x509_crt_t *)roots;
	in.n = n;
	in.ca_name = name;
	in.permitted = &permitted.permitted;
	for (i = 0; i < rollout_nformats; i++) {
		if (f != NULL && f != &rollout_formats[i])
			continue;
		in.signer = sign && rollout_formats[i].signable ? &sg.rs : NULL;
		if (policy_write(&rollout_formats[i], &in, out_dir, &e) != 0) {
			cmd_error("export policy", "%s: %s", rollout_formats[i].name, e.msg);
			goto out;
		}
	}
	if (fflush(stdout) != 0) {
		cmd_error("export policy", "cannot write to stdout");
		goto out;
	}
	rc = CMD_OK;
out:
	if (sign)
		policy_signer_free(&sg);
	if (roots[0] != NULL)
		gnutls_x509_crt_deinit(roots[0]);
	policy_free(&permitted);
	return rc;
}
