/* test_blackbox: the black-box runner (blackbox.h) on batond, nginx and
 * HAProxy.  A daemon that is not installed makes its tests SKIPPED, with
 * the reason printed first: never passed.  Each test is short and bounded
 * (a few upgrades, concurrency 8 at most, loopback only). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "blackbox/blackbox.h"
#include "tests/testutil.h"

#define SUITE "test_blackbox"

static struct bb_opts opts(const char *name, int upgrades, int concurrency)
{
	const char *dir = tu_dir(SUITE, name);
	static char reports[600];
	struct bb_opts o = {
		.batond = tu_batond(),
		.work_dir = dir,
		.upgrades = upgrades,
		.concurrency = concurrency,
		.load_before_ms = 150,
		.load_after_ms = 100,
		.deadline_ms = 5000,
		.quiet = true,
	};

	snprintf(reports, sizeof reports, "%s/reports", dir);
	o.report_dir = reports;
	return o;
}

/* Skip TEST (with the reason on stdout) unless TARGET's daemon can run. */
static const struct target_ops *need(const char *target, const char *test)
{
	const struct target_ops *ops = target_find(target);
	char why[400];

	assert_non_null(ops);
	if (target_available(ops, ops == &target_reference ? tu_batond() : NULL, why,
			     sizeof why) != 0) {
		printf("[  SKIP    ] %s: %s\n", test, why);
		fflush(stdout);
		skip();
	}
	return ops;
}

static void print_session(const struct bb_session *s)
{
	fprintf(stderr, "-- %s %s: %s\n", s->name, s->spec, s->ran ? "ran" : s->error);
	for (int i = 0; i < s->n_up; i++) {
		char load[400];

		loadgen_summary(&s->up[i].load, load, sizeof load);
		fprintf(stderr, "   upgrade %d: %s in %lld ms: %s; load: %s\n", s->up[i].n,
			bb_outcome(&s->up[i]), s->up[i].ms, s->up[i].tu.detail, load);
		for (size_t k = 0; k < s->up[i].rep.n; k++)
			fprintf(stderr, "   %s: %s\n", s->up[i].rep.v[k].clause,
				s->up[i].rep.v[k].reason);
	}
	for (size_t k = 0; k < s->stop_rep.n; k++)
		fprintf(stderr, "   stop %s: %s\n", s->stop_rep.v[k].clause,
			s->stop_rep.v[k].reason);
}

/* Upgrades in a row under load: all upgraded, no failed request, C1-C8
 * clean, every listener kept. */
static void assert_clean_upgrades(const char *target, int upgrades,
				  const char *test)
{
	const struct target_ops *ops = need(target, test);
	struct bb_opts o = opts(target, upgrades, 8);
	struct bb_session s;

	assert_int_equal(bb_run_session(&o, ops, NULL, &s), 0);
	if (bb_session_violations(&s) || s.n_up != upgrades)
		print_session(&s);
	assert_int_equal(s.n_up, upgrades);
	assert_int_equal(bb_session_violations(&s), 0);
	assert_int_equal(bb_session_failed(&s), 0);
	for (int i = 0; i < s.n_up; i++) {
		assert_true(s.up[i].tu.upgraded);
		assert_true(s.up[i].load.ok > 0);
		assert_int_equal(s.up[i].inode_before, s.up[i].inode_after);
		assert_int_equal(s.up[i].zombies, 0);
		assert_true(s.up[i].fd_growth <= 0);
	}
	bb_session_free(&s);
}

/* The reference passes the black-box clauses too (no package needed). */
static void reference_as_black_box(void **state)
{
	(void)state;
	assert_clean_upgrades("reference", 2, __func__);
}

static void nginx_binary_upgrades(void **state)
{
	(void)state;
	assert_clean_upgrades("nginx", 3, __func__);
}

static void haproxy_seamless_reloads(void **state)
{
	(void)state;
	assert_clean_upgrades("haproxy", 3, __func__);
}

/* nginx started as "nginx" (no path): its USR2 exec fails with ENOENT,
 * the old master keeps serving and takes its pid file back.  The checker
 * must say that no upgrade happened (C1), not call it a success. */
