/*
 * options_client.h - lanca-enroll's option parsing for fuzz_options.c,
 * which cannot hold both programs' main.c (each has a static table of the
 * same name).
 */
#ifndef LANCA_FUZZ_OPTIONS_CLIENT_H
#define LANCA_FUZZ_OPTIONS_CLIENT_H

/* lanca-enroll's main() for argv[1] that is not one of its commands (for
 * a command: CLIENT_USAGE without running it). Returns the exit status. */
int options_client_main(int argc, char *argv[]);

/* The values of --timeout, --protocol and --est-label (each may be NULL:
 * not given) through client/main.c's readers; aborts on a broken
 * contract. */
void options_client_values(const char *timeout, const char *protocol, const char *label);

#endif
