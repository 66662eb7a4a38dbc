/*
 * rollout_windows.c - the Windows policy files for lanca's roots:
 *   windows-root.reg        regedit 5 import into the machine Root store
 *                           (HKLM\SOFTWARE\Microsoft\SystemCertificates\ROOT)
 *   Registry.pol            a Group Policy PReg v1 file for the GPO's
 *                           Machine folder (the Policies\...\Root store)
 *   windows-install-root.ps1  Import-Certificate, or certutil -addstore
 * Both registry forms hold, per root, a key named by its SHA-1 thumbprint
 * with a REG_BINARY "Blob": the serialized store element, here only the
 * certificate property (CERT_CERT_PROP_ID 0x20, [MS-GPEF] 2.2.1.1.1).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ca/rollout.h"

#define WIN_CERT_PROP_ID	0x20u	/* the encoded certificate */
#define WIN_REG_BINARY		3u
#define WIN_REG_LINE		76	/* regedit wraps hex values near 80 columns */
#define WIN_ROOT_LM	"SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\"
#define WIN_ROOT_GP	"Software\\Policies\\Microsoft\\SystemCertificates\\Root\\Certificates\\"

static int
put_u32le(struct buf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	return buf_append(b, p, 4);
}

/* The Blob: property 0x20, reserved 1, length, the DER. */
static int
win_blob(struct buf *b, const gnutls_datum_t *der)
{
	int bad = 0;

	bad |= put_u32le(b, WIN_CERT_PROP_ID);
	bad |= put_u32le(b, 1);
	bad |= put_u32le(b, der->size);
	bad |= buf_append(b, der->data, der->size);
	return bad ? -1 : 0;
}

