/* campaign: see campaign.h. */
#include "campaign/campaign.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign/catalogue.h"
#include "lib/proc.h"
#include "contract/scenario.h"

#define MAX_HIT_KEYS 256
#define CELL_VIOLATIONS 8

/* hits of one (process, point) in the clean run of one scenario */
struct hit_count {
	enum scenario_kind scen;
	char role[FP_ROLE_MAX];
	char point[FP_NAME_MAX];
	unsigned hits;
};

struct hits {
	struct hit_count v[MAX_HIT_KEYS];
	size_t n;
};

struct cell {
	int id;
	const struct cat_row *row;
	struct fp_spec spec;
	char text[160];		/* the spec as given to BATON_FAULTS */
	/* results of the last run */
	bool ran, fired, upgraded, pass;
	char step[48];
	int errnum;
	struct violation v[CELL_VIOLATIONS];
	size_t n_v;
	char problem[300];	/* a failure that is not a clause */
	long long wall_ms;
	int runs, failures;
};

struct campaign {
	const struct campaign_opts *o;
	struct catalogue cat;
	struct hits hits;
	struct cell *cells;
	size_t n_cells;
	char **errors;		/* catalogue and trace problems */
	size_t n_errors;
	size_t skipped_rows;	/* libc-layer rows without the preload */
	long long t0;
};

static void add_error(struct campaign *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct campaign *c, const char *fmt, ...)
{
	char buf[512];
	char **p = realloc(c->errors, (c->n_errors + 1) * sizeof *p);
	va_list ap;

	if (!p)
		return;
	c->errors = p;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	c->errors[c->n_errors++] = strdup(buf);
	fprintf(stderr, "faultcheck: %s\n", buf);
}

/* --- 1: catalogue against the code --- */

static int code_points(const char *batond, char ***out, size_t *n)
{
	char cmd[600], line[128];
	FILE *p;

	*out = NULL;
	*n = 0;
	snprintf(cmd, sizeof cmd, "'%s' list-points", batond);
	p = popen(cmd, "re");
	if (!p)
		return -1;
	while (fgets(line, sizeof line, p)) {
		char **v = realloc(*out, (*n + 1) * sizeof *v);

		line[strcspn(line, "\n")] = 0;
		if (!v)
			break;
		*out = v;
		(*out)[(*n)++] = strdup(line);
	}
	return pclose(p) == 0 ? 0 : -1;
}

static bool libfiu_known(const char *point)
{
	for (size_t i = 0; fp_posix_points[i]; i++)
		if (strcmp(fp_posix_points[i], point) == 0)
			return true;
	return false;
}

static void check_catalogue(struct campaign *c)
{
	char **code;
	size_t n;

	if (code_points(c->o->batond, &code, &n)) {
		add_error(c, "cannot list the fault points of %s", c->o->batond);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t r = 0; r < c->cat.n && !found; r++)
			found = strcmp(c->cat.rows[r].point, code[i]) == 0;
		if (!found)
			add_error(c, "point %s is in batond but not in %s", code[i],
				  c->o->catalogue);
	}
	for (size_t r = 0; r < c->cat.n; r++) {
		const char *pt = c->cat.rows[r].point;
		bool found = catalogue_is_libfiu_point(pt) ? libfiu_known(pt) : false;

		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(code[i], pt) == 0;
		if (!found)
			add_error(c, "%s:%d: point %s is not in batond (nor a known libfiu "
				  "point)", c->o->catalogue, c->cat.rows[r].line, pt);
	}
	for (size_t i = 0; i < n; i++)
		free(code[i]);
	free(code);
}

/* --- 2: trace --- */

static void cell_opts(const struct campaign_opts *o, const char *dir,
		      const char *faults, struct scen_opts *so)
{
	memset(so, 0, sizeof *so);
	so->batond = o->batond;
	so->dir = dir;
	so->workers = 2;
	so->listeners = 1;
	so->upgrade_timeout_ms = o->upgrade_timeout_ms;
	so->faults = faults;
	so->trace = true;
	so->preload = !o->no_preload;
	so->hang_seconds = 30;
	so->load_concurrency = 2;
}