static void nginx_relative_argv0_is_no_upgrade(void **state)
{
	const struct target_ops *ops = need("nginx", __func__);
	struct bb_opts o = opts("nginx-relative", 1, 4);
	struct bb_session s;
	bool c1 = false;

	(void)state;
	o.relative_argv0 = true;
	assert_int_equal(bb_run_session(&o, ops, NULL, &s), 0);
	print_session(&s);
	assert_int_equal(s.n_up, 1);
	assert_true(s.up[0].tu.triggered);
	assert_false(s.up[0].tu.upgraded);
	assert_string_equal(bb_outcome(&s.up[0]), "rolled back");
	assert_int_equal(s.up[0].master, s.up[0].tu.old_master);
	assert_int_equal(s.up[0].pidfile_pid, s.up[0].tu.old_master);
	assert_non_null(strstr(s.up[0].tu.detail, "No such file"));
	for (size_t k = 0; k < s.up[0].rep.n; k++)
		c1 |= strcmp(s.up[0].rep.v[k].clause, "C1") == 0;
	assert_true(c1);
	assert_int_equal(bb_session_failed(&s), 0);
	bb_session_free(&s);
}

/* A fork failing in the old master on USR2 (libfiu's preload and baton's
 * shim): nginx logs it, keeps serving, takes its pid file back; the next
 * upgrade works. */
static void nginx_fork_fault_rolls_back(void **state)
{
	const struct target_ops *ops = need("nginx", __func__);
	struct bb_opts o = opts("nginx-fork", 1, 4);
	struct fp_spec f;
	struct bb_session s;

	(void)state;
	assert_int_equal(fp_spec_parse("old:posix/proc/fork@1:error=EAGAIN", &f, NULL), 0);
	if (bb_run_session(&o, ops, &f, &s) != 0)
		fail_msg("the session did not run: %s", s.error);
	if (!s.ran || s.fired != 1 || s.n_up != 2)
		print_session(&s);
	assert_true(s.ran);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.n_up, 2);
	assert_string_equal(bb_outcome(&s.up[0]), "rolled back");
	assert_non_null(strstr(s.up[0].tu.detail, "fork() failed"));
	assert_int_equal(loadgen_failed(&s.up[0].load), 0);
	assert_string_equal(bb_outcome(&s.up[1]), "upgraded");
	assert_int_equal(s.up[1].rep.n, 0);
	bb_session_free(&s);
}

static unsigned long one_reload_without_load(const char *target, bool *kept,
					     const char *test)
{
	const struct target_ops *ops = need(target, test);
	struct bb_opts o = opts(target, 1, -1);
	struct bb_session s;
	unsigned long before;

	assert_int_equal(bb_run_session(&o, ops, NULL, &s), 0);
	assert_int_equal(s.n_up, 1);
	assert_true(s.up[0].tu.upgraded);
	assert_false(s.up[0].loaded);
	assert_true(s.up[0].inode_before != 0 && s.up[0].inode_after != 0);
	before = s.up[0].inode_before;
	*kept = s.up[0].inode_before == s.up[0].inode_after;
	bb_session_free(&s);
	return before;
}

/* Without any load the listening socket tells the two reloads apart: the
 * same inode after the seamless one, a new one after `-sf` (and C4 says
 * so even though no request failed). */
static void haproxy_inode_tells_classic_from_seamless(void **state)
{
	bool kept;

	(void)state;
	assert_true(one_reload_without_load("haproxy", &kept, __func__) != 0);
	assert_true(kept);
	assert_true(one_reload_without_load("haproxy-classic", &kept, __func__) != 0);
	assert_false(kept);
}

/* A daemon that is not there is reported as skipped, exit 77, never as a
 * pass, and the JSON report says why. */
static void missing_daemon_is_skipped(void **state)
{
	struct bb_opts o = opts("missing", 1, 4);
	char path[700];
	json_t *r;

	(void)state;
	o.target = "nginx";
	o.binary = "/nonexistent/sbin/nginx";
	o.faults = "none";
	o.quiet = true;
	assert_int_equal(blackbox_main(&o), BB_EXIT_SKIPPED);
	snprintf(path, sizeof path, "%s/faultcheck-nginx.json", o.report_dir);
	r = json_load_file(path, 0, NULL);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "skipped")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "skip_reason")),
			       "/nonexistent/sbin/nginx"));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_as_black_box),
		cmocka_unit_test(missing_daemon_is_skipped),
		cmocka_unit_test(nginx_binary_upgrades),
		cmocka_unit_test(nginx_relative_argv0_is_no_upgrade),
		cmocka_unit_test(nginx_fork_fault_rolls_back),
		cmocka_unit_test(haproxy_seamless_reloads),
		cmocka_unit_test(haproxy_inode_tells_classic_from_seamless),
	};
	int failures;

	if (tu_setup())
		return 1;
	tu_filter();
	failures = cmocka_run_group_tests(tests, NULL, NULL);
	tu_cleanup(SUITE, failures);
	return failures;
}
