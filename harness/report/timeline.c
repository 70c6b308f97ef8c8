/* timeline: see timeline.h. */
#include "report/timeline.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROCS 64
#define MAX_EVENTS 600

struct rproc {
	int pid, parent;
	char name[48], comm[24], how[8];	/* alive, seen, forked, trace */
	char trace_role[16];		/* the role batond's trace gave it */
	long long from, to;		/* 0: unknown */
	long long first_new_hit;	/* first trace line as a new master */
	char first_new_point[64];
};

struct revent {
	long long t;
	int pid;			/* > 0: a process track */
	char track[12];			/* else: harness, pidfile, load */
	char kind[12];
	char label[200];
};

struct model {
	struct rproc p[MAX_PROCS];
	size_t np;
	struct revent e[MAX_EVENTS];
	size_t ne;
	long long hits;			/* allocator and libc hits, counted only */
	int old_master;
};

static struct rproc *proc_get(struct model *m, int pid)
{
	for (size_t i = 0; i < m->np; i++)
		if (m->p[i].pid == pid)
			return &m->p[i];
	if (pid <= 0 || m->np == MAX_PROCS)
		return NULL;
	memset(&m->p[m->np], 0, sizeof m->p[0]);
	m->p[m->np].pid = pid;
	return &m->p[m->np++];
}

static void add_event(struct model *m, long long t, int pid, const char *track,
		      const char *kind, const char *label)
{
	struct revent *e;

	if (m->ne == MAX_EVENTS || t <= 0)
		return;
	e = &m->e[m->ne++];
	e->t = t;
	e->pid = pid;
	snprintf(e->track, sizeof e->track, "%s", track ? track : "");
	snprintf(e->kind, sizeof e->kind, "%s", kind);
	snprintf(e->label, sizeof e->label, "%s", label ? label : "");
	if (pid > 0)
		proc_get(m, pid);
}

/* --- inputs --- */

static void read_events(struct model *m, FILE *f)
{
	char line[800];

	while (fgets(line, sizeof line, f)) {
		long long t;
		int pid, off = 0;
		char kind[16];
		const char *detail;
		struct rproc *p;

		if (sscanf(line, "%lld %d %15s %n", &t, &pid, kind, &off) != 3)
			continue;
		line[strcspn(line, "\n")] = 0;
		detail = off > 0 && (size_t)off <= strlen(line) ? line + off : "";
		if (!strcmp(kind, "alive") || !strcmp(kind, "seen")) {
			if (!(p = proc_get(m, pid)))
				continue;
			sscanf(detail, "parent %d comm %23s", &p->parent, p->comm);
			p->from = t;
			snprintf(p->how, sizeof p->how, "%s", kind);
		} else if (!strcmp(kind, "exit")) {
			if ((p = proc_get(m, pid)))
				p->to = t;
			add_event(m, t, pid, NULL, "exit", "exit");
		} else if (!strcmp(kind, "role")) {
			if ((p = proc_get(m, pid)))
				snprintf(p->name, sizeof p->name, "%s", detail);
			if (!strcmp(detail, "old master"))
				m->old_master = pid;
		} else if (!strcmp(kind, "pidfile")) {
			char label[96];

			snprintf(label, sizeof label, "%s%s", pid > 0 ? "names " : "", detail);
			add_event(m, t, 0, "pidfile", "pidfile", label);
		} else if (!strcmp(kind, "request") || !strcmp(kind, "answer")) {
			add_event(m, t, 0, "harness", kind, detail);
		} else if (!strcmp(kind, "notify")) {
			add_event(m, t, pid, "notify", "notify", detail);
		} else if (!strcmp(kind, "load")) {
			add_event(m, t, 0, "load", "load", detail);
		}
	}
}

/* Allocator and libc points are hit hundreds of times in an upgrade: they
 * are counted, not drawn (a fault firing on them is drawn). */
static bool noisy_point(const char *point)
{
	return !strcmp(point, "mem/alloc") || !strncmp(point, "libc/", 5) ||
	       !strncmp(point, "posix/", 6);
}

