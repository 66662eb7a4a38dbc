/*
 * cmd_init.c - `lanca init`: create the CA hierarchy and state directory,
 * and print what a person needs next: the root's fingerprint, and the
 * one-time setup code that creates the first administrator from the web
 * page.
 */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "common/dburl.h"
#include "common/p11key.h"
#include "daemon/auth.h"
#include "daemon/handover.h"
#include "daemon/init.h"
#include "daemon/state.h"
#include "store/store.h"

#define INIT_LIST_MAX	16

static void
init_usage(FILE *f)
{
	fprintf(f,
		"usage: lanca init [--dir DIR] [--name NAME] [--domain DOMAIN]... [--san NAME|IP]...\n"
		"                  [--net CIDR]... [--key-type ecdsa-p256|ecdsa-p384|rsa-3072]\n"
		"                  [--passphrase-file FILE] [--crl-url URL]\n"
		"                  [--backup-key-out FILE --backup-pass-file FILE] [--user USER]\n"
		"                  [--issuing-key pkcs11:URL] [--root-key pkcs11:URL]\n"
		"                  [--pin-file FILE] [--pkcs11-module SO] [--token-path PATH]...\n"
		"                  [--store postgresql://USER:PASSWORD@HOST:PORT/DB]\n"
		"\n"
		"--store keeps the store in that PostgreSQL database instead of DIR/lanca.db\n"
		"(an empty database of its own; several gateways may share it): DIR/store.url\n"
		"(0600) names it for every later command. The password may instead be in\n"
		"~/.pgpass of the user the daemon runs as (libpq's password file).\n"
		"--issuing-key keeps the issuing CA's key in a PKCS#11 token: the key the\n"
		"URL names (object= or id=), made there (sensitive, never extractable) when\n"
		"the token holds none. keys/issuing.key then names it; only the signer\n"
		"opens the token, with the PIN from --pin-file. --root-key does the same\n"
		"for the root's key (used by init, rollover and backup-root; the signer\n"
		"never opens it), in the same token or another of the same module.\n"
		"--token-path names what the module reads and writes while it signs\n"
		"(SoftHSM2's token directory, tpm2-pkcs11's store and /dev/tpmrm0): the\n"
		"signer's sandbox leaves it that.\n"
		"--user (run as root) makes DIR root:USER's-group, mode 0770, and hands the\n"
		"files the daemon writes to USER, as `lanca serve --user USER` under\n"
		"contrib/lanca.service needs them (keys/ stays root's).\n"
		"--backup-key-out also makes the backup root and writes its private key\n"
		"there, once, encrypted with the passphrase in --backup-pass-file; keep\n"
		"that file offline and run `lanca backup-root confirm`. Without it, no\n"
		"backup root is made and `lanca status` warns until `lanca backup-root\n"
		"create` makes one.\n");
}

/* Prints what a person needs to trust the new root and to set up the
 * first administrator. */
static int
init_report(const char *dir, const char *store_url, const char *setup_code,
	    const char *backup_key_out)
{
	char shown[DBURL_MAX + 16];
	struct store *s = NULL;
	struct ca_set ca;
	struct lerr e;
	int rc = CMD_FAILED;

	memset(&ca, 0, sizeof(ca));
	if (state_store_open(dir, STORE_READONLY, &s, &e) != 0 ||
	    ca_set_load(s, &ca, &e) != 0) {
		cmd_error("init", "created %s but cannot read it back: %s", dir, e.msg);
		goto out;
	}
	printf("created %s\n", dir);
	/* Never the password: it stays in DIR/store.url. */
	if (store_url != NULL) {
		(void)dburl_mask(store_url, shown, sizeof(shown));
		printf("store:      %s\n", shown);
	}
	printf("root CA:    %s\n", ca.root_subject);
	printf("issuing CA: %s\n", ca.issuing_subject);
	printf("root SHA-256 fingerprint: %s\n", ca.root_fp_colon);
	if (backup_key_out != NULL && cmd_backup_root_report(s, backup_key_out) != 0)
		goto out;
	/* Shown once: only its hash is kept. */
	printf("setup code: %s\n", setup_code);
	printf("  (enter it on https://THIS-GATEWAY/ to create the first administrator,\n"
	       "   or run `lanca admin passwd USER`; it is valid until an administrator exists)\n");
	rc = CMD_OK;
out:
	ca_set_free(&ca);
	store_close(s);
	return rc;
}

