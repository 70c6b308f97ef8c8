/* hub: worker lifecycle and the worker upgrade; see hub.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failpoint.h"
#include "fdutil.h"
#include "hub_private.h"
#include "scm.h"
#include "spawn.h"
#include "upgrade_frame.h"
#include "worker_msg.h"

static void remember_child(struct hub *h, pid_t pid);

/* A message to a worker gets this long to leave (the worker reads at
 * once; past it the worker is stuck); a stop to every worker, when the
 * master itself stops, a shorter one. */
#define WORKER_SEND_MS 1000
#define WORKER_STOP_SEND_MS 500
/* The old worker's listeners arrive within this once it started sending. */
#define LISTENERS_RECV_MS 2000

struct hub_worker *hub_worker(struct hub *h, uint32_t id)
{
	for (size_t i = 0; i < h->n_workers; i++)
		if (h->workers[i]->id == id)
			return h->workers[i];
	return NULL;
}

static int add_worker(struct hub *h, struct hub_worker *w, struct bt_err *err)
{
	struct hub_worker **p = realloc(h->workers, (h->n_workers + 1) * sizeof *p);

	if (!p)
		return err_set(err, "worker", ENOMEM, "out of memory");
	h->workers = p;
	h->workers[h->n_workers++] = w;
	if (hub_watch(h, w->ch.fd, EPOLLIN, EV_WORKER, w->id))
		return err_set(err, "worker", errno, "epoll_ctl on worker %u failed",
			       w->id);
	return 0;
}

/* Forget a worker: close both fds; reaping is SIGCHLD's business. */
void hub_drop_worker(struct hub *h, struct hub_worker *w)
{
	for (size_t i = 0; i < h->n_workers; i++) {
		if (h->workers[i] == w) {
			h->workers[i] = h->workers[--h->n_workers];
			break;
		}
	}
	hub_unwatch(h, w->ch.fd);
	hub_unwatch(h, w->scm_fd);
	channel_close(&w->ch);
	if (w->scm_fd >= 0)
		close(w->scm_fd);
	free(w);
}

int hub_adopt_worker(struct hub *h, const struct state_worker *sw,
		     struct bt_err *err)
{
	struct hub_worker *w = calloc(1, sizeof *w);

	if (!w)
		return err_set(err, "new/adopt", ENOMEM, "out of memory");
	w->id = sw->id;
	w->pid = sw->pid;
	w->run = sw->run_state;
	w->scm_fd = sw->scm_fd;
	w->ready = true;
	if (channel_init(&w->ch, sw->channel_fd, WORKER_CHANNEL_BUF,
			 WORKER_CHANNEL_MAX, err)) {
		channel_close(&w->ch);
		free(w);
		return err_step(err, "new/adopt");
	}
	fcntl(w->scm_fd, F_SETFL, fcntl(w->scm_fd, F_GETFL) | O_NONBLOCK);
	if (add_worker(h, w, err)) {
		hub_drop_worker(h, w);
		return err_step(err, "new/adopt");
	}
	return 0;
}

/* --- spawning --- */

struct worker_argv {
	char id[16], gen[24], ch[16], scm[16];
	char *argv[12];
};

