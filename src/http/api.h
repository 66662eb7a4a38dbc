/*
 * api.h - the request handlers named in routes.c's table.
 *
 * Owns: nothing; each handler answers one route with the http_reply_*
 * helpers and returns their verdict. Handlers run on libmicrohttpd's
 * per-connection threads and may block (store, signer); they only read
 * struct app, whose members are safe from any thread.
 * Files: api_ca.c (the root downloads and the plain-HTTP first-contact
 * page), api_status.c (/api/v1/status), api_device.c (enrollment),
 * api_admin.c (admin sessions and the admin's actions), api_policy.c (the
 * enterprise policy files), api_certs.c (the
 * inventory, revocation, the audit log, the overview), api_acme.c (the
 * ACME door's accounts and their approval), web.c (static
 * files under app->web_dir), web_qr.c (the public page's QR code). Path
 * parameters come from http_param(r, "name").
 */
#ifndef LANCA_API_H
#define LANCA_API_H

#include <gnutls/x509.h>
#include "http/route.h"
#include "http/reply.h"

/* api_ca.c */
enum MHD_Result api_ca_der(struct http_req *r);		/* GET /ca.crt */
enum MHD_Result api_ca_pem(struct http_req *r);		/* GET /ca.pem */
enum MHD_Result api_trust_bundle(struct http_req *r);	/* GET /trust-bundle.pem */
enum MHD_Result api_backup_root_der(struct http_req *r);	/* GET /backup-root.crt */
enum MHD_Result api_backup_root_pem(struct http_req *r);	/* GET /backup-root.pem */
enum MHD_Result api_next_root_der(struct http_req *r);		/* GET /next-root.crt */
enum MHD_Result api_next_root_pem(struct http_req *r);		/* GET /next-root.pem */
enum MHD_Result api_ca_page(struct http_req *r);	/* GET / (web_dir/index.html, filled in) */
struct ca_set;
/* The CA's name (`lanca init --name`) into out[n]; "" if it has none. */
void api_ca_name(const struct ca_set *ca, char *out, size_t n);

/* api_policy.c */
enum MHD_Result api_policy_file(struct http_req *r);	/* GET /policy/{format}/{file} */

/* api_status.c */
enum MHD_Result api_status(struct http_req *r);		/* GET /api/v1/status */

/* web.c */
/* Enrollment (api_device.c). */
enum MHD_Result api_enroll(struct http_req *r);		/* POST /api/v1/enroll */
enum MHD_Result api_request_get(struct http_req *r);	/* GET /api/v1/requests/{id} */
enum MHD_Result api_renew(struct http_req *r);		/* POST /api/v1/renew (mTLS) */
/* What the enrollment doors (api_device.c, est.c) share: 429 with
 * Retry-After when this address has asked too often (returns 1 when it
 * replied, *ret holding the verdict); the TLS client's chain, factory or
 * current certificate, into peer[ENROLL_PEER_MAX] (0, or -1 when it is
 * unusable; api_peer_free frees it). */
int api_rate_limited(struct http_req *r, enum MHD_Result *ret);
/* The per-address limit alone, for a door with its own error format
 * (ACME): 1 when this address has asked too often, with the seconds to
 * wait in retry_s; 0 when it may go on. */
int api_rate_take(struct http_req *r, char retry_s[16]);
struct enroll_result;
/* The refusal of a request that was denied or expired (403, 410). */
enum MHD_Result api_reply_closed(struct http_req *r, const struct enroll_result *res);
int api_peer(struct http_req *r, gnutls_x509_crt_t *peer, unsigned *npeer);
/* The wrong-secret limiter (app->secret_fails, per address) around one
 * request that carries a pre-authorisation secret: api_secret_begin
 * answers 429 when the address is blocked (returns 1, *ret the verdict);
 * api_secret_end counts a wrong secret (res->wrong_secret, whatever the
 * answer), forgets the address's failures when the secret was verified
 * (res->auth == STORE_AUTH_PREAUTH) and otherwise just ends the attempt.
 * rc and res are the core's (res may be NULL). */
int api_secret_begin(struct http_req *r, enum MHD_Result *ret);
void api_secret_end(struct http_req *r, int rc, const struct enroll_result *res);
void api_peer_free(gnutls_x509_crt_t *peer, unsigned n);

/* EST, RFC 7030 with RFC 8951 (est.c); each also under
 * /.well-known/est/{label}/ when the label is the configured one. */
enum MHD_Result est_cacerts(struct http_req *r);	/* GET  .../cacerts */
enum MHD_Result est_simpleenroll(struct http_req *r);	/* POST .../simpleenroll */
enum MHD_Result est_simplereenroll(struct http_req *r);	/* POST .../simplereenroll (mTLS) */
enum MHD_Result est_csrattrs(struct http_req *r);	/* GET  .../csrattrs */
enum MHD_Result est_serverkeygen(struct http_req *r);	/* POST .../serverkeygen (off by default) */

/* Admin actions (api_admin.c), behind api_admin_session(): the router
 * runs it first on their rows, and they find the admin in r->user. */
enum MHD_Result api_press(struct http_req *r);		/* POST /api/v1/press */
enum MHD_Result api_requests_list(struct http_req *r);	/* GET /api/v1/requests */
enum MHD_Result api_request_approve(struct http_req *r); /* POST /api/v1/requests/{id}/approve */
enum MHD_Result api_request_deny(struct http_req *r);	/* POST /api/v1/requests/{id}/deny */

