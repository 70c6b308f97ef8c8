/* html: see html.h. */
#include "report/html.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/timeline.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static bool cell_failed(const json_t *c)
{
	return strcmp(str(c, "verdict"), "pass") != 0;
}

size_t report_enrich(json_t *report, bool all)
{
	size_t i, n = 0;
	json_t *c;

	json_array_foreach(json_object_get(report, "cells"), i, c) {
		const char *dir = str(c, "artifacts");
		struct bt_err err;
		json_t *model;

		if (!*dir || (!all && !cell_failed(c)))
			continue;
		model = tlr_build(dir, &err);
		if (!model)
			continue;
		json_object_set_new(c, "timeline", model);
		if (tlr_write_trace(dir, str(c, "spec"), &err) == 0)
			json_object_set_new(c, "trace_json", json_sprintf("%s/trace.json", dir));
		n++;
	}
	return n;
}

/* --- the outcome of a cell, as a CSS class and a word --- */

static const char *cell_class(const json_t *c)
{
	const char *v = str(c, "verdict"), *o = str(c, "outcome");

	if (!strcmp(o, "not run"))
		return "notrun";
	if (!json_is_true(json_object_get(c, "fired")))
		return "unfired";
	if (!strcmp(v, "pass"))
		return !strcmp(o, "upgraded") ? "ok-up" : "ok-rb";
	return !strcmp(v, "flaky") ? "flaky" : "fail";
}

/* "error=ENOSPC" out of "[role:]point@N:error=ENOSPC:transient" */
static void kind_of(const json_t *c, char *buf, size_t len)
{
	const char *spec = str(c, "spec"), *at = strchr(spec, '@');
	const char *from = at ? strchr(at, ':') : NULL, *to = strrchr(spec, ':');

	if (!from || to <= from) {
		snprintf(buf, len, "%s", str(c, "kind"));
		return;
	}
	snprintf(buf, len, "%.*s", (int)(to - from - 1), from + 1);
}

static void row_of(const json_t *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s\t%s\t%s", str(c, "point"), str(c, "process"),
		 str(c, "scenario"));
}

static void col_of(const json_t *c, char *buf, size_t len)
{
	char kind[64];

	kind_of(c, kind, sizeof kind);
	snprintf(buf, len, "%s\t%s", kind, str(c, "mode"));
}

/* Distinct keys in first-seen order. */
struct keys {
	char (*v)[128];
	size_t n, cap;
};

static size_t key_index(struct keys *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i], key))
			return i;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		char (*v)[128] = realloc(k->v, cap * sizeof *v);

		if (!v)
			return (size_t)-1;
		k->v = v;
		k->cap = cap;
	}
	snprintf(k->v[k->n], sizeof k->v[0], "%s", key);
	return k->n++;
}

/* Columns grouped by kind (in first-seen order), transient before
 * persistent within a kind: the header spans a kind over its modes. */
static void sort_cols(struct keys *k)
{
	char (*v)[128] = calloc(k->n + 1, sizeof *v);
	size_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < k->n; i++) {
		size_t len = strcspn(k->v[i], "\t");
		bool done = false;

		for (size_t j = 0; j < n && !done; j++)
			done = strlen(v[j]) > len && v[j][len] == '\t' && !strncmp(v[j], k->v[i], len);
		if (done)
			continue;
		for (int pass = 0; pass < 2; pass++)
			for (size_t j = i; j < k->n; j++)
				if (strlen(k->v[j]) > len && k->v[j][len] == '\t' &&
				    !strncmp(k->v[j], k->v[i], len) &&
				    !strcmp(k->v[j] + len + 1, pass ? "persistent" : "transient"))
					memcpy(v[n++], k->v[j], sizeof v[0]);
	}
	if (n == k->n)
		memcpy(k->v, v, n * sizeof v[0]);
	free(v);
}

/* --- links relative to the page --- */

