/* test_cliopt: the harness programs' option tables (lib/cliopt.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cliopt.h"

struct vals {
	bool quick;
	int runs;
	const char *work, *only;
};

static enum cliopt_result parse(struct vals *v, struct bt_err *err, int argc,
				char *const argv[])
{
	const struct cliopt table[] = {
		{"--quick", CLIOPT_FLAG, &v->quick, 0, 0, false},
		{"--runs", CLIOPT_INT, &v->runs, 1, 100, false},
		{"--work", CLIOPT_STR, &v->work, 0, 0, false},
		{"--only", CLIOPT_STR, &v->only, 0, 0, true},
	};

	memset(v, 0, sizeof *v);
	v->only = "unset";
	err->msg[0] = 0;
	return cliopt_parse(table, 4, argc, argv, err);
}

#define ARGV(...) ((char *const[]){"prog", __VA_ARGS__})
#define ARGC(...) ((int)(sizeof ARGV(__VA_ARGS__) / sizeof(char *)))
#define PARSE(v, e, ...) parse(v, e, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void both_value_forms_and_flags(void **state)
{
	struct vals v;
	struct bt_err e;

	(void)state;
	assert_int_equal(PARSE(&v, &e, "--quick", "--runs", "7", "--work=/tmp/w", "--only="),
			 CLIOPT_OK);
	assert_true(v.quick);
	assert_int_equal(v.runs, 7);
	assert_string_equal(v.work, "/tmp/w");
	assert_null(v.only);	/* "" stores NULL where the table says so */
	assert_int_equal(PARSE(&v, &e, "--work", ""), CLIOPT_OK);
	assert_string_equal(v.work, "");
	assert_string_equal(v.only, "unset");
}

static void help_wins(void **state)
{
	struct vals v;
	struct bt_err e;

	(void)state;
	assert_int_equal(PARSE(&v, &e, "--runs", "3", "--help"), CLIOPT_HELP);
	assert_int_equal(PARSE(&v, &e, "-h"), CLIOPT_HELP);
}

/* Each bad command line is refused with a message naming the option. */
static void bad_lines_name_the_option(void **state)
{
	static const struct {
		const char *argv[4];
		int argc;
		const char *says;
	} rows[] = {
		{{"prog", "--bogus"}, 2, "unknown option \"--bogus\""},
		{{"prog", "--runs"}, 2, "--runs needs a value"},
		{{"prog", "--runs", "x7"}, 3, "--runs \"x7\": expected a number"},
		{{"prog", "--runs", "7x"}, 3, "--runs \"7x\": expected a number"},
		{{"prog", "--runs", ""}, 3, "--runs \"\": expected a number"},
		{{"prog", "--runs", "0"}, 3, "--runs 0: not in [1, 100]"},
		{{"prog", "--runs=101"}, 2, "--runs 101: not in [1, 100]"},
		{{"prog", "--runs", "99999999999999999999"}, 3, "expected a number"},
		{{"prog", "--quick=1"}, 2, "--quick takes no value"},
		{{"prog", "--quick", "--quick"}, 3, "--quick given twice"},
		{{"prog", "--work", "a", "--work=b"}, 4, "--work given twice"},
		{{"prog", "--run", "3"}, 3, "unknown option \"--run\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct vals v;
		struct bt_err e;

		assert_int_equal(parse(&v, &e, rows[i].argc, (char *const *)rows[i].argv),
				 CLIOPT_ERROR);
		if (!strstr(e.msg, rows[i].says))
			fail_msg("row %zu: \"%s\" does not say \"%s\"", i, e.msg, rows[i].says);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_value_forms_and_flags),
		cmocka_unit_test(help_wins),
		cmocka_unit_test(bad_lines_name_the_option),
	};

	return cmocka_run_group_tests_name("cliopt", tests, NULL, NULL);
}
