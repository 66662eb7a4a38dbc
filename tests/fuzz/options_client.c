/*
 * options_client.c - lanca-enroll's command table and option values
 * (src/client/main.c, compiled in here with its main() renamed) for the
 * fuzz target fuzz_options.c; see options_client.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

int lanca_enroll_main(int argc, char *argv[]);
#define main lanca_enroll_main
#include "client/main.c"
#undef main

#include "options_client.h"

int
options_client_main(int argc, char *argv[])
{
	size_t i;
	int rc;

	for (i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return CLIENT_USAGE;
	rc = lanca_enroll_main(argc, argv);
	/* main() ignores SIGPIPE for httpc; the fuzzer wants it back. */
	signal(SIGPIPE, SIG_DFL);
	return rc;
}

void
options_client_values(const char *timeout, const char *protocol, const char *label)
{
	enum client_protocol p = CLIENT_PROTO_API;
	long t = 0;

	if (timeout != NULL) {
		if (client_parse_timeout(timeout, &t) == 0 && (t < 1 || t > 86400))
			abort();
	}
	if (protocol != NULL && client_parse_protocol(protocol, &p) == 0 &&
	    p != CLIENT_PROTO_API && p != CLIENT_PROTO_EST)
		abort();
	if (client_check_label(label, p) == 0 && label != NULL &&
	    (p != CLIENT_PROTO_EST || strlen(label) < 1 || strlen(label) > ESTC_LABEL_MAX))
		abort();
}