static void rel_link(const char *page_dir, const char *target, char *buf, size_t len)
{
	size_t common = 0, i;
	const char *rest;

	if (target[0] != '/' || page_dir[0] != '/') {
		snprintf(buf, len, "%s", target);
		return;
	}
	for (i = 0; page_dir[i] && page_dir[i] == target[i]; i++)
		if (page_dir[i] == '/')
			common = i;
	if (!page_dir[i] && (target[i] == '/' || !target[i]))
		common = i;
	buf[0] = 0;
	for (const char *p = page_dir + common; *p; p++)
		if (*p == '/')
			strncat(buf, "../", len - strlen(buf) - 1);
	rest = target + common + (target[common] == '/');
	strncat(buf, rest, len - strlen(buf) - 1);
}

static void artifact_link(FILE *f, const char *page_dir, const char *dir, const char *name)
{
	char target[PATH_MAX], rel[PATH_MAX];

	snprintf(target, sizeof target, "%s/%s", dir, name);
	if (access(target, R_OK) != 0)
		return;
	rel_link(page_dir, target, rel, sizeof rel);
	fprintf(f, "<a href=\"");
	tlr_html_escape(f, rel);
	fprintf(f, "\">%s</a> ", name);
}

/* --- the page --- */

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}"
	"h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px}"
	".sum td{padding:2px 12px 2px 0}.bad{color:#b00;font-weight:bold}"
	"table.matrix{border-collapse:collapse}"
	".matrix th,.matrix td{border:1px solid #ddd;padding:2px 4px;vertical-align:top}"
	".matrix th{font-weight:normal;font-size:12px;background:#f6f6f6}"
	".matrix td.pt{white-space:nowrap;font-family:monospace}.matrix td.ns{min-width:64px}"
	"a.cell{display:inline-block;min-width:16px;height:16px;margin:1px;font-size:9px;"
	"line-height:16px;text-align:center;color:#fff;text-decoration:none;border-radius:2px}"
	".ok-rb{background:#2e7d32}.ok-up{background:#00897b}.fail{background:#c62828}"
	".flaky{background:#ef6c00}.unfired{background:#6a1b9a}.notrun{background:#9e9e9e}"
	".legend span{display:inline-block;padding:1px 6px;margin-right:6px;color:#fff;"
	"border-radius:2px}"
	".detail{display:none;border:1px solid #ccc;padding:8px 12px;margin:10px 0}"
	".detail:target,.detail.open{display:block}.detail:target{outline:3px solid #1565c0}"
	"pre{background:#f4f4f4;padding:6px;white-space:pre-wrap}"
	"svg.timeline{background:#fff;border:1px solid #ddd;font:11px sans-serif}"
	".tick{stroke:#eee}.axis{fill:#888;font-size:10px}.tname{fill:#222}"
	".flight{fill:#b2dfdb}.life{fill:#90caf9}.life.open{fill:#cfe3f7}.rail{stroke:#ccc;stroke-dasharray:3 3}"
	".elabel{fill:#444;font-size:10px}.ev circle{stroke:#fff;stroke-width:1}"
	".ev-fork circle{fill:#1565c0}.ev-exec circle{fill:#283593}"
	".ev-fault circle{fill:#d50000}.ev-confirm circle{fill:#2e7d32}"
	".ev-exit circle{fill:#000}.ev-pidfile circle{fill:#8d6e63}"
	".ev-notify circle{fill:#f9a825}.ev-load circle{fill:#ff1744}"
	".ev-request circle,.ev-answer circle{fill:#00838f}.ev-point circle{fill:#9e9e9e}"
	"table.events{border-collapse:collapse;font-size:12px;margin-top:6px}"
	".events td,.events th{border-bottom:1px solid #eee;padding:1px 8px;text-align:left}"
	"tr.ev-fault td{color:#b00}";

/* Two pieces of JS: a toggle that dims the passing cells, and a count of
 * what the browser laid out (squares and timelines with a size), written
 * into the page, which a headless browser's DOM dump shows (the browser
 * test compares it with the report). */
