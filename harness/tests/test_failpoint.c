/* test_failpoint: the fault spec grammar and the Nth-hit trigger.
 *
 * Specs accepted (every field checked, the canonical text read back the
 * same) and rejected (the message has the column and a caret under the
 * offending character); FP_HIT firing on exactly the hits its spec names,
 * only while armed and only in the process that armed; the environment
 * (BATON_FAULTS, BATON_FAULT_TRACE); the kinds that never return (crash,
 * hang) in forked children only. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "err.h"
#include "failpoint_control.h"
#include "json_guard.h"

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the message \"%s\"", needle, hay);
}

/* Two call sites of this binary's own. */
static enum fp_kind probe(void) { return FP_HIT("test/probe"); }

static enum fp_kind probe2(void) { return FP_HIT("test/probe2"); }

/* --- accepted specs --- */

struct accept_row {
	const char *text;
	const char *role, *point;
	unsigned nth;
	enum fp_kind kind;
	int errnum;
	enum fp_mode mode;
	const char *canonical;
};

/* clang-format off */
static const struct accept_row accept_rows[] = {
	{"old/write@2:error=ENOSPC:persistent", "", "old/write", 2, FP_ERROR,
	 ENOSPC, FP_PERSISTENT, "old/write@2:error=ENOSPC:persistent"},
	{"child/exec@1:error=ENOENT", "", "child/exec", 1, FP_ERROR, ENOENT,
	 FP_TRANSIENT, "child/exec@1:error=ENOENT:transient"},
	{"new/parse@1:crash", "", "new/parse", 1, FP_CRASH, 0, FP_TRANSIENT,
	 "new/parse@1:crash:transient"},
	{"old/confirm-read@1:hang", "", "old/confirm-read", 1, FP_HANG, 0,
	 FP_TRANSIENT, "old/confirm-read@1:hang:transient"},
	{"new:libc/mm/malloc@3:error=ENOMEM", "new", "libc/mm/malloc", 3,
	 FP_ERROR, ENOMEM, FP_TRANSIENT, "new:libc/mm/malloc@3:error=ENOMEM:transient"},
	{"worker:worker/handoff@10:short:transient", "worker", "worker/handoff",
	 10, FP_SHORT, 0, FP_TRANSIENT, "worker:worker/handoff@10:short:transient"},
	{"old:old/write@4:short:persistent", "old", "old/write", 4, FP_SHORT, 0,
	 FP_PERSISTENT, "old:old/write@4:short:persistent"},
	{"old/write@1:error=28", "", "old/write", 1, FP_ERROR, 28, FP_TRANSIENT,
	 "old/write@1:error=ENOSPC:transient"},
	{"mem/alloc@99999999:error=ENOMEM:persistent", "", "mem/alloc", 99999999,
	 FP_ERROR, ENOMEM, FP_PERSISTENT, "mem/alloc@99999999:error=ENOMEM:persistent"},
	{"posix/io/rw/write@5:short", "", "posix/io/rw/write", 5, FP_SHORT, 0,
	 FP_TRANSIENT, "posix/io/rw/write@5:short:transient"},
	{"old/a_b.c-9@7:error=EIO", "", "old/a_b.c-9", 7, FP_ERROR, EIO,
	 FP_TRANSIENT, "old/a_b.c-9@7:error=EIO:transient"},
	{"old/write@007:short", "", "old/write", 7, FP_SHORT, 0, FP_TRANSIENT,
	 "old/write@7:short:transient"},
};
/* clang-format on */

static void check_fields(size_t row, const struct fp_spec *s,
			 const struct accept_row *r)
{
	if (strcmp(s->role, r->role) || strcmp(s->point, r->point) ||
	    s->nth != r->nth || s->kind != r->kind || s->mode != r->mode ||
	    (r->kind == FP_ERROR && s->errnum != r->errnum))
		fail_msg(
		    "accept row %zu (%s): got role \"%s\" point \"%s\" nth %u "
		    "kind %d errno %d mode %d",
		    row, r->text, s->role, s->point, s->nth, s->kind, s->errnum,
		    s->mode);
}

