/* loadgen: see loadgen.h. */
#include "lib/loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"

enum slot_state { SLOT_IDLE = 0, SLOT_CONNECTING, SLOT_READING };

struct slot {
	int fd;
	enum slot_state st;
	long long started, deadline;
	size_t len;
	char buf[1024];
};

struct run {
	const struct loadgen_opts *o;
	struct loadgen_result *r;
	struct sockaddr_storage sa;
	socklen_t salen;
	int epfd;
	long long end;
};

static int parse_address(const char *a, struct sockaddr_storage *ss,
			 socklen_t *len, struct bt_err *err)
{
	char host[64];
	const char *colon = strrchr(a, ':');
	int port;

	memset(ss, 0, sizeof *ss);
	if (!colon || colon == a)
		return err_set(err, "loadgen", EINVAL, "\"%s\": expected HOST:PORT", a);
	if (a[0] == '[')
		snprintf(host, sizeof host, "%.*s", (int)(colon - a - 2), a + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)(colon - a), a);
	port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return err_set(err, "loadgen", EINVAL, "\"%s\": bad port", a);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			return err_set(err, "loadgen", EPERM,
				       "\"%s\" is not a loopback address", a);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return err_set(err, "loadgen", EPERM,
				       "\"%s\" is not a loopback address", a);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
		return 0;
	}
	return err_set(err, "loadgen", EINVAL, "\"%s\": not an IP address", a);
}

static void note_failure(struct run *run, long *counter, const char *what,
			 const char *detail)
{
	struct timespec now;

	(*counter)++;
	if (run->r->n_failures < LOADGEN_MAX_FAILURES) {
		struct loadgen_failure *f = &run->r->failures[run->r->n_failures++];

		clock_gettime(CLOCK_MONOTONIC, &now);
		f->t_us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
		snprintf(f->what, sizeof f->what, "%s: %.80s", what, detail);
	}
	if (!run->r->first_failure[0])
		snprintf(run->r->first_failure, sizeof run->r->first_failure,
			 "%s: %.200s", what, detail);
}

static void note_seen(struct loadgen_result *r, unsigned id,
		      unsigned long long gen, int pid)
{
	for (size_t i = 0; i < r->n_seen; i++) {
		if (r->seen[i].id == id && r->seen[i].gen == gen && r->seen[i].pid == pid) {
			r->seen[i].count++;
			return;
		}
	}
	if (r->n_seen < LOADGEN_MAX_SEEN)
		r->seen[r->n_seen++] = (struct loadgen_seen){id, gen, pid, 1};
}

