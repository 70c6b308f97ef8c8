/* hub: the loop, the command socket, clients and commands; see hub.h. */
#include "hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "failpoint.h"
#include "fdutil.h"
#include "hub_private.h"
#include "notify.h"
#include "pidfile.h"
#include "spawn.h"
#include "json_guard.h"
#include "state_json.h"

/* How long a stop may take before the master exits anyway; meanwhile the
 * loop wakes this often to check. */
#define STOP_SOFT_MS 10000
#define STOP_HARD_MS 2000
#define STOP_POLL_MS 100
/* Workers get this long to exit once told to, before batond exits; it
 * looks every REAP_POLL_MS. */
#define REAP_ALL_MS 3000
#define REAP_POLL_MS 10
/* A worker started with its master says ready within this. */
#define WORKER_READY_MS 10000

void hub_log(const struct hub *h, const char *fmt, ...)
{
	char line[ERR_LOG_LINE_MAX];
	va_list ap;
	int n = snprintf(line, sizeof line, "batond[%d] master gen %llu: ",
			 (int)getpid(), (unsigned long long)h->base.boot_generation);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

void hub_log_err(const struct hub *h, const char *context, const struct bt_err *err)
{
	char buf[ERR_TEXT_MAX];

	hub_log(h, "%s: %s", context, err_format(err, buf, sizeof buf));
}

void hub_notify(const struct hub *h, const char *message)
{
	struct bt_err err;

	if (notify_send(h->notify_socket, message, &err))
		hub_log_err(h, "sd_notify", &err);
}

int hub_watch(struct hub *h, int fd, uint32_t events, enum hub_ev kind,
	      uint32_t id)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = ((uint64_t)kind << 32) | id};

	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	if (errno == EEXIST)
		return epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev);
	return -1;
}

