/*
 * signer.c - the signer process and its client handle (see signer.h).
 *
 * Protocol (framing in ipc.c):
 *   READY   signer -> daemon once, empty, after the keys loaded; or ERROR.
 *   ISSUE   u8 profile, u32 days, bytes serial (X509_SERIAL_LEN),
 *           bytes csr (<= CSR_MAX_BYTES); nothing may follow.
 *   OK      u64 not_before, u64 not_after, bytes certificate DER.
 *   ERROR   str code, u16 http status, str message.
 * The signer answers only the operations in signer_ops[]. An unknown
 * type, a malformed payload, an oversized or short message ends the
 * signer process: a peer that breaks framing is not one to keep serving.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signer/ipc.h"
#include "ca/keystore.h"
#include "common/log.h"
#include "signer/proc.h"
#include "signer/signer.h"
#include "ca/x509.h"

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
};

/* ------------------------------------------------------------------ */
/* The signer process                                                  */
/* ------------------------------------------------------------------ */

struct signer_child {
	const struct signer_config *cfg;
	struct sign_ctx ctx;
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
 * ISSUE: rebuild the request from its bytes, then sign_leaf() applies
 * policy and checks the result. Returns -1 only for a protocol violation
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
	    (profile != POLICY_DEVICE && profile != POLICY_GATEWAY)) {
		log_err("malformed ISSUE message (%zu bytes): stopping", in->len);
		goto out;
	}
	req.profile = (enum policy_profile)profile;
	req.serial = serial;
	if (csr_parse(der, der_len, &csr, &e) != 0 ||
	    sign_leaf(&ch->ctx, csr, &req, &out, &e) != 0) {
		if (e.code == LERR_INVARIANT)
			log_err("refused to release a certificate: %s", e.msg);
		rc = signer_reply_error(fd, &e) == 0 ? 0 : -1;
		goto out;
	}
	if (ipc_put_u64(&b, (uint64_t)out.not_before) != 0 ||
	    ipc_put_u64(&b, (uint64_t)out.not_after) != 0 ||
	    ipc_put_bytes(&b, out.der.data, out.der.size) != 0)
		goto out;
	rc = ipc_send(fd, SIGNER_MSG_OK, 0, b.data, b.len);
out:
	csr_free(csr);
	sign_out_free(&out);
	buf_free(&b);
	return rc;
}

