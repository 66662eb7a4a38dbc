/*
 * ca_open.c - what a command needs to act in-process: the store, the CA
 * certificates, the policy and a local signer (see cmd.h). Used by `lanca
 * sign`, and by `lanca approve`, `deny` and `pending` when no daemon is
 * running; the store alone, to read, for `lanca list`, `show` and `export`.
 */
#include "config.h"

#include <string.h>

#include "cli/cmd.h"
#include "ca/keystore.h"
#include "signer/files.h"
#include "signer/signer.h"
#include "store/store.h"

/*
 * No CA in dir: says where we looked and what to do about it. Where a
 * daemon serves another directory, that is most likely the one meant, and
 * `lanca init` here would make a second CA beside it: point at it instead.
 */
static void
ca_open_missing(const char *dir, struct lerr *e)
{
	char other[CMD_SERVE_MAX * (STATE_PATH_MAX + 2)];
	int n = cmd_find_serve(dir, other, sizeof(other));

	if (n == 1)
		lerr_set(e, LERR_NOT_FOUND,
			 "no CA in %s, but lanca serve is running on %s: use --dir %s",
			 dir, other, other);
	else if (n > 1)
		lerr_set(e, LERR_NOT_FOUND,
			 "no CA in %s, but lanca serve is running on %s: use --dir with one of them",
			 dir, other);
	else
		lerr_set(e, LERR_NOT_FOUND,
			 "no CA in %s: name its state directory with --dir (or LANCA_DIR), "
			 "or make one there with lanca init --dir %s", dir, dir);
}

int
cmd_store_read(const char *dir, struct store **s, struct lerr *e)
{
	*s = NULL;
	if (state_store_open(dir, STORE_READONLY, s, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			ca_open_missing(dir, e);
		return -1;
	}
	return 0;
}

int
cmd_ca_open(const char *dir, const char *pass_file, int with_signer, struct cmd_ca *c,
	    struct lerr *e)
{
	struct signer_adopt adopt;
	char *pass = NULL;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	memset(&adopt, 0, sizeof(adopt));
	if (state_store_open(dir, 0, &c->store, e) != 0) {
		if (e->code == LERR_NOT_FOUND)
			ca_open_missing(dir, e);
		goto out;
	}
	if (ca_set_load(c->store, &c->ca, e) != 0 ||
	    policy_from_ca(&c->policy, c->ca.issuing, e) != 0)
		goto out;
	if (with_signer) {
		if (pass_file != NULL && keystore_pass_read(pass_file, &pass, e) != 0)
			goto out;
		/* An older state directory: the same proven adoption as serve's. */
		if (signer_files_missing(dir) != 0 &&
		    (state_signer_adopt(dir, &adopt, e) != 0 ||
		     signer_files_adopt(dir, pass, &adopt, e) != 0))
			goto out;
		if (signer_open_local(dir, pass, &c->signer, e) != 0)
			goto out;
	}
	c->is.store = c->store;
	c->is.signer = c->signer;
	c->is.policy = &c->policy;
	c->is.ca_id = c->ca.issuing_id;
	rc = 0;
out:
	keystore_pass_free(pass);
	signer_adopt_free(&adopt);
	if (rc != 0)
		cmd_ca_close(c);
	return rc;
}

void
cmd_ca_close(struct cmd_ca *c)
{
	signer_stop(c->signer);
	ca_set_free(&c->ca);
	policy_free(&c->policy);
	store_close(c->store);
	memset(c, 0, sizeof(*c));
}