static void trace_hit(struct model *m, long long t, int pid, const char *role,
		      const char *point)
{
	struct rproc *p = proc_get(m, pid);
	const char *kind = "point";

	if (p && !p->trace_role[0])
		snprintf(p->trace_role, sizeof p->trace_role, "%s", role);
	if (p && !strcmp(role, "new") && !p->first_new_hit) {
		p->first_new_hit = t;
		snprintf(p->first_new_point, sizeof p->first_new_point, "%s", point);
	}
	if (noisy_point(point)) {
		m->hits++;
		return;
	}
	/* both are hit right before the fork call */
	if (!strcmp(point, "old/fork") || !strcmp(point, "worker/spawn"))
		kind = "fork";
	else if (strstr(point, "confirm"))
		kind = "confirm";
	else if (!strcmp(point, "new/pidfile"))
		kind = "pidfile";
	add_event(m, t, pid, NULL, kind, point);
}

static void read_trace(struct model *m, FILE *f)
{
	char line[300];

	while (fgets(line, sizeof line, f)) {
		char what[8], role[16], point[64], kind[16], label[160];
		unsigned n;
		int pid;
		long long t = 0;

		if (sscanf(line, "%7s %d %15s %63s %u", what, &pid, role, point, &n) != 5)
			continue;
		if (!strcmp(what, "hit") &&
		    sscanf(line, "%*s %*d %*s %*s %*u %lld", &t) == 1) {
			trace_hit(m, t, pid, role, point);
		} else if (!strcmp(what, "fire") &&
			   sscanf(line, "%*s %*d %*s %*s %*u %15s %lld", kind, &t) == 2) {
			snprintf(label, sizeof label, "%s@%u %s fired", point, n, kind);
			add_event(m, t, pid, NULL, "fault", label);
		}
	}
}

/* --- naming and order --- */

/* A process the watcher found later than its fork: its life starts at
 * its parent's last fork before it was seen (old/fork is hit right
 * before the fork call), said as "forked" rather than "seen". */
static void place_forks(struct model *m)
{
	for (size_t i = 0; i < m->np; i++) {
		struct rproc *p = &m->p[i];
		long long best = 0;

		if (strcmp(p->how, "seen") != 0 || !p->parent)
			continue;
		for (size_t k = 0; k < m->ne; k++)
			if (m->e[k].pid == p->parent && !strcmp(m->e[k].kind, "fork") &&
			    m->e[k].t <= p->from && m->e[k].t > best)
				best = m->e[k].t;
		if (best) {
			p->from = best;
			snprintf(p->how, sizeof p->how, "forked");
		}
	}
}

static void name_procs(struct model *m)
{
	const struct rproc *newm = NULL;

	for (size_t i = 0; i < m->np; i++) {
		struct rproc *p = &m->p[i];

		if (p->first_new_hit) {
			char label[120];

			snprintf(label, sizeof label, "exec'd: first point %s", p->first_new_point);
			add_event(m, p->first_new_hit, p->pid, NULL, "exec", label);
			if (!p->name[0])
				snprintf(p->name, sizeof p->name, "new master");
		}
		if (!strcmp(p->name, "new master"))
			newm = p;
	}
	for (size_t i = 0; i < m->np; i++) {
		struct rproc *p = &m->p[i];

		if (p->name[0])
			continue;
		if (m->old_master && p->parent == m->old_master &&
		    !strcmp(p->trace_role, "worker"))
			snprintf(p->name, sizeof p->name, "new worker");
		else if (m->old_master && p->parent == m->old_master)
			snprintf(p->name, sizeof p->name, "child (%s)", p->comm[0] ? p->comm : "?");
		else if (newm && p->parent == newm->pid)
			snprintf(p->name, sizeof p->name, "new master's child");
		else if (!strcmp(p->trace_role, "worker"))
			snprintf(p->name, sizeof p->name, "worker");
		else
			snprintf(p->name, sizeof p->name, "%s", p->comm[0] ? p->comm : "process");
	}
	for (size_t i = 0; i < m->np; i++)
		if (!m->p[i].how[0])
			snprintf(m->p[i].how, sizeof m->p[i].how, "trace");
	place_forks(m);
}

static int proc_rank(const struct model *m, const struct rproc *p)
{
	if (p->pid == m->old_master)
		return 0;
	if (!strncmp(p->name, "child", 5) || !strncmp(p->name, "new ", 4))
		return 1;
	if (!strncmp(p->name, "worker", 6))
		return 2;
	return 3;
}

