/*
 * api.h - the request handlers named in http_route.c's table.
 *
 * Owns: nothing; each handler answers one route with the http_reply_*
 * helpers and returns their verdict. Handlers run on libmicrohttpd's
 * per-connection threads and may block (store, signer); they only read
 * struct app, whose members are safe from any thread.
 * Files: api_ca.c (the root downloads, the plain-HTTP first-contact page
 * and the redirect to HTTPS), api_status.c (/api/v1/status), web.c (static
 * files under app->web_dir).
 */
#ifndef LANCA_API_H
#define LANCA_API_H

#include "http_route.h"

/* api_ca.c */
enum MHD_Result api_ca_der(struct http_req *r);		/* GET /ca.crt */
enum MHD_Result api_ca_pem(struct http_req *r);		/* GET /ca.pem */
enum MHD_Result api_ca_page(struct http_req *r);	/* GET / on plain HTTP */
enum MHD_Result api_ca_redirect(struct http_req *r);	/* anything else on plain HTTP */

/* api_status.c */
enum MHD_Result api_status(struct http_req *r);		/* GET /api/v1/status */

/* web.c */
#define WEB_FILE_MAX	(1024 * 1024)
#define WEB_NAME_MAX	128
enum MHD_Result web_index(struct http_req *r);		/* GET / on HTTPS */
enum MHD_Result web_file(struct http_req *r);		/* GET /NAME on HTTPS */
/* 1 if name may be served: [A-Za-z0-9._-]+, no leading dot, bounded. */
int web_name_ok(const char *name);

#endif
