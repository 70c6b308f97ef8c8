/* bench: the figures of `make bench` (see the usage text below).
 *
 * Stages, in this order (the noisy ones last):
 *   codec      state_json_serialize / state_json_parse against json_dumps /
 *              json_loadb on the same bytes, for 10, 1,000, 100,000 workers
 *   master     upgrade-main latency (request -> new master confirmed -> old
 *              master exited) against handed fds = 1 + 2 x workers, each run
 *              interleaved with its floor: fork + exec `batond read-state`
 *              on the same state bytes
 *   worker     upgrade-worker latency against the number of listeners
 *   dataplane  loopback load through 100 back-to-back master upgrades, then
 *              100 back-to-back worker upgrades, plus a baseline without
 *              upgrades
 *   campaign   build/faultcheck, the whole campaign: wall time, cells/s
 *   fuzz       ci/fuzz-run, short runs, both engines: exec/s per target
 * Output: bench.json, bench.md and the data files the plots read
 * (bench-latency.dat, bench-worker.dat, bench-codec.dat) in --reports.
 * A benchmark never fails a build: exit 0 whatever the figures, 2 only when
 * the benchmark itself cannot run (usage, batond missing). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "lib/cliopt.h"
#include "lib/ctlc.h"
#include "lib/proc.h"
#include "contract/scenario.h"
#include "state.h"
#include "json_guard.h"
#include "state_json.h"
#include "lib/stategen.h"

static const char usage[] =
	"usage: bench [OPTIONS]\n"
	"  --quick              a smoke run: small counts, the smaller points, a\n"
	"                       campaign subset, 2 s of one fuzz target\n"
	"  --only LIST          stages to run, comma-separated (default: all):\n"
	"                       codec,master,worker,dataplane,campaign,fuzz\n"
	"  --runs N             runs per latency point (default 101; quick 9)\n"
	"  --max-workers N      largest master-upgrade point (default 2048,\n"
	"                       i.e. 4,097 handed fds; points 0 8 128 512 2048)\n"
	"  --max-listeners N    largest worker-upgrade point (default 1024;\n"
	"                       points 1 16 64 256 1024)\n"
	"  --upgrades N         back-to-back upgrades of each kind under load\n"
	"                       (default 100; quick 10)\n"
	"  --concurrency N      requests in flight in the data plane (default 8)\n"
	"  --fuzz-seconds N     per target and engine (default 10; quick 2; 0 skips)\n"
	"  --fuzz-targets LIST  space-separated (default: state frame manifest\n"
	"                       main_args spec; quick: state)\n"
	"  --fuzz-bin-dir DIR   the built fuzz targets (make fuzz-build; default\n"
	"                       build/fuzz/source, or build/fuzz/system without\n"
	"                       build/jansson-src)\n"
	"  --campaign-only GLOB the campaign on a subset (quick: 'old/w*')\n"
	"  --batond PATH        default: batond beside bench\n"
	"  --faultcheck PATH    default: faultcheck beside bench\n"
	"  --fuzz-run PATH      default: ci/fuzz-run\n"
	"  --reports DIR        default: build/reports\n"
	"  --work DIR           scratch directories (default: build/bench-run)\n"
	"batond, faultcheck and ci/fuzz-run are copied into WORK/bin first and run\n"
	"from there, so a rebuild during the run cannot mix versions.\n"
	"Run from the top of the tree (make bench does).  Exit status: 0 when the\n"
	"benchmark ran, whatever the figures and goals; 2 when it could not run.\n";

enum {
	ST_CODEC = 1,
	ST_MASTER = 2,
	ST_WORKER = 4,
	ST_DATAPLANE = 8,
	ST_CAMPAIGN = 16,
	ST_FUZZ = 32,
	ST_ALL = 63
};

static const char *const stage_names[] = {"codec", "master", "worker", "dataplane",
					  "campaign", "fuzz"};

/* unix socket paths are 107 bytes at most; the deepest one under WORK
 * adds about 45 */
#define BENCH_WORK_MAX 60

struct opts {
	bool quick;
	unsigned stages;
	int runs, max_workers, max_listeners, upgrades, concurrency, fuzz_seconds;
	const char *fuzz_targets, *fuzz_bin_dir, *campaign_only;
	const char *batond, *faultcheck, *fuzz_run, *reports, *work;
	const char *self;	/* this program, for the floor helper */
	char machine[300];	/* one line, for the plots */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static double ms(long long ns)
{
	return (double)ns / 1e6;
}

static FILE *open_dat(const struct opts *o, const char *name, const char *header)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", o->reports, name);
	f = fopen(path, "we");
	if (f)
		fprintf(f, "# machine: %s\n# %s\n", o->machine, header);
	return f;
}

/* ------------------------------------------------------------------ */
/* codec                                                               */
/* ------------------------------------------------------------------ */

enum { OP_SER, OP_DUMPS, OP_PARSE, OP_LOADB, N_OPS };
static const char *const op_names[] = {"serialize", "json_dumps", "parse", "json_loadb"};

static long long time_op(int op, const struct state *s, json_t *root,
			 const char *bytes, size_t len, bool *failed)
{
	long long t0 = bench_now_ns(), t;
	json_error_t jerr;
	struct state st;
	char *out = NULL;
	size_t olen;
	json_t *j;

	switch (op) {
	case OP_SER:
		if (state_json_serialize(s, &out, &olen, NULL) || olen != len)
			*failed = true;
		t = bench_now_ns() - t0;
		free(out);
		return t;
	case OP_DUMPS:
		out = json_dumps(root, JSON_COMPACT);
		t = bench_now_ns() - t0;
		if (!out)
			*failed = true;
		free(out);
		return t;
	case OP_PARSE:
		/* state_json_parse frees its jansson tree inside: the floor
		 * below frees its tree too; the struct is freed untimed */
		if (state_json_parse(bytes, len, 0, &st, NULL))
			*failed = true;
		t = bench_now_ns() - t0;
		state_free(&st);
		return t;
	default:
		j = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j)
			*failed = true;
		json_decref(j);
		return bench_now_ns() - t0;
	}
}

static json_t *codec_size(const struct opts *o, size_t workers, FILE *dat)
{
	struct bench_samples smp[N_OPS] = {{0}};
	struct state s;
	char *bytes = NULL;
	size_t len = 0;
	json_t *root, *res, *ops;
	json_error_t jerr;
	bool failed = false;
	long long one, budget = o->quick ? 50000000LL : 400000000LL;
	int reps, min_reps = o->quick ? 5 : 31;
	double mbs[N_OPS], mbs_p99[N_OPS];

	if (stategen_fill(&s, 0xbe7c4000u + workers, workers))
		return json_pack("{s:I, s:s}", "workers", (json_int_t)workers, "error",
				 "stategen_fill: out of memory");
	if (state_json_serialize(&s, &bytes, &len, NULL)) {
		state_free(&s);
		return json_pack("{s:I, s:s}", "workers", (json_int_t)workers, "error",
				 "state_json_serialize failed");
	}
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	/* calibrate on the slowest op (parse), then interleave the four */
	one = time_op(OP_PARSE, &s, root, bytes, len, &failed);
	one += time_op(OP_SER, &s, root, bytes, len, &failed);
	reps = (int)(budget / (one > 0 ? one : 1));
	reps = reps < min_reps ? min_reps : reps > 3001 ? 3001 : reps;
	for (int w = 0; w < 2; w++)	/* warm-up */
		for (int op = 0; op < N_OPS; op++)
			time_op(op, &s, root, bytes, len, &failed);
	for (int r = 0; r < reps; r++)
		for (int k = 0; k < N_OPS; k++) {
			int op = (k + r) % N_OPS;	/* rotate the order */

			bench_add(&smp[op], (double)time_op(op, &s, root, bytes, len,
							    &failed) / 1000.0);
		}
	ops = json_object();
	for (int op = 0; op < N_OPS; op++) {
		mbs[op] = (double)len / bench_median(&smp[op]);	/* bytes/us = MB/s */
		mbs_p99[op] = (double)len / bench_p99(&smp[op]);
		json_object_set_new(ops, op_names[op],
				    json_pack("{s:o, s:o, s:o}", "time_us",
					      bench_stats_json(&smp[op]), "mb_s",
					      bench_num(mbs[op]), "mb_s_at_p99",
					      bench_num(mbs_p99[op])));
	}
	res = json_pack("{s:I, s:I, s:i, s:o, s:o, s:o, s:b}", "workers",
			(json_int_t)workers, "bytes", (json_int_t)len, "reps", reps,
			"ops", ops, "serialize_ratio",
			bench_num(bench_median(&smp[OP_SER]) / bench_median(&smp[OP_DUMPS])),
			"parse_ratio",
			bench_num(bench_median(&smp[OP_PARSE]) / bench_median(&smp[OP_LOADB])),
			"failed", failed);
	if (dat)
		fprintf(dat, "%zu %zu %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", workers,
			len, mbs[OP_SER], mbs[OP_DUMPS], mbs[OP_PARSE], mbs[OP_LOADB],
			mbs_p99[OP_SER], mbs_p99[OP_DUMPS], mbs_p99[OP_PARSE],
			mbs_p99[OP_LOADB]);
	say("  %6zu workers, %8zu bytes, %4d reps: serialize %.0f MB/s (dumps %.0f, %.2fx), "
	    "parse %.0f MB/s (loadb %.0f, %.2fx)\n",
	    workers, len, reps, mbs[OP_SER], mbs[OP_DUMPS], mbs[OP_DUMPS] / mbs[OP_SER],
	    mbs[OP_PARSE], mbs[OP_LOADB], mbs[OP_LOADB] / mbs[OP_PARSE]);
	for (int op = 0; op < N_OPS; op++)
		bench_samples_free(&smp[op]);
	json_decref(root);
	free(bytes);
	state_free(&s);
	return res;
}