static void run_opts(enum scenario_kind k, const struct cat_row *row,
		     const struct fp_spec *spec, struct scen_run_opts *r)
{
	memset(r, 0, sizeof *r);
	r->kind = k == SCEN_WORKER ? UPGRADE_WORKER : UPGRADE_MASTER;
	r->binary = k == SCEN_MASTER_FAIL ? "/bin/false" : NULL;
	r->worker_id = 0;
	r->expect = row ? row->expect
			: (k == SCEN_MASTER_FAIL ? EXPECT_ROLLED_BACK : EXPECT_UPGRADED);
	r->fault = spec;
	r->report = row ? row->report : REPORT_ANY;
	r->load_ms_before = 20;
}

static void count_hit(struct hits *h, enum scenario_kind k, const char *role,
		      const char *point, unsigned n)
{
	for (size_t i = 0; i < h->n; i++) {
		struct hit_count *e = &h->v[i];

		if (e->scen == k && !strcmp(e->role, role) && !strcmp(e->point, point)) {
			if (n > e->hits)
				e->hits = n;
			return;
		}
	}
	if (h->n < MAX_HIT_KEYS) {
		struct hit_count *e = &h->v[h->n++];

		e->scen = k;
		snprintf(e->role, sizeof e->role, "%s", role);
		snprintf(e->point, sizeof e->point, "%s", point);
		e->hits = n;
	}
}

static unsigned hits_of(const struct hits *h, enum scenario_kind k,
			const char *role, const char *point)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].scen == k && !strcmp(h->v[i].role, role) &&
		    !strcmp(h->v[i].point, point))
			return h->v[i].hits;
	return 0;
}

/* Trace lines: "hit PID ROLE POINT N" and "fire PID ROLE POINT N KIND". */
static void read_trace(const char *path, enum scenario_kind k, struct hits *h)
{
	FILE *f = fopen(path, "re");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char kind[8], role[FP_ROLE_MAX], point[FP_NAME_MAX];
		unsigned n;
		int pid;

		if (sscanf(line, "%7s %d %15s %63s %u", kind, &pid, role, point, &n) == 5 &&
		    strcmp(kind, "hit") == 0)
			count_hit(h, k, role, point, n);
	}
	fclose(f);
}

static bool trace_fired(const char *path, const struct fp_spec *s,
			const char *role)
{
	FILE *f = fopen(path, "re");
	char line[256];
	bool fired = false;

	if (!f)
		return false;
	while (!fired && fgets(line, sizeof line, f)) {
		char kind[8], r[FP_ROLE_MAX], point[FP_NAME_MAX];
		unsigned n;
		int pid;

		if (sscanf(line, "%7s %d %15s %63s %u", kind, &pid, r, point, &n) == 5)
			fired = !strcmp(kind, "fire") && !strcmp(point, s->point) &&
				!strcmp(r, role);
	}
	fclose(f);
	return fired;
}

static bool scenario_used(const struct catalogue *cat, enum scenario_kind k)
{
	for (size_t i = 0; i < cat->n; i++)
		if (cat->rows[i].scenario == k)
			return true;
	return false;
}

static int trace_scenarios(struct campaign *c)
{
	for (int k = 0; k < SCEN_COUNT; k++) {
		struct scen_opts so;
		struct scen_run_opts r;
		struct scen_result res;
		char dir[600], trace[700];

		if (!scenario_used(&c->cat, (enum scenario_kind)k))
			continue;
		snprintf(dir, sizeof dir, "%s/trace-%s", c->o->work_dir,
			 scenario_name((enum scenario_kind)k));
		cell_opts(c->o, dir, NULL, &so);
		run_opts((enum scenario_kind)k, NULL, NULL, &r);
		if (scen_run(&so, &r, &res)) {
			add_error(c, "trace run of scenario %s could not start: %s",
				  scenario_name((enum scenario_kind)k), res.error);
			return -1;
		}
		for (size_t i = 0; i < res.report.n; i++)
			add_error(c, "the clean %s scenario breaks the contract: %s: %s",
				  scenario_name((enum scenario_kind)k), res.report.v[i].clause,
				  res.report.v[i].reason);
		snprintf(trace, sizeof trace, "%s/trace", dir);
		read_trace(trace, (enum scenario_kind)k, &c->hits);
		scen_result_free(&res);
	}
	return 0;
}

/* --- 3: cells --- */

static bool role_in_spec(const char *point)
{
	return catalogue_is_libfiu_point(point) || strcmp(point, "mem/alloc") == 0;
}

static int add_cell(struct campaign *c, const struct cat_row *row, unsigned n,
		    enum fp_mode mode)
{
	struct cell *v = realloc(c->cells, (c->n_cells + 1) * sizeof *v);
	struct cell *cell;

