/* bench: the measuring pieces of `make bench` (harness/cmd/bench.c).
 *
 * Samples and their statistics (median, p99 by nearest rank, a least
 * squares line), a batond started for measuring (no notify socket, no
 * fault machinery, any number of workers including 0), timed upgrades
 * (request -> answer -> the old process gone, each instant taken on
 * CLOCK_MONOTONIC; the old process is watched through a pidfd, so its exit
 * is seen when it happens, not at the next poll), and the floor of a
 * master upgrade: fork + exec of the same binary reading the same state
 * file (`batond read-state FD`).
 *
 * The calling process must be a child subreaper (proc_become_subreaper):
 * a new master outlives its parent and is re-parented here. */
#ifndef BATON_HARNESS_BENCH_H
#define BATON_HARNESS_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

long long bench_now_ns(void);

/* --- samples --- */

struct bench_samples {
	double *v;
	size_t n, cap;
};

int bench_add(struct bench_samples *s, double x);
void bench_samples_free(struct bench_samples *s);
/* Quantile q in [0, 1] by nearest rank (q = 0.5: the median, 0.99: p99);
 * NAN when empty. */
double bench_quantile(const struct bench_samples *s, double q);
double bench_median(const struct bench_samples *s);
double bench_p99(const struct bench_samples *s);
/* X rounded to 4 significant digits; null when not finite. */
json_t *bench_num(double x);
/* {"n":…,"median":…,"p99":…,"min":…,"max":…,"mean":…}, values rounded to
 * 4 significant decimals; {"n":0} when empty. */
json_t *bench_stats_json(const struct bench_samples *s);

/* Least squares y = a + b x; r2 the coefficient of determination. */
void bench_linfit(const double *x, const double *y, size_t n, double *a,
		  double *b, double *r2);

/* --- a batond to measure --- */

struct bench_daemon {
	char dir[256], run_dir[256], sock[256], log[256];
	pid_t master;
	int workers, listeners;
	int timeout_ms;			/* the daemon's upgrade deadline */
	long long start_ms;		/* how long `start` took to serve */
};

/* Start `BATOND start` in DIR (created) with WORKERS workers (0 is
 * allowed) and LISTENERS listeners on 127.0.0.1:0, and wait (up to
 * WAIT_MS) until the master answers status with every worker ready. */
int bench_daemon_start(struct bench_daemon *d, const char *batond,
		       const char *dir, int workers, int listeners,
		       int timeout_ms, int wait_ms, struct bt_err *err);
/* status; the caller json_decrefs. NULL on error. */
json_t *bench_daemon_status(const struct bench_daemon *d);
/* Stop hard, wait for the processes to leave, kill what remains (every
 * descendant of this process), reap. */
void bench_daemon_stop(struct bench_daemon *d);
/* Memory of every descendant of this process, in MiB (the sum of their
 * Pss: shared pages counted once; RSS where smaps_rollup is missing), and
 * how many there are. */
double bench_descendants_mem_mb(int *count);

/* --- timed upgrades --- */

struct bench_up {
	bool ok;
	char error[256];
	pid_t old_pid, new_pid;
	uint32_t new_id;		/* worker upgrades */
	long long answer_ns;		/* request sent -> answer read */
	long long gone_ns;		/* request sent -> old process gone; -1 */
	long long batond_ms;		/* the answer's elapsed_ms, or -1 */
};

/* upgrade-main on SOCK; OLD is the master answering now.  WAIT_GONE: also
 * wait (up to timeout_ms) for OLD to exit and reap it. */
void bench_upgrade_master(const char *sock, pid_t old, int timeout_ms,
			  bool wait_gone, struct bench_up *u);
/* upgrade-worker ID on SOCK; OLD is that worker's pid. */
void bench_upgrade_worker(const char *sock, uint32_t id, pid_t old,
			  int timeout_ms, bool wait_gone, struct bench_up *u);

/* --- the floor of a master upgrade --- */

/* An O_TMPFILE file (mkstemp + unlink as a fallback) in DIR holding LEN
 * bytes, CLOEXEC; the fd or -1. */
int bench_state_file(const char *dir, const char *bytes, size_t len,
		     struct bt_err *err);
/* Rewind FD, fork, exec `BATOND read-state FD` in the child, wait for it.
 * Returns the elapsed nanoseconds, or -1 (with err) if it did not exit 0. */
long long bench_floor_run(const char *batond, int fd, struct bt_err *err);

/* The floor measured from a small process, as the master forks from one
 * (the bench process may have a large heap, and fork's cost grows with
 * the parent's page tables): SELF is this program, exec'd as
 * `SELF --floor-helper BATOND FD` with FD inherited; each request makes it
 * run bench_floor_run once and send back the nanoseconds. */
struct bench_floor {
	pid_t pid;
	int to, from;
};

int bench_floor_open(struct bench_floor *f, const char *self, const char *batond,
		     int state_fd, struct bt_err *err);
long long bench_floor_time(struct bench_floor *f, struct bt_err *err);
void bench_floor_close(struct bench_floor *f);
/* The helper's main loop (main calls it for --floor-helper). */
int bench_floor_helper(const char *batond, const char *fd_arg);

/* --- the machine --- */

/* {"nproc","cpu_model","kernel","mem_total_mb","hostname"} */
json_t *bench_machine_json(void);
/* [1 min, 5 min, 15 min] from /proc/loadavg */
json_t *bench_loadavg_json(void);
/* Up to COUNT processes at 5 %CPU or more (ps: CPU time over lifetime),
 * busiest first, each "12.3 args…" */
json_t *bench_busiest_json(int count);

#endif
