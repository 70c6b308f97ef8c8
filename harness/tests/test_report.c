/* test_report: baton, the front end, and the reports people look at.
 *
 * - the timeline model from a trace and an events file (tracks named,
 *   events placed), and the watcher that stamps a process's exit;
 * - baton faultcheck on the no-waitpid mutant (the campaign's can-fail
 *   cell): exit 1, and the HTML shows that cell failing, its C6 zombie,
 *   its repro line and its timeline (fork, the fault firing, the child's
 *   exit), with a trace.json Perfetto reads; on the real batond the same
 *   cell passes and has no timeline;
 * - a headless Chromium lays the page out with one square per cell of
 *   the report (skipped, and said, when Chromium is not installed; the
 *   screenshot stays in BUILD/reports/browser/);
 * - report merge: shards become one report; a missing or repeated shard
 *   fails it; two real shards of one campaign merge without an id twice;
 * - exit codes of every subcommand, and make install into a directory:
 *   the installed baton finds its pieces there and runs a cell from
 *   outside the tree. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/proc.h"
#include "lib/timeline.h"
#include "report/timeline.h"
#include "tests/testutil.h"

#define SUITE "test_report"
#define CELL "child/exec@1:error=ENOENT:transient"
#define CHROMIUM "/usr/bin/chromium"

static char baton[PATH_MAX], mutant[PATH_MAX], build[PATH_MAX], top[PATH_MAX];
static char out[262144];

static int run(const char *cmd)
{
	FILE *p = popen(cmd, "re");
	size_t n = 0;
	int status;

	assert_non_null(p);
	while (n + 1 < sizeof out && !feof(p))
		n += fread(out + n, 1, sizeof out - 1 - n, p);
	out[n] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* run, and show what it said when it failed */
static int run_said(const char *cmd)
{
	int rc = run(cmd);

	if (rc != 0)
		fprintf(stderr, "%s: exit %d\n%s\n", cmd, rc, out);
	return rc;
}

static char *slurp(const char *path)
{
	static char buf[4 << 20];

	assert_int_equal(tu_read_text(path, buf, sizeof buf), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static json_t *event_of(const json_t *model, const char *kind, const char *track)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(model, "events"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "kind")), kind) &&
		    (!track || !strcmp(json_string_value(json_object_get(e, "track")), track)))
			return e;
	return NULL;
}

static const char *track_name(const json_t *model, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(model, "tracks"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "id")), id))
			return json_string_value(json_object_get(t, "name"));
	return NULL;
}

/* --- the model, from files --- */

