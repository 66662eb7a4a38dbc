/*
 * cmd_export_policy.c - `lanca export policy --format F|all [--out DIR]`:
 * the files an IT department pushes to put lanca's roots on every desktop
 * (ca/rollout.h writes them; docs/enterprise.md says where each goes).
 *
 * One format writes its files into DIR; `all` writes each format into its
 * own folder DIR/FORMAT, so no two formats' files can collide. Files are
 * replaced atomically; an installer script (a name ending in ".sh") is
 * made executable. The files are daemon/policyfiles.h's: the trust
 * bundle's roots (primary first, then the backup root), the same bytes the
 * onboarding page serves. With --sign, the formats
 * that can carry a signature (Apple's profile) are CMS-signed by a
 * certificate lanca issues for that purpose on the spot, through the same
 * issuance path as `lanca sign` (recorded in the inventory and the audit
 * log); its key is made fresh and never written anywhere.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <gnutls/x509.h>

#include "ca/csr.h"
#include "ca/keystore.h"
#include "ca/policy.h"
#include "ca/rollout.h"
#include "cli/cmd.h"
#include "common/fileio.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "daemon/policyfiles.h"
#include "store/store.h"

#define POLICY_DIR_MAX		4096
#define POLICY_SIGNER_CN	"lanca-profile-signer"
#define POLICY_SIGNER_DAYS	365

static void
export_policy_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: lanca export policy [--dir DIR] --format FORMAT|all [--out OUTDIR]\n"
		   "                          [--sign [--passphrase-file FILE]]\n"
		   "formats:\n");
	for (i = 0; i < rollout_nformats; i++)
		fprintf(f, "  %-10s %s\n", rollout_formats[i].name, rollout_formats[i].what);
	fprintf(f, "  %-10s every format, each in OUTDIR/FORMAT\n", "all");
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

/* Makes dir unless it is there already (0755: the files are public). */
static int
export_policy_mkdir(const char *dir, struct lerr *e)
{
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return lerr_set(e, LERR_BAD_REQUEST, "%s: %s", dir, errno == EEXIST ?
			"not a directory" : strerror(errno));
}

/* Runs format f over the bundle in s and writes its files into dir,
 * naming each on stdout. */
static int
export_policy_one(struct store *s, const struct rollout_format *f,
		  const struct rollout_signer *signer, const char *dir, struct lerr *e)
{
	struct rollout_file files[ROLLOUT_FILES_MAX];
	char path[POLICY_DIR_MAX];
	size_t n = 0, i, l;
	mode_t mode;
	int rc = -1;

	memset(files, 0, sizeof(files));
	if (policyfiles_make(s, f, signer, files, ROLLOUT_FILES_MAX, &n, e) != 0 ||
	    export_policy_mkdir(dir, e) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (fileio_join(path, sizeof(path), dir, files[i].name) != 0) {
			lerr_set(e, LERR_BAD_REQUEST, "%s: path too long", dir);
			goto out;
		}
		l = strlen(files[i].name);
		mode = l > 3 && strcmp(files[i].name + l - 3, ".sh") == 0 ? 0755 : 0644;
		if (fileio_write_atomic(path, files[i].data.data, files[i].data.size, mode, 0, e) != 0)
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
	const struct rollout_format *f = NULL;
	const char *dir = NULL, *format = NULL, *outdir = ".", *pass_file = NULL;
	char sub[POLICY_DIR_MAX];
	struct policy_signer sg;
	struct store *s = NULL;
	struct lerr e;
	size_t i;
	int c, all, sign = 0, rc = CMD_FAILED;

	memset(&sg, 0, sizeof(sg));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': format = optarg; break;
		case 'o': outdir = optarg; break;
		case 's': sign = 1; break;
		case 'p': pass_file = optarg; break;
		case 'h':
			export_policy_usage(stdout);
			return CMD_OK;
		default:
			export_policy_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc || format == NULL) {
		export_policy_usage(stderr);
		return CMD_USAGE;
	}
	all = strcmp(format, "all") == 0;
	if (!all && (f = rollout_find(format)) == NULL) {
		cmd_error("export policy", "unknown format \"%s\"", format);
		export_policy_usage(stderr);
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
	dir = cmd_dir(dir);
	if (cmd_store_read(dir, &s, &e) != 0 ||
	    (sign && policy_signer(dir, pass_file, &sg, &e) != 0)) {
		cmd_error("export policy", "%s", e.msg);
		goto out;
	}
	if (!all) {
		if (export_policy_one(s, f, sign && f->signable ? &sg.rs : NULL, outdir, &e) != 0) {
			cmd_error("export policy", "%s: %s", f->name, e.msg);
			goto out;
		}
	} else {
		if (export_policy_mkdir(outdir, &e) != 0) {
			cmd_error("export policy", "%s", e.msg);
			goto out;
		}
		for (i = 0; i < rollout_nformats; i++) {
			f = &rollout_formats[i];
			if (fileio_join(sub, sizeof(sub), outdir, f->name) != 0) {
				cmd_error("export policy", "%s: path too long", outdir);
				goto out;
			}
			if (export_policy_one(s, f, sign && f->signable ? &sg.rs : NULL, sub,
					      &e) != 0) {
				cmd_error("export policy", "%s: %s", f->name, e.msg);
				goto out;
			}
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
	store_close(s);
	return rc;
}
