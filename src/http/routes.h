/*
 * routes.h - the route table `lanca serve` answers with.
 *
 * Owns: nothing but the table (routes.c). httpd_start() hands it to the
 * router; the route fuzz target and test_route match against it.
 */
#ifndef LANCA_HTTP_ROUTES_H
#define LANCA_HTTP_ROUTES_H

#include "http/route.h"

extern const struct http_table http_routes;

#endif
