/*
 * client.h - lanca-enroll, the device's program: its commands, exit
 * statuses and the conventions every part of client/ shares.
 *
 * client/ links common/ and GnuTLS only (no SQLite, libmicrohttpd or
 * libsodium), so secrets are wiped with gnutls_memset. main.c holds the
 * command table; each command is `int cmd_<name>(int argc, char *argv[])`
 * in cmd_<name>.c, parses its own options with getopt_long and returns the
 * exit status. root.c settles the trust anchor, devkey.c the device's
 * key (in a file or a PKCS#11 token), device.c the request and the
 * files, exchange.c the conversation with the gateway over lanca's API
 * and estc.c the one over EST, httpc.c the HTTP/TLS client beneath both.
 */
#ifndef LANCA_CLIENT_H
#define LANCA_CLIENT_H

/* Exit statuses (docs/lanca-enroll.1 and contrib/lanca-enroll.sh use the
 * same ones). */
#define CLIENT_OK		0	/* issued, renewed, or not due */
#define CLIENT_FAIL		1	/* refused or failed */
#define CLIENT_USAGE		2
#define CLIENT_PENDING		3	/* still pending at --timeout */

#define CLIENT_MAX_FILE		(256 * 1024)	/* any PEM file read or written */
#define CLIENT_MAX_KEY		(64 * 1024)
#define CLIENT_DEFAULT_TIMEOUT	300
#define CLIENT_IO_TIMEOUT	30	/* one connect, read or write */

int cmd_enroll(int argc, char *argv[]);
int cmd_renew(int argc, char *argv[]);
int cmd_trust(int argc, char *argv[]);

/* Prints "lanca-enroll: <message>" and a newline on stderr. */
void client_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a --timeout value (seconds, 1 to 86400) into *timeout. Returns 0,
 * or -1 with a message printed. */
int client_parse_timeout(const char *s, long *timeout);

/* Which protocol a command speaks to the gateway (--protocol). */
enum client_protocol {
	CLIENT_PROTO_API,	/* lanca's /api/v1 (exchange.c), the default */
	CLIENT_PROTO_EST	/* EST, RFC 7030 (estc.c) */
};

/* Parses a --protocol value ("api" or "est") into *p. Returns 0, or -1
 * with a message printed. */
int client_parse_protocol(const char *s, enum client_protocol *p);

/* Checks an --est-label value given with protocol p. Returns 0, or -1
 * with a message printed. */
int client_check_label(const char *label, enum client_protocol p);

/* Seconds on a clock that never jumps. */
double client_now(void);

#endif
