/*
 * fuzz_control.c - fuzz target for the control socket's request parser
 * (control_parse in control.c): the one line a local client sends before
 * the daemon acts on the onboarding window.
 *
 * Besides memory errors and leaks, the target aborts on a broken
 * contract: a refusal without a 4xx code; a request longer than
 * CONTROL_MSG_MAX accepted; an accepted request whose command is not one
 * of the table's, or whose arguments fail admin.c's own checks (the
 * daemon would act on them unchecked), or whose strings are not
 * NUL-terminated inside their arrays; and a request that does not read
 * back the same once written out again by control_req_json (the CLI
 * sends exactly what the daemon reads).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/lerr.h"
#include "daemon/admin.h"
#include "daemon/control.h"
#include "ca/crl.h"
#include "daemon/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_control_check(const struct control_req *rq)
{
	static const struct control_req zero;
	struct lerr e;
	size_t i;

	if (rq->op != CONTROL_PRESS && rq->op != CONTROL_APPROVE && rq->op != CONTROL_DENY &&
	    rq->op != CONTROL_LIST && rq->op != CONTROL_STATS && rq->op != CONTROL_REVOKE)
		abort();
	if (memchr(rq->actor, '\0', sizeof(rq->actor)) == NULL ||
	    memchr(rq->id, '\0', sizeof(rq->id)) == NULL ||
	    memchr(rq->reason, '\0', sizeof(rq->reason)) == NULL)
		abort();
	for (i = 0; rq->actor[i] != '\0'; i++)
		if ((unsigned char)rq->actor[i] < 0x20 || rq->actor[i] == 0x7f)
			abort();
	/* What a command does not take stays empty. */
	if (rq->op == CONTROL_APPROVE || rq->op == CONTROL_DENY) {
		if (admin_id_check(rq->id, &e) != 0)
			abort();
	} else if (rq->id[0] != '\0') {
		abort();
	}
	if (rq->op == CONTROL_DENY ? admin_reason_check(rq->reason, &e) != 0 : rq->reason[0] != '\0')
		abort();
	if (rq->op == CONTROL_PRESS ? rq->press.seconds > WINDOW_SECONDS_MAX ||
				      rq->press.count > WINDOW_COUNT_MAX :
				      memcmp(&rq->press, &zero.press, sizeof(zero.press)) != 0)
		abort();
	if (rq->op == CONTROL_LIST) {
		if (rq->list.limit > ADMIN_LIST_MAX || rq->list.after < 0 ||
		    (rq->list.state != STORE_REQ_ANY && store_req_state_str(rq->list.state) == NULL))
			abort();
	} else if (memcmp(&rq->list, &zero.list, sizeof(zero.list)) != 0) {
		abort();
	}
	if (rq->op == CONTROL_REVOKE) {
		if (memchr(rq->revoke.target, '\0', sizeof(rq->revoke.target)) == NULL ||
		    memchr(rq->revoke.comment, '\0', sizeof(rq->revoke.comment)) == NULL ||
		    rq->revoke.target[0] == '\0' ||
		    crl_reason_str((int)rq->revoke.reason) == NULL ||
		    rq->revoke.reason == CRL_REASON_CA_COMPROMISE ||
		    admin_reason_check(rq->revoke.comment, &e) != 0)
			abort();
		for (i = 0; rq->revoke.target[i] != '\0'; i++)
			if ((unsigned char)rq->revoke.target[i] < 0x20 ||
			    rq->revoke.target[i] == 0x7f)
				abort();
	} else if (memcmp(&rq->revoke, &zero.revoke, sizeof(zero.revoke)) != 0) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_req rq, again;
	struct lerr e;
	json_t *j;
	char *text;

	lerr_clear(&e);
	if (control_parse((const char *)data, size, &rq, &e) != 0) {
		if (e.code == LERR_NONE || lerr_http(e.code) < 400 || lerr_http(e.code) > 499 ||
		    rq.op != 0 || memchr(e.msg, '\0', sizeof(e.msg)) == NULL)
			abort();
		return 0;
	}
	if (size > CONTROL_MSG_MAX || e.code != LERR_NONE)
		abort();
	fuzz_control_check(&rq);
	/* Written out and read again, it is the same request. */
	j = control_req_json(&rq);
	if (j == NULL)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		abort();
	if (strlen(text) <= CONTROL_MSG_MAX) {
		if (control_parse(text, strlen(text), &again, &e) != 0 ||
		    memcmp(&rq, &again, sizeof(rq)) != 0)
			abort();
	}
	free(text);
	return 0;
}