static json_t *stage_codec(const struct opts *o)
{
	static const size_t sizes[] = {10, 1000, 100000};
	json_t *arr = json_array();
	FILE *dat = open_dat(o, "bench-codec.dat",
			     "workers bytes serialize_MBps json_dumps_MBps parse_MBps "
			     "json_loadb_MBps, then the same at p99 time");

	say("codec: MB/s of canonical JSON, median over interleaved repetitions\n");
	for (size_t i = 0; i < 3; i++)
		json_array_append_new(arr, codec_size(o, sizes[i], dat));
	if (dat)
		fclose(dat);
	return json_pack("{s:o, s:s}", "sizes", arr, "floor",
			 "json_dumps(JSON_COMPACT) of the parsed document; "
			 "json_loadb(JSON_REJECT_DUPLICATES) + json_decref");
}

/* ------------------------------------------------------------------ */
/* master upgrade                                                      */
/* ------------------------------------------------------------------ */

/* The bytes the master hands over: its state from status, generation + 1,
 * in canonical form. */
static int handed_state(const struct bench_daemon *d, char **bytes, size_t *len,
			size_t *n_workers)
{
	json_t *st = bench_daemon_status(d);
	char *text = st ? json_dumps(json_object_get(st, "state"), JSON_COMPACT) : NULL;
	struct state s;
	int rc = -1;

	if (text && state_json_parse(text, strlen(text), 0, &s, NULL) == 0) {
		s.boot_generation++;
		*n_workers = s.n_workers;
		rc = state_json_serialize(&s, bytes, len, NULL);
		state_free(&s);
	}
	free(text);
	json_decref(st);
	return rc;
}

struct master_point {
	int workers, fds;
	double med_up, med_floor;
	bool done;
};

static json_t *master_point(const struct opts *o, int workers, FILE *dat,
			    struct master_point *mp, char *stop_reason, size_t srlen)
{
	struct bench_daemon d;
	struct bt_err err = {0};
	struct bench_samples up = {0}, ans = {0}, floor = {0}, bms = {0};
	char dir[700], *bytes = NULL, first_error[300] = "";
	size_t len = 0, n_workers = 0;
	int fd = -1, failures = 0, procs = 0, timeout = 60000 + 20 * workers;
	struct bench_floor fl = {.pid = -1, .to = -1, .from = -1};
	double rss;
	pid_t master;
	json_t *res, *up_samples = json_array(), *floor_samples = json_array();

	mp->workers = workers;
	mp->fds = 1 + 2 * workers;
	snprintf(dir, sizeof dir, "%s/master", o->work);
	say("  %4d workers (%4d fds): starting batond ... ", workers, mp->fds);
	if (bench_daemon_start(&d, o->batond, dir, workers, 1, timeout,
			       30000 + 40 * workers, &err)) {
		say("cannot start: %s\n", err.msg);
		snprintf(stop_reason, srlen, "batond start --workers %d failed: %s", workers,
			 err.msg);
		json_decref(up_samples);
		json_decref(floor_samples);
		return NULL;
	}
	rss = bench_descendants_mem_mb(&procs);
	master = d.master;
	if (handed_state(&d, &bytes, &len, &n_workers) ||
	    (fd = bench_state_file(d.run_dir, bytes, len, &err)) < 0 ||
	    bench_floor_open(&fl, o->self, o->batond, fd, &err) ||
	    bench_floor_time(&fl, &err) < 0) {
		say("no state for the floor: %s\n", err.msg);
		snprintf(stop_reason, srlen, "%d workers: cannot build the floor: %s", workers,
			 err.msg);
		goto out_fail;
	}
	say("up in %lld ms, %d processes, %.0f MiB Pss; %d runs ... ", d.start_ms, procs,
	    rss, o->runs);
	for (int i = -3; i < o->runs; i++) {	/* 3 warm-up rounds */
		for (int k = 0; k < 2; k++) {
			bool do_floor = (k == 0) == (i % 2 == 0);	/* alternate the order */

			if (do_floor) {
				long long t = bench_floor_time(&fl, &err);

				if (t < 0) {
					failures++;
					if (!first_error[0])
						snprintf(first_error, sizeof first_error,
							 "floor: %s", err.msg);
				} else if (i >= 0) {
					bench_add(&floor, ms(t));
					json_array_append_new(floor_samples, bench_num(ms(t)));
				}
			} else {
				struct bench_up u;

				bench_upgrade_master(d.sock, master, timeout, true, &u);
				if (!u.ok) {
					failures++;
					if (!first_error[0])
						snprintf(first_error, sizeof first_error,
							 "upgrade: %s", u.error);
					master = ctlc_status(d.sock, 5000, NULL);
					if (master <= 0)
						goto out_fail;
					continue;
				}
				master = u.new_pid;
				if (i >= 0) {
					bench_add(&up, ms(u.gone_ns));
					bench_add(&ans, ms(u.answer_ns));
					bench_add(&bms, (double)u.batond_ms);
					json_array_append_new(up_samples, bench_num(ms(u.gone_ns)));
				}
			}
		}
	}
	mp->med_up = bench_median(&up);
	mp->med_floor = bench_median(&floor);
	mp->done = up.n > 0 && floor.n > 0;
	say("upgrade %.2f ms (p99 %.2f), floor %.2f ms (p99 %.2f), %.2fx%s\n", mp->med_up,
	    bench_p99(&up), mp->med_floor, bench_p99(&floor), mp->med_up / mp->med_floor,
	    failures ? " FAILURES" : "");
	if (dat)
		fprintf(dat, "%d %d %.4f %.4f %.4f %.4f %.4f %.4f\n", mp->fds, workers,
			mp->med_up, bench_p99(&up), bench_median(&ans), bench_p99(&ans),
			mp->med_floor, bench_p99(&floor));
	res = json_pack("{s:i, s:i, s:I, s:I, s:i, s:o, s:I, s:o, s:o, s:o, s:o, s:o, "
			"s:i, s:s, s:o, s:o}",
			"workers", workers, "fds", mp->fds, "workers_in_state",
			(json_int_t)n_workers, "state_bytes", (json_int_t)len, "processes",
			procs, "pss_mib", bench_num(rss), "start_ms", (json_int_t)d.start_ms,
			"upgrade_ms", bench_stats_json(&up), "confirmed_ms",
			bench_stats_json(&ans), "batond_elapsed_ms", bench_stats_json(&bms),
			"floor_ms", bench_stats_json(&floor), "ratio",
			bench_num(mp->med_up / mp->med_floor), "failures", failures,
			"first_error", first_error, "upgrade_samples_ms", up_samples,
			"floor_samples_ms", floor_samples);
	goto out;
out_fail:
	res = NULL;
	json_decref(up_samples);
	json_decref(floor_samples);
	if (!stop_reason[0])
		snprintf(stop_reason, srlen, "%d workers: %s", workers, first_error);
out:
	bench_floor_close(&fl);
	if (fd >= 0)
		close(fd);
	free(bytes);
	bench_daemon_stop(&d);
	bench_samples_free(&up);
	bench_samples_free(&ans);
	bench_samples_free(&floor);
	bench_samples_free(&bms);
	return res;
}

