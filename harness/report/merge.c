/* merge: see merge.h. */
#include "report/merge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/timeline.h"

static const char *sstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static json_int_t sint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void add_error_once(json_t *errors, const char *text)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e)
		if (!strcmp(json_string_value(e), text))
			return;
	json_array_append_new(errors, json_string(text));
}

static int cmp_id(const void *a, const void *b)
{
	json_int_t x = sint(*(json_t *const *)a, "id"), y = sint(*(json_t *const *)b, "id");

	return x < y ? -1 : x > y;
}

/* Every shard 1..N exactly once, all of one campaign. */
static void check_shards(json_t *const *shards, const char *const *names, size_t n,
			 json_t *errors, int *shard_n)
{
	bool seen[1024] = {false};
	const char *batond0 = sstr(json_object_get(shards[0], "summary"), "batond");
	char msg[600];
	int first_n = -1;

	for (size_t k = 0; k < n; k++) {
		const json_t *s = json_object_get(shards[k], "summary");
		int i = 0, total = 0;

		if (sscanf(sstr(s, "shard"), "%d/%d", &i, &total) != 2 || i < 1 || i > total ||
		    total > 1023) {
			snprintf(msg, sizeof msg, "merge: %s: no shard I/N in its summary", names[k]);
			add_error_once(errors, msg);
			continue;
		}
		if (first_n < 0)
			first_n = total;
		if (total != first_n) {
			snprintf(msg, sizeof msg, "merge: %s is shard %d/%d of another split "
				 "(%d shards)", names[k], i, total, first_n);
			add_error_once(errors, msg);
		} else if (seen[i]) {
			snprintf(msg, sizeof msg, "merge: shard %d/%d given twice (%s)", i, total,
				 names[k]);
			add_error_once(errors, msg);
		}
		seen[i] = true;
		if (strcmp(sstr(s, "batond"), batond0) != 0) {
			snprintf(msg, sizeof msg, "merge: %s ran %s, %s ran %s", names[k],
				 sstr(s, "batond"), names[0], batond0);
			add_error_once(errors, msg);
		}
	}
	for (int i = 1; i <= first_n; i++) {
		if (!seen[i]) {
			snprintf(msg, sizeof msg, "merge: shard %d/%d is missing: its cells were "
				 "never judged", i, first_n);
			add_error_once(errors, msg);
		}
	}
	*shard_n = first_n;
}

json_t *report_merge(json_t *const *shards, const char *const *names, size_t n,
		     struct bt_err *err)
{
	json_t *cells = json_array(), *errors = json_array(), *c, *e, **sorted, *out;
	json_int_t passed = 0, failed = 0, skipped = 0, wall = 0, wall_sum = 0;
	char shard_list[1024] = "", msg[300];
	size_t i, nc;
	int shard_n, jobs = 0;