/* The inventory (api_certs.c), behind api_admin_session() likewise. */
enum MHD_Result api_certs_list(struct http_req *r);	/* GET /api/v1/certificates */
enum MHD_Result api_cert_get(struct http_req *r);	/* GET /api/v1/certificates/{serial} */
enum MHD_Result api_cert_revoke(struct http_req *r);	/* POST .../certificates/{serial}/revoke */
enum MHD_Result api_device_revoke(struct http_req *r);	/* POST /api/v1/devices/{device}/revoke */
enum MHD_Result api_audit_list(struct http_req *r);	/* GET /api/v1/audit */
enum MHD_Result api_overview(struct http_req *r);	/* GET /api/v1/overview */
/* The ACME door's accounts (api_acme.c), behind api_admin_session()
 * likewise; 404 when the door is off (serve --no-acme). */
enum MHD_Result api_acme_accounts(struct http_req *r);	/* GET /api/v1/acme/accounts */
enum MHD_Result api_acme_approve(struct http_req *r);	/* POST .../acme/accounts/{id}/approve */
/* What the admin's handlers share (api_admin.c): query argument key
 * into *out (NULL when absent; -1 with e when it holds a NUL), and an
 * optional JSON object body into *out (NULL when empty; -1 with the 400
 * queued in *ret when it is not an object). */
struct lerr;
int admin_query(const struct http_req *r, const char *key, const char **out, struct lerr *e);
int admin_json_body(struct http_req *r, json_t **out, enum MHD_Result *ret);
/* The optional "reason" of such a body into *reason (NULL when absent);
 * -1 with the 400 queued in *ret when it is not text or holds a NUL.
 * admin_body_text does the same for any member. */
int admin_body_reason(struct http_req *r, json_t *body, const char **reason,
		      enum MHD_Result *ret);
int admin_body_text(struct http_req *r, json_t *body, const char *member, const char **out,
		    enum MHD_Result *ret);

/*
 * The readings of the admin's JSON bodies, apart from HTTP so that
 * tests/fuzz/fuzz_json.c reads bodies exactly as the handlers do.
 * admin_secret_body_parse: a body of secrets (login, setup, password
 * change) as a new JSON object, duplicate members refused; NULL when it is
 * empty or not one. admin_body_string: its string member name into *out
 * and the length into *len (len NULL: a NUL inside is refused, the value
 * being read as a C string); -1 when missing or not such a string.
 * admin_json_body_parse: an admin action's optional body, as
 * admin_json_body reads it (0 with *out NULL when empty; -1 when it is
 * not an object). admin_body_member_text: the optional text member into
 * *out, as admin_body_text reads it (-1 when not text or holding a NUL).
 */
json_t *admin_secret_body_parse(const unsigned char *data, size_t len);
int admin_body_string(const json_t *body, const char *name, const char **out, size_t *len);
int admin_json_body_parse(const unsigned char *data, size_t len, json_t **out);
int admin_body_member_text(const json_t *body, const char *member, const char **out);

/* The CRL (api_crl.c), on both ports without a session. */
enum MHD_Result api_crl(struct http_req *r);		/* GET /crl */

/* GET /metrics (api_metrics.c): behind api_admin_session() with
 * HTTP_AUTH_METRICS, which hands a request carrying an Authorization
 * header to api_metrics_bearer (0 with r->user "metrics-token"; otherwise
 * the 401 queued in *reply and -1). api_metrics_unauthorized is the 401
 * of a request with neither credential (a Bearer challenge, and a message
 * that names both ways in). */
enum MHD_Result api_metrics(struct http_req *r);	/* GET /metrics */
int api_metrics_bearer(struct http_req *r, const char *authorization, enum MHD_Result *reply);
enum MHD_Result api_metrics_unauthorized(struct http_req *r);

/* Admin sessions (api_admin.c). */
enum MHD_Result api_login(struct http_req *r);		/* POST /api/v1/login */
enum MHD_Result api_logout(struct http_req *r);		/* POST /api/v1/logout */
enum MHD_Result api_setup_get(struct http_req *r);	/* GET /api/v1/setup */
enum MHD_Result api_setup(struct http_req *r);		/* POST /api/v1/setup */
enum MHD_Result api_session_get(struct http_req *r);	/* GET /api/v1/session (admin) */
enum MHD_Result api_password(struct http_req *r);	/* POST /api/v1/password (admin) */
/* The table's http_auth_fn: checks the request's session cookie (and, for
 * HTTP_AUTH_ADMIN_CSRF, its Origin and its X-CSRF-Token header against the
 * session's token, compared in constant time). Returns 0 with r->user
 * filled; otherwise queues the 401/403 reply, stores libmicrohttpd's
 * verdict in *reply and returns -1. */
int api_admin_session(struct http_req *r, unsigned auth, enum MHD_Result *reply);

#define WEB_FILE_MAX	(1024 * 1024)
#define WEB_NAME_MAX	128
enum MHD_Result web_file(struct http_req *r);		/* GET /NAME on HTTPS */
/* GET /style.css, /public.js: the public page's files, on both servers */
enum MHD_Result web_page_file(struct http_req *r);
/* Reads dir/name into b (capped at WEB_FILE_MAX): 0, 1 if there is no such
 * servable file (or no dir), -1 on an I/O error (logged). */
int web_load(const char *dir, const char *name, struct buf *b);
/* web_qr.c */
enum MHD_Result web_qr(struct http_req *r);		/* GET /qr.svg */
/* 1 if name may be served: [A-Za-z0-9._-]+, no leading dot, bounded. */
int web_name_ok(const char *name);

#endif