static void timeline_from_files(void **state)
{
	const char *dir = tu_dir(SUITE, "model");
	char path[600];
	FILE *f;
	struct bt_err err;
	json_t *m, *e;

	(void)state;
	snprintf(path, sizeof path, "%s/events", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs("1000000 100 alive parent 1 comm batond\n"
	      "1000010 101 alive parent 100 comm batond\n"
	      "1000020 100 role old master\n1000021 101 role worker 0\n"
	      "1000030 100 pidfile 100\n1000100 0 request {\"command\":\"upgrade-main\"}\n"
	      "1000250 200 seen parent 100 comm batond\n1000400 200 exit \n"
	      "1000500 0 answer new/args\n1000120 100 notify RELOADING=1|MONOTONIC_USEC=1\n"
	      "1000450 0 load reset: connection reset by peer\n"
	      "1000600 300 seen parent 100 comm batond\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/trace", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs("hit 100 old old/fork 1 1000200\nhit 100 old libc/mm/malloc 7 1000201\n"
	      "hit 200 new new/args 1 1000300\nfire 200 new new/args 1 error 1000301\n"
	      "hit 100 old old/confirm-read 1 1000350\nhit 100 old garbage\n"
	      "hit 100 old worker/spawn 1 1000550\nhit 300 worker worker/ready 1 1000650\n", f);
	fclose(f);
	m = tlr_build(dir, &err);
	assert_non_null(m);
	assert_string_equal(track_name(m, "p100"), "old master");
	assert_string_equal(track_name(m, "p101"), "worker 0");
	/* hit as a new master: named so, with the exec placed at its first point */
	assert_string_equal(track_name(m, "p200"), "new master");
	/* seen at 250 us, after the old master's fork at 200 us: its life
	 * starts at the fork */
	assert_true(json_real_value(json_object_get(json_array_get(json_object_get(m,
		"tracks"), 1), "from_ms")) == 0.2);
	e = event_of(m, "exec", "p200");
	assert_non_null(e);
	assert_true(json_real_value(json_object_get(e, "ms")) == 0.3);
	assert_non_null(event_of(m, "fork", "p100"));
	/* a worker the old master spawned, seen after the spawn */
	assert_string_equal(track_name(m, "p300"), "new worker");
	assert_non_null(event_of(m, "fault", "p200"));
	assert_non_null(event_of(m, "exit", "p200"));
	assert_non_null(event_of(m, "confirm", "p100"));
	assert_non_null(event_of(m, "notify", "p100"));
	assert_non_null(event_of(m, "load", "load"));
	assert_non_null(event_of(m, "request", "harness"));
	assert_non_null(event_of(m, "pidfile", "pidfile"));
	/* the allocator's hit is counted, not drawn */
	assert_int_equal(json_integer_value(json_object_get(m, "hits")), 1);
	assert_null(event_of(m, "point", "p100"));
	/* time zero is the first event; the span reaches the last */
	assert_true(json_real_value(json_object_get(m, "span_ms")) == 0.65);
	json_decref(m);
	assert_int_equal(tlr_write_trace(dir, "t", &err), 0);
	snprintf(path, sizeof path, "%s/trace.json", dir);
	m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	assert_true(json_array_size(json_object_get(m, "traceEvents")) > 10);
	json_decref(m);
}

/* The watcher stamps an exit when it happens, and a pid file change. */
static void watcher_stamps_exit(void **state)
{
	const char *dir = tu_dir(SUITE, "watch");
	char events[600], pidfile[600], want[64];
	struct tl_watch w;
	long long forked, exited = 0;
	pid_t child;
	char *text, *line;

	(void)state;
	snprintf(events, sizeof events, "%s/events", dir);
	snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
	assert_int_equal(tl_watch_start(&w, events, pidfile, getpid()), 0);
	forked = tl_now_us();
	child = fork();
	if (child == 0) {
		proc_sleep_ms(60);
		_exit(0);
	}
	assert_true(child > 0);
	assert_int_equal(tu_write_script(pidfile, "4242\n"), 0);
	waitpid(child, NULL, 0);
	/* a stamp taken at the stop instead of the exit would be 300 ms late */
	proc_sleep_ms(300);
	tl_watch_stop(&w);
	text = slurp(events);
	snprintf(want, sizeof want, " %d seen parent %d", (int)child, (int)getpid());
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, " 4242 pidfile 4242"));
	assert_non_null(strstr(text, " 0 pidfile missing"));
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		long long t;
		int pid;

		if (sscanf(line, "%lld %d exit", &t, &pid) == 2 && pid == child &&
		    strstr(line, " exit"))
			exited = t;
	}
	/* it slept 60 ms; stamped at its end, not at the stop */
	assert_true(exited >= forked + 60000);
	assert_true(exited < forked + 60000 + 200000);
}

/* --- baton faultcheck and the HTML --- */

static void faultcheck_cmd(char *cmd, size_t len, const char *batond, const char *dir,
			   const char *extra)
{
	snprintf(cmd, len, "'%s' faultcheck --batond '%s' --jobs 1 --out '%s' %s 2>&1",
		 baton, batond, dir, extra);
}