static void slot_close(struct run *run, struct slot *s)
{
	if (s->fd >= 0) {
		epoll_ctl(run->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->st = SLOT_IDLE;
}

/* A complete answer (the worker closed): classify it. */
static void judge(struct run *run, struct slot *s)
{
	const char *body = strstr(s->buf, "\r\n\r\n");
	unsigned id;
	unsigned long long gen;
	int pid;
	long long lat = proc_now_ms() - s->started;

	s->buf[s->len] = 0;
	if (strncmp(s->buf, "HTTP/1.0 200", 12) != 0 &&
	    strncmp(s->buf, "HTTP/1.1 200", 12) != 0) {
		note_failure(run, &run->r->bad, "bad", s->len ? s->buf : "(empty answer)");
	} else if (body && sscanf(body + 4, "baton worker id=%u gen=%llu pid=%d",
				  &id, &gen, &pid) == 3) {
		run->r->ok++;
		note_seen(run->r, id, gen, pid);
	} else if (run->o->accept_any_200) {
		run->r->ok++;
	} else {
		note_failure(run, &run->r->bad, "bad", s->buf);
	}
	if (lat > run->r->max_latency_ms)
		run->r->max_latency_ms = lat;
	slot_close(run, s);
}

static void start_request(struct run *run, struct slot *s, uint32_t index)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = index};
	int fd = socket(run->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	run->r->sent++;
	s->started = proc_now_ms();
	s->deadline = s->started + run->o->timeout_ms;
	s->len = 0;
	s->fd = fd;
	if (fd < 0) {
		note_failure(run, &run->r->bad, "bad", strerror(errno));
		s->st = SLOT_IDLE;
		return;
	}
	if (connect(fd, (struct sockaddr *)&run->sa, run->salen) != 0 &&
	    errno != EINPROGRESS) {
		note_failure(run, errno == ECONNREFUSED ? &run->r->refused : &run->r->bad,
			     errno == ECONNREFUSED ? "refused" : "bad", strerror(errno));
		slot_close(run, s);
		return;
	}
	s->st = SLOT_CONNECTING;
	epoll_ctl(run->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void on_writable(struct run *run, struct slot *s, uint32_t index)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: baton\r\n\r\n";
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
	int soerr = 0;
	socklen_t l = sizeof soerr;

	getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
	if (soerr) {
		note_failure(run, soerr == ECONNREFUSED ? &run->r->refused
				   : soerr == ECONNRESET ? &run->r->reset : &run->r->bad,
			     soerr == ECONNREFUSED ? "refused"
				   : soerr == ECONNRESET ? "reset" : "bad",
			     strerror(soerr));
		slot_close(run, s);
		return;
	}
	if (send(s->fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)sizeof req - 1) {
		int e = errno;

		note_failure(run, e == ECONNRESET || e == EPIPE ? &run->r->reset : &run->r->bad,
			     e == ECONNRESET || e == EPIPE ? "reset" : "bad", strerror(e));
		slot_close(run, s);
		return;
	}
	s->st = SLOT_READING;
	epoll_ctl(run->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void on_readable(struct run *run, struct slot *s)
{
	for (;;) {
		ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);

		if (n > 0) {
			s->len += (size_t)n;
			if (s->len < sizeof s->buf - 1)
				continue;
			judge(run, s);	/* too long for a baton answer */
			return;
		}
		if (n == 0) {
			judge(run, s);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return;
		note_failure(run, errno == ECONNRESET ? &run->r->reset : &run->r->bad,
			     errno == ECONNRESET ? "reset" : "bad", strerror(errno));
		slot_close(run, s);
		return;
	}
}

static bool may_start(const struct run *run)
{
	const struct loadgen_opts *o = run->o;

	if (o->stop && atomic_load(o->stop))
		return false;
	if (o->count > 0 && run->r->sent >= o->count)
		return false;
	if (o->duration_ms > 0 && proc_now_ms() >= run->end)
		return false;
	return true;
}

static void sweep_timeouts(struct run *run, struct slot *slots, int n)
{
	long long now = proc_now_ms();

	for (int i = 0; i < n; i++) {
		if (slots[i].st != SLOT_IDLE && now > slots[i].deadline) {
			note_failure(run, &run->r->timeout, "timeout",
				     slots[i].st == SLOT_CONNECTING ? "while connecting"
								    : "while reading the answer");
			slot_close(run, &slots[i]);
		}
	}
}

int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r,
		struct bt_err *err)
{
	struct run run = {.o = o, .r = r};
	struct loadgen_opts d = *o;
	struct slot *slots;
	long long t0 = proc_now_ms();
	bool busy = true;

	memset(r, 0, sizeof *r);
	if (d.concurrency <= 0)
		d.concurrency = 4;
	if (d.timeout_ms <= 0)
		d.timeout_ms = 2000;
	run.o = &d;
	if (d.count <= 0 && d.duration_ms <= 0 && !d.stop)
		return err_set(err, "loadgen", EINVAL, "no bound: give a count, a duration or a stop flag");
	if (parse_address(d.address, &run.sa, &run.salen, err))
		return -1;
	run.end = t0 + d.duration_ms;
	slots = calloc((size_t)d.concurrency, sizeof *slots);
	run.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || run.epfd < 0) {
		free(slots);
		return err_set(err, "loadgen", errno ? errno : ENOMEM, "setup failed");
	}
	for (int i = 0; i < d.concurrency; i++)
		slots[i].fd = -1;
	while (busy) {
		struct epoll_event evs[64];
		int n;

		busy = false;
		for (int i = 0; i < d.concurrency; i++) {
			if (slots[i].st == SLOT_IDLE && may_start(&run))
				start_request(&run, &slots[i], (uint32_t)i);
			busy |= slots[i].st != SLOT_IDLE;
		}
		if (!busy)
			break;
		n = epoll_wait(run.epfd, evs, 64, 20);
		for (int i = 0; i < n; i++) {
			struct slot *s = &slots[evs[i].data.u32];

			if (s->st == SLOT_CONNECTING)
				on_writable(&run, s, evs[i].data.u32);
			else if (s->st == SLOT_READING)
				on_readable(&run, s);
		}
		sweep_timeouts(&run, slots, d.concurrency);
	}
	close(run.epfd);
	free(slots);
	r->elapsed_ms = proc_now_ms() - t0;
	return 0;
}

long loadgen_failed(const struct loadgen_result *r)
{
	return r->refused + r->reset + r->timeout + r->bad;
}

void loadgen_summary(const struct loadgen_result *r, char *buf, size_t len)
{
	snprintf(buf, len,
		 "sent %ld, ok %ld, refused %ld, reset %ld, timeout %ld, bad %ld "
		 "in %lld ms (max latency %lld ms)%s%s",
		 r->sent, r->ok, r->refused, r->reset, r->timeout, r->bad,
		 r->elapsed_ms, r->max_latency_ms, r->first_failure[0] ? "; first: " : "",
		 r->first_failure);
}

/* --- the load window --- */

#define LOADGEN_WINDOW_BOUND_MS 120000	/* a bound, never reached */

static void *window_main(void *arg)
{
	struct loadgen_window *w = arg;
	struct bt_err err;

	w->rc = loadgen_run(&w->opts, &w->result, &err);
	if (w->rc != 0)
		snprintf(w->result.first_failure, sizeof w->result.first_failure,
			 "loadgen: %s", err.msg);
	return NULL;
}

int loadgen_window_start(struct loadgen_window *w, const struct loadgen_opts *o,
			 struct bt_err *err)
{
	int e;

	memset(w, 0, sizeof *w);
	w->opts = *o;
	if (w->opts.count == 0 && w->opts.duration_ms == 0)
		w->opts.duration_ms = LOADGEN_WINDOW_BOUND_MS;
	atomic_store(&w->stop, 0);
	w->opts.stop = &w->stop;
	e = pthread_create(&w->thread, NULL, window_main, w);
	if (e != 0)
		return err_set(err, "loadgen", e, "cannot start the load thread");
	w->running = true;
	return 0;
}

void loadgen_window_stop(struct loadgen_window *w)
{
	if (!w->running)
		return;
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	w->running = false;
}
