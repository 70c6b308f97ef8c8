/* worker: see worker.h. */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "failpoint.h"
#include "fdutil.h"
#include "scm.h"
#include "worker_msg.h"

#define CONN_TIMEOUT_MS 5000
#define DRAIN_TIMEOUT_MS 5000
/* A message to the master, or the listeners sent back, get this long. */
#define MASTER_SEND_MS 5000
/* The master hands the listeners over right after the spawn. */
#define LISTENERS_TAKE_MS 10000
/* The loop wakes this often to expire connections. */
#define SWEEP_MS 250
#define REQUEST_MAX 2048

enum { TAG_CHANNEL = 1, TAG_LISTENER, TAG_CONN };

struct conn {
	int fd;
	size_t len;
	int64_t deadline;
	char buf[REQUEST_MAX];
};

struct wk {
	const struct worker_opts *o;
	int epfd;
	struct channel ch;
	int *lfds;
	char **lnames;
	size_t n_listeners;	/* still open */
	size_t n_names;
	bool accepting;
	struct conn **conns;	/* indexed by fd */
	size_t conns_cap, n_conns;
	bool stopping;
	int64_t stop_deadline;
	char answer[256];
	size_t answer_len;
};

static void wlog(const struct wk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wlog(const struct wk *w, const char *fmt, ...)
{
	char line[ERR_LOG_LINE_MAX];
	va_list ap;
	int n = snprintf(line, sizeof line, "batond[%d] worker %u: ", (int)getpid(),
			 w->o->id);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

static void wlog_err(const struct wk *w, const char *context, const struct bt_err *err)
{
	char buf[ERR_TEXT_MAX];

	wlog(w, "%s%s", context, err_format(err, buf, sizeof buf));
}

static uint64_t tag(int kind, uint32_t v)
{
	return ((uint64_t)kind << 32) | v;
}

static int parse_num(const char *opt, const char *v, uint64_t max,
		     uint64_t *out, struct bt_err *err)
{
	uint64_t x = 0;

	if (!v || !*v)
		return err_set(err, "worker/args", EINVAL, "%s needs a number", opt);
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || x > max / 10)
			return err_set(err, "worker/args", EINVAL,
				       "%s: \"%.40s\" is not a number in [0, %llu]",
				       opt, v, (unsigned long long)max);
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x > max)
		return err_set(err, "worker/args", ERANGE, "%s: %llu is over %llu",
			       opt, (unsigned long long)x, (unsigned long long)max);
	*out = x;
	return 0;
}

int worker_parse_args(int argc, char *const argv[], struct worker_opts *o,
		      struct bt_err *err)
{
	uint64_t v[4] = {0};
	bool seen[4] = {false};
	static const char *const names[4] = {"--id", "--generation", "--channel",
					     "--scm"};
	static const uint64_t max[4] = {UINT32_MAX, INT64_MAX, 1048575, 1048575};

	o->handoff = false;
	for (int i = 1; i < argc; i++) {
		int k = -1;

		if (strcmp(argv[i], "--handoff") == 0) {
			o->handoff = true;
			continue;
		}
		for (int j = 0; j < 4; j++)
			if (strcmp(argv[i], names[j]) == 0)
				k = j;
		if (k < 0)
			return err_set(err, "worker/args", EINVAL,
				       "unknown argument \"%.60s\"", argv[i]);
		if (i + 1 >= argc)
			return err_set(err, "worker/args", EINVAL, "%s needs a value",
				       names[k]);
		if (parse_num(names[k], argv[++i], max[k], &v[k], err))
			return -1;
		seen[k] = true;
	}
	for (int j = 0; j < 4; j++)
		if (!seen[j])
			return err_set(err, "worker/args", EINVAL, "%s is required",
				       names[j]);
	o->id = (uint32_t)v[0];
	o->generation = v[1];
	o->channel_fd = (int)v[2];
	o->scm_fd = (int)v[3];
	if (o->channel_fd < 3 || o->scm_fd < 3 || o->channel_fd == o->scm_fd)
		return err_set(err, "worker/args", EINVAL,
			       "--channel %d and --scm %d must be distinct fds above 2",
			       o->channel_fd, o->scm_fd);
	return 0;
}

/* --- master channel --- */

static int send_msg(struct wk *w, const struct worker_msg *m)
{
	size_t len;
	char *text = worker_msg_encode(m, &len);
	struct bt_err err;
	int rc = -1;

	if (text)
		rc = channel_send(&w->ch, text, len, MASTER_SEND_MS, &err);
	if (text && rc)
		wlog_err(w, "cannot write to the master: ", &err);
	free(text);
	return rc;
}

static void send_failure(struct wk *w, enum worker_msg_type type,
			 const struct bt_err *e)
{
	struct worker_msg m;

	worker_msg_failure(&m, type, e);
	send_msg(w, &m);
}