static json_t *stage_master(const struct opts *o, json_t *goals_out)
{
	static const int all[] = {0, 8, 128, 512, 2048};
	struct master_point mp[5] = {{0}};
	json_t *arr = json_array(), *res;
	double x[5], y[5], yf[5], a, b, r2, fa, fb, fr2, seg_last = NAN, seg_prev = NAN;
	size_t n = 0, k;
	char stop_reason[600] = "";
	FILE *dat = open_dat(o, "bench-latency.dat",
			     "fds workers upgrade_med_ms upgrade_p99_ms confirmed_med_ms "
			     "confirmed_p99_ms floor_med_ms floor_p99_ms");
	int max = o->quick && o->max_workers > 128 ? 128 : o->max_workers;

	say("master: upgrade-main latency (request -> confirmed -> old master exited) "
	    "vs handed fds, interleaved with its floor\n");
	for (size_t i = 0; i < 5 && all[i] <= max; i++) {
		json_t *p = master_point(o, all[i], dat, &mp[n], stop_reason,
					 sizeof stop_reason);

		if (!p)
			break;
		json_array_append_new(arr, p);
		if (mp[n].done) {
			x[n] = mp[n].fds;
			y[n] = mp[n].med_up;
			yf[n] = mp[n].med_floor;
			n++;
		}
	}
	if (dat)
		fclose(dat);
	bench_linfit(x, y, n, &a, &b, &r2);
	bench_linfit(x, yf, n, &fa, &fb, &fr2);
	/* linear: the slope of the last segment is within 2x of the slope
	 * from the 17-fd point to the one before the last (quadratic growth
	 * would make it (x[n-1] + x[n-2]) / (x[n-2] + x[k]) times larger) */
	for (k = 0; k < n && x[k] < 17; k++)
		;
	if (n >= 2 && n - 2 > k) {
		seg_last = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
		seg_prev = (y[n - 2] - y[k]) / (x[n - 2] - x[k]);
	}
	if (!stop_reason[0] && max < 2048)
		snprintf(stop_reason, sizeof stop_reason, "--max-workers %d%s", max,
			 o->quick ? " (--quick)" : "");
	res = json_pack("{s:i, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:{s:o, s:o, s:o}, s:s, "
			"s:s, s:s}",
			"runs", o->runs, "points", arr, "fit", "intercept_ms", bench_num(a),
			"us_per_fd", bench_num(b * 1000), "r2", bench_num(r2),
			"last_segment_us_per_fd", bench_num(seg_last * 1000),
			"before_us_per_fd", bench_num(seg_prev * 1000),
			"floor_fit", "intercept_ms", bench_num(fa), "us_per_fd",
			bench_num(fb * 1000), "r2", bench_num(fr2), "stopped", stop_reason,
			"fds", "1 + 2 x workers: the command socket, and each worker's "
			"channel and scm socket (the workers hold the listeners)",
			"floor", "fork + exec of the same batond, `read-state FD` on an "
			"O_TMPFILE holding the state bytes the master hands over, "
			"waited for; forked from a small helper process (a fresh exec "
			"of bench), as the master forks from a small process");
	/* goals */
	for (size_t i = 0; i < n; i++)
		if (mp[i].workers == 8) {
			double r = mp[i].med_up / mp[i].med_floor;
			char fig[200];

			snprintf(fig, sizeof fig, "%.2f ms vs floor %.2f ms at %d fds: %.2f×",
				 mp[i].med_up, mp[i].med_floor, mp[i].fds, r);
			json_array_append_new(goals_out,
					      json_pack("{s:s, s:s, s:b}", "goal",
							"master upgrade at most 2× its floor at 16 fds",
							"figure", fig, "met", r <= 2.0));
		}
	if (isfinite(seg_last) && isfinite(seg_prev)) {
		char fig[300];
		double r = seg_last / seg_prev;

		snprintf(fig, sizeof fig,
			 "%.1f µs/fd from %d to %d fds vs %.1f µs/fd from %d to %d fds: "
			 "%.2f× (least squares over %zu points: %.1f µs/fd, r² %.3f)",
			 seg_last * 1000, (int)x[n - 2], (int)x[n - 1], seg_prev * 1000,
			 (int)x[k], (int)x[n - 2], r, n, b * 1000, r2);
		json_array_append_new(goals_out,
				      json_pack("{s:s, s:s, s:b}", "goal",
						"master upgrade latency grows linearly with fds "
						"(slope of the last segment at most 2× the slope "
						"before it)",
						"figure", fig, "met", r <= 2.0));
	}
	return res;
}

/* ------------------------------------------------------------------ */
/* worker upgrade                                                      */
/* ------------------------------------------------------------------ */

static json_t *worker_point(const struct opts *o, int listeners, FILE *dat,
			    double *x, double *y)
{
	struct bench_daemon d;
	struct bt_err err = {0};
	struct bench_samples ans = {0}, gone = {0};
	char dir[700], first_error[300] = "";
	int failures = 0, timeout = 60000;
	json_t *st, *w, *res;
	uint32_t id;
	pid_t pid;

	snprintf(dir, sizeof dir, "%s/worker", o->work);
	say("  %4d listeners: ", listeners);
	if (bench_daemon_start(&d, o->batond, dir, 1, listeners, timeout, 60000, &err)) {
		say("cannot start: %s\n", err.msg);
		return json_pack("{s:i, s:s}", "listeners", listeners, "error", err.msg);
	}
	st = bench_daemon_status(&d);
	w = json_array_get(json_object_get(json_object_get(st, "state"), "workers"), 0);
	id = (uint32_t)json_integer_value(json_object_get(w, "id"));
	pid = (pid_t)json_integer_value(json_object_get(w, "pid"));
	json_decref(st);
	for (int i = -2; i < o->runs; i++) {
		struct bench_up u;

		bench_upgrade_worker(d.sock, id, pid, timeout, true, &u);
		if (!u.ok) {
			failures++;
			if (!first_error[0])
				snprintf(first_error, sizeof first_error, "%s", u.error);
			if (u.new_pid <= 0)
				break;
		}
		id = u.new_id;
		pid = u.new_pid;
		if (i >= 0 && u.ok) {
			bench_add(&ans, ms(u.answer_ns));
			bench_add(&gone, ms(u.gone_ns));
		}
		proc_reap_all();
	}
	*x = listeners;
	*y = bench_median(&ans);
	say("answer %.2f ms (p99 %.2f), old worker exited %.2f ms (p99 %.2f)%s\n",
	    bench_median(&ans), bench_p99(&ans), bench_median(&gone), bench_p99(&gone),
	    failures ? " FAILURES" : "");
	if (dat)
		fprintf(dat, "%d %.4f %.4f %.4f %.4f\n", listeners, bench_median(&ans),
			bench_p99(&ans), bench_median(&gone), bench_p99(&gone));
	res = json_pack("{s:i, s:o, s:o, s:i, s:s}", "listeners", listeners,
			"answer_ms", bench_stats_json(&ans), "old_exited_ms",
			bench_stats_json(&gone), "failures", failures, "first_error",
			first_error);
	bench_daemon_stop(&d);
	bench_samples_free(&ans);
	bench_samples_free(&gone);
	return res;
}

static json_t *stage_worker(const struct opts *o)
{
	static const int all[] = {1, 16, 64, 256, 1024};
	json_t *arr = json_array();
	double x[5], y[5], a, b, r2;
	size_t n = 0;
	int max = o->quick && o->max_listeners > 64 ? 64 : o->max_listeners;
	FILE *dat = open_dat(o, "bench-worker.dat",
			     "listeners answer_med_ms answer_p99_ms old_exited_med_ms "
			     "old_exited_p99_ms");

	say("worker: upgrade-worker latency vs listeners (1 worker)\n");
	for (size_t i = 0; i < 5 && all[i] <= max; i++) {
		json_t *p = worker_point(o, all[i], dat, &x[n], &y[n]);

		if (!json_object_get(p, "error") && isfinite(y[n]))
			n++;
		json_array_append_new(arr, p);
	}
	if (dat)
		fclose(dat);
	bench_linfit(x, y, n, &a, &b, &r2);
	return json_pack("{s:i, s:o, s:{s:o, s:o, s:o}, s:s}", "runs", o->runs, "points",
			 arr, "fit", "intercept_ms", bench_num(a), "us_per_listener",
			 bench_num(b * 1000), "r2", bench_num(r2), "answer",
			 "answer: request -> the new worker serves and the old one is asked "
			 "to stop; old_exited: request -> the old worker has drained and exited");
}

