/*
 * signer.c - the signer process: its entry, its table of operations, the
 * loop that serves each channel, privilege drop, memory locking and the
 * call that sandboxes it (sandbox.c). The daemon's side of the channels
 * is client.c; what they say is proto.h.
 *
 * At start, as root: load the passphrase, recreate keys/'s certificates
 * if an older state directory lacks them (only after proving them with
 * the keys: files.c), load and verify the chain and key (sign.c), then
 * drop privileges, sandbox itself and announce READY. Any failure is sent
 * as ERROR and the process ends: `lanca serve` does not start without a
 * signer.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sodium.h>
#include <linux/capability.h>

#include "signer/ipc.h"
#include "ca/auditseal.h"
#include "ca/backupfile.h"
#include "ca/keystore.h"
#include "common/log.h"
#include "common/p11key.h"
#include "signer/files.h"
#include "signer/proc.h"
#include "signer/proto.h"
#include "signer/sandbox.h"
#include "signer/signer.h"
#include "ca/x509.h"

struct signer_child {
	const struct signer_config *cfg;
	struct sign_ctx ctx;
	/* keys/ sealed to cfg->backup_to at the start (files.h), or NULL:
	 * ciphertext, handed to the daemon for its scheduled backups. */
	unsigned char *sealed_keys;
	size_t sealed_len;
	struct bkf_author *author;	/* locked (sodium_malloc), or NULL */
};

struct signer_thread {
	struct signer_child *child;
	int fd;
	pthread_t tid;
};

/* Sends an ERROR reply; -1 if the channel is gone. */
static int
signer_reply_error(int fd, const struct lerr *e)
{
	struct buf b;
	int rc;

	buf_init(&b, IPC_MAX);
	rc = ipc_put_str(&b, lerr_str(e->code != LERR_NONE ? e->code : LERR_INTERNAL)) | ipc_put_u16(&b, (uint16_t)e->http) |
	     ipc_put_str(&b, e->msg);
	if (rc == 0)
		rc = ipc_send(fd, SIGNER_MSG_ERROR, 0, b.data, b.len);
	buf_free(&b);
	return rc;
}

/*
 * ISSUE: rebuild the request from its bytes (verifying its signature
 * unless this process verified these very bytes: sign_parse), then
 * sign_leaf() applies policy and checks the result. Returns -1 only for a protocol violation
 * (the caller then ends the process); a refused request is an answer.
 */
static int
signer_op_issue(struct signer_child *ch, int fd, const struct buf *in)
{
	const unsigned char *serial, *der;
	size_t serial_len, der_len;
	struct sign_req req;
	struct sign_out out;
	struct csr *csr = NULL;
	struct ipc_rd rd;
	struct lerr e;
	struct buf b;
	uint8_t profile;
	int rc = -1;

	memset(&out, 0, sizeof(out));
	buf_init(&b, IPC_MAX);
	lerr_clear(&e);
	ipc_rd_init(&rd, in->data, in->len);
	profile = ipc_get_u8(&rd);
	req.days = ipc_get_u32(&rd);
	if (ipc_get_bytes(&rd, &serial, &serial_len, X509_SERIAL_LEN) != 0 ||
	    ipc_get_bytes(&rd, &der, &der_len, CSR_MAX_BYTES) != 0 ||
	    ipc_rd_done(&rd) != 0 || serial_len != X509_SERIAL_LEN ||
	    policy_profile_kind((enum policy_profile)profile) < 0) {
		log_err("malformed ISSUE message (%zu bytes): stopping", in->len);
		goto out;
	}
	req.profile = (enum policy_profile)profile;
	req.serial = serial;
	if (sign_parse(&ch->ctx, der, der_len, req.profile, &csr, &e) != 0 ||
	    sign_leaf(&ch->ctx, csr, &req, &out, &e) != 0) {
		if (e.code == LERR_INVARIANT)
			log_err("refused to release a certificate: %s", e.msg);
		rc = signer_reply_error(fd, &e) == 0 ? 0 : -1;
		goto out;
	}
	if (ipc_put_u64(&b, (uint64_t)out.not_before) != 0 ||
	    ipc_put_u64(&b, (uint64_t)out.not_after) != 0 ||
	    ipc_put_bytes(&b, out.der.data, out.der.size) != 0 ||
	    ipc_put_bytes(&b, out.key_id, sizeof(out.key_id)) != 0 ||
	    ipc_put_str(&b, out.names) != 0)
		goto out;
	rc = ipc_send(fd, SIGNER_MSG_OK, 0, b.data, b.len);
out:
	csr_free(csr);
	sign_out_free(&out);
	buf_free(&b);
	return rc;
}

