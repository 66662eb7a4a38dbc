/*
 * client.c - the daemon's side of the signer (see signer.h): starting the
 * process, a pool of channels (one per signing thread; a caller borrows a
 * free one, so N requests sign on N cores at once), the ISSUE, VERIFY,
 * CHECKPOINT and CRL round trips (a CRL's in as many messages as it
 * takes each way), stopping; the round trips' latency by
 * operation (for GET /metrics); and the local handle that runs the same core in-process for
 * `lanca init`, `lanca sign` and benchmarks. What goes over a channel is
 * proto.h's; the process itself is signer.c.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/metric.h"
#include "signer/files.h"
#include "signer/ipc.h"
#include "signer/proc.h"
#include "signer/proto.h"
#include "signer/signer.h"
#include "ca/x509.h"

/* The operations whose round trips are timed, by the name GET /metrics
 * gives them; an operation missing here is timed as the last, "other". */
static const struct {
	uint16_t type;
	const char *name;
} signer_ops[] = {
	{ SIGNER_MSG_ISSUE, "issue" },
	{ SIGNER_MSG_VERIFY, "verify" },
	{ SIGNER_MSG_CHECKPOINT, "checkpoint" },
	{ SIGNER_MSG_CRL, "crl" },
	{ 0, "other" },
};
#define SIGNER_OPS	(sizeof(signer_ops) / sizeof(signer_ops[0]))

struct signer {
	int local;
	struct sign_ctx ctx;			/* local handle only */
	pid_t pid;				/* remote handle only */
	int pidfd;				/* the same process, safe from PID reuse */
	unsigned nchan;
	int fds[SIGNER_THREADS_MAX];
	int busy[SIGNER_THREADS_MAX];
	int dead;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct metric_histogram rt[SIGNER_OPS];	/* round trips, by signer_ops */
};

static struct signer *
signer_new(void)
{
	struct signer *s = calloc(1, sizeof(*s));
	unsigned i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < SIGNER_THREADS_MAX; i++)
		s->fds[i] = -1;
	s->pidfd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

/* Reads an ERROR payload into e; always returns -1. */
static int
signer_parse_error(const struct buf *in, struct lerr *e)
{
	char code[32], msg[sizeof(e->msg)];
	struct ipc_rd rd;
	uint16_t http;

	ipc_rd_init(&rd, in->data, in->len);
	if (ipc_get_str(&rd, code, sizeof(code)) != 0)
		return lerr_set(e, LERR_SIGNER, "signer sent a malformed error");
	http = ipc_get_u16(&rd);
	if (ipc_get_str(&rd, msg, sizeof(msg)) != 0 || ipc_rd_done(&rd) != 0)
		return lerr_set(e, LERR_SIGNER, "signer sent a malformed error");
	if (http < 400 || http > 599)
		http = 500;
	return lerr_set_http(e, lerr_from_str(code), http, "%s", msg);
}