/* ------------------------------------------------------------------ */
/* data plane                                                          */
/* ------------------------------------------------------------------ */

static json_t *load_json(const struct loadgen_result *r, int upgrades, int ok_upgrades,
			 const struct bench_samples *lat, const char *first_error)
{
	return json_pack("{s:i, s:i, s:I, s:I, s:o, s:I, s:{s:I, s:I, s:I, s:I}, s:I, "
			 "s:I, s:s, s:o, s:s}",
			 "upgrades", upgrades, "upgrades_ok", ok_upgrades, "requests",
			 (json_int_t)r->sent, "ok", (json_int_t)r->ok, "requests_per_s",
			 bench_num(r->elapsed_ms > 0 ? (double)r->ok * 1000.0 /
							       (double)r->elapsed_ms
						     : 0),
			 "failed", (json_int_t)loadgen_failed(r), "failed_by_class", "refused",
			 (json_int_t)r->refused, "reset", (json_int_t)r->reset, "timeout",
			 (json_int_t)r->timeout, "bad", (json_int_t)r->bad, "elapsed_ms",
			 (json_int_t)r->elapsed_ms, "max_latency_ms",
			 (json_int_t)r->max_latency_ms, "first_failure", r->first_failure,
			 "upgrade_ms", bench_stats_json(lat), "first_upgrade_error",
			 first_error);
}

static void say_load(const char *what, const struct loadgen_result *r)
{
	char sum[200];

	loadgen_summary(r, sum, sizeof sum);
	say("  %-22s %s; %.0f req/s\n", what, sum,
	    r->elapsed_ms > 0 ? (double)r->ok * 1000.0 / (double)r->elapsed_ms : 0.0);
}

static json_t *stage_dataplane(const struct opts *o, json_t *goals_out)
{
	struct scen s;
	struct scen_opts so = {0};
	struct bt_err err = {0};
	char dir[700];
	json_t *res, *st, *ws;
	struct loadgen_result base, mres, wres;
	struct bench_samples mlat = {0}, wlat = {0};
	char merr[300] = "", werr[300] = "";
	int m_ok = 0, w_ok = 0, timeout = 10000;
	uint32_t ids[2];
	pid_t pids[2], master;
	long total_failed;

	snprintf(dir, sizeof dir, "%s/dataplane", o->work);
	so.batond = o->batond;
	so.dir = dir;
	so.workers = 2;
	so.listeners = 1;
	so.upgrade_timeout_ms = timeout;
	so.load_concurrency = o->concurrency;
	say("dataplane: %d connections in flight on loopback, 2 workers\n", o->concurrency);
	if (scen_start(&s, &so, &err)) {
		say("  cannot start batond: %s\n", err.msg);
		return json_pack("{s:s}", "error", err.msg);
	}
	/* baseline: the same load, no upgrade */
	scen_load_start(&s, &err);
	proc_sleep_ms(o->quick ? 500 : 3000);
	scen_load_stop(&s);
	base = s.load.result;
	say_load("baseline (no upgrade)", &base);

	master = ctlc_status(s.sock, 2000, NULL);
	scen_load_start(&s, &err);
	proc_sleep_ms(50);
	for (int i = 0; i < o->upgrades; i++) {
		struct bench_up u;

		bench_upgrade_master(s.sock, master, timeout, true, &u);
		notifyrec_drain(&s.notify);
		proc_reap_all();
		if (u.ok) {
			m_ok++;
			bench_add(&mlat, ms(u.gone_ns));
			master = u.new_pid;
		} else {
			if (!merr[0])
				snprintf(merr, sizeof merr, "%s", u.error);
			master = ctlc_status(s.sock, 2000, NULL);
		}
	}
	proc_sleep_ms(50);
	scen_load_stop(&s);
	mres = s.load.result;
	say_load("master upgrades", &mres);

	st = NULL;
	ctlc_status(s.sock, 2000, &st);
	ws = json_object_get(json_object_get(st, "state"), "workers");
	for (size_t k = 0; k < 2; k++) {
		ids[k] = (uint32_t)json_integer_value(
			json_object_get(json_array_get(ws, k), "id"));
		pids[k] = (pid_t)json_integer_value(
			json_object_get(json_array_get(ws, k), "pid"));
	}
	json_decref(st);
	scen_load_start(&s, &err);
	proc_sleep_ms(50);
	for (int i = 0; i < o->upgrades; i++) {
		struct bench_up u;
		int k = i % 2;

		bench_upgrade_worker(s.sock, ids[k], pids[k], timeout, false, &u);
		notifyrec_drain(&s.notify);
		proc_reap_all();
		if (u.ok) {
			w_ok++;
			bench_add(&wlat, ms(u.answer_ns));
			ids[k] = u.new_id;
			pids[k] = u.new_pid;
		} else if (!werr[0]) {
			snprintf(werr, sizeof werr, "%s", u.error);
		}
	}
	proc_sleep_ms(50);
	scen_load_stop(&s);
	wres = s.load.result;
	say_load("worker upgrades", &wres);
	scen_stop(&s);

	total_failed = loadgen_failed(&mres) + loadgen_failed(&wres);
	{
		char fig[300];

		snprintf(fig, sizeof fig,
			 "%ld failed of %ld requests across %d upgrades (%d master, %d "
			 "worker; %d upgrades failed)",
			 total_failed, mres.sent + wres.sent, 2 * o->upgrades, o->upgrades,
			 o->upgrades, 2 * o->upgrades - m_ok - w_ok);
		char goal[100];

		snprintf(goal, sizeof goal, "0 failed requests across all %d upgrades",
			 2 * o->upgrades);
		json_array_append_new(goals_out,
				      json_pack("{s:s, s:s, s:b}", "goal", goal,
						"figure", fig, "met",
						total_failed == 0 &&
							m_ok + w_ok == 2 * o->upgrades));
	}
	res = json_pack("{s:i, s:i, s:o, s:o, s:o}", "concurrency", o->concurrency,
			"workers", 2, "baseline", load_json(&base, 0, 0, &mlat, ""),
			"master_upgrades", load_json(&mres, o->upgrades, m_ok, &mlat, merr),
			"worker_upgrades", load_json(&wres, o->upgrades, w_ok, &wlat, werr));
	/* the baseline ran no upgrade */
	json_object_set_new(json_object_get(res, "baseline"), "upgrade_ms",
			    json_pack("{s:i}", "n", 0));
	bench_samples_free(&mlat);
	bench_samples_free(&wlat);
	return res;
}

/* ------------------------------------------------------------------ */
/* campaign and fuzzing: other programs                                */
/* ------------------------------------------------------------------ */

/* Run ARGV with output to LOG (appended); the exit status (-1: could not
 * run) and the wall time. */
