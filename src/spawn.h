/* spawn: fork and exec a prepared command, git run-command style.
 *
 * Everything the child needs (argv, envp, the signal mask to restore, the
 * fds to keep across exec, the report fd, the pre-decided exec fault) is
 * prepared by the caller before spawn_run.  Between fork and exec the
 * child makes only async-signal-safe calls: sigprocmask, fcntl, execve,
 * kill, nanosleep, a raw write(2) system call and _exit.  It allocates
 * nothing and logs nothing.
 *
 * If exec fails, the child writes the exec error frame of upgrade_frame.h,
 *     {"ok":false,"step":"<exec_step>","errno":<n>}
 * to report_fd and exits 127; a successful exec closes nothing but the
 * CLOEXEC fds, so the reader sees the frame, or the new program's own
 * messages, or EOF.
 *
 * The exec fault (FP_ERROR with exec_errno, FP_CRASH, FP_HANG) is decided
 * in the parent, where the fault registry may be used, and only acted on
 * in the child. */
#ifndef BATON_SPAWN_H
#define BATON_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "failpoint.h"

#define SPAWN_MAX_KEEP 8

struct spawn {
	const char *path;
	char *const *argv;
	char *const *envp;
	sigset_t child_mask;		/* restored in the child before exec */
	int keep_fds[SPAWN_MAX_KEEP];	/* CLOEXEC cleared in the child */
	size_t n_keep;
	int report_fd;			/* -1: no error frame */
	const char *exec_step;		/* "child/exec", "worker/exec" */
	enum fp_kind exec_fault;
	int exec_errno;
	unsigned hang_seconds;
	bool new_group;			/* setpgid(0, 0) in the child, so a
					 * failed child and whatever it
					 * started can be killed together */
};

/* Fork and exec.  Returns the child's pid, or -1 (fork failed).  FORK_FAULT
 * is the caller's fault point for the fork itself. */
pid_t spawn_run(const struct spawn *sp, enum fp_kind fork_fault,
		struct bt_err *err);

/* Wait for PID (EINTR-safe) and describe how it ended: "exited 0",
 * "exited 127", "killed by signal 9 (SIGKILL)". Returns the raw status or
 * -1. */
int spawn_wait(pid_t pid, char *how, size_t len);
void spawn_describe(int status, char *how, size_t len);

#endif