	if (!v)
		return -1;
	c->cells = v;
	cell = &c->cells[c->n_cells];
	memset(cell, 0, sizeof *cell);
	cell->row = row;
	if (role_in_spec(row->point))
		snprintf(cell->spec.role, sizeof cell->spec.role, "%s", row->process);
	snprintf(cell->spec.point, sizeof cell->spec.point, "%s", row->point);
	cell->spec.nth = n;
	cell->spec.kind = row->kind;
	cell->spec.errnum = row->errnum;
	cell->spec.mode = mode;
	fp_spec_format(&cell->spec, cell->text, sizeof cell->text);
	cell->id = (int)c->n_cells;
	c->n_cells++;
	return 0;
}

/* Points hit more than SAMPLE_FULL times in one upgrade (the allocators:
 * mem/alloc, libc/mm/malloc) are sampled unless --exhaustive: every N up to
 * SAMPLE_HEAD, then evenly spaced up to the last hit, which is always in. */
#define SAMPLE_FULL 32
#define SAMPLE_HEAD 16

static unsigned next_n(const struct campaign_opts *o, unsigned n, unsigned hits)
{
	unsigned step;

	if (o->exhaustive || hits <= SAMPLE_FULL || n < SAMPLE_HEAD)
		return n + 1;
	step = (hits - SAMPLE_HEAD + (SAMPLE_FULL - SAMPLE_HEAD) - 1) /
	       (SAMPLE_FULL - SAMPLE_HEAD);
	if (n + step >= hits && n != hits)
		return hits;
	return n + (step ? step : 1);
}

static void make_cells(struct campaign *c)
{
	size_t index = 0;

	for (size_t i = 0; i < c->cat.n; i++) {
		const struct cat_row *row = &c->cat.rows[i];
		unsigned hits = hits_of(&c->hits, row->scenario, row->process, row->point);

		if ((c->o->no_preload && catalogue_is_libfiu_point(row->point)) ||
		    (c->o->skip_points && fnmatch(c->o->skip_points, row->point, 0) == 0)) {
			/* said, and counted as skipped, never as passed */
			c->skipped_rows++;
			continue;
		}
		if (hits == 0) {
			add_error(c, "%s:%d: %s never fired in the %s process of a clean %s "
				  "run", c->o->catalogue, row->line, row->point, row->process,
				  scenario_name(row->scenario));
			continue;
		}
		for (unsigned n = 1; n <= hits; n = next_n(c->o, n, hits)) {
			for (int m = 0; m < 2; m++) {
				size_t before = c->n_cells;

				if ((m == 0 && !row->transient) || (m == 1 && !row->persistent))
					continue;
				if (add_cell(c, row, n, m ? FP_PERSISTENT : FP_TRANSIENT))
					return;
				/* --only and --shard select; the ids stay global, so
				 * the shards of one campaign merge (baton report merge) */
				c->cells[before].id = (int)index;
				if ((c->o->only &&
				     fnmatch(c->o->only, c->cells[before].text, 0) != 0) ||
				    (int)(index++ % (size_t)c->o->shard_n) != c->o->shard_i - 1)
					c->n_cells = before;
			}
		}
	}
}

/* The cell's own process: run the scenario, write result.json. */
static void cell_main(const struct campaign_opts *o, const struct cell *cell,
		      const char *dir)
{
	struct scen_opts so;
	struct scen_run_opts r;
	struct scen_result res;
	char trace[700], path[700];
	json_t *out, *vs;
	FILE *f;

	proc_become_subreaper(NULL);
	cell_opts(o, dir, cell->text, &so);
	run_opts(cell->row->scenario, cell->row, &cell->spec, &r);
	scen_run(&so, &r, &res);
	snprintf(trace, sizeof trace, "%s/trace", dir);
	vs = json_array();
	for (size_t i = 0; i < res.report.n; i++)
		json_array_append_new(vs, json_pack("{s:s, s:s}", "clause",
						    res.report.v[i].clause, "reason",
						    res.report.v[i].reason));
	out = json_pack("{s:b, s:b, s:b, s:s, s:I, s:o, s:s, s:I}", "ran", res.ran,
			"fired", trace_fired(trace, &cell->spec, cell->row->process),
			"upgraded", res.up.ok, "step",
			json_string_value(json_object_get(res.up.answer, "step"))
				? json_string_value(json_object_get(res.up.answer, "step"))
				: "",
			"errno",
			(json_int_t)json_integer_value(json_object_get(res.up.answer, "errno")),
			"violations", vs, "error", res.error, "wall_ms", (json_int_t)res.wall_ms);
	snprintf(path, sizeof path, "%s/result.json", dir);
	f = fopen(path, "we");
	if (f) {
		json_dumpf(out, f, JSON_INDENT(1));
		fclose(f);
	}
	json_decref(out);
	scen_result_free(&res);
}

