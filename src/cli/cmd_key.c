/*
 * cmd_key.c - `lanca key move-to-token`: the issuing CA's key from its
 * file into a PKCS#11 token (daemon/keytoken.h), with serve stopped.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "common/p11key.h"
#include "daemon/control.h"
#include "daemon/keytoken.h"

static void
key_usage(FILE *f)
{
	fputs("usage: lanca key move-to-token --issuing-key pkcs11:URL [--dir DIR]\n"
	      "                               [--pin-file FILE] [--pkcs11-module SO]\n"
	      "                               [--token-path PATH]... [--passphrase-file FILE]\n"
	      "\n"
	      "Copies the issuing CA's key into the token as a sensitive object (the URL\n"
	      "names it with object= or id=; the token must hold no private key of that\n"
	      "name), proves the copy is the issuing certificate's key, then replaces\n"
	      "keys/issuing.key with the record naming it. Stop lanca serve first.\n"
	      "--passphrase-file opens the key file if it is encrypted; --pin-file,\n"
	      "--pkcs11-module and --token-path are as for lanca init --issuing-key.\n"
	      "The key was outside the token until now: backups made before hold it.\n", f);
}

int
cmd_key(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "issuing-key", required_argument, NULL, 'K' },
		{ "pin-file", required_argument, NULL, 'I' },
		{ "pkcs11-module", required_argument, NULL, 'M' },
		{ "token-path", required_argument, NULL, 'T' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *url = NULL, *pin_file = NULL, *module = NULL, *pass_file = NULL;
	const char *paths[P11KEY_ALLOW_MAX];
	char actor[CONTROL_ACTOR_MAX + 1], *pass = NULL;
	struct p11key_ref *to = NULL;
	size_t npaths = 0;
	struct lerr e;
	int c, adopted = 0, rc = CMD_FAILED;

	if (argc < 2 || strcmp(argv[1], "move-to-token") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			key_usage(stdout);
			return CMD_OK;
		}
		key_usage(stderr);
		return CMD_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'K': url = optarg; break;
		case 'I': pin_file = optarg; break;
		case 'M': module = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'T':
			if (npaths >= P11KEY_ALLOW_MAX) {
				cmd_error("key", "at most %d --token-path values", P11KEY_ALLOW_MAX);
				return CMD_USAGE;
			}
			paths[npaths++] = optarg;
			break;
		case 'h':
			key_usage(stdout);
			return CMD_OK;
		default:
			key_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc || url == NULL) {
		if (url == NULL)
			cmd_error("key", "move-to-token needs --issuing-key pkcs11:URL");
		key_usage(stderr);
		return CMD_USAGE;
	}
	if ((to = malloc(sizeof(*to))) == NULL) {
		cmd_error("key", "out of memory");
		return CMD_FAILED;
	}
	if (keystore_token_ref("--issuing-key", url, pin_file, module, paths, npaths, to, &e) != 0) {
		cmd_error("key", "%s", e.msg);
		rc = CMD_USAGE;
		goto out;
	}
	if (pass_file != NULL && keystore_pass_read(pass_file, &pass, &e) != 0) {
		cmd_error("key", "%s", e.msg);
		goto out;
	}
	dir = cmd_dir(dir);
	cmd_actor(actor);
	if (keytoken_move(dir, to, pass, actor, &adopted, &e) != 0) {
		cmd_error("key", "%s", e.msg);
		goto out;
	}
	printf("issuing CA key moved into the PKCS#11 token: %s\n", to->record);
	if (adopted)
		printf("  (the token held this very key under that name already, from an earlier\n"
		       "  attempt: it is used as it is)\n");
	printf("  %s/keys/issuing.key now names it; only the signer opens the token.\n", dir);
	printf("  The key existed outside the token until now: backups made before this\n"
	       "  hold it, and the old file's blocks may remain on the disk. The token marks\n"
	       "  it sensitive, but cannot mark it never-extractable.\n");
	rc = CMD_OK;
out:
	keystore_pass_free(pass);
	sodium_memzero(to, sizeof(*to));
	free(to);
	return rc;
}
