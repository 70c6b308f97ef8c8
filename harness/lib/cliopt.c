/* cliopt: see cliopt.h. */
#include "lib/cliopt.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct cliopt *find(const struct cliopt *t, size_t n, const char *arg,
				 size_t name_len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == name_len && strncmp(t[i].name, arg, name_len) == 0)
			return &t[i];
	return NULL;
}

static int store(const struct cliopt *o, const char *value, struct bt_err *err)
{
	char *end;
	long v;

	if (o->kind == CLIOPT_STR) {
		*(const char **)o->dst = o->empty_is_null && !*value ? NULL : value;
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (!*value || *end || errno == ERANGE)
		return err_set(err, "options", EINVAL, "%s \"%.60s\": expected a number",
			       o->name, value);
	if (v < o->min || v > o->max)
		return err_set(err, "options", ERANGE, "%s %ld: not in [%ld, %ld]", o->name,
			       v, o->min, o->max);
	*(int *)o->dst = (int)v;
	return 0;
}

enum cliopt_result cliopt_parse(const struct cliopt *table, size_t n, int argc,
				char *const argv[], struct bt_err *err)
{
	uint64_t seen = 0;	/* tables are short: one bit an entry */

	if (n > 64)
		return err_set(err, "options", E2BIG, "%zu options: at most 64", n);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *value = NULL;
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct cliopt *o;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
			return CLIOPT_HELP;
		o = find(table, n, arg, name_len);
		if (!o)
			return err_set(err, "options", EINVAL, "unknown option \"%.60s\"", arg);
		if (seen & (1ull << (o - table)))
			return err_set(err, "options", EINVAL, "%s given twice", o->name);
		seen |= 1ull << (o - table);
		if (o->kind == CLIOPT_FLAG) {
			if (eq)
				return err_set(err, "options", EINVAL, "%s takes no value",
					       o->name);
			*(bool *)o->dst = true;
			continue;
		}
		if (eq)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		if (!value)
			return err_set(err, "options", EINVAL, "%s needs a value", o->name);
		if (store(o, value, err))
			return CLIOPT_ERROR;
	}
	return CLIOPT_OK;
}