static void cell_dir(const struct campaign_opts *o, const struct cell *c,
		     char *buf, size_t len)
{
	snprintf(buf, len, "%s/cells/%04d", o->work_dir, c->id);
}

static void read_result(const struct campaign_opts *o, struct cell *c)
{
	char dir[600], path[700];
	json_t *r, *v;
	size_t i;

	cell_dir(o, c, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/result.json", dir);
	r = json_load_file(path, 0, NULL);
	c->runs++;
	c->n_v = 0;
	c->problem[0] = 0;
	if (!r) {
		snprintf(c->problem, sizeof c->problem, "the cell left no result (%s)", path);
		c->pass = false;
		c->failures++;
		return;
	}
	c->ran = json_is_true(json_object_get(r, "ran"));
	c->fired = json_is_true(json_object_get(r, "fired"));
	c->upgraded = json_is_true(json_object_get(r, "upgraded"));
	snprintf(c->step, sizeof c->step, "%s",
		 json_string_value(json_object_get(r, "step")) ?: "");
	c->errnum = (int)json_integer_value(json_object_get(r, "errno"));
	c->wall_ms = json_integer_value(json_object_get(r, "wall_ms"));
	json_array_foreach(json_object_get(r, "violations"), i, v) {
		if (c->n_v == CELL_VIOLATIONS)
			break;
		snprintf(c->v[c->n_v].clause, sizeof c->v[0].clause, "%s",
			 json_string_value(json_object_get(v, "clause")));
		snprintf(c->v[c->n_v].reason, sizeof c->v[0].reason, "%s",
			 json_string_value(json_object_get(v, "reason")));
		c->n_v++;
	}
	if (!c->ran)
		snprintf(c->problem, sizeof c->problem, "setup failed: %s",
			 json_string_value(json_object_get(r, "error")));
	else if (!c->fired)
		snprintf(c->problem, sizeof c->problem,
			 "the fault never fired (hit %u of %s in the %s process)",
			 c->spec.nth, c->spec.point, c->row->process);
	c->pass = c->ran && c->fired && c->n_v == 0;
	if (!c->pass)
		c->failures++;
	json_decref(r);
}

struct running {
	pid_t pid;
	struct cell *cell;
	long long started;
};

static void progress(const struct campaign *c, size_t done, size_t total,
		     size_t failed, bool final)
{
	long long ms = proc_now_ms() - c->t0;
	double rate = ms > 0 ? done * 1000.0 / ms : 0;
	bool tty = isatty(2);

	if (!tty && !final && done % 50 != 0)
		return;
	/* the rate so far, applied to the cells left: a guess, said as one */
	double eta = rate > 0 && done < total ? (total - done) / rate : 0;

	fprintf(stderr, "%s[%4zu/%zu] %5.1f cells/s  %zu failed  %4.1fs  ETA %3.0fs%s",
		tty ? "\r" : "", done, total, rate, failed, ms / 1000.0, eta,
		tty && !final ? "" : "\n");
}

static pid_t start_cell(const struct campaign_opts *o, struct cell *cell)
{
	char dir[600];
	pid_t pid;

	cell_dir(o, cell, dir, sizeof dir);
	proc_mkdir_p(dir);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		cell_main(o, cell, dir);
		_exit(0);
	}
	return pid;
}