static int cmp_event(const void *a, const void *b)
{
	const struct revent *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* --- the model as JSON --- */

static double rel_ms(long long t, long long t0)
{
	return (double)(t - t0) / 1000.0;
}

static void track_id(const struct revent *e, char *buf, size_t len)
{
	if (e->pid > 0)
		snprintf(buf, len, "p%d", e->pid);
	else
		snprintf(buf, len, "%s", e->track);
}

static json_t *to_json(struct model *m)
{
	json_t *tracks = json_array(), *events = json_array();
	long long t0 = 0, t1 = 0;
	static const char *const extra[] = {"harness", "pidfile", "load"};

	qsort(m->e, m->ne, sizeof m->e[0], cmp_event);
	for (size_t i = 0; i < m->ne; i++) {
		if (!t0 || m->e[i].t < t0)
			t0 = m->e[i].t;
		if (m->e[i].t > t1)
			t1 = m->e[i].t;
	}
	for (size_t i = 0; i < m->np; i++) {
		if (m->p[i].from && (!t0 || m->p[i].from < t0))
			t0 = m->p[i].from;
		if (m->p[i].to > t1)
			t1 = m->p[i].to;
	}
	for (int rank = 0; rank <= 3; rank++) {
		for (size_t i = 0; i < m->np; i++) {
			const struct rproc *p = &m->p[i];
			json_t *tr;

			if (proc_rank(m, p) != rank)
				continue;
			tr = json_pack("{s:i, s:s, s:f, s:s}", "pid", p->pid, "name", p->name,
				       "from_ms", p->from ? rel_ms(p->from, t0) : 0.0, "how",
				       p->how);
			json_object_set_new(tr, "id", json_sprintf("p%d", p->pid));
			json_object_set_new(tr, "to_ms", p->to ? json_real(rel_ms(p->to, t0))
							       : json_null());
			json_array_append_new(tracks, tr);
		}
	}
	for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
		bool used = false;

		for (size_t i = 0; i < m->ne && !used; i++)
			used = m->e[i].pid <= 0 && !strcmp(m->e[i].track, extra[k]);
		if (used)
			json_array_append_new(tracks, json_pack("{s:s, s:s, s:f, s:n, s:s}", "id",
							       extra[k], "name",
							       !strcmp(extra[k], "load")
								       ? "load generator"
								       : !strcmp(extra[k], "pidfile")
									 ? "pid file"
									 : "harness",
							       "from_ms", 0.0, "to_ms", "how",
							       "harness"));
	}
	for (size_t i = 0; i < m->ne; i++) {
		char id[24];

		track_id(&m->e[i], id, sizeof id);
		json_array_append_new(events, json_pack("{s:f, s:s, s:s, s:s}", "ms",
							rel_ms(m->e[i].t, t0), "track", id,
							"kind", m->e[i].kind, "label",
							m->e[i].label));
	}
	return json_pack("{s:I, s:f, s:o, s:o, s:I}", "t0_us", (json_int_t)t0, "span_ms",
			 rel_ms(t1, t0), "tracks", tracks, "events", events, "hits",
			 (json_int_t)m->hits);
}

json_t *tlr_build(const char *dir, struct bt_err *err)
{
	struct model *m = calloc(1, sizeof *m);
	char path[700];
	FILE *ev, *tr;
	json_t *out;

	if (!m) {
		err_set(err, "timeline", ENOMEM, "out of memory reading %s", dir);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/events", dir);
	ev = fopen(path, "re");
	snprintf(path, sizeof path, "%s/trace", dir);
	tr = fopen(path, "re");
	if (!ev && !tr) {
		err_set(err, "timeline", errno, "%s has neither events nor trace", dir);
		free(m);
		return NULL;
	}
	if (ev) {
		read_events(m, ev);
		fclose(ev);
	}
	if (tr) {
		read_trace(m, tr);
		fclose(tr);
	}
	name_procs(m);
	out = to_json(m);
	free(m);
	return out;
}

/* --- trace-event JSON --- */

static int track_tid(const json_t *tracks, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(tracks, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "id")), id))
			return (int)i + 1;
	return 0;
}

/* The upgrade in flight: from the request to its answer, in ms; -1 when
 * either is missing. */
static int flight(const json_t *model, double *from, double *to)
{
	size_t i;
	json_t *e;

	*from = *to = -1;
	json_array_foreach(json_object_get(model, "events"), i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		double ms = json_real_value(json_object_get(e, "ms"));

		if (!strcmp(kind, "request") && *from < 0)
			*from = ms;
		else if (!strcmp(kind, "answer") && *from >= 0 && *to < 0)
			*to = ms;
	}
	return *from >= 0 && *to >= *from ? 0 : -1;
}

