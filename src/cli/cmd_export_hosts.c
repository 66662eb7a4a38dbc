/*
 * cmd_export_hosts.c - `lanca export hosts`: the names of the valid
 * certificates with their devices' addresses, for the LAN's DNS, as a
 * hosts file, dnsmasq host-record lines or unbound local-data
 * (daemon/hosts.c decides the names and writes the formats).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "daemon/hosts.h"
#include "store/store.h"

#define EXPORT_HOSTS_MAX	(64u * 1024 * 1024)

static void
export_hosts_usage(FILE *f)
{
	fprintf(f, "usage: lanca export hosts [--dir DIR] [--format hosts|dnsmasq|unbound] "
		"[--out FILE]\n");
}

int
cmd_export_hosts(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum hosts_format fmt = HOSTS_HOSTS;
	const char *dir = NULL, *path = NULL;
	struct store *s = NULL;
	struct buf out;
	struct lerr e;
	size_t n = 0;
	int c, rc = CMD_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': path = optarg; break;
		case 'f':
			if (hosts_format_parse(optarg, &fmt) != 0) {
				cmd_error("export hosts", "--format %s is not a format; the formats "
					  "are: " HOSTS_FORMATS, optarg);
				return CMD_USAGE;
			}
			break;
		case 'h':
			export_hosts_usage(stdout);
			return CMD_OK;
		default:
			export_hosts_usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc) {
		export_hosts_usage(stderr);
		return CMD_USAGE;
	}
	buf_init(&out, EXPORT_HOSTS_MAX);
	if (cmd_store_read(cmd_dir(dir), &s, &e) != 0 ||
	    hosts_render(s, fmt, (int64_t)time(NULL), &out, &n, &e) != 0 ||
	    (path != NULL && fileio_write_atomic(path, out.data, out.len, 0644, 0, &e) != 0)) {
		cmd_error("export hosts", "%s", e.msg);
		goto out;
	}
	if (path == NULL && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
		cmd_error("export hosts", "cannot write to the standard output");
		goto out;
	}
	if (path != NULL)
		printf("%zu entries written to %s\n", n, path);
	rc = CMD_OK;
out:
	buf_free(&out);
	store_close(s);
	return rc;
}