void hub_unwatch(struct hub *h, int fd)
{
	if (fd >= 0)
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* --- clients --- */

struct hub_client *hub_client(struct hub *h, uint32_t id)
{
	for (size_t i = 0; i < h->n_clients; i++)
		if (h->clients[i]->id == id)
			return h->clients[i];
	return NULL;
}

static void client_close(struct hub *h, struct hub_client *c)
{
	for (size_t i = 0; i < h->n_clients; i++) {
		if (h->clients[i] == c) {
			h->clients[i] = h->clients[--h->n_clients];
			break;
		}
	}
	hub_unwatch(h, c->ch.fd);
	channel_close(&c->ch);
	free(c);
}

static void client_flush(struct hub *h, struct hub_client *c)
{
	struct bt_err err;
	int rc = channel_flush(&c->ch, &err);

	if (rc < 0) {
		client_close(h, c);
		return;
	}
	/* ask for EPOLLOUT only while something waits to be written */
	if ((rc == 0) != c->out_armed) {
		c->out_armed = rc == 0;
		hub_watch(h, c->ch.fd, EPOLLIN | (c->out_armed ? EPOLLOUT : 0),
			  EV_CLIENT, c->id);
	}
}

void hub_answer(struct hub *h, uint32_t client, json_t *answer)
{
	struct hub_client *c = hub_client(h, client);
	struct bt_err err = {0};
	char *text, who[48];

	if (!c || !answer) {
		json_decref(answer);
		return;
	}
	text = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	if (!text || channel_queue(&c->ch, text, strlen(text), &err)) {
		if (!text)
			err_set(&err, "answer", ENOMEM, "cannot encode the answer");
		snprintf(who, sizeof who, "client %u: answer not queued, closed", client);
		hub_log_err(h, who, &err);
		free(text);
		client_close(h, c);
		return;
	}
	free(text);
	client_flush(h, c);
}

void hub_answer_error(struct hub *h, uint32_t client, const struct bt_err *e)
{
	const char *name = err_errno_name(e->errnum);

	hub_answer(h, client,
		   json_pack("{s:b, s:s, s:i, s:s, s:s}", "ok", 0, "step", e->step,
			     "errno", e->errnum, "errno_name", name ? name : "",
			     "error", e->msg));
}

static void on_accept(struct hub *h)
{
	for (int k = 0; k < 16; k++) {
		int fd = accept4(h->base.command_socket_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hub_client *c;
		struct bt_err err;

		if (fd < 0)
			return;
		c = h->n_clients < HUB_MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->id = (uint32_t)++h->base.next_client_id;
		if (channel_init(&c->ch, fd, h->base.config.command_buffer_size,
				 h->base.config.max_command_buffer_size, &err) ||
		    hub_watch(h, fd, EPOLLIN, EV_CLIENT, c->id)) {
			channel_close(&c->ch);
			free(c);
			continue;
		}
		h->clients[h->n_clients++] = c;
	}
}

/* --- status --- */

int hub_snapshot(const struct hub *h, struct state *out, struct bt_err *err)
{
	if (state_copy(out, &h->base, err))
		return -1;
	for (size_t i = 0; i < h->n_workers; i++) {
		const struct hub_worker *w = h->workers[i];
		struct state_worker sw = {w->id, w->pid, w->run, w->ch.fd, w->scm_fd};

		if (state_add_worker(out, &sw)) {
			state_free(out);
			return err_set(err, "status", ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int inv(json_t *arr, int fd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int inv(json_t *arr, int fd, const char *fmt, ...)
{
	char role[64];
	va_list ap;

	if (fd < 0)
		return 0;
	va_start(ap, fmt);
	vsnprintf(role, sizeof role, fmt, ap);
	va_end(ap);
	return json_array_append_new(arr, json_pack("{s:i, s:s}", "fd", fd,
						    "role", role));
}

/* Which fd plays which role: the contract checker compares this with
 * /proc/PID/fd, so every fd the master holds must be here. */
static json_t *inventory(const struct hub *h)
{
	static const char *const stdio[] = {"stdin", "stdout", "stderr"};
	json_t *a = json_array();

	for (int fd = 0; fd < 3; fd++)
		if (fdutil_is_open(fd))
			inv(a, fd, "%s", stdio[fd]);
	inv(a, h->epfd, "epoll");
	inv(a, h->sigfd, "signalfd");
	if (h->serving)
		inv(a, h->base.command_socket_fd, "command-socket");
	for (size_t i = 0; i < h->n_clients; i++)
		inv(a, h->clients[i]->ch.fd, "client %u", h->clients[i]->id);
	for (size_t i = 0; i < h->n_workers; i++) {
		inv(a, h->workers[i]->ch.fd, "worker %u channel", h->workers[i]->id);
		inv(a, h->workers[i]->scm_fd, "worker %u scm", h->workers[i]->id);
	}
	if (h->mup.active) {
		inv(a, h->mup.f.confirm.fd, "upgrade confirmation");
		inv(a, h->mup.f.timer_fd, "upgrade deadline");
	}
	if (h->wup.phase != WUP_IDLE) {
		inv(a, h->wup.timer_fd, "worker-upgrade deadline");
		for (size_t i = 0; i < h->wup.n_fds; i++)
			inv(a, h->wup.fds[i], "worker-upgrade listener %zu", i);
	}
	return a;
}

static void cmd_status(struct hub *h, uint32_t client)
{
	struct rlimit rl;
	struct state snap;
	struct bt_err err;
	char *text = NULL;
	size_t len;
	json_t *st;
	bool oom;

	if (hub_snapshot(h, &snap, &err) ||
	    state_json_serialize(&snap, &text, &len, &err)) {
		state_free(&snap);
		hub_answer_error(h, client, &err);
		return;
	}
	state_free(&snap);
	st = json_guard_load(text, len, 0, NULL, &oom);
	free(text);
	/* fd_limit: the RLIMIT_NOFILE this process sees; an fd at or above it
	 * cannot be the master's (valgrind keeps its own fds up there) */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 0;
	hub_answer(h, client,
		   json_pack("{s:b, s:i, s:s, s:o, s:o, s:I, s:b, s:b, s:I, s:s}", "ok", 1,
			     "pid", (int)getpid(), "role", "master", "state",
			     st ? st : json_null(), "fds", inventory(h), "fd_limit",
			     (json_int_t)rl.rlim_cur, "upgrade_in_flight", h->mup.active,
			     "worker_upgrade_in_flight", h->wup.phase != WUP_IDLE,
			     "uptime_ms", (json_int_t)(channel_now_ms() - h->started_ms),
			     "binary", h->self_path));
}

/* --- commands --- */

static void begin_stop(struct hub *h, bool hard, const char *why);

static void cmd_stop(struct hub *h, uint32_t client, json_t *req)
{
	const char *mode = json_string_value(json_object_get(req, "mode"));
	struct bt_err err;

	if (mode && strcmp(mode, "soft") != 0 && strcmp(mode, "hard") != 0) {
		err_set(&err, "stop", EINVAL, "mode \"%.20s\": expected soft or hard", mode);
		hub_answer_error(h, client, &err);
		return;
	}
	if (h->mup.active) {
		err_set(&err, "stop", EBUSY, "a master upgrade is in flight; "
			"stop again once it is decided");
		hub_answer_error(h, client, &err);
		return;
	}
	hub_answer(h, client, json_pack("{s:b, s:s}", "ok", 1, "stopping",
					mode ? mode : "soft"));
	begin_stop(h, mode && strcmp(mode, "hard") == 0, "asked by a client");
}

static void dispatch(struct hub *h, uint32_t client, const char *payload)
{
	json_error_t jerr;
	bool oom;
	json_t *req = json_guard_load(payload, strlen(payload), JSON_REJECT_DUPLICATES,
				       &jerr, &oom);
	const char *cmd = json_string_value(json_object_get(req, "command"));
	struct bt_err err;

	if (!req)
		err_set(&err, "command", EINVAL, "not JSON: %s (at byte %d)",
			jerr.text, jerr.position);
	else if (!cmd)
		err_set(&err, "command", EINVAL,
			"expected {\"command\": \"status\" | \"upgrade-main\" | "
			"\"upgrade-worker\" | \"stop\"}");
	else if (h->stopping)
		err_set(&err, cmd, ESHUTDOWN, "the master is stopping");
	if (!req || !cmd || h->stopping) {
		hub_answer_error(h, client, &err);
	} else if (strcmp(cmd, "status") == 0) {
		cmd_status(h, client);
	} else if (strcmp(cmd, "upgrade-main") == 0) {
		json_t *b = json_object_get(req, "binary");

		if (b && !json_is_string(b)) {
			err_set(&err, "upgrade-main", EINVAL, "binary: expected a string");
			hub_answer_error(h, client, &err);
		} else {
			hub_mup_start(h, client, b ? json_string_value(b) : h->self_path);
		}
	} else if (strcmp(cmd, "upgrade-worker") == 0) {
		json_t *id = json_object_get(req, "id");

		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) > UINT32_MAX) {
			err_set(&err, "upgrade-worker", EINVAL,
				"id: expected a worker id (an integer)");
			hub_answer_error(h, client, &err);
		} else {
			hub_wup_start(h, client, (uint32_t)json_integer_value(id));
		}
	} else if (strcmp(cmd, "stop") == 0) {
		cmd_stop(h, client, req);
	} else {
		err_set(&err, "command", EINVAL, "unknown command \"%.40s\"", cmd);
		hub_answer_error(h, client, &err);
	}
	json_decref(req);
}

static void on_client(struct hub *h, uint32_t id, uint32_t events)
{
	struct hub_client *c = hub_client(h, id);
	struct bt_err err;
	ssize_t n;

	if (!c)
		return;
	if (events & EPOLLOUT) {
		client_flush(h, c);
		if (!(c = hub_client(h, id)))
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	do {
		char *payload;
		size_t len;
		int rc;

		n = channel_fill(&c->ch, 0, &err);
		while ((rc = channel_next(&c->ch, &payload, &len, &err)) > 0) {
			dispatch(h, id, payload);
			free(payload);
			if (!(c = hub_client(h, id)))
				return;
		}
		if (rc < 0) {
			hub_answer_error(h, id, &err);
			n = 0;	/* an oversized frame ends the conversation */
		}
	} while (n > 0);
	if ((c = hub_client(h, id)) && (n == 0 || errno != EAGAIN))
		client_close(h, c);
}

/* --- signals and stop --- */

static void begin_stop(struct hub *h, bool hard, const char *why)
{
	if (h->stopping && !(hard && !h->stop_hard))
		return;
	hub_log(h, "stopping (%s): %s", hard ? "hard" : "soft", why);
	h->stopping = true;
	h->stop_hard = hard;
	h->stop_deadline = channel_now_ms() + (hard ? STOP_HARD_MS : STOP_SOFT_MS);
	if (h->wup.phase != WUP_IDLE) {
		struct bt_err e;

		err_set(&e, "upgrade-worker", ESHUTDOWN, "the master is stopping");
		hub_wup_abort(h, &e);
	}
	hub_stop_workers(h, hard);
}

static void on_signal(struct hub *h)
{
	struct signalfd_siginfo si;

	while (read(h->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			hub_reap(h);
		} else if (h->mup.active) {
			struct bt_err e;

			err_set(&e, "upgrade-main", EINTR, "interrupted by signal %u",
				si.ssi_signo);
			hub_mup_abort(h, &e);
			begin_stop(h, false, "signal");
		} else {
			begin_stop(h, false, si.ssi_signo == SIGTERM ? "SIGTERM" : "signal");
		}
	}
}

static void dispatch_event(struct hub *h, const struct epoll_event *ev)
{
	uint32_t id = (uint32_t)ev->data.u64;

	switch ((enum hub_ev)(ev->data.u64 >> 32)) {
	case EV_COMMAND:
		on_accept(h);
		break;
	case EV_CLIENT:
		on_client(h, id, ev->events);
		break;
	case EV_WORKER:
		hub_on_worker(h, id);
		break;
	case EV_WORKER_SCM:
		hub_on_worker_scm(h, id);
		break;
	case EV_SIGNAL:
		on_signal(h);
		break;
	case EV_CONFIRM:
		if (h->mup.active)
			hub_mup_on_confirm(h);
		break;
	case EV_UPGRADE_TIMER:
		if (h->mup.active)
			hub_mup_timeout(h);
		break;
	case EV_WUP_TIMER:
		if (h->wup.phase != WUP_IDLE)
			hub_wup_timeout(h);
		break;
	}
}

static bool stop_done(struct hub *h)
{
	if (h->handed_over)
		return true;
	if (!h->stopping)
		return false;
	return h->n_workers == 0 || channel_now_ms() >= h->stop_deadline;
}

static void run_loop(struct hub *h)
{
	while (!stop_done(h)) {
		struct epoll_event evs[64];
		int n = epoll_wait(h->epfd, evs, 64, h->stopping ? STOP_POLL_MS : -1);

		for (int i = 0; i < n && !h->handed_over; i++)
			dispatch_event(h, &evs[i]);
	}
}

/* --- setup and teardown --- */

static int init_common(struct hub *h, const char *self_path, struct bt_err *err)
{
	sigset_t block;

	h->epfd = h->sigfd = -1;
	h->wup.timer_fd = -1;
	h->mup.f.timer_fd = -1;
	h->mup.f.confirm.fd = -1;
	h->started_ms = channel_now_ms();
	h->notify_socket = getenv("NOTIFY_SOCKET");
	snprintf(h->self_path, sizeof h->self_path, "%s", self_path);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &h->child_mask) != 0)
		return err_set(err, "setup", errno, "sigprocmask failed");
	h->sigfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->sigfd < 0 || h->epfd < 0)
		return err_set(err, "setup", errno, "signalfd/epoll_create1 failed");
	if (hub_watch(h, h->sigfd, EPOLLIN, EV_SIGNAL, 0))
		return err_set(err, "setup", errno, "epoll_ctl failed");
	return 0;
}

static int serve_commands(struct hub *h, struct bt_err *err)
{
	int fd = h->base.command_socket_fd, fl = fcntl(fd, F_GETFL);

	/* an adopted listener may come blocking: accept must never block
	 * the loop */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return err_set(err, "setup", errno,
			       "cannot make the command socket (fd %d) non-blocking", fd);
	if (hub_watch(h, fd, EPOLLIN, EV_COMMAND, 0))
		return err_set(err, "setup", errno, "epoll_ctl on the command socket failed");
	h->serving = true;
	return 0;
}

static void runtime_dir_of(struct hub *h)
{
	char *slash;

	snprintf(h->runtime_dir, sizeof h->runtime_dir, "%s",
		 h->base.config.command_socket);
	slash = strrchr(h->runtime_dir, '/');
	if (slash && slash != h->runtime_dir)
		*slash = 0;
	else
		snprintf(h->runtime_dir, sizeof h->runtime_dir, ".");
}

static void teardown(struct hub *h)
{
	while (h->n_clients)
		client_close(h, h->clients[0]);
	for (size_t i = 0; i < h->n_workers; i++) {
		channel_close(&h->workers[i]->ch);
		if (h->workers[i]->scm_fd >= 0)
			close(h->workers[i]->scm_fd);
		free(h->workers[i]);
	}
	free(h->workers);
	h->workers = NULL;
	h->n_workers = 0;
	free(h->children);
	h->children = NULL;
	h->n_children = 0;
	if (h->base.command_socket_fd >= 0)
		close(h->base.command_socket_fd);
	if (h->sigfd >= 0)
		close(h->sigfd);
	if (h->epfd >= 0)
		close(h->epfd);
	state_free(&h->base);
}

/* A master that stops for good (not handing over) removes what it owns
 * from the runtime directory and tells systemd. */
static void reap_all(struct hub *h, int timeout_ms)
{
	int64_t deadline = channel_now_ms() + timeout_ms;
	struct timespec ts = {0, REAP_POLL_MS * 1000000};

	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		char how[96];

		if (pid > 0) {
			spawn_describe(status, how, sizeof how);
			hub_log(h, "reaped pid %d: %s", (int)pid, how);
			continue;
		}
		if (pid < 0 || channel_now_ms() >= deadline)
			return;
		nanosleep(&ts, NULL);
	}
}

static void final_cleanup(struct hub *h)
{
	pid_t pid;

	if (h->handed_over)
		return;
	hub_stop_workers(h, true);
	reap_all(h, REAP_ALL_MS);
	if (pidfile_read(h->base.config.pid_file_path, &pid, NULL) == 0 &&
	    pid == getpid())
		unlink(h->base.config.pid_file_path);
	unlink(h->base.config.command_socket);
	hub_notify(h, "STOPPING=1");
	hub_log(h, "stopped");
}

/* --- batond start --- */

/* A start that failed: nothing was served yet and a worker that never
 * said ready may never read a stop frame, so each is killed; none was
 * reaped before (no loop ran), so each pid is still ours to kill.  Every
 * child is reaped before batond exits. */
static void abandon_workers(struct hub *h)
{
	for (size_t i = 0; i < h->n_workers; i++)
		if (h->workers[i]->our_child)
			kill(h->workers[i]->pid, SIGKILL);
	reap_all(h, REAP_ALL_MS);
}

static int make_runtime_dir(const char *dir, struct bt_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return err_set(err, "runtime-dir", errno, "cannot create %s", dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return err_set(err, "runtime-dir", ENOTDIR, "%s is not a directory", dir);
	if (chmod(dir, 0700) != 0)
		return err_set(err, "runtime-dir", errno, "cannot chmod 0700 %s", dir);
	return 0;
}

static int bind_command_socket(const char *path, struct bt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(err, "command-socket", ENAMETOOLONG,
			       "%s does not fit a unix socket address", path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, "command-socket", errno, "socket failed");
	/* a live master answers a connect; a stale socket file does not */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		close(fd);
		return err_set(err, "command-socket", EADDRINUSE,
			       "another master is serving %s", path);
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, 128) != 0) {
		int e = errno;

		close(fd);
		return err_set(err, "command-socket", e, "cannot serve %s", path);
	}
	return fd;
}

/* "127.0.0.1:8080" or "[::1]:8080"; port 0 asks the kernel for one, and
 * the address is rewritten with the port it gave. */
static int bind_listener(struct state_listener *l, struct bt_err *err)
{
	char host[64], out[96];
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	const char *colon = strrchr(l->address, ':');
	int fd, one = 1, port;
	size_t hl;

	if (!colon || colon == l->address || !colon[1])
		return err_set(err, "listen", EINVAL, "\"%s\": expected HOST:PORT", l->address);
	hl = (size_t)(colon - l->address);
	if (l->address[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)hl - 2, l->address + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)hl, l->address);
	port = atoi(colon + 1);
	if (port < 0 || port > 65535 || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return err_set(err, "listen", EINVAL, "\"%s\": bad port", l->address);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return err_set(err, "listen", EINVAL, "\"%s\": not an IP address", l->address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(err, "listen", errno, "socket for %s failed", l->address);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
		int e = errno;

		close(fd);
		return err_set(err, "listen", e, "cannot listen on %s", l->address);
	}
	if (port == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						     : ((struct sockaddr_in6 *)&ss)->sin6_port);
		snprintf(out, sizeof out, ss.ss_family == AF_INET ? "%s:%d" : "[%s]:%d",
			 host, port);
		state_set_string(&l->address, out);
	}
	return fd;
}

