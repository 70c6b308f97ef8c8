/* proc: processes, seen from the harness.
 *
 * The harness makes itself a child subreaper, so masters and workers that
 * lose their parent during an upgrade are re-parented to it, stay visible
 * and are reaped here.  Processes are started with a clean fd table (only
 * 0-2 and the fds asked for survive), their output in a log file, and are
 * killed by pid, never by name. */
#ifndef BATON_HARNESS_PROC_H
#define BATON_HARNESS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int proc_become_subreaper(struct bt_err *err);

struct proc_spawn {
	char *const *argv;	/* argv[0] is the path */
	char *const *env_set;	/* "KEY=VALUE" entries added or replaced */
	char *const *env_unset;	/* keys removed */
	const char *log_path;	/* stdout+stderr (appended); NULL: inherit */
	const int *keep_fds;	/* fds that stay open across exec */
	size_t n_keep;
};

/* Fork+exec; returns the pid or -1. */
pid_t proc_spawn(const struct proc_spawn *ps, struct bt_err *err);

/* One process as /proc shows it. */
struct proc_info {
	pid_t pid, ppid;
	char state;		/* R S D Z T ... */
	char cmdline[256];	/* argv joined with spaces */
};

/* Every process whose ancestry leads to ROOT (ROOT excluded). */
int proc_descendants(pid_t root, struct proc_info **out, size_t *n,
		     struct bt_err *err);
int proc_info(pid_t pid, struct proc_info *out);
bool proc_alive(pid_t pid);	/* exists and is not a zombie */
bool proc_exists(pid_t pid);	/* exists, zombie or not */

/* Reap every exited child of this process (WNOHANG); returns how many. */
int proc_reap_all(void);
/* Wait until PID is gone (reaping it if it is our child) or the timeout
 * passes; returns 0 when gone. */
int proc_wait_gone(pid_t pid, int timeout_ms);
/* SIGKILL every descendant of ROOT and reap them, bounded. */
void proc_kill_tree(pid_t root, int timeout_ms);

/* mkdir -p PATH (mode 0755); 0 when it exists afterwards, else -1 with
 * errno set (ENAMETOOLONG past 511 bytes). */
int proc_mkdir_p(const char *path);

/* rm -rf DIR without a shell: 0 when nothing of it is left (or it never
 * was), else -1 with errno of the first entry that stayed. */
int proc_rm_tree(const char *dir);

/* PATH made absolute against the working directory, in BUF; PATH itself
 * when it is already absolute (or the directory cannot be read). */
const char *proc_absolute(const char *path, char *buf, size_t len);

void proc_sleep_ms(int ms);
long long proc_now_ms(void);

#endif