/*
 * VERIFY: the daemon asks whether a request proves possession of its key
 * before it records anything under that key. The signer parses and
 * verifies the bytes itself and remembers them, so that their ISSUE does
 * not verify them a second time. Returns -1 only for a protocol
 * violation; a forged request is an answer (ERROR).
 */
static int
signer_op_verify(struct signer_child *ch, int fd, const struct buf *in)
{
	const unsigned char *der;
	size_t der_len;
	struct ipc_rd rd;
	struct lerr e;

	lerr_clear(&e);
	ipc_rd_init(&rd, in->data, in->len);
	if (ipc_get_bytes(&rd, &der, &der_len, CSR_MAX_BYTES) != 0 || ipc_rd_done(&rd) != 0) {
		log_err("malformed VERIFY message (%zu bytes): stopping", in->len);
		return -1;
	}
	if (sign_verify(&ch->ctx, der, der_len, &e) != 0)
		return signer_reply_error(fd, &e) == 0 ? 0 : -1;
	return ipc_send(fd, SIGNER_MSG_VERIFIED, 0, NULL, 0);
}

/*
 * CHECKPOINT: signs "audit row N has hash H at time T" (sign_checkpoint
 * lays the message out). The signer cannot see the store: what it vouches
 * for is that the daemon claimed this head at that time, so that a later
 * rewrite of rows up to N, by whoever can write the database but not
 * reach this key, no longer matches. Returns -1 only for a protocol
 * violation.
 */
static int
signer_op_checkpoint(struct signer_child *ch, int fd, const struct buf *in)
{
	unsigned char sig[AUDITSEAL_SIG_LEN];
	const unsigned char *head;
	size_t head_len;
	int64_t row_id, at;
	struct ipc_rd rd;
	struct lerr e;
	struct buf b;
	int rc;

	lerr_clear(&e);
	ipc_rd_init(&rd, in->data, in->len);
	row_id = (int64_t)ipc_get_u64(&rd);
	if (ipc_get_bytes(&rd, &head, &head_len, AUDITSEAL_HASH_LEN) != 0 ||
	    head_len != AUDITSEAL_HASH_LEN) {
		log_err("malformed CHECKPOINT message (%zu bytes): stopping", in->len);
		return -1;
	}
	at = (int64_t)ipc_get_u64(&rd);
	if (ipc_rd_done(&rd) != 0) {
		log_err("malformed CHECKPOINT message (%zu bytes): stopping", in->len);
		return -1;
	}
	if (sign_checkpoint(&ch->ctx, row_id, head, at, sig, &e) != 0)
		return signer_reply_error(fd, &e) == 0 ? 0 : -1;
	buf_init(&b, IPC_MAX);
	rc = ipc_put_bytes(&b, sig, sizeof(sig));
	if (rc == 0)
		rc = ipc_send(fd, SIGNER_MSG_SIGNED, 0, b.data, b.len);
	buf_free(&b);
	return rc;
}

/*
 * count entries of a CRL or CRL_MORE payload from rd into ents (NULL:
 * read and dropped, when they could not be kept). 0, or -1 when the
 * payload does not hold them.
 */
static int
signer_crl_entries(struct ipc_rd *rd, uint32_t count, struct crl_entry *ents)
{
	const unsigned char *serial;
	struct crl_entry en;
	size_t len;
	uint32_t i;

	for (i = 0; i < count; i++) {
		memset(&en, 0, sizeof(en));
		if (ipc_get_bytes(rd, &serial, &len, CRL_SERIAL_MAX) != 0)
			return -1;
		memcpy(en.serial, serial, len);
		en.serial_len = len;
		en.revoked_at = (time_t)ipc_get_u64(rd);
		en.reason = (enum crl_reason)ipc_get_u8(rd);
		if (ents != NULL)
			ents[i] = en;
	}
	return ipc_rd_done(rd);
}

