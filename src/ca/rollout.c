/*
 * rollout.c - the table of policy-file formats, what the writers share, and
 * the Linux writer (see rollout.h). The other writers are in rollout_*.c.
 *
 * Linux: each root as a PEM .crt (update-ca-certificates links and
 * concatenates whatever a .crt holds, so DER would corrupt the system
 * bundle), and a POSIX sh installer that carries the same PEM inline,
 * finds the distribution's anchor folder, runs its update command and then
 * checks that the system bundle holds every root.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ca/rollout.h"
#include "ca/x509.h"
#include "common/buf.h"

#define ROLLOUT_SCRIPT		"install-lanca-roots.sh"
#define ROLLOUT_SCRIPT_MAX	(64 * 1024)

const struct rollout_format rollout_formats[] = {
	{ "linux", "Linux system store: a PEM .crt per root and " ROLLOUT_SCRIPT,
	  rollout_write_linux, 0 },
	{ "firefox", "Firefox policies.json (Certificates.Install; p11-kit on Linux)",
	  rollout_write_firefox, 0 },
	{ "chrome", "Chrome/Chromium/Edge managed policy (CACertificatesWithConstraints)",
	  rollout_write_chrome, 0 },
	{ "windows", "Windows: .reg (Root store), Group Policy Registry.pol, PowerShell/certutil script",
	  rollout_write_windows, 0 },
	{ "apple", "Apple .mobileconfig (iOS, iPadOS, macOS), CMS-signed with --sign",
	  rollout_write_apple, 1 },
	{ "java", "Java PKCS#12 truststore and the keytool commands", rollout_write_java, 0 },
	{ "chromeos", "ChromeOS ONC file (Authority certificates trusted for Web)",
	  rollout_write_chromeos, 0 },
	{ "android", "Android CA certificate (.crt, DER) with instructions", rollout_write_android, 0 },
};
const size_t rollout_nformats = sizeof(rollout_formats) / sizeof(rollout_formats[0]);

const struct rollout_format *
rollout_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < rollout_nformats; i++)
		if (strcmp(rollout_formats[i].name, name) == 0)
			return &rollout_formats[i];
	return NULL;
}

void
rollout_files_free(struct rollout_file *f, size_t n)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < n; i++) {
		gnutls_free(f[i].data.data);
		memset(&f[i], 0, sizeof(f[i]));
	}
}

int
rollout_file_add(struct rollout_file *out, size_t max, size_t *n, const char *name,
		 const void *data, size_t len, struct lerr *e)
{
	struct rollout_file *f;
	size_t nl;

	if (out == NULL || n == NULL || *n >= max)
		return lerr_set(e, LERR_INTERNAL, "policy files: more files than room for them");
	nl = name == NULL ? 0 : strlen(name);
	/* The CLI joins the name to a directory: only a plain name may pass. */
	if (nl == 0 || nl >= sizeof(f->name) || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return lerr_set(e, LERR_INTERNAL, "policy files: bad file name");
	if (len > ROLLOUT_FILE_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "policy file %s: %zu bytes, more than %d", name,
				len, ROLLOUT_FILE_MAX);
	f = &out[*n];
	memset(f, 0, sizeof(*f));
	f->data.data = gnutls_malloc(len + 1);
	if (f->data.data == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	if (len > 0)
		memcpy(f->data.data, data, len);
	f->data.data[len] = '\0';
	f->data.size = (unsigned)len;
	memcpy(f->name, name, nl + 1);
	(*n)++;
	return 0;
}

int
rollout_in_check(const struct rollout_in *in, struct lerr *e)
{
	unsigned ca = 0;
	size_t i;

	if (in == NULL || in->roots == NULL || in->n == 0)
		return lerr_set(e, LERR_INTERNAL, "policy files: no root to ship");
	if (in->n > ROLLOUT_ROOTS_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "policy files: %zu roots, at most %d",
				in->n, ROLLOUT_ROOTS_MAX);
	for (i = 0; i < in->n; i++) {
		if (in->roots[i] == NULL)
			return lerr_set(e, LERR_INTERNAL, "policy files: root %zu missing", i + 1);
		if (gnutls_x509_crt_get_basic_constraints(in->roots[i], NULL, &ca, NULL) < 0 || !ca)
			return lerr_set(e, LERR_BAD_REQUEST, "policy files: root %zu is not a CA "
					"certificate", i + 1);
	}
	return 0;
}

int
rollout_add_buf(struct rollout_file *out, size_t max, size_t *n, const char *name, struct buf *b,
		struct lerr *e)
{
	int rc;

	if (buf_failed(b))
		rc = lerr_set(e, LERR_TOO_LARGE, "policy file %s: more than %d bytes", name,
			      ROLLOUT_FILE_MAX);
	else
		rc = rollout_file_add(out, max, n, name, b->data, b->len, e);
	buf_free(b);
	return rc;
}

int
rollout_der(const struct rollout_in *in, size_t i, gnutls_datum_t *der, struct lerr *e)
{
	if (gnutls_x509_crt_export2(in->roots[i], GNUTLS_X509_FMT_DER, der) < 0)
		return lerr_set(e, LERR_INTERNAL, "cannot encode root %zu", i + 1);
	return 0;
}

int
rollout_fp(const struct rollout_in *in, size_t i, gnutls_digest_algorithm_t algo, char *out,
	   size_t size, struct lerr *e)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[64];
	size_t len = sizeof(md), k;

	if (gnutls_x509_crt_get_fingerprint(in->roots[i], algo, md, &len) < 0 ||
	    2 * len + 1 > size)
		return lerr_set(e, LERR_INTERNAL, "cannot take root %zu's fingerprint", i + 1);
	for (k = 0; k < len; k++) {
		out[2 * k] = hex[md[k] >> 4];
		out[2 * k + 1] = hex[md[k] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int
rollout_b64(struct buf *b, const unsigned char *data, size_t len)
{
	gnutls_datum_t raw = { (unsigned char *)(uintptr_t)data, (unsigned)len }, t;
	int rc;

	if (len > (size_t)0x3fffffff || gnutls_base64_encode2(&raw, &t) < 0)
		return -1;
	rc = buf_append(b, t.data, t.size);
	gnutls_free(t.data);
	return rc;
}

int
rollout_root_filename(gnutls_x509_crt_t root, char out[64], struct lerr *e)
{
	char fp[65];

	if (x509_fingerprint(root, fp) != 0)
		return lerr_set(e, LERR_INTERNAL, "cannot compute a root's fingerprint");
	snprintf(out, 64, "lanca-%.12s.crt", fp);
	return 0;
}

int
rollout_add_root_files(const struct rollout_in *in, struct rollout_file *out, size_t max,
		       size_t *n, struct lerr *e)
{
	gnutls_datum_t pem = { NULL, 0 };
	char name[64];
	size_t i;
	int rc = -1;

	for (i = 0; i < in->n; i++) {
		if (rollout_root_filename(in->roots[i], name, e) != 0)
			goto out;
		if (x509_export_pem(in->roots[i], &pem) != 0) {
			lerr_set(e, LERR_INTERNAL, "cannot export root %zu as PEM", i + 1);
			goto out;
		}
		if (rollout_file_add(out, max, n, name, pem.data, pem.size, e) != 0)
			goto out;
		gnutls_free(pem.data);
		pem.data = NULL;
	}
	rc = 0;
out:
	gnutls_free(pem.data);
	return rc;
}

/* Appends s to b for a shell comment: anything but printable ASCII
 * becomes '?', so a CA name can neither end the comment nor smuggle a
 * command onto a line of its own. */
static int
rollout_sh_comment(struct buf *b, const char *s)
{
	char c;

	for (; s != NULL && *s != '\0'; s++) {
		c = *s >= 0x20 && *s < 0x7f ? *s : '?';
		if (buf_append(b, &c, 1) != 0)
			return -1;
	}
	return 0;
}

/* The last full 64-column base64 line of a PEM: it encodes signature
 * bytes, so it names this certificate and no other in a system bundle
 * (which holds the same lines: both update commands copy PEM as it is, or
 * re-encode the same DER at the same width). */
static int
rollout_pem_probe(const gnutls_datum_t *pem, char out[65])
{
	const char *p = (const char *)pem->data, *end = p + pem->size, *nl;
	int found = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl - p == 64 && memchr(p, '-', 64) == NULL) {
			memcpy(out, p, 64);
			out[64] = '\0';
			found = 1;
		}
		p = nl + 1;
	}
	return found ? 0 : -1;
}

/* The installer's fixed parts; the roots go between head and tail. */
static const char rollout_sh_usage[] =
	"#\n"
	"# Finds the distribution's anchor folder, writes each root there as PEM,\n"
	"# runs the update command and checks that the system bundle holds every\n"
	"# root:\n"
	"#   Fedora, RHEL, CentOS  /etc/pki/ca-trust/source/anchors   update-ca-trust extract\n"
	"#   Debian, Ubuntu        /usr/local/share/ca-certificates   update-ca-certificates\n"
	"#   openSUSE, SLES        /usr/share/pki/trust/anchors       update-ca-certificates\n"
	"#   Arch                  /etc/ca-certificates/trust-source/anchors  trust extract-compat\n"
	"# Run as root. Removing a root: delete its file, then update-ca-certificates\n"
	"# --fresh (Debian) or update-ca-trust extract (Fedora).\n"
	"#\n"
	"# usage: sh " ROLLOUT_SCRIPT " [--root DIR]\n"
	"#   --root DIR  install into the system tree at DIR (an image being built)\n"
	"set -eu\n"
	"\n"
	"usage() {\n"
	"\techo \"usage: $0 [--root DIR]\" >&2\n"
	"\texit 2\n"
	"}\n"
	"root=\n"
	"case $# in\n"
	"0) ;;\n"
	"2) [ \"$1\" = --root ] || usage; root=${2%/} ;;\n"
	"*) usage ;;\n"
	"esac\n"
	"\n"
	"if [ -d \"$root/etc/pki/ca-trust/source/anchors\" ]; then\n"
	"\tfamily=fedora anchors=$root/etc/pki/ca-trust/source/anchors\n"
	"\tbundle=$root/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem\n"
	"\tupdate=\"update-ca-trust extract\"\n"
	"elif [ -d \"$root/usr/local/share/ca-certificates\" ]; then\n"
	"\tfamily=debian anchors=$root/usr/local/share/ca-certificates\n"
	"\tbundle=$root/etc/ssl/certs/ca-certificates.crt\n"
	"\tupdate=update-ca-certificates\n"
	"elif [ -d \"$root/usr/share/pki/trust/anchors\" ]; then\n"
	"\tfamily=suse anchors=$root/usr/share/pki/trust/anchors\n"
	"\tbundle=$root/var/lib/ca-certificates/ca-bundle.pem\n"
	"\tupdate=update-ca-certificates\n"
	"elif [ -d \"$root/etc/ca-certificates/trust-source/anchors\" ]; then\n"
	"\tfamily=arch anchors=$root/etc/ca-certificates/trust-source/anchors\n"
	"\tbundle=$root/etc/ssl/certs/ca-certificates.crt\n"
	"\tupdate=\"trust extract-compat\"\n"
	"else\n"
	"\techo \"$0: no CA anchor folder of a known distribution under ${root:-/}\" >&2\n"
	"\texit 1\n"
	"fi\n"
	"\n"
	"# put NAME: the PEM on stdin becomes $anchors/NAME, replaced in one step.\n"
	"# The temporary name does not end in .crt, so no update command reads it.\n"
	"put() {\n"
	"\tcat >\"$anchors/.$1.tmp\"\n"
	"\tchmod 644 \"$anchors/.$1.tmp\"\n"
	"\tmv -f \"$anchors/.$1.tmp\" \"$anchors/$1\"\n"
	"}\n"
	"\n";

static const char rollout_sh_update[] =
	"\n"
	"# Debian's update-ca-certificates is pointed at another tree folder by\n"
	"# folder (--sysroot is newer than bookworm's first releases, and an\n"
	"# unknown option only prints usage and exits 0); the others run inside it.\n"
	"if [ -z \"$root\" ]; then\n"
	"\t$update\n"
	"elif [ $family = debian ]; then\n"
	"\tupdate-ca-certificates --certsconf \"$root/etc/ca-certificates.conf\" \\\n"
	"\t\t--certsdir \"$root/usr/share/ca-certificates\" --localcertsdir \"$anchors\" \\\n"
	"\t\t--etccertsdir \"$root/etc/ssl/certs\" --hooksdir \"$root/etc/ca-certificates/update.d\"\n"
	"else\n"
	"\t# shellcheck disable=SC2086 # $update is a command and its argument\n"
	"\tchroot \"$root\" $update\n"
	"fi\n"
	"\n"
	"missing=0\n"
	"# held NAME LINE: LINE is the root's last full base64 line.\n"
	"held() {\n"
	"\tif ! grep -qF \"$2\" \"$bundle\" 2>/dev/null; then\n"
	"\t\techo \"$0: $bundle does not hold $1 after $update\" >&2\n"
	"\t\tmissing=1\n"
	"\tfi\n"
	"}\n";

/* The installer: usage and detection, a put() per root with its PEM
 * inline, the update command, and a held() per root. */
static int
rollout_linux_script(const struct rollout_in *in, struct buf *b, struct lerr *e)
{
	gnutls_datum_t pem = { NULL, 0 };
	char name[64], fp[96], subject[256], probe[65];
	size_t i;
	int rc = -1;

	if (buf_puts(b, "#!/bin/sh\n# " ROLLOUT_SCRIPT " - trust the roots of ") != 0 ||
	    rollout_sh_comment(b, in->ca_name) != 0 ||
	    buf_puts(b, " on this Linux machine.\n"
		     "# Made by `lanca export policy --format linux` (docs/enterprise.md).\n"
		     "#\n# Roots (SHA-256 fingerprint):\n") != 0)
		goto nomem;
	for (i = 0; i < in->n; i++) {
		if (rollout_root_filename(in->roots[i], name, e) != 0)
			goto out;
		if (x509_fingerprint_colon(in->roots[i], fp) != 0 ||
		    x509_subject(in->roots[i], subject, sizeof(subject)) != 0) {
			lerr_set(e, LERR_INTERNAL, "cannot read root %zu", i + 1);
			goto out;
		}
		if (buf_printf(b, "#   %s  ", name) != 0 || rollout_sh_comment(b, subject) != 0 ||
		    buf_printf(b, "\n#     %s\n", fp) != 0)
			goto nomem;
	}
	if (buf_puts(b, rollout_sh_usage) != 0)
		goto nomem;
	for (i = 0; i < in->n; i++) {
		if (rollout_root_filename(in->roots[i], name, e) != 0)
			goto out;
		if (x509_export_pem(in->roots[i], &pem) != 0) {
			lerr_set(e, LERR_INTERNAL, "cannot export root %zu as PEM", i + 1);
			goto out;
		}
		/* Quoted here-document: the PEM is taken as it is. */
		if (buf_printf(b, "put %s <<'LANCA_PEM'\n", name) != 0 ||
		    buf_append(b, pem.data, pem.size) != 0 ||
		    buf_puts(b, "LANCA_PEM\n") != 0)
			goto nomem;
		gnutls_free(pem.data);
		pem.data = NULL;
	}
	if (buf_puts(b, rollout_sh_update) != 0)
		goto nomem;
	for (i = 0; i < in->n; i++) {
		if (rollout_root_filename(in->roots[i], name, e) != 0)
			goto out;
		if (x509_export_pem(in->roots[i], &pem) != 0 || rollout_pem_probe(&pem, probe) != 0) {
			lerr_set(e, LERR_INTERNAL, "cannot export root %zu as PEM", i + 1);
			goto out;
		}
		if (buf_printf(b, "held %s %s\n", name, probe) != 0)
			goto nomem;
		gnutls_free(pem.data);
		pem.data = NULL;
	}
	if (buf_printf(b, "[ $missing -eq 0 ] || exit 1\n"
		       "echo \"lanca: %zu root(s) in $anchors, and in $bundle\"\n", in->n) != 0)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	lerr_set(e, LERR_TOO_LARGE, "the installer script outgrew %d bytes", ROLLOUT_SCRIPT_MAX);
out:
	gnutls_free(pem.data);
	return rc;
}

int
rollout_write_linux(const struct rollout_in *in, struct rollout_file *out, size_t max,
		    size_t *n, struct lerr *e)
{
	struct buf b;
	int rc = -1;

	buf_init(&b, ROLLOUT_SCRIPT_MAX);
	if (rollout_in_check(in, e) != 0 || rollout_add_root_files(in, out, max, n, e) != 0 ||
	    rollout_linux_script(in, &b, e) != 0 ||
	    rollout_file_add(out, max, n, ROLLOUT_SCRIPT, b.data, b.len, e) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}
