/* hub: the master upgrade in flight, glue between the loop and upgrade.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "hub_private.h"
#include "notify.h"
#include "pidfile.h"

extern char **environ;

static void mup_release(struct hub *h)
{
	hub_unwatch(h, h->mup.f.confirm.fd);
	hub_unwatch(h, h->mup.f.timer_fd);
	h->mup.active = false;
}

/* After a failed upgrade the runtime directory and the pid file must look
 * as if it never happened: a new master killed half-way through writing
 * its pid file leaves a temporary file, or a pid file naming itself. */
static void restore_runtime_files(struct hub *h, pid_t child)
{
	const char *path = h->base.config.pid_file_path;
	char tmp[PIDFILE_TMP_MAX];
	struct bt_err err;
	pid_t named;

	if (pidfile_tmp_path(path, child, tmp, sizeof tmp, NULL) == 0 && unlink(tmp) == 0)
		hub_log(h, "removed %s left by the failed new master", tmp);
	if (pidfile_read(path, &named, NULL) == 0 && named == getpid())
		return;
	if (pidfile_write(path, getpid(), NULL, &err))
		hub_log_err(h, "cannot restore the pid file", &err);
	else
		hub_log(h, "restored the pid file %s", path);
}

static void fail_answer(struct hub *h, uint32_t client, const struct bt_err *e,
			const char *child)
{
	const char *name = err_errno_name(e->errnum);
	char status[sizeof "READY=1\nSTATUS=upgrade failed at : " + sizeof e->step +
		    sizeof e->msg];

	hub_log(h, "upgrade failed at %s: %s (errno %s); child %s; still serving",
		e->step, e->msg, name ? name : "0", child);
	hub_answer(h, client,
		   json_pack("{s:b, s:s, s:i, s:s, s:s, s:s}", "ok", 0, "step", e->step,
			     "errno", e->errnum, "errno_name", name ? name : "",
			     "error", e->msg, "child", child));
	snprintf(status, sizeof status, "READY=1\nSTATUS=upgrade failed at %s: %s",
		 e->step, e->msg);
	hub_notify(h, status);
}

void hub_mup_abort(struct hub *h, const struct bt_err *why)
{
	char how[96];
	pid_t child = h->mup.f.child;

	mup_release(h);
	upgrade_old_abort(&h->mup.f, how, sizeof how);
	restore_runtime_files(h, child);
	fail_answer(h, h->mup.client, why, how);
}

void hub_mup_start(struct hub *h, uint32_t client, const char *binary)
{
	struct upgrade_old_opts o = {0};
	struct state live;
	struct bt_err err = {0};
	int rc;

	if (h->mup.active || h->wup.phase != WUP_IDLE) {
		err_set(&err, "upgrade-main", EBUSY,
			"an upgrade is already in flight; one at a time");
		hub_answer_error(h, client, &err);
		return;
	}
	if (!binary || binary[0] != '/') {
		err_set(&err, "upgrade-main", EINVAL,
			"binary \"%s\": expected an absolute path", binary ? binary : "");
		hub_answer_error(h, client, &err);
		return;
	}
	if (notify_reloading(h->notify_socket, &err))
		hub_log_err(h, "sd_notify", &err);
	hub_log(h, "upgrade to %s: starting", binary);
	if (hub_snapshot(h, &live, &err)) {
		fail_answer(h, client, &err, "no child was started");
		return;
	}
	o.binary = binary;
	o.runtime_dir = h->runtime_dir;
	o.envp = environ;
	o.child_mask = h->child_mask;
	o.state_copy = getenv("BATON_STATE_COPY");
	rc = upgrade_old_start(&live, &o, &h->mup.f, &err);
	state_free(&live);
	if (rc) {
		fail_answer(h, client, &err, "no child was started");
		return;
	}
	h->mup.active = true;
	h->mup.client = client;
	if (hub_watch(h, h->mup.f.confirm.fd, EPOLLIN, EV_CONFIRM, 0) ||
	    hub_watch(h, h->mup.f.timer_fd, EPOLLIN, EV_UPGRADE_TIMER, 0)) {
		err_set(&err, "old/confirm-wait", errno, "epoll_ctl failed");
		hub_mup_abort(h, &err);
		return;
	}
	hub_log(h, "upgrade to %s: new master is pid %d, waiting for it",
		binary, (int)h->mup.f.child);
}

/* The old master's last answers get this long to leave, in polls of at
 * most FLUSH_POLL_MS, before it exits. */
#define FLUSH_MS 500
#define FLUSH_POLL_MS 50

/* Give every client's queued answer a bounded chance to leave. */
static void flush_clients(struct hub *h, int timeout_ms)
{
	int64_t deadline = channel_now_ms() + timeout_ms;

	for (size_t i = 0; i < h->n_clients; i++) {
		struct hub_client *c = h->clients[i];
		struct bt_err err;

		while (channel_now_ms() < deadline && channel_flush(&c->ch, &err) == 0) {
			struct pollfd p = {.fd = c->ch.fd, .events = POLLOUT};

			poll(&p, 1, FLUSH_POLL_MS);
		}
	}
}

static void mup_succeeded(struct hub *h, pid_t new_pid)
{
	char msg[64];
	uint64_t gen = h->mup.f.generation;
	int64_t ms = channel_now_ms() - h->mup.f.started_ms;

	mup_release(h);
	upgrade_old_finish(&h->mup.f);
	/* stop serving at once; the socket file stays, it is the new master's */
	hub_unwatch(h, h->base.command_socket_fd);
	h->serving = false;
	/* one datagram: sent while we are still the unit's main pid */
	snprintf(msg, sizeof msg, "MAINPID=%d\nREADY=1", (int)new_pid);
	hub_notify(h, msg);
	hub_answer(h, h->mup.client,
		   json_pack("{s:b, s:i, s:I, s:I}", "ok", 1, "new_pid", (int)new_pid,
			     "boot_generation", (json_int_t)gen, "elapsed_ms",
			     (json_int_t)ms));
	flush_clients(h, FLUSH_MS);
	hub_log(h, "upgrade done in %lld ms: pid %d is the master now; exiting",
		(long long)ms, (int)new_pid);
	h->handed_over = true;
	h->exit_status = 0;
}

void hub_mup_on_confirm(struct hub *h)
{
	struct bt_err err = {0};
	pid_t new_pid = -1;
	int rc;

	rc = upgrade_old_on_confirm(&h->mup.f, &new_pid, &err);
	if (rc > 0)
		mup_succeeded(h, new_pid);
	else if (rc < 0)
		hub_mup_abort(h, &err);
}

void hub_mup_timeout(struct hub *h)
{
	struct bt_err err;

	err_set(&err, "old/confirm-wait", ETIMEDOUT,
		"the new master (pid %d) did not confirm within %llu ms",
		(int)h->mup.f.child,
		(unsigned long long)h->base.config.upgrade_timeout_ms);
	hub_mup_abort(h, &err);
}