json_t *tlr_trace_json(const json_t *model, const char *title)
{
	json_t *out = json_array(), *tracks = json_object_get(model, "tracks"), *t, *e;
	double span = json_real_value(json_object_get(model, "span_ms"));
	size_t i;

	json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:{s:s}}", "name",
					     "process_name", "ph", "M", "pid", 1, "args",
					     "name", title));
	json_array_foreach(tracks, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		json_t *pid = json_object_get(t, "pid");
		double from = json_real_value(json_object_get(t, "from_ms"));
		json_t *to = json_object_get(t, "to_ms");
		char label[96];

		if (pid)
			snprintf(label, sizeof label, "%s %d", name,
				 (int)json_integer_value(pid));
		else
			snprintf(label, sizeof label, "%s", name);
		json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name",
						     "thread_name", "ph", "M", "pid", 1, "tid",
						     (int)i + 1, "args", "name", label));
		json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:i, s:{s:i}}", "name",
						     "thread_sort_index", "ph", "M", "pid", 1,
						     "tid", (int)i + 1, "args", "sort_index",
						     (int)i));
		if (pid)
			json_array_append_new(out, json_pack(
				"{s:s, s:s, s:s, s:i, s:i, s:f, s:f}", "name", label, "cat",
				"process", "ph", "X", "pid", 1, "tid", (int)i + 1, "ts",
				from * 1000, "dur",
				((json_is_real(to) ? json_real_value(to) : span) - from) * 1000));
	}
	{
		double from, to;

		if (flight(model, &from, &to) == 0)
			json_array_append_new(out, json_pack(
				"{s:s, s:s, s:s, s:i, s:i, s:f, s:f}", "name", "upgrade in flight",
				"cat", "harness", "ph", "X", "pid", 1, "tid",
				track_tid(tracks, "harness"), "ts", from * 1000, "dur",
				(to - from) * 1000));
	}
	json_array_foreach(json_object_get(model, "events"), i, e) {
		const char *label = json_string_value(json_object_get(e, "label"));
		const char *kind = json_string_value(json_object_get(e, "kind"));

		json_array_append_new(out, json_pack(
			"{s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:{s:s}}", "name",
			label && *label ? label : kind, "cat", kind, "ph", "i", "s", "t", "pid",
			1, "tid",
			track_tid(tracks, json_string_value(json_object_get(e, "track"))), "ts",
			json_real_value(json_object_get(e, "ms")) * 1000, "args", "kind",
			kind));
	}
	return json_pack("{s:o, s:s}", "traceEvents", out, "displayTimeUnit", "ms");
}

int tlr_write_trace(const char *dir, const char *title, struct bt_err *err)
{
	json_t *model = tlr_build(dir, err), *tj;
	char path[700];
	int rc;

	if (!model)
		return -1;
	tj = tlr_trace_json(model, title);
	snprintf(path, sizeof path, "%s/trace.json", dir);
	rc = json_dump_file(tj, path, JSON_COMPACT);
	json_decref(tj);
	json_decref(model);
	if (rc)
		return err_set(err, "timeline", errno, "cannot write %s", path);
	return 0;
}

/* --- SVG --- */

void tlr_html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

#define SVG_W 980
#define SVG_LABEL 190
#define SVG_ROW 30
#define SVG_TOP 28

static double nice_step(double span)
{
	double raw = span / 8, p = pow(10, floor(log10(raw > 0 ? raw : 1)));

	if (raw / p >= 5)
		return 5 * p;
	if (raw / p >= 2)
		return 2 * p;
	return p;
}

static const char *track_name(const json_t *tracks, const char *id)
{
	size_t i;
	json_t *t;

	json_array_foreach(tracks, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "id")), id))
			return json_string_value(json_object_get(t, "name"));
	return id;
}

static void svg_axis(FILE *f, double span, double (*x)(double, double), int h)
{
	double step = nice_step(span);

	for (double ms = 0; ms <= span + 1e-9; ms += step) {
		double px = x(ms, span);

		fprintf(f, "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			   "<text class=\"axis\" x=\"%.1f\" y=\"16\">%.*f ms</text>\n",
			px, SVG_TOP - 6, px, h, px, step < 1 ? (step < 0.1 ? 2 : 1) : 0, ms);
	}
}

static double x_of(double ms, double span)
{
	return SVG_LABEL + (span > 0 ? ms / span : 0) * (SVG_W - SVG_LABEL - 30);
}