static void build_worker_argv(struct worker_argv *a, const char *self,
			      uint32_t id, uint64_t gen, int ch, int scm,
			      bool handoff)
{
	snprintf(a->id, sizeof a->id, "%u", id);
	snprintf(a->gen, sizeof a->gen, "%llu", (unsigned long long)gen);
	snprintf(a->ch, sizeof a->ch, "%d", ch);
	snprintf(a->scm, sizeof a->scm, "%d", scm);
	a->argv[0] = (char *)self;
	a->argv[1] = "worker";
	a->argv[2] = "--id";
	a->argv[3] = a->id;
	a->argv[4] = "--generation";
	a->argv[5] = a->gen;
	a->argv[6] = "--channel";
	a->argv[7] = a->ch;
	a->argv[8] = "--scm";
	a->argv[9] = a->scm;
	a->argv[10] = handoff ? "--handoff" : NULL;
	a->argv[11] = NULL;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

/* If the worker's channel holds the error frame of a failed exec, make it
 * the error.  The child has exited: everything it wrote is there. */
static void exec_failure(struct hub_worker *w, struct bt_err *err)
{
	char *payload = NULL;
	struct upgrade_frame fr;
	size_t len;

	if (channel_fill(&w->ch, 0, NULL) > 0 &&
	    channel_next(&w->ch, &payload, &len, NULL) > 0 &&
	    upgrade_frame_parse(payload, len, &fr) == 0 && !fr.ok && fr.step[0] &&
	    fr.has_errno)
		err_set(err, fr.step, fr.errnum, "worker %u could not start the new binary",
			w->id);
	free(payload);
}

/* Fork+exec `batond worker`, then hand it the listeners.  On error the
 * child (if any) is killed and reaped, and no fd is left. */
int hub_spawn_worker(struct hub *h, const int *lfds, char *const *names,
		     size_t n, struct hub_worker **out, struct bt_err *err)
{
	int chp[2] = {-1, -1}, scp[2] = {-1, -1};
	struct worker_argv a;
	struct spawn sp = {0};
	struct hub_worker *w;
	uint32_t id = h->base.next_worker_id;
	extern char **environ;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chp) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, scp)) {
		close_pair(chp);
		return err_set(err, "worker/spawn", errno, "socketpair failed");
	}
	build_worker_argv(&a, h->self_path, id, h->base.boot_generation, chp[1],
			  scp[1], h->wup.phase != WUP_IDLE);
	sp.path = h->self_path;
	sp.argv = a.argv;
	sp.envp = environ;
	sp.child_mask = h->child_mask;
	sp.keep_fds[0] = chp[1];
	sp.keep_fds[1] = scp[1];
	sp.n_keep = 2;
	sp.report_fd = chp[1];
	sp.exec_step = "worker/exec";
	sp.hang_seconds = fp_hang_seconds();
	sp.exec_fault = FP_DECIDE("worker/exec");
	sp.exec_errno = errno;
	pid = spawn_run(&sp, FP_HIT("worker/spawn"), err);
	close(chp[1]);
	close(scp[1]);
	if (pid < 0) {
		close(chp[0]);
		close(scp[0]);
		return err_step(err, "worker/spawn");
	}
	h->base.next_worker_id++;
	remember_child(h, pid);
	w = calloc(1, sizeof *w);
	if (!w || channel_init(&w->ch, chp[0], WORKER_CHANNEL_BUF,
			       WORKER_CHANNEL_MAX, err)) {
		kill(pid, SIGKILL);
		spawn_wait(pid, NULL, 0);
		if (w)
			channel_close(&w->ch);
		else
			close(chp[0]);
		close(scp[0]);
		free(w);
		return err_set(err, "worker/spawn", ENOMEM, "cannot set up worker %u", id);
	}
	w->id = id;
	w->pid = pid;
	w->run = STATE_RUNNING;
	w->scm_fd = scp[0];
	w->generation = h->base.boot_generation;
	w->our_child = true;
	fcntl(w->scm_fd, F_SETFL, fcntl(w->scm_fd, F_GETFL) | O_NONBLOCK);
	if (add_worker(h, w, err))
		goto fail;
	if (FP_HIT("worker/listeners-give") == FP_ERROR) {
		err_set(err, "worker/listeners-give", errno,
			"cannot hand the listeners to worker %u (injected)", id);
		goto fail;
	}
	if (scm_send(w->scm_fd, lfds, (const char *const *)names, n,
		     (int)h->base.config.upgrade_timeout_ms, err)) {
		err_step(err, "worker/listeners-give");
		/* the child may have failed first (exec): its report is the
		 * cause, the broken pipe only the consequence (killing a
		 * child that already exited changes nothing) */
		kill(pid, SIGKILL);
		spawn_wait(pid, NULL, 0);
		exec_failure(w, err);
		goto reaped;
	}
	*out = w;
	return 0;