static int run_program(char *const *argv, const char *log, long long *wall_ms)
{
	struct proc_spawn ps = {.argv = argv, .log_path = log};
	struct bt_err err;
	long long t0 = proc_now_ms();
	int status;
	pid_t pid = proc_spawn(&ps, &err);

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*wall_ms = proc_now_ms() - t0;
	proc_reap_all();
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The same in directory DIR (this program is single-threaded here). */
static int run_in(const char *dir, char *const *argv, const char *log, long long *wall_ms)
{
	char cwd[4096];
	int rc;

	if (!getcwd(cwd, sizeof cwd) || chdir(dir) != 0)
		return -1;
	rc = run_program(argv, log, wall_ms);
	if (chdir(cwd) != 0)
		return -1;
	return rc;
}

static json_t *stage_campaign(const struct opts *o, json_t *goals_out)
{
	char work[700], reports[700], repro[700], log[700], path[800];
	const char *only = o->campaign_only ? o->campaign_only : o->quick ? "old/w*" : NULL;
	char *argv[16];
	int a = 0, rc;
	long long wall = 0;
	json_error_t jerr;
	json_t *doc, *sum, *res;

	snprintf(work, sizeof work, "%s/cells", o->work);
	snprintf(reports, sizeof reports, "%s/faultcheck", o->work);
	snprintf(repro, sizeof repro, "%s/repro", o->work);
	snprintf(log, sizeof log, "%s/faultcheck.log", o->work);
	unlink(log);
	argv[a++] = (char *)o->faultcheck;
	argv[a++] = "--batond";
	argv[a++] = (char *)o->batond;
	argv[a++] = "--work";
	argv[a++] = work;
	argv[a++] = "--reports";
	argv[a++] = reports;
	argv[a++] = "--repro-dir";
	argv[a++] = repro;
	if (only) {
		argv[a++] = "--only";
		argv[a++] = (char *)only;
	}
	argv[a] = NULL;
	say("campaign: %s%s%s (log: %s) ... ", o->faultcheck, only ? " --only " : "",
	    only ? only : "", log);
	rc = run_program(argv, log, &wall);
	snprintf(path, sizeof path, "%s/faultcheck.json", reports);
	doc = rc >= 0 ? json_load_file(path, 0, &jerr) : NULL;
	sum = json_object_get(doc, "summary");
	if (!sum) {
		say("no report (exit %d)\n", rc);
		json_decref(doc);
		return json_pack("{s:s, s:i}", "error",
				 rc < 0 ? "faultcheck could not run" : "no faultcheck.json",
				 "exit", rc);
	}
	res = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:I, s:i, s:s, s:s}", "cells",
			json_object_get(sum, "cells"), "passed", json_object_get(sum, "passed"),
			"failed", json_object_get(sum, "failed"), "wall_ms",
			json_object_get(sum, "wall_ms"), "cells_per_s",
			json_object_get(sum, "cells_per_s"), "jobs", json_object_get(sum, "jobs"),
			"process_wall_ms", (json_int_t)wall, "exit", rc, "only", only ? only : "",
			"report", path);
	say("%lld cells in %.1f s (%.1f cells/s, %lld jobs), %lld failed\n",
	    json_integer_value(json_object_get(sum, "cells")),
	    (double)json_integer_value(json_object_get(sum, "wall_ms")) / 1000.0,
	    json_number_value(json_object_get(sum, "cells_per_s")),
	    json_integer_value(json_object_get(sum, "jobs")),
	    json_integer_value(json_object_get(sum, "failed")));
	if (!only) {
		char fig[200];
		double s = (double)json_integer_value(json_object_get(sum, "wall_ms")) / 1000;

		snprintf(fig, sizeof fig, "%lld cells in %.1f s (%.1f cells/s, %lld jobs)",
			 json_integer_value(json_object_get(sum, "cells")), s,
			 json_number_value(json_object_get(sum, "cells_per_s")),
			 json_integer_value(json_object_get(sum, "jobs")));
		json_array_append_new(goals_out,
				      json_pack("{s:s, s:s, s:b}", "goal",
						"the full fault campaign under 30 s", "figure",
						fig, "met", s < 30.0));
	}
	json_decref(doc);
	return res;
}

/* One line of ci/fuzz-run's summary: target exec/s execs coverage... crashes
 * hangs (coverage may hold spaces). */
static json_t *fuzz_line(char *line)
{
	char *tok[16];
	int n = 0;
	char cov[200] = "";

	line[strcspn(line, "\n")] = 0;
	for (char *t = strtok(line, " "); t && n < 16; t = strtok(NULL, " "))
		tok[n++] = t;
	if (n < 5)
		return NULL;
	for (int i = 3; i < n - 2; i++) {
		strncat(cov, tok[i], sizeof cov - strlen(cov) - 2);
		if (i < n - 3)
			strcat(cov, " ");
	}
	return json_pack("{s:s, s:o, s:o, s:s, s:i, s:i}", "target", tok[0], "exec_per_s",
			 strcmp(tok[1], "?") ? json_integer(atoll(tok[1])) : json_null(),
			 "execs", strcmp(tok[2], "?") ? json_integer(atoll(tok[2])) : json_null(),
			 "coverage", cov, "crashes", atoi(tok[n - 2]), "hangs", atoi(tok[n - 1]));
}

static json_t *fuzz_engine(const struct opts *o, const char *engine, const char *tree)
{
	char work[700], log[700], path[800], secs[16], targets[256], line[512];
	char *argv[32];
	const char *variant = strcmp(engine, "afl") == 0 ? "afl" : "libfuzzer";
	int a = 0, rc;
	long long wall = 0;
	json_t *arr = json_array();
	FILE *f;

	snprintf(targets, sizeof targets, "%s", o->fuzz_targets);
	/* built? */
	for (char *t = strtok(targets, " "); t; t = strtok(NULL, " ")) {
		snprintf(path, sizeof path, "%s/%s/fuzz_%s", o->fuzz_bin_dir, variant, t);
		if (access(path, X_OK) != 0) {
			say("  %-9s not built (%s missing: make fuzz-build ENGINE=%s)\n", engine,
			    path, engine);
			json_decref(arr);
			return json_pack("{s:s, s:s}", "engine", engine, "error", "not built");
		}
	}
	snprintf(work, sizeof work, "%s/fuzz-%s", o->work, engine);
	snprintf(log, sizeof log, "%s/fuzz-%s.log", o->work, engine);
	snprintf(secs, sizeof secs, "%d", o->fuzz_seconds);
	unlink(log);
	argv[a++] = (char *)o->fuzz_run;	/* absolute */
	argv[a++] = "--engine";
	argv[a++] = (char *)engine;
	argv[a++] = "--seconds";
	argv[a++] = secs;
	argv[a++] = "--bin-dir";
	argv[a++] = (char *)o->fuzz_bin_dir;
	argv[a++] = "--work";
	argv[a++] = work;
	snprintf(targets, sizeof targets, "%s", o->fuzz_targets);
	for (char *t = strtok(targets, " "); t && a < 30; t = strtok(NULL, " "))
		argv[a++] = t;
	argv[a] = NULL;
	say("  %-9s %d s per target ... ", engine, o->fuzz_seconds);
	rc = run_in(tree, argv, log, &wall);
	snprintf(path, sizeof path, "%s/summary", work);
	f = rc >= 0 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof line, f)) {
		json_t *l = fuzz_line(line);

		if (l) {
			say("%s %lld/s  ", json_string_value(json_object_get(l, "target")),
			    json_integer_value(json_object_get(l, "exec_per_s")));
			json_array_append_new(arr, l);
		}
	}
	if (f)
		fclose(f);
	say("(exit %d, %.0f s)\n", rc, (double)wall / 1000.0);
	snprintf(path, sizeof path, "findings filed under %s/corpus/regress/ (a copy of "
		 "corpus/: the benchmark does not touch the tree; make fuzz files them)",
		 tree);
	return json_pack("{s:s, s:i, s:o, s:i, s:I, s:s, s:s}", "engine", engine, "seconds",
			 o->fuzz_seconds, "targets", arr, "exit", rc, "wall_ms",
			 (json_int_t)wall, "log", log, "note",
			 rc == 1 ? path : rc == 0 ? "" : "error: see the log");
}

/* ci/fuzz-run reads corpus/ and files what it finds into corpus/regress/,
 * relative to its working directory: it runs in a copy, so a benchmark
 * never adds files to the tree. */
static json_t *stage_fuzz(const struct opts *o)
{
	json_t *arr = json_array();
	char tree[700], log[700];
	char *rm[] = {"/bin/rm", "-rf", tree, NULL};
	char *cp[] = {"/bin/cp", "-a", "corpus", tree, NULL};
	long long wall;

	snprintf(tree, sizeof tree, "%s/fuzz-tree", o->work);
	snprintf(log, sizeof log, "%s/fuzz-tree.log", o->work);
	say("fuzz: ci/fuzz-run, one target at a time, nice -n 10 (binaries: %s; corpus: a "
	    "copy in %s)\n", o->fuzz_bin_dir, tree);
	run_program(rm, log, &wall);
	if (proc_mkdir_p(tree) || run_program(cp, log, &wall) != 0) {
		say("  cannot copy corpus/ into %s (see %s)\n", tree, log);
		json_decref(arr);
		return json_pack("{s:s}", "error", "cannot copy corpus/");
	}
	json_array_append_new(arr, fuzz_engine(o, "afl", tree));
	json_array_append_new(arr, fuzz_engine(o, "libfuzzer", tree));
	return json_pack("{s:o}", "engines", arr);
}

/* ------------------------------------------------------------------ */
/* Markdown                                                            */
/* ------------------------------------------------------------------ */

static double jget(json_t *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return json_is_number(o) ? json_number_value(o) : NAN;
}

static const char *fmt_ms(double v, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "–");
	else if (v < 10)
		snprintf(buf, len, "%.2f ms", v);
	else if (v < 100)
		snprintf(buf, len, "%.1f ms", v);
	else
		snprintf(buf, len, "%.0f ms", v);
	return buf;
}