static void test_spec_accept(void **unused)
{
	size_t n = sizeof accept_rows / sizeof accept_rows[0];

	(void)unused;
	for (size_t i = 0; i < n; i++) {
		const struct accept_row *r = &accept_rows[i];
		struct fp_spec s, back;
		struct bt_err err = {0};
		char text[256];

		if (fp_spec_parse(r->text, &s, &err))
			fail_msg("accept row %zu (%s): %s", i, r->text,
				 err.msg);
		check_fields(i, &s, r);
		/* the canonical text, and it reads back the same */
		assert_int_equal(fp_spec_format(&s, text, sizeof text), 0);
		assert_string_equal(text, r->canonical);
		assert_int_equal(fp_spec_parse(text, &back, &err), 0);
		check_fields(i, &back, r);
	}
}

static void test_spec_format_small_buffer(void **unused)
{
	struct fp_spec s;
	struct bt_err err = {0};
	char text[8];

	(void)unused;
	assert_int_equal(fp_spec_parse("old/write@1:short", &s, &err), 0);
	assert_int_equal(fp_spec_format(&s, text, sizeof text), -1);
}

/* --- rejected specs: column and caret --- */

struct reject_row {
	const char *text;
	size_t col; /* 0-based offset of the offending character */
	const char *needle;
};

/* clang-format off */
static const struct reject_row reject_rows[] = {
	{"", 0, "expected '@N'"},
	{"old/write", 9, "expected '@N'"},
	{"old/write@", 10, "expected a hit number"},
	{"old/write@0:short", 10, "hit numbers start at 1"},
	{"old/write@x:short", 10, "expected a hit number"},
	{"old/write@123456789:short", 10, "expected a hit number"},
	{"old/write@1", 11, "expected ':KIND'"},
	{"old/write@1x:short", 11, "expected ':KIND'"},
	{"old/write@1:", 12, "unknown kind"},
	{"old/write@1:boom", 12, "unknown kind"},
	{"old/write@1:error", 17, "error needs an errno"},
	{"old/write@1:error=", 18, "expected an errno"},
	{"old/write@1:error=ENOTANERRNO", 18, "unknown errno name"},
	{"old/write@1:error=99999", 18, "unknown errno number"},
	{"old/write@1:error=28x", 18, "unknown errno number"},
	{"old/write@1:short=EIO", 17, "only the error kind takes an argument"},
	{"old/write@1:short:forever", 18, "unknown mode"},
	{"old/write@1:short:", 18, "unknown mode"},
	{"old/write@1:short:persistent:x", 18, "unknown mode"},
	{"Old/write@1:short", 0, "unexpected character in point name"},
	{"old/wr!te@1:short", 6, "unexpected character in point name"},
	{"oldwrite@1:short", 0, "point name must be a path"},
	{"@1:short", 0, "expected a point name"},
	{"boss:old/write@1:short", 0, "unknown role"},
	{":old/write@1:short", 0, "unknown role"},
	{"old:new:x/y@1:short", 7, "unexpected character in point name"},
	{"a/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@1:short",
	 0, "point name too long"},
};
/* clang-format on */

/* The message is "WHAT at column C:\n  TEXT\n  <spaces>^": the caret sits
 * under the offending character of the quoted text. */
static void check_caret(size_t row, const char *msg, const char *text,
			size_t col)
{
	char want[96], quoted[300];
	const char *line, *caret;

	snprintf(want, sizeof want, "at column %zu:", col + 1);
	assert_has(msg, want);
	snprintf(quoted, sizeof quoted, "\n  %s\n", text);
	line = strstr(msg, quoted);
	if (!line)
		fail_msg("reject row %zu: the text is not quoted: \"%s\"", row,
			 msg);
	caret = line + strlen(quoted);
	if (strcspn(caret, "^") != col + 2 || strspn(caret, " ") != col + 2 ||
	    strcmp(caret + col + 2, "^") != 0)
		fail_msg("reject row %zu: caret not under column %zu:\n%s", row,
			 col + 1, msg);
}

static void test_spec_reject(void **unused)
{
	size_t n = sizeof reject_rows / sizeof reject_rows[0];

	(void)unused;
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		const struct reject_row *r = &reject_rows[i];
		struct bt_err err = {0};
		struct fp_spec s;

		if (fp_spec_parse(r->text, &s, &err) != -1)
			fail_msg("reject row %zu (%s) was accepted", i,
				 r->text);
		assert_int_equal(err.errnum, EINVAL);
		assert_string_equal(err.step, "fault-spec");
		if (!strstr(err.msg, r->needle))
			fail_msg("reject row %zu: \"%s\" lacks \"%s\"", i,
				 err.msg, r->needle);
		check_caret(i, err.msg, r->text, r->col);
	}
}