static void failing_cell_in_html(void **state)
{
	const char *dir = tu_dir(SUITE, "mutant");
	char cmd[2048], path[700];
	json_t *r, *cell, *tl, *e, *tj;
	const char *html;

	(void)state;
	faultcheck_cmd(cmd, sizeof cmd, mutant, dir, "--only '" CELL "'");
	assert_int_equal(run(cmd), 1);
	assert_non_null(strstr(out, "report: "));
	snprintf(path, sizeof path, "%s/reports/faultcheck.json", dir);
	r = json_load_file(path, 0, NULL);
	assert_non_null(r);
	cell = json_array_get(json_object_get(r, "cells"), 0);
	assert_string_equal(json_string_value(json_object_get(cell, "verdict")),
			    "deterministic");
	/* its timeline: the old master forks, the fault fires, the child
	 * the mutant never reaps exits */
	tl = json_object_get(cell, "timeline");
	assert_non_null(tl);
	assert_non_null(track_name(tl, "harness"));
	e = event_of(tl, "fault", NULL);
	assert_non_null(e);
	assert_non_null(strstr(json_string_value(json_object_get(e, "label")), "child/exec@1"));
	assert_string_equal(track_name(tl, json_string_value(json_object_get(e, "track"))),
			    "old master");
	assert_non_null(event_of(tl, "fork", NULL));
	e = event_of(tl, "exit", NULL);
	assert_non_null(e);
	assert_non_null(strstr(track_name(tl, json_string_value(json_object_get(e, "track"))),
			       "child"));
	assert_non_null(event_of(tl, "notify", NULL));
	assert_non_null(event_of(tl, "answer", "harness"));
	/* trace.json beside the cell's artifacts */
	tj = json_load_file(json_string_value(json_object_get(cell, "trace_json")), 0, NULL);
	assert_non_null(tj);
	{
		char *text = json_dumps(tj, JSON_COMPACT);

		assert_non_null(strstr(text, "\"thread_name\""));
		assert_non_null(strstr(text, "\"upgrade in flight\""));
		free(text);
	}
	json_decref(tj);
	/* the page */
	snprintf(path, sizeof path, "%s/reports/faultcheck.html", dir);
	html = slurp(path);
	assert_int_equal(count(html, "<a class=\"cell fail\""), 1);
	assert_non_null(strstr(html, "<section class=\"detail open\""));
	assert_non_null(strstr(html, "<b>C6</b> zombie pid"));
	assert_non_null(strstr(html, "make repro FAULT=&#39;" CELL "&#39;"));
	assert_int_equal(count(html, "<svg class=\"timeline\""), 1);
	assert_non_null(strstr(html, "<g class=\"ev ev-fault\">"));
	assert_non_null(strstr(html, "child/exec@1 error fired"));
	assert_non_null(strstr(html, "href=\"../cells/cells/0000/batond.log\""));
	/* self-contained: nothing to fetch */
	assert_null(strstr(html, "<script src"));
	assert_null(strstr(html, "<link "));
	assert_null(strstr(html, "<img "));
	json_decref(r);
}

static void passing_cell_has_no_timeline(void **state)
{
	const char *dir = tu_dir(SUITE, "reference");
	char cmd[2048], path[700];
	const char *html;

	(void)state;
	faultcheck_cmd(cmd, sizeof cmd, tu_batond(), dir, "--only '" CELL "'");
	assert_int_equal(run_said(cmd), 0);
	snprintf(path, sizeof path, "%s/reports/faultcheck.html", dir);
	html = slurp(path);
	assert_int_equal(count(html, "<a class=\"cell ok-rb\""), 1);
	assert_int_equal(count(html, "<svg class=\"timeline\""), 0);
	/* unless asked for */
	snprintf(cmd, sizeof cmd, "'%s' report --json '%s/reports/faultcheck.json' "
		 "--all-timelines 2>&1", baton, dir);
	assert_int_equal(run(cmd), 0);
	html = slurp(path);
	assert_int_equal(count(html, "<svg class=\"timeline\""), 1);
}

