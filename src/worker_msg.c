/* worker_msg: see worker_msg.h. */
#include "worker_msg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "upgrade_frame.h"

static const char *const type_names[] = {
	[WMSG_READY] = "ready",
	[WMSG_FAILED] = "failed",
	[WMSG_LISTENERS_FAILED] = "listeners-failed",
	[WMSG_RETURN_LISTENERS] = "return-listeners",
	[WMSG_STOP] = "stop",
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])

void worker_msg_failure(struct worker_msg *m, enum worker_msg_type type,
			const struct bt_err *e)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	snprintf(m->step, sizeof m->step, "%s", e->step);
	m->errnum = e->errnum;
	snprintf(m->error, sizeof m->error, "%s", e->msg);
}

char *worker_msg_encode(const struct worker_msg *m, size_t *len)
{
	const char *type = (size_t)m->type < N_TYPES ? type_names[m->type] : NULL;
	json_t *o = NULL;
	char *text;

	switch (m->type) {
	case WMSG_READY:
		o = json_pack("{s:s, s:I, s:i, s:I}", "type", type, "id",
			      (json_int_t)m->id, "pid", (int)m->pid, "listeners",
			      (json_int_t)m->listeners);
		break;
	case WMSG_FAILED:
	case WMSG_LISTENERS_FAILED:
		o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "step", m->step,
			      "errno", m->errnum, "error", m->error);
		break;
	case WMSG_RETURN_LISTENERS:
		o = json_pack("{s:s}", "type", type);
		break;
	case WMSG_STOP:
		o = json_pack("{s:s, s:s}", "type", type, "mode", m->hard ? "hard" : "soft");
		break;
	default:
		return NULL;
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text)
		*len = strlen(text);
	return text;
}

static void copy_string(char *dst, size_t len, json_t *v)
{
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* No "type": the exec error frame, or nothing we know. */
static void decode_untyped(const char *payload, size_t len, struct worker_msg *m)
{
	struct upgrade_frame f;

	if (upgrade_frame_parse(payload, len, &f) || f.ok)
		return;
	m->type = WMSG_EXEC_FAILED;
	snprintf(m->step, sizeof m->step, "%s", f.step);
	m->errnum = f.has_errno ? f.errnum : 0;
}

int worker_msg_decode(const char *payload, size_t len, struct worker_msg *m)
{
	bool oom;
	json_t *o = json_guard_load(payload, len, JSON_REJECT_DUPLICATES, NULL, &oom);
	const char *type = json_string_value(json_object_get(o, "type")), *mode;

	memset(m, 0, sizeof *m);
	if (!json_is_object(o)) {
		json_decref(o);
		errno = oom ? ENOMEM : EPROTO;
		return -1;
	}
	for (size_t i = 0; type && i < N_TYPES; i++)
		if (type_names[i] && strcmp(type, type_names[i]) == 0)
			m->type = (enum worker_msg_type)i;
	m->id = (uint32_t)json_integer_value(json_object_get(o, "id"));
	m->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	m->listeners = (uint64_t)json_integer_value(json_object_get(o, "listeners"));
	mode = json_string_value(json_object_get(o, "mode"));
	m->hard = m->type == WMSG_STOP && mode && strcmp(mode, "hard") == 0;
	copy_string(m->step, sizeof m->step, json_object_get(o, "step"));
	m->errnum = (int)json_integer_value(json_object_get(o, "errno"));
	copy_string(m->error, sizeof m->error, json_object_get(o, "error"));
	json_decref(o);
	if (!type)
		decode_untyped(payload, len, m);
	return 0;
}