static int start_workers(struct hub *h, struct bt_err *err)
{
	struct state_config *c = &h->base.config;
	int *lfds = calloc(c->n_listeners + 1, sizeof *lfds);
	char **names = calloc(c->n_listeners + 1, sizeof *names);
	size_t n = 0;
	int rc = 0;

	if (!lfds || !names) {
		rc = err_set(err, "start", ENOMEM, "out of memory");
		goto out;
	}
	for (; n < c->n_listeners; n++) {
		lfds[n] = bind_listener(&c->listeners[n], err);
		if (lfds[n] < 0) {
			rc = -1;
			goto out;
		}
		names[n] = c->listeners[n].address;
	}
	for (uint32_t i = 0; i < c->worker_count && rc == 0; i++) {
		struct hub_worker *w;

		rc = hub_spawn_worker(h, lfds, names, n, &w, err);
		if (rc == 0)
			rc = hub_await_ready(w, WORKER_READY_MS, err);
	}
out:
	/* the workers hold the listeners now; the master keeps none */
	for (size_t i = 0; i < n; i++)
		close(lfds[i]);
	free(lfds);
	free(names);
	return rc;
}

static int finish(struct hub *h)
{
	run_loop(h);
	final_cleanup(h);
	teardown(h);
	return h->exit_status;
}