static void md_machine(FILE *f, json_t *doc)
{
	json_t *m = json_object_get(doc, "machine");
	json_t *ls = json_object_get(doc, "load_start"), *le = json_object_get(doc, "load_end");
	json_t *busy = json_object_get(doc, "busy_at_start");
	size_t i;
	json_t *v;

	fprintf(f, "Machine: %lld × %s, Linux %s, %lld MiB; load average (1/5/15 min) "
		   "%.2f/%.2f/%.2f at start, %.2f/%.2f/%.2f at end.  Tree %s, %s, %.0f s%s.\n",
		json_integer_value(json_object_get(m, "nproc")),
		json_string_value(json_object_get(m, "cpu_model")),
		json_string_value(json_object_get(m, "kernel")),
		json_integer_value(json_object_get(m, "mem_total_mb")),
		json_number_value(json_array_get(ls, 0)), json_number_value(json_array_get(ls, 1)),
		json_number_value(json_array_get(ls, 2)), json_number_value(json_array_get(le, 0)),
		json_number_value(json_array_get(le, 1)), json_number_value(json_array_get(le, 2)),
		json_string_value(json_object_get(doc, "tree")),
		json_string_value(json_object_get(doc, "date")),
		jget(doc, "wall_s"), json_is_true(json_object_get(doc, "quick")) ? " (--quick: smoke figures, not the real ones)" : "");
	if (json_array_size(busy)) {
		fprintf(f, "Busy at start (ps %%CPU):");
		json_array_foreach(busy, i, v)
			fprintf(f, "%s `%s`", i ? ";" : "", json_string_value(v));
		fprintf(f, ".\n");
	}
}

static void md_goals(FILE *f, json_t *goals)
{
	size_t i;
	json_t *g;

	fprintf(f, "\n| goal | figure | met |\n| --- | --- | --- |\n");
	json_array_foreach(goals, i, g)
		fprintf(f, "| %s | %s | %s |\n", json_string_value(json_object_get(g, "goal")),
			json_string_value(json_object_get(g, "figure")),
			json_is_true(json_object_get(g, "met")) ? "yes" : "**no**");
}

static void md_master(FILE *f, json_t *m)
{
	size_t i;
	json_t *p;
	char a[32], b[32], c[32], d[32], e[32];

	if (!m)
		return;
	fprintf(f, "\n### Master upgrade: request → new master confirmed → old master "
		   "exited (%lld runs a point)\n\n",
		json_integer_value(json_object_get(m, "runs")));
	fprintf(f, "| handed fds | workers | median | p99 | confirmed (median) | floor "
		   "median | floor p99 | ratio | state bytes | batond memory (Pss) |\n"
		   "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	json_array_foreach(json_object_get(m, "points"), i, p)
		fprintf(f, "| %lld | %lld | %s | %s | %s | %s | %s | %.2f× | %lld | %.1f MiB |\n",
			json_integer_value(json_object_get(p, "fds")),
			json_integer_value(json_object_get(p, "workers")),
			fmt_ms(jget(p, "upgrade_ms.median"), a, sizeof a),
			fmt_ms(jget(p, "upgrade_ms.p99"), b, sizeof b),
			fmt_ms(jget(p, "confirmed_ms.median"), c, sizeof c),
			fmt_ms(jget(p, "floor_ms.median"), d, sizeof d),
			fmt_ms(jget(p, "floor_ms.p99"), e, sizeof e), jget(p, "ratio"),
			json_integer_value(json_object_get(p, "state_bytes")), jget(p, "pss_mib"));
	fprintf(f, "\nCost per fd (least squares over the medians): upgrade %.2f µs/fd "
		   "(r² %.3f), floor %.2f µs/fd; slope of the last segment %.2f µs/fd, of "
		   "the points before it %.2f µs/fd.",
		jget(m, "fit.us_per_fd"), jget(m, "fit.r2"), jget(m, "floor_fit.us_per_fd"),
		jget(m, "fit.last_segment_us_per_fd"), jget(m, "fit.before_us_per_fd"));
	if (*json_string_value(json_object_get(m, "stopped")))
		fprintf(f, "  Largest point: stopped by %s.",
			json_string_value(json_object_get(m, "stopped")));
	fprintf(f, "\n");
}

static void md_worker(FILE *f, json_t *w)
{
	size_t i;
	json_t *p;
	char a[32], b[32], c[32], d[32];

	if (!w)
		return;
	fprintf(f, "\n### Worker upgrade: request → new worker serving (answer), and → old "
		   "worker exited (%lld runs a point, 1 worker)\n\n",
		json_integer_value(json_object_get(w, "runs")));
	fprintf(f, "| listeners | answer median | p99 | old exited median | p99 |\n"
		   "| ---: | ---: | ---: | ---: | ---: |\n");
	json_array_foreach(json_object_get(w, "points"), i, p) {
		if (json_object_get(p, "error")) {
			fprintf(f, "| %lld | error: %s | | | |\n",
				json_integer_value(json_object_get(p, "listeners")),
				json_string_value(json_object_get(p, "error")));
			continue;
		}
		fprintf(f, "| %lld | %s | %s | %s | %s |\n",
			json_integer_value(json_object_get(p, "listeners")),
			fmt_ms(jget(p, "answer_ms.median"), a, sizeof a),
			fmt_ms(jget(p, "answer_ms.p99"), b, sizeof b),
			fmt_ms(jget(p, "old_exited_ms.median"), c, sizeof c),
			fmt_ms(jget(p, "old_exited_ms.p99"), d, sizeof d));
	}
	fprintf(f, "\nCost per listener (answer, least squares): %.2f µs.\n",
		jget(w, "fit.us_per_listener"));
}

static void md_codec(FILE *f, json_t *c)
{
	size_t i;
	json_t *p;

	if (!c)
		return;
	fprintf(f, "\n### State codec: MB/s of canonical JSON, median (at p99 time)\n\n");
	fprintf(f, "| workers | bytes | serialize | json_dumps | ratio | parse | json_loadb "
		   "| ratio |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	json_array_foreach(json_object_get(c, "sizes"), i, p) {
		if (json_object_get(p, "error"))
			continue;
		fprintf(f, "| %lld | %lld | %.0f (%.0f) | %.0f (%.0f) | %.2f× | %.0f (%.0f) | "
			   "%.0f (%.0f) | %.2f× |\n",
			json_integer_value(json_object_get(p, "workers")),
			json_integer_value(json_object_get(p, "bytes")),
			jget(p, "ops.serialize.mb_s"), jget(p, "ops.serialize.mb_s_at_p99"),
			jget(p, "ops.json_dumps.mb_s"), jget(p, "ops.json_dumps.mb_s_at_p99"),
			jget(p, "serialize_ratio"), jget(p, "ops.parse.mb_s"),
			jget(p, "ops.parse.mb_s_at_p99"), jget(p, "ops.json_loadb.mb_s"),
			jget(p, "ops.json_loadb.mb_s_at_p99"), jget(p, "parse_ratio"));
	}
	fprintf(f, "\nRatio: codec time over raw jansson time on the same bytes "
		   "(json_dumps of the parsed document; json_loadb + json_decref).\n");
}

static void md_dataplane(FILE *f, json_t *d)
{
	const char *phases[] = {"baseline", "master_upgrades", "worker_upgrades"};
	const char *names[] = {"no upgrade (baseline)", "master upgrades", "worker upgrades"};
	char a[32], b[32];

	if (!d)
		return;
	if (json_object_get(d, "error")) {
		fprintf(f, "\n### Data plane\n\nerror: %s\n",
			json_string_value(json_object_get(d, "error")));
		return;
	}
	fprintf(f, "\n### Data plane: loopback load, %lld requests in flight, 2 workers\n\n",
		json_integer_value(json_object_get(d, "concurrency")));
	fprintf(f, "| phase | upgrades ok | requests | req/s | failed (refused/reset/"
		   "timeout/bad) | upgrade median | p99 |\n"
		   "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (int i = 0; i < 3; i++) {
		json_t *p = json_object_get(d, phases[i]);

		char up[32];

		if (i == 0)
			snprintf(up, sizeof up, "–");
		else
			snprintf(up, sizeof up, "%lld/%lld",
				 json_integer_value(json_object_get(p, "upgrades_ok")),
				 json_integer_value(json_object_get(p, "upgrades")));
		fprintf(f, "| %s | %s | %lld | %.0f | %lld (%lld/%lld/%lld/%lld) | %s | %s |\n",
			names[i], up,
			json_integer_value(json_object_get(p, "requests")),
			jget(p, "requests_per_s"), json_integer_value(json_object_get(p, "failed")),
			(long long)jget(p, "failed_by_class.refused"),
			(long long)jget(p, "failed_by_class.reset"),
			(long long)jget(p, "failed_by_class.timeout"),
			(long long)jget(p, "failed_by_class.bad"),
			fmt_ms(jget(p, "upgrade_ms.median"), a, sizeof a),
			fmt_ms(jget(p, "upgrade_ms.p99"), b, sizeof b));
	}
	fprintf(f, "\nMaster upgrades: back to back, each until the old master exited; "
		   "worker upgrades: back to back, each until the new worker serves, "
		   "alternating the two workers.\n");
}

static void md_other(FILE *f, json_t *c, json_t *fz)
{
	size_t i, j;
	json_t *e, *t;

	if (!c && !fz)
		return;
	fprintf(f, "\n### Fault campaign and fuzzing\n\n| figure | value |\n| --- | --- |\n");
	if (c && json_object_get(c, "error"))
		fprintf(f, "| fault campaign | error: %s |\n",
			json_string_value(json_object_get(c, "error")));
	else if (c)
		fprintf(f, "| fault campaign%s%s%s | %lld cells, %.1f s, %.1f cells/s, %lld "
			   "jobs, %lld failed |\n",
			*json_string_value(json_object_get(c, "only")) ? " (--only `" : "",
			json_string_value(json_object_get(c, "only")),
			*json_string_value(json_object_get(c, "only")) ? "`)" : "",
			json_integer_value(json_object_get(c, "cells")), jget(c, "wall_ms") / 1000,
			jget(c, "cells_per_s"), json_integer_value(json_object_get(c, "jobs")),
			json_integer_value(json_object_get(c, "failed")));
	json_array_foreach(json_object_get(fz, "engines"), i, e) {
		fprintf(f, "| fuzz exec/s, %s", json_string_value(json_object_get(e, "engine")));
		if (json_object_get(e, "error")) {
			fprintf(f, " | %s |\n", json_string_value(json_object_get(e, "error")));
			continue;
		}
		fprintf(f, " (%lld s a target) | ", json_integer_value(json_object_get(e, "seconds")));
		json_array_foreach(json_object_get(e, "targets"), j, t) {
			long long cr = json_integer_value(json_object_get(t, "crashes"));

			fprintf(f, "%s%s %lld", j ? ", " : "",
				json_string_value(json_object_get(t, "target")),
				json_integer_value(json_object_get(t, "exec_per_s")));
			if (cr)
				fprintf(f, " (%lld crash%s: it stopped there)", cr,
					cr > 1 ? "es" : "");
		}
		if (json_array_size(json_object_get(e, "targets")) == 0)
			fprintf(f, "no figures (exit %lld; log %s)",
				json_integer_value(json_object_get(e, "exit")),
				json_string_value(json_object_get(e, "log")));
		fprintf(f, " |\n");
	}
}

static int write_md(const struct opts *o, json_t *doc)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/bench.md", o->reports);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "## Benchmarks (`make bench`)\n\n");
	md_machine(f, doc);
	md_goals(f, json_object_get(doc, "goals"));
	md_master(f, json_object_get(doc, "master_upgrade"));
	md_worker(f, json_object_get(doc, "worker_upgrade"));
	md_codec(f, json_object_get(doc, "codec"));
	md_dataplane(f, json_object_get(doc, "dataplane"));
	md_other(f, json_object_get(doc, "campaign"), json_object_get(doc, "fuzz"));
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------------ */

/* Copy SRC into DIR/NAME (mode kept) and point *PATH there: a rebuild of
 * the tree during the run (make all by someone else) then cannot mix two
 * versions of batond in one set of figures, nor cut a script in half. */
static int snapshot(const char *dir, const char *name, const char **path, char *buf,
		    size_t len)
{
	char *argv[] = {"/bin/cp", "-p", (char *)*path, buf, NULL};
	long long wall;

	snprintf(buf, len, "%s/%s", dir, name);
	unlink(buf);
	if (run_program(argv, "/dev/null", &wall) != 0)
		return -1;
	*path = buf;
	return 0;
}

/* "04275bc" or "04275bc+dirty" (tracked files modified), "" without git. */
static void tree_version(char *out, size_t len)
{
	char rev[64] = "";
	int dirty = 0;
	FILE *p = popen("git rev-parse --short HEAD 2>/dev/null", "r");

	if (p) {
		if (!fgets(rev, sizeof rev, p))
			rev[0] = 0;
		pclose(p);
	}
	rev[strcspn(rev, "\n")] = 0;
	p = popen("git status --porcelain --untracked-files=no 2>/dev/null | wc -l", "r");
	if (p) {
		if (fscanf(p, "%d", &dirty) != 1)
			dirty = 0;
		pclose(p);
	}
	snprintf(out, len, "%s%s", rev, rev[0] && dirty ? "+dirty" : "");
}

static int parse_stages(const char *list, unsigned *out)
{
	char buf[256];

	*out = 0;
	snprintf(buf, sizeof buf, "%s", list);
	for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
		size_t i;

		for (i = 0; i < 6; i++)
			if (strcmp(t, stage_names[i]) == 0)
				break;
		if (i == 6)
			return -1;
		*out |= 1u << i;
	}
	return *out ? 0 : -1;
}

