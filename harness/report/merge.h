/* merge: the shards of one campaign (faultcheck --shard I/N, each with
 * its own faultcheck.json) as one report, and JUnit from a report.
 *
 * report_merge takes the shards' reports (borrowed) and returns a new
 * one: the cells of all, by id; passed and failed summed; wall_ms the
 * longest shard (they ran side by side), cells_per_s over the sum of the
 * shards' times; skipped_rows the largest (every shard skips the same
 * catalogue rows); setup errors once each.  summary.shard lists the
 * shards merged ("1/4 2/4 3/4 4/4").  What makes the merge itself wrong
 * is a setup error of the merged report, so a CI reading it fails: a
 * shard given twice or missing, shards of different campaigns (another
 * N, another batond), two cells with one id.  NULL with *err only when
 * an input is not a campaign report at all.
 *
 * report_junit_write writes the JUnit file of a report (one testcase a
 * cell, one error a setup error), the same as faultcheck.xml. */
#ifndef BATON_HARNESS_REPORT_MERGE_H
#define BATON_HARNESS_REPORT_MERGE_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

json_t *report_merge(json_t *const *shards, const char *const *names, size_t n,
		     struct bt_err *err);
int report_junit_write(const json_t *report, const char *path, struct bt_err *err);
/* 0 nothing failed, 1 a cell failed or a setup error: the exit status. */
int report_status(const json_t *report);

#endif