/* Run the cells in CELLS (pointers), up to jobs at a time. */
static void run_cells(struct campaign *c, struct cell **cells, size_t n)
{
	struct running *run = calloc((size_t)c->o->jobs, sizeof *run);
	size_t next = 0, done = 0, failed = 0, active = 0;

	while (done < n) {
		for (int j = 0; j < c->o->jobs && next < n; j++) {
			if (run[j].pid > 0)
				continue;
			run[j].cell = cells[next++];
			run[j].pid = start_cell(c->o, run[j].cell);
			run[j].started = proc_now_ms();
			active++;
		}
		for (int j = 0; j < c->o->jobs; j++) {
			int status;

			if (run[j].pid <= 0)
				continue;
			pid_t r = waitpid(run[j].pid, &status, WNOHANG);

			/* ECHILD: reaped with the orphans below, also done */
			if (r != run[j].pid && !(r < 0 && errno == ECHILD)) {
				if (proc_now_ms() - run[j].started < c->o->cell_timeout_ms)
					continue;
				/* a stuck cell: its whole tree goes, by pid */
				proc_kill_tree(run[j].pid, 2000);
				kill(run[j].pid, SIGKILL);
				waitpid(run[j].pid, &status, 0);
			}
			/* orphans of the cell were re-parented to us: none may stay */
			proc_reap_all();
			read_result(c->o, run[j].cell);
			if (!run[j].cell->pass)
				failed++;
			run[j].pid = 0;
			active--;
			done++;
			progress(c, done, n, failed, false);
			if (c->o->verbose && !run[j].cell->pass)
				fprintf(stderr, "\nFAIL %s\n", run[j].cell->text);
		}
		if (active == (size_t)c->o->jobs || next == n)
			proc_sleep_ms(2);
	}
	progress(c, done, n, failed, true);
	free(run);
}

/* --- 4 and 5: reruns and reports --- */

static void rerun_failures(struct campaign *c)
{
	struct cell **failed = calloc(c->n_cells + 1, sizeof *failed);
	size_t n = 0;

	for (size_t i = 0; i < c->n_cells; i++)
		if (!c->cells[i].pass)
			failed[n++] = &c->cells[i];
	if (n) {
		fprintf(stderr, "rerunning %zu failing cell(s) twice\n", n);
		for (int round = 0; round < 2; round++)
			run_cells(c, failed, n);
	}
	free(failed);
}

static const char *verdict(const struct cell *c)
{
	if (c->failures == 0)
		return "pass";
	return c->failures == c->runs ? "deterministic" : "flaky";
}

static void repro_line(const struct campaign_opts *o, const struct cell *c,
		       char *buf, size_t len)
{
	if (o->repro_cmd)
		snprintf(buf, len, "%s '%s'%s%s", o->repro_cmd, c->text,
			 o->batond_given ? " --batond " : "",
			 o->batond_given ? o->batond : "");
	else
		snprintf(buf, len, "make repro FAULT='%s'%s%s", c->text,
			 o->batond_given ? " BATOND=" : "", o->batond_given ? o->batond : "");
}

static json_t *cell_json(const struct campaign_opts *o, const struct cell *c)
{
	json_t *vs = json_array(), *j;
	char repro[256], dir[600];

	for (size_t i = 0; i < c->n_v; i++)
		json_array_append_new(vs, json_pack("{s:s, s:s}", "clause", c->v[i].clause,
						    "reason", c->v[i].reason));
	if (c->problem[0])
		json_array_append_new(vs, json_pack("{s:s, s:s}", "clause", "-", "reason",
						    c->problem));
	repro_line(o, c, repro, sizeof repro);
	cell_dir(o, c, dir, sizeof dir);
	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:b, "
			 "s:s, s:o, s:I, s:s, s:i, s:i}",
			 "id", c->id, "spec", c->text, "point", c->spec.point, "process",
			 c->row->process, "scenario", scenario_name(c->row->scenario),
			 "n", (int)c->spec.nth, "kind", fp_kind_name(c->spec.kind), "mode",
			 c->spec.mode == FP_PERSISTENT ? "persistent" : "transient",
			 "expect", c->row->expect == EXPECT_UPGRADED ? "upgrade"
				   : c->row->expect == EXPECT_ROLLED_BACK ? "rollback" : "either",
			 "outcome", !c->ran ? "not run" : c->upgraded ? "upgraded" : "rolled back",
			 "fired", c->fired, "verdict", verdict(c), "violations", vs,
			 "wall_ms", (json_int_t)c->wall_ms, "repro", repro,
			 "runs", c->runs, "failed_runs", c->failures);
	/* where its batond.log, trace and events are (the HTML report links them) */
	json_object_set_new(j, "artifacts", json_string(dir));
	return j;
}