fail:
	kill(pid, SIGKILL);
	spawn_wait(pid, NULL, 0);
reaped:
	hub_drop_worker(h, w);
	return -1;
}

/* Startup only: wait for "ready" before the master says READY=1. */
int hub_await_ready(struct hub_worker *w, int timeout_ms, struct bt_err *err)
{
	char *payload = NULL;
	struct worker_msg m;
	size_t len;
	int rc = channel_recv(&w->ch, &payload, &len, timeout_ms, err);

	if (rc != 0) {
		if (rc > 0)
			return err_set(err, "worker/ready", ECONNRESET,
				       "worker %u (pid %d) exited before it was ready",
				       w->id, (int)w->pid);
		err_wrap(err, "worker %u (pid %d) did not say ready: ", w->id,
			 (int)w->pid);
		return err_step(err, "worker/ready");
	}
	if (worker_msg_decode(payload, len, &m) == 0 && m.type == WMSG_READY) {
		w->ready = true;
		rc = 0;
	} else {
		rc = err_set(err, m.step[0] ? m.step : "worker/ready", m.errnum,
			     "worker %u failed to start: %s", w->id,
			     m.error[0] ? m.error : payload);
	}
	free(payload);
	return rc;
}

/* One message to a worker, within TIMEOUT_MS. */
static int send_to_worker(struct hub_worker *w, const struct worker_msg *m,
			  int timeout_ms, struct bt_err *err)
{
	size_t len;
	char *text = worker_msg_encode(m, &len);
	int rc;

	if (!text)
		return err_set(err, "worker", ENOMEM, "cannot encode a message to worker %u",
			       w->id);
	rc = channel_send(&w->ch, text, len, timeout_ms, err);
	free(text);
	return rc;
}

/* --- the worker upgrade --- */

static void wup_release(struct hub *h)
{
	for (size_t i = 0; i < h->wup.n_fds; i++)
		close(h->wup.fds[i]);
	free(h->wup.fds);
	scm_free_names(h->wup.names, h->wup.n_fds);
	if (h->wup.timer_fd >= 0) {
		hub_unwatch(h, h->wup.timer_fd);
		close(h->wup.timer_fd);
	}
	memset(&h->wup, 0, sizeof h->wup);
	h->wup.timer_fd = -1;
}

void hub_wup_abort(struct hub *h, const struct bt_err *why)
{
	struct hub_worker *nw = h->wup.phase == WUP_STARTING ?
					hub_worker(h, h->wup.new_id) : NULL;
	struct hub_worker *old = hub_worker(h, h->wup.old_id);
	char how[96] = "not started";

	if (old)
		hub_unwatch(h, old->scm_fd);
	if (nw) {
		kill(nw->pid, SIGKILL);
		spawn_wait(nw->pid, how, sizeof how);
		hub_drop_worker(h, nw);
	}
	hub_log(h, "worker upgrade of %u failed at %s: %s (new worker: %s)",
		h->wup.old_id, why->step, why->msg, how);
	hub_answer_error(h, h->wup.client, why);
	wup_release(h);
}

void hub_wup_timeout(struct hub *h)
{
	struct bt_err e;

	err_set(&e, h->wup.phase == WUP_RETURNING ? "worker/listeners-recv"
						  : "worker/ready",
		ETIMEDOUT, "no progress within %llu ms",
		(unsigned long long)h->base.config.upgrade_timeout_ms);
	hub_wup_abort(h, &e);
}

static int wup_timer(struct hub *h, struct bt_err *err)
{
	h->wup.timer_fd = fdutil_timerfd(h->base.config.upgrade_timeout_ms);
	if (h->wup.timer_fd < 0 || hub_watch(h, h->wup.timer_fd, EPOLLIN, EV_WUP_TIMER, 0))
		return err_set(err, "upgrade-worker", errno, "cannot arm the deadline");
	return 0;
}

