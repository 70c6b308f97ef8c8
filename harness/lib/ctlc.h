/* ctlc: the harness's client of a master's command socket.
 *
 * One connection per request, as `batond ctl` does.  ctlc_call sends a
 * request and waits for the answer; ctlc_begin / ctlc_poll split the two
 * so the caller can do other things (probe `status`) while a long request
 * (upgrade-main) is in flight. */
#ifndef BATON_HARNESS_CTLC_H
#define BATON_HARNESS_CTLC_H

#include <jansson.h>

#include "channel.h"
#include "err.h"

int ctlc_call(const char *socket_path, const char *request, int timeout_ms,
	      json_t **answer, struct bt_err *err);

struct ctlc_pending {
	struct channel ch;
};

int ctlc_begin(const char *socket_path, const char *request,
	       struct ctlc_pending *p, struct bt_err *err);
/* 1 with *answer, 0 while waiting (up to wait_ms), -1 on error (the
 * connection closed without an answer: ECONNRESET). */
int ctlc_poll(struct ctlc_pending *p, int wait_ms, json_t **answer,
	      struct bt_err *err);
void ctlc_end(struct ctlc_pending *p);

/* status shortcut: the answer's "pid" (or -1) and the whole answer. */
pid_t ctlc_status(const char *socket_path, int timeout_ms, json_t **answer);

#endif