static const char js[] =
	"function onlyFailures(on){document.querySelectorAll('a.cell').forEach(function(a){"
	"a.style.opacity=on&&/ok-|notrun/.test(a.className)?0.15:1;});}"
	"function shown(sel){var n=0;document.querySelectorAll(sel).forEach(function(e){"
	"var r=e.getBoundingClientRect();if(r.width>0&&r.height>0)n++;});return n;}"
	"window.addEventListener('load',function(){var c=document.getElementById("
	"'rendered');if(c)c.textContent='rendered: '+shown('a.cell')+' cells, '+"
	"shown('svg.timeline')+' timelines';});";

static void write_summary(FILE *f, const json_t *report)
{
	const json_t *s = json_object_get(report, "summary"), *e;
	json_int_t failed = json_integer_value(json_object_get(s, "failed"));
	size_t i, nerr = json_array_size(json_object_get(s, "errors"));

	fprintf(f, "<table class=\"sum\">"
		   "<tr><td>cells</td><td id=\"n-cells\">%lld</td></tr>"
		   "<tr><td>passed</td><td>%lld</td></tr>"
		   "<tr><td>failed</td><td id=\"n-failed\" class=\"%s\">%lld</td></tr>"
		   "<tr><td>setup errors</td><td class=\"%s\">%zu</td></tr>"
		   "<tr><td>skipped catalogue rows</td><td>%lld</td></tr>"
		   "<tr><td>time</td><td>%.1f s, %d jobs</td></tr><tr><td>shard</td><td>",
		(long long)json_integer_value(json_object_get(s, "cells")),
		(long long)json_integer_value(json_object_get(s, "passed")),
		failed ? "bad" : "", (long long)failed, nerr ? "bad" : "", nerr,
		(long long)json_integer_value(json_object_get(s, "skipped_rows")),
		json_integer_value(json_object_get(s, "wall_ms")) / 1000.0,
		(int)json_integer_value(json_object_get(s, "jobs")));
	tlr_html_escape(f, str(s, "shard"));
	fprintf(f, "</td></tr><tr><td>batond</td><td>");
	tlr_html_escape(f, str(s, "batond"));
	fprintf(f, "</td></tr></table>\n");
	if (nerr) {
		fprintf(f, "<h2>Setup errors</h2><ul class=\"errors\">");
		json_array_foreach(json_object_get(s, "errors"), i, e) {
			fprintf(f, "<li>");
			tlr_html_escape(f, json_string_value(e));
			fprintf(f, "</li>");
		}
		fprintf(f, "</ul>\n");
	}
}

