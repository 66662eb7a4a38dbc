/*
 * fixture.h - shared set-up for the unit tests that need a whole CA:
 * a fresh state directory made by state_init() in a temporary directory,
 * and the committed request fixtures under tests/data/csr/.
 */
#ifndef LANCA_TEST_FIXTURE_H
#define LANCA_TEST_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "daemon/init.h"
#include "daemon/state.h"

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
	if (state_init(&o, &e) != 0)
		ck_abort_msg("state_init: %s", e.msg);
}

static void
fx_remove_ca(void)
{
	fileio_remove_tree(fx_tmp);
}

/* Reads tests/data/csr/NAME (caller frees). */
static unsigned char *
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

#endif
