/* timeline: one upgrade on one time axis, from a scenario's directory.
 *
 * Inputs (both on CLOCK_MONOTONIC, microseconds): DIR/trace, batond's own
 * lines ("hit PID ROLE POINT N T", "fire PID ROLE POINT N KIND T"), and
 * DIR/events, the harness's (lib/timeline.h).  A directory without events
 * (an older run) still gives the trace's tracks.
 *
 * The model, a JSON object a report can carry (faultcheck.json keeps one
 * per failing cell, so a merged report needs no cell directory):
 *   {"t0_us": N,                 time zero: the first event
 *    "span_ms": F,
 *    "tracks": [{"id": "p123", "pid": 123, "name": "old master",
 *                "from_ms": F, "to_ms": F|null, "how": "alive|seen|forked|trace"}],
 *    "events": [{"ms": F, "track": "p123", "kind": K, "label": "..."}],
 *    "hits": N}                  allocator and libc hits left out of events
 * Tracks: one per process (old master, child, new master, workers; a
 * process found after its fork starts at its parent's last fork, "how":
 * "forked"), then
 * "harness" (request, answer), "pidfile", "load".  Event kinds: fork,
 * exec, fault, point, confirm, pidfile, notify, exit, spawn, request,
 * answer, load.
 *
 * tlr_trace_json turns a model into Chrome trace-event JSON (trace.json,
 * for Perfetto and chrome://tracing: one thread a track, every event an
 * instant, every process a complete slice over its life, the upgrade in
 * flight, request to answer, a slice on the harness track).  tlr_svg
 * writes the model as one inline SVG element followed by a table of its
 * events. */
#ifndef BATON_HARNESS_REPORT_TIMELINE_H
#define BATON_HARNESS_REPORT_TIMELINE_H

#include <jansson.h>
#include <stdio.h>

#include "err.h"

/* The model of DIR; NULL with *err when DIR has neither file. */
json_t *tlr_build(const char *dir, struct bt_err *err);
/* New reference: {"traceEvents": [...], "displayTimeUnit": "ms"}. */
json_t *tlr_trace_json(const json_t *model, const char *title);
/* Writes DIR/trace.json from DIR: 0, or -1 with *err. */
int tlr_write_trace(const char *dir, const char *title, struct bt_err *err);
void tlr_svg(FILE *f, const json_t *model);

/* Escaping for HTML text and attributes (&, <, >, ", '), which is also
 * what XML needs: the page and the JUnit file share it. */
void tlr_html_escape(FILE *f, const char *s);

#endif
