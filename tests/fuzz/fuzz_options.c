/*
 * fuzz_options.c - fuzz target for the command-line option parsers: the
 * `lanca` command table (src/cli/main.c) and the argument readers its
 * commands share (cmd_reason_args, cmd_dir_args, cmd_subcommand), `lanca
 * serve`'s options (serve_parse in src/cli/cmd_serve.c), and lanca-enroll's
 * `lanca audit --since` (audit_parse_time in src/cli/cmd_audit.c), the
 * readers of other commands' option values (an address and port for
 * serve's --https and --http, a network for init's --net, a key type, a
 * hosts format, a span for list --expiring, a serial for export), and
 * lanca-enroll's table and option values (src/client/main.c, through
 * options_client.c).
 *
 * These files are compiled into this target, main() renamed, rather than
 * changed: serve_parse and audit_parse_time are static, and a program's
 * main() cannot be linked twice. Nothing a command would do after its options are read
 * runs here: a command table only ever sees words that are not commands
 * (usage, --help, --version, typos), and cmd_subcommand is handed a table
 * of this file's own.
 *
 * The first byte chooses the parser (FUZZ_OPT_KINDS); the rest is split at
 * NUL bytes into argv[1..] (argv[0] is the program's name; at most
 * FUZZ_OPT_ARGS arguments). Besides memory errors and leaks, the target
 * aborts on a broken contract: an exit status that is not one of the
 * three; a value read outside its bounds, or a network that does not
 * read back the same once written out; a refused --since without a reason, or digits read as another
 * number; an accepted --reason that admin_reason_check refuses; serve
 * options accepted outside their ranges, or an accepted string that is
 * neither a default nor one of the arguments.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int lanca_main(int argc, char *argv[]);
#define main lanca_main
#include "cli/main.c"
#undef main
#include "cli/cmd_serve.c"
#include "cli/cmd_audit.c"

#include <netinet/in.h>
#include <sys/socket.h>

#include "ca/keystore.h"
#include "ca/names.h"
#include "daemon/hosts.h"
#include "http/httpd.h"
#include "http/route.h"
#include "options_client.h"

#define FUZZ_OPT_ARGS	64

enum fuzz_opt_kind {
	FUZZ_OPT_LANCA, FUZZ_OPT_SERVE, FUZZ_OPT_REASON, FUZZ_OPT_DIR_JSON, FUZZ_OPT_DIR,
	FUZZ_OPT_SUB, FUZZ_OPT_SINCE, FUZZ_OPT_ENROLL, FUZZ_OPT_ENROLL_VALUES, FUZZ_OPT_VALUES,
	FUZZ_OPT_KINDS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char **fuzz_opt_argv;	/* this input's arguments, for fuzz_opt_from_argv */
static int fuzz_opt_argc;

/* getopt keeps its place between calls; a program parses once, the fuzzer
 * many times. optind 0 makes glibc start afresh, forgetting a pointer
 * into the previous input's arguments. */
static void
fuzz_opt_getopt_reset(void)
{
	static char name[] = "fuzz";
	char *none[] = { name, NULL };

	optind = 0;
	(void)getopt(1, none, "");
	optind = 1;
}

static void
fuzz_opt_status(int rc)
{
	if (rc != CMD_OK && rc != CMD_FAILED && rc != CMD_USAGE)
		abort();
}

/* Aborts unless s is NULL, def, or one of this input's arguments (or
 * what follows the '=' inside one: --dir=x). */
static void
fuzz_opt_from_argv(const char *s, const char *def)
{
	int i;

	if (s == NULL || s == def)
		return;
	for (i = 0; i < fuzz_opt_argc; i++)
		if (s >= fuzz_opt_argv[i] && s <= fuzz_opt_argv[i] + strlen(fuzz_opt_argv[i]))
			return;
	abort();
}

static void
fuzz_opt_serve(int argc, char *argv[])
{
	struct serve_opts o;
	int rc;

	rc = serve_parse(argc, argv, &o);
	if (rc == -1 || rc == CMD_USAGE)
		return;
	if (rc != 0)
		abort();
	if (o.rate < 1 || o.rate > 100000 || o.burst < 1 || o.burst > 100000 ||
	    o.threads > SIGNER_THREADS_MAX || o.enroll.monitor_s > 3600 ||
	    o.enroll.renew_grace_days > 3650 || o.enroll.pending_days > 365 ||
	    o.crl.days > REVOCATION_DAYS_MAX || o.https == NULL || o.dir == NULL ||
	    (o.est_label != NULL && !http_param_ok(o.est_label, strlen(o.est_label))))
		abort();
	fuzz_opt_from_argv(o.https, "0.0.0.0:443");
	fuzz_opt_from_argv(o.http, "0.0.0.0:80");
	fuzz_opt_from_argv(o.user, NULL);
	fuzz_opt_from_argv(o.web_dir, LANCA_WEBDIR);
	fuzz_opt_from_argv(o.pass_file, NULL);
	fuzz_opt_from_argv(o.hosts_file, NULL);
	fuzz_opt_from_argv(o.est_label, NULL);
	if (o.dir != cmd_dir(NULL))
		fuzz_opt_from_argv(o.dir, NULL);
}

static void
fuzz_opt_reason(int argc, char *argv[])
{
	const char *dir, *reason, *arg;
	struct lerr e;
	int rc;

	rc = cmd_reason_args("deny", argc, argv, serve_usage, &dir, &reason, &arg);
	if (rc != -1) {
		fuzz_opt_status(rc);
		return;
	}
	if (arg == NULL || admin_reason_check(reason, &e) != 0)
		abort();
	fuzz_opt_from_argv(dir, NULL);
	fuzz_opt_from_argv(reason, NULL);
	fuzz_opt_from_argv(arg, NULL);
}

