/* campaign: the exhaustive fault campaign (make faultcheck).
 *
 * 1. Check the catalogue against the points compiled into batond.
 * 2. Trace: one clean run of each scenario with every point traced gives
 *    the hit count of each (process, point); the clean runs must satisfy
 *    the contract themselves.
 * 3. Cells: every catalogue row x N (1 .. hits) x mode, filtered by --only
 *    and --shard; each cell runs in its own forked process (a subreaper),
 *    its own directory, ports and notify socket, under load, up to --jobs
 *    at a time; each is judged by C1-C9, by the row's expected outcome, and
 *    by whether the fault fired at all.
 * 4. Failing cells run twice more: deterministic or flaky.
 * 5. Reports: a progress line, a matrix on the terminal, REPORT_DIR/
 *    faultcheck.json and faultcheck.xml (JUnit).  Exit status 1 on any
 *    failure, unfired point or catalogue mismatch.
 * campaign_repro runs one cell verbosely and keeps every artifact. */
#ifndef BATON_HARNESS_CAMPAIGN_H
#define BATON_HARNESS_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>

struct campaign_opts {
	const char *batond;
	bool batond_given;		/* repro lines then name it */
	const char *catalogue;
	const char *work_dir;		/* cells live here */
	const char *report_dir;
	const char *repro_dir;
	int jobs;
	int shard_i, shard_n;		/* 1-based; 1/1 = everything */
	const char *only;		/* fnmatch glob on the spec */
	int upgrade_timeout_ms;
	int cell_timeout_ms;
	bool list_only;
	bool exhaustive;		/* every N even for the allocators */
	bool no_preload;		/* batond without libfiu's preload */
	const char *skip_points;	/* fnmatch glob: catalogue rows whose
					 * point matches are skipped (counted) */
	bool verbose;
	const char *repro_cmd;		/* repro lines "CMD 'SPEC'" (baton
					 * repro); NULL: make repro FAULT= */
};

/* Returns the process exit status: 0 clean, 1 failures, 2 setup error. */
int campaign_run(const struct campaign_opts *o);
int campaign_repro(const struct campaign_opts *o, const char *spec);
/* Where campaign_repro keeps the artifacts of SPEC: REPRO_DIR/<spec with
 * '/', ':', '=' and '@' as '_'>. */
void campaign_repro_dir(const struct campaign_opts *o, const char *spec,
			char *dir, size_t len);

#endif
