/*
 * fuzz_csr.c - fuzz target for the PKCS#10 parser (csr.c) and the name
 * policy applied to what it yields (policy_names in policy.c): the bytes a
 * device posts to /enroll reach exactly these two before anything else.
 *
 * Each input is parsed twice. Without the self-signature check first, so
 * that mutated requests (whose signatures no longer verify) still reach
 * the CN, SAN, basicConstraints and key-id code and the policy; then with
 * it, as the daemon does. Besides memory errors (ASan) and leaks (LSan),
 * the target aborts on a broken contract: a verified parse that the
 * unverified one refused, or the two disagreeing about what was asked.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "ca/csr.h"
#include "common/lerr.h"
#include "ca/names.h"
#include "ca/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless a and b hold the same names in the same order. */
static void
fuzz_csr_same_names(const struct names *a, const struct names *b)
{
	size_t i;

	if (a->ndns != b->ndns || a->nip != b->nip)
		abort();
	for (i = 0; i < a->ndns; i++)
		if (strcmp(a->dns[i], b->dns[i]) != 0)
			abort();
	for (i = 0; i < a->nip; i++)
		if (memcmp(&a->ip[i], &b->ip[i], sizeof(a->ip[i])) != 0)
			abort();
}

/*
 * What a parsed request must satisfy, then what the rest of the daemon
 * does with one: key id, DER export and the policy for both profiles.
 * The csr stays owned by the caller.
 */
static void
fuzz_csr_use(const struct csr *c, const struct policy *pol)
{
	static const enum policy_profile profiles[] = { POLICY_DEVICE, POLICY_GATEWAY };
	gnutls_datum_t der = { NULL, 0 };
	struct names allowed;
	struct lerr e;
	char hex[65];
	size_t i;

	if (strlen(c->cn) == 0 || strlen(c->cn) > CSR_CN_MAX ||
	    c->sans.ndns > NAMES_MAX || c->sans.nip > NAMES_MAX)
		abort();
	for (i = 0; i < c->sans.ndns; i++)
		if (c->sans.dns[i] == NULL || strlen(c->sans.dns[i]) > NAMES_DNS_MAX)
			abort();
	csr_key_id_hex(c, hex);
	if (strlen(hex) != 64)
		abort();
	if (csr_export_der(c, &der) == 0 && (der.data == NULL || der.size == 0 ||
					     der.size > CSR_MAX_BYTES * 2))
		abort();
	gnutls_free(der.data);
	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		names_init(&allowed);
		lerr_clear(&e);
		if (policy_names(pol, c, profiles[i], &allowed, &e) == 0) {
			/* Only names the request asked for, plus at most the
			 * one "<id>.local" a request without DNS SANs gets. */
			if (allowed.ndns > c->sans.ndns + 1 || allowed.nip > c->sans.nip)
				abort();
		} else if (e.code == LERR_NONE || e.http < 400) {
			abort();
		}
		names_free(&allowed);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csr *loose = NULL, *strict = NULL;
	struct policy pol;
	struct lerr e;
	int loose_rc, strict_rc;

	lerr_clear(&e);
	/* The default permitted space, as `lanca init` without --domain. */
	if (policy_init(&pol, NULL, 0, NULL, 0, &e) != 0)
		abort();

	lerr_clear(&e);
	loose_rc = csr_parse_flags(data, size, CSR_PARSE_NO_VERIFY, &loose, &e);
	if (loose_rc == 0) {
		if (loose == NULL || loose->sig_verified)
			abort();
		fuzz_csr_use(loose, &pol);
	} else if (loose != NULL || e.code == LERR_NONE) {
		abort();
	}

	lerr_clear(&e);
	strict_rc = csr_parse(data, size, &strict, &e);
	if (strict_rc == 0) {
		/* Verifying can only refuse more, never read differently. */
		if (strict == NULL || !strict->sig_verified || loose_rc != 0 ||
		    strcmp(strict->cn, loose->cn) != 0 || strict->key_type != loose->key_type ||
		    strict->key_bits != loose->key_bits || strict->asked_ca != loose->asked_ca ||
		    memcmp(strict->key_id, loose->key_id, sizeof(strict->key_id)) != 0)
			abort();
		fuzz_csr_same_names(&strict->sans, &loose->sans);
		fuzz_csr_use(strict, &pol);
	} else if (strict != NULL || e.code == LERR_NONE) {
		abort();
	}

	csr_free(strict);
	csr_free(loose);
	policy_free(&pol);
	return 0;
}