static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* The command line as run, for bench.json. */
static void command_line(int argc, char **argv, char *out, size_t len)
{
	size_t at = (size_t)snprintf(out, len, "bench");

	for (int i = 1; i < argc && at < len; i++)
		at += (size_t)snprintf(out + at, len - at, " %s", argv[i]);
}

/* 0 to go on, or the exit status (0 after --help, 2 on a bad option). */
static int parse_options(int argc, char **argv, struct opts *o)
{
	const char *only = NULL;
	const struct cliopt table[] = {
		{"--quick", CLIOPT_FLAG, &o->quick, 0, 0, false},
		{"--only", CLIOPT_STR, &only, 0, 0, false},
		{"--runs", CLIOPT_INT, &o->runs, 1, 1000000, false},
		{"--max-workers", CLIOPT_INT, &o->max_workers, 0, 1000000, false},
		{"--max-listeners", CLIOPT_INT, &o->max_listeners, 1, 1000000, false},
		{"--upgrades", CLIOPT_INT, &o->upgrades, 1, 1000000, false},
		{"--concurrency", CLIOPT_INT, &o->concurrency, 1, 1000000, false},
		{"--fuzz-seconds", CLIOPT_INT, &o->fuzz_seconds, 0, 1000000, false},
		{"--fuzz-targets", CLIOPT_STR, &o->fuzz_targets, 0, 0, false},
		{"--fuzz-bin-dir", CLIOPT_STR, &o->fuzz_bin_dir, 0, 0, false},
		{"--campaign-only", CLIOPT_STR, &o->campaign_only, 0, 0, true},
		{"--batond", CLIOPT_STR, &o->batond, 0, 0, false},
		{"--faultcheck", CLIOPT_STR, &o->faultcheck, 0, 0, false},
		{"--fuzz-run", CLIOPT_STR, &o->fuzz_run, 0, 0, false},
		{"--reports", CLIOPT_STR, &o->reports, 0, 0, false},
		{"--work", CLIOPT_STR, &o->work, 0, 0, false},
	};
	struct bt_err err;

	switch (cliopt_parse(table, sizeof table / sizeof table[0], argc, argv, &err)) {
	case CLIOPT_HELP:
		printf("%s", usage);
		return 0;
	case CLIOPT_ERROR:
		fprintf(stderr, "bench: %s (bench --help lists the options)\n", err.msg);
		return 2;
	case CLIOPT_OK:
		break;
	}
	if (only && parse_stages(only, &o->stages)) {
		fprintf(stderr, "bench: --only \"%s\": expected stages among "
				"codec,master,worker,dataplane,campaign,fuzz\n", only);
		return 2;
	}
	return -1;
}