static void write_matrix(FILE *f, const json_t *report)
{
	const json_t *cells = json_object_get(report, "cells"), *c;
	struct keys rows = {0}, cols = {0};
	size_t n = json_array_size(cells), *ri = calloc(n + 1, sizeof *ri),
	       *ci = calloc(n + 1, sizeof *ci);
	char key[128];
	size_t i;

	json_array_foreach(cells, i, c) {
		row_of(c, key, sizeof key);
		key_index(&rows, key);
		col_of(c, key, sizeof key);
		key_index(&cols, key);
	}
	sort_cols(&cols);
	/* each cell's place, once (the columns were reordered above) */
	json_array_foreach(cells, i, c) {
		row_of(c, key, sizeof key);
		ri[i] = key_index(&rows, key);
		col_of(c, key, sizeof key);
		ci[i] = key_index(&cols, key);
	}
	fprintf(f, "<p class=\"legend\"><span class=\"ok-rb\">rolled back as expected</span>"
		   "<span class=\"ok-up\">upgraded as expected</span>"
		   "<span class=\"fail\">failed every run</span><span class=\"flaky\">flaky</span>"
		   "<span class=\"unfired\">never fired</span><span class=\"notrun\">not run</span>"
		   " the number in a square is N, the hit that fails &nbsp; "
		   "<label><input type=\"checkbox\" onchange=\"onlyFailures(this.checked)\"> "
		   "dim the passing cells</label></p>\n");
	/* two header rows: the kind over its modes */
	fprintf(f, "<table class=\"matrix\"><tr><th rowspan=\"2\">point</th>"
		   "<th rowspan=\"2\">process</th><th rowspan=\"2\">scenario</th>");
	for (size_t k = 0, span; k < cols.n; k += span) {
		size_t len = strcspn(cols.v[k], "\t");

		for (span = 1; k + span < cols.n && !strncmp(cols.v[k + span], cols.v[k], len) &&
			       cols.v[k + span][len] == '\t'; span++)
			;
		fprintf(f, "<th colspan=\"%zu\">%.*s</th>", span, (int)len, cols.v[k]);
	}
	fprintf(f, "</tr>\n<tr>");
	for (size_t k = 0; k < cols.n; k++) {
		const char *mode = cols.v[k] + strcspn(cols.v[k], "\t");

		fprintf(f, "<th title=\"%s\">%s</th>", *mode ? mode + 1 : "",
			!strcmp(mode, "\tpersistent") ? "pers." : "trans.");
	}
	fprintf(f, "</tr>\n");
	for (size_t r = 0; r < rows.n; r++) {
		char row[128];

		snprintf(row, sizeof row, "%s", rows.v[r]);
		fprintf(f, "<tr><td class=\"pt\">");
		for (char *p = row; *p; p++)
			if (*p == '\t')
				fputs("</td><td>", f);
			else
				fputc(*p, f);
		fprintf(f, "</td>");
		for (size_t k = 0; k < cols.n; k++) {
			fprintf(f, "<td class=\"ns\">");
			json_array_foreach(cells, i, c) {
				if (ri[i] != r || ci[i] != k)
					continue;
				fprintf(f, "<a class=\"cell %s\" href=\"#c%lld\" title=\"", cell_class(c),
					(long long)json_integer_value(json_object_get(c, "id")));
				tlr_html_escape(f, str(c, "spec"));
				fprintf(f, ": %s, %s\">%lld</a>", str(c, "outcome"), str(c, "verdict"),
					(long long)json_integer_value(json_object_get(c, "n")));
			}
			fprintf(f, "</td>");
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n");
	free(rows.v);
	free(cols.v);
	free(ri);
	free(ci);
}

static void write_detail(FILE *f, const json_t *c, const char *page_dir)
{
	const json_t *v, *tl = json_object_get(c, "timeline");
	const char *dir = str(c, "artifacts");
	static const char *const files[] = {"batond.log", "trace", "events", "result.json",
					    "trace.json", NULL};
	size_t i;

	fprintf(f, "<section class=\"detail%s\" id=\"c%lld\"><h3>", cell_failed(c) ? " open" : "",
		(long long)json_integer_value(json_object_get(c, "id")));
	tlr_html_escape(f, str(c, "spec"));
	fprintf(f, "</h3><p>process %s, scenario %s; expected %s, got <b>%s</b>; "
		   "fault %s; verdict <b class=\"%s\">%s</b> (%lld of %lld runs failed); %lld ms</p>\n",
		str(c, "process"), str(c, "scenario"), str(c, "expect"), str(c, "outcome"),
		json_is_true(json_object_get(c, "fired")) ? "fired" : "never fired",
		cell_failed(c) ? "bad" : "", str(c, "verdict"),
		(long long)json_integer_value(json_object_get(c, "failed_runs")),
		(long long)json_integer_value(json_object_get(c, "runs")),
		(long long)json_integer_value(json_object_get(c, "wall_ms")));
	if (json_array_size(json_object_get(c, "violations"))) {
		fprintf(f, "<ul class=\"violations\">");
		json_array_foreach(json_object_get(c, "violations"), i, v) {
			fprintf(f, "<li><b>");
			tlr_html_escape(f, str(v, "clause"));
			fprintf(f, "</b> ");
			tlr_html_escape(f, str(v, "reason"));
			fprintf(f, "</li>");
		}
		fprintf(f, "</ul>\n");
	}
	fprintf(f, "<pre class=\"repro\">");
	tlr_html_escape(f, str(c, "repro"));
	fprintf(f, "</pre>\n");
	if (*dir) {
		fprintf(f, "<p class=\"artifacts\">artifacts: ");
		for (i = 0; files[i]; i++)
			artifact_link(f, page_dir, dir, files[i]);
		fprintf(f, "</p>\n");
	}
	if (tl) {
		fprintf(f, "<h4>Timeline</h4>\n");
		tlr_svg(f, tl);
	}
	fprintf(f, "</section>\n");
}

/* Opens PATH.tmp for a page and says where the page's directory is. */
static FILE *page_open(const char *path, char *page_dir, size_t len, struct bt_err *err)
{
	char tmp[PATH_MAX];
	FILE *f;

	(void)len;
	if (!realpath(".", page_dir))
		page_dir[0] = 0;
	snprintf(tmp, sizeof tmp, "%s", path);
	if (strrchr(tmp, '/')) {
		*strrchr(tmp, '/') = 0;
		if (!realpath(tmp, page_dir)) {
			err_set(err, "report", errno, "no directory %s for %s", tmp, path);
			return NULL;
		}
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		err_set(err, "report", errno, "cannot write %s", tmp);
	else
		fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			   "<title>baton</title><style>%s</style><script>%s</script>"
			   "</head><body>\n", css, js);
	return f;
}

static int page_close(FILE *f, const char *path, struct bt_err *err)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fprintf(f, "</body></html>\n");
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return err_set(err, "report", e, "cannot write %s", path);
	}
	return 0;
}