static void test_spec_too_long(void **unused)
{
	char text[260];
	struct bt_err err = {0};
	struct fp_spec s;

	(void)unused;
	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = 0;
	assert_int_equal(fp_spec_parse(text, &s, &err), -1);
	assert_has(err.msg, "200 at most");
}

static void test_spec_list(void **unused)
{
	struct fp_spec specs[4];
	struct bt_err err = {0};
	size_t n = 99;

	(void)unused;
	assert_int_equal(
	    fp_spec_parse_list(" old/write@1:short , new:new/parse@2:crash,,",
			       specs, 4, &n, &err),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(specs[0].point, "old/write");
	assert_string_equal(specs[1].role, "new");
	assert_int_equal(specs[1].kind, FP_CRASH);
	assert_int_equal(fp_spec_parse_list("", specs, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	/* the second spec is wrong: say which, and still show the caret */
	assert_int_equal(fp_spec_parse_list("old/write@1:short,old/write@1:bad",
					    specs, 4, &n, &err),
			 -1);
	assert_has(err.msg, "spec 2 of");
	check_caret(0, err.msg, "old/write@1:bad", 12);
	assert_int_equal(
	    fp_spec_parse_list("a/b@1:short,a/b@2:short,a/b@3:short", specs, 2,
			       &n, &err),
	    -1);
	assert_int_equal(err.errnum, E2BIG);
}

/* --- the trigger --- */

/* Hit the probe 8 times; bit i of the result is set when hit i+1 fired
 * (FP_ERROR with the spec's errno). */
static unsigned fire_pattern(void)
{
	unsigned bits = 0;

	for (int i = 0; i < 8; i++) {
		enum fp_kind k;

		errno = 0;
		k = probe();
		if (k == FP_ERROR && errno == EIO)
			bits |= 1u << i;
		else if (k != FP_NONE)
			fail_msg("hit %d: kind %d, errno %d", i + 1, k, errno);
	}
	return bits;
}

static void enable_probe(unsigned nth, enum fp_kind kind, enum fp_mode mode)
{
	struct fp_spec sp = {.point = "test/probe",
			     .nth = nth,
			     .kind = kind,
			     .errnum = EIO,
			     .mode = mode};
	struct bt_err err = {0};

	fp_reset();
	if (fp_enable(&sp, &err))
		fail_msg("fp_enable: %s", err.msg);
}

static void test_nth_transient(void **unused)
{
	(void)unused;
	enable_probe(3, FP_ERROR, FP_TRANSIENT);
	fp_arm();
	assert_true(fp_armed());
	assert_int_equal(fire_pattern(), 1u << 2);
	assert_int_equal(fp_fired("test/probe"), 1);
	fp_reset();
	assert_false(fp_armed());
}

static void test_nth_persistent(void **unused)
{
	(void)unused;
	enable_probe(3, FP_ERROR, FP_PERSISTENT);
	fp_arm();
	assert_int_equal(fire_pattern(), 0xfcu); /* hits 3 to 8 */
	assert_int_equal(fp_fired("test/probe"), 6);
	fp_reset();
}

/* Disarmed, nothing fires and nothing counts: N counts from fp_arm. */
static void test_disarmed_does_not_count(void **unused)
{
	(void)unused;
	enable_probe(2, FP_ERROR, FP_TRANSIENT);
	assert_int_equal(fire_pattern(), 0);
	assert_int_equal(fp_fired("test/probe"), 0);
	fp_arm();
	assert_int_equal(fire_pattern(), 1u << 1);
	fp_disarm();
	assert_false(fp_armed());
	assert_int_equal(fire_pattern(), 0);
	fp_reset();
	/* after a reset, an armed process is clean */
	fp_arm();
	assert_int_equal(fire_pattern(), 0);
	fp_reset();
}

static void test_short_kind(void **unused)
{
	(void)unused;
	enable_probe(1, FP_SHORT, FP_TRANSIENT);
	fp_arm();
	assert_int_equal(probe(), FP_SHORT);
	assert_int_equal(probe(), FP_NONE);
	assert_int_equal(probe2(), FP_NONE); /* another point: untouched */
	fp_reset();
}

static void test_two_specs_one_point(void **unused)
{
	struct fp_spec sp = {.point = "test/probe", .nth = 5, .kind = FP_SHORT};
	struct bt_err err = {0};

	(void)unused;
	enable_probe(1, FP_SHORT, FP_TRANSIENT);
	assert_int_equal(fp_enable(&sp, &err), -1);
	assert_has(err.msg, "two specs for test/probe");
	fp_reset();
}

/* This binary's FP_HIT sites, sorted and distinct: ours and the library's
 * mem/alloc (state_json is linked in). */
static void test_code_points(void **unused)
{
	size_t n = 0;
	const char *const *pts = fp_code_points(&n);
	bool probe_seen = false, probe2_seen = false, alloc_seen = false;

	(void)unused;
	assert_non_null(pts);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(pts[i - 1], pts[i]) < 0);
		probe_seen |= strcmp(pts[i], "test/probe") == 0;
		probe2_seen |= strcmp(pts[i], "test/probe2") == 0;
		alloc_seen |= strcmp(pts[i], "mem/alloc") == 0;
	}
	assert_true(probe_seen && probe2_seen && alloc_seen);
	assert_ptr_equal(fp_code_points(&n), pts); /* computed once */
}

static void test_kind_names(void **unused)
{
	(void)unused;
	assert_string_equal(fp_kind_name(FP_NONE), "none");
	assert_string_equal(fp_kind_name(FP_ERROR), "error");
	assert_string_equal(fp_kind_name(FP_SHORT), "short");
	assert_string_equal(fp_kind_name(FP_HANG), "hang");
	assert_string_equal(fp_kind_name(FP_CRASH), "crash");
	assert_string_equal(fp_kind_name((enum fp_kind)42), "?");
}

/* --- forked children: what never returns, and what a child counts --- */

static int wait_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Crash at hit 2: hit 1 passes (the child says so through a pipe), hit 2
 * kills the child with SIGKILL. */
static void test_crash_in_child(void **unused)
{
	int p[2], status;
	char c = 0;
	pid_t pid;

	(void)unused;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fp_spec sp = {
		    .point = "test/probe", .nth = 2, .kind = FP_CRASH};

		close(p[0]);
		fp_reset();
		if (fp_enable(&sp, NULL))
			_exit(2);
		fp_arm();
		if (probe() != FP_NONE || write(p[1], "1", 1) != 1)
			_exit(3);
		probe();
		_exit(0); /* not reached when the crash works */
	}
	close(p[1]);
	status = wait_status(pid);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, '1');
	close(p[0]);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* Hang for BATON_HANG_SECONDS=1, then come back as FP_HANG. */
