/*
 * fill.c - a big store for the benchmarks (fill.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/lerr.h"
#include "store/store.h"
#include "fill.h"

#define IN_FLIGHT	256		/* certificates submitted before waiting */
#define DAY		86400
#define RENEW_EVERY	(182 * DAY)
#define VALID_FOR	(90 * DAY)
#define DER_LEN		520		/* about a P-256 leaf's size */

/* One certificate in flight: what the store reads until the wait. */
struct slot {
	struct store_cert c;
	char sans[96];
	unsigned char der[DER_LEN];
	struct store_ticket *t;
};

/* Certificate i of n, issued in order up to now: device i % (n / 4),
 * the devices taking turns so that each renews every RENEW_EVERY. */
static void
fill_cert(struct slot *sl, unsigned i, unsigned n, int64_t now, int64_t ca_id,
	  const unsigned char serial[STORE_SERIAL_LEN])
{
	unsigned devices = n / 4 > 0 ? n / 4 : 1, dev = i % devices;
	struct store_cert *c = &sl->c;
	int64_t t = now - 60 - (int64_t)(n - 1 - i) * (RENEW_EVERY / devices);

	memset(c, 0, sizeof(*c));
	memcpy(c->serial, serial, STORE_SERIAL_LEN);
	c->serial_len = STORE_SERIAL_LEN;
	c->ca_id = ca_id;
	snprintf(c->device_id, sizeof(c->device_id), "dev-%06u", dev);
	snprintf(c->subject, sizeof(c->subject), "CN=%s", c->device_id);
	snprintf(sl->sans, sizeof(sl->sans), "DNS:%s.lan,IP:10.%u.%u.%u", c->device_id,
		 (dev >> 16) & 255, (dev >> 8) & 255, dev & 255);
	c->sans = sl->sans;
	c->profile = POLICY_DEVICE;
	c->not_before = t;
	c->not_after = t + VALID_FOR;
	c->issued_at = t;
	memset(c->key_id, 0x5a, sizeof(c->key_id));
	memcpy(c->key_id, &i, sizeof(i));
	memset(sl->der, (int)(i & 0xff), sizeof(sl->der));
	c->der = sl->der;
	c->der_len = sizeof(sl->der);
}

int
bench_fill(struct store *s, unsigned n, int64_t now, int64_t ca_id,
	   char first[2 * STORE_SERIAL_LEN + 1])
{
	static struct slot slots[IN_FLIGHT];
	unsigned char serial[STORE_SERIAL_LEN];
	unsigned char (*revoke)[STORE_SERIAL_LEN] = NULL;
	unsigned i, k, m, nrev = 0;
	struct store_revocation rv = { CRL_REASON_KEY_COMPROMISE, NULL, "bench", 0 };
	struct lerr e;
	int rc = -1;

	if ((revoke = calloc(n / 100 + 1, sizeof(*revoke))) == NULL)
		return -1;
	for (i = 0; i < n; i += m) {
		m = n - i < IN_FLIGHT ? n - i : IN_FLIGHT;
		for (k = 0; k < m; k++) {
			if (store_serial_reserve(s, serial, &e) != 0)
				goto fail;
			fill_cert(&slots[k], i + k, n, now, ca_id, serial);
			if ((i + k) % 100 == 50)
				memcpy(revoke[nrev++], serial, STORE_SERIAL_LEN);
			if (i + k == n - 1)
				hex_encode(serial, STORE_SERIAL_LEN, first);
			if (store_cert_submit(s, &slots[k].c, "bench", &slots[k].t, &e) != 0)
				goto fail;
		}
		for (k = 0; k < m; k++)
			if (store_ticket_wait(slots[k].t, &e) != 0)
				goto fail;
	}
	for (k = 0; k < nrev; k++)
		if (store_cert_revoke(s, revoke[k], STORE_SERIAL_LEN, &rv, &e) != 0)
			goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "bench: filling the store: %s\n", e.msg);
out:
	free(revoke);
	return rc;
}