/* What --quick and the absence of an option mean. */
static void apply_defaults(struct opts *o)
{
	if (o->runs < 0)
		o->runs = o->quick ? 9 : 101;
	if (o->upgrades < 0)
		o->upgrades = o->quick ? 10 : 100;
	if (o->fuzz_seconds < 0)
		o->fuzz_seconds = o->quick ? 2 : 10;
	if (!o->fuzz_targets)
		o->fuzz_targets = o->quick ? "state" : "state frame manifest main_args spec";
	/* mk/fuzz.mk builds into build/fuzz/source when jansson's source
	 * is unpacked, build/fuzz/system otherwise */
	if (!o->fuzz_bin_dir)
		o->fuzz_bin_dir = access("build/jansson-src/src/jansson.h", F_OK) == 0
					  ? "build/fuzz/source"
					  : "build/fuzz/system";
	if (o->fuzz_seconds == 0)
		o->stages &= ~(unsigned)ST_FUZZ;
}

/* Paths made absolute (cells chdir nowhere, but paths end up in socket
 * names), the programs under test copied into WORK/bin.  Storage is
 * static: main uses it until the end.  0, or 2 with a message. */
static int resolve_paths(struct opts *o)
{
	static char batond[PATH_MAX], faultcheck[PATH_MAX], self[PATH_MAX];
	static char selfexe[PATH_MAX], buf[PATH_MAX], work[PATH_MAX];
	static char reports[PATH_MAX], fuzz_bin[PATH_MAX], fuzz_run[PATH_MAX];
	static char bin_dir[PATH_MAX + 8], snap[3][PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	self[n > 0 ? n : 0] = 0;
	strcpy(selfexe, self);
	if (strrchr(self, '/'))
		*strrchr(self, '/') = 0;
	/* batond and faultcheck beside this program unless named */
	if (!o->batond)
		snprintf(batond, sizeof batond, "%s/batond", self);
	else
		snprintf(batond, sizeof batond, "%s", proc_absolute(o->batond, buf, sizeof buf));
	o->batond = batond;
	o->self = selfexe;
	if (!o->faultcheck) {
		snprintf(faultcheck, sizeof faultcheck, "%s/faultcheck", self);
		o->faultcheck = faultcheck;
	}
	o->work = strcpy(work, proc_absolute(o->work, buf, sizeof buf));
	o->fuzz_run = strcpy(fuzz_run, proc_absolute(o->fuzz_run, buf, sizeof buf));
	o->reports = strcpy(reports, proc_absolute(o->reports, buf, sizeof buf));
	o->fuzz_bin_dir = strcpy(fuzz_bin, proc_absolute(o->fuzz_bin_dir, buf, sizeof buf));
	if (access(o->batond, X_OK) != 0) {
		fprintf(stderr, "bench: %s: not an executable (make first)\n", o->batond);
		return 2;
	}
	if (proc_mkdir_p(o->work) || proc_mkdir_p(o->reports)) {
		fprintf(stderr, "bench: cannot create %s or %s\n", o->work, o->reports);
		return 2;
	}
	if (strlen(o->work) > BENCH_WORK_MAX) {
		fprintf(stderr, "bench: --work %s: too long for the sockets under it "
				"(%d bytes at most)\n", o->work, BENCH_WORK_MAX);
		return 2;
	}
	snprintf(bin_dir, sizeof bin_dir, "%s/bin", o->work);
	if (proc_mkdir_p(bin_dir) ||
	    snapshot(bin_dir, "batond", &o->batond, snap[0], sizeof snap[0]) ||
	    ((o->stages & ST_CAMPAIGN) && access(o->faultcheck, X_OK) == 0 &&
	     snapshot(bin_dir, "faultcheck", &o->faultcheck, snap[1], sizeof snap[1])) ||
	    ((o->stages & ST_FUZZ) && access(o->fuzz_run, X_OK) == 0 &&
	     snapshot(bin_dir, "fuzz-run", &o->fuzz_run, snap[2], sizeof snap[2]))) {
		fprintf(stderr, "bench: cannot copy the programs under test into %s\n",
			bin_dir);
		return 2;
	}
	return 0;
}

/* "N × CPU, Linux X, load L at start" for the plots. */
static void describe_machine(struct opts *o)
{
	json_t *m = bench_machine_json(), *l = bench_loadavg_json();

	snprintf(o->machine, sizeof o->machine, "%lld × %s, Linux %s, load %.2f at start%s",
		 json_integer_value(json_object_get(m, "nproc")),
		 json_string_value(json_object_get(m, "cpu_model")),
		 json_string_value(json_object_get(m, "kernel")),
		 json_number_value(json_array_get(l, 0)), o->quick ? ", --quick" : "");
	json_decref(m);
	json_decref(l);
}

/* The codec goal, over every size and both directions: the worst ratio. */
static void codec_goal(json_t *doc, json_t *goals)
{
	json_t *p, *worst_p = NULL;
	size_t i;
	double worst = 0;
	const char *dir = "";
	char fig[200];

	json_array_foreach(json_object_get(json_object_get(doc, "codec"), "sizes"), i, p) {
		if (jget(p, "serialize_ratio") > worst)
			worst = jget(p, "serialize_ratio"), worst_p = p, dir = "serialize";
		if (jget(p, "parse_ratio") > worst)
			worst = jget(p, "parse_ratio"), worst_p = p, dir = "parse";
	}
	if (!worst_p)
		return;
	snprintf(fig, sizeof fig, "worst: %s at %lld workers, %.2f× raw jansson", dir,
		 json_integer_value(json_object_get(worst_p, "workers")), worst);
	json_array_insert_new(goals, 2 < json_array_size(goals) ? 2 : json_array_size(goals),
			      json_pack("{s:s, s:s, s:b}", "goal",
					"codec at most 1.5× raw jansson (every size, "
					"both directions)",
					"figure", fig, "met", worst <= 1.5));
}

int main(int argc, char **argv)
{
	struct opts o = {
		.stages = ST_ALL,
		.runs = -1,
		.max_workers = 2048,
		.max_listeners = 1024,
		.upgrades = -1,
		.concurrency = 8,
		.fuzz_seconds = -1,
		.fuzz_run = "ci/fuzz-run",
		.reports = "build/reports",
		.work = "build/bench-run",
	};
	struct bt_err err;
	json_t *doc, *goals;
	long long t0 = proc_now_ms();
	char cmd[1024], version[96], date[64], path[PATH_MAX + 16];
	time_t now = time(NULL);
	int rc;

	if (argc == 4 && !strcmp(argv[1], "--floor-helper"))
		return bench_floor_helper(argv[2], argv[3]);
	command_line(argc, argv, cmd, sizeof cmd);
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	apply_defaults(&o);
	if (resolve_paths(&o))
		return 2;
	tree_version(version, sizeof version);
	if (proc_become_subreaper(&err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 2;
	}
	raise_fd_limit();
	json_guard_init();
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	describe_machine(&o);
	goals = json_array();
	doc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "command", cmd, "date",
			date, "tree", version, "batond", o.batond, "quick", o.quick, "machine", bench_machine_json(), "load_start",
			bench_loadavg_json(), "busy_at_start", bench_busiest_json(4));
	say("bench%s: batond %s, reports %s, work %s\n", o.quick ? " (quick)" : "",
	    o.batond, o.reports, o.work);
	if (o.stages & ST_CODEC)
		json_object_set_new(doc, "codec", stage_codec(&o));
	if (o.stages & ST_MASTER)
		json_object_set_new(doc, "master_upgrade", stage_master(&o, goals));
	if (o.stages & ST_WORKER)
		json_object_set_new(doc, "worker_upgrade", stage_worker(&o));
	if (o.stages & ST_DATAPLANE)
		json_object_set_new(doc, "dataplane", stage_dataplane(&o, goals));
	if (o.stages & ST_CAMPAIGN)
		json_object_set_new(doc, "campaign", stage_campaign(&o, goals));
	if (o.stages & ST_FUZZ)
		json_object_set_new(doc, "fuzz", stage_fuzz(&o));

	codec_goal(doc, goals);
	json_object_set_new(doc, "goals", goals);
	json_object_set_new(doc, "load_end", bench_loadavg_json());
	json_object_set_new(doc, "wall_s", bench_num((double)(proc_now_ms() - t0) / 1000.0));
	snprintf(path, sizeof path, "%s/bench.json", o.reports);
	if (json_dump_file(doc, path, JSON_INDENT(1)) != 0)
		fprintf(stderr, "bench: cannot write %s\n", path);
	if (write_md(&o, doc))
		fprintf(stderr, "bench: cannot write %s/bench.md\n", o.reports);
	say("bench: %s and bench.md written (%.0f s)\n", path,
	    (double)(proc_now_ms() - t0) / 1000.0);
	json_decref(doc);
	proc_kill_tree(getpid(), 3000);
	proc_reap_all();
	return 0;
}
