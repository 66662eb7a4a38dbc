/* api_enroll.c - placeholder: being written (enrollment endpoints). */
#include "config.h"

#include "api.h"

#define API_TODO(fn) \
	enum MHD_Result fn(struct http_req *r) \
	{ return http_reply_error(r, 501, "not_implemented", "not implemented yet"); }

API_TODO(api_enroll)
API_TODO(api_request_get)
API_TODO(api_renew)
API_TODO(api_press)
API_TODO(api_requests_list)
API_TODO(api_request_approve)
API_TODO(api_request_deny)
