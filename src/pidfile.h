/* pidfile: write a pid file atomically, read one back.
 *
 * pidfile_write creates PATH.tmp.<pid> beside PATH (mode 0644), writes
 * "<pid>\n", fsyncs and renames it over PATH: a reader sees the old
 * content or the new one, never a torn or empty file, even if the writer
 * is killed half-way.  The named fault point new/pidfile sits on the
 * write (the caller passes it through the hook). */
#ifndef BATON_PIDFILE_H
#define BATON_PIDFILE_H

#include <sys/types.h>

#include "err.h"
#include "failpoint.h"

int pidfile_write(const char *path, pid_t pid, enum fp_kind (*fault)(void),
		  struct bt_err *err);
/* 0 and *pid, or -1 (missing file, not a positive number). */
int pidfile_read(const char *path, pid_t *pid, struct bt_err *err);

#endif
