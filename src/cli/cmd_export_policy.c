/*
 * cmd_export_policy.c - `lanca export policy --format F|all [--out DIR]`:
 * the files an IT department pushes to put lanca's roots on every desktop
 * (ca/rollout.h writes them; docs/enterprise.md says where each goes).
 *
 * One format writes its files into DIR; `all` writes each format into its
 * own folder DIR/FORMAT, so no two formats' files can collide. Files are
 * replaced atomically; an installer script (a name ending in ".sh") is
 * made executable.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <gnutls/x509.h>

#include "ca/policy.h"
#include "ca/rollout.h"
#include "cli/cmd.h"
#include "common/fileio.h"
#include "daemon/state.h"
#include "store/store.h"

#define POLICY_DIR_MAX	4096

static void
export_policy_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: lanca export policy [--dir DIR] --format FORMAT|all [--out OUTDIR]\n"
		   "formats:\n");
	for (i = 0; i < rollout_nformats; i++)
		fprintf(f, "  %-10s %s\n", rollout_formats[i].name, rollout_formats[i].what);
	fprintf(f, "  %-10s every format, each in OUTDIR/FORMAT\n", "all");
}

/* The roots devices should trust, primary first, with the CA's name and
 * the roots' permitted name space: today the active root of dir's store,
 * as `lanca export` and `lanca status` read it (ca_set_load). The caller
 * frees roots[0..*n) and permitted. 0 or -1 with e. */
static int
policy_roots(const char *dir, gnutls_x509_crt_t roots[ROLLOUT_ROOTS_MAX], size_t *n,
	     char ca_name[256], struct policy *permitted, struct lerr *e)
{
	struct store *s = NULL;
	struct ca_set ca;
	size_t len = 256;
	int rc = -1;

	memset(&ca, 0, sizeof(ca));
	*n = 0;
	if (cmd_store_read(dir, &s, e) != 0 || ca_set_load(s, &ca, e) != 0)
		goto out;
	if (gnutls_x509_crt_init(&roots[0]) < 0) {
		roots[0] = NULL;
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	*n = 1;
	if (gnutls_x509_crt_import(roots[0], &ca.root_der, GNUTLS_X509_FMT_DER) < 0) {
		lerr_set(e, LERR_INTERNAL, "the store's root does not parse");
		goto out;
	}
	/* The display name is the root's CN; a root without one goes by its DN. */
	if (gnutls_x509_crt_get_dn_by_oid(roots[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0,
					  ca_name, &len) < 0)
		snprintf(ca_name, 256, "%s", ca.root_subject);
	if (policy_from_ca(permitted, roots[0], e) != 0)
		goto out;
	rc = 0;
out:
	ca_set_free(&ca);
	store_close(s);
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

/* Runs format f and writes its files into dir, naming each on stdout. */
static int
export_policy_one(const struct rollout_format *f, const struct rollout_in *in, const char *dir,
		  struct lerr *e)
{
	struct rollout_file files[ROLLOUT_FILES_MAX];
	char path[POLICY_DIR_MAX];
	size_t n = 0, i, l;
	mode_t mode;
	int rc = -1;

	memset(files, 0, sizeof(files));
	if (f->write(in, files, ROLLOUT_FILES_MAX, &n, e) != 0 || export_policy_mkdir(dir, e) != 0)
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	gnutls_x509_crt_t roots[ROLLOUT_ROOTS_MAX];
	const struct rollout_format *f = NULL;
	const char *dir = NULL, *format = NULL, *outdir = ".";
	char ca_name[256], sub[POLICY_DIR_MAX];
	struct rollout_in in;
	struct policy pol;
	struct lerr e;
	size_t n = 0, i;
	int c, all, rc = CMD_FAILED;

	memset(roots, 0, sizeof(roots));
	memset(&pol, 0, sizeof(pol));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': format = optarg; break;
		case 'o': outdir = optarg; break;
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
	if (policy_roots(cmd_dir(dir), roots, &n, ca_name, &pol, &e) != 0) {
		cmd_error("export policy", "%s", e.msg);
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.roots = roots;
	in.n = n;
	in.ca_name = ca_name;
	in.permitted = &pol.permitted;
	if (!all) {
		if (export_policy_one(f, &in, outdir, &e) != 0) {
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
			if (export_policy_one(f, &in, sub, &e) != 0) {
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
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(roots[i]);
	policy_free(&pol);
	return rc;
}