static void write_json(struct campaign *c, long long wall, size_t failed)
{
	char path[600];
	json_t *cells = json_array(), *errs = json_array(), *root;

	for (size_t i = 0; i < c->n_cells; i++)
		json_array_append_new(cells, cell_json(c->o, &c->cells[i]));
	for (size_t i = 0; i < c->n_errors; i++)
		json_array_append_new(errs, json_string(c->errors[i]));
	root = json_pack("{s:{s:I, s:I, s:I, s:I, s:o, s:I, s:f, s:i, s:s, s:s, s:s}, s:o}",
			 "summary", "cells", (json_int_t)c->n_cells, "skipped_rows",
			 (json_int_t)c->skipped_rows, "passed",
			 (json_int_t)(c->n_cells - failed), "failed", (json_int_t)failed,
			 "errors", errs, "wall_ms", (json_int_t)wall, "cells_per_s",
			 wall > 0 ? c->n_cells * 1000.0 / wall : 0.0, "jobs", c->o->jobs,
			 "shard", "", "only", c->o->only ? c->o->only : "", "batond",
			 c->o->batond, "cells", cells);
	json_object_set_new(json_object_get(root, "summary"), "shard",
			    json_sprintf("%d/%d", c->o->shard_i, c->o->shard_n));
	proc_mkdir_p(c->o->report_dir);
	snprintf(path, sizeof path, "%s/faultcheck.json", c->o->report_dir);
	if (json_dump_file(root, path, JSON_INDENT(1)) != 0)
		fprintf(stderr, "faultcheck: cannot write %s\n", path);
	json_decref(root);
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void write_junit(struct campaign *c, long long wall, size_t failed)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof path, "%s/faultcheck.xml", c->o->report_dir);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuites><testsuite name=\"faultcheck\" tests=\"%zu\" "
		   "failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
		c->n_cells, failed, c->n_errors, wall / 1000.0);
	for (size_t i = 0; i < c->n_errors; i++) {
		fprintf(f, " <testcase classname=\"faultcheck.setup\" name=\"catalogue-%zu\">"
			   "<error message=\"", i);
		xml_escape(f, c->errors[i]);
		fprintf(f, "\"/></testcase>\n");
	}
	for (size_t i = 0; i < c->n_cells; i++) {
		const struct cell *cell = &c->cells[i];
		char repro[256];

		fprintf(f, " <testcase classname=\"faultcheck.");
		xml_escape(f, cell->spec.point);
		fprintf(f, "\" name=\"");
		xml_escape(f, cell->text);
		fprintf(f, "\" time=\"%.3f\"", cell->wall_ms / 1000.0);
		if (cell->pass) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, "><failure message=\"%s\">", verdict(cell));
		for (size_t k = 0; k < cell->n_v; k++) {
			fprintf(f, "%s: ", cell->v[k].clause);
			xml_escape(f, cell->v[k].reason);
			fputc('\n', f);
		}
		xml_escape(f, cell->problem);
		repro_line(c->o, cell, repro, sizeof repro);
		fputc('\n', f);
		xml_escape(f, repro);
		fprintf(f, "</failure></testcase>\n");
	}
	fprintf(f, "</testsuite></testsuites>\n");
	fclose(f);
}

static char cell_symbol(const struct cell *c)
{
	if (c->pass)
		return c->upgraded ? 'u' : '.';
	if (!c->fired && c->ran)
		return 'n';
	return c->failures == c->runs ? 'F' : 'f';
}

/* Long rows (sampled allocators) as "32x." when every symbol is the same. */
static void compact(char *row)
{
	size_t n = strlen(row);

	if (n <= 40)
		return;
	for (size_t i = 1; i < n; i++)
		if (row[i] != row[0])
			return;
	snprintf(row, n + 1, "%zux%c", n, row[0]);
}

/* One line per catalogue row: a symbol per cell, transient then persistent. */
static void print_matrix(const struct campaign *c)
{
	fprintf(stderr, "\n%-22s %-6s %-11s %-17s %s\n", "point", "proc", "scenario",
		"kind", "transient N=1.. | persistent N=1..");
	for (size_t r = 0; r < c->cat.n; r++) {
		const struct cat_row *row = &c->cat.rows[r];
		char kind[40], t[400] = "", p[400] = "";
		size_t nt = 0, np = 0;

		for (size_t i = 0; i < c->n_cells; i++) {
			const struct cell *cell = &c->cells[i];

			if (cell->row != row)
				continue;
			if (cell->spec.mode == FP_TRANSIENT && nt < sizeof t - 1)
				t[nt++] = cell_symbol(cell);
			else if (np < sizeof p - 1)
				p[np++] = cell_symbol(cell);
		}
		if (nt + np == 0)
			continue;
		t[nt] = p[np] = 0;
		compact(t);
		compact(p);
		if (row->kind == FP_ERROR)
			snprintf(kind, sizeof kind, "error=%s", err_errno_name(row->errnum));
		else
			snprintf(kind, sizeof kind, "%s", fp_kind_name(row->kind));
		fprintf(stderr, "%-22s %-6s %-11s %-17s %s%s%s\n", row->point, row->process,
			scenario_name(row->scenario), kind, t, np ? " | " : "", p);
	}
	fprintf(stderr, "legend: . rolled back as expected, u upgraded as expected, "
			"F failed every run, f flaky, n never fired\n");
}

