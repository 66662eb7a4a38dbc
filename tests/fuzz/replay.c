/*
 * replay.c - the main() a fuzz target gets when it is not linked with
 * libFuzzer: it feeds LLVMFuzzerTestOneInput every file named on the
 * command line, or in a directory named there, once. `make check` runs
 * each target over its committed corpus this way (with no arguments the
 * target's own corpus, FUZZ_CORPUS under TEST_SRCDIR), so the seeds and
 * every crash reproducer added to a corpus stay green under the unit-test
 * flags, ASan and UBSan included.
 *
 * Exits 0 after replaying at least one input; 1 when a path cannot be
 * read or nothing was found to replay (a missing corpus must not pass).
 * A target that finds a bug aborts, which fails the test by itself.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_BYTES	(1024 * 1024)	/* larger files are skipped */
#define REPLAY_MAX_DEPTH	8		/* directories inside directories */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay {
	unsigned long inputs;	/* files handed to the target */
	unsigned long skipped;	/* files over REPLAY_MAX_BYTES */
	int failed;		/* a path could not be read */
};

/*
 * Reads the regular file path (st is its stat) into a malloc'd buffer and
 * hands it to the target. Files over REPLAY_MAX_BYTES are counted as
 * skipped. Returns 0, or -1 when the file cannot be read.
 */
static int
replay_file(struct replay *r, const char *path, const struct stat *st)
{
	unsigned char *data = NULL;
	size_t size, got;
	FILE *f = NULL;
	int rc = -1;

	if (st->st_size > REPLAY_MAX_BYTES) {
		fprintf(stderr, "replay: %s: skipped, larger than %d bytes\n", path,
			REPLAY_MAX_BYTES);
		r->skipped++;
		return 0;
	}
	size = (size_t)st->st_size;
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	/* Exactly size bytes, so ASan sees a read past the input's end;
	 * never malloc(0), and the target never gets NULL. */
	data = malloc(size > 0 ? size : 1);
	if (data == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	got = fread(data, 1, size, f);
	if (ferror(f) || got != size || fgetc(f) != EOF) {
		fprintf(stderr, "replay: %s: short read, or the file changed\n", path);
		goto out;
	}
	/* Named before it runs: a crash report then says which input. */
	printf("replay: %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	r->inputs++;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(data);
	return rc;
}

static int replay_path(struct replay *r, const char *path, int depth);

/* Skips "." and "..", and hidden files (editor and VCS droppings). */
static int
replay_visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * Replays every visible entry of directory path in name order (so two runs
 * replay in the same order). Returns 0, or -1 if anything failed to read.
 */
static int
replay_dir(struct replay *r, const char *path, int depth)
{
	struct dirent **ents = NULL;
	char child[4096];
	int n, i, w, rc = -1;

	if (depth >= REPLAY_MAX_DEPTH) {
		fprintf(stderr, "replay: %s: directories nested too deep\n", path);
		return -1;
	}
	n = scandir(path, &ents, replay_visible, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		w = snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
		if (w < 0 || (size_t)w >= sizeof(child)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", path, ents[i]->d_name);
			rc = -1;
		} else if (replay_path(r, child, depth + 1) != 0) {
			rc = -1;
		}
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

/* Replays a file, or a directory's files. 0, or -1 (already reported). */
static int
replay_path(struct replay *r, const char *path, int depth)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(r, path, depth);
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "replay: %s: not a file or directory\n", path);
		return -1;
	}
	return replay_file(r, path, &st);
}

int
main(int argc, char *argv[])
{
#ifdef FUZZ_CORPUS
	static const char *const defaults[] = {
		TEST_SRCDIR "/tests/fuzz/corpus/" FUZZ_CORPUS, NULL
	};
#else
	static const char *const defaults[] = { NULL };
#endif
	struct replay r = { 0, 0, 0 };
	const char *const *paths = argc > 1 ? (const char *const *)(argv + 1) : defaults;
	int i;

	if (paths[0] == NULL) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 0; paths[i] != NULL; i++)
		if (replay_path(&r, paths[i], 0) != 0)
			r.failed = 1;
	printf("replayed %lu inputs", r.inputs);
	if (r.skipped > 0)
		printf(" (%lu skipped: over %d bytes)", r.skipped, REPLAY_MAX_BYTES);
	printf("\n");
	if (r.inputs == 0 && !r.failed)
		fprintf(stderr, "replay: nothing to replay\n");
	return r.failed || r.inputs == 0 ? 1 : 0;
}