/* Sends der as CRL_OK and as many CRL_PART as it takes (proto.h). */
static int
signer_crl_send(int fd, const gnutls_datum_t *der)
{
	struct buf b;
	size_t off = 0, n;
	int rc = 0;

	buf_init(&b, IPC_MAX);
	do {
		n = der->size - off < SIGNER_CRL_PIECE ? der->size - off : SIGNER_CRL_PIECE;
		b.len = 0;
		if (off == 0)
			rc = ipc_put_u32(&b, der->size);
		if (rc == 0)
			rc = ipc_put_bytes(&b, der->data + off, n);
		if (rc == 0)
			rc = ipc_send(fd, off == 0 ? SIGNER_MSG_CRL_OK : SIGNER_MSG_CRL_PART, 0,
				      b.data, b.len);
		off += n;
	} while (rc == 0 && off < der->size);
	buf_free(&b);
	return rc;
}

/*
 * CRL: the entries, number and dates the daemon sends (in a CRL and as
 * many CRL_MORE as it takes), built into a CRL here, signed and checked
 * (sign_crl), sent back in pieces. Returns -1 only for a protocol
 * violation; parameters crl_make refuses are an answer (ERROR), given
 * once every message of the request has been read, so that the channel
 * stays in step.
 */
static int
signer_op_crl(struct signer_child *ch, int fd, const struct buf *in)
{
	struct crl_entry *ents = NULL;
	gnutls_datum_t der = { NULL, 0 };
	struct crl_params p;
	struct ipc_rd rd;
	struct lerr e;
	struct buf more;
	uint16_t type, flags;
	uint32_t total, count, got;
	unsigned gen;
	int rc = -1;

	lerr_clear(&e);
	buf_init(&more, IPC_MAX);
	memset(&p, 0, sizeof(p));
	ipc_rd_init(&rd, in->data, in->len);
	gen = ipc_get_u8(&rd);
	p.number = ipc_get_u64(&rd);
	p.this_update = (time_t)ipc_get_u64(&rd);
	p.next_update = (time_t)ipc_get_u64(&rd);
	total = ipc_get_u32(&rd);
	count = ipc_get_u32(&rd);
	if (rd.failed || gen > SIGN_GEN_PREVIOUS || total > CRL_ENTRIES_MAX ||
	    count > SIGNER_CRL_ENTRIES_PER_MSG || count > total || (count == 0 && total > 0))
		goto bad;
	if (total > 0 && (ents = calloc(total, sizeof(*ents))) == NULL)
		lerr_set(&e, LERR_INTERNAL, "out of memory for %u CRL entries", total);
	if (signer_crl_entries(&rd, count, ents) != 0)
		goto bad;
	for (got = count; got < total; got += count) {
		if (ipc_recv(fd, &type, &flags, &more) != 0 || type != SIGNER_MSG_CRL_MORE ||
		    flags != 0)
			goto bad;
		ipc_rd_init(&rd, more.data, more.len);
		count = ipc_get_u32(&rd);
		if (rd.failed || count == 0 || count > SIGNER_CRL_ENTRIES_PER_MSG ||
		    count > total - got ||
		    signer_crl_entries(&rd, count, ents != NULL ? ents + got : NULL) != 0)
			goto bad;
	}
	p.entries = ents;
	p.n = total;
	if (e.code != LERR_NONE || sign_crl(&ch->ctx, (enum sign_generation)gen, &p, &der, &e) != 0) {
		if (e.code == LERR_INVARIANT)
			log_err("refused to release a CRL: %s", e.msg);
		rc = signer_reply_error(fd, &e) == 0 ? 0 : -1;
		goto out;
	}
	rc = signer_crl_send(fd, &der);
	goto out;
bad:
	log_err("malformed CRL message (%zu bytes): stopping", in->len);
out:
	gnutls_free(der.data);
	free(ents);
	buf_free(&more);
	return rc;
}

/* The operations the signer answers; anything else ends it. */
/*
 * BACKUP_KEYS: keys/ as sealed at the start to the recipient serve was
 * started with. Only that recipient: the daemon cannot name another, so
 * a network process that was taken over gets ciphertext it cannot open.
 * Returns -1 only for a protocol violation.
 */