void hub_wup_start(struct hub *h, uint32_t client, uint32_t id)
{
	struct hub_worker *old = hub_worker(h, id);
	struct worker_msg ask = {.type = WMSG_RETURN_LISTENERS};
	struct bt_err err;

	if (h->mup.active || h->wup.phase != WUP_IDLE) {
		err_set(&err, "upgrade-worker", EBUSY, "an upgrade is already in flight");
		hub_answer_error(h, client, &err);
		return;
	}
	if (!old || old->run != STATE_RUNNING || !old->ready) {
		err_set(&err, "upgrade-worker", ENOENT,
			"no running worker with id %u", id);
		hub_answer_error(h, client, &err);
		return;
	}
	h->wup.phase = WUP_RETURNING;
	h->wup.client = client;
	h->wup.old_id = id;
	h->wup.started_ms = channel_now_ms();
	hub_log(h, "worker upgrade of %u: asking for its listeners", id);
	if (wup_timer(h, &err) ||
	    hub_watch(h, old->scm_fd, EPOLLIN, EV_WORKER_SCM, id) ||
	    send_to_worker(old, &ask, WORKER_SEND_MS, &err)) {
		err_step(&err, "upgrade-worker");
		hub_wup_abort(h, &err);
	}
}

/* The scm handoff's own code counts fault hits (failpoint.h). */
static void receive_and_spawn(struct hub *h, struct hub_worker *old);

void hub_on_worker_scm(struct hub *h, uint32_t id)
{
	struct hub_worker *old = hub_worker(h, id);

	if (!old)
		return;
	hub_unwatch(h, old->scm_fd);
	if (h->wup.phase != WUP_RETURNING || id != h->wup.old_id) {
		hub_log(h, "worker %u: unexpected data on its scm socket", id);
		return;
	}
	fp_arm();
	receive_and_spawn(h, old);
	fp_disarm();
}

/* The old worker is sending its listeners. */
static void receive_and_spawn(struct hub *h, struct hub_worker *old)
{
	struct scm_recv_opts opts = {.timeout_ms = LISTENERS_RECV_MS};
	uint32_t id = old->id;
	struct hub_worker *nw;
	struct bt_err err;

	if (FP_HIT("worker/listeners-recv") == FP_ERROR) {
		err_set(&err, "worker/listeners-recv", errno,
			"cannot receive the listeners of worker %u (injected)", id);
		hub_wup_abort(h, &err);
		return;
	}
	if (scm_recv(old->scm_fd, &opts, &h->wup.fds, &h->wup.names, &h->wup.n_fds,
		     &err)) {
		err_step(&err, "worker/listeners-recv");
		hub_wup_abort(h, &err);
		return;
	}
	if (hub_spawn_worker(h, h->wup.fds, h->wup.names, h->wup.n_fds, &nw, &err)) {
		hub_wup_abort(h, &err);
		return;
	}
	h->wup.new_id = nw->id;
	h->wup.phase = WUP_STARTING;
	hub_log(h, "worker upgrade of %u: worker %u (pid %d) has %zu listeners",
		id, nw->id, (int)nw->pid, h->wup.n_fds);
}

static void wup_done(struct hub *h, struct hub_worker *nw)
{
	struct hub_worker *old = hub_worker(h, h->wup.old_id);
	struct worker_msg stop = {.type = WMSG_STOP, .hard = false};
	struct bt_err err;
	char why[ERR_TEXT_MAX];

	nw->ready = true;
	/* the new worker accepts now: only then may the old one stop */
	if (old) {
		old->run = STATE_STOPPING;
		if (send_to_worker(old, &stop, WORKER_SEND_MS, &err))
			hub_log(h, "worker %u: cannot ask it to stop: %s", old->id,
				err_format(&err, why, sizeof why));
	}
	hub_log(h, "worker upgrade of %u done: worker %u serves (%lld ms)",
		h->wup.old_id, nw->id,
		(long long)(channel_now_ms() - h->wup.started_ms));
	hub_answer(h, h->wup.client,
		   json_pack("{s:b, s:I, s:I, s:i, s:I}", "ok", 1, "old_id",
			     (json_int_t)h->wup.old_id, "new_id", (json_int_t)nw->id,
			     "new_pid", (int)nw->pid, "listeners",
			     (json_int_t)h->wup.n_fds));
	wup_release(h);
}

