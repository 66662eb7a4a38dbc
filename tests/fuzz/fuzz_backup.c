/*
 * fuzz_backup.c - fuzz target for the backup reader (ca/backupfile.h:
 * bkf_reader_new and bkf_next, what `lanca restore` reads first).
 *
 * Every input is read as a backup with the passphrase "fuzz"; the seeds
 * are plain and sealed files made with Argon2id's least cost (1 pass,
 * 8 KiB), and the target allows no more (a file asking for more is
 * refused, as restore refuses one over its cap), so a sealed input costs
 * one cheap derivation.
 *
 * Besides memory errors and leaks, the target aborts on a broken
 * contract: a refusal without a code or with an empty or unterminated
 * message; a record of an unknown type, over its bounds, with a name
 * that is not a string, or an END handed out as a record; a reader that
 * goes on after its end.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sodium.h>

#include "ca/backupfile.h"

#define FUZZ_BACKUP_MEM_KIB	8
#define FUZZ_BACKUP_RECORDS	4096	/* enough for any seed and then some */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_backup_refused(const struct lerr *e)
{
	if (e->code == LERR_NONE || memchr(e->msg, '\0', sizeof(e->msg)) == NULL ||
	    e->msg[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bkf_mem m = { data, size, 0 };
	struct bkf_reader *r;
	struct bkf_record rec;
	struct lerr e;
	unsigned n = 0;
	int k;

	if (sodium_init() < 0)
		abort();
	memset(&e, 0, sizeof(e));
	if (bkf_reader_new(bkf_read_mem, &m, "fuzz", 4, FUZZ_BACKUP_MEM_KIB, &r, &e) != 0) {
		fuzz_backup_refused(&e);
		return 0;
	}
	while ((k = bkf_next(r, &rec, &e)) == 1) {
		if (rec.type < BKF_META || rec.type >= BKF_END || rec.len > BKF_DATA_MAX ||
		    memchr(rec.name, '\0', sizeof(rec.name)) == NULL ||
		    (rec.len > 0 && rec.data == NULL))
			abort();
		if (++n > FUZZ_BACKUP_RECORDS)
			break;
	}
	if (k < 0)
		fuzz_backup_refused(&e);
	else if (k == 0 && bkf_next(r, &rec, &e) != 0)
		abort();	/* after the end, nothing more */
	bkf_reader_free(r);
	return 0;
}
