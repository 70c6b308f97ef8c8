/* pidfile: write a pid file atomically, read one back.
 *
 * pidfile_write creates PATH.tmp.<pid> beside PATH (mode 0644, the name
 * pidfile_tmp_path gives), writes
 * "<pid>\n", fsyncs and renames it over PATH: a reader sees the old
 * content or the new one, never a torn or empty file, even if the writer
 * is killed half-way.  The named fault point new/pidfile sits on the
 * write (the caller passes it through the hook). */
#ifndef BATON_PIDFILE_H
#define BATON_PIDFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "failpoint.h"

/* Room for a temporary name: a path, ".tmp." and a pid. */
#define PIDFILE_TMP_MAX (PATH_MAX + sizeof ".tmp." + 10)

/* The temporary file process WRITER uses beside PATH: 0, or -1 with
 * ENAMETOOLONG when it does not fit in LEN bytes.  The old master removes
 * the one a failed new master left. */
int pidfile_tmp_path(const char *path, pid_t writer, char *buf, size_t len,
		     struct bt_err *err);

int pidfile_write(const char *path, pid_t pid, enum fp_kind (*fault)(void),
		  struct bt_err *err);
/* 0 and *pid, or -1 (missing file, not a positive number). */
int pidfile_read(const char *path, pid_t *pid, struct bt_err *err);

#endif
