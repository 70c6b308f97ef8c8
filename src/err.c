/* err: see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct bt_err *e, const char *step, int errnum, const char *fmt,
	    ...)
{
	if (e) {
		va_list ap;

		snprintf(e->step, sizeof e->step, "%s", step ? step : "");
		e->errnum = errnum;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	errno = errnum ? errnum : EINVAL;
	return -1;
}

int err_wrap(struct bt_err *e, const char *fmt, ...)
{
	if (e) {
		char prefix[512];
		char old[sizeof e->msg];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(prefix, sizeof prefix, fmt, ap);
		va_end(ap);
		memcpy(old, e->msg, sizeof old);
		snprintf(e->msg, sizeof e->msg, "%s%s", prefix, old);
		errno = e->errnum ? e->errnum : EINVAL;
	}
	return -1;
}

int err_step(struct bt_err *e, const char *step)
{
	if (e)
		snprintf(e->step, sizeof e->step, "%s", step);
	errno = e && e->errnum ? e->errnum : EINVAL;
	return -1;
}

void err_clear(struct bt_err *e)
{
	if (e)
		memset(e, 0, sizeof *e);
}

const char *err_errno_name(int errnum)
{
	if (errnum <= 0)
		return NULL;
	return strerrorname_np(errnum);
}

int err_errno_from_name(const char *name)
{
	for (int i = 1; i < 4096; i++) {
		const char *n = strerrorname_np(i);

		if (n && strcmp(n, name) == 0)
			return i;
	}
	return -1;
}

const char *err_format(const struct bt_err *e, char *buf, size_t len)
{
	if (!e) {
		snprintf(buf, len, "(no error)");
	} else if (e->errnum) {
		const char *name = err_errno_name(e->errnum);

		snprintf(buf, len, "%s: %s (errno %s: %s)", e->step, e->msg,
			 name ? name : "?", strerror(e->errnum));
	} else {
		snprintf(buf, len, "%s: %s", e->step, e->msg);
	}
	return buf;
}
