/* fdutil: small facts about file descriptors.
 *
 * CLOEXEC get/set, the identity of the kernel object behind an fd (st_dev,
 * st_ino: two fds alias when their identities are equal, whatever their
 * numbers), type checks, and the fd table of any process read from /proc.
 * Nothing here takes ownership of an fd. */
#ifndef BATON_FDUTIL_H
#define BATON_FDUTIL_H

#include <stdbool.h>
#include <stddef.h>
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

#endif