static int
signer_op_backup_keys(struct signer_child *ch, int fd, const struct buf *in)
{
	struct lerr e;
	struct buf b;
	int rc;

	if (in->len != 0) {
		log_err("malformed BACKUP_KEYS message (%zu bytes): stopping", in->len);
		return -1;
	}
	if (ch->sealed_keys == NULL) {
		lerr_set(&e, LERR_NOT_FOUND, "the signer was started without scheduled backups");
		return signer_reply_error(fd, &e) == 0 ? 0 : -1;
	}
	buf_init(&b, IPC_MAX);
	rc = ipc_put_bytes(&b, ch->sealed_keys, ch->sealed_len);
	if (rc == 0)
		rc = ipc_send(fd, SIGNER_MSG_KEYS, 0, b.data, b.len);
	buf_free(&b);
	return rc;
}

/*
 * BACKUP_TAG: a scheduled backup's END tag of a digest, with the author
 * key. The daemon can have any digest tagged, so a compromised network
 * process can make a backup that restore accepts (of its own store); one
 * who has only read backups cannot. Returns -1 only for a protocol
 * violation.
 */
static int
signer_op_backup_tag(struct signer_child *ch, int fd, const struct buf *in)
{
	unsigned char tag[BKF_TAG_LEN];
	const unsigned char *digest;
	size_t len;
	struct ipc_rd rd;
	struct lerr e;
	struct buf b;
	int rc;

	ipc_rd_init(&rd, in->data, in->len);
	if (ipc_get_bytes(&rd, &digest, &len, 32) != 0 || len != 32 || ipc_rd_done(&rd) != 0) {
		log_err("malformed BACKUP_TAG message (%zu bytes): stopping", in->len);
		return -1;
	}
	if (ch->author == NULL) {
		lerr_set(&e, LERR_NOT_FOUND, "the signer was started without scheduled backups");
		return signer_reply_error(fd, &e) == 0 ? 0 : -1;
	}
	bkf_author_tag(ch->author, digest, tag);
	buf_init(&b, IPC_MAX);
	rc = ipc_put_bytes(&b, tag, sizeof(tag));
	if (rc == 0)
		rc = ipc_send(fd, SIGNER_MSG_TAG, 0, b.data, b.len);
	buf_free(&b);
	return rc;
}

static const struct signer_op {
	uint16_t type;
	const char *name;
	int (*run)(struct signer_child *ch, int fd, const struct buf *in);
} signer_ops[] = {
	{ SIGNER_MSG_ISSUE, "issue", signer_op_issue },
	{ SIGNER_MSG_VERIFY, "verify", signer_op_verify },
	{ SIGNER_MSG_CHECKPOINT, "checkpoint", signer_op_checkpoint },
	{ SIGNER_MSG_CRL, "crl", signer_op_crl },
	{ SIGNER_MSG_BACKUP_KEYS, "backup", signer_op_backup_keys },
	{ SIGNER_MSG_BACKUP_TAG, "backup tag", signer_op_backup_tag },
};

/* Serves one channel until the daemon closes it. */
static void *
signer_serve(void *arg)
{
	struct signer_thread *t = arg;
	const struct signer_op *op;
	uint16_t type, flags;
	struct buf in;
	size_t i;

	buf_init(&in, IPC_MAX);
	for (;;) {
		if (ipc_recv(t->fd, &type, &flags, &in) != 0) {
			if (errno == EPIPE)
				break;	/* the daemon closed the channel: done */
			log_err("bad message on channel %d: %s: stopping", t->fd,
				errno == EMSGSIZE ? "oversized" :
				errno == EPROTO ? "truncated" : strerror(errno));
			_exit(3);
		}
		op = NULL;
		for (i = 0; i < sizeof(signer_ops) / sizeof(signer_ops[0]); i++)
			if (signer_ops[i].type == type)
				op = &signer_ops[i];
		if (op == NULL || flags != 0) {
			log_err("unknown operation %u (flags %u): stopping", type, flags);
			_exit(3);
		}
		if (op->run(t->child, t->fd, &in) != 0) {
			log_err("%s failed on the channel: stopping", op->name);
			_exit(3);
		}
	}
	buf_free(&in);
	return NULL;
}