/* Chromium lays out one square per cell and the failing cell's timeline. */
static void browser_renders_matrix(void **state)
{
	const char *dir = tu_dir(SUITE, "mutant");
	char cmd[4096], page[700], shots[PATH_MAX], udd[700], want[64];
	json_t *r;
	long long cells, failed;

	(void)state;
	if (access(CHROMIUM, X_OK) != 0) {
		printf("[  SKIP    ] browser_renders_matrix: %s is not installed "
		       "(ci/install-deps browser)\n", CHROMIUM);
		fflush(stdout);
		skip();
	}
	snprintf(page, sizeof page, "%s/reports/faultcheck.html", dir);
	if (access(page, R_OK) != 0) {
		/* run alone (TEST_FILTER): make the mutant's report first */
		faultcheck_cmd(cmd, sizeof cmd, mutant, dir, "--only 'child/exec@1:*'");
		assert_int_equal(run(cmd), 1);
	}
	snprintf(cmd, sizeof cmd, "%s/reports/faultcheck.json", dir);
	r = json_load_file(cmd, 0, NULL);
	assert_non_null(r);
	cells = json_integer_value(json_object_get(json_object_get(r, "summary"), "cells"));
	failed = json_integer_value(json_object_get(json_object_get(r, "summary"), "failed"));
	json_decref(r);
	snprintf(udd, sizeof udd, "%s/chromium-profile", dir);
	snprintf(shots, sizeof shots, "%s/reports/browser", build);
	proc_mkdir_p(shots);
#define FLAGS "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run " \
	"--disable-background-networking --disable-component-update --disable-sync " \
	"--window-size=1400,2000"
	snprintf(cmd, sizeof cmd, "timeout 90 %s " FLAGS " --user-data-dir='%s' --dump-dom "
		 "'file://%s' 2>/dev/null", CHROMIUM, udd, page);
	assert_int_equal(run(cmd), 0);
	/* a timeline per failing cell */
	snprintf(want, sizeof want, "rendered: %lld cells, %lld timelines", cells, failed);
	if (!strstr(out, want))
		fprintf(stderr, "wanted \"%s\" in the DOM; got: %.300s\n", want,
			strstr(out, "id=\"rendered\"") ? strstr(out, "id=\"rendered\"") : "none");
	assert_non_null(strstr(out, want));
	snprintf(cmd, sizeof cmd, "timeout 90 %s " FLAGS " --user-data-dir='%s' "
		 "--screenshot='%s/faultcheck.png' 'file://%s' >/dev/null 2>&1", CHROMIUM, udd,
		 shots, page);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/faultcheck.png", shots);
	{
		char head[8] = {0};
		FILE *f = fopen(cmd, "re");
		struct stat st;

		assert_non_null(f);
		assert_int_equal(fread(head, 1, 8, f), 8);
		fclose(f);
		assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
		assert_int_equal(stat(cmd, &st), 0);
		assert_true(st.st_size > 10000);
	}
	printf("screenshot: %s/faultcheck.png\n", shots);
}

/* --- merge --- */

static void write_shard(const char *path, const char *shard, int id, const char *verdict)
{
	json_t *r = json_pack(
		"{s:{s:i, s:i, s:i, s:i, s:[], s:i, s:f, s:i, s:s, s:s, s:s},"
		" s:[{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:s, s:[],"
		" s:i, s:s, s:i, s:i}]}",
		"summary", "cells", 1, "skipped_rows", 0, "passed", !strcmp(verdict, "pass"),
		"failed", strcmp(verdict, "pass") != 0, "errors", "wall_ms", 1000,
		"cells_per_s", 1.0, "jobs", 1, "shard", shard, "only", "", "batond", "b",
		"cells", "id", id, "spec", "old/write@1:error=EIO:transient", "point",
		"old/write", "process", "old", "scenario", "master", "n", id, "kind", "error",
		"mode", "transient", "expect", "rollback", "outcome", "rolled back", "fired", 1,
		"verdict", verdict, "violations", "wall_ms", 10, "repro", "r", "runs", 1,
		"failed_runs", 0);

	assert_int_equal(json_dump_file(r, path, 0), 0);
	json_decref(r);
}