/* A message from a worker's channel; only a worker upgrade waits for one. */
static void worker_message(struct hub *h, struct hub_worker *w, const char *payload,
			   size_t len)
{
	bool in_wup = h->wup.phase != WUP_IDLE;
	bool party = in_wup && (w->id == h->wup.old_id || w->id == h->wup.new_id);
	struct worker_msg m;
	struct bt_err err;

	if (worker_msg_decode(payload, len, &m) != 0)
		return;
	switch (m.type) {
	case WMSG_READY:
		if (h->wup.phase == WUP_STARTING && w->id == h->wup.new_id)
			wup_done(h, w);
		break;
	case WMSG_FAILED:
	case WMSG_LISTENERS_FAILED:
		if (!party)
			break;
		err_set(&err, m.step[0] ? m.step : "worker", m.errnum, "worker %u: %s",
			w->id, m.error[0] ? m.error : "exec failed");
		hub_wup_abort(h, &err);
		break;
	case WMSG_EXEC_FAILED:
		if (!in_wup)
			break;
		err_set(&err, m.step[0] ? m.step : "worker/exec", m.errnum,
			"worker %u could not start", w->id);
		hub_wup_abort(h, &err);
		break;
	default:
		break;
	}
}

static void worker_gone(struct hub *h, struct hub_worker *w)
{
	if (h->wup.phase != WUP_IDLE &&
	    (w->id == h->wup.old_id || w->id == h->wup.new_id)) {
		struct bt_err err;

		err_set(&err, w->id == h->wup.old_id ? "worker/listeners-send"
						     : "worker/ready",
			ECONNRESET, "worker %u (pid %d) closed its channel", w->id,
			(int)w->pid);
		hub_wup_abort(h, &err);
	}
}

void hub_on_worker(struct hub *h, uint32_t id)
{
	struct hub_worker *w = hub_worker(h, id);
	struct bt_err err;
	ssize_t n;

	if (!w)
		return;
	do {
		char *payload;
		size_t len;

		n = channel_fill(&w->ch, 0, &err);
		while (channel_next(&w->ch, &payload, &len, &err) > 0) {
			worker_message(h, w, payload, len);
			free(payload);
			if (!(w = hub_worker(h, id)))
				return;
		}
	} while (n > 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		hub_log(h, "worker %u (pid %d, %s) closed its channel", id, (int)w->pid,
			state_run_name(w->run));
		worker_gone(h, w);
		if ((w = hub_worker(h, id)))
			hub_drop_worker(h, w);
	}
}

static void remember_child(struct hub *h, pid_t pid)
{
	pid_t *p = realloc(h->children, (h->n_children + 1) * sizeof *p);

	if (!p) {
		hub_log(h, "out of memory: pid %d will be reaped at exit", (int)pid);
		return;
	}
	h->children = p;
	h->children[h->n_children++] = pid;
}

/* Reap the workers we spawned that have exited. */
void hub_reap(struct hub *h)
{
	for (size_t i = 0; i < h->n_children;) {
		int status;
		pid_t r = waitpid(h->children[i], &status, WNOHANG);
		char how[96];

		if (r == 0 || (r < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r > 0) {
			spawn_describe(status, how, sizeof how);
			hub_log(h, "reaped worker pid %d: %s", (int)r, how);
		}
		h->children[i] = h->children[--h->n_children];
	}
}

void hub_stop_workers(struct hub *h, bool hard)
{
	struct worker_msg stop = {.type = WMSG_STOP, .hard = hard};

	for (size_t i = 0; i < h->n_workers; i++) {
		struct hub_worker *w = h->workers[i];
		struct bt_err err;

		if (w->run != STATE_STOPPING || hard) {
			w->run = STATE_STOPPING;
			if (send_to_worker(w, &stop, WORKER_STOP_SEND_MS, &err) && hard)
				kill(w->pid, SIGKILL);
		}
	}
}
