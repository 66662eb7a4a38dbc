/*
 * policyfiles.h - the enterprise policy files of the current trust
 * bundle, made in memory: what `lanca export policy` writes into a folder
 * and GET /policy/FORMAT/FILE serves from the onboarding page.
 *
 * Owns: what a policy file is made from (the trust bundle's roots, primary
 * first; the CA's name, the primary root's CN; the primary root's
 * permitted names), so that the shell and the page hand out the same
 * bytes. The formats themselves are ca/rollout.h's.
 */
#ifndef LANCA_POLICYFILES_H
#define LANCA_POLICYFILES_H

#include <stddef.h>
#include "ca/rollout.h"
#include "common/lerr.h"

struct store;

/*
 * Runs format f over the bundle in s: its files into out[*n..max), *n
 * advanced (rollout_files_free them, also after a failure). signer is
 * for the formats that are signed (NULL: unsigned). 0, or -1 with e.
 */
int policyfiles_make(struct store *s, const struct rollout_format *f,
		     const struct rollout_signer *signer, struct rollout_file *out, size_t max,
		     size_t *n, struct lerr *e);

#endif
