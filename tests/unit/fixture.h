/*
 * fixture.h - shared set-up for the unit tests that need a whole CA:
 * a fresh state directory made by state_init() in a temporary directory,
 * the committed request fixtures under tests/data/csr/, and an issuer
 * over that CA (its store, CAs, policy and signer) as serve builds one.
 */
#ifndef LANCA_TEST_FIXTURE_H
#define LANCA_TEST_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/policy.h"
#include "common/fileio.h"
#include "daemon/init.h"
#include "daemon/issue.h"
#include "daemon/state.h"
#include "signer/signer.h"
#include "store/store.h"

static char fx_tmp[64];
static char fx_dir[STATE_PATH_MAX];

/* Makes a new CA in a temporary directory (Check runs each test in its
 * own process, so each test gets its own). */
static void
fx_make_ca(void)
{
	struct state_init_opts o;
	struct lerr e;

	snprintf(fx_tmp, sizeof(fx_tmp), "/tmp/lanca-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx_tmp));
	snprintf(fx_dir, sizeof(fx_dir), "%s/state", fx_tmp);
	memset(&o, 0, sizeof(o));
	o.dir = fx_dir;
	o.name = "unit";
	o.key_type = KEYSTORE_ECDSA_P256;
	if (state_init(&o, NULL, &e) != 0)
		ck_abort_msg("state_init: %s", e.msg);
}

static void
fx_remove_ca(void)
{
	fileio_remove_tree(fx_tmp);
}

/* Reads tests/data/csr/NAME (caller frees). */
static inline unsigned char *
fx_csr(const char *name, size_t *len)
{
	char path[STATE_PATH_MAX];
	unsigned char *p = NULL;
	struct lerr e;

	snprintf(path, sizeof(path), "%s/tests/data/csr/%s", TEST_SRCDIR, name);
	if (fileio_read(path, 1 << 20, 0, &p, len, &e) != 0)
		ck_abort_msg("%s", e.msg);
	return p;
}

/* How an issuer signs: not at all, with the signing core in this
 * process, or through a signer process as serve does. */
enum fx_signing { FX_NO_SIGNER, FX_LOCAL_SIGNER, FX_SIGNER_PROCESS };

struct fx_issuer {
	char db[STATE_PATH_MAX];
	struct store *store;
	struct signer *signer;		/* NULL with FX_NO_SIGNER */
	struct ca_set ca;
	struct policy pol;
	struct issuer is;
};

/* Opens fx_dir's store, CAs and policy and a signer as asked; aborts the
 * test on failure. Close with fx_issuer_close(). */
static inline void
fx_issuer_open(struct fx_issuer *f, enum fx_signing how)
{
	struct signer_config sc;
	struct lerr e;

	memset(f, 0, sizeof(*f));
	/* The signer's process is forked first, as serve forks it: a child
	 * forked beside the store's threads could inherit a lock one of them
	 * held (the sanitizers' allocator's, say) and never say READY. */
	if (how == FX_SIGNER_PROCESS) {
		memset(&sc, 0, sizeof(sc));
		sc.dir = fx_dir;
		sc.threads = 1;
		ck_assert_msg(signer_start(&sc, &f->signer, &e) == 0, "%s", e.msg);
		ck_assert_int_ne(signer_pid(f->signer), 0);
	}
	ck_assert_int_eq(state_path(f->db, fx_dir, STORE_FILE), 0);
	ck_assert_msg(store_open(f->db, 0, &f->store, &e) == 0, "%s", e.msg);
	ck_assert_msg(ca_set_load(f->store, &f->ca, &e) == 0, "%s", e.msg);
	ck_assert_msg(policy_from_ca(&f->pol, f->ca.issuing, &e) == 0, "%s", e.msg);
	if (how == FX_LOCAL_SIGNER)
		ck_assert_msg(signer_open_local(fx_dir, NULL, &f->signer, &e) == 0, "%s", e.msg);
	f->is.store = f->store;
	f->is.signer = f->signer;
	f->is.policy = &f->pol;
	f->is.ca_id = f->ca.issuing_id;
}

/* Stops the signer (0 when it stopped cleanly) and closes the rest. */
static inline int
fx_issuer_close(struct fx_issuer *f)
{
	int rc = f->signer != NULL ? signer_stop(f->signer) : 0;

	policy_free(&f->pol);
	ca_set_free(&f->ca);
	store_close(f->store);
	return rc;
}

#endif