static void print_failures(const struct campaign *c)
{
	for (size_t i = 0; i < c->n_cells; i++) {
		const struct cell *cell = &c->cells[i];
		char repro[256];

		if (cell->pass)
			continue;
		repro_line(c->o, cell, repro, sizeof repro);
		fprintf(stderr, "\nFAIL %s (%s, %d of %d runs failed)\n", cell->text,
			verdict(cell), cell->failures, cell->runs);
		for (size_t k = 0; k < cell->n_v; k++)
			fprintf(stderr, "  %s: %s\n", cell->v[k].clause, cell->v[k].reason);
		if (cell->problem[0])
			fprintf(stderr, "  %s\n", cell->problem);
		fprintf(stderr, "  repro: %s\n", repro);
	}
}

static int finish(struct campaign *c)
{
	long long wall = proc_now_ms() - c->t0;
	size_t failed = 0;

	for (size_t i = 0; i < c->n_cells; i++)
		failed += !c->cells[i].pass;
	print_matrix(c);
	print_failures(c);
	write_json(c, wall, failed);
	write_junit(c, wall, failed);
	fprintf(stderr, "\nfaultcheck: %zu cells, %zu passed, %zu failed, %zu setup "
			"error(s), %.1f s, %.1f cells/s (%d jobs, shard %d/%d)\n"
			"reports: %s/faultcheck.json %s/faultcheck.xml\n",
		c->n_cells, c->n_cells - failed, failed, c->n_errors, wall / 1000.0,
		wall > 0 ? c->n_cells * 1000.0 / wall : 0.0, c->o->jobs, c->o->shard_i,
		c->o->shard_n, c->o->report_dir, c->o->report_dir);
	return failed || c->n_errors ? 1 : 0;
}

static int prepare(struct campaign *c)
{
	struct bt_err err;

	if (proc_become_subreaper(&err) ||
	    catalogue_load(c->o->catalogue, &c->cat, &err)) {
		fprintf(stderr, "faultcheck: %s\n", err.msg);
		return -1;
	}
	if (access(c->o->batond, X_OK) != 0) {
		fprintf(stderr, "faultcheck: %s is not an executable\n", c->o->batond);
		return -1;
	}
	proc_mkdir_p(c->o->work_dir);
	return 0;
}

int campaign_run(const struct campaign_opts *o)
{
	struct campaign c = {.o = o, .t0 = proc_now_ms()};
	struct cell **all;
	int rc;

	if (prepare(&c))
		return 2;
	check_catalogue(&c);
	fprintf(stderr, "faultcheck: tracing a clean run of each scenario\n");
	if (trace_scenarios(&c))
		return 2;
	make_cells(&c);
	if (o->list_only) {
		for (size_t i = 0; i < c.n_cells; i++)
			printf("%s\n", c.cells[i].text);
		return c.n_errors ? 1 : 0;
	}
	fprintf(stderr, "faultcheck: %zu cells from %zu catalogue rows, %d jobs\n",
		c.n_cells, c.cat.n, o->jobs);
	if (c.skipped_rows)
		fprintf(stderr, "faultcheck: SKIPPED %zu catalogue rows (%s%s%s)\n",
			c.skipped_rows, o->no_preload ? "--no-preload: the libc layer" : "",
			o->no_preload && o->skip_points ? ", " : "",
			o->skip_points ? "--skip-points" : "");
	all = calloc(c.n_cells + 1, sizeof *all);
	for (size_t i = 0; i < c.n_cells; i++)
		all[i] = &c.cells[i];
	run_cells(&c, all, c.n_cells);
	free(all);
	rerun_failures(&c);
	rc = finish(&c);
	for (size_t i = 0; i < c.n_errors; i++)
		free(c.errors[i]);
	free(c.errors);
	free(c.cells);
	catalogue_free(&c.cat);
	return rc;
}

/* --- repro --- */

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return;
	fputs(text ? text : "", f);
	fclose(f);
}

