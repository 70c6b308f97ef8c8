/* spawn: see spawn.h. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "upgrade_frame.h"

static void child_hang(unsigned seconds)
{
	struct timespec ts = {.tv_sec = 1};

	while (seconds--)
		nanosleep(&ts, NULL);
}

static __attribute__((noreturn)) void child_main(const struct spawn *sp)
{
	int e;

	sigprocmask(SIG_SETMASK, &sp->child_mask, NULL);
	if (sp->new_group)
		setpgid(0, 0);
	for (size_t i = 0; i < sp->n_keep; i++) {
		int f = fcntl(sp->keep_fds[i], F_GETFD);

		if (f >= 0)
			fcntl(sp->keep_fds[i], F_SETFD, f & ~FD_CLOEXEC);
	}
	switch (sp->exec_fault) {
	case FP_CRASH:
		kill(getpid(), SIGKILL);
		break;
	case FP_HANG:
		child_hang(sp->hang_seconds);
		break;
	case FP_ERROR:
		upgrade_frame_send_exec_error(sp->report_fd, sp->exec_step,
					      sp->exec_errno);
		_exit(127);
	default:
		break;
	}
	execve(sp->path, sp->argv, sp->envp);
	e = errno;
	upgrade_frame_send_exec_error(sp->report_fd, sp->exec_step, e);
	_exit(127);
}

pid_t spawn_run(const struct spawn *sp, enum fp_kind fork_fault,
		struct bt_err *err)
{
	pid_t pid;

	if (fork_fault == FP_ERROR)
		return err_set(err, "fork", errno, "fork failed (injected)");
	pid = fork();
	if (pid < 0)
		return err_set(err, "fork", errno, "fork failed");
	if (pid == 0)
		child_main(sp);
	/* both sides set the group, so it exists whoever runs first */
	if (sp->new_group)
		setpgid(pid, pid);
	return pid;
}

void spawn_describe(int status, char *how, size_t len)
{
	if (WIFEXITED(status))
		snprintf(how, len, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, len, "killed by signal %d (%s)", WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(how, len, "status 0x%x", (unsigned)status);
}

int spawn_wait(pid_t pid, char *how, size_t len)
{
	int status;
	pid_t r;

	do {
		r = waitpid(pid, &status, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (how)
			snprintf(how, len, "not reaped: %s", strerror(errno));
		return -1;
	}
	if (how)
		spawn_describe(status, how, len);
	return status;
}
