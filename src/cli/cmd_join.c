/*
 * cmd_join.c - `lanca join`: make this machine a gateway of a site whose
 * store is a shared PostgreSQL database (daemon/join.h, docs/scaling.md).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sodium.h>

#include "ca/keystore.h"
#include "cli/cmd.h"
#include "common/dburl.h"
#include "common/p11key.h"
#include "daemon/control.h"
#include "daemon/handover.h"
#include "daemon/join.h"
#include "daemon/state.h"

#define JOIN_SANS_MAX	16

static void
join_usage(FILE *f)
{
	fprintf(f,
		"usage: lanca join --store postgresql://USER:PASSWORD@HOST:PORT/DB\n"
		"                  --site-root-key FILE [--site-root-pass-file FILE]\n"
		"                  [--passphrase-file FILE] [--key-type TYPE] [--crl-url URL]\n"
		"                  [--dir DIR] [--name NAME] [--san NAME|IP]... [--user USER]\n"
		"       lanca join --store URL --issuing-key pkcs11:URL [--pin-file FILE]\n"
		"                  [--pkcs11-module SO] [--token-path PATH]... [--dir DIR]\n"
		"                  [--name NAME] [--san NAME|IP]... [--user USER]\n"
		"\n"
		"Makes DIR a gateway of the site whose store is that PostgreSQL database,\n"
		"made by `lanca init --store` on the site's first gateway.\n"
		"With --site-root-key the gateway gets an issuing CA of its own: a new key\n"
		"(of --key-type, encrypted with --passphrase-file), which stays in DIR/keys,\n"
		"and its certificate signed by the site's root. FILE is the root's key (its\n"
		"file from the first gateway's keys/, brought for the ceremony, or a token's\n"
		"record); it must be the site root's, is used in memory and is not kept.\n"
		"Its CRL is served by every gateway at --crl-url's path (default: the\n"
		"site's CRL URL with /crl/<id>).\n"
		"With --issuing-key the gateway signs with the site's issuing CA, whose key\n"
		"is in a PKCS#11 token the gateways share (a network HSM); the key must be\n"
		"the issuing CA's. NAME (default: the host name) is the gateway's name in the\n"
		"site, and NAME.local, the --san names and localhost are its certificate's.\n"
		"The site's certificates, requests, audit log and onboarding window are\n"
		"one: a press on any gateway admits one device through any of them.\n"
		"--user hands the daemon's files to USER, as `lanca init --user` does.\n");
}

int
cmd_join(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 'S' },
		{ "name", required_argument, NULL, 'n' },
		{ "san", required_argument, NULL, 's' },
		{ "issuing-key", required_argument, NULL, 'K' },
		{ "pin-file", required_argument, NULL, 'I' },
		{ "pkcs11-module", required_argument, NULL, 'M' },
		{ "token-path", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "site-root-key", required_argument, NULL, 'R' },
		{ "site-root-pass-file", required_argument, NULL, 'P' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "crl-url", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sans[JOIN_SANS_MAX], *token_paths[P11KEY_ALLOW_MAX];
	const char *token_url = NULL, *pin_file = NULL, *module = NULL, *user = NULL;
	const char *root_pass_file = NULL, *pass_file = NULL;
	int key_type_given = 0;
	char *root_pass = NULL, *pass = NULL, actor[CONTROL_ACTOR_MAX + 1];
	size_t ntoken_paths = 0;
	struct state_join_opts o;
	struct p11key_ref *token = NULL;
	char *store_url = NULL;
	struct lerr e;
	int c, rc = CMD_FAILED;

	memset(&o, 0, sizeof(o));
	o.sans = sans;
	o.key_type = KEYSTORE_ECDSA_P256;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'n': o.name = optarg; break;
		case 'K': token_url = optarg; break;
		case 'I': pin_file = optarg; break;
		case 'M': module = optarg; break;
		case 'u': user = optarg; break;
		case 'R': o.site_root_key = optarg; break;
		case 'P': root_pass_file = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'c': o.crl_url = optarg; break;
		case 'k':
			key_type_given = 1;
			if (keystore_type_parse(optarg, &o.key_type) != 0) {
				cmd_error("join", "--key-type %s: use ecdsa-p256, ecdsa-p384 or "
					  "rsa-3072", optarg);
				rc = CMD_USAGE;
				goto out;
			}
			break;
		case 'S':
			/* Out of the command line others see in ps: the URL
			 * may hold the password. */
			if (store_url != NULL) {
				cmd_error("join", "--store is given once");
				rc = CMD_USAGE;
				goto out;
			}
			if ((store_url = strdup(optarg)) == NULL) {
				cmd_error("join", "out of memory");
				goto out;
			}
			sodium_memzero(optarg, strlen(optarg));
			break;
		case 's':
			if (o.nsans >= JOIN_SANS_MAX) {
				cmd_error("join", "at most %d --san values", JOIN_SANS_MAX);
				rc = CMD_USAGE;
				goto out;
			}
			sans[o.nsans++] = optarg;
			break;
		case 'T':
			if (ntoken_paths >= P11KEY_ALLOW_MAX) {
				cmd_error("join", "at most %d --token-path values", P11KEY_ALLOW_MAX);
				rc = CMD_USAGE;
				goto out;
			}
			token_paths[ntoken_paths++] = optarg;
			break;
		case 'h':
			join_usage(stdout);
			rc = CMD_OK;
			goto out;
		default:
			join_usage(stderr);
			rc = CMD_USAGE;
			goto out;
		}
	}
	if (optind != argc || store_url == NULL || (token_url == NULL) == (o.site_root_key == NULL)) {
		if (optind == argc)
			cmd_error("join", "--store and one of --site-root-key and --issuing-key are "
				  "required: a gateway joins a site's shared database with an issuing "
				  "CA of its own, signed by the site's root, or signs with the site's "
				  "issuing key in a shared token");
		join_usage(stderr);
		rc = CMD_USAGE;
		goto out;
	}
	if (token_url != NULL && (root_pass_file != NULL || pass_file != NULL || o.crl_url != NULL ||
				  key_type_given)) {
		cmd_error("join", "--site-root-pass-file, --passphrase-file, --key-type and --crl-url "
			  "go with --site-root-key: with --issuing-key the gateway makes no CA");
		rc = CMD_USAGE;
		goto out;
	}
	if (o.site_root_key != NULL && (pin_file != NULL || module != NULL || ntoken_paths > 0)) {
		cmd_error("join", "--pin-file, --pkcs11-module and --token-path go with --issuing-key "
			  "(a root key in a token is named by its record file)");
		rc = CMD_USAGE;
		goto out;
	}
	o.dir = cmd_dir(o.dir);
	o.store_url = store_url;
	if (dburl_check(store_url, &e) != 0) {
		cmd_error("join", "--store: %s", e.msg);
		rc = CMD_USAGE;
		goto out;
	}
	/* The site root's key is in this process's memory for a moment: no
	 * core file, and no ptrace by the same user, may take it. */
	if (o.site_root_key != NULL) {
		struct rlimit none = { 0, 0 };

		if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
			cmd_error("join", "cannot keep the root key out of core files: %s",
				  strerror(errno));
			goto out;
		}
	}
	cmd_actor(actor);
	o.actor = actor;
	if ((root_pass_file != NULL && keystore_pass_read(root_pass_file, &root_pass, &e) != 0) ||
	    (pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0)) {
		cmd_error("join", "%s", e.msg);
		goto out;
	}
	o.site_root_pass = root_pass;
	o.pass = pass;
	if (token_url != NULL) {
		if ((token = malloc(sizeof(*token))) == NULL) {
			cmd_error("join", "out of memory");
			goto out;
		}
		if (keystore_token_ref("--issuing-key", token_url, pin_file, module, token_paths,
				       ntoken_paths, token, &e) != 0) {
			cmd_error("join", "%s", e.msg);
			rc = CMD_USAGE;
			goto out;
		}
		o.issuing_token = token;
	}
	if (user != NULL) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL || pw->pw_uid == 0 || geteuid() != 0) {
			cmd_error("join", "--user %s: %s", user,
				  pw == NULL ? "no such user" : pw->pw_uid == 0 ?
				  "the daemon's user must not be root" :
				  "only root can hand files to another user");
			rc = CMD_USAGE;
			goto out;
		}
	}
	if (state_join(&o, &e) != 0) {
		cmd_error("join", "%s", e.msg);
		goto out;
	}
	if (user != NULL && handover_state(o.dir, user, &e) != 0) {
		cmd_error("join", "%s", e.msg);
		goto out;
	}
	if (token != NULL)
		printf("joined the site: %s is a gateway of it, signing with the site's issuing CA "
		       "(key in the PKCS#11 token: %s)\n", o.dir, token->record);
	else
		printf("joined the site: %s is a gateway of it, signing with an issuing CA of its "
		       "own under the site's root (its key in %s/keys; the root's key was not "
		       "kept)\n", o.dir, o.dir);
	printf("start it with `lanca serve --dir %s`\n", o.dir);
	rc = CMD_OK;
out:
	keystore_pass_free(root_pass);
	keystore_pass_free(pass);
	if (store_url != NULL)
		sodium_memzero(store_url, strlen(store_url));
	free(store_url);
	if (token != NULL)
		sodium_memzero(token, sizeof(*token));
	free(token);
	return rc;
}
