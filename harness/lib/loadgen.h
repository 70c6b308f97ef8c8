/* loadgen: a bounded loopback HTTP/1.0 load generator.
 *
 * Keeps CONCURRENCY requests in flight against one address until COUNT
 * requests were made, DURATION_MS passed, or *stop became non-zero (at
 * least one bound is required: it never runs unbounded).  Every request
 * ends in exactly one class: ok (HTTP 200 and a body from a baton worker,
 * or any 200 when accept_any_200), refused (ECONNREFUSED), reset
 * (ECONNRESET/EPIPE), timeout (no complete answer within timeout_ms), bad
 * (anything else: wrong status, garbage, EOF mid-answer).  Only loopback
 * addresses are accepted. */
#ifndef BATON_HARNESS_LOADGEN_H
#define BATON_HARNESS_LOADGEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct loadgen_opts {
	const char *address;	/* "127.0.0.1:PORT" or "[::1]:PORT" */
	int concurrency;	/* default 4 */
	long count;		/* 0: no count bound */
	int duration_ms;	/* 0: no time bound */
	int timeout_ms;		/* per request, default 2000 */
	bool accept_any_200;	/* black-box targets: any 200 is ok */
	atomic_int *stop;	/* optional */
};

#define LOADGEN_MAX_SEEN 64
/* the first failed requests, each with when it failed (CLOCK_MONOTONIC,
 * the timeline's clock) */
#define LOADGEN_MAX_FAILURES 32

struct loadgen_failure {
	long long t_us;
	char what[96];		/* "reset: ..." */
};

struct loadgen_seen {
	unsigned id;
	unsigned long long gen;
	int pid;
	long count;
};

struct loadgen_result {
	long sent, ok, refused, reset, timeout, bad;
	long long elapsed_ms;
	long long max_latency_ms;
	char first_failure[256];	/* class and detail of the first one */
	struct loadgen_seen seen[LOADGEN_MAX_SEEN];	/* who answered */
	size_t n_seen;
	struct loadgen_failure failures[LOADGEN_MAX_FAILURES];
	size_t n_failures;
};

int loadgen_run(const struct loadgen_opts *o, struct loadgen_result *r,
		struct bt_err *err);
long loadgen_failed(const struct loadgen_result *r);
/* "sent 1200, ok 1200, refused 0, reset 0, timeout 0, bad 0" */
void loadgen_summary(const struct loadgen_result *r, char *buf, size_t len);

/* The load in a thread of its own, for a window around an upgrade: start
 * runs loadgen_run on a copy of O (its stop flag is the window's own; the
 * count and duration bounds stay, a duration of 0 becomes two minutes),
 * stop raises the flag and joins.  A loadgen error (bad address) is kept
 * in rc and in result.first_failure.  stop on a window that never started
 * does nothing. */
/* Per request, during an upgrade window: a hand-over may hold a connection
 * in the accept queue for a while, but three seconds is a failure. */
#define LOADGEN_WINDOW_TIMEOUT_MS 3000

struct loadgen_window {
	pthread_t thread;
	atomic_int stop;
	struct loadgen_opts opts;
	struct loadgen_result result;
	int rc;
	bool running;
};

int loadgen_window_start(struct loadgen_window *w, const struct loadgen_opts *o,
			 struct bt_err *err);
void loadgen_window_stop(struct loadgen_window *w);

#endif
