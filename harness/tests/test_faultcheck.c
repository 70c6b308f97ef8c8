/* test_faultcheck: the campaign can fail.  A batond built with one
 * deliberately broken step (faults/mutants/no-waitpid.patch: a failed
 * child is never reaped) must make a small campaign report C6 and a repro
 * line, and that repro line must reproduce it; the real batond passes the
 * same cell. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/testutil.h"

#define SUITE "test_faultcheck"
#define CELL "child/exec@1:error=ENOENT:transient"

static char faultcheck[PATH_MAX], mutant[PATH_MAX];

/* Run a command line through the shell; its combined output to *out. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "re");
	size_t n = 0;
	int status;

	assert_non_null(p);
	while (n + 1 < len && !feof(p))
		n += fread(out + n, 1, len - 1 - n, p);
	out[n] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void campaign_cmd(char *cmd, size_t len, const char *batond,
			 const char *dir, const char *extra)
{
	snprintf(cmd, len,
		 "'%s' --batond '%s' --catalogue faults/catalogue --jobs 1 --work '%s' "
		 "--reports '%s/reports' --repro-dir '%s/repro' %s 2>&1",
		 faultcheck, batond, dir, dir, dir, extra);
}

static void mutant_is_caught(void **state)
{
	const char *dir = tu_dir(SUITE, "mutant");
	char cmd[2048], out[65536], path[600];
	json_t *report, *cell, *v;
	bool c6 = false;
	size_t i;

	(void)state;
	campaign_cmd(cmd, sizeof cmd, mutant, dir, "--only '" CELL "'");
	assert_int_equal(run(cmd, out, sizeof out), 1);
	snprintf(path, sizeof path, "%s/reports/faultcheck.json", dir);
	report = json_load_file(path, 0, NULL);
	assert_non_null(report);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(report, "summary"), "failed")), 1);
	cell = json_array_get(json_object_get(report, "cells"), 0);
	assert_string_equal(json_string_value(json_object_get(cell, "spec")), CELL);
	assert_string_equal(json_string_value(json_object_get(cell, "verdict")),
			    "deterministic");
	json_array_foreach(json_object_get(cell, "violations"), i, v)
		c6 |= !strcmp(json_string_value(json_object_get(v, "clause")), "C6") &&
		      strstr(json_string_value(json_object_get(v, "reason")), "zombie");
	assert_true(c6);
	snprintf(cmd, sizeof cmd, "make repro FAULT='%s' BATOND=%s", CELL, mutant);
	assert_string_equal(json_string_value(json_object_get(cell, "repro")), cmd);
	/* the terminal says it too */
	assert_non_null(strstr(out, "repro: make repro FAULT='" CELL "'"));
	json_decref(report);
}

static void repro_reproduces(void **state)
{
	const char *dir = tu_dir(SUITE, "repro");
	char cmd[2048], out[65536], path[700];

	(void)state;
	campaign_cmd(cmd, sizeof cmd, mutant, dir, "--repro '" CELL "'");
	assert_int_equal(run(cmd, out, sizeof out), 1);
	assert_non_null(strstr(out, "VIOLATED C6"));
	/* the artifacts it promises are there */
	snprintf(path, sizeof path, "%s/repro/child_exec_1_error_ENOENT_transient/batond.log", dir);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof path, "%s/repro/child_exec_1_error_ENOENT_transient/state.json", dir);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof path, "%s/repro/child_exec_1_error_ENOENT_transient/notify.txt", dir);
	assert_int_equal(access(path, R_OK), 0);
}

static void reference_passes(void **state)
{
	const char *dir = tu_dir(SUITE, "reference");
	char cmd[2048], out[65536];
	int rc;

	(void)state;
	campaign_cmd(cmd, sizeof cmd, tu_batond(), dir, "--only '" CELL "'");
	rc = run(cmd, out, sizeof out);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "1 cells, 1 passed, 0 failed"));
}

/* A catalogue that forgets a point compiled into batond fails the run. */
static void catalogue_mismatch_fails(void **state)
{
	const char *dir = tu_dir(SUITE, "catalogue");
	char cmd[2048], out[65536], cat[600], extra[700];

	(void)state;
	snprintf(cat, sizeof cat, "%s/catalogue", dir);
	snprintf(cmd, sizeof cmd, "grep -v '^old/rewind' faults/catalogue > '%s'", cat);
	assert_int_equal(system(cmd), 0);
	snprintf(extra, sizeof extra, "--catalogue '%s' --only '" CELL "'", cat);
	campaign_cmd(cmd, sizeof cmd, tu_batond(), dir, extra);
	assert_int_equal(run(cmd, out, sizeof out), 1);
	assert_non_null(strstr(out, "point old/rewind is in batond but not in"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mutant_is_caught),
		cmocka_unit_test(repro_reproduces),
		cmocka_unit_test(reference_passes),
		cmocka_unit_test(catalogue_mismatch_fails),
	};
	int failures;

	if (tu_setup())
		return 1;
	snprintf(faultcheck, sizeof faultcheck, "%s", tu_beside_self("faultcheck"));
	snprintf(mutant, sizeof mutant, "%s",
		 tu_beside_self("mutants/no-waitpid/build/batond"));
	if (access(mutant, X_OK) != 0) {
		fprintf(stderr, "the mutant %s is not built (make tests builds it)\n", mutant);
		return 1;
	}
	tu_filter();
	failures = cmocka_run_group_tests(tests, NULL, NULL);
	tu_cleanup(SUITE, failures);
	return failures;
}
