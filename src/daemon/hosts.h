/*
 * hosts.h - names that resolve: the LAN's DNS entries for the devices
 * lanca certified.
 *
 * Owns: which names a LAN's DNS should know (every DNS name of every
 * valid certificate except the mDNS ones: `.local` names, `localhost` and
 * wildcards; what is left is home.arpa and the site domains), which
 * address each resolves to (the certificate's IP SANs when it has any,
 * other than loopback ones, else the address the device last enrolled or
 * renewed from, as the store kept it), the three formats they are
 * written in (a hosts file, as dnsmasq's addn-hosts reads it; dnsmasq's
 * host-record lines; unbound's local-data), and the daemon's copy of the
 * hosts file kept current (hosts_file_*).
 * Callers: cli/cmd_export_hosts.c (`lanca export hosts`), cmd_serve.c
 * (`--hosts-file`).
 */
#ifndef LANCA_HOSTS_H
#define LANCA_HOSTS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/lerr.h"
#include "store/store.h"

enum hosts_format {
	HOSTS_HOSTS = 0,	/* "ADDRESS NAME" lines (/etc/hosts, dnsmasq --addn-hosts) */
	HOSTS_DNSMASQ,		/* "host-record=NAME,ADDRESS" (dnsmasq --conf-file) */
	HOSTS_UNBOUND,		/* "local-data:" and "local-data-ptr:" under "server:" */
};

#define HOSTS_FORMATS		"hosts, dnsmasq, unbound"
#define HOSTS_FILE_EVERY_S	60	/* the file is compared with the store at least this often */

/* The format called name: 0, or -1 when there is none. */
int hosts_format_parse(const char *name, enum hosts_format *out);

/*
 * Appends to out the entries of every certificate valid at now, in
 * format f, sorted by name (so that the same certificates always give the
 * same bytes). A name two valid certificates hold resolves to the newest
 * one's addresses. *n (may be NULL) receives the number of entries (name,
 * address). 0, or -1 with e.
 */
int hosts_render(struct store *s, enum hosts_format f, int64_t now, struct buf *out, size_t *n,
		 struct lerr *e);

/*
 * The daemon's hosts file at path (HOSTS_HOSTS format, mode 0644, written
 * atomically): written once now (-1 with e when it cannot be: serve does
 * not start with a file it cannot keep), then rewritten by a thread of its
 * own within a second of any committed issuance or revocation
 * (store_cert_changes) and every HOSTS_FILE_EVERY_S seconds (certificates
 * that expired), each time only when its contents change. A rewrite that
 * fails is logged and tried again within HOSTS_FILE_EVERY_S seconds (or
 * at the next change). now: the clock (NULL: time()).
 */
struct hosts_file;
int hosts_file_start(struct store *s, const char *path, time_t (*now)(void *arg), void *now_arg,
		     struct hosts_file **out, struct lerr *e);
void hosts_file_stop(struct hosts_file *h);	/* NULL-safe; joins the thread */

#endif
