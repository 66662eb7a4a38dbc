/*
 * acme.h - the ACME door's handlers, as routes.c names them (RFC 8555;
 * RFC 9773 for renewal information). Every URL is under /acme/ on the
 * HTTPS port; every POST carries a JWS (door.h's pipeline).
 *
 *   GET  /acme/directory                 acme_directory (door.c)
 *   GET  /acme/new-nonce (and HEAD)      acme_new_nonce (door.c)
 *   POST /acme/new-account               acme_new_account
 *   POST /acme/acct/{id}                 acme_account: read, contact, deactivation
 *   POST /acme/acct/{id}/orders          acme_account_orders
 *   POST /acme/new-order                 acme_new_order
 *   POST /acme/order/{id}                acme_order
 *   POST /acme/order/{id}/finalize       acme_finalize_post
 *   POST /acme/authz/{id}                acme_authz: read, deactivation
 *   POST /acme/chall/{id}/{type}         acme_chall: read, "{}" to validate
 *   POST /acme/cert/{id}                 acme_cert: the PEM chain
 *   POST /acme/revoke-cert               acme_revoke_cert
 *   POST /acme/key-change                acme_key_change
 *   GET  /acme/renewal-info/{certid}     acme_renewal_info_get (door.c)
 */
#ifndef LANCA_HTTP_ACME_ACME_H
#define LANCA_HTTP_ACME_ACME_H

#include "http/route.h"

enum MHD_Result acme_directory(struct http_req *r);
enum MHD_Result acme_new_nonce(struct http_req *r);
enum MHD_Result acme_renewal_info_get(struct http_req *r);
enum MHD_Result acme_new_account(struct http_req *r);
enum MHD_Result acme_account(struct http_req *r);
enum MHD_Result acme_account_orders(struct http_req *r);
enum MHD_Result acme_new_order(struct http_req *r);
enum MHD_Result acme_order(struct http_req *r);
enum MHD_Result acme_finalize_post(struct http_req *r);
enum MHD_Result acme_authz(struct http_req *r);
enum MHD_Result acme_chall(struct http_req *r);
enum MHD_Result acme_cert(struct http_req *r);
enum MHD_Result acme_revoke_cert(struct http_req *r);
enum MHD_Result acme_key_change(struct http_req *r);

#endif
