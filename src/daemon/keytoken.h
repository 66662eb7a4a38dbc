/*
 * keytoken.h - `lanca key move-to-token`: the issuing CA's key moved from
 * its file in keys/ into a PKCS#11 token.
 *
 * Owns: the move and its proof. With serve stopped (the state
 * directory's lock, as a rollover takes it), the file key is copied into
 * the token as a sensitive object, the token's copy is opened back and
 * must be the issuing certificate's key and make a signature that
 * certificate verifies; only then does keys/issuing.key become the
 * record naming it (written beside it, renamed over it, durable). The
 * move is audited. What it cannot do: make the key never have been
 * outside the token, or reach copies of the file elsewhere (backups,
 * flash pages the old file used).
 */
#ifndef LANCA_KEYTOKEN_H
#define LANCA_KEYTOKEN_H

#include "common/lerr.h"

struct p11key_ref;

/* Moves dir's issuing key (decrypted with pass, NULL when it is not
 * encrypted) into the token `to` names; actor is who, for the audit row.
 * When the token holds that very key under that name already (a move
 * that failed after its copy), it is used and *adopted set. 0, or -1
 * with e and keys/issuing.key unchanged. */
int keytoken_move(const char *dir, const struct p11key_ref *to, const char *pass,
		  const char *actor, int *adopted, struct lerr *e);

#endif