/* The operations the signer answers; anything else ends it. */
static const struct signer_op {
	uint16_t type;
	const char *name;
	int (*run)(struct signer_child *ch, int fd, const struct buf *in);
} signer_ops[] = {
	{ SIGNER_MSG_ISSUE, "issue", signer_op_issue },
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
 * Keeps the signer's pages out of swap. Locking future mappings too is
 * only safe when the lock limit cannot be hit later (an allocation would
 * then fail in the middle of a signature): root lifts the limit before it
 * drops privileges; a user with a finite limit locks what is mapped now
 * (the key files are read into sodium's locked buffers either way).
 */
static void
signer_lock_memory(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	/* ONFAULT: lock pages as they are touched instead of reading every
	 * mapped library into memory (12 MB of RSS for pages never used). */
	int flags = MCL_CURRENT | MCL_ONFAULT;

	if (geteuid() == 0)
		(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY)
		flags |= MCL_FUTURE;
	if (mlockall(flags) != 0)
		log_warn("cannot lock memory (%s): key pages may be swapped", strerror(errno));
}

/* Reports a start-up failure to the daemon on channel 0. */
static int
signer_child_fail(int fd, const struct lerr *e)
{
	log_err("%s", e->msg);
	(void)signer_reply_error(fd, e);
	return 1;
}

/* The signer process's entry function (runs in the child of proc_start). */
static int
signer_child_main(int *fds, int n, void *arg)
{
	struct signer_child ch;
	struct signer_thread th[SIGNER_THREADS_MAX];
	pthread_attr_t attr;
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
	signer_lock_memory();

	lerr_clear(&e);
	if (ch.cfg->pass_file != NULL && keystore_pass_read(ch.cfg->pass_file, &pass, &e) != 0)
		return signer_child_fail(fds[0], &e);
	rc = sign_ctx_load(&ch.ctx, ch.cfg->dir, pass, &e);
	keystore_pass_free(pass);
	if (rc != 0)
		return signer_child_fail(fds[0], &e);
	if (proc_drop_privileges(ch.cfg->user, why, sizeof(why)) != 0) {
		lerr_set_http(&e, LERR_SIGNER, 500, "signer: %s", why);
		sign_ctx_free(&ch.ctx);
		return signer_child_fail(fds[0], &e);
	}
	/* Changing credentials cleared the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1) {
		sign_ctx_free(&ch.ctx);
		return 1;
	}
	if (ipc_send(fds[0], SIGNER_MSG_READY, 0, NULL, 0) != 0) {
		sign_ctx_free(&ch.ctx);
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
	sign_ctx_free(&ch.ctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The client handle                                                   */
/* ------------------------------------------------------------------ */

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
	struct timeval tv = { SIGNER_TIMEOUT_S, 0 };
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
	if (proc_start((int)cfg.threads, signer_child_main, &cfg, s->fds, &s->pid) != 0) {
		lerr_set_http(e, LERR_SIGNER, 500, "cannot start the signer: %s", strerror(errno));
		goto out;
	}
	s->nchan = cfg.threads;
	s->pidfd = pidfd_open(s->pid, 0);
	for (i = 0; i < s->nchan; i++)
		setsockopt(s->fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (ipc_recv(s->fds[0], &type, &flags, &in) != 0) {
		lerr_set(e, LERR_SIGNER, "the signer stopped while starting");
		goto out;
	}
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
	if (sign_ctx_load(&s->ctx, dir, pass, e) != 0) {
		signer_stop(s);
		return -1;
	}
	*out = s;
	return 0;
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

/* One ISSUE round trip on a borrowed channel. */
static int
signer_issue_remote(struct signer *s, const unsigned char *csr_der, size_t csr_len,
		    const struct sign_req *r, struct sign_out *out, struct lerr *e)
{
	const unsigned char *der;
	size_t der_len;
	uint16_t type, flags;
	struct ipc_rd rd;
	struct buf req, in;
	unsigned slot;
	int rc = -1, dead = 0;

	buf_init(&req, IPC_MAX);
	buf_init(&in, IPC_MAX);
	if (ipc_put_u8(&req, (uint8_t)r->profile) != 0 || ipc_put_u32(&req, r->days) != 0 ||
	    ipc_put_bytes(&req, r->serial, X509_SERIAL_LEN) != 0 ||
	    ipc_put_bytes(&req, csr_der, csr_len) != 0) {
		lerr_set_http(e, LERR_TOO_LARGE, 413, "request too large for the signer");
		goto done;
	}
	if (signer_acquire(s, &slot) != 0) {
		lerr_set(e, LERR_SIGNER, "the signer is not running");
		goto done;
	}
	if (ipc_send(s->fds[slot], SIGNER_MSG_ISSUE, 0, req.data, req.len) != 0 ||
	    ipc_recv(s->fds[slot], &type, &flags, &in) != 0) {
		dead = 1;
		lerr_set(e, LERR_SIGNER, "the signer stopped answering");
		goto release;
	}
	if (type == SIGNER_MSG_ERROR) {
		signer_parse_error(&in, e);
		goto release;
	}
	ipc_rd_init(&rd, in.data, in.len);
	out->not_before = (time_t)ipc_get_u64(&rd);
	out->not_after = (time_t)ipc_get_u64(&rd);
	if (type != SIGNER_MSG_OK || ipc_get_bytes(&rd, &der, &der_len, IPC_MAX) != 0 ||
	    ipc_rd_done(&rd) != 0 || der_len == 0) {
		dead = 1;	/* a confused signer is not trusted again */
		lerr_set(e, LERR_SIGNER, "the signer sent a malformed answer");
		goto release;
	}
	out->der.data = gnutls_malloc(der_len);
	if (out->der.data == NULL) {
		lerr_set(e, LERR_INTERNAL, "out of memory");
		goto release;
	}
	memcpy(out->der.data, der, der_len);
	out->der.size = (unsigned)der_len;
	rc = 0;
release:
	signer_release(s, slot, dead);
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

pid_t
signer_pid(const struct signer *s)
{
	return s->local ? 0 : s->pid;
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
