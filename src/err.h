/* err: the one error type of baton's library code.
 *
 * Library functions never print and never exit: on failure they fill a
 * struct bt_err (the step that failed, the errno, a sentence that names the
 * input) and return -1 with errno set to the same value.  Callers decide
 * whether to print it, send it in an error frame, or abort an upgrade. */
#ifndef BATON_ERR_H
#define BATON_ERR_H

#include <stddef.h>

struct bt_err {
	char step[48];	/* "old/write", "parse", "scm-recv", ... */
	int errnum;	/* 0 when the failure is not a system call's */
	char msg[1024];	/* human sentence, names the input */
};

/* Fill *e (which may be NULL) and return -1 with errno = errnum. */
int err_set(struct bt_err *e, const char *step, int errnum, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));

/* Prefix the existing message with more context ("reading state file: ").
 * Returns -1 with errno restored to e->errnum. */
int err_wrap(struct bt_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct bt_err *e);

/* Name the step of an error another module reported ("old/serialize" for a
 * state_json failure).  Returns -1. */
int err_step(struct bt_err *e, const char *step);

/* Room for err_format's text: the step, the message, and
 * " (errno NAME: strerror)" (a name and a strerror text are short). */
#define ERR_TEXT_MAX \
	(sizeof(((struct bt_err *)0)->step) + sizeof(((struct bt_err *)0)->msg) + 128)
/* Room for a log line: a prefix naming the process, a context, and one
 * formatted error. */
#define ERR_LOG_LINE_MAX (ERR_TEXT_MAX + 256)

/* A call interrupted (EINTR) this many times in a row is not being
 * interrupted by chance: a loop that retries EINTR gives up then and
 * reports EINTR at its own step. */
#define ERR_EINTR_MAX 16

/* "step: msg (errno NAME: strerror)" into buf; returns buf. */
const char *err_format(const struct bt_err *e, char *buf, size_t len);

/* Symbolic errno name ("ENOSPC"), or NULL when unknown. */
const char *err_errno_name(int errnum);

/* Inverse of err_errno_name; -1 when the name is unknown. */
int err_errno_from_name(const char *name);

#endif
