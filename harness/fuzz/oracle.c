/* oracle: see oracle.h. */
#include "fuzz/oracle.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "state_json.h"

/* --- leak accounting --- */

static long json_live;

static void *count_malloc(size_t size)
{
	void *p = json_guard_malloc(size);

	if (p)
		json_live++;
	return p;
}

static void count_free(void *p)
{
	if (p)
		json_live--;
	json_guard_free(p);
}

void oracle_init(void)
{
	json_guard_init();
	json_set_alloc_funcs(count_malloc, count_free);
}

long oracle_json_live(void)
{
	return json_live;
}

/* Counted by the malloc shim of fuzz/heapcount.c in the programs that link
 * it (the fuzz targets, the replay and oracle suites); a weak reference, so
 * linking libharness never drags a malloc replacement into other programs. */
extern long fuzz_heap_blocks __attribute__((weak));

/* Under valgrind the program's malloc replacement is bypassed for some
 * calls and not others, so its count means nothing; valgrind checks leaks
 * itself there (make memcheck). */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

long oracle_heap_live(void)
{
	return &fuzz_heap_blocks && !under_valgrind() ? fuzz_heap_blocks : 0;
}

void oracle_mark(struct oracle_mark *m)
{
	m->json = json_live;
	m->heap = oracle_heap_live();
}

enum oracle_outcome oracle_fail(struct oracle_report *rep, const char *stage,
				const char *fmt, ...)
{
	va_list ap;

	rep->outcome = ORACLE_VIOLATION;
	snprintf(rep->stage, sizeof rep->stage, "%s", stage);
	va_start(ap, fmt);
	vsnprintf(rep->msg, sizeof rep->msg, fmt, ap);
	va_end(ap);
	return ORACLE_VIOLATION;
}

enum oracle_outcome oracle_check_leaks(const struct oracle_mark *m,
				       struct oracle_report *rep)
{
	long heap = oracle_heap_live();

	if (json_live != m->json)
		return oracle_fail(rep, "leak", "%ld jansson block(s) leaked",
				   json_live - m->json);
	if (heap != m->heap)
		return oracle_fail(rep, "leak", "%ld heap block(s) leaked",
				   heap - m->heap);
	return rep->outcome;
}

void oracle_abort(const char *target, const struct oracle_report *rep,
		  size_t input_len)
{
	fprintf(stderr, "\n%s: oracle violation at stage '%s' (input of %zu bytes): %s\n",
		target, rep->stage, input_len, rep->msg);
	fflush(stderr);
	abort();
}

/* --- the state round trip --- */

/* Move the first of N elements to the end: the sequence changes unless all
 * its elements are equal, in which case its order cannot show anyway. */
static void rotate(void *base, size_t n, size_t size)
{
	unsigned char tmp[sizeof(struct state_cluster)], *v = base;

	if (n < 2)
		return;
	memcpy(tmp, v, size);
	memmove(v, v + size, (n - 1) * size);
	memcpy(v + (n - 1) * size, tmp, size);
}

/* The same state (state_equal) with every map in another order. */
static void rotate_maps(struct state *s)
{
	rotate(s->clusters, s->n_clusters, sizeof *s->clusters);
	for (size_t i = 0; i < s->n_clusters; i++)
		rotate(s->clusters[i].backends, s->clusters[i].n_backends,
		       sizeof(char *));
}

/* Where two byte strings first differ, for the report. */
static size_t first_diff(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0;

	while (i < alen && i < blen && a[i] == b[i])
		i++;
	return i;
}

struct trip {
	struct state s2;
	char *b1, *b2;
	size_t l1, l2;
};

static void trip_free(struct trip *t)
{
	state_free(&t->s2);
	free(t->b1);
	free(t->b2);
}

/* The steps after the first parse; each names its stage on failure. */
static enum oracle_outcome trip_run(const struct state *s, struct trip *t,
				    oracle_serialize_fn ser,
				    struct oracle_report *rep)
{
	struct bt_err err = {0};
	int v1, v2;
	size_t at;

	v1 = state_validate(s, &err);
	if (ser(s, &t->b1, &t->l1, &err))
		return oracle_fail(rep, "serialize",
				   "a state that parsed does not serialize: %s: %s",
				   err.step, err.msg);
	if (state_json_parse(t->b1, t->l1, 0, &t->s2, &err))
		return oracle_fail(rep, "reparse",
				   "the serializer's own output does not parse: %s "
				   "(output starts %.200s)", err.msg, t->b1);
	if (!state_equal(s, &t->s2))
		return oracle_fail(rep, "equal",
				   "parse(serialize(s)) differs from s (output "
				   "starts %.200s)", t->b1);
	v2 = state_validate(&t->s2, &err);
	if (v1 != v2)
		return oracle_fail(rep, "validate",
				   "validate says %d before the round trip and %d after",
				   v1, v2);
	rotate_maps(&t->s2);
	if (ser(&t->s2, &t->b2, &t->l2, &err))
		return oracle_fail(rep, "reserialize", "%s: %s", err.step, err.msg);
	if (t->l1 != t->l2 || memcmp(t->b1, t->b2, t->l1) != 0) {
		at = first_diff(t->b1, t->l1, t->b2, t->l2);
		return oracle_fail(rep, "bytes",
				   "serialize is not canonical: %zu vs %zu bytes, "
				   "first difference at byte %zu: \"%.60s\" vs \"%.60s\"",
				   t->l1, t->l2, at, t->b1 + at, t->b2 + at);
	}
	return ORACLE_PASS;
}

enum oracle_outcome oracle_state_roundtrip(const struct state *s,
					   oracle_serialize_fn ser,
					   struct oracle_report *rep)
{
	struct trip t = {0};
	enum oracle_outcome o;

	memset(rep, 0, sizeof *rep);
	state_init(&t.s2);
	o = trip_run(s, &t, ser, rep);
	trip_free(&t);
	return o;
}

/* A rejection must leave *out empty and say where (a JSON path or, for
 * syntax errors, a byte offset: both start with "$"). */
static enum oracle_outcome check_rejection(const struct state *s,
					   const struct bt_err *err,
					   struct oracle_report *rep)
{
	if (s->workers || s->n_workers || s->clusters || s->n_clusters ||
	    s->config.command_socket || s->config.pid_file_path ||
	    s->config.listeners)
		return oracle_fail(rep, "reject", "the parser failed (%s) but left "
				   "the state half filled", err->msg);
	if (strcmp(err->step, "parse") != 0 || err->msg[0] != '$' || !err->errnum)
		return oracle_fail(rep, "reject", "the error does not name a path: "
				   "step \"%s\", errno %d, \"%s\"", err->step,
				   err->errnum, err->msg);
	rep->outcome = ORACLE_REJECTED;
	snprintf(rep->msg, sizeof rep->msg, "%s", err->msg);
	return ORACLE_REJECTED;
}

enum oracle_outcome oracle_state_bytes(const char *buf, size_t len,
				       oracle_serialize_fn ser,
				       struct oracle_report *rep)
{
	struct bt_err err = {0};
	struct oracle_mark mark;
	struct state s1;
	enum oracle_outcome o;

	memset(rep, 0, sizeof *rep);
	oracle_mark(&mark);
	if (state_json_parse(buf, len, 0, &s1, &err)) {
		o = check_rejection(&s1, &err, rep);
		state_free(&s1);
	} else {
		o = oracle_state_roundtrip(&s1, ser, rep);
		state_free(&s1);
	}
	if (o == ORACLE_VIOLATION)
		return o;
	return oracle_check_leaks(&mark, rep);
}
