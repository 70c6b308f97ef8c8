/* ctlc: see ctlc.h. */
#include "lib/ctlc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ctlc_begin(const char *socket_path, const char *request,
	       struct ctlc_pending *p, struct bt_err *err)
{
	if (channel_connect(&p->ch, socket_path, 1 << 16, 64 << 20, err))
		return -1;
	if (channel_send(&p->ch, request, strlen(request), 2000, err)) {
		channel_close(&p->ch);
		return -1;
	}
	return 0;
}

int ctlc_poll(struct ctlc_pending *p, int wait_ms, json_t **answer,
	      struct bt_err *err)
{
	char *payload = NULL;
	size_t len;
	int rc = channel_recv(&p->ch, &payload, &len, wait_ms, err);

	if (rc < 0 && errno == ETIMEDOUT)
		return 0;
	if (rc < 0)
		return -1;
	if (rc > 0)
		return err_set(err, "answer", ECONNRESET,
			       "the master closed the connection without answering");
	*answer = json_loads(payload, 0, NULL);
	free(payload);
	if (!*answer)
		return err_set(err, "answer", EPROTO, "the answer is not JSON");
	return 1;
}

void ctlc_end(struct ctlc_pending *p)
{
	if (p->ch.fd >= 0 || p->ch.rbuf || p->ch.wbuf)
		channel_close(&p->ch);
}

int ctlc_call(const char *socket_path, const char *request, int timeout_ms,
	      json_t **answer, struct bt_err *err)
{
	struct ctlc_pending p;
	int rc;

	*answer = NULL;
	if (ctlc_begin(socket_path, request, &p, err))
		return -1;
	rc = ctlc_poll(&p, timeout_ms, answer, err);
	ctlc_end(&p);
	if (rc == 0)
		return err_set(err, "answer", ETIMEDOUT,
			       "no answer within %d ms", timeout_ms);
	return rc > 0 ? 0 : -1;
}

pid_t ctlc_status(const char *socket_path, int timeout_ms, json_t **answer)
{
	json_t *a = NULL;
	pid_t pid = -1;

	if (ctlc_call(socket_path, "{\"command\":\"status\"}", timeout_ms, &a,
		      NULL) == 0 &&
	    json_is_true(json_object_get(a, "ok")))
		pid = (pid_t)json_integer_value(json_object_get(a, "pid"));
	if (answer)
		*answer = a;
	else
		json_decref(a);
	return pid;
}
