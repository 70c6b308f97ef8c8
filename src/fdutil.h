/* fdutil: small facts about file descriptors.
 *
 * CLOEXEC get/set, the identity of the kernel object behind an fd (st_dev,
 * st_ino: two fds alias when their identities are equal, whatever their
 * numbers) and the check that a set of fds holds no alias, type checks,
 * the fd table of any process read from /proc, and a one-shot deadline
 * timer.  Nothing here takes ownership of an fd it is given; the timer's
 * fd is the caller's. */
#ifndef BATON_FDUTIL_H
#define BATON_FDUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* 1 if FD_CLOEXEC is set, 0 if not, -1 with errno (EBADF) on error. */
int fdutil_get_cloexec(int fd);
/* Set or clear FD_CLOEXEC. */
int fdutil_set_cloexec(int fd, bool on);

struct fdutil_id {
	dev_t dev;
	ino_t ino;
};

int fdutil_identity(int fd, struct fdutil_id *id);
bool fdutil_id_equal(const struct fdutil_id *a, const struct fdutil_id *b);
/* A total order on identities (device, then inode), for sorting. */
int fdutil_id_cmp(const struct fdutil_id *a, const struct fdutil_id *b);

/* Labels for fdutil_check_distinct's messages: the I-th fd's role into
 * BUF ("worker 0's channel (fd 7)", "$.workers[0].channel_fd"). */
typedef void (*fdutil_label_fn)(size_t i, const void *ctx, char *buf, size_t len);

/* No two of N fds (the I-th is FD_AT(I, CTX)) may be one kernel object,
 * whatever their numbers.  Sorted by identity, aliases are neighbours:
 * O(n log n), one allocation.  0, or -1 with ERR naming STEP: EEXIST
 * "A and B are the same kernel object" (A the role listed first), the
 * errno of fstat "cannot fstat A", or ENOMEM. */
int fdutil_check_distinct(size_t n, int (*fd_at)(size_t i, const void *ctx),
			  fdutil_label_fn label, const void *ctx, const char *step,
			  struct bt_err *err);

bool fdutil_is_open(int fd);
/* Each returns 1 (yes), 0 (no) or -1 with errno (fd not open). */
int fdutil_is_unix_stream(int fd);
int fdutil_is_listening(int fd);	/* any socket with SO_ACCEPTCONN */
int fdutil_is_regular(int fd);

/* One open fd of a process, as /proc shows it. */
struct fdutil_entry {
	int fd;
	bool cloexec;
	unsigned long flags;	/* the octal "flags:" line of fdinfo */
	char target[128];	/* readlink of /proc/PID/fd/N: "socket:[1234]" */
};

/* All open fds of PID (0 = self), sorted by number.  *out is malloc'd. */
int fdutil_list(pid_t pid, struct fdutil_entry **out, size_t *n,
		struct bt_err *err);

/* Parse a decimal fd argument: digits only, in [0, INT_MAX]. */
int fdutil_parse_fd(const char *text, int *fd);

/* A timerfd (CLOEXEC, non-blocking) that becomes readable once, MS
 * milliseconds from now (MS >= 1: a zero time leaves it disarmed).  The fd,
 * or -1 with errno. */
int fdutil_timerfd(uint64_t ms);

#endif
