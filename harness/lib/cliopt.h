/* cliopt: table-driven long options for the harness programs.
 *
 * A program describes its options once, in a table: the name ("--runs"),
 * the kind of value, its range, and where it goes.  cliopt_parse accepts
 * "--name VALUE" and "--name=VALUE" (flags take no value), rejects an
 * unknown option, a missing or malformed value, a value out of range and
 * an option given twice, each with a message that names the option and the
 * value.  "--help" and "-h" are recognised here so every program answers
 * them the same way.  Nothing is printed and nothing exits: the caller
 * decides (usage on stderr and exit 2, as a rule). */
#ifndef BATON_HARNESS_CLIOPT_H
#define BATON_HARNESS_CLIOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum cliopt_kind {
	CLIOPT_FLAG,	/* bool *: set to true, no value */
	CLIOPT_INT,	/* int *: a decimal integer in [min, max] */
	CLIOPT_STR,	/* const char **: the value as given (argv's storage) */
};

struct cliopt {
	const char *name;
	enum cliopt_kind kind;
	void *dst;
	long min, max;			/* CLIOPT_INT only */
	bool empty_is_null;		/* CLIOPT_STR: "" stores NULL */
};

enum cliopt_result { CLIOPT_OK = 0, CLIOPT_HELP = 1, CLIOPT_ERROR = -1 };

/* Parse argv[1..argc-1] against the N entries of TABLE. */
enum cliopt_result cliopt_parse(const struct cliopt *table, size_t n, int argc,
				char *const argv[], struct bt_err *err);

#endif