static void write_fds(const char *dir, const char *name, const struct observation *o)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "# fd table of pid %d (/proc), fd cloexec target\n", (int)o->master);
	for (size_t i = 0; i < o->n_fds; i++)
		fprintf(f, "%d %s %s\n", o->fds[i].fd, o->fds[i].cloexec ? "cloexec" : "inherit",
			o->fds[i].target);
	if (o->status) {
		char *inv = json_dumps(json_object_get(o->status, "fds"), JSON_INDENT(1));

		fprintf(f, "# the master's own inventory\n%s\n", inv ? inv : "");
		free(inv);
	}
	fclose(f);
}

void campaign_repro_dir(const struct campaign_opts *o, const char *spec,
			char *dir, size_t len)
{
	snprintf(dir, len, "%s/", o->repro_dir);
	for (const char *p = spec; *p && strlen(dir) < len - 2; p++)
		dir[strlen(dir) + 1] = 0, dir[strlen(dir)] = (*p == '/' || *p == ':' ||
							      *p == '=' || *p == '@') ? '_' : *p;
}

static enum scenario_kind guess_scenario(const char *point)
{
	return strncmp(point, "worker/", 7) == 0 ? SCEN_WORKER : SCEN_MASTER;
}

int campaign_repro(const struct campaign_opts *o, const char *spec_text)
{
	struct campaign c = {.o = o};
	struct fp_spec spec;
	struct bt_err err;
	struct cat_row adhoc = {0};
	const struct cat_row *row;
	struct scen_opts so;
	struct scen_run_opts r;
	struct scen_result res;
	char dir[600], copy[700], trace[700], line[600];
	char *extra[2] = {copy, NULL};

	if (fp_spec_parse(spec_text, &spec, &err)) {
		fprintf(stderr, "repro: %s\n", err.msg);
		return 2;
	}
	if (prepare(&c))
		return 2;
	row = catalogue_find(&c.cat, &spec);
	if (!row) {
		fprintf(stderr, "repro: %s is not in %s: judged by C1-C9 only\n",
			spec_text, o->catalogue);
		snprintf(adhoc.point, sizeof adhoc.point, "%s", spec.point);
		snprintf(adhoc.process, sizeof adhoc.process, "%s",
			 spec.role[0] ? spec.role : "old");
		adhoc.scenario = guess_scenario(spec.point);
		adhoc.expect = EXPECT_ANY;
		row = &adhoc;
	}
	campaign_repro_dir(o, spec_text, dir, sizeof dir);
	proc_mkdir_p(dir);
	snprintf(copy, sizeof copy, "BATON_STATE_COPY=%s/state.json", dir);
	cell_opts(o, dir, spec_text, &so);
	so.extra_env = extra;
	run_opts(row->scenario, row, &spec, &r);
	fprintf(stderr, "repro: %s (process %s, scenario %s), artifacts in %s\n",
		spec_text, row->process, scenario_name(row->scenario), dir);
	if (scen_run(&so, &r, &res)) {
		fprintf(stderr, "repro: setup failed: %s\n", res.error);
		return 2;
	}
	snprintf(trace, sizeof trace, "%s/trace", dir);
	write_fds(dir, "fds-old-master-before.txt", &res.before);
	write_fds(dir, "fds-survivor-after.txt", &res.after);
	write_text(dir, "notify.txt", res.notify);
	loadgen_summary(&res.load, line, sizeof line);
	write_text(dir, "load.txt", line);
	{
		char *a = res.up.answer ? json_dumps(res.up.answer, JSON_INDENT(1)) : NULL;

		write_text(dir, "answer.json", a ? a : res.up.answer_error);
		free(a);
	}
	fprintf(stderr, "  answer:   %s\n", res.up.ok ? "upgraded" : "rolled back");
	fprintf(stderr, "  fired:    %s\n",
		trace_fired(trace, &spec, row->process) ? "yes" : "NO (the fault never fired)");
	fprintf(stderr, "  load:     %s\n", line);
	fprintf(stderr, "  files:    batond.log trace notify.txt load.txt answer.json "
			"state.json fds-old-master-before.txt fds-survivor-after.txt\n");
	for (size_t i = 0; i < res.report.n; i++)
		fprintf(stderr, "  VIOLATED %s: %s\n", res.report.v[i].clause,
			res.report.v[i].reason);
	fprintf(stderr, "repro: %zu clause(s) violated\n", res.report.n);
	{
		size_t n = res.report.n;

		scen_result_free(&res);
		catalogue_free(&c.cat);
		return n ? 1 : 0;
	}
}