/*
 * Keeps the signer's pages out of swap: the pages mapped now and every
 * page mapped later (MCL_FUTURE), since the keys are parsed into memory
 * GnuTLS allocates after this and each signature makes copies of secret
 * values in fresh allocations. Locking future mappings is only safe when
 * the lock limit cannot be hit later (an allocation would then fail in
 * the middle of a signature): the limit is infinite (root lifts it before
 * it drops privileges; LimitMEMLOCK=infinity in the unit), or the signer
 * holds CAP_IPC_LOCK, which it keeps when it drops to --user
 * (proc_drop_privileges_keep).
 * Otherwise the key memory cannot be kept out of swap, and keys that may
 * be swapped out may end up on a disk that outlives the gateway: the
 * start is refused (-1 with e naming what to change) unless
 * allow_unlocked (--allow-unlocked-keys) says the operator accepts that;
 * then what is mapped now is locked if it can be, with a warning.
 */
static int
signer_lock_memory(int allow_unlocked, struct lerr *e)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	/* ONFAULT: lock pages as they are touched instead of reading every
	 * mapped library into memory (12 MB of RSS for pages never used). */
	int flags = MCL_CURRENT | MCL_ONFAULT, err = 0;
	char why[128];

	if (geteuid() == 0)
		(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		rl.rlim_cur = 0;
	if (rl.rlim_cur == RLIM_INFINITY || proc_has_cap(CAP_IPC_LOCK)) {
		if (mlockall(flags | MCL_FUTURE) == 0)
			return 0;
		err = errno;
		snprintf(why, sizeof(why), "mlockall: %s", strerror(err));
	} else {
		snprintf(why, sizeof(why), "the memory-lock limit is %llu bytes, so memory "
			 "allocated later could not be locked", (unsigned long long)rl.rlim_cur);
	}
	if (allow_unlocked) {
		(void)mlockall(flags);
		log_warn("cannot lock memory (%s): key pages may be swapped "
			 "(--allow-unlocked-keys)", why);
		return 0;
	}
	return lerr_set_http(e, LERR_SIGNER, 500,
			     "signer: cannot lock the key memory (%s): raise the "
			     "memory-lock limit (LimitMEMLOCK=infinity in the systemd unit, "
			     "ulimit -l unlimited) or grant CAP_IPC_LOCK; or start with "
			     "--allow-unlocked-keys to accept keys that may be swapped to disk",
			     why);
}

/* Reports a start-up failure to the daemon on channel 0. */
static int
signer_child_fail(int fd, const struct lerr *e)
{
	log_err("%s", e->msg);
	(void)signer_reply_error(fd, e);
	return 1;
}

static void
signer_child_free(struct signer_child *ch)
{
	sign_ctx_free(&ch->ctx);
	free(ch->sealed_keys);
	ch->sealed_keys = NULL;
	sodium_free(ch->author);	/* wipes */
	ch->author = NULL;
}