int
signer_start(const struct signer_config *c, struct signer **out, struct lerr *e)
{
	struct signer *s = NULL;
	struct timeval tv = { SIGNER_TIMEOUT_S, 0 }, start_tv = { SIGNER_START_S, 0 };
	struct signer_config cfg = *c;
	uint16_t type, flags;
	struct buf in;
	long ncpu;
	unsigned i;
	int rc = -1;

	buf_init(&in, IPC_MAX);
	if (cfg.threads == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		cfg.threads = ncpu < 1 ? 1 : (unsigned)ncpu;
	}
	if (cfg.threads > SIGNER_THREADS_MAX)
		cfg.threads = SIGNER_THREADS_MAX;
	s = signer_new();
	if (s == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	/* cfg lives on this stack; the child gets its own copy through fork. */
	if (proc_start((int)cfg.threads, signer_process_main, &cfg, s->fds, &s->pid) != 0) {
		lerr_set_http(e, LERR_SIGNER, 500, "cannot create the signer process: %s", strerror(errno));
		goto out;
	}
	s->nchan = cfg.threads;
	s->pidfd = pidfd_open(s->pid, 0);
	for (i = 0; i < s->nchan; i++)
		setsockopt(s->fds[i], SOL_SOCKET, SO_RCVTIMEO, i == 0 ? &start_tv : &tv, sizeof(tv));
	if (ipc_recv(s->fds[0], &type, &flags, &in) != 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			lerr_set(e, LERR_SIGNER, "the signer did not start within %d s",
				 SIGNER_START_S);
		else
			lerr_set(e, LERR_SIGNER, "the signer stopped while starting");
		goto out;
	}
	setsockopt(s->fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (type == SIGNER_MSG_ERROR) {
		signer_parse_error(&in, e);
		goto out;
	}
	if (type != SIGNER_MSG_READY || in.len != 0) {
		lerr_set(e, LERR_SIGNER, "the signer sent %u instead of READY", type);
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	buf_free(&in);
	if (s != NULL)
		signer_stop(s);
	return rc;
}

int
signer_open_local(const char *dir, const char *pass, struct signer **out, struct lerr *e)
{
	struct signer *s = signer_new();

	if (s == NULL)
		return lerr_set(e, LERR_INTERNAL, "out of memory");
	s->local = 1;
	/* A state directory older than the audit key gets one here too. */
	if (signer_files_audit_key(dir, e) != 0 || sign_ctx_load(&s->ctx, dir, pass, e) != 0) {
		signer_stop(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* Ends the signer and marks it dead (see signer_release). */
static void
signer_kill(struct signer *s)
{
	pthread_mutex_lock(&s->mu);
	if (!s->dead && s->pidfd >= 0)
		(void)pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
	s->dead = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Borrows a free channel; -1 if the signer is dead. */
static int
signer_acquire(struct signer *s, unsigned *slot)
{
	unsigned i;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->dead) {
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
		for (i = 0; i < s->nchan; i++) {
			if (!s->busy[i]) {
				s->busy[i] = 1;
				*slot = i;
				pthread_mutex_unlock(&s->mu);
				return 0;
			}
		}
		pthread_cond_wait(&s->cv, &s->mu);
	}
}

static void
signer_release(struct signer *s, unsigned slot, int dead)
{
	pthread_mutex_lock(&s->mu);
	s->busy[slot] = 0;
	/* A signer that stopped answering or broke the protocol is ended:
	 * `serve` sees it exit and stops too, instead of living on unable
	 * to issue (a supervisor then restarts both). */
	if (dead && !s->dead && s->pidfd >= 0)
		(void)pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
	if (dead)
		s->dead = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/*
 * What one round trip sends and reads back. Most operations send one
 * message and read one. A CRL's entries go in several messages (the
 * first of type `type`, the others of type `more`) and its bytes come
 * back in several, which `rest` reads on the same channel.
 */
struct signer_trip {
	uint16_t type, more;
	const struct buf *req;		/* nreq payloads, in order */
	size_t nreq;
	uint16_t want;			/* the answer expected */
	/* Given want's payload, reads what follows it on fd; NULL when want
	 * is all. 0, or -1 with e: the signer is not trusted again. */
	int (*rest)(int fd, const struct buf *in, void *arg, struct lerr *e);
	void *arg;
};

/*
 * One round trip on a borrowed channel: sends t's messages, and expects
 * t->want back (its payload in *in, and what t->rest reads) or ERROR (its
 * reason in e, and -1). No answer, or any other answer, ends the signer:
 * it is not trusted again.
 */
static int
signer_trip(struct signer *s, const struct signer_trip *t, struct buf *in, struct lerr *e)
{
	uint16_t got, flags;
	unsigned slot, op = 0;
	uint64_t t0;
	size_t i;
	int rc = -1, dead = 0, answered;

	if (signer_acquire(s, &slot) != 0)
		return lerr_set(e, LERR_SIGNER, "the signer is not running");
	/* Timed from the send to the answer: the wait for a free channel
	 * before it is queueing, not the signer's speed. */
	t0 = metric_now_ns();
	answered = 1;
	for (i = 0; answered && i < t->nreq; i++)
		answered = ipc_send(s->fds[slot], i == 0 ? t->type : t->more, 0, t->req[i].data,
				    t->req[i].len) == 0;
	answered = answered && ipc_recv(s->fds[slot], &got, &flags, in) == 0;
	if (!answered) {
		dead = 1;
		lerr_set(e, LERR_SIGNER, "the signer stopped answering");
	} else if (got == SIGNER_MSG_ERROR && flags == 0) {
		signer_parse_error(in, e);
	} else if (got != t->want || flags != 0) {
		dead = 1;
		lerr_set(e, LERR_SIGNER, "the signer sent %u instead of %u", got, t->want);
	} else if (t->rest != NULL && t->rest(s->fds[slot], in, t->arg, e) != 0) {
		dead = 1;
	} else {
		rc = 0;
	}
	while (op < SIGNER_OPS - 1 && signer_ops[op].type != t->type)
		op++;
	metric_histogram_observe(&s->rt[op], metric_now_ns() - t0);
	signer_release(s, slot, dead);
	return rc;
}

/* The round trip of one message and one answer. */
static int
signer_call(struct signer *s, uint16_t type, const struct buf *req, uint16_t want,
	    struct buf *in, struct lerr *e)
{
	struct signer_trip t = { type, 0, req, 1, want, NULL, NULL };

	return signer_trip(s, &t, in, e);
}

/* One ISSUE round trip. */
static int
signer_issue_remote(struct signer *s, const unsigned char *csr_der, size_t csr_len,
		    const struct sign_req *r, struct sign_out *out, struct lerr *e)
{
	const unsigned char *der, *key_id, *names;
	size_t der_len, key_id_len, names_len;
	struct ipc_rd rd;
	struct buf req, in;
	int rc = -1;

	buf_init(&req, IPC_MAX);
	buf_init(&in, IPC_MAX);
	if (ipc_put_u8(&req, (uint8_t)r->profile) != 0 || ipc_put_u32(&req, r->days) != 0 ||
	    ipc_put_bytes(&req, r->serial, X509_SERIAL_LEN) != 0 ||
	    ipc_put_bytes(&req, csr_der, csr_len) != 0) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "request too large for the signer");
		goto done;
	}
	if (signer_call(s, SIGNER_MSG_ISSUE, &req, SIGNER_MSG_OK, &in, e) != 0)
		goto done;
	ipc_rd_init(&rd, in.data, in.len);
	out->not_before = (time_t)ipc_get_u64(&rd);
	out->not_after = (time_t)ipc_get_u64(&rd);
	if (ipc_get_bytes(&rd, &der, &der_len, IPC_MAX) != 0 ||
	    ipc_get_bytes(&rd, &key_id, &key_id_len, sizeof(out->key_id)) != 0 ||
	    ipc_get_bytes(&rd, &names, &names_len, IPC_MAX) != 0 || ipc_rd_done(&rd) != 0 ||
	    der_len == 0 || key_id_len != sizeof(out->key_id) ||
	    memchr(names, '\0', names_len) != NULL) {
		signer_kill(s);	/* a confused signer is not trusted again */
		lerr_set(e, LERR_SIGNER, "the signer sent a malformed answer");
		goto done;
	}
	out->der.data = gnutls_malloc(der_len);
	out->names = malloc(names_len + 1);
	if (out->der.data == NULL || out->names == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto done;
	}
	memcpy(out->der.data, der, der_len);
	out->der.size = (unsigned)der_len;
	memcpy(out->key_id, key_id, sizeof(out->key_id));
	memcpy(out->names, names, names_len);
	out->names[names_len] = '\0';
	rc = 0;
done:
	buf_free(&req);
	buf_free(&in);
	return rc;
}

int
signer_issue(struct signer *s, const unsigned char *csr_der, size_t csr_len,
	     const struct csr *csr, const struct sign_req *r, struct sign_out *out,
	     struct lerr *e)
{
	int rc;

	memset(out, 0, sizeof(*out));
	names_init(&out->sans);
	if (s->local)
		return sign_leaf(&s->ctx, csr, r, out, e);
	rc = signer_issue_remote(s, csr_der, csr_len, r, out, e);
	if (rc != 0)
		sign_out_free(out);
	return rc;
}

int
signer_verify(struct signer *s, const unsigned char *csr, size_t csr_len, struct lerr *e)
{
	struct buf req, in;
	int rc = -1;

	if (s->local)
		return sign_verify(&s->ctx, csr, csr_len, e);
	buf_init(&req, IPC_MAX);
	buf_init(&in, IPC_MAX);
	if (csr_len > CSR_MAX_BYTES) {
		lerr_set_http(e, LERR_TOO_LARGE, 413,
			      "certificate request of %zu bytes is too large: at most %d",
			      csr_len, CSR_MAX_BYTES);
		goto out;
	}
	if (ipc_put_bytes(&req, csr, csr_len) != 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (signer_call(s, SIGNER_MSG_VERIFY, &req, SIGNER_MSG_VERIFIED, &in, e) != 0)
		goto out;
	if (in.len != 0) {
		signer_kill(s);
		lerr_set(e, LERR_SIGNER, "the signer sent a malformed answer");
		goto out;
	}
	rc = 0;
out:
	buf_free(&req);
	buf_free(&in);
	return rc;
}

/*
 * One round trip whose answer (type want) is a single bytes field of 1 to
 * max bytes (exactly max when exact): into malloc'd *out. A malformed
 * answer ends the signer. 0, or -1 with e.
 */
static int
signer_call_bytes(struct signer *s, uint16_t type, const struct buf *req, uint16_t want,
		  size_t max, int exact, unsigned char **out, size_t *out_len, struct lerr *e)
{
	const unsigned char *got;
	size_t got_len;
	struct ipc_rd rd;
	struct buf in;
	int rc = -1;

	*out = NULL;
	buf_init(&in, IPC_MAX);
	if (signer_call(s, type, req, want, &in, e) != 0)
		goto done;
	ipc_rd_init(&rd, in.data, in.len);
	if (ipc_get_bytes(&rd, &got, &got_len, max) != 0 || ipc_rd_done(&rd) != 0 ||
	    got_len == 0 || (exact && got_len != max)) {
		signer_kill(s);
		lerr_set(e, LERR_SIGNER, "the signer sent a malformed answer");
		goto done;
	}
	if ((*out = malloc(got_len)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto done;
	}
	memcpy(*out, got, got_len);
	*out_len = got_len;
	rc = 0;
done:
	buf_free(&in);
	return rc;
}

int
signer_checkpoint(struct signer *s, int64_t row_id, const unsigned char head[32], int64_t at,
		  unsigned char sig[64], struct lerr *e)
{
	unsigned char *got = NULL;
	size_t got_len;
	struct buf req;
	int rc = -1;

	if (s->local)
		return sign_checkpoint(&s->ctx, row_id, head, at, sig, e);
	buf_init(&req, IPC_MAX);
	if (ipc_put_u64(&req, (uint64_t)row_id) != 0 || ipc_put_bytes(&req, head, 32) != 0 ||
	    ipc_put_u64(&req, (uint64_t)at) != 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (signer_call_bytes(s, SIGNER_MSG_CHECKPOINT, &req, SIGNER_MSG_SIGNED, 64, 1, &got,
			      &got_len, e) != 0)
		goto out;
	memcpy(sig, got, 64);
	rc = 0;
out:
	free(got);
	buf_free(&req);
	return rc;
}

int
signer_backup_keys(struct signer *s, unsigned char **blob, size_t *len, struct lerr *e)
{
	struct buf req;
	int rc;

	*blob = NULL;
	*len = 0;
	if (s->local)
		return lerr_set(e, LERR_NOT_FOUND, "a signer in this process seals no keys");
	buf_init(&req, IPC_MAX);
	rc = signer_call_bytes(s, SIGNER_MSG_BACKUP_KEYS, &req, SIGNER_MSG_KEYS,
			       SIGNER_SEALED_KEYS_MAX, 0, blob, len, e);
	buf_free(&req);
	return rc;
}

int
signer_backup_tag(void *signer, const unsigned char digest[32], unsigned char tag[32],
		  struct lerr *e)
{
	struct signer *s = signer;
	unsigned char *got = NULL;
	size_t got_len;
	struct buf req;
	int rc = -1;

	if (s->local)
		return lerr_set(e, LERR_NOT_FOUND, "a signer in this process tags no backups");
	buf_init(&req, IPC_MAX);
	if (ipc_put_bytes(&req, digest, 32) != 0) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	if (signer_call_bytes(s, SIGNER_MSG_BACKUP_TAG, &req, SIGNER_MSG_TAG, 32, 1, &got,
			      &got_len, e) != 0)
		goto out;
	memcpy(tag, got, 32);
	rc = 0;
out:
	free(got);
	buf_free(&req);
	return rc;
}

/*
 * The CRL's bytes as the signer sends them: CRL_OK's size and first piece
 * (in), then CRL_PART until size bytes have come, into arg (a
 * gnutls_datum_t). Anything else is a malformed answer.
 */
static int
signer_crl_rest(int fd, const struct buf *in, void *arg, struct lerr *e)
{
	gnutls_datum_t *der = arg;
	const unsigned char *piece;
	struct ipc_rd rd;
	struct buf part;
	uint16_t type, flags;
	size_t len, got = 0, size;
	int rc = -1;

	buf_init(&part, IPC_MAX);
	ipc_rd_init(&rd, in->data, in->len);
	size = ipc_get_u32(&rd);
	if (rd.failed || size == 0 || size > CRL_DER_MAX)
		goto bad;
	if ((der->data = gnutls_malloc(size)) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	for (;;) {
		if (ipc_get_bytes(&rd, &piece, &len, SIGNER_CRL_PIECE) != 0 ||
		    ipc_rd_done(&rd) != 0 || len == 0 || len > size - got)
			goto bad;
		memcpy(der->data + got, piece, len);
		got += len;
		if (got == size)
			break;
		if (ipc_recv(fd, &type, &flags, &part) != 0 || type != SIGNER_MSG_CRL_PART ||
		    flags != 0)
			goto bad;
		ipc_rd_init(&rd, part.data, part.len);
	}
	der->size = (unsigned)size;
	rc = 0;
	goto out;
bad:
	lerr_set(e, LERR_SIGNER, "the signer sent a malformed answer");
out:
	if (rc != 0) {
		gnutls_free(der->data);
		der->data = NULL;
	}
	buf_free(&part);
	return rc;
}

/* p's entries from i on, as many as one message takes, into b (proto.h). */
static int
signer_crl_put(struct buf *b, const struct crl_params *p, size_t i, size_t count)
{
	size_t k;

	if (ipc_put_u32(b, (uint32_t)count) != 0)
		return -1;
	for (k = i; k < i + count; k++)
		if (ipc_put_bytes(b, p->entries[k].serial, p->entries[k].serial_len) != 0 ||
		    ipc_put_u64(b, (uint64_t)p->entries[k].revoked_at) != 0 ||
		    ipc_put_u8(b, (uint8_t)p->entries[k].reason) != 0)
			return -1;
	return 0;
}

int
signer_crl(struct signer *s, unsigned gen, const struct crl_params *p, gnutls_datum_t *der,
	   struct lerr *e)
{
	struct signer_trip t = { SIGNER_MSG_CRL, SIGNER_MSG_CRL_MORE, NULL, 0, SIGNER_MSG_CRL_OK,
				 signer_crl_rest, der };
	struct buf *req = NULL, in;
	size_t i, n, count;
	int rc = -1;

	der->data = NULL;
	der->size = 0;
	if (s->local)
		return sign_crl(&s->ctx, (enum sign_generation)gen, p, der, e);
	if (gen > SIGN_GEN_PREVIOUS)
		return lerr_set(e, LERR_INTERNAL, "signer_crl: bad generation");
	if (p->n > CRL_ENTRIES_MAX)
		return lerr_set(e, LERR_TOO_LARGE, "a CRL lists at most %d certificates; "
				"%zu unexpired revoked certificates do not fit", CRL_ENTRIES_MAX,
				p->n);
	n = p->n == 0 ? 1 : (p->n + SIGNER_CRL_ENTRIES_PER_MSG - 1) / SIGNER_CRL_ENTRIES_PER_MSG;
	buf_init(&in, IPC_MAX);
	if ((req = calloc(n, sizeof(*req))) == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		buf_init(&req[i], IPC_MAX);
		count = p->n - i * SIGNER_CRL_ENTRIES_PER_MSG;
		if (count > SIGNER_CRL_ENTRIES_PER_MSG)
			count = SIGNER_CRL_ENTRIES_PER_MSG;
		if ((i == 0 && (ipc_put_u8(&req[i], (uint8_t)gen) != 0 ||
				ipc_put_u64(&req[i], p->number) != 0 ||
				ipc_put_u64(&req[i], (uint64_t)p->this_update) != 0 ||
				ipc_put_u64(&req[i], (uint64_t)p->next_update) != 0 ||
				ipc_put_u32(&req[i], (uint32_t)p->n) != 0)) ||
		    signer_crl_put(&req[i], p, i * SIGNER_CRL_ENTRIES_PER_MSG, count) != 0) {
			lerr_set(e, LERR_INTERNAL, "out of memory");
			n = i + 1;
			goto out;
		}
	}
	t.req = req;
	t.nreq = n;
	rc = signer_trip(s, &t, &in, e);
out:
	for (i = 0; req != NULL && i < n; i++)
		buf_free(&req[i]);
	free(req);
	buf_free(&in);
	return rc;
}

int
signer_roundtrip(const struct signer *s, unsigned i, const char **op,
		 struct metric_histogram_snap *out)
{
	if (s == NULL || i >= SIGNER_OPS)
		return -1;
	*op = signer_ops[i].name;
	metric_histogram_read(&s->rt[i], out);
	return 0;
}

pid_t
signer_pid(const struct signer *s)
{
	return s == NULL || s->local ? 0 : s->pid;
}

int
signer_channel_fd(const struct signer *s, unsigned i)
{
	return i < s->nchan ? s->fds[i] : -1;
}

int
signer_stop(struct signer *s)
{
	int status = 0, rc = 0;
	unsigned i;

	if (s == NULL)
		return 0;
	for (i = 0; i < SIGNER_THREADS_MAX; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->pid > 0) {
		while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	if (s->local)
		sign_ctx_free(&s->ctx);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	return rc;
}
