/* catalogue: see catalogue.h. */
#include "campaign/catalogue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scenario_names[SCEN_COUNT] = {"master", "master-fail",
						       "worker"};

const char *scenario_name(enum scenario_kind k)
{
	return (unsigned)k < SCEN_COUNT ? scenario_names[k] : "?";
}

bool catalogue_is_libfiu_point(const char *point)
{
	return strncmp(point, "posix/", 6) == 0 || strncmp(point, "libc/", 5) == 0;
}

static int bad(struct bt_err *err, const char *path, int line, const char *what,
	       const char *word)
{
	return err_set(err, "catalogue", EINVAL, "%s:%d: %s \"%s\"", path, line, what,
		       word);
}

static int parse_kind(const char *w, struct cat_row *r)
{
	struct fp_spec s;
	char text[128];

	/* reuse the spec parser for the kind and its errno */
	snprintf(text, sizeof text, "x/y@1:%s", w);
	if (fp_spec_parse(text, &s, NULL))
		return -1;
	r->kind = s.kind;
	r->errnum = s.errnum;
	return 0;
}

static int parse_row(char **w, int nw, struct cat_row *r, const char *path,
		     int line, struct bt_err *err)
{
	int k;

	if (nw < 7)
		return err_set(err, "catalogue", EINVAL,
			       "%s:%d: expected 7 columns (point process scenario kind "
			       "modes expect report), got %d", path, line, nw);
	memset(r, 0, sizeof *r);
	r->line = line;
	if (strlen(w[0]) >= sizeof r->point || !strchr(w[0], '/'))
		return bad(err, path, line, "bad point", w[0]);
	snprintf(r->point, sizeof r->point, "%s", w[0]);
	if (strcmp(w[1], "old") && strcmp(w[1], "new") && strcmp(w[1], "worker"))
		return bad(err, path, line, "process must be old, new or worker, not", w[1]);
	snprintf(r->process, sizeof r->process, "%s", w[1]);
	for (k = 0; k < SCEN_COUNT && strcmp(w[2], scenario_names[k]); k++)
		;
	if (k == SCEN_COUNT)
		return bad(err, path, line, "unknown scenario", w[2]);
	r->scenario = (enum scenario_kind)k;
	if (parse_kind(w[3], r))
		return bad(err, path, line, "bad kind", w[3]);
	r->transient = !strcmp(w[4], "transient") || !strcmp(w[4], "both");
	r->persistent = !strcmp(w[4], "persistent") || !strcmp(w[4], "both");
	if (!r->transient && !r->persistent)
		return bad(err, path, line, "modes must be transient, persistent or both, not",
			   w[4]);
	if (!strcmp(w[5], "rollback"))
		r->expect = EXPECT_ROLLED_BACK;
	else if (!strcmp(w[5], "upgrade"))
		r->expect = EXPECT_UPGRADED;
	else if (!strcmp(w[5], "either"))
		r->expect = EXPECT_ANY;
	else
		return bad(err, path, line, "expect must be rollback, upgrade or either, not",
			   w[5]);
	if (!strcmp(w[6], "exact"))
		r->report = REPORT_EXACT;
	else if (!strcmp(w[6], "step"))
		r->report = REPORT_STEP;
	else if (!strcmp(w[6], "any"))
		r->report = REPORT_ANY;
	else
		return bad(err, path, line, "report must be exact, step or any, not", w[6]);
	return 0;
}

int catalogue_load(const char *path, struct catalogue *c, struct bt_err *err)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int lineno = 0;

	memset(c, 0, sizeof *c);
	if (!f)
		return err_set(err, "catalogue", errno, "cannot open %s", path);
	while (fgets(line, sizeof line, f)) {
		char *w[16], *save = NULL, *hash = strchr(line, '#');
		int nw = 0;
		struct cat_row *rows;

		lineno++;
		if (hash)
			*hash = 0;
		for (char *t = strtok_r(line, " \t\r\n", &save); t && nw < 16;
		     t = strtok_r(NULL, " \t\r\n", &save))
			w[nw++] = t;
		if (nw == 0)
			continue;
		rows = realloc(c->rows, (c->n + 1) * sizeof *rows);
		if (!rows) {
			fclose(f);
			catalogue_free(c);
			return err_set(err, "catalogue", ENOMEM, "out of memory");
		}
		c->rows = rows;
		if (parse_row(w, nw, &c->rows[c->n], path, lineno, err)) {
			fclose(f);
			catalogue_free(c);
			return -1;
		}
		c->n++;
	}
	fclose(f);
	if (c->n == 0)
		return err_set(err, "catalogue", EINVAL, "%s has no rows", path);
	return 0;
}

void catalogue_free(struct catalogue *c)
{
	free(c->rows);
	memset(c, 0, sizeof *c);
}

const struct cat_row *catalogue_find(const struct catalogue *c,
				     const struct fp_spec *s)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cat_row *r = &c->rows[i];

		if (strcmp(r->point, s->point) == 0 && r->kind == s->kind &&
		    (r->kind != FP_ERROR || r->errnum == s->errnum) &&
		    (!s->role[0] || strcmp(r->process, s->role) == 0))
			return r;
	}
	return NULL;
}