static void test_hang_in_child(void **unused)
{
	int64_t t0 = channel_now_ms(), dt;
	int status;
	pid_t pid = fork();

	(void)unused;
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fp_spec sp = {
		    .point = "test/probe", .nth = 1, .kind = FP_HANG};
		int64_t c0;

		fp_reset();
		setenv("BATON_HANG_SECONDS", "1", 1);
		unsetenv("BATON_FAULTS");
		unsetenv("BATON_FAULT_TRACE");
		if (fp_setup("tool", NULL) || fp_enable(&sp, NULL))
			_exit(2);
		fp_arm();
		c0 = channel_now_ms();
		if (probe() != FP_HANG)
			_exit(3);
		_exit(channel_now_ms() - c0 >= 990 ? 0 : 4);
	}
	status = wait_status(pid);
	dt = channel_now_ms() - t0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_in_range(dt, 990, 4000);
}

/* A child does not inherit its parent's arming: N means the Nth hit of
 * the process that armed. */
static void test_child_does_not_count_parent_arming(void **unused)
{
	int status;
	pid_t pid;

	(void)unused;
	enable_probe(1, FP_ERROR, FP_TRANSIENT);
	fp_arm();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(probe() == FP_NONE && probe() == FP_NONE ? 0 : 1);
	status = wait_status(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	errno = 0;
	assert_int_equal(probe(), FP_ERROR); /* the parent's hit 1 */
	assert_int_equal(errno, EIO);
	fp_reset();
}

/* --- the environment --- */

static void test_setup_from_env(void **unused)
{
	struct bt_err err = {0};

	(void)unused;
	fp_reset();
	unsetenv("BATON_FAULT_TRACE");
	setenv("BATON_FAULTS",
	       "old:test/probe@2:error=EIO, new:test/probe2@1:short", 1);
	assert_int_equal(fp_setup("old", &err), 0);
	fp_arm();
	assert_int_equal(fire_pattern(), 1u << 1);
	assert_int_equal(probe2(), FP_NONE); /* the new master's spec */
	fp_reset();
	assert_int_equal(fp_setup("new", &err), 0);
	fp_arm();
	assert_int_equal(fire_pattern(), 0);
	assert_int_equal(probe2(), FP_SHORT);
	fp_reset();
	setenv("BATON_FAULTS", "test/probe@1:short,test/probe@x:short", 1);
	assert_int_equal(fp_setup("old", &err), -1);
	assert_has(err.msg, "BATON_FAULTS: spec 2 of");
	check_caret(0, err.msg, "test/probe@x:short", 11);
	unsetenv("BATON_FAULTS");
	fp_reset();
}

/* One line a hit and one a firing: "hit PID ROLE POINT N T",
 * "fire PID ROLE POINT N KIND T", T the CLOCK_MONOTONIC microseconds of
 * the hit (the timeline of a report puts every process on that axis). */
static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Strip the time off each line of TEXT (in place), checking it lies in
 * [FROM, TO] and never goes back. */
static void check_times(char *text, long long from, long long to)
{
	char *out = text, *line = text, *nl;
	long long last = from;

	while ((nl = strchr(line, '\n'))) {
		char *sp;
		long long t;

		*nl = 0;
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		t = atoll(sp + 1);
		assert_true(t >= last && t <= to);
		last = t;
		*sp = 0;
		out += sprintf(out, "%s\n", line);
		line = nl + 1;
	}
	*out = 0;
}

static void test_trace_file(void **unused)
{
	char dir[] = "/tmp/baton-fp-XXXXXX", path[64], want[128], text[1024];
	struct bt_err err = {0};
	FILE *f;
	size_t len;
	long long t0;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/trace", dir);
	fp_reset();
	setenv("BATON_FAULT_TRACE", path, 1);
	setenv("BATON_FAULTS", "test/probe@2:short", 1);
	assert_int_equal(fp_setup("tool", &err), 0);
	unsetenv("BATON_FAULT_TRACE");
	unsetenv("BATON_FAULTS");
	t0 = mono_us();
	fp_arm();
	assert_int_equal(probe(), FP_NONE);
	assert_int_equal(probe(), FP_SHORT);
	assert_int_equal(probe2(), FP_NONE); /* traced, not enabled */
	fp_reset();
	f = fopen(path, "re");
	assert_non_null(f);
	len = fread(text, 1, sizeof text - 1, f);
	text[len] = 0;
	fclose(f);
	check_times(text, t0, mono_us());
	snprintf(want, sizeof want,
		 "hit %d tool test/probe 1\nhit %d tool test/probe 2\n"
		 "fire %d tool test/probe 2 short\nhit %d tool test/probe2 1\n",
		 (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid());
	assert_string_equal(text, want);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* --- errno names, which the grammar uses --- */

static void test_errno_names(void **unused)
{
	struct bt_err err = {0};
	char buf[256];

	(void)unused;
	assert_string_equal(err_errno_name(ENOSPC), "ENOSPC");
	assert_null(err_errno_name(0));
	assert_int_equal(err_errno_from_name("ECONNRESET"), ECONNRESET);
	assert_int_equal(err_errno_from_name("EBOGUS"), -1);
	errno = 0;
	assert_int_equal(err_set(&err, "old/write", ENOSPC, "writing %s", "x"),
			 -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(err_wrap(&err, "state file: "), -1);
	assert_string_equal(err.msg, "state file: writing x");
	assert_has(err_format(&err, buf, sizeof buf),
		   "old/write: state file: writing x (errno ENOSPC");
	assert_int_equal(err_set(NULL, "x", 0, "no errno"), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_accept),
	    cmocka_unit_test(test_spec_format_small_buffer),
	    cmocka_unit_test(test_spec_reject),
	    cmocka_unit_test(test_spec_too_long),
	    cmocka_unit_test(test_spec_list),
	    cmocka_unit_test(test_nth_transient),
	    cmocka_unit_test(test_nth_persistent),
	    cmocka_unit_test(test_disarmed_does_not_count),
	    cmocka_unit_test(test_short_kind),
	    cmocka_unit_test(test_two_specs_one_point),
	    cmocka_unit_test(test_code_points),
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_crash_in_child),
	    cmocka_unit_test(test_hang_in_child),
	    cmocka_unit_test(test_child_does_not_count_parent_arming),
	    cmocka_unit_test(test_setup_from_env),
	    cmocka_unit_test(test_trace_file),
	    cmocka_unit_test(test_errno_names),
	};

	json_guard_init();
	/* the environment of the run must not inject anything here */
	unsetenv("BATON_FAULTS");
	unsetenv("BATON_FAULT_TRACE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
