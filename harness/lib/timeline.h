/* timeline: what happened when during one upgrade, on one clock.
 *
 * The harness's side of a scenario's timeline is DIR/events, one line an
 * event, "T PID KIND DETAIL", T on CLOCK_MONOTONIC in microseconds: the
 * clock batond's trace lines end with (failpoint.h), so the trace and the
 * events merge into one time axis (harness/report/timeline.h).  KIND:
 *   alive    a process that was there when the watch began (DETAIL:
 *            "parent PPID comm NAME")
 *   seen     a process the watcher found later, at most TL_PERIOD_MS
 *            after its fork (same DETAIL)
 *   exit     a process ended: its pidfd became readable (the moment it
 *            became a zombie, whoever reaps it)
 *   role     what the harness knows a pid to be ("old master", "worker 0",
 *            "new master")
 *   pidfile  the pid file changed: "PID", "missing" or "garbage TEXT"
 *   request  the upgrade request went out (DETAIL: the command)
 *   answer   its answer came back (DETAIL: "ok" or the failed step)
 *   notify   a datagram reached the NOTIFY_SOCKET (PID: its sender;
 *            T: the kernel's arrival stamp; DETAIL: the text, \n as |)
 *   load     a request of the load generator failed (PID 0; DETAIL:
 *            class and detail)
 *
 * tl_watch runs a thread from tl_watch_start to tl_watch_stop: every
 * TL_PERIOD_MS it lists the children of every process it knows
 * (/proc/P/task/P/children, from ROOT down), reads the pid file, and
 * polls one pidfd per process, so an exit is stamped when it happens.
 * It owns its pidfds and closes them all in tl_watch_stop; it never
 * reaps and never signals.  Errors (no pidfd_open, a full table) lose
 * events, never a run: the timeline is an aid, not a verdict. */
#ifndef BATON_HARNESS_TIMELINE_H
#define BATON_HARNESS_TIMELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/loadgen.h"
#include "lib/notifyrec.h"

#define TL_PERIOD_MS 2
#define TL_MAX_PROCS 64

/* Now on the timeline's clock. */
long long tl_now_us(void);

/* Append one event to PATH (DIR/events); DETAIL may be NULL. */
void tl_event(const char *path, long long t_us, pid_t pid, const char *kind,
	      const char *detail);
/* Every datagram of MSGS[0..N) and every recorded failure of LOAD. */
void tl_notify_events(const char *path, const struct notify_msg *msgs, size_t n);
void tl_load_events(const char *path, const struct loadgen_result *load);

struct tl_proc {
	pid_t pid;
	int pidfd;		/* -1: none (gone, or pidfd_open failed) */
	bool scan_only;		/* ROOT: its children count, not itself */
};

struct tl_watch {
	char events[300], pidfile[300];
	pid_t root;
	struct tl_proc procs[TL_MAX_PROCS];
	size_t n;
	char last_pidfile[64];
	pthread_t thread;
	atomic_int stop;
	bool running;
};

/* Truncates EVENTS, records every descendant of ROOT as alive, and starts
 * the thread.  -1 (nothing started) when the thread cannot start. */
int tl_watch_start(struct tl_watch *w, const char *events, const char *pidfile,
		   pid_t root);
/* Joins the thread after one last pass; closes every pidfd. */
void tl_watch_stop(struct tl_watch *w);

#endif