static void
fuzz_opt_dir(int argc, char *argv[], int with_json)
{
	const char *dir = NULL;
	int json = 0, rc;

	rc = cmd_dir_args(argc, argv, &dir, with_json ? &json : NULL, serve_usage);
	if (rc != -1) {
		fuzz_opt_status(rc);
		return;
	}
	if (dir == NULL || (json != 0 && json != 1))
		abort();
	if (dir != cmd_dir(NULL))
		fuzz_opt_from_argv(dir, NULL);
}

/* The subcommands of FUZZ_OPT_SUB's table: the shared readers again, as
 * `lanca vendor list` and `lanca audit verify` use them. */
static int
fuzz_opt_sub_json(int argc, char *argv[])
{
	fuzz_opt_dir(argc, argv, 1);
	return CMD_OK;
}

static int
fuzz_opt_sub_reason(int argc, char *argv[])
{
	fuzz_opt_reason(argc, argv);
	return CMD_OK;
}

/* `lanca audit --since T`: a time is Unix seconds or RFC 3339, and digits
 * alone read as the number they spell. */
static void
fuzz_opt_since(const char *t)
{
	struct lerr e;
	int64_t v = -1;

	lerr_clear(&e);
	if (audit_parse_time(t, &v, &e) != 0) {
		if (e.code == LERR_NONE || memchr(e.msg, '\0', sizeof(e.msg)) == NULL)
			abort();
		return;
	}
	if (t[0] != '\0' && strspn(t, "0123456789") == strlen(t) && v != strtoll(t, NULL, 10))
		abort();
}

/* One option value v through every reader of a lanca option's value. */
static void
fuzz_opt_values(const char *v)
{
	unsigned char serial[STORE_SERIAL_MAX];
	struct sockaddr_storage ss;
	struct ipnet ip, again;
	enum keystore_type kt;
	enum hosts_format hf;
	socklen_t sl = 0;
	uint16_t port = 0;
	struct lerr e;
	char text[64];
	int64_t span;
	size_t len = 0;

	if (ipnet_parse(v, &ip) == 0) {
		if ((ip.len != 4 && ip.len != 16) || ip.prefix > ip.len * 8 ||
		    ipnet_format(&ip, text, sizeof(text)) != 0 || ipnet_parse(text, &again) != 0 ||
		    memcmp(&ip, &again, sizeof(ip)) != 0)
			abort();
	}
	(void)keystore_type_parse(v, &kt);
	(void)hosts_format_parse(v, &hf);
	if (admin_duration_parse(v, &span, &e) == 0 && (span < 1 || span > ADMIN_EXPIRING_MAX))
		abort();
	if (admin_serial_parse(v, serial, &len, &e) == 0 && (len < 1 || len > STORE_SERIAL_MAX))
		abort();
	memset(&ss, 0, sizeof(ss));
	if (httpd_parse_addr(v, &ss, &sl, &port, &e) == 0 &&
	    !((ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in)) ||
	      (ss.ss_family == AF_INET6 && sl == sizeof(struct sockaddr_in6))))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cmd_sub subs[] = {
		{ "list", fuzz_opt_sub_json, "a listing" },
		{ "deny", fuzz_opt_sub_reason, "a refusal" },
	};
	static char lanca_name[] = "lanca", enroll_name[] = "lanca-enroll";
	char *argv[FUZZ_OPT_ARGS + 2], *buf;
	unsigned kind;
	size_t i, start;
	int argc = 1;

	if (size == 0)
		return 0;
	kind = data[0] % FUZZ_OPT_KINDS;
	data++;
	size--;
	/* One copy per argument, so that ASan sees each one's end. */
	buf = malloc(size + 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = kind == FUZZ_OPT_ENROLL ? enroll_name : lanca_name;
	for (i = 0, start = 0; i <= size && argc <= FUZZ_OPT_ARGS; i++) {
		if (i < size && buf[i] != '\0')
			continue;
		if (i > start || i < size)
			argv[argc++] = strdup(buf + start);
		start = i + 1;
	}
	argv[argc] = NULL;
	fuzz_opt_argv = argv;
	fuzz_opt_argc = argc;
	fuzz_opt_getopt_reset();
	switch (kind) {
	case FUZZ_OPT_LANCA:
		for (i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				break;
		if (argc < 2 || i == sizeof(commands) / sizeof(commands[0]))
			fuzz_opt_status(lanca_main(argc, argv));
		break;
	case FUZZ_OPT_SERVE:
		fuzz_opt_serve(argc, argv);
		break;
	case FUZZ_OPT_REASON:
		fuzz_opt_reason(argc, argv);
		break;
	case FUZZ_OPT_DIR_JSON:
	case FUZZ_OPT_DIR:
		fuzz_opt_dir(argc, argv, kind == FUZZ_OPT_DIR_JSON);
		break;
	case FUZZ_OPT_SUB:
		fuzz_opt_status(cmd_subcommand("fuzz", argc, argv, subs,
					       sizeof(subs) / sizeof(subs[0]), serve_usage));
		break;
	case FUZZ_OPT_SINCE:
		fuzz_opt_since(argc > 1 ? argv[1] : "");
		break;
	case FUZZ_OPT_ENROLL:
		fuzz_opt_status(options_client_main(argc, argv));
		break;
	case FUZZ_OPT_VALUES:
		for (i = 1; i < (size_t)argc; i++)
			fuzz_opt_values(argv[i]);
		break;
	default:
		options_client_values(argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL,
				      argc > 3 ? argv[3] : NULL);
		break;
	}
	/* getopt_long permutes argv[1..]: every pointer is still there. */
	for (i = 1; i < (size_t)argc; i++)
		free(argv[i]);
	free(buf);
	return 0;
}