static void merge_shards(void **state)
{
	const char *dir = tu_dir(SUITE, "merge");
	char cmd[2048], a[600], b[600], c[600], path[700];
	json_t *m;

	(void)state;
	snprintf(a, sizeof a, "%s/shard-1.json", dir);
	snprintf(b, sizeof b, "%s/shard-2.json", dir);
	snprintf(c, sizeof c, "%s/shard-2-again.json", dir);
	write_shard(a, "1/2", 0, "pass");
	write_shard(b, "2/2", 1, "pass");
	write_shard(c, "2/2", 2, "pass");
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m' '%s' '%s' 2>&1", baton, dir, b, a);
	assert_int_equal(run(cmd), 0);
	snprintf(path, sizeof path, "%s/m/faultcheck.json", dir);
	m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	assert_int_equal(json_array_size(json_object_get(m, "cells")), 2);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(m, "cells"), 0), "id")), 0);
	json_decref(m);
	snprintf(path, sizeof path, "%s/m/faultcheck.xml", dir);
	assert_non_null(strstr(slurp(path), "tests=\"2\" failures=\"0\" errors=\"0\""));
	snprintf(path, sizeof path, "%s/m/faultcheck.html", dir);
	assert_int_equal(count(slurp(path), "<a class=\"cell "), 2);
	/* a shard missing: its cells were never judged */
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m1' '%s' 2>&1", baton, dir, a);
	assert_int_equal(run(cmd), 1);
	snprintf(path, sizeof path, "%s/m1/faultcheck.json", dir);
	assert_non_null(strstr(slurp(path), "shard 2/2 is missing"));
	/* a shard twice */
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m2' '%s' '%s' '%s' 2>&1", baton,
		 dir, a, b, c);
	assert_int_equal(run(cmd), 1);
	snprintf(path, sizeof path, "%s/m2/faultcheck.json", dir);
	assert_non_null(strstr(slurp(path), "shard 2/2 given twice"));
	/* a failing cell in one shard fails the merge */
	write_shard(b, "2/2", 1, "deterministic");
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m3' '%s' '%s' 2>&1", baton, dir, a, b);
	assert_int_equal(run(cmd), 1);
	/* not a report at all */
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m4' '%s/events' 2>&1", baton, dir,
		 dir);
	assert_int_equal(run(cmd), 2);
}

/* Two real shards of one campaign merge into the whole: the cell ids are
 * global (a shard's ids used to restart at 0, so two shards' cells
 * collided in the merge). */
static void merge_real_shards(void **state)
{
	const char *dir = tu_dir(SUITE, "shards");
	char cmd[2048], extra[128], path[700];
	json_t *m, *c;
	size_t i;

	(void)state;
	for (int k = 1; k <= 2; k++) {
		char out_dir[600];

		snprintf(out_dir, sizeof out_dir, "%s/s%d", dir, k);
		snprintf(extra, sizeof extra, "--only 'child/exec@1:error=E*' --shard %d/2", k);
		faultcheck_cmd(cmd, sizeof cmd, tu_batond(), out_dir, extra);
		assert_int_equal(run(cmd), 0);
	}
	snprintf(cmd, sizeof cmd, "'%s' report merge -o '%s/m' '%s/s1/reports/faultcheck.json' "
		 "'%s/s2/reports/faultcheck.json' 2>&1", baton, dir, dir, dir);
	assert_int_equal(run_said(cmd), 0);
	snprintf(path, sizeof path, "%s/m/faultcheck.json", dir);
	m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	/* ENOENT, EACCES, ENOEXEC x transient, persistent */
	assert_int_equal(json_array_size(json_object_get(m, "cells")), 6);
	assert_int_equal(json_array_size(json_object_get(json_object_get(m, "summary"),
							 "errors")), 0);
	json_array_foreach(json_object_get(m, "cells"), i, c)
		if (i > 0)
			assert_true(json_integer_value(json_object_get(c, "id")) >
				    json_integer_value(json_object_get(
					    json_array_get(json_object_get(m, "cells"), i - 1), "id")));
	json_decref(m);
}

/* --- exit codes and the installed layout --- */

