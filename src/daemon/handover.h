/*
 * handover.h - the state directory as `lanca serve --user USER` needs it
 * when started as root: root keeps the directory and keys/, the user's
 * group may write the directory, and the files the network-facing process
 * writes (the store and its -wal/-shm, the gateway's key and chain) are
 * the user's.
 *
 * This is what systemd's StateDirectory= with Group=USER makes of the
 * directory (root:GROUP, StateDirectoryMode=0770): root enters it as its
 * owner, so serve needs no CAP_DAC_OVERRIDE, and systemd, finding the
 * directory owned as it wants, does not chown the tree below it. Giving a
 * file to another user needs CAP_CHOWN, which contrib/lanca.service does
 * not grant: `lanca init --user` hands the files over when it makes them,
 * serve hands over what it can, and under the unit a file the user does
 * not own is refused with the chown command that mends it.
 *
 * Owns: the list of the user's files and the rules above. Nothing in
 * keys/ is ever handed over (the signer refuses keys root does not own).
 */
#ifndef LANCA_HANDOVER_H
#define LANCA_HANDOVER_H

#include "common/lerr.h"

/* Makes dir root:USER's-group with group rwx and the user's files the
 * user's, following no symbolic link and chowning no file with other
 * links. Refuses user root. Run as root; 0 or -1 with e, which names the
 * command to run when this process may not chown (LERR_FORBIDDEN). */
int handover_state(const char *dir, const char *user, struct lerr *e);

#endif
