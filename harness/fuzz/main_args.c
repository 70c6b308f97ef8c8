/* fuzz_main_args: the `batond main` argument parser (upgrade_new_parse_args).
 *
 * Input: the arguments after "main", separated by NUL bytes (so an argument
 * may hold spaces, '=' or newlines), at most FUZZ_MAX_ARGS of them.
 *
 * Oracle: accepted arguments are in range (both fds in [3, INT_MAX] and
 * distinct, both buffer sizes in [16, 2^30] and ordered), and the
 * canonical command line built from them (`--fd N --upgrade-fd M ...`)
 * parses to the same values.  A rejection is a new/args error with a
 * reason. */
#include "fuzz/targets.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade.h"

#define FUZZ_MAX_ARGS 64

struct argv_buf {
	char *text;	/* the input, NUL-terminated pieces */
	char *argv[FUZZ_MAX_ARGS + 2];
	int argc;
};

/* Split on NUL bytes; argv[0] is the program, argv[argc] is NULL. */
static int split_args(const uint8_t *data, size_t size, struct argv_buf *a)
{
	static char prog[] = "batond-main";
	size_t start = 0;

	a->text = malloc(size + 1);
	if (!a->text)
		return -1;
	memcpy(a->text, data, size);
	a->text[size] = 0;
	a->argc = 0;
	a->argv[a->argc++] = prog;
	for (size_t i = 0; i <= size && a->argc <= FUZZ_MAX_ARGS; i++) {
		if (a->text[i] != 0)
			continue;
		if (i > start || i < size)
			a->argv[a->argc++] = a->text + start;
		start = i + 1;
	}
	a->argv[a->argc] = NULL;
	return 0;
}

static enum oracle_outcome check_ranges(const struct upgrade_new_args *a,
					struct oracle_report *rep)
{
	if (a->confirm_fd < 3 || a->state_fd < 3 || a->confirm_fd == a->state_fd)
		return oracle_fail(rep, "range", "fds %d and %d accepted",
				   a->confirm_fd, a->state_fd);
	if (a->command_buffer_size < 16 ||
	    a->max_command_buffer_size > (1u << 30) ||
	    a->command_buffer_size > a->max_command_buffer_size)
		return oracle_fail(rep, "range", "buffer sizes %llu / %llu accepted",
				   (unsigned long long)a->command_buffer_size,
				   (unsigned long long)a->max_command_buffer_size);
	return ORACLE_PASS;
}

/* Build the canonical command line from A and parse it again. */
static enum oracle_outcome args_canonical(const struct upgrade_new_args *a,
					   struct oracle_report *rep)
{
	char v[4][24];
	char *argv[] = {"batond-main", "--fd", v[0], "--upgrade-fd", v[1],
			"--command-buffer-size", v[2],
			"--max-command-buffer-size", v[3], NULL};
	struct upgrade_new_args b;
	struct bt_err err = {0};

	snprintf(v[0], sizeof v[0], "%d", a->confirm_fd);
	snprintf(v[1], sizeof v[1], "%d", a->state_fd);
	snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)a->command_buffer_size);
	snprintf(v[3], sizeof v[3], "%llu",
		 (unsigned long long)a->max_command_buffer_size);
	if (upgrade_new_parse_args(9, argv, &b, &err))
		return oracle_fail(rep, "reparse", "canonical arguments rejected: %s",
				   err.msg);
	if (memcmp(a, &b, sizeof b) != 0)
		return oracle_fail(rep, "equal", "canonical arguments parse to "
				   "other values");
	return ORACLE_PASS;
}

enum oracle_outcome fuzz_main_args_check(const uint8_t *data, size_t size,
					 struct oracle_report *rep)
{
	struct argv_buf args;
	struct upgrade_new_args a;
	struct bt_err err = {0};
	enum oracle_outcome o;

	memset(rep, 0, sizeof *rep);
	memset(&a, 0, sizeof a);
	if (split_args(data, size, &args))
		return ORACLE_REJECTED;
	if (upgrade_new_parse_args(args.argc, args.argv, &a, &err)) {
		o = ORACLE_REJECTED;
		if (strcmp(err.step, "new/args") != 0 || !err.msg[0] ||
		    (err.errnum != EINVAL && err.errnum != ERANGE))
			o = oracle_fail(rep, "reject", "error without a reason: step "
					"\"%s\", errno %d", err.step, err.errnum);
	} else {
		o = check_ranges(&a, rep);
		if (o == ORACLE_PASS)
			o = args_canonical(&a, rep);
	}
	free(args.text);
	return o;
}

FUZZ_ENTRY("fuzz_main_args", fuzz_main_args_check)
