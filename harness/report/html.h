/* html: a campaign's report (faultcheck.json, one shard or merged) as one
 * self-contained page: inline CSS and a few lines of inline JS, nothing
 * fetched, readable with JS off.
 *
 * - a summary (cells, passed, failed, setup errors, time, shards) and the
 *   setup errors;
 * - the matrix: one row a catalogue point (point, process, scenario), one
 *   column a kind x mode ("error=ENOSPC transient"), in each table cell a
 *   square per N, coloured by outcome (rolled back, upgraded, failed,
 *   flaky, never fired, not run); every square is an <a class="cell">
 *   linking to its details, so the page has exactly one a.cell per cell
 *   of the report (the browser test counts them);
 * - per cell, a details block (shown when its square is clicked; always
 *   shown for a failing cell): spec, expected and actual outcome, verdict
 *   and runs, its violations, its repro line, links to its artifacts
 *   (relative to the page), and, when the cell carries a "timeline"
 *   (report_enrich), the timeline as SVG with its event table and a link
 *   to its trace.json.
 *
 * report_enrich adds to each failing cell that names its "artifacts"
 * directory its "timeline" (timeline.h) and writes trace.json there. */
#ifndef BATON_HARNESS_REPORT_HTML_H
#define BATON_HARNESS_REPORT_HTML_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

/* Failing cells only, unless ALL (then every cell: a larger file).
 * Returns how many cells got a timeline. */
size_t report_enrich(json_t *report, bool all);
int report_html_write(const json_t *report, const char *path, struct bt_err *err);
/* One run's page (baton repro): DIR's timeline (SVG and event table),
 * links to DIR's files, at PATH; DIR/trace.json written too. */
int report_timeline_page(const char *dir, const char *title, const char *path,
			 struct bt_err *err);

#endif
