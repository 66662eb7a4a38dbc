/*
 * routes.c - what each server answers: {method, path pattern, max body,
 * handler, servers, auth} and nothing else (see routes.h, route.h).
 *
 * Order matters: the first row whose method, path and server match wins,
 * so exact paths come before "/{name}". Plain HTTP answers only its rows
 * and the router redirects everything else to HTTPS, so a new
 * first-contact download such as /trust-bundle.pem or /crl is one
 * HTTP_ON_BOTH row here.
 */
#include "config.h"

#include "http/routes.h"
#include "http/api.h"
#include "http/acme/acme.h"
#include "http/acme/jws.h"
#include "http/httpd.h"

static const struct http_route routes[] = {
	{ "GET", "/ca.crt", 0, api_ca_der, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/ca.pem", 0, api_ca_pem, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/trust-bundle.pem", 0, api_trust_bundle, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/backup-root.crt", 0, api_backup_root_der, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/backup-root.pem", 0, api_backup_root_pem, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/next-root.crt", 0, api_next_root_der, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/next-root.pem", 0, api_next_root_pem, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/crl", 0, api_crl, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/crl/{id}", 0, api_crl, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/policy/{format}/{file}", 0, api_policy_file, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/api/v1/status", 0, api_status, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/api/v1/enroll", HTTPD_BODY_MAX, api_enroll, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/api/v1/requests/{id}", 0, api_request_get, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/api/v1/renew", HTTPD_BODY_MAX, api_renew, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/api/v1/login", 4096, api_login, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/api/v1/logout", 0, api_logout, HTTP_ON_TLS, HTTP_AUTH_ADMIN_CSRF },
	{ "GET", "/api/v1/setup", 0, api_setup_get, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/api/v1/setup", 4096, api_setup, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/api/v1/session", 0, api_session_get, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "POST", "/api/v1/password", 8192, api_password, HTTP_ON_TLS, HTTP_AUTH_ADMIN_CSRF },
	{ "POST", "/api/v1/press", 4096, api_press, HTTP_ON_TLS, HTTP_AUTH_ADMIN_CSRF },
	{ "GET", "/api/v1/requests", 0, api_requests_list, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "POST", "/api/v1/requests/{id}/approve", 0, api_request_approve, HTTP_ON_TLS,
	  HTTP_AUTH_ADMIN_CSRF },
	{ "POST", "/api/v1/requests/{id}/deny", 4096, api_request_deny, HTTP_ON_TLS,
	  HTTP_AUTH_ADMIN_CSRF },
	{ "GET", "/api/v1/certificates", 0, api_certs_list, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "GET", "/api/v1/certificates/{serial}", 0, api_cert_get, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "POST", "/api/v1/certificates/{serial}/revoke", 4096, api_cert_revoke, HTTP_ON_TLS,
	  HTTP_AUTH_ADMIN_CSRF },
	{ "POST", "/api/v1/devices/{device}/revoke", 4096, api_device_revoke, HTTP_ON_TLS,
	  HTTP_AUTH_ADMIN_CSRF },
	{ "GET", "/api/v1/audit", 0, api_audit_list, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "GET", "/api/v1/overview", 0, api_overview, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "GET", "/api/v1/acme/accounts", 0, api_acme_accounts, HTTP_ON_TLS, HTTP_AUTH_ADMIN },
	{ "POST", "/api/v1/acme/accounts/{id}/approve", 0, api_acme_approve, HTTP_ON_TLS,
	  HTTP_AUTH_ADMIN_CSRF },
	{ "GET", "/metrics", 0, api_metrics, HTTP_ON_TLS, HTTP_AUTH_METRICS },
	{ "GET", "/.well-known/est/cacerts", 0, est_cacerts, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/simpleenroll", HTTPD_BODY_MAX, est_simpleenroll, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/simplereenroll", HTTPD_BODY_MAX, est_simplereenroll,
	  HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/.well-known/est/csrattrs", 0, est_csrattrs, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/serverkeygen", HTTPD_BODY_MAX, est_serverkeygen, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "GET", "/.well-known/est/{label}/cacerts", 0, est_cacerts, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/.well-known/est/{label}/csrattrs", 0, est_csrattrs, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/{label}/simpleenroll", HTTPD_BODY_MAX, est_simpleenroll,
	  HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/{label}/simplereenroll", HTTPD_BODY_MAX, est_simplereenroll,
	  HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/.well-known/est/{label}/serverkeygen", HTTPD_BODY_MAX, est_serverkeygen,
	  HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/acme/directory", 0, acme_directory, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/acme/new-nonce", 0, acme_new_nonce, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/acme/renewal-info/{certid}", 0, acme_renewal_info_get, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/new-account", JWS_BODY_MAX, acme_new_account, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/new-order", JWS_BODY_MAX, acme_new_order, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/acme/revoke-cert", JWS_BODY_MAX, acme_revoke_cert, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/key-change", JWS_BODY_MAX, acme_key_change, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/acme/acct/{id}", JWS_BODY_MAX, acme_account, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/acme/acct/{id}/orders", JWS_BODY_MAX, acme_account_orders, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/order/{id}", JWS_BODY_MAX, acme_order, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/acme/order/{id}/finalize", JWS_BODY_MAX, acme_finalize_post, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/authz/{id}", JWS_BODY_MAX, acme_authz, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "POST", "/acme/chall/{id}/{type}", JWS_BODY_MAX, acme_chall, HTTP_ON_TLS,
	  HTTP_AUTH_NONE },
	{ "POST", "/acme/cert/{id}", JWS_BODY_MAX, acme_cert, HTTP_ON_TLS, HTTP_AUTH_NONE },
	{ "GET", "/status.json", 0, api_status, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/qr.svg", 0, web_qr, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/", 0, api_ca_page, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/style.css", 0, web_page_file, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/public.js", 0, web_page_file, HTTP_ON_BOTH, HTTP_AUTH_NONE },
	{ "GET", "/{name}", 0, web_file, HTTP_ON_TLS, HTTP_AUTH_NONE },
};

const struct http_table http_routes = {
	routes, sizeof(routes) / sizeof(routes[0]), api_admin_session,
};
