/* spawn: see spawn.h. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "json_guard.h"

/* Async-signal-safe pieces for the child. */

static size_t put_str(char *buf, size_t at, const char *s)
{
	while (*s)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, unsigned v)
{
	char digits[12];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[at++] = digits[--n];
	return at;
}

static void child_report(int fd, const char *step, int errnum)
{
	char buf[256];
	size_t len = CHANNEL_HEADER, off = 0;

	if (fd < 0)
		return;
	len = put_str(buf, len, "{\"ok\":false,\"step\":\"");
	len = put_str(buf, len, step);
	len = put_str(buf, len, "\",\"errno\":");
	len = put_uint(buf, len, (unsigned)errnum);
	len = put_str(buf, len, "}");
	channel_frame_header((unsigned char *)buf, len - CHANNEL_HEADER);
	/* The raw system call: libc's write() may be interposed (libfiu's
	 * preload) by code that is not async-signal-safe. */
	while (off < len) {
		long n = syscall(SYS_write, fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

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
		child_report(sp->report_fd, sp->exec_step, sp->exec_errno);
		_exit(127);
	default:
		break;
	}
	execve(sp->path, sp->argv, sp->envp);
	e = errno;
	child_report(sp->report_fd, sp->exec_step, e);
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

int spawn_parse_exec_error(const char *payload, char *step, size_t len,
			   int *errnum)
{
	bool oom;
	json_t *o = json_guard_load(payload, strlen(payload), 0, NULL, &oom), *ok, *st, *en;
	int rc = -1;

	if (!o)
		return -1;
	ok = json_object_get(o, "ok");
	st = json_object_get(o, "step");
	en = json_object_get(o, "errno");
	if (json_is_false(ok) && json_is_string(st) && json_is_integer(en)) {
		snprintf(step, len, "%s", json_string_value(st));
		*errnum = (int)json_integer_value(en);
		rc = 0;
	}
	json_decref(o);
	return rc;
}
