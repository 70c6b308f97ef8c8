/* fuzz_spec: the BATON_FAULTS spec parser (failpoint.h).
 *
 * Input: the text up to the first NUL byte, given both to fp_spec_parse and
 * to fp_spec_parse_list.
 *
 * Oracle: an accepted spec is well formed (a known role or none, a path
 * point name, N >= 1, a known kind, an errno for `error` only, a known
 * mode); its canonical text (fp_spec_format) parses to the same spec and
 * formats to the same text; a list re-joined from canonical texts parses
 * to the same list; a text the single parser accepts is a one-spec list.
 * A rejection is a fault-spec error with a reason. */
#include "fuzz/targets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint_control.h"

#define SPEC_TEXT_MAX 256

static bool same_spec(const struct fp_spec *a, const struct fp_spec *b)
{
	return strcmp(a->role, b->role) == 0 && strcmp(a->point, b->point) == 0 &&
	       a->nth == b->nth && a->kind == b->kind && a->errnum == b->errnum &&
	       a->mode == b->mode;
}

static enum oracle_outcome check_form(const struct fp_spec *s,
				      struct oracle_report *rep)
{
	bool role_ok = !s->role[0] || !strcmp(s->role, "old") ||
		       !strcmp(s->role, "new") || !strcmp(s->role, "worker");
	size_t plen = strnlen(s->point, FP_NAME_MAX);

	if (!role_ok || plen == 0 || plen >= FP_NAME_MAX || !strchr(s->point, '/'))
		return oracle_fail(rep, "form", "role \"%.16s\" point \"%.64s\" accepted",
				   s->role, s->point);
	if (s->nth < 1 || s->nth > 99999999 || s->kind < FP_ERROR ||
	    s->kind > FP_CRASH || (s->mode != FP_TRANSIENT && s->mode != FP_PERSISTENT))
		return oracle_fail(rep, "form", "nth %u kind %d mode %d accepted",
				   s->nth, (int)s->kind, (int)s->mode);
	if ((s->kind == FP_ERROR) != (s->errnum > 0))
		return oracle_fail(rep, "form", "kind %s with errno %d accepted",
				   fp_kind_name(s->kind), s->errnum);
	return ORACLE_PASS;
}

/* format -> parse -> same spec -> format -> same text; TEXT gets the
 * canonical form. */
static enum oracle_outcome spec_canonical(const struct fp_spec *s, char *text,
					   struct oracle_report *rep)
{
	char again[SPEC_TEXT_MAX];
	struct fp_spec t;
	struct bt_err err = {0};

	if (fp_spec_format(s, text, SPEC_TEXT_MAX))
		return oracle_fail(rep, "format", "cannot format an accepted spec");
	if (fp_spec_parse(text, &t, &err))
		return oracle_fail(rep, "reparse", "canonical \"%s\" rejected: %s",
				   text, err.msg);
	if (!same_spec(s, &t))
		return oracle_fail(rep, "equal", "\"%s\" parses to another spec", text);
	if (fp_spec_format(&t, again, sizeof again) || strcmp(text, again) != 0)
		return oracle_fail(rep, "bytes", "\"%s\" formats back as \"%s\"",
				   text, again);
	return ORACLE_PASS;
}

static enum oracle_outcome spec_rejection(const struct bt_err *err,
					   struct oracle_report *rep)
{
	if (strcmp(err->step, "fault-spec") != 0 || !err->msg[0] || !err->errnum)
		return oracle_fail(rep, "reject", "error without a reason: step "
				   "\"%s\", errno %d", err->step, err->errnum);
	rep->outcome = ORACLE_REJECTED;
	return ORACLE_REJECTED;
}

static enum oracle_outcome check_single(const char *text,
					struct oracle_report *rep)
{
	struct fp_spec s, list[FP_SPECS_MAX];
	struct bt_err err = {0};
	char canon[SPEC_TEXT_MAX];
	enum oracle_outcome o;
	size_t n = 0;

	if (fp_spec_parse(text, &s, &err))
		return spec_rejection(&err, rep);
	o = check_form(&s, rep);
	if (o == ORACLE_PASS)
		o = spec_canonical(&s, canon, rep);
	if (o != ORACLE_PASS)
		return o;
	if (fp_spec_parse_list(text, list, FP_SPECS_MAX, &n, &err) || n != 1 ||
	    !same_spec(&s, &list[0]))
		return oracle_fail(rep, "list", "a spec the single parser accepts "
				   "is not a one-spec list (%zu specs, %s)", n,
				   err.msg[0] ? err.msg : "no error");
	return ORACLE_PASS;
}

static enum oracle_outcome check_list(const char *text,
				      struct oracle_report *rep)
{
	struct fp_spec list[FP_SPECS_MAX], again[FP_SPECS_MAX];
	char joined[FP_SPECS_MAX * SPEC_TEXT_MAX], canon[SPEC_TEXT_MAX];
	struct bt_err err = {0};
	size_t n, m, used = 0;

	if (fp_spec_parse_list(text, list, FP_SPECS_MAX, &n, &err))
		return spec_rejection(&err, rep);
	joined[0] = 0;
	for (size_t i = 0; i < n; i++) {
		enum oracle_outcome o = check_form(&list[i], rep);

		if (o == ORACLE_PASS)
			o = spec_canonical(&list[i], canon, rep);
		if (o != ORACLE_PASS)
			return o;
		used += (size_t)snprintf(joined + used, sizeof joined - used, "%s%s",
					 i ? "," : "", canon);
	}
	if (fp_spec_parse_list(joined, again, FP_SPECS_MAX, &m, &err))
		return oracle_fail(rep, "list", "canonical list \"%.200s\" rejected: %s",
				   joined, err.msg);
	for (size_t i = 0; i < n && m == n; i++)
		if (!same_spec(&list[i], &again[i]))
			m = (size_t)-1;
	if (m != n)
		return oracle_fail(rep, "list", "canonical list \"%.200s\" parses "
				   "to another list", joined);
	return ORACLE_PASS;
}

enum oracle_outcome fuzz_spec_check(const uint8_t *data, size_t size,
				    struct oracle_report *rep)
{
	char *text = malloc(size + 1);
	enum oracle_outcome o1, o2;

	memset(rep, 0, sizeof *rep);
	if (!text)
		return ORACLE_REJECTED;
	memcpy(text, data, size);
	text[size] = 0;
	o1 = check_single(text, rep);
	o2 = o1 == ORACLE_VIOLATION ? o1 : check_list(text, rep);
	free(text);
	if (o2 == ORACLE_VIOLATION)
		return o2;
	return o1 == ORACLE_PASS || o2 == ORACLE_PASS ? ORACLE_PASS : ORACLE_REJECTED;
}

FUZZ_ENTRY("fuzz_spec", fuzz_spec_check)