int hub_main_start(const struct state_config *cfg, const char *self_path)
{
	struct hub h = {0};
	struct bt_err err = {0};
	char buf[ERR_TEXT_MAX];
	int fd;

	state_init(&h.base);
	if (init_common(&h, self_path, &err))
		goto fail;
	h.base.config = *cfg;
	h.base.config.command_socket = NULL;
	h.base.config.pid_file_path = NULL;
	h.base.config.listeners = NULL;
	h.base.config.n_listeners = 0;
	if (state_set_string(&h.base.config.command_socket, cfg->command_socket) ||
	    state_set_string(&h.base.config.pid_file_path, cfg->pid_file_path))
		goto oom;
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (state_add_listener(&h.base, cfg->listeners[i].address,
				       cfg->listeners[i].protocol))
			goto oom;
	runtime_dir_of(&h);
	if (make_runtime_dir(h.runtime_dir, &err))
		goto fail;
	fd = bind_command_socket(cfg->command_socket, &err);
	if (fd < 0)
		goto fail;
	h.base.command_socket_fd = fd;
	if (start_workers(&h, &err) || serve_commands(&h, &err) ||
	    pidfile_write(cfg->pid_file_path, getpid(), NULL, &err))
		goto fail;
	hub_notify(&h, "READY=1");
	hub_log(&h, "serving %s with %zu workers", cfg->command_socket, h.n_workers);
	return finish(&h);
oom:
	err_set(&err, "start", ENOMEM, "out of memory");
fail:
	fprintf(stderr, "batond start: %s\n", err_format(&err, buf, sizeof buf));
	h.exit_status = 1;
	abandon_workers(&h);
	if (h.base.command_socket_fd >= 0)
		unlink(cfg->command_socket);
	teardown(&h);
	return 1;
}