static void exit_codes(void **state)
{
	static const struct {
		const char *args;
		int rc;
		const char *says;
	} cases[] = {
		{"", 2, "usage: baton COMMAND"},
		{"--help", 0, "usage: baton COMMAND"},
		{"bogus", 2, "unknown command \"bogus\""},
		{"faultcheck --bogus", 2, "unexpected argument \"--bogus\""},
		{"faultcheck --help", 0, "--all-timelines"},
		{"repro", 2, "usage: baton repro"},
		{"repro --help", 0, "usage: baton repro"},
		{"report --json /nonexistent/faultcheck.json", 2, "cannot read the report"},
		{"report --help", 0, "report merge"},
		{"report merge", 2, "no shard given"},
		{"target", 2, "usage: baton target check"},
		{"target check nosuch", 1, "neither a file"},
		{"target check /nonexistent/x.target", 1, "cannot read"},
		/* a file: no parser in this build yet, so never a pass */
		{"target check faults/catalogue", 2, "nothing was checked"},
		{"target check reference", 0, "built-in target"},
		{"version", 0, "layout:    source tree"},
		{"version --help", 0, "usage: baton version"},
		{"bench --bogus", 2, ""},
	};
	char cmd[1024];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;

		snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", baton, cases[i].args);
		rc = run(cmd);
		if (rc != cases[i].rc || !strstr(out, cases[i].says))
			fprintf(stderr, "baton %s: exit %d (want %d), said: %.400s\n",
				cases[i].args, rc, cases[i].rc, out);
		assert_int_equal(rc, cases[i].rc);
		assert_non_null(strstr(out, cases[i].says));
	}
}

static void installed_outside_the_tree(void **state)
{
	const char *dir = tu_dir(SUITE, "install");
	char cmd[4096], path[700];
	json_t *r, *cell;

	(void)state;
	snprintf(cmd, sizeof cmd, "cd '%s' && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s "
		 "install BUILD='%s' PREFIX=/usr DESTDIR='%s/root' 2>&1", top, build, dir);
	assert_int_equal(run_said(cmd), 0);
	snprintf(cmd, sizeof cmd, "cd / && '%s/root/usr/bin/baton' version", dir);
	assert_int_equal(run(cmd), 0);
	assert_non_null(strstr(out, "layout:    installed"));
	snprintf(path, sizeof path, "batond:    %s/root/usr/sbin/batond", dir);
	assert_non_null(strstr(out, path));
	snprintf(path, sizeof path, "catalogue: %s/root/usr/share/baton/catalogue", dir);
	assert_non_null(strstr(out, path));
	/* one cell, run from a directory that is no source tree */
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s/root/usr/bin/baton' faultcheck --jobs 1 "
		 "--only '" CELL "' 2>&1", dir, dir);
	assert_int_equal(run_said(cmd), 0);
	snprintf(path, sizeof path, "%s/baton-out/reports/faultcheck.json", dir);
	r = json_load_file(path, 0, NULL);
	assert_non_null(r);
	cell = json_array_get(json_object_get(r, "cells"), 0);
	assert_string_equal(json_string_value(json_object_get(cell, "repro")),
			    "baton repro '" CELL "'");
	json_decref(r);
	snprintf(path, sizeof path, "%s/root/usr/share/man/man1/baton.1", dir);
	assert_int_equal(access(path, R_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeline_from_files),
		cmocka_unit_test(watcher_stamps_exit),
		cmocka_unit_test(failing_cell_in_html),
		cmocka_unit_test(passing_cell_has_no_timeline),
		cmocka_unit_test(browser_renders_matrix),
		cmocka_unit_test(merge_shards),
		cmocka_unit_test(merge_real_shards),
		cmocka_unit_test(exit_codes),
		cmocka_unit_test(installed_outside_the_tree),
	};
	int failures;

	if (tu_setup())
		return 1;
	snprintf(baton, sizeof baton, "%s", tu_beside_self("baton"));
	snprintf(mutant, sizeof mutant, "%s",
		 tu_beside_self("mutants/no-waitpid/build/batond"));
	if (!realpath(tu_beside_self("."), build) || !getcwd(top, sizeof top) || access(mutant, X_OK) != 0) {
		fprintf(stderr, "the mutant %s is not built (make tests builds it)\n", mutant);
		return 1;
	}
	tu_filter();
	failures = cmocka_run_group_tests(tests, NULL, NULL);
	tu_cleanup(SUITE, failures);
	return failures;
}