/* See proto.h. */
int
signer_process_main(int *fds, int n, void *arg)
{
	struct signer_child ch;
	struct signer_thread th[SIGNER_THREADS_MAX];
	pthread_attr_t attr;
	struct sandbox_path tok_paths[P11KEY_ALLOW_MAX];
	const struct p11key_ref *tok;
	char *pass = NULL;
	char why[256];
	struct lerr e;
	int i, started = 0, rc;

	memset(&ch, 0, sizeof(ch));
	ch.cfg = arg;
	log_set_tag("lanca-signer");
	/* Signals are the daemon's business: `kill -USR1` or a terminal's
	 * Ctrl-C reaching the whole process group must not take the keys
	 * away mid-request. The signer ends when its channels close, or
	 * with its parent (PR_SET_PDEATHSIG, SIGKILL). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	/* No core dumps and no ptrace by same-uid processes: key memory
	 * stays in this process. */
	prctl(PR_SET_DUMPABLE, 0);
	lerr_clear(&e);
	if (signer_lock_memory(ch.cfg->allow_unlocked_keys, &e) != 0)
		return signer_child_fail(fds[0], &e);
	if (ch.cfg->pass_file != NULL && keystore_pass_read(ch.cfg->pass_file, &pass, &e) != 0)
		return signer_child_fail(fds[0], &e);
	rc = signer_files_adopt(ch.cfg->dir, pass, ch.cfg->adopt, &e);
	if (rc == 0)
		rc = sign_ctx_load(&ch.ctx, ch.cfg->dir, pass, &e);
	keystore_pass_free(pass);
	/* Sealed now, while keys/ may still be read: the sandbox below
	 * takes every file away. */
	if (rc == 0 && ch.cfg->backup_to != NULL && ch.cfg->backup_author != NULL) {
		ch.author = sodium_malloc(sizeof(*ch.author));
		if (ch.author == NULL) {
			lerr_set(&e, LERR_INTERNAL, "out of memory");
			rc = -1;
		} else {
			*ch.author = *ch.cfg->backup_author;
			/* fork copied serve's: only the locked copy stays. */
			sodium_memzero((void *)ch.cfg->backup_author, sizeof(*ch.author));
			rc = signer_files_seal(ch.cfg->dir, ch.cfg->backup_to, ch.author,
					       &ch.sealed_keys, &ch.sealed_len, &e);
		}
	}
	if (rc != 0) {
		signer_child_free(&ch);
		return signer_child_fail(fds[0], &e);
	}
	/* CAP_IPC_LOCK goes along: without it, under a finite lock limit,
	 * every page mapped from here on would fail to lock (MCL_FUTURE). */
	if (proc_drop_privileges_keep(ch.cfg->user, CAP_IPC_LOCK, why, sizeof(why)) != 0) {
		lerr_set_http(&e, LERR_SIGNER, 500, "signer: %s", why);
		signer_child_free(&ch);
		return signer_child_fail(fds[0], &e);
	}
	/* Changing credentials cleared the parent-death signal and set the
	 * dumpable flag back to fs.suid_dumpable (which may be 1: ptrace by
	 * the daemon's own user, or 2: key pages in a core file): set both
	 * again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 0);
	if (getppid() == 1) {
		signer_child_free(&ch);
		return 1;
	}
	/* From here on the signer needs its channels, memory, threads, time
	 * and randomness: nothing else (sandbox.h). Before READY, so that the
	 * daemon never talks to an unconfined signer, and before the threads
	 * start, so that Landlock covers them. */
	tok = keystore_token();
	for (i = 0; tok != NULL && (size_t)i < tok->nallow; i++) {
		tok_paths[i].path = tok->allow[i];
		tok_paths[i].write = 1;
	}
	if (tok != NULL && tok->nallow == 0)
		log_warn("%s: the key's record names no allow= paths: under the sandbox its "
			 "PKCS#11 module can reach no file", tok->record);
	rc = sandbox_signer(tok_paths, tok != NULL ? tok->nallow : 0, tok != NULL, why,
			    sizeof(why));
	if (rc < 0) {
		lerr_set_http(&e, LERR_SIGNER, 500, "signer: cannot sandbox itself: %s", why);
		signer_child_free(&ch);
		return signer_child_fail(fds[0], &e);
	}
	if (rc == 1)
		log_warn("no Landlock here (the kernel lacks it, or a system call filter "
			 "refuses it): the signer runs under its seccomp filter only");
	/* A token's module now runs as --user, inside the sandbox: whatever
	 * it cannot reach from here (its files' owner, a path left out of
	 * allow=) shows now, not at the first certificate. */
	if (tok != NULL && (x509_key_signs(ch.ctx.key, ch.ctx.chain[0], &e) != 0 ||
			    (ch.ctx.prev_key != NULL &&
			     x509_key_signs(ch.ctx.prev_key, ch.ctx.prev_chain[0], &e) != 0))) {
		char cause[sizeof(e.msg)];

		snprintf(cause, sizeof(cause), "%s", e.msg);
		lerr_set_http(&e, LERR_SIGNER, 500, "signer: an issuing key in the PKCS#11 token "
			      "%s cannot sign as the signer's user, inside its sandbox (the module's "
			      "files must be that user's, and named by allow= lines in "
			      "keys/issuing.key): %s", tok->record, cause);
		signer_child_free(&ch);
		return signer_child_fail(fds[0], &e);
	}
	if (ipc_send(fds[0], SIGNER_MSG_READY, 0, NULL, 0) != 0) {
		signer_child_free(&ch);
		return 1;
	}

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < n; i++) {
		th[i].child = &ch;
		th[i].fd = fds[i];
		if (i > 0) {
			if (pthread_create(&th[i].tid, &attr, signer_serve, &th[i]) != 0) {
				log_err("cannot start signing thread %d", i);
				_exit(1);
			}
			started++;
		}
	}
	pthread_attr_destroy(&attr);
	signer_serve(&th[0]);
	for (i = 1; i <= started; i++)
		pthread_join(th[i].tid, NULL);
	signer_child_free(&ch);
	return 0;
}