static void return_listeners(struct wk *w)
{
	struct bt_err err = {0};

	if (FP_HIT("worker/listeners-send") == FP_ERROR) {
		err_set(&err, "worker/listeners-send", errno,
			"cannot send the listeners back (injected)");
	} else if (scm_send(w->o->scm_fd, w->lfds, (const char *const *)w->lnames,
			    w->n_listeners, MASTER_SEND_MS, &err) == 0) {
		return;
	} else {
		err_step(&err, "worker/listeners-send");
	}
	wlog_err(w, "", &err);
	send_failure(w, WMSG_LISTENERS_FAILED, &err);
}

static void stop_accepting(struct wk *w)
{
	for (size_t i = 0; i < w->n_listeners; i++) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfds[i], NULL);
		close(w->lfds[i]);
		w->lfds[i] = -1;
	}
	w->n_listeners = 0;
	w->accepting = false;
}

static void begin_stop(struct wk *w, bool hard, const char *why)
{
	wlog(w, "stopping (%s, %s)", hard ? "hard" : "soft", why);
	stop_accepting(w);
	w->stopping = true;
	w->stop_deadline = hard ? 0 : channel_now_ms() + DRAIN_TIMEOUT_MS;
}

static void on_master_message(struct wk *w, const char *payload, size_t len)
{
	struct worker_msg m;

	if (worker_msg_decode(payload, len, &m) != 0) {
		wlog(w, "ignoring a message that is not a JSON object: %.60s", payload);
	} else if (m.type == WMSG_RETURN_LISTENERS) {
		fp_arm();
		return_listeners(w);
		fp_disarm();
	} else if (m.type == WMSG_STOP) {
		begin_stop(w, m.hard, "asked by the master");
	} else {
		wlog(w, "ignoring a message it does not take: %.60s", payload);
	}
}

static void on_channel(struct wk *w)
{
	struct bt_err err;
	ssize_t n;

	do {
		char *payload;
		size_t len;

		n = channel_fill(&w->ch, 0, &err);
		while (channel_next(&w->ch, &payload, &len, &err) > 0) {
			on_master_message(w, payload, len);
			free(payload);
		}
	} while (n > 0);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->ch.fd, NULL);
		if (!w->stopping)
			begin_stop(w, false, n == 0 ? "the master is gone" :
						      "the master channel failed");
	}
}

static int send_ready(struct wk *w)
{
	struct worker_msg m = {.type = WMSG_READY, .id = w->o->id, .pid = getpid(),
			       .listeners = w->n_listeners};

	return send_msg(w, &m);
}

/* --- data plane --- */

static void conn_close(struct wk *w, struct conn *c)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	w->conns[c->fd] = NULL;
	w->n_conns--;
	free(c);
}

static void conn_answer(struct wk *w, struct conn *c, bool good)
{
	static const char bad[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";

	/* a fresh loopback socket takes a few hundred bytes at once */
	if (good)
		send(c->fd, w->answer, w->answer_len, MSG_NOSIGNAL);
	else
		send(c->fd, bad, sizeof bad - 1, MSG_NOSIGNAL);
	conn_close(w, c);
}

static void on_conn(struct wk *w, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(w, c);
			return;
		}
		c->len += (size_t)n;
		c->buf[c->len] = 0;
		if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n")) {
			conn_answer(w, c, strncmp(c->buf, "GET ", 4) == 0);
			return;
		}
		if (c->len == sizeof c->buf - 1) {
			conn_answer(w, c, false);
			return;
		}
	}
}

static int conn_add(struct wk *w, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(TAG_CONN, (uint32_t)fd)};
	struct conn *c;

	if ((size_t)fd >= w->conns_cap) {
		size_t cap = w->conns_cap ? w->conns_cap : 256;
		struct conn **p;

		while (cap <= (size_t)fd)
			cap *= 2;
		p = realloc(w->conns, cap * sizeof *p);
		if (!p)
			return -1;
		memset(p + w->conns_cap, 0, (cap - w->conns_cap) * sizeof *p);
		w->conns = p;
		w->conns_cap = cap;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->fd = fd;
	c->deadline = channel_now_ms() + CONN_TIMEOUT_MS;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(c);
		return -1;
	}
	w->conns[fd] = c;
	w->n_conns++;
	return 0;
}