	for (size_t k = 0; k < n; k++) {
		if (!json_is_object(json_object_get(shards[k], "summary")) ||
		    !json_is_array(json_object_get(shards[k], "cells"))) {
			json_decref(cells);
			json_decref(errors);
			err_set(err, "merge", EINVAL, "%s is not a faultcheck report (no summary "
				"and cells)", names[k]);
			return NULL;
		}
	}
	if (n == 0) {
		json_decref(cells);
		json_decref(errors);
		err_set(err, "merge", EINVAL, "no shard to merge");
		return NULL;
	}
	check_shards(shards, names, n, errors, &shard_n);
	for (size_t k = 0; k < n; k++) {
		const json_t *s = json_object_get(shards[k], "summary");

		passed += sint(s, "passed");
		failed += sint(s, "failed");
		if (sint(s, "skipped_rows") > skipped)
			skipped = sint(s, "skipped_rows");
		if (sint(s, "wall_ms") > wall)
			wall = sint(s, "wall_ms");
		wall_sum += sint(s, "wall_ms");
		jobs += (int)sint(s, "jobs");
		json_array_foreach(json_object_get(s, "errors"), i, e)
			add_error_once(errors, json_string_value(e));
		json_array_foreach(json_object_get(shards[k], "cells"), i, c)
			json_array_append(cells, c);
		snprintf(shard_list + strlen(shard_list), sizeof shard_list - strlen(shard_list),
			 "%s%s", k ? " " : "", sstr(s, "shard"));
	}
	nc = json_array_size(cells);
	sorted = calloc(nc + 1, sizeof *sorted);
	for (i = 0; i < nc && sorted; i++)
		sorted[i] = json_array_get(cells, i);
	if (sorted) {
		qsort(sorted, nc, sizeof *sorted, cmp_id);
		for (i = 0; i + 1 < nc; i++) {
			if (sint(sorted[i], "id") == sint(sorted[i + 1], "id")) {
				snprintf(msg, sizeof msg, "merge: two cells have id %lld (%s, %s)",
					 (long long)sint(sorted[i], "id"), sstr(sorted[i], "spec"),
					 sstr(sorted[i + 1], "spec"));
				add_error_once(errors, msg);
			}
		}
		json_t *by_id = json_array();

		for (i = 0; i < nc; i++)
			json_array_append(by_id, sorted[i]);
		json_decref(cells);
		cells = by_id;
		free(sorted);
	}
	out = json_pack("{s:{s:I, s:I, s:I, s:I, s:o, s:I, s:f, s:i, s:s, s:s, s:s, s:i}, s:o}",
			"summary", "cells", (json_int_t)nc, "skipped_rows", skipped, "passed",
			passed, "failed", failed, "errors", errors, "wall_ms", wall,
			"cells_per_s", wall_sum > 0 ? nc * 1000.0 / wall_sum : 0.0, "jobs", jobs,
			"shard", shard_list, "only",
			sstr(json_object_get(shards[0], "summary"), "only"), "batond",
			sstr(json_object_get(shards[0], "summary"), "batond"), "shards",
			shard_n, "cells", cells);
	return out;
}

int report_junit_write(const json_t *report, const char *path, struct bt_err *err)
{
	const json_t *s = json_object_get(report, "summary"), *c, *v, *e;
	size_t i, k;
	FILE *f = fopen(path, "we");

	if (!f)
		return err_set(err, "junit", errno, "cannot write %s", path);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuites><testsuite name=\"faultcheck\" tests=\"%zu\" failures=\"%lld\" "
		   "errors=\"%zu\" time=\"%.3f\">\n",
		json_array_size(json_object_get(report, "cells")),
		(long long)sint(s, "failed"), json_array_size(json_object_get(s, "errors")),
		sint(s, "wall_ms") / 1000.0);
	json_array_foreach(json_object_get(s, "errors"), i, e) {
		fprintf(f, " <testcase classname=\"faultcheck.setup\" name=\"setup-%zu\">"
			   "<error message=\"", i);
		tlr_html_escape(f, json_string_value(e));
		fprintf(f, "\"/></testcase>\n");
	}
	json_array_foreach(json_object_get(report, "cells"), i, c) {
		fprintf(f, " <testcase classname=\"faultcheck.");
		tlr_html_escape(f, sstr(c, "point"));
		fprintf(f, "\" name=\"");
		tlr_html_escape(f, sstr(c, "spec"));
		fprintf(f, "\" time=\"%.3f\"", sint(c, "wall_ms") / 1000.0);
		if (!strcmp(sstr(c, "verdict"), "pass")) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, "><failure message=\"%s\">", sstr(c, "verdict"));
		json_array_foreach(json_object_get(c, "violations"), k, v) {
			tlr_html_escape(f, sstr(v, "clause"));
			fprintf(f, ": ");
			tlr_html_escape(f, sstr(v, "reason"));
			fputc('\n', f);
		}
		tlr_html_escape(f, sstr(c, "repro"));
		fprintf(f, "</failure></testcase>\n");
	}
	fprintf(f, "</testsuite></testsuites>\n");
	if (fclose(f) != 0)
		return err_set(err, "junit", errno, "cannot write %s", path);
	return 0;
}

int report_status(const json_t *report)
{
	const json_t *s = json_object_get(report, "summary");

	return sint(s, "failed") > 0 || json_array_size(json_object_get(s, "errors")) ? 1 : 0;
}