int report_timeline_page(const char *dir, const char *title, const char *path,
			 struct bt_err *err)
{
	static const char *const files[] = {"batond.log", "trace", "events", "trace.json",
					    "notify.txt", "load.txt", "answer.json", "state.json",
					    "fds-old-master-before.txt",
					    "fds-survivor-after.txt", NULL};
	char page_dir[PATH_MAX];
	json_t *model = tlr_build(dir, err);
	FILE *f;

	if (!model || tlr_write_trace(dir, title, err))
		return json_decref(model), -1;
	f = page_open(path, page_dir, sizeof page_dir, err);
	if (!f)
		return json_decref(model), -1;
	fprintf(f, "<h1>baton repro: ");
	tlr_html_escape(f, title);
	fprintf(f, "</h1>\n<p class=\"artifacts\">artifacts: ");
	for (size_t i = 0; files[i]; i++)
		artifact_link(f, page_dir, dir, files[i]);
	fprintf(f, "</p>\n<h2>Timeline</h2>\n");
	tlr_svg(f, model);
	json_decref(model);
	return page_close(f, path, err);
}

int report_html_write(const json_t *report, const char *path, struct bt_err *err)
{
	char page_dir[PATH_MAX];
	const json_t *cells = json_object_get(report, "cells"), *c;
	size_t i, failed = 0;
	FILE *f;

	if (!json_is_array(cells))
		return err_set(err, "report", EINVAL, "the report has no cells array");
	f = page_open(path, page_dir, sizeof page_dir, err);
	if (!f)
		return -1;
	fprintf(f, "<h1>baton faultcheck</h1>\n");
	write_summary(f, report);
	fprintf(f, "<h2>Matrix</h2>\n<p class=\"note\" id=\"rendered\"></p>\n");
	write_matrix(f, report);
	json_array_foreach(cells, i, c)
		failed += cell_failed(c);
	fprintf(f, "<h2>Failing cells (%zu)</h2>\n", failed);
	json_array_foreach(cells, i, c)
		if (cell_failed(c))
			write_detail(f, c, page_dir);
	fprintf(f, "<h2>Passing cells</h2><p>Click a square of the matrix.</p>\n");
	json_array_foreach(cells, i, c)
		if (!cell_failed(c))
			write_detail(f, c, page_dir);
	return page_close(f, path, err);
}