/* ASCII text as UTF-16LE (what regedit and PReg are written in). */
static int
put_utf16(struct buf *b, const char *s, size_t len)
{
	unsigned char *p;
	size_t i;

	if ((p = buf_extend(b, 2 * len)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		p[2 * i] = (unsigned char)s[i];
		p[2 * i + 1] = 0;
	}
	return 0;
}

/* The .reg text for every root, in ASCII (converted once at the end). */
static int
win_reg_text(const struct rollout_in *in, struct buf *t, struct lerr *e)
{
	char sha1[129];
	gnutls_datum_t der = { NULL, 0 };
	struct buf blob;
	size_t i, k, col;
	int bad = 0;

	bad |= buf_puts(t, "Windows Registry Editor Version 5.00\r\n");
	for (i = 0; i < in->n; i++) {
		if (rollout_fp(in, i, GNUTLS_DIG_SHA1, sha1, sizeof(sha1), e) != 0 ||
		    rollout_der(in, i, &der, e) != 0)
			return -1;
		buf_init(&blob, ROLLOUT_FILE_MAX);
		bad |= win_blob(&blob, &der);
		gnutls_free(der.data);
		der.data = NULL;
		bad |= buf_printf(t, "\r\n[HKEY_LOCAL_MACHINE\\" WIN_ROOT_LM "%s]\r\n", sha1);
		bad |= buf_puts(t, "\"Blob\"=hex:");
		col = strlen("\"Blob\"=hex:");
		for (k = 0; !bad && k < blob.len; k++) {
			bad |= buf_printf(t, "%02x", blob.data[k]);
			col += 2;
			if (k + 1 == blob.len)
				break;
			bad |= buf_puts(t, ",");
			col++;
			if (col >= WIN_REG_LINE) {
				bad |= buf_puts(t, "\\\r\n  ");
				col = 2;
			}
		}
		bad |= buf_puts(t, "\r\n");
		bad |= buf_failed(&blob);
		buf_free(&blob);
	}
	if (bad)
		return lerr_set(e, LERR_TOO_LARGE, "windows-root.reg: more than %d bytes",
				ROLLOUT_FILE_MAX);
	return 0;
}

static int
win_reg(const struct rollout_in *in, struct rollout_file *out, size_t max, size_t *n,
	struct lerr *e)
{
	struct buf t, b;
	int rc;

	buf_init(&t, ROLLOUT_FILE_MAX / 2);
	if (win_reg_text(in, &t, e) != 0) {
		buf_free(&t);
		return -1;
	}
	buf_init(&b, ROLLOUT_FILE_MAX);
	if (buf_append(&b, "\xff\xfe", 2) != 0 || put_utf16(&b, (const char *)t.data, t.len) != 0)
		b.failed = 1;
	buf_free(&t);
	rc = rollout_add_buf(out, max, n, "windows-root.reg", &b, e);
	return rc;
}

/* One PReg record: [key;value;type;size;data], the delimiters and the
 * NUL-terminated strings in UTF-16LE ([MS-GPREG] 2.2.1). */
static int
pol_record(struct buf *b, const char *key, const char *value, uint32_t type,
	   const struct buf *data)
{
	int bad = 0;

	bad |= put_utf16(b, "[", 1);
	bad |= put_utf16(b, key, strlen(key) + 1);
	bad |= put_utf16(b, ";", 1);
	bad |= put_utf16(b, value, strlen(value) + 1);
	bad |= put_utf16(b, ";", 1);
	bad |= put_u32le(b, type);
	bad |= put_utf16(b, ";", 1);
	bad |= put_u32le(b, (uint32_t)data->len);
	bad |= put_utf16(b, ";", 1);
	bad |= buf_append(b, data->data, data->len);
	bad |= put_utf16(b, "]", 1);
	return bad ? -1 : 0;
}

static int
win_pol(const struct rollout_in *in, struct rollout_file *out, size_t max, size_t *n,
	struct lerr *e)
{
	char sha1[129], key[sizeof(WIN_ROOT_GP) + 129];
	gnutls_datum_t der = { NULL, 0 };
	struct buf b, blob;
	size_t i;
	int bad = 0;

	buf_init(&b, ROLLOUT_FILE_MAX);
	bad |= buf_append(&b, "PReg", 4);
	bad |= put_u32le(&b, 1);
	for (i = 0; i < in->n; i++) {
		if (rollout_fp(in, i, GNUTLS_DIG_SHA1, sha1, sizeof(sha1), e) != 0 ||
		    rollout_der(in, i, &der, e) != 0) {
			buf_free(&b);
			return -1;
		}
		buf_init(&blob, ROLLOUT_FILE_MAX);
		bad |= win_blob(&blob, &der);
		gnutls_free(der.data);
		der.data = NULL;
		snprintf(key, sizeof(key), "%s%s", WIN_ROOT_GP, sha1);
		bad |= buf_failed(&blob) || pol_record(&b, key, "Blob", WIN_REG_BINARY, &blob);
		buf_free(&blob);
	}
	if (bad)
		b.failed = 1;
	return rollout_add_buf(out, max, n, "Registry.pol", &b, e);
}

static int
win_ps1(const struct rollout_in *in, struct rollout_file *out, size_t max, size_t *n,
	struct lerr *e)
{
	char sha1[129];
	gnutls_datum_t der = { NULL, 0 };
	struct buf b;
	size_t i;
	int bad = 0;

	buf_init(&b, ROLLOUT_FILE_MAX);
	bad |= buf_puts(&b,
		"# Installs lanca's root certificates into the machine's Trusted Root\r\n"
		"# Certification Authorities (Cert:\\LocalMachine\\Root). Run as administrator,\r\n"
		"# or as a Group Policy computer startup script (it runs as SYSTEM).\r\n"
		"$ErrorActionPreference = 'Stop'\r\n"
		"$roots = @(\r\n");
	for (i = 0; i < in->n; i++) {
		if (rollout_fp(in, i, GNUTLS_DIG_SHA1, sha1, sizeof(sha1), e) != 0 ||
		    rollout_der(in, i, &der, e) != 0) {
			buf_free(&b);
			return -1;
		}
		bad |= buf_printf(&b, "  @{ Thumbprint = '%s'; Der = '", sha1);
		bad |= rollout_b64(&b, der.data, der.size);
		bad |= buf_puts(&b, "' }\r\n");
		gnutls_free(der.data);
		der.data = NULL;
	}
	bad |= buf_puts(&b,
		")\r\n"
		"foreach ($r in $roots) {\r\n"
		"  $file = Join-Path $env:TEMP ('lanca-root-' + $r.Thumbprint + '.cer')\r\n"
		"  [IO.File]::WriteAllBytes($file, [Convert]::FromBase64String($r.Der))\r\n"
		"  try {\r\n"
		"    if (Get-Command Import-Certificate -ErrorAction SilentlyContinue) {\r\n"
		"      Import-Certificate -FilePath $file -CertStoreLocation Cert:\\LocalMachine\\Root | Out-Null\r\n"
		"    } else {\r\n"
		"      & certutil.exe -addstore -f Root $file | Out-Null\r\n"
		"      if ($LASTEXITCODE -ne 0) { throw \"certutil -addstore failed for $($r.Thumbprint)\" }\r\n"
		"    }\r\n"
		"  } finally {\r\n"
		"    Remove-Item -Force $file\r\n"
		"  }\r\n"
		"  if (-not (Test-Path ('Cert:\\LocalMachine\\Root\\' + $r.Thumbprint))) {\r\n"
		"    throw \"root $($r.Thumbprint) is not in LocalMachine\\Root\"\r\n"
		"  }\r\n"
		"  Write-Output \"installed root $($r.Thumbprint)\"\r\n"
		"}\r\n");
	if (bad)
		b.failed = 1;
	return rollout_add_buf(out, max, n, "windows-install-root.ps1", &b, e);
}

int
rollout_write_windows(const struct rollout_in *in, struct rollout_file *out, size_t max,
		      size_t *n, struct lerr *e)
{
	size_t first = *n;

	if (rollout_in_check(in, e) != 0)
		return -1;
	if (win_reg(in, out, max, n, e) != 0 || win_pol(in, out, max, n, e) != 0 ||
	    win_ps1(in, out, max, n, e) != 0) {
		rollout_files_free(out + first, *n - first);
		*n = first;
		return -1;
	}
	return 0;
}