void tlr_svg(FILE *f, const json_t *model)
{
	const json_t *tracks = json_object_get(model, "tracks");
	double span = json_real_value(json_object_get(model, "span_ms"));
	double last_label[MAX_PROCS + 8];
	size_t nt = json_array_size(tracks), i;
	int h = SVG_TOP + (int)nt * SVG_ROW + 6;
	json_t *t, *e;

	for (i = 0; i < sizeof last_label / sizeof last_label[0]; i++)
		last_label[i] = -1e9;
	fprintf(f, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
		SVG_W, h, SVG_W, h);
	svg_axis(f, span, x_of, h);
	json_array_foreach(tracks, i, t) {
		int y = SVG_TOP + (int)i * SVG_ROW + SVG_ROW / 2;
		json_t *pid = json_object_get(t, "pid"), *to = json_object_get(t, "to_ms");
		double from = json_real_value(json_object_get(t, "from_ms"));
		double end = json_is_real(to) ? json_real_value(to) : span;

		fprintf(f, "<g class=\"track\"><text class=\"tname\" x=\"4\" y=\"%d\">", y + 4);
		tlr_html_escape(f, json_string_value(json_object_get(t, "name")));
		if (pid)
			fprintf(f, " %d", (int)json_integer_value(pid));
		fprintf(f, "</text>");
		if (pid)
			fprintf(f, "<rect class=\"life%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
				   "height=\"8\"><title>%s %.3f ms to %s</title></rect>",
				json_is_real(to) ? "" : " open", x_of(from, span), y - 4,
				x_of(end, span) - x_of(from, span) + 1,
				json_string_value(json_object_get(t, "how")), from,
				json_is_real(to) ? "exit" : "the end of the watch");
		else
			fprintf(f, "<line class=\"rail\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
				SVG_LABEL, y, SVG_W - 30, y);
		if (!strcmp(json_string_value(json_object_get(t, "id")), "harness") &&
		    flight(model, &from, &end) == 0)
			fprintf(f, "<rect class=\"flight\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
				   "height=\"6\"><title>upgrade in flight: %.3f ms</title></rect>",
				x_of(from, span), y - 3, x_of(end, span) - x_of(from, span) + 1,
				end - from);
		fprintf(f, "</g>\n");
	}
	json_array_foreach(json_object_get(model, "events"), i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		const char *label = json_string_value(json_object_get(e, "label"));
		int row = track_tid(tracks, json_string_value(json_object_get(e, "track"))) - 1;
		double ms = json_real_value(json_object_get(e, "ms")), px = x_of(ms, span);
		int y = SVG_TOP + row * SVG_ROW + SVG_ROW / 2;

		if (row < 0)
			continue;
		fprintf(f, "<g class=\"ev ev-%s\"><circle cx=\"%.1f\" cy=\"%d\" r=\"4.5\"/>"
			   "<title>%.3f ms  %s: ", kind, px, y, ms, kind);
		tlr_html_escape(f, label);
		fprintf(f, "</title>");
		/* a label where there is room for it, never for a plain point
		 * (its tooltip and the table below have all) */
		if (strcmp(kind, "point") != 0 &&
		    row < (int)(sizeof last_label / sizeof last_label[0]) &&
		    px - last_label[row] > 60) {
			bool right = px > SVG_W - 90;

			fprintf(f, "<text class=\"elabel\" x=\"%.1f\" y=\"%d\"%s>",
				right ? px - 5 : px + 5, y - 6,
				right ? " text-anchor=\"end\"" : "");
			tlr_html_escape(f, kind);
			fprintf(f, "</text>");
			last_label[row] = px;
		}
		fprintf(f, "</g>\n");
	}
	fprintf(f, "</svg>\n<table class=\"events\"><tr><th>ms</th><th>track</th>"
		   "<th>event</th><th>detail</th></tr>\n");
	json_array_foreach(json_object_get(model, "events"), i, e) {
		fprintf(f, "<tr class=\"ev-%s\"><td>%.3f</td><td>",
			json_string_value(json_object_get(e, "kind")),
			json_real_value(json_object_get(e, "ms")));
		tlr_html_escape(f, track_name(tracks,
					      json_string_value(json_object_get(e, "track"))));
		fprintf(f, "</td><td>%s</td><td>", json_string_value(json_object_get(e, "kind")));
		tlr_html_escape(f, json_string_value(json_object_get(e, "label")));
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n<p class=\"note\">%lld allocator and libc hits counted, "
		   "not drawn (the run's trace file has every hit).</p>\n",
		(long long)json_integer_value(json_object_get(model, "hits")));
}
