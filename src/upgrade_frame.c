/* upgrade_frame: see upgrade_frame.h. */
#include "upgrade_frame.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json_guard.h"

int upgrade_frame_ok(char *buf, size_t len, pid_t pid, uint64_t generation)
{
	int n = snprintf(buf, len, "{\"ok\":true,\"pid\":%d,\"boot_generation\":%llu}",
			 (int)pid, (unsigned long long)generation);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

char *upgrade_frame_error(const struct bt_err *failure, size_t *len)
{
	json_t *o = json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "step", failure->step,
			      "errno", failure->errnum, "error", failure->msg);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text)
		*len = strlen(text);
	return text;
}

/* --- async-signal-safe: no allocation, no stdio, no locale --- */

/* Append S at *AT, keeping one byte of BUF free; false when it does not fit. */
static bool put_str(char *buf, size_t len, size_t *at, const char *s)
{
	for (; *s; s++) {
		if (*at + 1 >= len)
			return false;
		buf[(*at)++] = *s;
	}
	return true;
}

static bool put_uint(char *buf, size_t len, size_t *at, unsigned v)
{
	char digits[12];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n) {
		if (*at + 1 >= len)
			return false;
		buf[(*at)++] = digits[--n];
	}
	return true;
}

static bool plain_name(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
			return false;
	return true;
}

size_t upgrade_frame_exec_error(char *buf, size_t len, const char *step,
				int errnum)
{
	size_t at = CHANNEL_HEADER;

	if (len <= CHANNEL_HEADER || !plain_name(step))
		return 0;
	if (!put_str(buf, len, &at, "{\"ok\":false,\"step\":\"") ||
	    !put_str(buf, len, &at, step) || !put_str(buf, len, &at, "\",\"errno\":") ||
	    !put_uint(buf, len, &at, (unsigned)errnum) || !put_str(buf, len, &at, "}"))
		return 0;
	channel_frame_header((unsigned char *)buf, at - CHANNEL_HEADER);
	return at;
}

void upgrade_frame_send_exec_error(int fd, const char *step, int errnum)
{
	char buf[UPGRADE_FRAME_EXEC_MAX];
	size_t len = fd < 0 ? 0 : upgrade_frame_exec_error(buf, sizeof buf, step, errnum);
	size_t off = 0;
	unsigned eintr = 0;

	while (off < len) {
		long n = syscall(SYS_write, fd, buf + off, len - off);

		if (n < 0 && errno == EINTR && eintr++ < ERR_EINTR_MAX)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
		eintr = 0;
	}
}

/* --- parsing --- */

static void copy_string(char *dst, size_t len, json_t *v)
{
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int upgrade_frame_parse(const char *payload, size_t len,
			struct upgrade_frame *f)
{
	bool oom;
	json_t *o = json_guard_load(payload, len, JSON_REJECT_DUPLICATES, NULL, &oom);
	json_t *ok = json_object_get(o, "ok"), *pid, *gen, *en;

	memset(f, 0, sizeof *f);
	if (!json_is_boolean(ok)) {
		json_decref(o);
		errno = oom ? ENOMEM : EPROTO;
		return -1;
	}
	f->ok = json_is_true(ok);
	pid = json_object_get(o, "pid");
	gen = json_object_get(o, "boot_generation");
	en = json_object_get(o, "errno");
	f->has_pid = json_is_integer(pid);
	f->pid = json_integer_value(pid);
	f->has_generation = json_is_integer(gen);
	f->generation = json_integer_value(gen);
	f->has_errno = json_is_integer(en);
	f->errnum = (int)json_integer_value(en);
	copy_string(f->step, sizeof f->step, json_object_get(o, "step"));
	copy_string(f->error, sizeof f->error, json_object_get(o, "error"));
	json_decref(o);
	return 0;
}