/* --- batond main --- */

int hub_main_adopted(struct state *adopted, struct channel *confirm,
		     const char *self_path)
{
	struct hub h = {0};
	struct bt_err err = {0};
	char buf[ERR_TEXT_MAX];

	state_init(&h.base);
	if (init_common(&h, self_path, &err))
		goto fail;
	/* the workers move into runtime records; base keeps the rest */
	for (size_t i = 0; i < adopted->n_workers; i++)
		if (hub_adopt_worker(&h, &adopted->workers[i], &err))
			goto fail;
	free(adopted->workers);
	adopted->workers = NULL;
	adopted->n_workers = 0;
	h.base = *adopted;
	state_init(adopted);
	runtime_dir_of(&h);
	if (upgrade_new_finish(confirm, &h.base, &err))
		goto fail_confirmed;
	fp_disarm();
	if (serve_commands(&h, &err))
		goto fail_confirmed;
	hub_log(&h, "took over %s with %zu workers", h.base.config.command_socket,
		h.n_workers);
	return finish(&h);
fail:
	upgrade_new_fail(confirm, &err);
fail_confirmed:
	fprintf(stderr, "batond main: %s\n", err_format(&err, buf, sizeof buf));
	state_free(adopted);	/* ours, as hub.h says; empty once moved */
	/* the old master still owns the workers and the socket: touch nothing */
	h.handed_over = true;
	teardown(&h);
	return 1;
}
