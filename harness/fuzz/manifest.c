/* fuzz_manifest: the SCM batch manifest decoder (scm.h).
 *
 * Oracle: a manifest that parses keeps the invariants the receiver relies
 * on (a batch index below the batch count, no more names than the total
 * and than one message carries, every name 1 to 255 bytes of UTF-8 without
 * NUL); written back as JSON it parses to the same manifest, and writing
 * that again gives the same bytes.  A rejection leaves the manifest empty
 * and says why.  Nothing leaks either way. */
#include "fuzz/targets.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scm.h"
#include "state.h"

static enum oracle_outcome check_invariants(const struct scm_manifest *m,
					    struct oracle_report *rep)
{
	if (m->batches == 0 || m->batch >= m->batches)
		return oracle_fail(rep, "invariant", "batch %zu of %zu accepted",
				   m->batch, m->batches);
	if (m->n_names > m->total || m->n_names > SCM_BATCH_MAX + 1 ||
	    m->total > 16777216)
		return oracle_fail(rep, "invariant", "%zu names, total %zu accepted",
				   m->n_names, m->total);
	if (m->n_names && !m->names)
		return oracle_fail(rep, "invariant", "names array missing");
	for (size_t i = 0; i < m->n_names; i++) {
		size_t len = m->names[i] ? strlen(m->names[i]) : 0;

		if (len < 1 || len > 255 || !state_utf8_valid(m->names[i]))
			return oracle_fail(rep, "invariant",
					   "names[%zu] of %zu bytes accepted", i, len);
	}
	return ORACLE_PASS;
}

/* json_dumps text belongs to jansson's allocator (the oracle counts it). */
static void json_text_free(char *text)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	f(text);
}

/* The manifest as scm_send writes it: compact, fixed key order. */
static char *write_manifest(const struct scm_manifest *m, size_t *len)
{
	json_t *o = json_object(), *arr = json_array();
	char *text = NULL;

	if (!o || !arr)
		goto out;
	for (size_t i = 0; i < m->n_names; i++)
		if (json_array_append_new(arr, json_string(m->names[i])))
			goto out;
	if (json_object_set_new(o, "batch", json_integer((json_int_t)m->batch)) ||
	    json_object_set_new(o, "batches", json_integer((json_int_t)m->batches)) ||
	    json_object_set_new(o, "total", json_integer((json_int_t)m->total)) ||
	    json_object_set(o, "names", arr))
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (text)
		*len = strlen(text);
out:
	json_decref(arr);
	json_decref(o);
	return text;
}

static bool same_manifest(const struct scm_manifest *a,
			  const struct scm_manifest *b)
{
	if (a->batch != b->batch || a->batches != b->batches ||
	    a->total != b->total || a->n_names != b->n_names)
		return false;
	for (size_t i = 0; i < a->n_names; i++)
		if (strcmp(a->names[i], b->names[i]) != 0)
			return false;
	return true;
}

static enum oracle_outcome check_roundtrip(const struct scm_manifest *m,
					   struct oracle_report *rep)
{
	struct scm_manifest m2;
	struct bt_err err = {0};
	size_t l1 = 0, l2 = 0;
	char *t1 = write_manifest(m, &l1), *t2 = NULL;
	enum oracle_outcome o = ORACLE_PASS;

	if (!t1)
		return oracle_fail(rep, "write", "cannot write an accepted manifest");
	if (scm_manifest_parse(t1, l1, &m2, &err)) {
		o = oracle_fail(rep, "reparse", "%s (for %.200s)", err.msg, t1);
		json_text_free(t1);
		return o;
	}
	if (!same_manifest(m, &m2))
		o = oracle_fail(rep, "equal", "re-read manifest differs: %.200s", t1);
	t2 = o == ORACLE_PASS ? write_manifest(&m2, &l2) : NULL;
	if (o == ORACLE_PASS && (!t2 || l1 != l2 || memcmp(t1, t2, l1) != 0))
		o = oracle_fail(rep, "bytes", "%.200s vs %.200s", t1, t2 ? t2 : "-");
	json_text_free(t1);
	if (t2)
		json_text_free(t2);
	scm_manifest_free(&m2);
	return o;
}

static enum oracle_outcome manifest_rejection(const struct scm_manifest *m,
					   const struct bt_err *err,
					   struct oracle_report *rep)
{
	if (m->names || m->n_names || m->batch || m->batches || m->total)
		return oracle_fail(rep, "reject", "rejected (%s) but the manifest "
				   "was left filled", err->msg);
	if (strcmp(err->step, "scm-manifest") != 0 || !err->msg[0] ||
	    !err->errnum)
		return oracle_fail(rep, "reject", "error without a reason: step "
				   "\"%s\", errno %d", err->step, err->errnum);
	rep->outcome = ORACLE_REJECTED;
	return ORACLE_REJECTED;
}

enum oracle_outcome fuzz_manifest_check(const uint8_t *data, size_t size,
					struct oracle_report *rep)
{
	struct scm_manifest m;
	struct bt_err err = {0};
	struct oracle_mark mark;
	enum oracle_outcome o;

	memset(rep, 0, sizeof *rep);
	oracle_mark(&mark);
	if (scm_manifest_parse((const char *)data, size, &m, &err)) {
		o = manifest_rejection(&m, &err, rep);
	} else {
		o = check_invariants(&m, rep);
		if (o == ORACLE_PASS)
			o = check_roundtrip(&m, rep);
	}
	scm_manifest_free(&m);
	if (o == ORACLE_VIOLATION)
		return o;
	return oracle_check_leaks(&mark, rep);
}

FUZZ_ENTRY("fuzz_manifest", fuzz_manifest_check)