static void on_listener(struct wk *w, size_t i)
{
	/* bounded, so one busy listener cannot starve the channel */
	for (int k = 0; k < 64 && w->accepting; k++) {
		int fd = accept4(w->lfds[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (conn_add(w, fd) != 0)
			close(fd);
	}
}

static void sweep(struct wk *w)
{
	int64_t now = channel_now_ms();

	for (size_t fd = 0; fd < w->conns_cap; fd++)
		if (w->conns[fd] && (now > w->conns[fd]->deadline ||
				     (w->stopping && now > w->stop_deadline)))
			conn_close(w, w->conns[fd]);
}

/* --- setup --- */

static int take_listeners(struct wk *w, struct bt_err *err)
{
	struct scm_recv_opts opts = {.timeout_ms = LISTENERS_TAKE_MS};

	if (FP_HIT("worker/listeners-take") == FP_ERROR)
		return err_set(err, "worker/listeners-take", errno,
			       "cannot receive the listeners (injected)");
	if (scm_recv(w->o->scm_fd, &opts, &w->lfds, &w->lnames, &w->n_listeners, err))
		return err_step(err, "worker/listeners-take");
	w->n_names = w->n_listeners;
	for (size_t i = 0; i < w->n_listeners; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.u64 = tag(TAG_LISTENER, (uint32_t)i)};

		if (fdutil_is_listening(w->lfds[i]) != 1)
			return err_set(err, "worker/listeners-take", ENOTSOCK,
				       "listener %zu (%s, fd %d) is not a listening socket",
				       i, w->lnames[i], w->lfds[i]);
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfds[i], &ev) != 0)
			return err_set(err, "worker/listeners-take", errno,
				       "epoll_ctl on listener %zu failed", i);
	}
	w->accepting = true;
	return 0;
}

static int setup(struct wk *w, struct bt_err *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(TAG_CHANNEL, 0)};
	char body[128];
	int blen;

	if (fdutil_is_unix_stream(w->o->channel_fd) != 1 ||
	    fdutil_is_unix_stream(w->o->scm_fd) != 1)
		return err_set(err, "worker/args", ENOTSOCK,
			       "--channel %d and --scm %d must be unix stream sockets",
			       w->o->channel_fd, w->o->scm_fd);
	fdutil_set_cloexec(w->o->channel_fd, true);
	fdutil_set_cloexec(w->o->scm_fd, true);
	if (channel_init(&w->ch, w->o->channel_fd, WORKER_CHANNEL_BUF, WORKER_CHANNEL_MAX,
			 err))
		return -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ch.fd, &ev) != 0)
		return err_set(err, "worker/setup", errno, "epoll setup failed");
	blen = snprintf(body, sizeof body, "baton worker id=%u gen=%llu pid=%d\n",
			w->o->id, (unsigned long long)w->o->generation, (int)getpid());
	w->answer_len = (size_t)snprintf(w->answer, sizeof w->answer,
					 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
					 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
					 blen, body);
	return take_listeners(w, err);
}

static void loop(struct wk *w)
{
	while (!w->stopping || (w->n_conns > 0 && channel_now_ms() < w->stop_deadline)) {
		struct epoll_event evs[64];
		int n = epoll_wait(w->epfd, evs, 64, SWEEP_MS);

		for (int i = 0; i < n; i++) {
			uint64_t t = evs[i].data.u64;
			uint32_t v = (uint32_t)t;

			switch ((int)(t >> 32)) {
			case TAG_CHANNEL:
				on_channel(w);
				break;
			case TAG_LISTENER:
				if (w->accepting && v < w->n_listeners)
					on_listener(w, v);
				break;
			case TAG_CONN:
				if (v < w->conns_cap && w->conns[v])
					on_conn(w, w->conns[v]);
				break;
			}
		}
		sweep(w);
	}
}

static void teardown(struct wk *w)
{
	stop_accepting(w);
	for (size_t fd = 0; fd < w->conns_cap; fd++)
		if (w->conns[fd])
			conn_close(w, w->conns[fd]);
	free(w->conns);
	free(w->lfds);
	scm_free_names(w->lnames, w->n_names);
	if (w->epfd >= 0)
		close(w->epfd);
	channel_close(&w->ch);
	close(w->o->scm_fd);
}

int worker_run(const struct worker_opts *o)
{
	struct wk w = {.o = o, .epfd = -1};
	struct bt_err err = {0};
	int status = 0;

	w.ch.fd = -1;
	/* a worker started by a worker upgrade is part of it from its first
	 * instruction; one started with its master is not */
	if (o->handoff)
		fp_arm();
	if (setup(&w, &err) != 0) {
		wlog_err(&w, "", &err);
		if (w.ch.fd >= 0)
			send_failure(&w, WMSG_FAILED, &err);
		status = 1;
	} else if (FP_HIT("worker/ready") == FP_ERROR) {
		wlog(&w, "cannot announce readiness (injected %s)", strerror(errno));
		status = 1;
	} else if (send_ready(&w) == 0) {
		fp_disarm();
		loop(&w);
	} else {
		status = 1;
	}
	teardown(&w);
	return status;
}