int
cmd_init(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "domain", required_argument, NULL, 'D' },
		{ "san", required_argument, NULL, 's' },
		{ "net", required_argument, NULL, 'N' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "crl-url", required_argument, NULL, 'c' },
		{ "backup-key-out", required_argument, NULL, 'B' },
		{ "backup-pass-file", required_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
		{ "issuing-key", required_argument, NULL, 'K' },
		{ "root-key", required_argument, NULL, 'R' },
		{ "pin-file", required_argument, NULL, 'I' },
		{ "pkcs11-module", required_argument, NULL, 'M' },
		{ "token-path", required_argument, NULL, 'T' },
		{ "store", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *domains[INIT_LIST_MAX], *sans[INIT_LIST_MAX];
	struct ipnet nets[INIT_LIST_MAX];
	struct state_init_opts o;
	const char *dir = NULL, *pass_file = NULL, *backup_pass_file = NULL, *user = NULL;
	const char *token_url = NULL, *root_url = NULL, *pin_file = NULL, *module = NULL;
	const char *token_paths[P11KEY_ALLOW_MAX];
	size_t ntoken_paths = 0;
	struct p11key_ref *token = NULL, *root_token = NULL;
	int token_made = 0, root_made = 0;
	char *pass = NULL, *backup_pass = NULL, *store_url = NULL, code[AUTH_SETUP_CODE_SIZE] = "";
	struct lerr e;
	int c, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	o.key_type = KEYSTORE_ECDSA_P256;
	o.domains = domains;
	o.sans = sans;
	o.nets = nets;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': o.name = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'c': o.crl_url = optarg; break;
		case 'B': o.backup_key_out = optarg; break;
		case 'P': backup_pass_file = optarg; break;
		case 'u': user = optarg; break;
		case 'K': token_url = optarg; break;
		case 'R': root_url = optarg; break;
		case 'I': pin_file = optarg; break;
		case 'M': module = optarg; break;
		case 'S':
			/* Out of the command line others see in ps while the
			 * CA is made: the URL may hold the password. */
			if (store_url != NULL) {
				cmd_error("init", "--store is given once");
				rc = CMD_USAGE;
				goto out;
			}
			if ((store_url = strdup(optarg)) == NULL) {
				cmd_error("init", "out of memory");
				goto out;
			}
			sodium_memzero(optarg, strlen(optarg));
			o.store_url = store_url;
			break;
		case 'T':
			if (ntoken_paths >= P11KEY_ALLOW_MAX) {
				cmd_error("init", "at most %d --token-path values", P11KEY_ALLOW_MAX);
				rc = CMD_USAGE;
				goto out;
			}
			token_paths[ntoken_paths++] = optarg;
			break;
		case 'D':
		case 's':
		case 'N':
			if (o.ndomains >= INIT_LIST_MAX || o.nsans >= INIT_LIST_MAX ||
			    o.nnets >= INIT_LIST_MAX) {
				cmd_error("init", "at most %d --domain, --san and --net values", INIT_LIST_MAX);
				rc = CMD_USAGE;
				goto out;
			}
			if (c == 'D')
				domains[o.ndomains++] = optarg;
			else if (c == 's')
				sans[o.nsans++] = optarg;
			else if (ipnet_parse(optarg, &nets[o.nnets++]) != 0) {
				cmd_error("init", "--net %s: not an address range like 10.1.0.0/16", optarg);
				rc = CMD_USAGE;
				goto out;
			}
			break;
		case 'k':
			if (keystore_type_parse(optarg, &o.key_type) != 0) {
				cmd_error("init", "--key-type %s: use ecdsa-p256, ecdsa-p384 or rsa-3072", optarg);
				rc = CMD_USAGE;
				goto out;
			}
			break;
		case 'h':
			init_usage(stdout);
			rc = CMD_OK;
			goto out;
		default:
			init_usage(stderr);
			rc = CMD_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		init_usage(stderr);
		rc = CMD_USAGE;
		goto out;
	}
	o.dir = cmd_dir(dir);
	if (o.store_url != NULL && dburl_check(o.store_url, &e) != 0) {
		cmd_error("init", "--store: %s", e.msg);
		rc = CMD_USAGE;
		goto out;
	}
	if (o.crl_url != NULL && strncmp(o.crl_url, "http://", 7) != 0) {
		cmd_error("init", "--crl-url must be an http:// URL (CRLs are fetched over plain HTTP)");
		rc = CMD_USAGE;
		goto out;
	}
	if ((o.backup_key_out != NULL) != (backup_pass_file != NULL)) {
		cmd_error("init", "--backup-key-out and --backup-pass-file go together: "
			  "the backup root's key is only ever written encrypted");
		rc = CMD_USAGE;
		goto out;
	}
	if (token_url == NULL && root_url == NULL &&
	    (pin_file != NULL || module != NULL || ntoken_paths > 0)) {
		cmd_error("init", "--pin-file, --pkcs11-module and --token-path go with --issuing-key "
			  "or --root-key");
		rc = CMD_USAGE;
		goto out;
	}
	if ((token_url != NULL && (token = malloc(sizeof(*token))) == NULL) ||
	    (root_url != NULL && (root_token = malloc(sizeof(*root_token))) == NULL)) {
		cmd_error("init", "out of memory");
		goto out;
	}
	if ((token != NULL && keystore_token_ref("--issuing-key", token_url, pin_file, module,
						 token_paths, ntoken_paths, token, &e) != 0) ||
	    (root_token != NULL && keystore_token_ref("--root-key", root_url, pin_file, module,
						      token_paths, ntoken_paths, root_token,
						      &e) != 0)) {
		cmd_error("init", "%s", e.msg);
		rc = CMD_USAGE;
		goto out;
	}
	o.issuing_token = token;
	o.issuing_made = &token_made;
	o.root_token = root_token;
	o.root_made = &root_made;
	/* Checked before a CA is made for nothing. */
	if (user != NULL) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL || pw->pw_uid == 0 || geteuid() != 0) {
			cmd_error("init", "--user %s: %s", user,
				  pw == NULL ? "no such user" : pw->pw_uid == 0 ?
				  "the daemon's user must not be root" :
				  "only root can hand files to another user");
			rc = CMD_USAGE;
			goto out;
		}
	}
	if (pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0) {
		cmd_error("init", "%s", e.msg);
		goto out;
	}
	if (backup_pass_file != NULL && keystore_pass_read(backup_pass_file, &backup_pass, &e) != 0) {
		cmd_error("init", "%s", e.msg);
		goto out;
	}
	o.passphrase = pass;
	o.backup_pass = backup_pass;
	if (state_init(&o, code, &e) != 0) {
		cmd_error("init", "%s", e.msg);
		goto out;
	}
	if (root_token != NULL)
		printf("root CA key: %s the PKCS#11 token: %s\n", root_made ?
		       "made (sensitive, never extractable) in" : "the existing key in",
		       root_token->record);
	if (token != NULL)
		printf("issuing CA key: %s the PKCS#11 token: %s\n", token_made ?
		       "made (sensitive, never extractable) in" : "the existing key in", token->record);
	/* After the report, which opens the store as root. */
	rc = init_report(o.dir, o.store_url, code, o.backup_key_out);
	if (rc == CMD_OK && user != NULL && handover_state(o.dir, user, &e) != 0) {
		cmd_error("init", "%s", e.msg);
		rc = CMD_FAILED;
	}
	if (rc == CMD_OK && o.backup_key_out == NULL)
		fprintf(stderr, "lanca init: warning: no backup root was made (no --backup-key-out): "
			"devices trust one root only; make one with `lanca backup-root create`\n");
out:
	sodium_memzero(code, sizeof(code));
	if (store_url != NULL)
		sodium_memzero(store_url, strlen(store_url));
	free(store_url);
	keystore_pass_free(pass);
	keystore_pass_free(backup_pass);
	if (token != NULL)
		sodium_memzero(token, sizeof(*token));
	if (root_token != NULL)
		sodium_memzero(root_token, sizeof(*root_token));
	free(token);
	free(root_token);
	return rc;
}
