/* api_admin.c - placeholder: being written (admin sessions). */
#include "config.h"

#include "api.h"

enum MHD_Result
api_login(struct http_req *r)
{
	return http_reply_error(r, 501, "not_implemented", "login is not implemented yet");
}

enum MHD_Result
api_logout(struct http_req *r)
{
	return http_reply_error(r, 501, "not_implemented", "logout is not implemented yet");
}

int
api_admin_session(struct http_req *r, int state_changing, char user[65], enum MHD_Result *reply)
{
	(void)state_changing;
	(void)user;
	*reply = http_reply_error(r, 401, "unauthorized", "admin sessions are not implemented yet");
	return -1;
}
